"""FilesystemStore, HFilesystemStore and WebFilesystemStore run the conformance suite."""

from __future__ import annotations

import io
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec import get_store_from_url
from minimalkv_fsspec.backends.adapters.filesystem import TEMP_MARKER
from minimalkv_fsspec.fs import FilesystemStore, HFilesystemStore, WebFilesystemStore
from minimalkv_fsspec.testing import StoreTests


class TestFilesystemStore(StoreTests):
    file_and_directory_keys = False
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemStore:
        return FilesystemStore(str(tmp_path / "root"))

    def side_get(self, store: Any, key: str) -> bytes | None:
        path = Path(store.root, *key.split("/"))
        return path.read_bytes() if path.is_file() else None

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        path = Path(store.root, *key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)


class TestHFilesystemStore(TestFilesystemStore):
    @pytest.fixture
    def store(self, tmp_path: Path) -> HFilesystemStore:
        return HFilesystemStore(str(tmp_path / "root"))


class TestWebFilesystemStore(TestFilesystemStore):
    @pytest.fixture
    def store(self, tmp_path: Path) -> WebFilesystemStore:
        return WebFilesystemStore(str(tmp_path / "root"), "https://files.example/")


def test_put_file_with_filename_moves_the_file(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path / "root"))
    source = tmp_path / "incoming"
    source.write_bytes(b"moved in")
    store.put_file("key", str(source))
    assert not source.exists()
    assert (tmp_path / "root" / "key").read_bytes() == b"moved in"


def test_perm_sets_file_mode(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path), perm=0o640)
    store.put("key", b"x")
    source = tmp_path / "elsewhere"
    source.write_bytes(b"y")
    store.put_file("moved", str(source))
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "moved").stat().st_mode & 0o777 == 0o640


def test_url_for(tmp_path: Path) -> None:
    assert HFilesystemStore(str(tmp_path)).url_for("a b%") == "file://" + "/".join(
        [*str(tmp_path).split("/"), "a%20b%25"]
    )
    web = WebFilesystemStore(str(tmp_path), "https://cdn.example/x/")
    assert web.url_for("a?b") == "https://cdn.example/x/a%3Fb"
    dynamic = WebFilesystemStore(str(tmp_path), lambda store, key: f"https://{key[0]}.example/")
    assert dynamic.url_for("key") == "https://k.example/key"


def test_delete_prunes_empty_directories(tmp_path: Path) -> None:
    store = HFilesystemStore(str(tmp_path))
    store.put("a/b/c", b"x")
    store.put("a/d", b"y")
    store.delete("a/b/c")
    assert not (tmp_path / "a" / "b").exists()
    assert (tmp_path / "a").is_dir()
    store.delete("a/d")
    assert not (tmp_path / "a").exists()
    assert tmp_path.is_dir()


