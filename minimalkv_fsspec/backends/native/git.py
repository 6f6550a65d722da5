"""GitCommitStore: values as files in a git branch, one commit per change, through dulwich.

Every put, delete, copy and move (and every ``put_many``/``delete_many``) is a
single commit on ``refs/heads/<branch>``; the working tree and the index of a
non-bare repository are not touched. Keys with ``/`` (the ``H`` variant) become
nested trees, and trees left empty by a delete are removed. The repository stays
valid for the ``git`` command (``git fsck``, ``git log``, ``git show branch:key``).

Git stores each value as one blob object, built and read whole: values are held
in memory while they are written or read.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from minimalkv_fsspec._files import BytesValueFile
from minimalkv_fsspec._keys import check_extended_key
from minimalkv_fsspec._mixins import CopyMixin, ExtendedKeyspaceMixin
from minimalkv_fsspec._store import KeyValueStore
from minimalkv_fsspec.exceptions import BackendError, InvalidKeyError

if TYPE_CHECKING:
    from minimalkv_fsspec.urls import StoreUrl

# dulwich's objects are typed as Any here: its annotations (NewType ids and refs)
# differ between the releases this store supports.
Repo = Any
ShaFile = Any
Tree = Any

__all__ = ["GitCommitStore", "HGitCommitStore"]

_BLOB_MODE = 0o100644
# Trees are built recursively, one Python frame per level: far below the recursion limit and git's own.
_MAX_DEPTH = 256
_TREE_MODE = 0o040000
_ATTEMPTS = 200
# Names git refuses in a tree (fsck's hasDotgit, gitmodules checks), also under
# their Windows and macOS aliases: ".git", ".GIT.", "git~1", ".gitmodules".
_RESERVED = frozenset({".git", "git~1", ".gitmodules", "gi7eba~1"})

# One lock per repository directory: every store on the same repository in this
# process serialises its reads and commits (dulwich's objects are not thread-safe).
_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: str) -> threading.RLock:
    real = os.path.realpath(path)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(real, threading.RLock())


def _as_bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


def _is_reserved(segment: str) -> bool:
    return segment.lower().rstrip(". ") in _RESERVED


class GitCommitStore(CopyMixin, KeyValueStore):
    """A store that keeps each value as a file in a git branch, committing every change.

    Parameters
    ----------
    repo_path
        The repository's directory (bare or with a working tree); it must exist.
    branch
        The branch that holds the values; created by the first commit.
    subdir
        A directory inside the branch under which the keys live (``b""`` for the top).

    Raises
    ------
    OSError
        If *repo_path* is not a git repository.
    ValueError
        If *branch* is not a valid branch name or *subdir* navigates (``..``).

    Notes
    -----
    Keys whose name (or, in :class:`HGitCommitStore`, any ``/``-separated part) is
    ``.git`` or ``.gitmodules`` in any case, or an alias of them, are refused with
    :class:`ValueError`: git itself rejects such trees. Commits are serialised within a
    process; between processes the branch is updated by compare-and-swap and a
    commit that lost the race is rebuilt on the new head.
    """

    author = b"GitCommitStore (minimalkv_fsspec) <gitcommitstore@minimalkv-fsspec.invalid>"
    """The author and committer of every commit."""

    def __init__(self, repo_path: str | os.PathLike[str], branch: bytes | str = b"master", subdir: bytes | str = b""):
        from dulwich.refs import check_ref_format

        self.repo_path = os.fspath(repo_path)
        self.branch = _as_bytes(branch, "branch")
        if not check_ref_format(cast("Any", b"refs/heads/" + self.branch)):
            raise ValueError(f"invalid branch name {self.branch!r}")
        self.subdir = _as_bytes(subdir, "subdir").strip(b"/")
        parts = self.subdir.split(b"/") if self.subdir else []
        if any(part in (b"", b".", b"..") or _is_reserved(part.decode("utf-8", "replace")) for part in parts):
            raise ValueError(f"invalid subdir {self.subdir!r}")
        self._subdir_parts = parts
        self._repo: Repo | None = None
        self._lock = _lock_for(self.repo_path)
        self._open_repo()

    # -- the repository -------------------------------------------------------------------

    @property
    def _ref(self) -> bytes:
        return b"refs/heads/" + self.branch

    @property
    def repo(self) -> Repo:
        """The dulwich ``Repo``, opened on first use."""
        return self._open_repo()

    def _open_repo(self) -> Repo:
        if self._repo is None:
            from dulwich.errors import NotGitRepository
            from dulwich.repo import Repo as DulwichRepo

            try:
                self._repo = DulwichRepo(self.repo_path)
            except NotGitRepository as exc:
                raise BackendError(errno.ENOENT, f"not a git repository: {self.repo_path!r}", self.repo_path) from exc
        return self._repo

    def close(self) -> None:
        """Close the repository's open files; the store reopens it if used again."""
        with self._lock:
            if self._repo is not None:
                self._repo.close()
                self._repo = None

    def __repr__(self) -> str:
        subdir = f", subdir={self.subdir!r}" if self.subdir else ""
        return f"{type(self).__name__}({self.repo_path!r}, branch={self.branch!r}{subdir})"

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key not in ("_repo", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._repo = None
        self._lock = _lock_for(self.repo_path)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Hold the repository lock; turn dulwich's errors into :class:`BackendError`."""
        from dulwich.errors import ChecksumMismatch, HangupException, ObjectFormatException

        with self._lock:
            try:
                yield
            except (ChecksumMismatch, ObjectFormatException, HangupException, AssertionError) as exc:
                raise BackendError(f"git repository {self.repo_path!r} failed: {type(exc).__name__}: {exc}") from exc

    # -- keys -----------------------------------------------------------------------------------

    def _check_valid_key(self, key: Any) -> None:
        super()._check_valid_key(key)
        if _is_reserved(key):
            raise InvalidKeyError(f"invalid key {key!r}: git does not allow this name in a tree")

    def _path(self, key: str) -> list[bytes]:
        return [*self._subdir_parts, *key.encode("ascii").split(b"/")]

    # -- reading --------------------------------------------------------------------------------

    def _head(self) -> tuple[bytes | None, bytes | None]:
        """Return the branch's commit id and root tree id (None, None before the first commit)."""
        repo = self.repo
        try:
            commit_id: bytes = repo.refs[self._ref]
        except KeyError:
            return None, None
        tree_id: bytes = repo[commit_id].tree
        return commit_id, tree_id

    def _entry(self, tree_id: bytes | None, parts: list[bytes]) -> tuple[int, bytes] | None:
        """Return ``(mode, sha)`` of the path *parts* below the tree *tree_id*, or None."""
        repo = self.repo
        for position, name in enumerate(parts):
            if tree_id is None:
                return None
            tree: Tree = repo[tree_id]
            try:
                mode, sha = tree[name]
            except KeyError:
                return None
            if position == len(parts) - 1:
                return mode, sha
            if not stat.S_ISDIR(mode):
                return None
            tree_id = sha
        return None

    def _blob_id(self, key: str) -> bytes:
        """Return the blob id of *key*; raise KeyError unless it is a file in the branch."""
        _, tree_id = self._head()
        entry = self._entry(tree_id, self._path(key))
        if entry is None or not stat.S_ISREG(entry[0]):
            raise KeyError(key)
        return entry[1]

    def _get(self, key: str) -> bytes:
        with self._errors():
            data: bytes = self.repo[self._blob_id(key)].as_raw_string()
            return data

    def _open(self, key: str) -> BinaryIO:
        return BytesValueFile(self._get(key))

    def _has_key(self, key: str) -> bool:
        with self._errors():
            try:
                self._blob_id(key)
            except KeyError:
                return False
            return True

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._errors():
            _, tree_id = self._head()  # one snapshot for all keys
            for key in keys:
                entry = self._entry(tree_id, self._path(key))
                if entry is not None and stat.S_ISREG(entry[0]):
                    found[key] = self.repo[entry[1]].as_raw_string()
        return found

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, as of the branch's current commit.

        Raises
        ------
        OSError
            If the repository fails.
        """
        with self._errors():
            _, tree_id = self._head()
            entry = self._entry(tree_id, self._subdir_parts) if self._subdir_parts else None
            if self._subdir_parts:
                tree_id = entry[1] if entry is not None and stat.S_ISDIR(entry[0]) else None
            keys = list(self._walk(tree_id, "", prefix)) if tree_id is not None else []
        return iter(keys)

    def _walk(self, tree_id: bytes, base: str, prefix: str) -> Iterator[str]:
        nested = self._nested_keys()
        tree: Tree = self.repo[tree_id]
        for item in tree.iteritems():
            try:
                name = item.path.decode("ascii")
            except UnicodeDecodeError:
                continue
            key = base + name
            if stat.S_ISDIR(item.mode):
                directory = key + "/"
                if nested and (directory.startswith(prefix) or prefix.startswith(directory)):
                    yield from self._walk(item.sha, directory, prefix)
            elif stat.S_ISREG(item.mode) and key.startswith(prefix) and self._is_valid(key):
                yield key

    def _nested_keys(self) -> bool:
        try:
            self._check_valid_key("a/b")
        except InvalidKeyError:
            return False
        return True

    def _is_valid(self, key: str) -> bool:
        try:
            self._check_valid_key(key)
        except InvalidKeyError:
            return False
        return True

    # -- writing --------------------------------------------------------------------------------

    def _add(self, obj: ShaFile) -> None:
        """Write *obj*, waiting if another process is writing the same object right now."""
        from dulwich.file import FileLocked

        for _ in range(_ATTEMPTS):
            try:
                self.repo.object_store.add_object(obj)
                return
            except FileLocked:
                time.sleep(0.005)
        raise BackendError(f"git object {obj.id!r} stayed locked in {self.repo_path!r}")

    def _commit(self, changes: Mapping[str, bytes | None], message: bytes, *, always: bool = True) -> None:
        """Apply *changes* (key -> blob id, or None to delete) in one commit on the branch.

        Parameters
        ----------
        changes
            The keys to set or delete.
        message
            The commit message.
        always
            Commit even if the tree does not change (a put of the same value); otherwise
            an unchanged tree (a delete of a missing key) makes no commit.
        """
        from dulwich.file import FileLocked
        from dulwich.objects import Commit

        paths = {tuple(self._path(key)): blob for key, blob in changes.items()}
        for _ in range(_ATTEMPTS):
            old_commit, old_tree = self._head()
            new_tree = self._apply(old_tree, paths, top=True)
            if new_tree == old_tree and not always:
                return
            commit: Any = Commit()
            commit.tree = new_tree
            commit.parents = [old_commit] if old_commit is not None else []
            commit.author = commit.committer = self.author
            commit.commit_time = commit.author_time = int(time.time())
            commit.commit_timezone = commit.author_timezone = 0
            commit.encoding = b"UTF-8"
            commit.message = message
            self._add(commit)
            try:
                if old_commit is None:
                    moved = self.repo.refs.add_if_new(self._ref, commit.id)
                else:
                    moved = self.repo.refs.set_if_equals(self._ref, old_commit, commit.id)
            except FileLocked:
                moved = False
            if moved:
                return
            time.sleep(0.002)  # another process moved the branch: rebuild on its commit
        raise BackendError(f"could not update branch {self.branch!r} of {self.repo_path!r}: it kept moving")

    def _apply(
        self, tree_id: bytes | None, changes: Mapping[tuple[bytes, ...], bytes | None], top: bool
    ) -> bytes | None:
        """Return the id of *tree_id* with *changes* applied (None if it ends up empty, unless *top*)."""
        from dulwich.objects import Tree as DulwichTree

        tree: Tree = DulwichTree()
        if tree_id is not None:
            old: Tree = self.repo[tree_id]
            for item in old.iteritems():
                tree.add(item.path, item.mode, item.sha)
        nested: dict[bytes, dict[tuple[bytes, ...], bytes | None]] = {}
        for path, blob in changes.items():
            name = path[0]
            current = tree[name] if name in tree else None
            if len(path) == 1:
                if blob is None:
                    if current is not None and not stat.S_ISDIR(current[0]):
                        del tree[name]
                elif current is not None and stat.S_ISDIR(current[0]):
                    raise IsADirectoryError(errno.EISDIR, "a key cannot replace a directory of keys", name.decode())
                else:
                    tree.add(name, _BLOB_MODE, blob)
            else:
                nested.setdefault(name, {})[path[1:]] = blob
        for name, inner in nested.items():
            current = tree[name] if name in tree else None
            if current is not None and not stat.S_ISDIR(current[0]):
                if all(blob is None for blob in inner.values()):
                    continue  # deleting below a file: nothing is there
                raise NotADirectoryError(errno.ENOTDIR, "a key cannot be below another key", name.decode())
            child = self._apply(current[1] if current is not None else None, inner, top=False)
            if child is None:
                if current is not None:
                    del tree[name]
            else:
                tree.add(name, _TREE_MODE, child)
        if not top and not len(tree):
            return None  # empty trees are pruned
        if tree_id is not None and tree.id == tree_id:
            return tree_id
        self._add(tree)
        new_id: bytes = tree.id
        return new_id

    def _store_blob(self, data: bytes) -> bytes:
        from dulwich.objects import Blob

        blob = Blob.from_string(data)
        self._add(blob)
        return blob.id

    def _label(self, key: str) -> str:
        return f"{self.subdir.decode()}/{key}" if self.subdir else key

    def _put(self, key: str, data: bytes) -> None:
        with self._errors():
            self._commit({key: self._store_blob(data)}, f"Updated key {self._label(key)}\n".encode())

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        # A git blob is hashed and compressed whole: the file is read into memory first.
        data = file.read()
        self._put(key, data if isinstance(data, bytes) else bytes(data))

    def _delete(self, key: str) -> None:
        with self._errors():
            self._commit({key: None}, f"Deleted key {self._label(key)}\n".encode(), always=False)

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        with self._errors():
            changes = {key: self._store_blob(data) for key, data in items.items()}
            self._commit(changes, f"Updated {len(changes)} keys\n".encode())

    def _delete_many(self, keys: list[str]) -> None:
        with self._errors():
            self._commit(dict.fromkeys(keys), f"Deleted {len(keys)} keys\n".encode(), always=False)

    def _copy(self, source: str, dest: str) -> None:
        """Copy in one commit that points *dest* at the source's blob (no data is copied)."""
        with self._errors():
            blob = self._blob_id(source)
            self._commit({dest: blob}, f"Copied key {self._label(source)} to {self._label(dest)}\n".encode())

    def _move(self, source: str, dest: str) -> None:
        """Move in one commit."""
        with self._errors():
            blob = self._blob_id(source)
            if source == dest:
                return
            self._commit(
                {source: None, dest: blob}, f"Moved key {self._label(source)} to {self._label(dest)}\n".encode()
            )

    # -- URLs -------------------------------------------------------------------------------------------

    _url_options = ("branch", "subdir")

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        """Return the parameters of ``git:///path/to/repo?branch=main&subdir=data``.

        ``git://relative/path`` names a path relative to the working directory.
        """
        params: dict[str, Any] = {"repo_path": url.host + url.path}
        for option in cls._url_options:
            if option in url.query:
                params[option] = url.query[option]
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> GitCommitStore:
        from dulwich.repo import Repo

        path = os.fspath(params.get("repo_path", ""))
        if not path:
            raise ValueError("a git store URL names the repository: git:///path/to/repo")
        branch = _as_bytes(params.get("branch", b"master"), "branch")
        subdir = params.get("subdir", b"")
        if not _is_repository(path):
            if not create_if_missing:
                raise FileNotFoundError(errno.ENOENT, "no git repository (create_if_missing is false)", path)
            if os.path.isdir(path) and os.listdir(path):
                raise FileExistsError(errno.EEXIST, "directory exists, is not empty and not a git repository", path)
            os.makedirs(path, exist_ok=True)
            Repo.init_bare(path, default_branch=branch).close()
        return cls(path, branch=branch, subdir=subdir)


class HGitCommitStore(ExtendedKeyspaceMixin, GitCommitStore):
    """A :class:`GitCommitStore` whose keys may hold ``/`` (nested trees) and spaces.

    A key may have at most 256 ``/``-separated parts.
    """

    def _check_valid_key(self, key: Any) -> None:
        check_extended_key(key)
        segments = key.split("/")
        if len(segments) > _MAX_DEPTH:
            raise InvalidKeyError(f"invalid key {key[:40]!r}...: more than {_MAX_DEPTH} '/'-separated parts")
        if any(_is_reserved(segment) for segment in segments):
            raise InvalidKeyError(f"invalid key {key!r}: git does not allow this name in a tree")


def _is_repository(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "HEAD")) or os.path.isdir(os.path.join(path, ".git"))
