"""FSSpecStore: a key-value store over any fsspec filesystem.

The adapter holds a filesystem and a root path and maps each key to
``<root>/<key>``. Every hook is one or two fsspec calls; dependency errors are
translated in :meth:`FSSpecStore._translate` only.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import quote

from minimalkv_fsspec._files import BytesValueFile, StreamValueFile
from minimalkv_fsspec._mixins import CopyMixin, UrlMixin
from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore
from minimalkv_fsspec.exceptions import (
    BackendError,
    BucketNotFoundError,
    InvalidKeyError,
    StoreAccessDeniedError,
    _causes,
    _failure_class,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fsspec import AbstractFileSystem

__all__ = ["FSSpecStore", "FSSpecStoreEntry", "abandon_upload", "name_backend_failure"]

FSSpecStoreEntry = StreamValueFile
"""minimalkv's name for the file object that :meth:`FSSpecStore.open` returns."""

# Filesystems that keep values in this process: streaming buys nothing there, and
# fsspec's memory filesystem hands every reader the same file object.
_IN_PROCESS_PROTOCOLS = frozenset({"memory"})


def abandon_upload(target: Any) -> None:
    """Throw away a half-written fsspec file without publishing it.

    An object store publishes the object when the file closes, and fsspec's
    ``discard()`` leaves most files open, so a later ``close()`` (from ``__del__``
    at the latest) would commit the partial value: mark the file closed as well.
    """
    try:
        target.discard()
    finally:
        try:
            target.closed = True
        except AttributeError:  # a file type whose 'closed' is read-only
            pass


def name_backend_failure(
    backend: str, store: Any, error: BaseException, exc: BaseException, key: str, redact: Callable[[str], str]
) -> BaseException:
    """Return the error a cloud store raises for the client library's *exc*, naming *backend* and *key*.

    *error* is what the store's generic mapping made of *exc*. A missing bucket and
    refused credentials keep their class and get the service's name in front; an
    :class:`OSError` that did not come from a client library (say, from the
    caller's own file) stays as it is. Anything else becomes a
    :class:`BackendError` (:class:`BackendUnavailableError` for a lost connection,
    :class:`BackendTimeoutError` for a timeout) whose message names the service,
    the store (its repr holds no secrets) and the key; :func:`redact` removes
    credentials from the library's message.
    """
    if isinstance(error, (BucketNotFoundError, StoreAccessDeniedError)):
        return error if str(error).startswith(backend) else type(error)(f"{backend}: {error}")
    if error is exc and all(type(cause).__module__ == "builtins" for cause in _causes(exc)):
        return error
    text = str(exc).strip()
    reason = redact(text.splitlines()[0] if text else type(exc).__name__)
    about = f"request for key {key!r}" if key else "request"
    return _failure_class(exc)(f"{backend} ({store!r}): {about} failed: {type(exc).__name__}: {reason}")


def _has_glob_characters(path: str) -> bool:
    return "*" in path or "?" in path or "[" in path


