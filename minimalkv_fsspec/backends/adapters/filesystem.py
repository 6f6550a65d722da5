"""FilesystemStore: one file per key below a local directory.

The store is an :class:`FSSpecStore` over fsspec's local filesystem, so ``store.fs``
and ``store.root`` work with pandas, dask and pyarrow as they are. The hot paths use
the operating system directly, because the atomicity promised here needs a temporary
file in the target directory and a rename, which fsspec's local writes do not do.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import quote

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore
from minimalkv_fsspec.backends.adapters._base import FSSpecStore
from minimalkv_fsspec.exceptions import InvalidKeyError
from minimalkv_fsspec.urls import parse_bool

if TYPE_CHECKING:
    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["FilesystemStore", "HFilesystemStore", "WebFilesystemStore"]

# ";" can never appear in a key, so a temporary file can never be listed as one.
TEMP_MARKER = ".~mkv;"
_temp_counter = itertools.count()

_NOT_A_VALUE = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
_T = TypeVar("_T")

# How often a write makes its directories again after concurrent deletes removed them: each
# removal means another writer or deleter finished, so this bounds only a writer's bad luck.
_PARENT_ATTEMPTS = 100

# File names are limited to 255 bytes; a temporary name adds up to about 50.
_LONGEST_NAME_WITH_SUFFIX = 200
_NAME_MAX = 255
# A path handed to the kernel holds at most 4096 bytes with its NUL; keep room for a temporary's suffix.
_PATH_MAX = 4096 - 1 - 64


def path_room(base: str) -> int:
    """Return how many bytes a key may have below the directory path *base* (ending in ``/``)."""
    return _PATH_MAX - len(os.fsencode(base))


def check_path_length(key: str, room: int, root: str) -> None:
    """Refuse *key* if a ``/``-separated part is over 255 bytes or it is over *room* bytes (keys are ASCII).

    Raises
    ------
    InvalidKeyError
        If the key cannot be a file below *root*.
    """
    if len(key) > room:
        raise InvalidKeyError(f"key of {len(key)} characters is too long for a path below {root!r}")
    if len(key) > _NAME_MAX and any(len(part) > _NAME_MAX for part in key.split("/")):
        raise InvalidKeyError(f"key {key[:40]!r}... holds a file name longer than {_NAME_MAX} bytes")


def with_directories(create: Callable[[], _T], make_directories: Callable[[], object]) -> _T:
    """Run *create*, which makes a file; if its directory is missing, run *make_directories* and retry.

    Deleting the last key in a directory removes that directory, so a concurrent
    delete can remove a directory just made, before *create* put a file into it:
    then the directories are made again, a bounded number of times.
    """
    attempts = 1
    while True:
        try:
            return create()
        except FileNotFoundError:
            if attempts == _PARENT_ATTEMPTS:
                raise
        attempts += 1
        # makedirs fails both ways when a directory is removed while it is being made.
        with contextlib.suppress(FileNotFoundError, FileExistsError):
            make_directories()


def is_inside(directory: str, root: str) -> bool:
    """Return whether *directory* is *root* or lies below it once symbolic links are resolved."""
    return _below(os.path.realpath(directory), os.path.realpath(root))


def _below(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class FilesystemStore(FSSpecStore):
    """A store that keeps each value in the file ``<root>/<key>``.

    Writes are atomic: the value goes to a temporary file in the target
    directory, which is then renamed over the key's file, so a reader, or the
    store after its process was killed, sees the old or the new value, never a
    partial one. A write killed half-way can leave a temporary file, which is
    never listed as a key; :meth:`remove_stale_temporaries` removes old ones.
    A key that cannot be a file name (a ``/``-separated part over 255 bytes, a path
    over about 4 KiB) is an invalid key: every operation refuses it with ValueError.

    An acknowledged write survives a crash of the process, but by default not a
    power loss or a crash of the operating system, which may lose the last
    seconds of writes and, depending on the filesystem, leave a recent value
    empty or truncated. With ``fsync=True`` every put, ``put_file``, copy, move
    and delete calls ``fsync`` on the file before the rename and on the
    directories changed after it, so it survives power loss once it returns.

    Parameters
    ----------
    root
        The directory that holds the keys; created on first write if missing.
    perm
        If given, the permission bits every stored file gets; otherwise new files
        follow the umask.
    fsync
        Make every write durable before it returns. Off by default, like most
        stores: it costs a disk flush per write, from half a millisecond to tens
        of milliseconds depending on the disk.
    """

    def __init__(self, root: str, perm: int | None = None, *, fsync: bool = False, **kwargs: Any) -> None:
        from fsspec.implementations.local import LocalFileSystem

        if not isinstance(fsync, bool):
            raise TypeError(f"fsync must be True or False, not {fsync!r}")
        super().__init__(LocalFileSystem(), os.path.abspath(os.fspath(root)), **kwargs)
        self.perm = perm
        self.fsync = fsync
        self._real_root = os.path.realpath(self.root)
        self._room = path_room(self._base)
        self._moved_in_mode = 0o666 & ~_current_umask() if perm is None else perm

    def __repr__(self) -> str:
        options = ", fsync=True" if self.fsync else ""
        return f"{type(self).__name__}({self.root!r}{options})"

    def _normalize_root(self, root: str) -> str:
        return root.rstrip("/") or "/"

    # -- paths --------------------------------------------------------------------

    def _checked_path(self, key: str) -> str:
        """Return the path of *key*, refusing one whose directory lies outside the root.

        Keys cannot hold ``..`` or absolute paths (the key rules refuse them), but a
        symbolic link inside the root could still lead out of it. A key whose file
        name or path would be too long for the operating system is refused too, so
        that it is an invalid key in every operation rather than an OSError.
        """
        if len(key) > _NAME_MAX or len(key) > self._room:
            self._check_length(key)
        path = self._base + key
        if "/" in key and not self._inside_root(os.path.dirname(path)):
            raise InvalidKeyError(f"key {key!r} leads outside the store's root through a symbolic link")
        return path

    def _check_length(self, key: str) -> None:
        check_path_length(key, self._room, self.root)

    def _inside_root(self, directory: str) -> bool:
        real = os.path.realpath(directory)
        if _below(real, self._real_root):
            return True
        # The root may have been created (or replaced) since the store was made.
        self._real_root = os.path.realpath(self.root)
        return _below(real, self._real_root)

    def _temp_path(self, path: str) -> str:
        unique = f"{TEMP_MARKER}{os.getpid()}-{threading.get_ident()}-{next(_temp_counter)}"
        if len(path) - path.rfind("/") < _LONGEST_NAME_WITH_SUFFIX:
            return path + unique  # beside the target, in its directory
        return os.path.join(os.path.dirname(path), unique)  # a long name plus the suffix would be too long

    def _create_temp(self, key: str, path: str) -> tuple[int, str, list[str]]:
        """Create a new temporary file next to *path*, making missing directories.

        Returns the descriptor, the temporary's path and the directories created.
        """
        temp = self._temp_path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        fd, created = self._with_parents(key, path, lambda: os.open(temp, flags, 0o666))
        return fd, temp, created

    def _with_parents(self, key: str, path: str, create: Callable[[], _T]) -> tuple[_T, list[str]]:
        """Run *create* (see :func:`with_directories`); also return the directories made for it."""
        created: list[str] = []
        return with_directories(create, lambda: created.extend(self._make_parents(key, path))), created

    def _make_parents(self, key: str, path: str) -> list[str]:
        """Create the missing directories above *path*; return those this call created."""
        missing = []
        directory = os.path.dirname(path)
        while directory and not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._checked_path(key)
        return missing

    def _publish(self, temp: str, path: str, created: list[str]) -> None:
        if self.perm is not None:
            os.chmod(temp, self.perm)
        os.replace(temp, path)
        if self.fsync:
            self._sync_directories(path, created)

    def _sync_directories(self, path: str, created: list[str], *others: str) -> None:
        """Flush the directories holding *path* and each new directory in *created*, and *others*.

        A renamed file is durable only once its directory is; a new directory only
        once its parent is.
        """
        directories = {os.path.dirname(path), *(os.path.dirname(new) for new in created), *others}
        for directory in sorted(directories, reverse=True):
            _fsync_path(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def _write_atomically(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        path = self._checked_path(key)
        fd, temp, created = self._create_temp(key, path)
        try:
            with open(fd, "wb", closefd=True) as target:
                fill(target)
                if self.fsync:
                    target.flush()
                    os.fsync(target.fileno())
            self._publish(temp, path, created)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _prune_empty_parents(self, path: str) -> str:
        """Remove the emptied directories above *path*; return the first one left."""
        directory = os.path.dirname(path)
        while len(directory) > len(self.root) and directory.startswith(self._base):
            try:
                os.rmdir(directory)
            except OSError:
                return directory
            directory = os.path.dirname(directory)
        return directory

    # -- temporaries ------------------------------------------------------------------

    def remove_stale_temporaries(self, max_age: float = 3600.0) -> int:
        """Remove the temporary files that writes killed half-way left behind.

        A write puts its value into a temporary file beside the key's file and
        renames it; a process killed in between leaves the temporary (never
        listed as a key). This removes those not modified for *max_age* seconds,
        so a write in progress elsewhere keeps its file: its temporary is younger
        (it is modified as the data arrives). A write stalled for longer than
        *max_age* fails instead of publishing its value.

        Parameters
        ----------
        max_age
            Seconds since the last modification of a temporary file before it is
            considered abandoned.

        Returns
        -------
        int
            The number of temporary files removed.
        """
        if max_age < 0:
            raise ValueError(f"max_age must be at least 0 seconds, not {max_age!r}")
        cutoff = time.time() - max_age
        removed = 0
        for entry in self._temporaries(self.root):
            try:
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # published or removed meanwhile
            removed += 1
            if self._nested_keys:
                self._prune_empty_parents(entry.path)
        return removed

    def _temporaries(self, directory: str) -> Iterator[os.DirEntry[str]]:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if TEMP_MARKER in entry.name:
                if entry.is_file(follow_symlinks=False):
                    yield entry
            elif self._nested_keys and entry.is_dir(follow_symlinks=False):
                yield from self._temporaries(entry.path)

    # -- hooks --------------------------------------------------------------------

    def _put(self, key: str, data: bytes) -> None:
        path = self._checked_path(key)
        fd, temp, created = self._create_temp(key, path)
        try:
            # Plain os.write: a buffered file object per small value costs more than the write.
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(temp)
            raise
        os.close(fd)
        try:
            self._publish(temp, path, created)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        self._write_atomically(key, lambda target: shutil.copyfileobj(file, target, CHUNK_SIZE))

    def _put_filename(self, key: str, filename: str) -> None:
        """Move the file *filename* into the store, as minimalkv does."""
        path = self._checked_path(key)
        if not os.path.isfile(filename):
            raise FileNotFoundError(errno.ENOENT, "not a regular file", filename)
        try:
            if self.fsync:
                _fsync_path(filename, os.O_RDONLY)
            os.chmod(filename, self._moved_in_mode)
            _, created = self._with_parents(key, path, lambda: os.replace(filename, path))
            if self.fsync:
                self._sync_directories(path, created, os.path.dirname(os.path.abspath(filename)))
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another filesystem: copy next to the target, rename, then remove the source.
            with open(filename, "rb") as source:
                self._put_file(key, source)
            os.unlink(filename)

    def get(self, key: str) -> bytes:
        """Return the value stored under *key* (see :meth:`KeyValueStore.get`)."""
        # The hot path of a filesystem store: one pattern match, then the read.
        if type(key) is not str or self._key_pattern.match(key) is None:
            self._check_valid_key(key)
        return self._get(key)

    def _get(self, key: str) -> bytes:
        try:
            with open(self._checked_path(key), "rb") as file:
                return file.read()
        except _NOT_A_VALUE as exc:
            raise KeyError(key) from exc

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self._checked_path(key), "rb")
        except _NOT_A_VALUE as exc:
            raise KeyError(key) from exc

    def _has_key(self, key: str) -> bool:
        return os.path.isfile(self._checked_path(key))

    def _delete(self, key: str) -> None:
        path = self._checked_path(key)
        try:
            os.unlink(path)
        except _NOT_A_VALUE:
            return
        except PermissionError:
            # unlink of a directory gives EPERM on some systems: not a value either.
            if os.path.isdir(path):
                return
            raise
        left = self._prune_empty_parents(path) if "/" in key else os.path.dirname(path)
        if self.fsync:
            _fsync_path(left, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def _copy(self, source: str, dest: str) -> None:
        source_path = self._checked_path(source)
        if not os.path.isfile(source_path):
            raise KeyError(source)
        path = self._checked_path(dest)
        fd, temp, created = self._create_temp(dest, path)
        os.close(fd)
        try:
            try:
                shutil.copyfile(source_path, temp)
            except _NOT_A_VALUE as exc:
                raise KeyError(source) from exc
            if self.fsync:
                _fsync_path(temp, os.O_RDONLY)
            self._publish(temp, path, created)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _move(self, source: str, dest: str) -> None:
        source_path = self._checked_path(source)
        path = self._checked_path(dest)
        if not os.path.isfile(source_path):
            raise KeyError(source)
        if source == dest:
            return
        try:
            _, created = self._with_parents(dest, path, lambda: os.replace(source_path, path))
        except FileNotFoundError as exc:
            if not os.path.exists(source_path):
                raise KeyError(source) from exc  # deleted meanwhile
            raise
        left = self._prune_empty_parents(source_path) if "/" in source else os.path.dirname(source_path)
        if self.fsync:
            self._sync_directories(path, created, left)

    def _url_for(self, key: str) -> str:
        path = os.path.abspath(self._checked_path(key))
        return "file://" + "/".join(quote(part, safe="") for part in path.split(os.sep))

    def size(self, key: str) -> int:
        """Return the size in bytes of the value under *key*.

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key.
        """
        self._check_valid_key(key)
        try:
            status = os.stat(self._checked_path(key))
        except _NOT_A_VALUE as exc:
            raise KeyError(key) from exc
        if not stat.S_ISREG(status.st_mode):
            raise KeyError(key)
        return status.st_size

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, walking only the directory it names."""
        directory, _, _ = prefix.rpartition("/")
        if directory:
            try:
                self._check_valid_key(directory)
                self._checked_path(directory)
            except InvalidKeyError:
                return iter(())
            if not self._inside_root(self._base + directory):
                return iter(())
        start = self._base + directory if directory else self.root
        nested = self._nested_keys
        return (key for key in self._walk(start, directory + "/" if directory else "", nested)
                if key.startswith(prefix))

    def _walk(self, directory: str, key_prefix: str, nested: bool) -> Iterator[str]:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = entry.name
            if ";" in name:
                continue
            if entry.is_file(follow_symlinks=False):
                key = key_prefix + name
                try:
                    self._check_valid_key(key)
                except InvalidKeyError:
                    continue
                yield key
            elif nested and entry.is_dir(follow_symlinks=False):
                yield from self._walk(entry.path, key_prefix + name + "/", nested)

    _url_options = ("fsync",)

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        # fs://rel/dir is relative (host "rel" + path "/dir"); fs:///abs/dir is absolute.
        params: dict[str, Any] = {"path": url.host + url.path}
        if "fsync" in url.query:
            params["fsync"] = parse_bool(url.query["fsync"], "fsync")
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> FilesystemStore:
        path = os.fspath(params.get("path", ""))
        if create_if_missing:
            os.makedirs(path or ".", exist_ok=True)
        elif not os.path.isdir(path or "."):
            raise FileNotFoundError(errno.ENOENT, "store directory does not exist (create_if_missing is false)", path)
        fsync = params.get("fsync", False)
        if isinstance(fsync, str):
            fsync = parse_bool(fsync, "fsync")
        return cls(path, perm=params.get("perm"), fsync=fsync)

    # One file per key: the bulk operations are loops, like the base class's, after every
    # key was checked to fit in a path, so that a refused key leaves the others untouched.
    _get_many = KeyValueStore._get_many

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        for key in items:
            if len(key) > _NAME_MAX or len(key) > self._room:
                self._check_length(key)
        KeyValueStore._put_many(self, items)

    def _delete_many(self, keys: list[str]) -> None:
        for key in keys:
            if len(key) > _NAME_MAX or len(key) > self._room:
                self._check_length(key)
        KeyValueStore._delete_many(self, keys)


class WebFilesystemStore(FilesystemStore):
    """A :class:`FilesystemStore` whose files are also served by a web server.

    Parameters
    ----------
    root
        The directory that holds the keys.
    url_prefix
        Prepended to the URL-quoted key by :meth:`url_for`; or a callable
        ``url_prefix(store, key)`` returning the prefix.
    perm
        As for :class:`FilesystemStore`.
    """

    def __init__(self, root: str, url_prefix: str | Callable[[Any, str], str], **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.url_prefix = url_prefix

    def _url_for(self, key: str) -> str:
        prefix = self.url_prefix(self, key) if callable(self.url_prefix) else self.url_prefix
        return prefix + quote(key, safe="")


def _fsync_path(path: str, flags: int) -> None:
    """Flush *path* (a file, or a directory's entries) to the disk."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class HFilesystemStore(ExtendedKeyspaceMixin, FilesystemStore):
    """A :class:`FilesystemStore` whose keys may hold ``/`` (subdirectories) and spaces.

    Empty directories are removed when their last key is deleted.
    """