class _DirectoryPrunedMeanwhile(HFilesystemStore):
    """Removes each directory it made for a write once, as a concurrent delete of its last key would."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.pruned: list[str] = []

    def _make_parents(self, key: str, path: str) -> list[str]:
        created = super()._make_parents(key, path)
        directory = os.path.dirname(path)
        if directory not in self.pruned:
            self.pruned.append(directory)
            os.rmdir(directory)
        return created


@pytest.mark.parametrize("operation", ["put", "put_file", "put_filename", "copy", "move"])
def test_a_write_makes_its_directory_again_after_a_concurrent_delete_pruned_it(
    tmp_path: Path, operation: str
) -> None:
    (tmp_path / "store").mkdir()
    store = _DirectoryPrunedMeanwhile(str(tmp_path / "store"))
    store.put("source", b"value")
    source_file = tmp_path / "outside"
    source_file.write_bytes(b"value")
    {
        "put": lambda: store.put("dir/key", b"value"),
        "put_file": lambda: store.put_file("dir/key", io.BytesIO(b"value")),
        "put_filename": lambda: store.put_file("dir/key", str(source_file)),
        "copy": lambda: store.copy("source", "dir/key"),
        "move": lambda: store.move("source", "dir/key"),
    }[operation]()
    assert store.pruned == [str(tmp_path / "store" / "dir")]
    assert store.get("dir/key") == b"value"
    assert [key for key in store.keys() if key != "source"] == ["dir/key"]


@pytest.mark.parametrize("url", ["hfs://{root}", "hfsspec+file://{root}"])
def test_writes_and_deletes_racing_in_one_directory_never_fail(tmp_path: Path, url: str) -> None:
    store = get_store_from_url(url.format(root=tmp_path))
    failures: list[str] = []

    def churn(name: str) -> None:
        for _ in range(1500):
            try:
                store.put(f"shared/{name}", b"value")
                store.put_file(f"shared/{name}", io.BytesIO(b"value"))
                store.delete(f"shared/{name}")
            except Exception as exc:  # any failure is the finding
                failures.append(f"{name}: {exc!r}")
                return

    workers = [threading.Thread(target=churn, args=(f"key{number}",)) for number in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert store.keys() == []


def test_size(tmp_path: Path) -> None:
    store = HFilesystemStore(str(tmp_path))
    store.put("dir/key", b"12345")
    assert store.size("dir/key") == 5
    with pytest.raises(KeyError):
        store.size("dir/missing")
    with pytest.raises(KeyError):
        store.size("dir")


def test_temporary_files_are_never_keys(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    (tmp_path / ".~mkv;123-4-5").write_bytes(b"partial")
    store.put("real", b"x")
    assert store.keys() == ["real"]


def test_failed_write_leaves_old_value_and_no_temp_file(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    store.put("key", b"old")

    class Exploding:
        def read(self, size: int = -1) -> bytes:
            raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.put_file("key", Exploding())  # type: ignore[arg-type]
    assert store.get("key") == b"old"
    assert os.listdir(tmp_path) == ["key"]


def test_readers_never_see_partial_values(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    values = [bytes([n]) * 512 * 1024 for n in range(1, 5)]
    store.put("key", values[0])
    stop = threading.Event()
    seen: set[bytes] = set()
    failures: list[bytes] = []

    def read() -> None:
        while not stop.is_set():
            value = store.get("key")
            if value not in values:
                failures.append(value[:8])
            seen.add(value[:1])

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for round_number in range(40):
        store.put("key", values[round_number % len(values)])
    stop.set()
    for reader in readers:
        reader.join()
    assert failures == []


def test_missing_root_with_create_if_missing_false(tmp_path: Path) -> None:
    from minimalkv_fsspec import get_store_from_url

    with pytest.raises(FileNotFoundError, match="create_if_missing"):
        get_store_from_url(f"fs://{tmp_path}/absent?create_if_missing=false")
    store = get_store_from_url(f"hfs://{tmp_path}/made")
    assert isinstance(store, HFilesystemStore)
    assert (tmp_path / "made").is_dir()


# -- durability (fsync) -----------------------------------------------------------------------------


class _FsyncLog:
    """Records what each ``os.fsync`` call flushed: ("file" or "dir", path)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
            self.calls.append((kind, os.readlink(f"/proc/self/fd/{fd}")))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    def take(self) -> list[tuple[str, str]]:
        calls, self.calls = self.calls, []
        return calls


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads descriptor paths from /proc")


