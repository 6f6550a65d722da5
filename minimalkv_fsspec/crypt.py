"""HMACDecorator: sign every value, and refuse values whose signature does not verify.

The stored value is the caller's value followed by an HMAC of it. The HMAC's key
is the value's key (UTF-8) followed by the secret, as in minimalkv, so values
written by minimalkv's ``HMACDecorator`` verify here and the other way round, and
a value copied or moved to another key by someone without the secret fails
verification.

An HMAC proves that a value was written by someone holding the secret, under this
key. It does not encrypt, and it does not prove that the value is the latest one
written under the key: an old value of the same key still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore
from minimalkv_fsspec.decorator import TTL, StoreDecorator

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = ["HMACDecorator", "VerificationException"]


class VerificationException(Exception):
    """A value's HMAC does not verify: it was changed, truncated, or moved from another key.

    The message names the key, never the secret.
    """


def _read_exactly(file: IO[bytes], size: int) -> bytes:
    """Read *size* bytes from *file*, fewer only at the end of the file."""
    data = file.read(size)
    if data is None:
        data = b""
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing > 0:
        more = file.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


class _HMACFileReader(io.BufferedIOBase):
    """A read-only file of a signed value that verifies the signature while it is read.

    The last ``hm.digest_size`` bytes of *source* are the signature; they are never
    returned. No read returns the value's last byte, or signals the end of the
    value, before the whole value has been verified: a changed or truncated value
    raises :class:`VerificationException` before the caller has seen all of it.

    If *source* is seekable, so is this file: ``seek`` and ``tell`` count bytes of
    the value, and a read that reaches the end verifies whatever has not been hashed
    yet (reading it once more from *source*). Otherwise the file streams, holding
    back the last ``digest_size`` bytes it has read.

    Parameters
    ----------
    hm
        A fresh HMAC object, keyed for the value's key.
    source
        The stored value (value followed by signature), positioned at its start;
        closed with this file.
    key
        The value's key, named in error messages.

    Raises
    ------
    VerificationException
        If *source* is shorter than a signature.
    """

    def __init__(self, hm: hmac.HMAC, source: IO[bytes], key: str | None = None) -> None:
        super().__init__()
        self.hm = hm
        self.source = source
        self._what = "the stored value" if key is None else f"the value of key {key!r}"
        self._digest_size = hm.digest_size
        self._position = 0  # in the value
        self._hashed = 0  # bytes of the value fed to hm, from its start
        self._verified = False
        self._size: int | None = None  # of the value, if source is seekable
        self._tail = b""  # streaming: the bytes held back
        try:
            seekable = bool(source.seekable())
        except (AttributeError, ValueError, OSError):
            seekable = False
        if seekable:
            self._start = source.tell()
            total = source.seek(0, os.SEEK_END) - self._start
            source.seek(self._start)
            self._source_position = 0
            if total < self._digest_size:
                raise VerificationException(f"{self._what} is shorter than its HMAC: it was truncated")
            self._size = total - self._digest_size
        else:
            self._tail = _read_exactly(source, self._digest_size)
            if len(self._tail) < self._digest_size:
                raise VerificationException(f"{self._what} is shorter than its HMAC: it was truncated")

    # -- io.BufferedIOBase -------------------------------------------------------------

    def readable(self) -> bool:
        """Return True."""
        self._check_open()
        return True

    def seekable(self) -> bool:
        """Return whether the stored value can be read at any position."""
        self._check_open()
        return self._size is not None

    def tell(self) -> int:
        """Return the position in the value."""
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        """Move to *offset* relative to *whence*; a negative target raises :class:`OSError`."""
        self._check_open()
        if self._size is None:
            raise io.UnsupportedOperation("the stored value can only be read from start to end")
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._position + offset
        elif whence == os.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target < 0:
            raise OSError(22, f"negative seek position {target}")
        self._position = target
        return target

    def read(self, size: int | None = -1, /) -> bytes:
        """Read up to *size* bytes (all that is left if *size* is negative or None).

        Raises
        ------
        VerificationException
            If this read would reach the end of the value and the value does not verify.
        """
        self._check_open()
        if size is None or size < 0:
            size = -1
        if self._size is None:
            return self._read_streaming(size)
        return self._read_at(size)

    def read1(self, size: int = -1, /) -> bytes:
        """Read up to *size* bytes (as :meth:`read`)."""
        return self.read(size)

    def readinto(self, buffer: Any, /) -> int:
        """Read into *buffer*, returning the number of bytes read."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close this file and the stored value."""
        if not self.closed:
            try:
                self.source.close()
            finally:
                super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    # -- reading ------------------------------------------------------------------------

    def _read_streaming(self, size: int) -> bytes:
        if size == 0 or self._verified:
            return b""
        if size < 0:
            rest = self.source.read()
            more, at_end = (rest or b""), True
        else:
            more = _read_exactly(self.source, size)
            at_end = len(more) < size
        buffered = self._tail + more
        cut = len(buffered) - self._digest_size
        data, self._tail = buffered[:cut], buffered[cut:]
        self.hm.update(data)
        if at_end:
            self._check_signature(self._tail)
        self._position += len(data)
        return data

    def _read_at(self, size: int) -> bytes:
        assert self._size is not None
        remaining = max(self._size - self._position, 0)
        count = remaining if size < 0 else min(size, remaining)
        data = self._source_read(self._position, count) if count else b""
        if len(data) < count:
            raise VerificationException(f"{self._what} was truncated while it was read")
        start = self._position
        if start <= self._hashed < start + len(data):
            self.hm.update(memoryview(data)[self._hashed - start :])
            self._hashed = start + len(data)
        # The end of the value is returned (or signalled by b"") only once verified.
        if size != 0 and start + len(data) >= self._size and not self._verified:
            self._verify_rest()
        self._position = start + len(data)
        return data

    def _source_read(self, position: int, count: int) -> bytes:
        if self._source_position != position:
            self.source.seek(self._start + position)
        data = _read_exactly(self.source, count)
        self._source_position = position + len(data)
        return data

    def _verify_rest(self) -> None:
        assert self._size is not None
        while self._hashed < self._size:
            chunk = self._source_read(self._hashed, min(CHUNK_SIZE, self._size - self._hashed))
            if not chunk:
                raise VerificationException(f"{self._what} was truncated while it was read")
            self.hm.update(chunk)
            self._hashed += len(chunk)
        self._check_signature(self._source_read(self._size, self._digest_size))

    def _check_signature(self, signature: bytes) -> None:
        if not hmac.compare_digest(self.hm.digest(), signature):
            raise VerificationException(f"the HMAC of {self._what} does not verify: it was changed or moved")
        self._verified = True


