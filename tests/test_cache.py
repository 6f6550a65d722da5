"""CacheDecorator: the conformance suite, read-through, write-invalidate, a failing cache."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import pytest

from minimalkv_fsspec.cache import CacheDecorator
from minimalkv_fsspec.fs import FilesystemStore
from minimalkv_fsspec.memory import DictStore, HDictStore
from minimalkv_fsspec.testing import TTLStoreTests
from tests.test_decorators import CountingStore, DecoratorSuite, make_backend

if TYPE_CHECKING:
    from minimalkv_fsspec import KeyValueStore


class TestCacheDecorator(DecoratorSuite):
    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        return CacheDecorator(HDictStore(), backend)


class TestCacheDecoratorWithNarrowCache(DecoratorSuite):
    """A cache that refuses the backend's extended keys: those bypass it."""

    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        return CacheDecorator(DictStore(), backend)

    @pytest.fixture(params=["hdict", "hfs"])
    def backend(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        return make_backend(request.param, request, tmp_path)


class TestCacheDecoratorTTL(TTLStoreTests):
    @pytest.fixture
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        return CacheDecorator(DictStore(), make_backend("redis", request, tmp_path))


class BrokenStore(DictStore):
    """A cache whose every operation fails with OSError."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        raise OSError("the cache is down")

    get = put = put_file = get_file = open = delete = get_many = put_many = delete_many = close = _fail
    __contains__ = keys = iter_keys = _fail


class FailingReads(io.RawIOBase):
    """A file whose reads fail after the first chunk."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reads += 1
        if self.reads > 1:
            raise OSError("disk error")
        buffer[: len(self.data)] = self.data
        return len(self.data)


class FlakyCache(DictStore):
    """A cache holding values whose files break while they are read."""

    def _open(self, key: str) -> BinaryIO:
        return io.BufferedReader(FailingReads(self.d[key][:3]), buffer_size=3)  # type: ignore[return-value]


@pytest.fixture
def backend() -> CountingStore:
    return CountingStore()


@pytest.fixture
def cache() -> DictStore:
    return DictStore()


@pytest.fixture
def store(cache: DictStore, backend: CountingStore) -> CacheDecorator:
    return CacheDecorator(cache, backend)


# -- read-through -------------------------------------------------------------------------


def test_get_reads_through_and_then_hits(store: CacheDecorator, cache: DictStore, backend: CountingStore) -> None:
    backend.d["key"] = b"value"
    assert store.get("key") == b"value"
    assert cache.d == {"key": b"value"}
    backend.d["key"] = b"changed behind the cache's back"
    assert store.get("key") == b"value"
    with pytest.raises(KeyError):
        store.get("missing")
    assert "missing" not in cache.d


def test_open_and_get_file_fill_the_cache(store: CacheDecorator, cache: DictStore, tmp_path: Path) -> None:
    store._dstore.d.update({"a": b"1", "b": b"2", "c": b"3"})
    with store.open("a") as file:
        assert file.read() == b"1"
    target = io.BytesIO()
    store.get_file("b", target)
    assert target.getvalue() == b"2"
    store.get_file("c", str(tmp_path / "c"))
    assert (tmp_path / "c").read_bytes() == b"3"
    assert cache.d == {"a": b"1", "b": b"2", "c": b"3"}


def test_get_many_reads_misses_in_one_bulk_call(store: CacheDecorator, cache: DictStore, backend: Any) -> None:
    cache.d["a"] = b"cached"
    backend.d.update({"a": b"stale", "b": b"2", "c": b"3"})
    assert store.get_many(["a", "b", "c", "missing"]) == {"a": b"cached", "b": b"2", "c": b"3"}
    assert backend.calls.get("_get_many") == 1
    assert cache.d == {"a": b"cached", "b": b"2", "c": b"3"}


def test_membership_and_listing_ask_the_backend(store: CacheDecorator, cache: DictStore) -> None:
    cache.d["only-cached"] = b"x"
    assert "only-cached" not in store
    assert store.keys() == []


# -- write-invalidate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda store: store.put("key", b"new"),
        lambda store: store.put_file("key", io.BytesIO(b"new")),
        lambda store: store.put_many({"key": b"new"}),
        lambda store: store.delete("key"),
        lambda store: store.delete_many(["key"]),
        lambda store: store.copy("other", "key"),
        lambda store: store.move("other", "key"),
        lambda store: store.move("key", "other"),
    ],
)
def test_writes_invalidate(store: CacheDecorator, cache: DictStore, write: Any) -> None:
    store.put("key", b"old")
    store.put("other", b"new")
    assert store.get("key") == b"old"
    assert store.get("other") == b"new"
    write(store)
    assert "key" not in cache.d
    assert store.get_many(["key"]) in ({}, {"key": b"new"})
    if "key" in store:
        assert store.get("key") == b"new"


def test_put_file_with_a_filename_invalidates(store: CacheDecorator, cache: DictStore, tmp_path: Path) -> None:
    store.put("key", b"old")
    store.get("key")
    (tmp_path / "new").write_bytes(b"new")
    store.put_file("key", str(tmp_path / "new"))
    assert store.get("key") == b"new"


