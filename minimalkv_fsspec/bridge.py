"""KeyValueFileSystem: any key-value store as an fsspec filesystem (protocol ``minimalkv``).

pandas, dask, pyarrow, xarray and zarr take a path and ``storage_options``; with
this bridge they read and write any store of this package (Redis, SQL, git,
decorated stores included)::

    pd.read_parquet("minimalkv://table.parquet", storage_options={"store": "redis://localhost/0"})

``store`` is a store URL (chained and wrapped URLs too, ``"hfs:///data#wrap:readonly"``)
or a store object. The filesystem is registered with fsspec under ``minimalkv``
through the ``fsspec.specs`` entry point, so importing this module is never needed.

Paths are keys. Directories are virtual: ``a/b`` is a directory while some key
starts with ``a/b/`` (the ``/`` delimiter, which keys may hold in the extended
keyspace of the ``h*`` stores). ``mkdir`` does nothing and an empty directory does
not exist.

Errors: a missing key is :class:`FileNotFoundError`; a path that is not a valid key
for the store is :class:`~minimalkv_fsspec.exceptions.InvalidKeyError` (a
:class:`ValueError`) naming the path; writing through a read-only store is
:class:`PermissionError`; other backend failures stay :class:`OSError`.

Instances are cached the fsspec way, one per store: the same store URL gives the
same filesystem, and so the same store, throughout a process (``memory://`` data
written by one call is there for the next; ``skip_instance_cache=True`` gives a new
one). A store object gives a filesystem of its own, equal to every other filesystem
over that same object and to none over another object.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, cast

from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.config import apply_config
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import stringify_path, tokenize

from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore
from minimalkv_fsspec.exceptions import InvalidKeyError

if TYPE_CHECKING:
    from typing import TypeAlias

    from minimalkv_fsspec.decorator import StoreDecorator

    StoreLike: TypeAlias = "KeyValueStore | StoreDecorator"

    # fsspec has no type information: give the metaclass a known base for mypy.
    _FileSystemMeta = type
else:
    _FileSystemMeta = type(AbstractFileSystem)

__all__ = ["PROTOCOL", "KeyValueFile", "KeyValueFileSystem"]

PROTOCOL = "minimalkv"
"""The fsspec protocol of :class:`KeyValueFileSystem`: paths look like ``minimalkv://key``."""

_DELIMITER = "/"

# Options fsspec and its callers (zarr's FsspecStore, DirCache) may pass to any
# filesystem. They change nothing here, so they are accepted and left out of the token.
_GENERIC_OPTIONS = frozenset({"asynchronous", "loop", "use_listings_cache", "listings_expiry_time", "max_paths"})

_GLOB_CHARACTERS = frozenset("*?[")

_SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""Bytes a file being written keeps in memory before its spool moves to a temporary file."""


# -- one filesystem per store -------------------------------------------------------------

_object_tokens: dict[int, tuple[weakref.ref[Any], str]] = {}
# Re-entrant: a weakref callback may run (garbage collection) while this thread holds it.
_object_tokens_lock = threading.RLock()


def _object_token(store: object) -> str:
    """Return a token for the store object *store*, the same for as long as it lives.

    ``id()`` alone is no token: a new store may reuse a dead one's id, and dask keeps
    results keyed by filesystem tokens. So each live object gets a random token,
    forgotten when the object is collected.
    """
    key = id(store)
    with _object_tokens_lock:
        entry = _object_tokens.get(key)
        if entry is not None and entry[0]() is store:
            return entry[1]
        token = uuid.uuid4().hex

        def forget(ref: weakref.ref[Any], key: int = key) -> None:
            with _object_tokens_lock:
                current = _object_tokens.get(key)
                if current is not None and current[0] is ref:
                    del _object_tokens[key]

        try:
            ref = weakref.ref(store, forget)
        except TypeError:  # no weak references (__slots__): a token per filesystem, then
            return token
        _object_tokens[key] = (ref, token)
        return token


class _OneFileSystemPerStore(_FileSystemMeta):
    """Cache filesystem instances by store, not by the text of the arguments.

    fsspec's own cache keys instances on ``str()`` of the arguments, which for a
    store object is its ``repr``: two empty dict stores would share one filesystem.
    Here a store URL is keyed by its text (and cached for the process, like fsspec's
    filesystems), a store object by its identity (held weakly: the filesystem lives
    as long as someone uses it).
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs = apply_config(cls, kwargs)
        if args:
            if len(args) > 1 or "store" in kwargs:
                raise TypeError("KeyValueFileSystem takes one store: KeyValueFileSystem(store=...)")
            kwargs["store"] = args[0]
        skip = bool(kwargs.pop("skip_instance_cache", False))
        unknown = sorted(set(kwargs) - _GENERIC_OPTIONS - {"store"})
        if unknown:
            raise TypeError(
                f"KeyValueFileSystem got unknown options {', '.join(unknown)}; "
                "it takes store=<store URL or store object>"
            )
        store = kwargs.get("store")
        if store is None:
            raise TypeError(
                "KeyValueFileSystem needs a store: pass store=<store URL or store object>, for example "
                "storage_options={'store': 'hmemory://'}"
            )
        by_url = isinstance(store, str)
        token = tokenize(PROTOCOL, "url", store) if by_url else tokenize(PROTOCOL, "object", _object_token(store))
        cache: Any = cls._cache if by_url else cls._object_instances  # type: ignore[attr-defined]
        with cls._instantiation_lock:  # type: ignore[attr-defined]
            pid = os.getpid()
            if pid != cls._pid:  # type: ignore[has-type]
                cls._cache.clear()  # type: ignore[attr-defined]
                cls._pid = pid
            if not skip and cls.cachable:  # type: ignore[attr-defined]
                instance = cache.get(token)
                if instance is not None:
                    return instance
            # Not fsspec's caching __call__: straight to __new__ and __init__.
            instance = type.__call__(cls, **kwargs)
            instance._fs_token_ = token
            instance.storage_args = ()
            instance.storage_options = kwargs
            if not skip and cls.cachable:  # type: ignore[attr-defined]
                cache[token] = instance
            return instance


# -- the filesystem -----------------------------------------------------------------------


