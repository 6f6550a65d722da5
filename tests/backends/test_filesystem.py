"""FilesystemStore, HFilesystemStore and WebFilesystemStore run the conformance suite."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

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
