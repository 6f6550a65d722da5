"""Stores over any fsspec filesystem, and the building blocks the cloud adapters share.

Three layers live here:

* :class:`Secrets` keeps credentials out of ``repr``, ``str``, exception messages,
  log records and pickles. A pickled store carries a reference to its secrets,
  resolved in the process that pickled it (and in its forked children); anywhere
  else the store falls back to the backend's default credential chain.
* :class:`ManagedFSSpecStore` is an :class:`FSSpecStore` that builds its own
  filesystem from picklable options, maps errors with the secrets removed, tells a
  missing bucket from a missing key, and runs the bulk operations as one concurrent
  fsspec call each without letting fsspec glob (``?`` and ``[`` are key characters).
  :class:`BucketStore` adds what object stores share: block-sized streaming,
  listing by server-side prefix and delimiter, bucket creation.
* :class:`GenericFSSpecStore` is the ``fsspec+<protocol>://`` URL scheme: any fsspec
  filesystem (``fsspec+memory://``, ``fsspec+sftp://host/dir``, chains such as
  ``fsspec+simplecache+s3://bucket/dir``), with storage options in the query.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import io
import json
import logging
import os
import threading
import uuid
import warnings
import weakref
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import quote

from minimalkv_fsspec._files import BytesValueFile, StreamValueFile
from minimalkv_fsspec._keys import VALID_KEY_RE_EXTENDED
from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec._store import CHUNK_SIZE
from minimalkv_fsspec.backends.adapters._base import FSSpecStore, abandon_upload
from minimalkv_fsspec.backends.adapters.filesystem import (
    _NAME_MAX,
    check_path_length,
    is_inside,
    path_room,
    with_directories,
)
from minimalkv_fsspec.exceptions import (
    BackendError,
    BucketNotFoundError,
    InvalidKeyError,
    SecretsNotTransferredWarning,
    StoreAccessDeniedError,
    StoreUrlError,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from minimalkv_fsspec.urls import StoreUrl

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "BucketNotFoundError",
    "BucketStore",
    "GenericFSSpecStore",
    "HGenericFSSpecStore",
    "ManagedFSSpecStore",
    "Secrets",
    "SecretsNotTransferredWarning",
    "StoreAccessDeniedError",
    "abandon_upload",
    "has_glob_characters",
    "merge_options",
    "parse_size",
    "run_coroutines",
    "split_secret_options",
]

MiB = 1024 * 1024

DEFAULT_BLOCK_SIZE = 8 * MiB
"""Bytes per part of a streamed upload and per ranged read: the memory a large value costs."""

# Option names whose values are credentials (matched on the lower-cased name).
_SECRET_WORDS = ("secret", "password", "passwd", "token", "credential", "account_key", "accountkey",
                 "sas", "signature", "connection_string", "private_key", "auth")
_SECRET_NAMES = frozenset({"key", "access_key", "aws_access_key_id", "client_secret"})
# Values of secret-named options that are modes, not secrets (gcsfs token="anon", ...).
_PUBLIC_VALUES = frozenset({"anon", "google_default", "cloud", "cache", "browser"})
# Secret-looking options that only identify (an access key id, a user name): kept out of
# pickles with their secret and redacted from SDK log records (which print request
# headers), but not from messages, where they would garble names that contain them
# (minimalkv appends the access key to bucket names).
_IDENTIFIER_NAMES = frozenset({"key", "access_key", "aws_access_key_id", "username", "AccountName"})
# Options that never describe how to rebuild a filesystem elsewhere.
_TRANSIENT_OPTIONS = frozenset({"loop", "asynchronous", "session", "skip_instance_cache"})


def has_glob_characters(text: str) -> bool:
    """Return whether fsspec would treat *text* as a glob pattern (``*``, ``?`` or ``[``)."""
    return glob.has_magic(text)


def parse_size(value: str | int | None, option: str) -> int | None:
    """Return the byte count *value* stands for: ``4194304``, ``4*1024*1024`` or None.

    Raises
    ------
    StoreUrlError
        If *value* is neither an integer nor a product of integers.
    """
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)):  # minimalkv's url2dict passes lists of strings
        value = value[0]
    text = str(value).strip()
    try:
        result = 1
        for factor in text.split("*"):
            result *= int(factor.strip())
    except ValueError:
        raise StoreUrlError(f"option {option!r} must be a number of bytes such as 4194304 or 4*1024*1024, "
                            f"not {text!r}") from None
    return result


# -- secrets --------------------------------------------------------------------------------

_VAULT: dict[str, dict[str, Any]] = {}
_VAULT_LOCK = threading.Lock()
_LIVE_SECRETS: weakref.WeakSet[Secrets] = weakref.WeakSet()


def _secret_texts(value: Any) -> Iterator[str]:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        if len(value) >= 6 and value not in _PUBLIC_VALUES:
            yield value
            encoded = quote(value, safe="")
            if encoded != value:
                yield encoded
    elif isinstance(value, Mapping):
        for name, item in value.items():
            if name not in _IDENTIFIER_NAMES:
                yield from _secret_texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_texts(item)


def _identifier_texts(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from _secret_texts(item) if name in _IDENTIFIER_NAMES else _identifier_texts(item)


class Secrets:
    """Credentials that a store needs, hidden from ``repr``, messages, logs and pickles.

    Parameters
    ----------
    values
        Option name to secret value (strings, dicts, or credential objects);
        ``None`` and empty values are dropped.
    missing
        Names of secrets that were lost on unpickling (see :meth:`__reduce__`).
    """

    __slots__ = ("__weakref__", "_log_texts", "_texts", "_token", "_values", "missing")

    def __init__(self, values: Mapping[str, Any] | None = None, *, missing: Iterable[str] = ()) -> None:
        self._values = {name: value for name, value in (values or {}).items() if value is not None and value != ""}
        self._token: str | None = None
        self._texts = sorted(set(_secret_texts(self._values)), key=len, reverse=True)
        self._log_texts = sorted(set(self._texts) | set(_identifier_texts(self._values)), key=len, reverse=True)
        self.missing = tuple(missing)
        if self._log_texts:
            _LIVE_SECRETS.add(self)
            _install_log_redaction()

    def get(self, name: str, default: Any = None) -> Any:
        """Return the secret called *name*, or *default*."""
        return self._values.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        """Return a new dict of every secret (to pass to a filesystem)."""
        return dict(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        names = ", ".join(sorted(self._values)) or "none"
        return f"<Secrets: {names} (values hidden)>"

    __str__ = __repr__

    def redact(self, text: str) -> str:
        """Return *text* with every secret value replaced by ``***``."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def redact_log(self, text: str) -> str:
        """Return *text* with every secret and identifier (an access key id) replaced by ``***``."""
        for secret in self._log_texts:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def leaks(self, exc: BaseException) -> bool:
        """Return whether the message of *exc*, or of an exception chained to it, holds a secret."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen and len(seen) < 20:
            seen.add(id(current))
            for text in (str(current), repr(current.args)):
                if self.redact(text) != text:
                    return True
            current = current.__cause__ or current.__context__
        return False

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle a reference, never the values.

        The values stay in this process, keyed by a random token that lives as long
        as this object. Unpickling in this process (or a forked child) finds them;
        anywhere else the result is empty and a :class:`SecretsNotTransferredWarning`
        is emitted, so the store falls back to the backend's default credentials.
        """
        if not self._values:
            return (_restore_secrets, (None, ()))
        with _VAULT_LOCK:
            if self._token is None:
                self._token = uuid.uuid4().hex
                _VAULT[self._token] = self._values
                weakref.finalize(self, _VAULT.pop, self._token, None)
        return (_restore_secrets, (self._token, tuple(sorted(self._values))))


def _restore_secrets(token: str | None, names: tuple[str, ...]) -> Secrets:
    if token is None:
        return Secrets()
    values = _VAULT.get(token)
    if values is None:
        warnings.warn(
            f"an unpickled store's credentials ({', '.join(names)}) exist only in the process that "
            "pickled it; this copy uses the backend's default credential chain instead",
            SecretsNotTransferredWarning,
            stacklevel=2,
        )
        return Secrets(missing=names)
    return Secrets(values)


def _redact_live(text: str) -> str:
    for secrets in list(_LIVE_SECRETS):
        text = secrets.redact_log(text)
    return text


class _RedactingFilter(logging.Filter):
    """Remove live secrets from the records of the SDK loggers that log request headers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _LIVE_SECRETS:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business
            return True
        redacted = _redact_live(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


# Loggers known to write credentials (for example botocore's request headers with
# the session token) at DEBUG level. A logger's filter sees only its own records.
_SDK_LOGGERS = (
    "botocore.auth", "botocore.endpoint", "botocore.hooks", "botocore.parsers", "botocore.retryhandler",
    "botocore.httpsession", "botocore.credentials", "botocore.utils", "aiobotocore.endpoint",
    "aiobotocore.httpsession", "aiobotocore.credentials", "aiobotocore.utils", "s3fs", "s3fs.core", "adlfs",
    "adlfs.spec", "gcsfs", "gcsfs.core", "gcsfs.credentials", "fsspec",
    "azure.core.pipeline.policies.http_logging_policy", "azure.identity", "azure.storage.blob",
    "google.auth.transport.requests", "google.auth._default",
    "urllib3.connectionpool", "minimalkv_fsspec",
)
_filter_installed = False


def _install_log_redaction() -> None:
    global _filter_installed
    if _filter_installed:
        return
    _filter_installed = True
    redacting = _RedactingFilter()
    for name in _SDK_LOGGERS:
        logging.getLogger(name).addFilter(redacting)


def _is_secret_option(name: str, value: Any) -> bool:
    if value is None or isinstance(value, bool) or isinstance(value, (int, float)):
        return False
    if isinstance(value, str) and value in _PUBLIC_VALUES:
        return False
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def split_secret_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split storage options into public ones and secret ones (nested dicts are split too).

    Returns
    -------
    tuple of dict
        ``(public, secret)``; merging them back with :func:`merge_options` gives *options*.
    """
    public: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, Mapping) and not _is_secret_option(name, None):
            inner_public, inner_secret = split_secret_options(value)
            public[name] = inner_public
            if inner_secret:
                secret[name] = inner_secret
        elif _is_secret_option(name, value):
            secret[name] = value
        else:
            public[name] = value
    return public, secret