@needs_proc
def test_fsync_flushes_file_then_directories_per_operation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    store = HFilesystemStore(str(root), fsync=True)
    log = _FsyncLog(monkeypatch)
    counts: dict[str, int] = {}

    def observe(operation: str) -> list[tuple[str, str]]:
        calls = log.take()
        counts[operation] = len(calls)
        return calls

    store.put("a/b/key", b"value")  # creates root, a and a/b
    (kind, temp), *directories = observe("put creating 3 directories")
    assert kind == "file"
    assert TEMP_MARKER in temp
    assert os.path.dirname(temp) == str(root / "a" / "b")
    assert directories == [("dir", str(root / "a" / "b")), ("dir", str(root / "a")), ("dir", str(root)),
                           ("dir", str(tmp_path))]

    store.put("key", b"value")
    (kind, temp), directory = observe("put")
    assert kind == "file"
    assert TEMP_MARKER in temp
    assert directory == ("dir", str(root))

    store.put_file("streamed", io.BytesIO(b"x" * 3_000_000))
    assert [kind for kind, _ in observe("put_file(file object)")] == ["file", "dir"]

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "upload").write_bytes(b"moved in")
    store.put_file("moved", str(incoming / "upload"))
    assert sorted(observe("put_file(filename)")) == [
        ("dir", str(incoming)), ("dir", str(root)), ("file", str(incoming / "upload"))]

    store.copy("key", "a/copy")
    (kind, temp), directory = observe("copy")
    assert kind == "file"
    assert TEMP_MARKER in temp
    assert directory == ("dir", str(root / "a"))

    store.move("a/b/key", "c/key")  # creates c; prunes a/b, a stays (holds "copy")
    assert sorted(observe("move")) == [("dir", str(root)), ("dir", str(root / "a")), ("dir", str(root / "c"))]

    store.delete("c/key")  # prunes c
    assert observe("delete") == [("dir", str(root))]

    store.put_many({"m1": b"1", "m2": b"2"})
    assert [kind for kind, _ in observe("put_many of 2")] == ["file", "dir", "file", "dir"]

    assert sorted(store.keys()) == ["a/copy", "key", "m1", "m2", "moved", "streamed"]
    assert store.get("a/copy") == b"value"
    assert store.get("moved") == b"moved in"
    assert store.get("streamed") == b"x" * 3_000_000
    print("fsync calls per operation:", ", ".join(f"{op} {n}" for op, n in counts.items()))


@needs_proc
def test_fsync_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = HFilesystemStore(str(tmp_path / "root"))
    assert store.fsync is False
    log = _FsyncLog(monkeypatch)
    store.put("a/key", b"value")
    store.put_file("b", io.BytesIO(b"x"))
    store.copy("b", "c")
    store.move("c", "d/e")
    store.delete("d/e")
    assert log.take() == []


def test_fsync_option_in_urls(tmp_path: Path) -> None:
    from minimalkv_fsspec import get_store, get_store_from_url
    from minimalkv_fsspec.urls import url2dict

    for text, expected in (("true", True), ("1", True), ("false", False), ("0", False)):
        store = get_store_from_url(f"hfs://{tmp_path}/root?fsync={text}")
        assert isinstance(store, HFilesystemStore)
        assert store.fsync is expected
    assert get_store_from_url(f"fs://{tmp_path}/root").fsync is False  # type: ignore[attr-defined]
    assert url2dict(f"file://{tmp_path}/root?fsync=true", raise_on_extra_params=True)["fsync"] is True
    assert get_store(type="fs", path=str(tmp_path), fsync="1").fsync is True  # type: ignore[attr-defined]
    for bad in ("maybe", "2", "truee"):
        with pytest.raises(ValueError, match="'fsync' must be true or false"):
            get_store_from_url(f"fs://{tmp_path}/root?fsync={bad}")
    with pytest.raises(TypeError, match="fsync must be True or False"):
        FilesystemStore(str(tmp_path), fsync="false")  # type: ignore[arg-type]
    store = get_store_from_url(f"hfs://{tmp_path}/root?fsync=true")
    store.put("dir/key", b"durable")
    assert FilesystemStore(str(tmp_path / "root" / "dir")).get("key") == b"durable"
    assert repr(store) == f"HFilesystemStore({str(tmp_path / 'root')!r}, fsync=True)"


