"""DictStore and HDictStore run the conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

from minimalkv_fsspec.memory import DictStore, HDictStore
from minimalkv_fsspec.testing import StoreTests


class TestDictStore(StoreTests):
    shared_between_processes = False  # the dict lives in one process

    @pytest.fixture
    def store(self) -> DictStore:
        return DictStore()

    def side_get(self, store: Any, key: str) -> bytes | None:
        return store.d.get(key)

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        store.d[key] = value


class TestHDictStore(TestDictStore):
    @pytest.fixture
    def store(self) -> HDictStore:
        return HDictStore()


def test_dictstore_shares_the_given_dict() -> None:
    backing: dict[str, bytes] = {}
    store = DictStore(backing)
    store.put("key", b"value")
    assert backing == {"key": b"value"}


def test_stores_compare_by_class_and_content() -> None:
    assert HDictStore() == HDictStore()
    assert DictStore() != HDictStore()
    assert DictStore({"a": b"1"}) != DictStore()