def merge_options(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Return *base* updated with *extra*, merging nested dicts instead of replacing them."""
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = merge_options(merged[name], value)
        else:
            merged[name] = value
    return merged


def run_coroutines(fs: AbstractFileSystem, coroutines: list[Coroutine[Any, Any, Any]], limit: int = 32) -> list[Any]:
    """Run *coroutines* on the loop of the async filesystem *fs*, at most *limit* at once.

    Returns
    -------
    list
        Each coroutine's result, or the exception it raised, in order.
    """
    from fsspec.asyn import sync

    async def gather() -> list[Any]:
        semaphore = asyncio.Semaphore(limit)

        async def bounded(coroutine: Coroutine[Any, Any, Any]) -> Any:
            async with semaphore:
                return await coroutine

        return await asyncio.gather(*(bounded(coroutine) for coroutine in coroutines), return_exceptions=True)

    return sync(fs.loop, gather)  # type: ignore[no-any-return]


# -- stores ---------------------------------------------------------------------------------


class ManagedFSSpecStore(FSSpecStore):
    """An :class:`FSSpecStore` that owns its filesystem and keeps its credentials secret.

    Subclasses keep everything needed to build the filesystem in picklable
    attributes (credentials only in :attr:`_secrets`) and implement
    :meth:`_build_fs`; pickling drops the filesystem and unpickling rebuilds it.

    Parameters
    ----------
    fs
        The filesystem, built by the subclass with :meth:`_build_fs`.
    root
        The directory (``bucket/prefix``) holding the keys.
    secrets
        The credentials the filesystem was built with.
    mkdir_root
        Create the root (bucket) on first write; if false, a missing root is an
        error (:class:`BucketNotFoundError`), not a missing key.
    write_kwargs
        Extra keyword arguments for every write.
    url_valid_time
        Seconds a signed URL from :meth:`url_for` stays valid.
    """

    _cat_kwargs: dict[str, Any] = {}

    def __init__(
        self,
        fs: AbstractFileSystem,
        root: str,
        *,
        secrets: Secrets | None = None,
        mkdir_root: bool = False,
        write_kwargs: dict[str, Any] | None = None,
        url_valid_time: int = 3600,
    ) -> None:
        super().__init__(fs, root, write_kwargs=write_kwargs, mkdir_root=mkdir_root, url_valid_time=url_valid_time)
        self._secrets = secrets if secrets is not None else Secrets()
        self._root_seen = False

    def _build_fs(self) -> AbstractFileSystem:
        """Return a new filesystem built from this store's options and secrets."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("fs", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.fs = self._build_fs()

    # -- errors -----------------------------------------------------------------------------

    @property
    def _root_label(self) -> str:
        """How error messages name the store's container."""
        return f"root {self.root!r}"

    def _root_exists(self) -> bool:
        return bool(self.fs.exists(self.root)) if self.root else True

    def _missing_root_error(self) -> BucketNotFoundError:
        return BucketNotFoundError(
            f"{type(self).__name__}: {self._root_label} does not exist (create_if_missing is false); "
            "create it or build the store with create_if_missing=True"
        )

    def _confirm_root(self) -> None:
        """Raise :class:`BucketNotFoundError` if the root is missing and may not be created."""
        if self.mkdir_root or self._root_seen:
            return
        try:
            exists = self._root_exists()
        except Exception as exc:
            error = self._backend_error(exc, "")
            if error is exc:
                raise
            raise error from (None if self._secrets.leaks(exc) else exc)
        if not exists:
            raise self._missing_root_error()
        self._root_seen = True

    def _access_denied(self, exc: BaseException) -> bool:
        """Return whether *exc* says the credentials were refused."""
        return isinstance(exc, PermissionError) or type(exc).__name__ in (
            "ClientAuthenticationError", "RefreshError", "DefaultCredentialsError", "NoCredentialsError",
        )

    def _backend_error(self, exc: BaseException, key: str) -> BaseException:
        """Return the OSError to raise for *exc*; may be *exc* itself."""
        if isinstance(exc, BackendError):
            return exc
        reason = self._secrets.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if self._access_denied(exc):
            return StoreAccessDeniedError(
                f"{type(self).__name__}: access to {self._root_label} was denied ({type(exc).__name__}: {reason}); "
                "check the credentials"
            )
        if isinstance(exc, OSError) and not self._secrets.leaks(exc):
            return exc
        about = f" for key {key!r}" if key else ""
        return BackendError(f"{type(self).__name__}: {type(exc).__name__}{about}: {reason}")

    @contextmanager
    def _translate(self, key: str, *, writing: bool = False) -> Iterator[None]:
        """Map the filesystem's errors without leaking secrets.

        Not found -> :class:`KeyError` when reading (or :class:`BucketNotFoundError`
        if the bucket itself is missing); every other failure -> :class:`OSError`.
        """
        try:
            yield
        except (KeyError, InvalidKeyError):  # a key the backend cannot hold is invalid, not a failure
            raise
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            self._confirm_root()
            if writing:
                reason = self._secrets.redact(str(exc)) or type(exc).__name__
                raise BackendError(f"{type(self).__name__}: not found while writing key {key!r}: {reason}") from exc
            raise KeyError(key) from exc
        except Exception as exc:
            error = self._backend_error(exc, key)
            if error is exc:
                raise
            raise error from (None if self._secrets.leaks(exc) else exc)

    # -- hooks ------------------------------------------------------------------------------

    def _ensure_root(self) -> None:
        if not self.mkdir_root or self._root_ready or not self.root:
            return
        with self._translate(self.root, writing=True):
            if not self._root_exists():
                self._create_root()
        self._root_ready = self._root_seen = True

    def _create_root(self) -> None:
        try:
            self.fs.mkdir(self.root, create_parents=True)
        except FileExistsError:
            pass

    def _delete(self, key: str) -> None:
        with self._translate(key, writing=True):
            try:
                self.fs.rm_file(self._path(key))
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                pass  # no value there (perhaps a directory of longer keys)

    def _get(self, key: str) -> bytes:
        with self._translate(key):
            return bytes(self.fs.cat_file(self._path(key), **self._cat_kwargs))

    def _has_key(self, key: str) -> bool:
        with self._translate(key):
            try:
                info = self.fs.info(self._path(key))
            except (FileNotFoundError, NotADirectoryError):  # "a/b" below the value "a" on a filesystem
                self._confirm_root()
                return False
        return bool(info.get("type") == "file")

    def _open(self, key: str) -> BinaryIO:
        if self._in_process:
            return BytesValueFile(self._get(key))
        with self._translate(key):
            raw = self.fs.open(self._path(key), "rb")
        return cast("BinaryIO", StreamValueFile(raw, getattr(raw, "size", None)))

    def _put(self, key: str, data: bytes) -> None:
        self._ensure_root()
        with self._translate(key, writing=True):
            self.fs.pipe_file(self._path(key), data, **self.write_kwargs)

    def _open_for_writing(self, key: str) -> Any:
        return self.fs.open(self._path(key), "wb", **self.write_kwargs)

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        if self._in_process:
            self._put(key, file.read())
            return
        self._ensure_root()
        with self._translate(key, writing=True):
            target = self._open_for_writing(key)
            try:
                while chunk := file.read(CHUNK_SIZE):
                    target.write(chunk)
            except BaseException:
                abandon_upload(target)
                raise
            target.close()

    def _copy(self, source: str, dest: str) -> None:
        if source == dest:  # S3 refuses such a copy, a local filesystem raises SameFileError
            if not self._has_key(source):
                raise KeyError(source)
            return
        self._ensure_root()
        # cp_file, not copy: fs.copy expands glob characters, which are key characters here.
        with self._translate(source):
            self.fs.cp_file(self._path(source), self._path(dest))

    def _url_for(self, key: str) -> str:
        with self._translate(key):
            return super()._url_for(key)

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        # cat_ranges runs one fetch per path, concurrently on async filesystems, and
        # never expands glob characters (fs.cat would). Only "not found" means missing.
        paths = [self._path(key) for key in keys]
        with self._translate(keys[0]):
            results = self.fs.cat_ranges(paths, [None] * len(paths), [None] * len(paths), on_error="return",
                                         **self._cat_kwargs)
        found: dict[str, bytes] = {}
        missing = False
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
                missing = True
            elif isinstance(result, BaseException):
                with self._translate(key):
                    raise result
            else:
                found[key] = bytes(result)
        if missing:
            self._confirm_root()
        return found

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        self._ensure_root()
        with self._translate(next(iter(items)), writing=True):
            self.fs.pipe({self._path(key): data for key, data in items.items()}, **self.write_kwargs)

    def _delete_many(self, keys: list[str]) -> None:
        # One bulk call (S3 DeleteObjects, GCS batch, Azure blob batch) for the keys fsspec
        # takes literally; keys with glob characters are deleted one by one.
        literal = [key for key in keys if not has_glob_characters(key)]
        single = [key for key in keys if has_glob_characters(key)]
        if literal:
            with self._translate(literal[0], writing=True):
                try:
                    self.fs.rm([self._path(key) for key in literal])
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    single = keys  # some filesystems stop at the first missing path
        for key in single:
            self._delete(key)


def _read_at_most(file: IO[bytes], size: int) -> bytes:
    """Read *size* bytes from *file*, or all it holds if less (raw files may return fewer per read)."""
    parts = []
    while size > 0 and (chunk := file.read(size)):
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


class _ReadAfter:
    """A readable file that returns *head*, then the rest of *file*."""

    def __init__(self, head: bytes, file: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._file = file

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._file.read(size)
        if size < 0:
            data = bytes(self._head) + self._file.read()
            self._head = memoryview(b"")
            return data
        data = bytes(self._head[:size])
        self._head = self._head[size:]
        return data


class BucketStore(ManagedFSSpecStore):
    """A :class:`ManagedFSSpecStore` on an object store: a bucket (container) and a key prefix.

    Keys are stored as ``<bucket>/<object_prefix><key>``; the prefix is used as
    given (``"data/"`` is a folder, ``"v1-"`` a name prefix). Values stream in
    blocks of :attr:`block_size`; listings use the server's prefix and delimiter.
    """

    block_size: int = DEFAULT_BLOCK_SIZE

    def __init__(
        self,
        fs: AbstractFileSystem,
        bucket: str,
        object_prefix: str = "",
        *,
        secrets: Secrets | None = None,
        create_if_missing: bool = True,
        write_kwargs: dict[str, Any] | None = None,
        url_valid_time: int = 3600,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        if not bucket or "/" in bucket:
            raise ValueError(f"a bucket name must be non-empty and hold no '/': {bucket!r}")
        folder = object_prefix.rsplit("/", 1)[0] if "/" in object_prefix else ""
        super().__init__(
            fs,
            f"{bucket}/{folder}" if folder else bucket,
            secrets=secrets,
            mkdir_root=create_if_missing,
            write_kwargs=write_kwargs,
            url_valid_time=url_valid_time,
        )
        self._bucket = bucket
        self.object_prefix = object_prefix
        self._base = f"{bucket}/{object_prefix}"
        self.block_size = block_size

    @property
    def _root_label(self) -> str:
        return f"bucket {self._bucket!r}"

    def _root_exists(self) -> bool:
        return bool(self.fs.exists(self._bucket))

    def _ensure_root(self) -> None:
        if not self.mkdir_root or self._root_ready:
            return
        with self._translate(self._bucket, writing=True):
            if not self._root_exists():
                self._create_root()
        self._root_ready = self._root_seen = True

    def _create_root(self) -> None:
        try:
            self.fs.mkdir(self._bucket, create_parents=True)
        except FileExistsError:
            pass

    def _open(self, key: str) -> BinaryIO:
        with self._translate(key):
            raw = self.fs.open(self._path(key), "rb", block_size=self.block_size, cache_type="readahead")
        if raw.details.get("type") == "directory":
            # s3fs, adlfs and gcsfs open the common prefix of longer keys ("a" of "a/b") as
            # an empty or sizeless file; it is no value.
            raw.close()
            raise KeyError(key)
        if raw.size is not None and raw.size <= self.block_size:
            # Ranged reads of an object replaced since it was opened would return part of the
            # new version; one whole GET returns one version (a key deleted meanwhile: KeyError).
            raw.close()
            return BytesValueFile(self._get(key))
        return cast("BinaryIO", StreamValueFile(raw, raw.size))

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        head = _read_at_most(file, self.block_size + 1)
        if len(head) <= self.block_size:
            # One request: concurrent uploads of one key in parts can break each other
            # (Azure drops one writer's uncommitted blocks when another commits).
            self._put(key, head)
        else:
            self._put_stream(key, cast("IO[bytes]", _ReadAfter(head, file)))

    def _put_stream(self, key: str, file: IO[bytes]) -> None:
        """Upload a value larger than one block from *file*, in parts."""
        super()._put_file(key, file)

    def _open_for_writing(self, key: str) -> Any:
        return self.fs.open(self._path(key), "wb", block_size=self.block_size, **self.write_kwargs)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, listed by the server's prefix filter."""
        folder = prefix.rpartition("/")[0]
        if prefix and (VALID_KEY_RE_EXTENDED.fullmatch(prefix) is None or (folder and not self._is_key(folder))):
            # No key starts so (a character no key holds, a "." or "//" folder); the server might
            # refuse the request or normalise the name.
            return
        directory, _, stem = (self._base + prefix).rpartition("/")
        with self._translate(prefix):
            try:
                paths = self._find(directory, stem)
            except FileNotFoundError:
                paths = []
            if not paths:
                self._confirm_root()  # some filesystems list a missing bucket as empty
        for path in paths:
            key = self._key_of(path)
            if key is not None and key.startswith(prefix):
                yield key

    def _is_key(self, text: str) -> bool:
        try:
            self._check_valid_key(text)
        except InvalidKeyError:
            return False
        return True

    def _find(self, directory: str, stem: str) -> list[str]:
        """Return the paths of the objects below *directory* (``bucket/folder``) whose names start with *stem*."""
        return list(self.fs.find(directory, prefix=stem))

    def _list_delimited(self, name_prefix: str, delimiter: str) -> Iterator[tuple[str, bool]]:
        """Yield ``(name, is_common_prefix)`` for one delimiter listing of the bucket.

        *name_prefix* and the names are object names inside the bucket.
        """
        raise NotImplementedError

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the key prefixes up to the first *delimiter* after *prefix*.

        One delimiter listing on the server: keys below a common prefix are not transferred.
        A delimiter of several characters is cut by the client from a listing of the keys:
        Azurite and fake-gcs-server cut at its first character.
        """
        if len(delimiter) != 1:
            yield from super().iter_prefixes(delimiter, prefix)
            return
        inside = self._base[len(self._bucket) + 1 :]
        with self._translate(prefix):
            try:
                entries = list(self._list_delimited(inside + prefix, delimiter))
            except FileNotFoundError:
                entries = []
            if not entries:
                self._confirm_root()
        seen: set[str] = set()
        for name, is_prefix in entries:
            if not name.startswith(inside):
                continue
            candidate = name[len(inside) :]
            if not candidate.startswith(prefix) or candidate in seen:
                continue
            try:
                # A common prefix stands for keys; it is one if a key can continue it.
                self._check_valid_key(candidate + "x" if is_prefix else candidate)
            except InvalidKeyError:
                continue
            seen.add(candidate)
            yield candidate


# -- the fsspec URL scheme ----------------------------------------------------------------------

# Protocols that have a key-safe filesystem subclass in a dedicated adapter: s3fs and
# adlfs parse "?versionId=" (and adlfs "?" and "#") out of paths, which would rewrite keys.
_KEY_SAFE_FILESYSTEMS = {
    "s3": "minimalkv_fsspec.backends.adapters.s3:KeySafeS3FileSystem",
    "s3a": "minimalkv_fsspec.backends.adapters.s3:KeySafeS3FileSystem",
    "abfs": "minimalkv_fsspec.backends.adapters.azure:KeySafeAzureBlobFileSystem",
    "abfss": "minimalkv_fsspec.backends.adapters.azure:KeySafeAzureBlobFileSystem",
    "az": "minimalkv_fsspec.backends.adapters.azure:KeySafeAzureBlobFileSystem",
    "gs": "minimalkv_fsspec.backends.adapters.gcs:KeySafeGCSFileSystem",
    "gcs": "minimalkv_fsspec.backends.adapters.gcs:KeySafeGCSFileSystem",
}


# Layers of a chained URL that take the filesystem they wrap as fs=.
_CACHING_PROTOCOLS = frozenset({"simplecache", "filecache", "blockcache", "cached"})


def _key_safe_class(protocol: str) -> Any:
    import importlib

    module_name, _, class_name = _KEY_SAFE_FILESYSTEMS[protocol].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _option_value(text: str) -> Any:
    """Decode a URL option: JSON if it parses (numbers, booleans, objects), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _temporary_beside(path: str) -> str:
    # In the same directory, for an atomic rename; not named after the key, which may be
    # as long as a file name can be; ";" is in no key, so it is never listed as one.
    return f"{path.rpartition('/')[0]}/.~mkv;{uuid.uuid4().hex}"


def _make_parent(path: str) -> None:
    """Create the directories above the local file *path* (whatever the filesystem's ``auto_mkdir``)."""
    os.makedirs(path.rpartition("/")[0], exist_ok=True)


def _replace(temporary: str, path: str) -> None:
    """Rename *temporary* over *path* (fs.mv would move it into a directory of that name)."""
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class _ReplaceOnClose:
    """A local file written under a temporary name beside *path* and renamed over it on close.

    A reader sees the old value or the new one, never part of one.
    """

    def __init__(self, fs: AbstractFileSystem, path: str, **write_kwargs: Any) -> None:
        self._path = path
        self._temporary = _temporary_beside(path)
        self._file = with_directories(lambda: fs.open(self._temporary, "wb", **write_kwargs),
                                      lambda: _make_parent(self._temporary))
        self.closed = False

    def write(self, data: bytes) -> int:
        return int(self._file.write(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._file.close()
            _replace(self._temporary, self._path)

    def discard(self) -> None:
        self.closed = True
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temporary)


class GenericFSSpecStore(ManagedFSSpecStore):
    """A store over any fsspec filesystem, named by an fsspec URL and storage options.

    Parameters
    ----------
    url
        An fsspec URL: ``memory://bucket/dir``, ``sftp://host/data``,
        ``simplecache::s3://bucket/dir``. Its path is the store's root.
    mkdir_root
        Create the root directory on first write; if false, a missing root raises
        :class:`BucketNotFoundError` (``create_if_missing=false`` in a URL).
    write_kwargs
        Extra keyword arguments for every write.
    url_valid_time
        Seconds a signed URL from :meth:`url_for` stays valid.
    storage_options
        Passed to the filesystem unchanged (for chained URLs, keyed by protocol as
        fsspec expects). Credentials among them never appear in a repr or pickle.

    Raises
    ------
    ValueError
        If fsspec does not know a protocol of *url* (the message names the package).

    Examples
    --------
    >>> store = GenericFSSpecStore("memory://generic-doc/dir")
    >>> store.put("key", b"value")
    'key'
    >>> store.get("key")
    b'value'
    """

    _url_options = ()  # every option is a storage option

    def __init__(
        self,
        url: str,
        *,
        mkdir_root: bool = True,
        write_kwargs: dict[str, Any] | None = None,
        url_valid_time: int = 3600,
        **storage_options: Any,
    ) -> None:
        public, secret = split_secret_options(
            {name: value for name, value in storage_options.items() if name not in _TRANSIENT_OPTIONS}
        )
        self.url = url
        self._options = public
        secrets = Secrets({"options": secret} if secret else None)
        fs, root = self._make_fs(url, merge_options(public, secret))
        super().__init__(fs, root, secrets=secrets, mkdir_root=mkdir_root, write_kwargs=write_kwargs,
                         url_valid_time=url_valid_time)

    @staticmethod
    def _make_fs(url: str, options: dict[str, Any]) -> tuple[AbstractFileSystem, str]:
        import fsspec.core

        layers = url.split("::")
        inner_protocol, separator, _ = layers[-1].partition("://")
        outer_protocols = [layer.partition("://")[0] for layer in layers[:-1]]
        key_safe = (
            separator
            and inner_protocol in _KEY_SAFE_FILESYSTEMS
            and all(protocol in _CACHING_PROTOCOLS for protocol in outer_protocols)
            and all("://" not in layer for layer in layers[:-1])
        )
        try:
            if not key_safe:
                fs, root = fsspec.core.url_to_fs(url, **options)
                return fs, str(root)
            # Build the key-safe filesystem ourselves; caching layers wrap it through fs=.
            cls = _key_safe_class(inner_protocol)
            inner_options = options if not outer_protocols else dict(options.get(inner_protocol, {}))
            inner_options = {**cls._get_kwargs_from_urls(layers[-1]), **inner_options}
            fs = cls(**{"use_listings_cache": False, **inner_options, "skip_instance_cache": True})
            for depth, protocol in reversed(list(enumerate(outer_protocols))):
                layer_options = dict(options.get(protocol, {}))
                if depth == 0:  # as in fsspec, options not keyed by a protocol go to the outermost layer
                    layer_options.update({name: value for name, value in options.items()
                                          if name not in outer_protocols and name != inner_protocol})
                fs = fsspec.get_filesystem_class(protocol)(fs=fs, **layer_options)
            return fs, str(cls._strip_protocol(layers[-1]))
        except (ValueError, ImportError) as exc:
            raise StoreUrlError(f"cannot open the fsspec URL {url!r}: {exc}") from exc

    def _build_fs(self) -> AbstractFileSystem:
        fs, _ = self._make_fs(self.url, merge_options(self._options, self._secrets.get("options", {})))
        return fs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _prune_parents(self, key: str) -> None:
        """Remove the directories that deleting *key* left empty (filesystems with real directories).

        Otherwise an emptied ``a/`` directory would keep the key ``a`` from being stored.
        """
        directory = self._path(key).rpartition("/")[0]
        while len(directory) > len(self.root) and directory.startswith(self._base):
            try:
                if self.fs.ls(directory, detail=False):
                    return
                self.fs.rmdir(directory)
            except (OSError, NotImplementedError):
                return
            directory = directory.rpartition("/")[0]

    def _copy(self, source: str, dest: str) -> None:
        # Copying a directory "succeeds" on some filesystems (memory): only a file is a value.
        with self._translate(source):
            if not self.fs.isfile(self._path(source)):
                raise FileNotFoundError(source)
        if source == dest or not self._writes_in_place:
            super()._copy(source, dest)
            return
        self._ensure_root()
        temporary = _temporary_beside(self._path(dest))
        with self._translate(source):
            try:
                with_directories(lambda: self.fs.cp_file(self._path(source), temporary),
                                 lambda: _make_parent(temporary))
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                raise
            _replace(temporary, self._path(dest))

    # -- a local disk: a reader would see a value written in place half done -------------------------

    @property
    def _writes_in_place(self) -> bool:
        from fsspec.implementations.local import LocalFileSystem

        return isinstance(self.fs, LocalFileSystem)

    def _put(self, key: str, data: bytes) -> None:
        if self._writes_in_place:
            self._put_file(key, io.BytesIO(data))
        else:
            super()._put(key, data)

    def _path(self, key: str) -> str:
        path = super()._path(key)
        if (len(key) > _NAME_MAX or "/" in key) and self._writes_in_place:
            if len(key) > _NAME_MAX:
                # A local disk limits names and paths: such a key is refused, not an OSError (or a
                # RecursionError of makedirs) half-way through an operation.
                check_path_length(key, path_room(self._base), self.root)
            if "/" in key and not is_inside(path.rpartition("/")[0], self.root):
                raise InvalidKeyError(f"key {key!r} leads outside the store's root through a symbolic link")
        return path

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        if self._writes_in_place:
            for key in items:
                self._path(key)  # refuse every key before writing any
            for key, data in items.items():
                self._put(key, data)
        else:
            super()._put_many(items)

    def _open_for_writing(self, key: str) -> Any:
        if self._writes_in_place:
            return _ReplaceOnClose(self.fs, self._path(key), **self.write_kwargs)
        return super()._open_for_writing(key)

    def _delete(self, key: str) -> None:
        super()._delete(key)
        if "/" in key:
            self._prune_parents(key)

    def _delete_many(self, keys: list[str]) -> None:
        super()._delete_many(keys)
        for key in keys:
            if "/" in key:
                self._prune_parents(key)

    @classmethod
    def from_url(cls, url: str, **storage_options: Any) -> GenericFSSpecStore:
        """Build a store from an fsspec URL and storage options (see the class docstring).

        Raises
        ------
        ValueError
            If fsspec does not know a protocol of *url*.
        """
        return cls(url, **storage_options)

    # -- URL scheme ---------------------------------------------------------------------------

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        protocols = url.scheme.split("+")[1:]
        if not protocols or not all(protocols):
            raise StoreUrlError(
                f"the {url.scheme.split('+')[0]!r} scheme names the fsspec protocol after a '+', "
                "as in 'fsspec+memory://bucket/dir' or 'fsspec+simplecache+s3://bucket/dir'"
            )
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        if ":" in url.host:
            host = f"[{url.host}]" + (f":{url.port}" if url.port is not None else "")
        inner = "::".join(protocols[:-1] + [f"{protocols[-1]}://{host}{url.path}"])
        options: dict[str, Any] = {}
        innermost: dict[str, Any] = options if len(protocols) == 1 else options.setdefault(protocols[-1], {})
        if url.username is not None:
            innermost["username"] = url.username
        if url.password is not None:
            innermost["password"] = url.password
        for name, text in url.query.items():
            if name == "create_if_missing":
                continue
            layer, dot, option = name.partition(".")
            if dot and layer in protocols:
                if len(protocols) == 1:
                    options[option] = _option_value(text)
                else:
                    options.setdefault(layer, {})[option] = _option_value(text)
            else:
                options[name] = _option_value(text)
        return {"url": inner, "storage_options": options}

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> GenericFSSpecStore:
        if "url" not in params:
            raise StoreUrlError("an fsspec store needs 'url', e.g. get_store('fsspec', url='memory://data')")
        store = cls(params["url"], mkdir_root=create_if_missing, **params.get("storage_options", {}))
        if not create_if_missing:
            store._confirm_root()
        return store


class HGenericFSSpecStore(ExtendedKeyspaceMixin, GenericFSSpecStore):
    """A :class:`GenericFSSpecStore` whose keys may hold ``/`` (subdirectories) and spaces."""