def test_a_failed_write_still_invalidates(cache: DictStore) -> None:
    class RefusingWrites(DictStore):
        def put(self, key: str, data: bytes) -> str:
            raise OSError("backend full")

    backend = RefusingWrites({"key": b"old"})
    store = CacheDecorator(cache, backend)
    assert store.get("key") == b"old"
    with pytest.raises(OSError, match="backend full"):
        store.put("key", b"new")
    assert "key" not in cache.d


def test_copy_works_unlike_minimalkv(tmp_path: Path, cache: DictStore) -> None:
    backend = FilesystemStore(str(tmp_path))
    store = CacheDecorator(cache, backend)
    store.put("source", b"value")
    assert store.copy("source", "dest") == "dest"
    assert store.get("dest") == b"value"


# -- a failing cache is bypassed ------------------------------------------------------------


def test_a_cache_failing_on_every_call_is_bypassed(backend: CountingStore, caplog: pytest.LogCaptureFixture) -> None:
    broken = BrokenStore()
    store = CacheDecorator(broken, backend)
    with caplog.at_level(logging.DEBUG, logger="minimalkv_fsspec.cache"):
        store.put("key", b"value")
        assert store.get("key") == b"value"
        assert store.get_many(["key", "missing"]) == {"key": b"value"}
        with store.open("key") as file:
            assert file.read() == b"value"
        target = io.BytesIO()
        store.get_file("key", target)
        assert target.getvalue() == b"value"
        store.put_many({"a": b"1"})
        store.copy("a", "b")
        store.move("b", "c")
        store.delete_many(["a"])
        assert sorted(store.keys()) == ["c", "key"]
        store.delete("key")
        with pytest.raises(KeyError):
            store.get("key")
        store.close()
    assert broken.attempts > 10
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1  # said once, not on every call
    assert "cache" in warnings[0].getMessage()


def test_a_cache_refusing_keys_is_bypassed(backend: CountingStore) -> None:
    extended = HDictStore()
    store = CacheDecorator(DictStore(), extended)
    store.put("dir/key", b"value")
    assert store.get("dir/key") == b"value"
    assert store.get_many(["dir/key"]) == {"dir/key": b"value"}
    with store.open("dir/key") as file:
        assert file.read() == b"value"


def test_a_cached_copy_breaking_while_read_falls_back(backend: CountingStore, tmp_path: Path) -> None:
    cache = FlakyCache({"key": b"cached value, longer than one read"})
    backend.d["key"] = b"backend value"
    store = CacheDecorator(cache, backend)
    target = io.BytesIO()
    store.get_file("key", target)
    assert target.getvalue() == b"backend value"
    assert "key" not in cache.d
    cache.d["key"] = b"cached again"
    store.get_file("key", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"backend value"


def test_a_cache_failing_to_fill_is_bypassed(backend: CountingStore) -> None:
    class NoPutFile(DictStore):
        def _put_file(self, key: str, file: Any) -> None:
            file.read(1)
            raise OSError("cache full")

    cache = NoPutFile()
    backend.d["key"] = b"value"
    store = CacheDecorator(cache, backend)
    with store.open("key") as file:
        assert file.read() == b"value"
    assert cache.d == {}


def test_missing_key_is_not_a_cache_failure(caplog: pytest.LogCaptureFixture) -> None:
    store = CacheDecorator(DictStore(), DictStore())
    with caplog.at_level(logging.WARNING, logger="minimalkv_fsspec.cache"):
        for call in (store.get, store.open, lambda key: store.get_file(key, io.BytesIO())):
            with pytest.raises(KeyError):
                call("missing")
    assert caplog.records == []


def test_ttl_backend_never_serves_expired_values(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    backend = make_backend("redis", request, tmp_path)
    cache = DictStore()
    store = CacheDecorator(cache, backend)
    store.put("key", b"value")
    assert store.get("key") == b"value"
    assert "key" in cache.d
    backend.redis.delete("key")  # as if it expired
    with pytest.raises(KeyError):
        store.get("key")
    assert "key" not in cache.d


def test_bulk_calls_with_keys_the_cache_refuses_still_reach_the_others() -> None:
    cache = DictStore()  # refuses "dir/key"
    backend = HDictStore({"a": b"1", "b": b"2", "dir/key": b"3"})
    store = CacheDecorator(cache, backend)
    assert store.get_many(["a", "b", "dir/key"]) == {"a": b"1", "b": b"2", "dir/key": b"3"}
    assert cache.d == {"a": b"1", "b": b"2"}  # the refused key is just not cached
    backend.d["b"] = b"changed behind the cache's back"
    assert store.get_many(["a", "b", "dir/key"])["b"] == b"2"  # served from the cache
    store.put_many({"a": b"new", "dir/key": b"new"})
    assert store.get("a") == b"new"
    store.delete_many(["a", "dir/key"])
    assert "a" not in cache.d
    with pytest.raises(KeyError):
        store.get("a")
    store.put("c", b"c")
    store.get("c")
    store.move("c", "dir/c")
    assert "c" not in cache.d
    with pytest.raises(KeyError):
        store.get("c")
