"""FSSpecStore over fsspec's memory filesystem runs the conformance suite."""

from __future__ import annotations

import uuid
from typing import Any

import fsspec
import pytest

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec.fsspecstore import FSSpecStore
from minimalkv_fsspec.testing import StoreTests


class HFSSpecStore(ExtendedKeyspaceMixin, FSSpecStore):
    """FSSpecStore with the extended keyspace, as the H stores use it."""


class TestFSSpecMemoryStore(StoreTests):
    file_and_directory_keys = False
    shared_between_processes = False  # fsspec's memory filesystem lives in one process
    store_class: type[FSSpecStore] = FSSpecStore

    @pytest.fixture
    def store(self) -> FSSpecStore:
        # The memory filesystem is global to the process: a unique root isolates each test.
        fs = fsspec.filesystem("memory", skip_instance_cache=True)
        root = f"/kv-{uuid.uuid4().hex}"
        yield self.store_class(fs, root)
        fs.rm(root, recursive=True) if fs.exists(root) else None

    def side_get(self, store: Any, key: str) -> bytes | None:
        path = f"{store.root}/{key}"
        return bytes(store.fs.cat_file(path)) if store.fs.isfile(path) else None

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        store.fs.pipe_file(f"{store.root}/{key}", value)


class TestHFSSpecMemoryStore(TestFSSpecMemoryStore):
    store_class = HFSSpecStore


def test_prefix_filtering_does_not_leak_sibling_roots() -> None:
    fs = fsspec.filesystem("memory", skip_instance_cache=True)
    name = uuid.uuid4().hex
    store = FSSpecStore(fs, f"/{name}")
    sibling = FSSpecStore(fs, f"/{name}x")
    store.put("a", b"1")
    sibling.put("a2", b"2")
    assert store.keys() == ["a"]
    assert store.keys("a") == ["a"]
    assert sibling.keys() == ["a2"]


def test_from_url_uses_fsspec_protocols() -> None:
    name = uuid.uuid4().hex
    store = FSSpecStore.from_url(f"memory://{name}/data")
    store.put("key", b"value")
    assert fsspec.filesystem("memory").cat_file(f"/{name}/data/key") == b"value"
    with pytest.raises(ValueError, match="fsspec URL"):
        FSSpecStore.from_url("nosuchprotocol://x")