class KeyValueFileSystem(AbstractFileSystem, metaclass=_OneFileSystemPerStore):  # type: ignore[misc]
    """An fsspec filesystem over a key-value store: paths are keys, ``/`` makes directories.

    Parameters
    ----------
    store
        A store URL (``"redis://localhost/0"``, ``"hfs:///data#wrap:readonly"``), built
        with :func:`~minimalkv_fsspec.get_store_from_url`, or a store object: any
        :class:`~minimalkv_fsspec.KeyValueStore` or store decorator.
    **storage_options
        fsspec's generic options (``asynchronous``, ``skip_instance_cache``,
        ``use_listings_cache``, ...) are accepted and have no effect.

    Raises
    ------
    TypeError
        If no store is given, or an unknown option is.
    ValueError
        If the store URL is malformed or names an unknown scheme (the message names
        the extra to install).

    Notes
    -----
    Sizes come from opening the value and seeking to its end (cheap on files and
    fsspec stores; Redis and SQL fetch the value), so a detailed listing opens every
    file it lists. There are no modification times.
    Writing spools the value to a temporary file (in memory up to 8 MiB, then on
    disk) and stores it with ``put_file`` on ``close()``; a ``with`` block
    left by an exception stores nothing.
    """

    protocol = PROTOCOL
    root_marker = ""
    cachable = True
    _object_instances: weakref.WeakValueDictionary[str, KeyValueFileSystem] = weakref.WeakValueDictionary()

    def __init__(self, store: StoreLike | str, **storage_options: Any) -> None:
        super().__init__()
        if isinstance(store, str):
            from minimalkv_fsspec.urls import get_store_from_url

            store = get_store_from_url(store)
        self.store: StoreLike = store
        """The store that holds the files."""

    def __repr__(self) -> str:
        # The token keeps two filesystems over look-alike stores apart wherever a
        # wrapper caches by repr.
        return f"{type(self).__name__}(store={self.store!r}, token={self._fs_token!r})"

    @property
    def fsid(self) -> str:
        """An identifier of this filesystem: equal filesystems have equal ids."""
        return f"{PROTOCOL}_{self._fs_token}"

    @classmethod
    def clear_instance_cache(cls) -> None:
        """Forget every cached instance, including the stores built from URLs."""
        cls._cache.clear()
        cls._object_instances.clear()

    # -- paths and errors -------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """Return *path* without ``minimalkv://`` and without leading or trailing ``/``."""
        if isinstance(path, (list, tuple)):
            return [cls._strip_protocol(one) for one in path]
        text = str(stringify_path(path))
        if text.startswith(f"{PROTOCOL}://"):
            text = text[len(PROTOCOL) + 3 :]
        return text.strip(_DELIMITER)

    def _key(self, path: Any) -> str:
        """Return the key for *path*; the root is a directory, never a key."""
        key: str = self._strip_protocol(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "the root of the store is a directory, not a key", self._url(key))
        return key

    def _url(self, key: str) -> str:
        return f"{PROTOCOL}://{key}"

    @contextmanager
    def _translate(self, key: str) -> Iterator[None]:
        """Map the store's errors: missing -> FileNotFoundError, invalid key -> InvalidKeyError naming the path."""
        try:
            yield
        except KeyError as exc:
            raise FileNotFoundError(errno.ENOENT, "no such key in the store", self._url(key)) from exc
        except InvalidKeyError as exc:
            if str(exc).startswith(f"'{PROTOCOL}://"):
                raise  # translated already, by an inner block
            raise InvalidKeyError(f"{self._url(key)!r} is not a valid key for {self.store!r}: {exc}") from exc

    def _operation(self, name: str) -> Callable[..., Any]:
        """Return the store's method *name*; a store without it (read-only) is a PermissionError."""
        try:
            method: Callable[..., Any] = getattr(self.store, name)
        except AttributeError as exc:
            raise PermissionError(errno.EACCES, f"the store does not allow {name!r}: it is read-only") from exc
        return method

    def _contains(self, key: str) -> bool:
        """Return whether *key* is stored; raise InvalidKeyError (naming the path) if it cannot be."""
        with self._translate(key):
            return key in self.store

    def _validate(self, key: str) -> None:
        """Raise InvalidKeyError (naming the path) unless *key* is valid for the store.

        A :class:`KeyValueStore` (decorators included) checks without a round trip;
        any other object is asked whether it holds the key.
        """
        with self._translate(key):
            if isinstance(self.store, KeyValueStore):
                self.store._check_valid_key(key)
            else:
                _ = key in self.store

    def _is_file(self, key: str) -> bool:
        if not key:
            return False
        try:
            return self._contains(key)
        except InvalidKeyError:
            return False

    def _has_children(self, key: str) -> bool:
        """Return whether some key lies below the directory *key* (every key lies below the root)."""
        prefix = key + _DELIMITER if key else ""
        for _ in self.store.iter_keys(prefix):
            return True
        return False

    def _size(self, key: str) -> int:
        """Return the size of the value under *key* (FileNotFoundError if missing).

        Opening and seeking to the end costs a stat on files and fsspec stores. The
        filesystem store's ``size()`` is not used: it gives a directory a size too.
        """
        with self._translate(key), self.store.open(key) as file:
            return int(file.seek(0, os.SEEK_END))

    def _iter_prefixes(self, prefix: str) -> Iterator[str]:
        iter_prefixes = getattr(self.store, "iter_prefixes", None)
        if iter_prefixes is not None:
            yield from iter_prefixes(_DELIMITER, prefix)
            return
        seen: set[str] = set()
        for key in self.store.iter_keys(prefix):
            position = key.find(_DELIMITER, len(prefix))
            entry = key if position < 0 else key[: position + len(_DELIMITER)]
            if entry not in seen:
                seen.add(entry)
                yield entry

    def _file_info(self, key: str, size: int) -> dict[str, Any]:
        return {"name": key, "size": size, "type": "file"}

    @staticmethod
    def _directory_info(key: str) -> dict[str, Any]:
        return {"name": key, "size": 0, "type": "directory"}

    # -- listing ----------------------------------------------------------------------

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        """Return ``name``, ``size`` and ``type`` (``file`` or ``directory``) of *path*.

        Raises
        ------
        FileNotFoundError
            If *path* is neither a key nor a directory.
        InvalidKeyError
            If *path* can be neither, as it is not a valid key for the store.
        """
        key: str = self._strip_protocol(path)
        if not key:
            return self._directory_info("")
        try:
            return self._file_info(key, self._size(key))
        except FileNotFoundError:
            pass
        if self._has_children(key):
            return self._directory_info(key)
        raise FileNotFoundError(errno.ENOENT, "no such key or directory in the store", self._url(key))

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        """List the keys and directories directly below *path* (a key lists itself).

        Parameters
        ----------
        path
            A directory (``""`` is the root) or a key.
        detail
            Return info dicts (with sizes: each listed value is opened) instead of names.
        **kwargs
            Ignored (fsspec passes listing options).

        Raises
        ------
        FileNotFoundError
            If *path* is neither a key nor a directory.
        """
        key: str = self._strip_protocol(path)
        if key and self._is_file(key):
            return [self.info(key)] if detail else [key]
        prefix = key + _DELIMITER if key else ""
        entries: list[dict[str, Any]] = []
        for entry in self._iter_prefixes(prefix):
            if entry.endswith(_DELIMITER):
                entries.append(self._directory_info(entry[: -len(_DELIMITER)]))
            else:
                entries.append({"name": entry, "type": "file"})
        if not entries and key:
            raise FileNotFoundError(errno.ENOENT, "no such key or directory in the store", self._url(key))
        entries.sort(key=lambda entry: str(entry["name"]))
        if not detail:
            return [entry["name"] for entry in entries]
        return [self._with_size(entry) for entry in entries]

    def _with_size(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry["type"] == "file" and "size" not in entry:
            entry["size"] = self._size(entry["name"])
        return entry

    def find(
        self, path: Any, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """List every key below *path* (and, with *withdirs*, every directory), sorted.

        One ``iter_keys(prefix)`` call, however deep the keys lie.

        Parameters
        ----------
        path
            A directory (``""`` is the root) or a key (which finds itself).
        maxdepth
            Only list this many levels below *path*.
        withdirs
            Also list the directories, *path* itself included.
        detail
            Return a dict of info dicts (with sizes) instead of a list of names.
        **kwargs
            Ignored (fsspec passes listing options).

        Raises
        ------
        ValueError
            If *maxdepth* is below 1.
        """
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        key: str = self._strip_protocol(path)
        found: dict[str, dict[str, Any]] = {}
        if key and self._is_file(key):
            found[key] = {"name": key, "type": "file"}
        prefix = key + _DELIMITER if key else ""
        is_directory = False
        for stored in self.store.iter_keys(prefix):
            is_directory = True
            parts = stored[len(prefix) :].split(_DELIMITER)
            if maxdepth is None or len(parts) <= maxdepth:
                found[stored] = {"name": stored, "type": "file"}
            if withdirs:
                directory = key
                for depth, part in enumerate(parts[:-1], start=1):
                    if maxdepth is not None and depth > maxdepth:
                        break
                    directory = f"{directory}{_DELIMITER}{part}" if directory else part
                    found.setdefault(directory, self._directory_info(directory))
        if withdirs and key and is_directory:
            found.setdefault(key, self._directory_info(key))
        names = sorted(found)
        if not detail:
            return names
        return {name: self._with_size(found[name]) for name in names}

    def isdir(self, path: Any) -> bool:
        """Return whether *path* is a directory: the root, or a prefix of some key followed by ``/``."""
        key: str = self._strip_protocol(path)
        return not key or self._has_children(key)

    def isfile(self, path: Any) -> bool:
        """Return whether *path* is a key holding a value (False for invalid keys)."""
        return self._is_file(self._strip_protocol(path))

    def exists(self, path: Any, **kwargs: Any) -> bool:
        """Return whether *path* is a key or a directory (False for invalid keys)."""
        key: str = self._strip_protocol(path)
        return self._is_file(key) or self.isdir(key)

    def lexists(self, path: Any, **kwargs: Any) -> bool:
        """Return :meth:`exists` (a store has no links)."""
        return self.exists(path)

    # -- directories are virtual --------------------------------------------------------

    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        """Do nothing: a directory exists while some key lies below it."""

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        """Do nothing: a directory exists while some key lies below it."""

    def rmdir(self, path: Any) -> None:
        """Do nothing for an empty directory.

        Raises
        ------
        OSError
            (``ENOTEMPTY``) if some key still lies below *path*.
        """
        key: str = self._strip_protocol(path)
        if self._has_children(key):
            raise OSError(errno.ENOTEMPTY, "directory not empty", self._url(key))

    # -- reading ------------------------------------------------------------------------

    def cat_file(self, path: Any, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """Return the value under *path*, or its bytes ``start:end`` (negative: from the end).

        A ranged read opens the value and seeks, so only the range is read from
        backends that stream (files, fsspec stores).

        Raises
        ------
        FileNotFoundError
            If *path* is not stored.
        InvalidKeyError
            If *path* is not a valid key for the store.
        """
        key = self._key(path)
        with self._translate(key):
            if start is None and end is None:
                return bytes(self.store.get(key))
            with self.store.open(key) as file:
                size = file.seek(0, os.SEEK_END) if (start or 0) < 0 or (end is not None and end < 0) else None
                begin = start or 0
                if begin < 0:
                    begin = max(0, cast("int", size) + begin)
                if end is not None and end < 0:
                    end = max(0, cast("int", size) + end)
                file.seek(begin)
                if end is None:
                    return bytes(file.read())
                return bytes(file.read(end - begin)) if end > begin else b""

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """Return the values under *path*: bytes for one path, a dict for a list or a glob.

        A list of plain paths is read with one ``get_many`` (one MGET or one query
        on stores with a batch read). *on_error* is ``"raise"`` (FileNotFoundError),
        ``"omit"`` (leave missing paths out) or ``"return"`` (the exception as value).

        Raises
        ------
        FileNotFoundError
            If a path is missing and *on_error* is ``"raise"``.
        """
        if not isinstance(path, (list, tuple)) or recursive or any(_looks_like_glob(one) for one in path):
            return super().cat(path, recursive=recursive, on_error=on_error, **kwargs)
        keys: list[str] = [self._strip_protocol(one) for one in path]
        wanted = [key for key in dict.fromkeys(keys) if key]
        found = self._get_many(wanted)
        out: dict[str, Any] = {}
        for key in dict.fromkeys(keys):
            if key in found:
                out[key] = found[key]
                continue
            error = FileNotFoundError(errno.ENOENT, "no such key in the store", self._url(key))
            if on_error == "raise":
                raise error
            if on_error == "return":
                out[key] = error
        return out

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        get_many = getattr(self.store, "get_many", None)
        with self._translate(keys[0]):
            if get_many is not None:
                return dict(get_many(keys))
            found: dict[str, bytes] = {}
            for key in keys:
                try:
                    found[key] = self.store.get(key)
                except KeyError:
                    pass
            return found

    def _open(
        self,
        path: Any,
        mode: str = "rb",
        block_size: int | str | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> KeyValueFile:
        # docstring inherited
        return KeyValueFile(
            self,
            self._key(path),
            mode=mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    # -- writing ------------------------------------------------------------------------

    def pipe_file(self, path: Any, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Store *value* (bytes-like) under *path*.

        Parameters
        ----------
        path
            The key.
        value
            The bytes to store.
        mode
            ``"overwrite"``, or ``"create"`` to refuse an existing key.
        **kwargs
            Ignored (fsspec passes backend-specific write options).

        Raises
        ------
        FileExistsError
            If *mode* is ``"create"`` and *path* is stored.
        InvalidKeyError
            If *path* is not a valid key for the store.
        PermissionError
            If the store is read-only.
        """
        key = self._key(path)
        put = self._operation("put")
        if mode == "create" and self._contains(key):
            raise FileExistsError(errno.EEXIST, "key exists", self._url(key))
        with self._translate(key):
            put(key, _as_bytes(value))

    def pipe(self, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        """Store one value, or a dict of paths to values with one ``put_many``.

        Raises
        ------
        InvalidKeyError
            If a path is not a valid key (nothing is written then).
        PermissionError
            If the store is read-only.
        """
        if isinstance(path, (str, os.PathLike)):
            self.pipe_file(path, cast("bytes", value), **kwargs)
            return
        if not isinstance(path, Mapping):
            raise ValueError("path must be a str or a dict of paths to values")
        items = {self._key(one): _as_bytes(data) for one, data in path.items()}
        if not items:
            return
        put_many = getattr(self.store, "put_many", None)
        with self._translate(next(iter(items))):
            if put_many is not None:
                put_many(items)
            else:
                put = self._operation("put")
                for key, data in items.items():
                    put(key, data)

    def put_file(
        self, lpath: Any, rpath: Any, callback: Any = DEFAULT_CALLBACK, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Stream the local file *lpath* into the store under *rpath* (a local directory does nothing).

        Raises
        ------
        FileExistsError
            If *mode* is ``"create"`` and *rpath* is stored.
        InvalidKeyError
            If *rpath* is not a valid key for the store.
        PermissionError
            If the store is read-only.
        """
        if os.path.isdir(lpath):
            return
        key = self._key(rpath)
        put_file = self._operation("put_file")
        if mode == "create" and self._contains(key):
            raise FileExistsError(errno.EEXIST, "key exists", self._url(key))
        with open(lpath, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(0)
            callback.set_size(size)
            # A file object, never the filename: the filesystem store would move the file.
            with self._translate(key):
                put_file(key, file)
            callback.relative_update(size)

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        """Copy the value under *path1* to *path2*, with the store's ``copy`` where it has one.

        Copying a directory does nothing (directories are virtual).

        Raises
        ------
        FileNotFoundError
            If *path1* is neither stored nor a directory.
        PermissionError
            If the store is read-only.
        """
        source = self._key(path1)
        dest = self._key(path2)
        self._validate(source)
        self._validate(dest)
        copy = getattr(self.store, "copy", None)
        if copy is not None:
            try:
                with self._translate(source):
                    copy(source, dest)
                return
            except FileNotFoundError:
                if self._has_children(source):
                    return
                raise
            except (NotImplementedError, AttributeError):
                pass  # a store (or the store under a decorator) that cannot copy by itself
        put_file = self._operation("put_file")
        try:
            with self._translate(source), self.store.open(source) as file, self._translate(dest):
                put_file(dest, file)
        except FileNotFoundError:
            if self._has_children(source):
                return
            raise

    def rm_file(self, path: Any) -> None:
        """Delete the value under *path*.

        Raises
        ------
        FileNotFoundError
            If *path* is not stored.
        PermissionError
            If the store is read-only.
        """
        key = self._key(path)
        delete = self._operation("delete")
        if not self._contains(key):
            raise FileNotFoundError(errno.ENOENT, "no such key in the store", self._url(key))
        with self._translate(key):
            delete(key)

    def _rm(self, path: Any) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete keys: the keys *path* names, globs included, and with *recursive* whole directories.

        The keys are deleted with one ``delete_many``.

        Raises
        ------
        FileNotFoundError
            If a path matches nothing.
        IsADirectoryError
            If a path is a directory and *recursive* is false.
        PermissionError
            If the store is read-only.
        """
        doomed: dict[str, None] = {}
        for one in path if isinstance(path, (list, tuple)) else [path]:
            key: str = self._strip_protocol(one)
            if key and self._is_file(key):
                doomed[key] = None
            elif not key or self._has_children(key):
                if not recursive:
                    raise IsADirectoryError(errno.EISDIR, "is a directory; pass recursive=True", self._url(key))
                doomed.update(dict.fromkeys(self.find(key, maxdepth=maxdepth)))
            elif _looks_like_glob(key):
                for match in self.expand_path(key, recursive=recursive, maxdepth=maxdepth):
                    if self._is_file(match):
                        doomed[match] = None
            else:
                raise FileNotFoundError(errno.ENOENT, "no such key or directory in the store", self._url(key))
        self._delete_many(list(doomed))

    def _delete_many(self, keys: list[str]) -> None:
        if not keys:
            return
        delete_many = getattr(self.store, "delete_many", None)
        with self._translate(keys[0]):
            if delete_many is not None:
                delete_many(keys)
                return
            delete = self._operation("delete")
            for key in keys:
                delete(key)


def _looks_like_glob(path: Any) -> bool:
    return isinstance(path, str) and not _GLOB_CHARACTERS.isdisjoint(path)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(f"values must be bytes-like, not {type(value).__name__}") from None


# -- files --------------------------------------------------------------------------------


class KeyValueFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file over one value: ranged reads through ``store.open()``, spooled writes.

    Reading keeps the handle from ``store.open(key)`` and serves each block fsspec's
    cache asks for (1 MiB by default) with a ``seek`` and a ``read`` on it, so a
    parquet footer costs a read of the footer. Writing collects the data in a spooled
    temporary file (in memory up to 8 MiB, then on disk) and stores it with
    ``store.put_file`` on ``close()`` (or ``commit()`` without autocommit). A
    ``with`` block left by an exception discards the data.

    Parameters
    ----------
    fs
        The filesystem.
    path
        The key.
    mode
        ``"rb"``, ``"wb"``, ``"xb"`` (refuse an existing key) or ``"ab"`` (append:
        the old value is copied into the spool first).
    block_size, autocommit, cache_type, cache_options, **kwargs
        As for :class:`fsspec.spec.AbstractBufferedFile`.

    Raises
    ------
    FileNotFoundError
        If reading a key that is not stored.
    FileExistsError
        If *mode* is ``"xb"`` and the key is stored.
    InvalidKeyError
        If *path* is not a valid key for the store.
    PermissionError
        If writing to a read-only store.
    """

    DEFAULT_BLOCK_SIZE = CHUNK_SIZE
    """Bytes per read from the value (the read-ahead cache's block) and per write to the spool."""

    def __init__(
        self,
        fs: KeyValueFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = "default",
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._handle: IO[bytes] | None = None
        self._spool: IO[bytes] | None = None
        if mode == "rb":
            with fs._translate(path):
                handle = fs.store.open(path)
            try:
                size = kwargs.pop("size", None)  # fsspec's blockcache knows it already
                if size is None:
                    size = handle.seek(0, os.SEEK_END)
                    handle.seek(0)
                super().__init__(fs, path, mode, block_size, autocommit, cache_type, cache_options, size=size, **kwargs)
            except BaseException:
                handle.close()
                raise
            self._handle = handle
            self._details = {"name": path, "size": size, "type": "file"}
            return
        if mode not in ("wb", "xb", "ab"):
            raise ValueError(f"unsupported mode {mode!r}: use 'rb', 'wb', 'xb' or 'ab'")
        self._put_file = fs._operation("put_file")
        fs._validate(path)  # now, not on close()
        exists = mode != "wb" and fs._contains(path)
        if mode == "xb" and exists:
            raise FileExistsError(errno.EEXIST, "key exists", fs._url(path))
        super().__init__(fs, path, mode, block_size, autocommit, cache_type, cache_options, **kwargs)
        self._spool = cast("IO[bytes]", tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY))
        if mode == "ab" and exists:
            with fs._translate(path), fs.store.open(path) as old:
                shutil.copyfileobj(old, self._spool, CHUNK_SIZE)
            self.loc = self._spool.tell()

    # -- reading --

    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._handle is None:
            raise ValueError("I/O operation on closed file.")
        self._handle.seek(start)
        return bytes(self._handle.read(end - start))

    # -- writing --

    def _initiate_upload(self) -> None:
        """Nothing to start: the spool exists from the beginning."""

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._spool is None:
            raise ValueError("I/O operation on closed file.")
        self.buffer.seek(0)
        shutil.copyfileobj(self.buffer, self._spool, CHUNK_SIZE)
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Store the spooled data under the key (called by ``close()`` with autocommit).

        Raises
        ------
        InvalidKeyError
            If the key is not valid for the store.
        OSError
            If the store fails.
        """
        spool, self._spool = self._spool, None
        if spool is None:
            return
        try:
            spool.seek(0)
            with self.fs._translate(self.path):
                self._put_file(self.path, spool)
        finally:
            spool.close()

    def discard(self) -> None:
        """Throw the spooled data away without storing it."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def close(self) -> None:
        """Close the file: store written data (with autocommit), release the read handle."""
        try:
            super().close()
        finally:
            handle, self._handle = self._handle, None
            if handle is not None:
                handle.close()
            if self.mode != "rb" and self.autocommit:
                self.discard()  # only left over if storing failed

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Close the file; if the block raised, discard written data instead of storing it."""
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.discard()
            self.forced = True  # so that close() flushes nothing
        self.close()