class _SigningReader(io.BufferedIOBase):
    """A read-only stream of *source* followed by its HMAC, computed while it is read."""

    def __init__(self, hm: hmac.HMAC, source: IO[bytes]) -> None:
        super().__init__()
        self._hm = hm
        self._source = source
        self._signature: bytes | None = None  # set at the end of source; then returned

    def readable(self) -> bool:
        """Return True."""
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        """Read up to *size* bytes of the value, then of its signature."""
        if size is None or size < 0:
            data = b"" if self._signature is not None else (self._source.read() or b"")
            self._hm.update(data)
            return data + self._take_signature(-1)
        if size == 0:
            return b""
        if self._signature is None:
            data = self._source.read(size) or b""
            if data:
                self._hm.update(data)
                return data
        return self._take_signature(size)

    def read1(self, size: int = -1, /) -> bytes:
        """Read up to *size* bytes (as :meth:`read`)."""
        return self.read(size)

    def readinto(self, buffer: Any, /) -> int:
        """Read into *buffer*, returning the number of bytes read."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _take_signature(self, size: int) -> bytes:
        if self._signature is None:
            self._signature = self._hm.digest()
        taken = self._signature if size < 0 else self._signature[:size]
        self._signature = self._signature[len(taken) :]
        return taken


class HMACDecorator(StoreDecorator):
    """Sign each value with an HMAC on write, and verify it on every read.

    ``get``, ``get_many``, ``open`` and ``get_file`` raise
    :class:`VerificationException` for a value that was changed, truncated, or
    moved to another key by someone without the secret. ``open`` verifies while
    the value streams: the read that would return its last bytes raises instead.
    ``put_file`` streams too, and never changes the caller's file (minimalkv's
    appends the signature to it).

    ``copy`` and ``move`` work on any wrapped store: the value is read, verified
    and signed again for the new key (a server-side copy would not verify under
    the new key), so they cost a read and a write; a value that does not verify is
    not copied. ``url_for`` returns the wrapped store's URL, which serves the
    signed value: the value followed by ``digest_size`` bytes of signature.

    Parameters
    ----------
    secret_key
        The secret; ``str`` is encoded as UTF-8. It appears in no ``repr`` and
        no message, but a pickled decorator contains it.
    store
        The store to wrap.
    hashfunc
        The hash constructor, such as :func:`hashlib.sha256` (the default).

    Raises
    ------
    ValueError
        If *secret_key* is empty.
    TypeError
        If *secret_key* is neither ``bytes`` nor ``str``.
    """

    def __init__(
        self,
        secret_key: bytes | str,
        store: KeyValueStore,
        hashfunc: Callable[..., _Hash] = hashlib.sha256,
    ) -> None:
        if isinstance(secret_key, str):
            secret_key = secret_key.encode("utf-8")
        if not isinstance(secret_key, (bytes, bytearray)):
            raise TypeError(f"secret_key must be bytes or str, not {type(secret_key).__name__}")
        if not secret_key:
            raise ValueError("secret_key must not be empty")
        self.__secret_key = bytes(secret_key)
        self.hashfunc = hashfunc
        self._digest_size: int = hashfunc().digest_size
        super().__init__(store)

    def __repr__(self) -> str:
        name = getattr(self.hashfunc, "__name__", repr(self.hashfunc)).replace("openssl_", "")
        return f"{type(self).__name__}(<secret>, {self._dstore!r}, hashfunc={name})"

    @property
    def digest_size(self) -> int:
        """The number of signature bytes stored after each value."""
        return self._digest_size

    def _new_hmac(self, key: str, data: bytes | memoryview = b"") -> hmac.HMAC:
        """Return an HMAC keyed by *key* (the salt) and the secret, fed with *data*."""
        return hmac.new(key.encode("utf-8") + self.__secret_key, data, self.hashfunc)

    def _sign(self, key: str, data: bytes) -> bytes:
        return data + self._new_hmac(key, data).digest()

    def _verified(self, key: str, stored: bytes) -> bytes:
        """Return the value of the signed *stored* under *key*, or raise."""
        cut = len(stored) - self._digest_size
        if cut < 0:
            raise VerificationException(f"the value of key {key!r} is shorter than its HMAC: it was truncated")
        view = memoryview(stored)
        if not hmac.compare_digest(self._new_hmac(key, view[:cut]).digest(), view[cut:]):
            raise VerificationException(f"the HMAC of key {key!r} does not verify: the value was changed or moved")
        return stored[:cut]

    # -- reading ------------------------------------------------------------------------

    def _get(self, key: str) -> bytes:
        return self._verified(key, self._inner_get(key))

    def _open(self, key: str) -> BinaryIO:
        source = self._inner_open(key)
        try:
            return _HMACFileReader(self._new_hmac(key), source, key)  # type: ignore[return-value]
        except BaseException:
            source.close()
            raise

    def _get_file(self, key: str, file: IO[bytes]) -> None:
        # The last chunk reaches the file only after the whole value is verified;
        # what was written before a VerificationException must be discarded.
        with self._open(key) as source:
            shutil.copyfileobj(source, file, CHUNK_SIZE)

    def _get_filename(self, key: str, filename: str) -> None:
        """Write the verified value to *filename*, leaving it untouched if verification fails."""
        with self._open(key) as source:
            if _is_special_file(filename):
                with open(filename, "wb") as target:
                    shutil.copyfileobj(source, target, CHUNK_SIZE)
                return
            directory = os.path.dirname(os.path.abspath(filename))
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".hmac-", suffix=".part")
            try:
                with open(fd, "wb") as target:
                    shutil.copyfileobj(source, target, CHUNK_SIZE)
                os.chmod(temp, 0o666 & ~_umask())  # as a file created by open()
                os.replace(temp, filename)
            except BaseException:
                _unlink_quietly(temp)
                raise

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        return {key: self._verified(key, stored) for key, stored in self._inner_get_many(keys).items()}

    # -- writing ------------------------------------------------------------------------

    def _put(self, key: str, data: bytes, ttl_secs: TTL | None = None) -> None:
        super()._put(key, self._sign(key, data), ttl_secs)

    def _put_file(self, key: str, file: IO[bytes], ttl_secs: TTL | None = None) -> None:
        super()._put_file(key, _SigningReader(self._new_hmac(key), file), ttl_secs)  # type: ignore[arg-type]

    def _put_filename(self, key: str, filename: str, ttl_secs: TTL | None = None) -> None:
        # Hand down a stream, not the filename: the caller's file is neither
        # changed nor moved.
        with open(filename, "rb") as file:
            self._put_file(key, file, ttl_secs)

    def _put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> None:
        super()._put_many({key: self._sign(key, data) for key, data in items.items()}, ttl_secs)

    # -- copy and move: verify, then sign again for the new key -----------------------------

    def copy(self, source: str, dest: str) -> str:
        """Copy the value under *source* to *dest*, verifying it and signing it for *dest*.

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.copy` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._copy(source, dest)
        return dest

    def move(self, source: str, dest: str) -> str:
        """Move the value under *source* to *dest*: :meth:`copy`, then delete *source*.

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.move` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._copy(source, dest)
        if source != dest:
            self._delete(source)
        return dest

    def _copy(self, source: str, dest: str) -> None:
        with self._open(source) as reader:
            if source == dest:
                if reader.seekable():
                    reader.seek(0, os.SEEK_END)
                reader.read()  # reaching the end verifies
                return
            self._put_file(dest, reader)


_UMASK: list[int] = []


def _umask() -> int:
    """Return the process's umask (read once: reading it means setting it)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


def _is_special_file(filename: str) -> bool:
    """Return whether *filename* exists and is not a regular file (``/dev/null``, a pipe)."""
    try:
        return not stat.S_ISREG(os.stat(filename).st_mode)
    except OSError:
        return False


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
