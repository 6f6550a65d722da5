"""GitCommitStore and HGitCommitStore run the conformance suite on bare and non-bare repositories.

Repositories are created with the ``git`` command, the side door writes with ``git``
plumbing and reads with dulwich, and after every test ``git fsck --strict`` must be clean.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec import get_store_from_url, url2dict
from minimalkv_fsspec.testing import StoreTests
from tests.fixtures.native_servers import require_module
from tests.fixtures.policy import unavailable

require_module("dulwich", "pip install dulwich")

from minimalkv_fsspec.git import GitCommitStore, HGitCommitStore  # noqa: E402


def git(repo: str | Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run ``git -C repo args`` and return its standard output."""
    full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), **(env or {})}
    result = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=full_env, check=False
    )
    if result.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout


@pytest.fixture(scope="session")
def git_binary() -> str:
    path = shutil.which("git")
    if path is None:
        unavailable("git", "apt-get install git")
    return path


def assert_fsck_clean(repo: str | Path) -> None:
    result = subprocess.run(
        ["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


def make_repo(path: Path, *, bare: bool, branch: str) -> Path:
    path.mkdir()
    git(path, "init", "-q", *(["--bare"] if bare else []), "-b", branch)
    return path


class GitSideDoor(StoreTests):
    """Reads with dulwich and writes with git plumbing, bypassing the store."""

    stateful_steps = 5  # every write is a commit

    def side_get(self, store: Any, key: str) -> bytes | None:
        from dulwich.repo import Repo

        with Repo(store.repo_path) as repo:
            try:
                tree_id = repo[repo.refs[b"refs/heads/" + store.branch]].tree
            except KeyError:
                return None
            for name in [*store._subdir_parts, *key.encode().split(b"/")]:
                tree = repo[tree_id]
                if not hasattr(tree, "iteritems") or name not in tree:
                    return None
                tree_id = tree[name][1]
            obj = repo[tree_id]
            return obj.as_raw_string() if obj.type_name == b"blob" else None

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        repo = store.repo_path
        ref = "refs/heads/" + store.branch.decode()
        path = "/".join(part.decode() for part in [*store._subdir_parts, key.encode()])
        index = {"GIT_INDEX_FILE": os.path.join(repo, "side-door-index")}
        blob = git(repo, "hash-object", "-w", "--stdin", stdin=value).decode().strip()
        try:
            head = git(repo, "rev-parse", "--verify", "-q", ref).decode().strip()
        except AssertionError:
            head = ""
        if head:
            git(repo, "read-tree", head, env=index)
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
        tree = git(repo, "write-tree", env=index).decode().strip()
        ident = {
            "GIT_AUTHOR_NAME": "side",
            "GIT_AUTHOR_EMAIL": "side@example.invalid",
            "GIT_COMMITTER_NAME": "side",
            "GIT_COMMITTER_EMAIL": "side@example.invalid",
        }
        commit = (
            git(repo, "commit-tree", tree, *(["-p", head] if head else []), "-m", "side door", env=ident)
            .decode()
            .strip()
        )
        git(repo, "update-ref", ref, commit)
        os.unlink(index["GIT_INDEX_FILE"])


class TestGitCommitStoreBare(GitSideDoor):
    @pytest.fixture
    def store(self, tmp_path: Path, git_binary: str) -> Iterator[GitCommitStore]:
        repo = make_repo(tmp_path / "bare.git", bare=True, branch="master")
        with GitCommitStore(str(repo)) as store:
            yield store
        assert_fsck_clean(repo)


class TestGitCommitStoreWorktree(GitSideDoor):
    @pytest.fixture
    def store(self, tmp_path: Path, git_binary: str) -> Iterator[GitCommitStore]:
        repo = make_repo(tmp_path / "work", bare=False, branch="main")
        with GitCommitStore(str(repo), branch="main") as store:
            yield store
        assert_fsck_clean(repo)


class TestHGitCommitStore(GitSideDoor):
    file_and_directory_keys = False  # a git tree cannot hold a file and a directory of one name

    @pytest.fixture
    def store(self, tmp_path: Path, git_binary: str) -> Iterator[HGitCommitStore]:
        repo = make_repo(tmp_path / "h.git", bare=True, branch="master")
        with HGitCommitStore(str(repo), branch=b"master", subdir=b"/data/kv/") as store:
            yield store
        assert_fsck_clean(repo)


# -- git specifics ---------------------------------------------------------------------------


@pytest.fixture
def bare(tmp_path: Path, git_binary: str) -> Iterator[Path]:
    repo = make_repo(tmp_path / "repo.git", bare=True, branch="master")
    yield repo
    assert_fsck_clean(repo)


def _commits(repo: Path, branch: str = "master") -> list[str]:
    return git(repo, "log", "--format=%s", branch).decode().splitlines()


def test_every_change_is_one_commit_visible_to_git(bare: Path) -> None:
    store = HGitCommitStore(str(bare), subdir="data")
    store.put("a", b"first")
    store.put("dir/sub/b", b"nested")
    store.put_many({"x": b"1", "y": b"2"})
    store.copy("a", "dir/c")
    store.move("x", "moved")
    store.delete("y")
    store.delete("never-there")  # changes nothing: no commit
    store.delete_many(["dir/sub/b", "also-missing"])
    assert _commits(bare) == [
        "Deleted 2 keys",
        "Deleted key data/y",
        "Moved key data/x to data/moved",
        "Copied key data/a to data/dir/c",
        "Updated 2 keys",
        "Updated key data/dir/sub/b",
        "Updated key data/a",
    ]
    assert git(bare, "show", "master:data/a") == b"first"
    assert git(bare, "show", "master:data/dir/c") == b"first"
    assert git(bare, "show", "master:data/moved") == b"1"
    # the empty tree data/dir/sub was pruned
    assert git(bare, "ls-tree", "-r", "--name-only", "master").decode().split() == [
        "data/a",
        "data/dir/c",
        "data/moved",
    ]
    assert git(bare, "ls-tree", "-d", "master:data/dir").decode() == ""
    store.delete_many(["a", "dir/c", "moved"])
    assert git(bare, "ls-tree", "master").decode() == ""  # data/ itself is gone too


def test_put_of_same_value_still_commits(bare: Path) -> None:
    store = GitCommitStore(str(bare))
    store.put("key", b"v")
    store.put("key", b"v")
    assert len(_commits(bare)) == 2


def test_worktree_and_index_are_untouched(tmp_path: Path, git_binary: str) -> None:
    repo = make_repo(tmp_path / "work", bare=False, branch="main")
    (repo / "checked-out.txt").write_text("mine")
    store = GitCommitStore(str(repo), branch=b"main")
    store.put("key", b"value")
    assert sorted(os.listdir(repo)) == [".git", "checked-out.txt"]
    assert git(repo, "show", "main:key") == b"value"
    assert git(repo, "log", "--format=%an", "main").decode().startswith("GitCommitStore")
    assert_fsck_clean(repo)


def test_other_branches_are_independent(bare: Path) -> None:
    one = GitCommitStore(str(bare), branch=b"one")
    two = GitCommitStore(str(bare), branch="two")
    one.put("key", b"1")
    assert "key" not in two
    two.put("key", b"2")
    assert one.get("key") == b"1"
    assert git(bare, "show", "two:key") == b"2"


def test_keys_written_by_git_are_listed(bare: Path) -> None:
    GitSideDoor().side_put(HGitCommitStore(str(bare)), "dir/from-git", b"g")
    store = HGitCommitStore(str(bare))
    assert store.keys() == ["dir/from-git"]
    assert store.get("dir/from-git") == b"g"
    assert GitCommitStore(str(bare)).keys() == []  # "dir/from-git" is no standard key


def test_file_and_directory_of_one_name_conflict(bare: Path) -> None:
    store = HGitCommitStore(str(bare))
    store.put("a", b"file")
    with pytest.raises(NotADirectoryError):
        store.put("a/b", b"below a file")
    store.put("d/e", b"in a directory")
    with pytest.raises(IsADirectoryError):
        store.put("d", b"over a directory")
    store.delete("a/b")  # nothing there: not an error
    assert sorted(store.keys()) == ["a", "d/e"]


def test_reserved_git_names_are_refused(bare: Path) -> None:
    store = HGitCommitStore(str(bare))
    for key in (".git", ".GIT", "dir/.git", ".git.", "git~1", ".gitmodules", "x/.Gitmodules"):
        with pytest.raises(ValueError, match="git does not allow"):
            store.put(key, b"x")
    store.put(".gitignore", b"allowed")
    store.put(".github", b"allowed")
    assert sorted(store.keys()) == [".github", ".gitignore"]


def test_invalid_arguments(tmp_path: Path, bare: Path) -> None:
    with pytest.raises(ValueError, match="branch"):
        GitCommitStore(str(bare), branch=b"bad..name")
    with pytest.raises(ValueError, match="subdir"):
        GitCommitStore(str(bare), subdir=b"a/../b")
    with pytest.raises(OSError, match="not a git repository"):
        GitCommitStore(str(tmp_path))


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_binary: str) -> None:
    assert url2dict("git:///srv/repo.git?branch=main&subdir=data") == {
        "type": "git",
        "repo_path": "/srv/repo.git",
        "branch": "main",
        "subdir": "data",
    }
    assert url2dict("hgit://relative/repo")["repo_path"] == "relative/repo"
    store = get_store_from_url(f"git://{tmp_path}/new.git?branch=main&subdir=data")
    assert type(store) is GitCommitStore
    store.put("key", b"v")
    assert git(tmp_path / "new.git", "show", "main:data/key") == b"v"
    assert git(tmp_path / "new.git", "symbolic-ref", "HEAD").strip() == b"refs/heads/main"
    assert git(tmp_path / "new.git", "rev-parse", "--is-bare-repository").strip() == b"true"
    hstore = get_store_from_url(f"hgit://{tmp_path}/new.git?branch=main&subdir=data&create_if_missing=false")
    assert type(hstore) is HGitCommitStore
    assert hstore.keys() == ["key"]
    with pytest.raises(FileNotFoundError, match="create_if_missing"):
        get_store_from_url(f"git://{tmp_path}/absent.git?create_if_missing=false")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        get_store_from_url(f"git://{tmp_path}/full")
    monkeypatch.chdir(tmp_path)
    relative = get_store_from_url("hgit://rel/repo")
    relative.put("a/b", b"c")
    assert git(tmp_path / "rel" / "repo", "show", "master:a/b") == b"c"
    assert_fsck_clean(tmp_path / "new.git")
    assert_fsck_clean(tmp_path / "rel" / "repo")


# -- concurrency -------------------------------------------------------------------------------------

VALUES = [bytes([n]) * (32 * 1024) for n in range(1, 9)]


def _hammer(store: Any, rounds: int, seed: int) -> list[str]:
    problems: list[str] = []
    for number in range(rounds):
        key = f"shared{number % 2}"
        try:
            store.put(key, VALUES[(seed + number) % len(VALUES)])
            value = store.get(key)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            problems.append(f"{type(exc).__name__}: {exc}")
            continue
        if value not in VALUES:
            problems.append(f"{key}: torn value of {len(value)} bytes")
    return problems


def test_threads_commit_without_losing_any(bare: Path) -> None:
    store = GitCommitStore(str(bare))
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda seed=seed: results.append(_hammer(store, 10, seed))) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[]] * 8
    assert len(_commits(bare)) == 80


def test_processes_commit_without_losing_any(bare: Path) -> None:
    store = GitCommitStore(str(bare))
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_hammer, [(store, 10, seed) for seed in range(4)])
    assert results == [[]] * 4
    assert len(_commits(bare)) == 40
    assert sorted(store.keys()) == ["shared0", "shared1"]