# -- temporaries left by killed writes --------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_temporaries_in_subdirectories_are_never_keys(tmp_path: Path) -> None:
    store = HFilesystemStore(str(tmp_path))
    store.put("dir/key", b"x")
    (tmp_path / "dir" / f"key{TEMP_MARKER}1-2-3").write_bytes(b"partial")
    (tmp_path / "dir" / f"{TEMP_MARKER}4-5-6").write_bytes(b"partial")
    assert store.keys() == ["dir/key"]
    assert store.keys("dir/") == ["dir/key"]
    assert f"dir/key{TEMP_MARKER}1-2-3" not in list(store)


def test_remove_stale_temporaries_keeps_young_ones_and_other_files(tmp_path: Path) -> None:
    store = HFilesystemStore(str(tmp_path))
    store.put("key", b"x")
    old_flat = tmp_path / f"key{TEMP_MARKER}1-2-3"
    old_nested = tmp_path / "a" / "b" / f"{TEMP_MARKER}4-5-6"
    young = tmp_path / f"other{TEMP_MARKER}7-8-9"
    foreign = tmp_path / "notes;v2"  # contains ";" but is not one of the store's temporaries
    old_nested.parent.mkdir(parents=True)
    for path in (old_flat, old_nested, young, foreign):
        path.write_bytes(b"partial")
    for path in (old_flat, old_nested, foreign):
        _age(path, 2 * 3600)
    _age(young, 3000)

    assert store.remove_stale_temporaries() == 2  # default: older than one hour
    assert not old_flat.exists()
    assert not old_nested.exists()
    assert not (tmp_path / "a").exists()  # emptied directories go too, as on delete
    assert young.exists()
    assert foreign.exists()
    assert store.remove_stale_temporaries(max_age=60) == 1
    assert sorted(os.listdir(tmp_path)) == ["key", "notes;v2"]
    assert store.remove_stale_temporaries(max_age=0) == 0
    with pytest.raises(ValueError, match="max_age"):
        store.remove_stale_temporaries(max_age=-1)
    assert FilesystemStore(str(tmp_path / "absent")).remove_stale_temporaries() == 0


class _StallingSource(io.RawIOBase):
    """A source that delivers one chunk, then waits for *go* before the rest."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        self.parts = [first, rest]
        self.started = threading.Event()
        self.go = threading.Event()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if len(self.parts) == 1:
            self.started.set()
            assert self.go.wait(10)
        return self.parts.pop(0) if self.parts else b""


def _start_put(store: FilesystemStore, key: str, source: _StallingSource) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def put() -> None:
        try:
            outcome.append(store.put_file(key, source))  # type: ignore[arg-type]
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=put)
    thread.start()
    assert source.started.wait(10)
    return thread, outcome


def test_cleanup_spares_a_write_in_progress(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    store.put("key", b"old")
    source = _StallingSource(b"n" * 1000, b"ew")
    thread, outcome = _start_put(store, "key", source)
    in_progress = [name for name in os.listdir(tmp_path) if TEMP_MARKER in name]
    assert len(in_progress) == 1
    assert store.remove_stale_temporaries(max_age=5) == 0
    source.go.set()
    thread.join()
    assert outcome == ["key"]
    assert store.get("key") == b"n" * 1000 + b"ew"
    assert os.listdir(tmp_path) == ["key"]


def test_cleanup_of_a_stalled_write_fails_that_write(tmp_path: Path) -> None:
    store = FilesystemStore(str(tmp_path))
    store.put("key", b"old")
    source = _StallingSource(b"n" * 1000, b"ew")
    thread, outcome = _start_put(store, "key", source)
    (temp,) = (tmp_path / name for name in os.listdir(tmp_path) if TEMP_MARKER in name)
    _age(temp, 2 * 3600)
    assert store.remove_stale_temporaries() == 1
    source.go.set()
    thread.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], FileNotFoundError)
    assert store.get("key") == b"old"
    assert os.listdir(tmp_path) == ["key"]