class FSSpecStore(CopyMixin, UrlMixin, KeyValueStore):
    """A store that keeps each value as the file ``<root>/<key>`` on an fsspec filesystem.

    Parameters
    ----------
    fs
        The filesystem, for example ``fsspec.filesystem("memory")`` or an
        ``s3fs.S3FileSystem``. minimalkv's keyword ``custom_fs`` is accepted too.
    root
        The directory (or ``bucket/prefix``) that holds the keys. minimalkv's
        keyword ``prefix`` is accepted too.
    write_kwargs
        Extra keyword arguments for every ``fs.open(..., "wb")`` and ``fs.pipe_file``.
    mkdir_root
        Create *root* on first write (for object stores: create the bucket).
        minimalkv's keyword ``mkdir_prefix`` is accepted too.
    url_valid_time
        Seconds a URL from :meth:`url_for` stays valid, on filesystems that sign URLs.
    """

    def __init__(
        self,
        fs: AbstractFileSystem | None = None,
        root: str = "",
        *,
        write_kwargs: dict[str, Any] | None = None,
        mkdir_root: bool = False,
        url_valid_time: int = 3600,
        custom_fs: AbstractFileSystem | None = None,
        prefix: str | None = None,
        mkdir_prefix: bool | None = None,
    ) -> None:
        fs = fs if fs is not None else custom_fs
        if fs is None:
            raise TypeError("FSSpecStore needs a filesystem: FSSpecStore(fs, root)")
        self.fs = fs
        self.root = self._normalize_root(root if prefix is None else prefix)
        if self.root:
            self._base = self.root if self.root.endswith("/") else self.root + "/"
        else:
            self._base = str(getattr(fs, "root_marker", ""))
        self.write_kwargs = dict(write_kwargs or {})
        self.mkdir_root = mkdir_root if mkdir_prefix is None else mkdir_prefix
        self.url_valid_time = url_valid_time
        self._root_ready = False
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        self._in_process = not _IN_PROCESS_PROTOCOLS.isdisjoint(protocols)

    @classmethod
    def from_url(cls, url: str, **storage_options: Any) -> FSSpecStore:
        """Build a store from any fsspec URL, such as ``sftp://host/path`` or ``memory://data``.

        The URL's path becomes the root; *storage_options* go to the filesystem
        unchanged. Chained URLs (``simplecache::s3://bucket/dir``) work as in fsspec.

        Raises
        ------
        ValueError
            If fsspec does not know the protocol (the message names the package to install).
        """
        import fsspec.core

        try:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except (ValueError, ImportError) as exc:
            raise ValueError(f"cannot open fsspec URL: {exc}") from exc
        return cls(fs, root)

    def __repr__(self) -> str:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{type(self).__name__}(protocol={protocol!r}, root={self.root!r})"

    # -- paths ------------------------------------------------------------------

    def _normalize_root(self, root: str) -> str:
        return str(self.fs._strip_protocol(root)).rstrip("/") if root else ""

    def _path(self, key: str) -> str:
        """Return the filesystem path of *key*."""
        return self._base + key

    def _key_of(self, path: str) -> str | None:
        """Return the key stored at *path*, or None if *path* holds no key of this store."""
        if not path.startswith(self._base):
            return None
        key = path[len(self._base) :]
        try:
            self._check_valid_key(key)
        except InvalidKeyError:
            return None
        return key

    @contextmanager
    def _translate(self, key: str, *, writing: bool = False) -> Iterator[None]:
        """Map the filesystem's errors: not found (when reading) -> KeyError, others -> OSError.

        A write that finds no directory or bucket is a backend failure, not a missing key.
        """
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            if writing:
                raise
            raise KeyError(key) from exc
        except OSError:
            raise
        except Exception as exc:
            raise BackendError(f"{type(self).__name__}: {type(exc).__name__} for key {key!r}") from exc

    def _ensure_root(self) -> None:
        if self.mkdir_root and not self._root_ready and self.root:
            with self._translate(self.root):
                if not self.fs.exists(self.root):
                    self.fs.mkdir(self.root, create_parents=True)
            self._root_ready = True

    # -- hooks ------------------------------------------------------------------

    def _delete(self, key: str) -> None:
        try:
            with self._translate(key):
                self.fs.rm_file(self._path(key))
        except KeyError:
            pass

    def _get(self, key: str) -> bytes:
        with self._translate(key):
            return bytes(self.fs.cat_file(self._path(key)))

    def _has_key(self, key: str) -> bool:
        # fs.isfile() would answer False during an outage: ask for the info instead.
        try:
            with self._translate(key):
                info = self.fs.info(self._path(key))
        except KeyError:
            return False
        return bool(info.get("type") == "file")

    def _open(self, key: str) -> BinaryIO:
        if self._in_process:
            return BytesValueFile(self._get(key))
        with self._translate(key):
            raw = self.fs.open(self._path(key), "rb")
        return cast("BinaryIO", StreamValueFile(raw, getattr(raw, "size", None)))

    def _get_file(self, key: str, file: IO[bytes]) -> None:
        # The stream may break after the open: that is the backend's failure, mapped like any other.
        with self._open(key) as source, self._translate(key):
            shutil.copyfileobj(source, file, CHUNK_SIZE)

    def _get_filename(self, key: str, filename: str) -> None:
        with self._open(key) as source, self._translate(key), open(filename, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK_SIZE)

    def _put(self, key: str, data: bytes) -> None:
        self._ensure_root()
        with self._translate(key, writing=True):
            self.fs.pipe_file(self._path(key), data, **self.write_kwargs)

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        if self._in_process:
            self._put(key, file.read())
            return
        self._ensure_root()
        with self._translate(key, writing=True):
            target = self.fs.open(self._path(key), "wb", **self.write_kwargs)
            try:
                shutil.copyfileobj(file, target, CHUNK_SIZE)
            except BaseException:
                # An object store publishes the object on close: never close a partial one.
                abandon_upload(target)
                raise
            target.close()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, listing only below it."""
        directory, _, _ = prefix.rpartition("/")
        try:
            # No key lies below a directory that is no key (NUL, "..", "//", too long): nothing to list.
            if directory:
                self._check_valid_key(directory)
            start = self._path(directory) if directory else (self.root or self._base)
        except InvalidKeyError:
            return
        with self._translate(prefix):
            try:
                paths = self.fs.find(start, maxdepth=None if self._nested_keys else 1)
            except FileNotFoundError:
                paths = []
        for path in paths:
            key = self._key_of(path)
            if key is not None and key.startswith(prefix):
                yield key

    @property
    def _nested_keys(self) -> bool:
        try:
            self._check_valid_key("a/b")
        except InvalidKeyError:
            return False
        return True

    def _copy(self, source: str, dest: str) -> None:
        self._ensure_root()
        if not self._has_key(source):
            raise KeyError(source)
        with self._translate(source):
            # cp_file, not copy: copy() would expand "*", "?" and "[" in keys as globs.
            self.fs.cp_file(self._path(source), self._path(dest))

    def _url_for(self, key: str) -> str:
        try:
            return str(self.fs.sign(self._path(key), expiration=self.url_valid_time))
        except NotImplementedError:
            # Percent-encoded, so that a key such as "%2e%2e/x" names its own file, not "../x".
            protocol, separator, path = str(self.fs.unstrip_protocol(self._path(key))).partition("://")
            return protocol + separator + quote(path, safe="/:@")

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        # cat_ranges, not cat: cat() expands globs and on_error="omit" would hide outages.
        paths = [self._path(key) for key in keys]
        with self._translate(keys[0]):
            values = self.fs.cat_ranges(paths, [None] * len(paths), [None] * len(paths), on_error="return")
        found: dict[str, bytes] = {}
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
                continue
            if isinstance(value, BaseException):
                with self._translate(key):
                    raise value
            found[key] = bytes(value)
        return found

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        if not items:
            return
        self._ensure_root()
        with self._translate(next(iter(items)), writing=True):
            self.fs.pipe({self._path(key): data for key, data in items.items()}, **self.write_kwargs)

    def _delete_many(self, keys: list[str]) -> None:
        if not keys:
            return
        # rm() expands globs: a key holding "*", "?" or "[" could delete other keys.
        literal = [key for key in keys if not _has_glob_characters(key)]
        for key in keys:
            if _has_glob_characters(key):
                self._delete(key)
        if not literal:
            return
        try:
            with self._translate(literal[0]):
                self.fs.rm([self._path(key) for key in literal])
        except KeyError:
            # Some filesystems stop at the first missing path: delete one by one.
            for key in literal:
                self._delete(key)
