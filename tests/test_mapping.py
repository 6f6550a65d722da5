"""KeyValueMapping: a MutableMapping[str, bytes] over any store, batch methods, zarr."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec.decorator import PrefixDecorator, ReadOnlyDecorator, URLEncodeKeysDecorator
from minimalkv_fsspec.fs import FilesystemStore, HFilesystemStore
from minimalkv_fsspec.mapping import KeyValueMapping
from minimalkv_fsspec.memory import DictStore, HDictStore

STORES = ["dict", "hdict", "fs", "hfs", "prefix", "urlencode", "redis", "sqlite"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    kind = request.param
    if kind == "redis":
        server = request.getfixturevalue("redis_server")
        import redis

        from minimalkv_fsspec.memory.redisstore import RedisStore

        client = redis.Redis(host=server["host"], port=server["port"], db=8)
        client.flushdb()  # our private server's database
        yield RedisStore(client)
        client.flushdb()
        client.close()
        return
    if kind == "sqlite":
        from minimalkv_fsspec import get_store_from_url

        sql_store = get_store_from_url(f"sql+sqlite:///{tmp_path}/kv.db")
        yield sql_store
        sql_store.close()
        return
    yield {
        "dict": DictStore,
        "hdict": HDictStore,
        "fs": lambda: FilesystemStore(str(tmp_path / "fs")),
        "hfs": lambda: HFilesystemStore(str(tmp_path / "hfs")),
        "prefix": lambda: PrefixDecorator("p-", DictStore()),
        "urlencode": lambda: URLEncodeKeysDecorator(DictStore()),
    }[kind]()


@pytest.fixture
def mapping(store: Any) -> KeyValueMapping:
    return KeyValueMapping(store)


# -- the mapping protocol --------------------------------------------------------------------


def test_is_a_mutable_mapping(mapping: KeyValueMapping) -> None:
    assert isinstance(mapping, MutableMapping)
    assert len(mapping) == 0
    assert list(mapping) == []


def test_set_get_overwrite_delete(mapping: KeyValueMapping) -> None:
    mapping["key"] = b"value"
    assert mapping["key"] == b"value"
    assert "key" in mapping
    mapping["key"] = b"other"
    assert mapping["key"] == b"other"
    del mapping["key"]
    assert "key" not in mapping
    with pytest.raises(KeyError):
        mapping["key"]
    with pytest.raises(KeyError):
        del mapping["key"]


def test_reads_what_the_store_wrote(store: Any, mapping: KeyValueMapping) -> None:
    store.put("written-by-store", b"\x00\xff")
    assert mapping["written-by-store"] == b"\x00\xff"
    mapping["written-by-mapping"] = b"abc"
    assert store.get("written-by-mapping") == b"abc"


def test_empty_and_large_values(mapping: KeyValueMapping) -> None:
    mapping["empty"] = b""
    assert mapping["empty"] == b""
    assert "empty" in mapping  # empty bytes are a value, not a miss
    large = bytes(range(256)) * 16384  # 4 MiB
    mapping["large"] = large
    assert mapping["large"] == large


def test_len_iter_keys_items(mapping: KeyValueMapping) -> None:
    expected = {f"k{i}": str(i).encode() for i in range(25)}
    for key, value in expected.items():
        mapping[key] = value
    assert len(mapping) == 25
    assert sorted(mapping) == sorted(expected)
    assert set(mapping.keys()) == set(expected)
    assert dict(mapping.items()) == expected
    assert sorted(mapping.values()) == sorted(expected.values())
    assert mapping == expected
    assert mapping.get("missing") is None
    assert mapping.pop("k0") == b"0"
    assert mapping.setdefault("k1", b"x") == b"1"
    mapping.update({"k1": b"new"})
    assert mapping["k1"] == b"new"
    mapping.clear()
    assert len(mapping) == 0


def test_bytes_like_values_are_stored_as_bytes(mapping: KeyValueMapping) -> None:
    mapping["a"] = bytearray(b"ab")  # type: ignore[assignment]
    mapping["b"] = memoryview(b"cd")  # type: ignore[assignment]
    assert mapping["a"] == b"ab"
    assert type(mapping["b"]) is bytes
    with pytest.raises(TypeError, match="bytes-like"):
        mapping["c"] = "text"  # type: ignore[assignment]
    assert "c" not in mapping


def test_invalid_keys(mapping: KeyValueMapping, store: Any) -> None:
    if isinstance(store, URLEncodeKeysDecorator):
        # Every str is a valid key through the urlencode decorator: it stores an encoded name.
        mapping["../escape"] = b"x"
        assert store._dstore.keys() == ["..%2Fescape"]
        return
    bad = "../escape"
    with pytest.raises(ValueError, match="key"):
        mapping[bad] = b"x"
    with pytest.raises(ValueError, match="key"):
        mapping[bad]
    assert bad not in mapping
    assert 42 not in mapping
    assert None not in mapping
    with pytest.raises(ValueError, match="key"):
        mapping.setitems({"ok": b"1", bad: b"2"})
    assert "ok" not in mapping  # checked before anything was written


def test_pickle(tmp_path: Path) -> None:
    mapping = KeyValueMapping(HFilesystemStore(str(tmp_path)))
    mapping["dir/key"] = b"value"
    copy = pickle.loads(pickle.dumps(mapping))
    assert copy["dir/key"] == b"value"


def test_store_mapping_method() -> None:
    store = HDictStore({"a": b"1"})
    mapping = store.mapping()
    assert isinstance(mapping, KeyValueMapping)
    assert mapping.store is store
    assert dict(mapping) == {"a": b"1"}


# -- batches ------------------------------------------------------------------------------------


def test_getitems_setitems_delitems(mapping: KeyValueMapping) -> None:
    mapping.setitems({"a": b"1", "b": b"2", "c": bytearray(b"3")})  # type: ignore[dict-item]
    assert mapping.getitems(["c", "a", "missing", "a"]) == {"c": b"3", "a": b"1"}
    assert list(mapping.getitems(["c", "a"])) == ["c", "a"]
    assert mapping.getitems(["a"], contexts={"a": object()}) == {"a": b"1"}
    returned = mapping.getitems(["a", "missing"], on_error="return")
    assert returned["a"] == b"1"
    assert isinstance(returned["missing"], KeyError)
    with pytest.raises(KeyError):
        mapping.getitems(["a", "missing"], on_error="raise")
    with pytest.raises(ValueError, match="on_error"):
        mapping.getitems(["a"], on_error="ignore")  # type: ignore[call-overload]
    assert mapping.getitems([]) == {}
    mapping.delitems(["a", "missing", "b"])
    assert sorted(mapping) == ["c"]
    mapping.setitems({})
    mapping.delitems([])


def test_batches_use_the_bulk_operations() -> None:
    calls: list[str] = []

    class Recording(DictStore):
        def _get(self, key: str) -> bytes:
            calls.append("get")
            return super()._get(key)

        def _get_many(self, keys: list[str]) -> dict[str, bytes]:
            calls.append("get_many")
            return super()._get_many(keys)

        def _put_many(self, items: Any) -> None:
            calls.append("put_many")
            super()._put_many(items)

        def _delete_many(self, keys: list[str]) -> None:
            calls.append("delete_many")
            super()._delete_many(keys)

    mapping = KeyValueMapping(Recording())
    mapping.setitems({f"k{i}": b"v" for i in range(10)})
    assert len(mapping.getitems([f"k{i}" for i in range(10)])) == 10
    mapping.delitems([f"k{i}" for i in range(5)])
    mapping.clear()
    assert calls == ["put_many", "get_many", "delete_many", "delete_many"]


class MinimalStore:
    """A duck-typed store without get_many, put_many or delete_many."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes:
        return self.data[key]

    def put(self, key: str, data: bytes) -> str:
        self.data[key] = data
        return key

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return iter([key for key in list(self.data) if key.startswith(prefix)])


def test_batches_fall_back_to_loops() -> None:
    mapping = KeyValueMapping(MinimalStore())  # type: ignore[arg-type]
    mapping.setitems({"a": b"1", "b": b"2"})
    assert mapping.getitems(["a", "b", "c"]) == {"a": b"1", "b": b"2"}
    mapping.delitems(["a", "c"])
    assert dict(mapping) == {"b": b"2"}
    mapping.clear()
    assert len(mapping) == 0


def test_read_only_decorator() -> None:
    inner = DictStore({"a": b"1"})
    mapping = KeyValueMapping(ReadOnlyDecorator(inner))
    assert mapping["a"] == b"1"
    assert mapping.getitems(["a", "b"]) == {"a": b"1"}
    assert list(mapping) == ["a"]
    for call in (
        lambda: mapping.__setitem__("b", b"2"),
        lambda: mapping.__delitem__("a"),
        lambda: mapping.setitems({"b": b"2"}),
        lambda: mapping.delitems(["a"]),
        mapping.clear,
    ):
        with pytest.raises(PermissionError, match="read-only"):
            call()
    assert inner.d == {"a": b"1"}


def test_prefix_decorator_sees_only_its_keys() -> None:
    inner = DictStore({"other": b"x"})
    mapping = KeyValueMapping(PrefixDecorator("mine-", inner))
    mapping.setitems({"a": b"1", "b": b"2"})
    assert sorted(mapping) == ["a", "b"]
    assert mapping.getitems(["a", "other"]) == {"a": b"1"}
    mapping.clear()
    assert inner.d == {"other": b"x"}


def test_decorators_give_a_mapping_of_the_decorated_view() -> None:
    inner = DictStore({"p-a": b"1", "other": b"x"})
    prefixed = PrefixDecorator("p-", inner).mapping()
    assert isinstance(prefixed, KeyValueMapping)
    assert dict(prefixed) == {"a": b"1"}
    prefixed["b"] = b"2"
    assert inner.d["p-b"] == b"2"
    readonly = ReadOnlyDecorator(inner).mapping()
    assert readonly["other"] == b"x"
    with pytest.raises(PermissionError):
        readonly["other"] = b"y"
    assert inner.d["other"] == b"x"


def test_importing_the_mapping_imports_no_fsspec() -> None:
    code = (
        "import sys; from minimalkv_fsspec.memory import DictStore; DictStore().mapping(); "
        "import minimalkv_fsspec.mapping; "
        "assert not {'fsspec', 'zarr', 'numpy', 'pandas', 'minimalkv_fsspec.bridge'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- zarr ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_array_through_the_bridge_is_plain_keys_in_the_mapping(zarr_format: int) -> None:
    import numpy as np
    import zarr

    from minimalkv_fsspec.bridge import KeyValueFileSystem

    source = HDictStore()
    data = np.arange(12 * 8, dtype="float64").reshape(12, 8)
    array = zarr.create_array(
        store=KeyValueFileSystem(store=source).get_mapper("group/array"),
        shape=data.shape,
        chunks=(4, 4),
        dtype="float64",
        zarr_format=zarr_format,
    )
    array[:] = data

    mapping = source.mapping()
    metadata = "group/array/zarr.json" if zarr_format == 3 else "group/array/.zarray"
    assert b'"shape"' in mapping[metadata]
    assert len(mapping) == 6 + (1 if zarr_format == 3 else 2)  # 6 chunks and the metadata

    # Copy the array key by key with the batch methods, then read the copy with zarr.
    target = HDictStore()
    KeyValueMapping(target).setitems(mapping.getitems(list(mapping)))
    copy = zarr.open_array(store=KeyValueFileSystem(store=target).get_mapper("group/array"), mode="r")
    np.testing.assert_array_equal(copy[:], data)
    np.testing.assert_array_equal(copy[2:7, 3:5], data[2:7, 3:5])

    # Chunks written through the mapping are what zarr reads.
    chunk_key = "group/array/c/0/0" if zarr_format == 3 else "group/array/0.0"
    assert chunk_key in mapping
    KeyValueMapping(target)[chunk_key] = mapping[chunk_key.replace("0/0", "1/1").replace("0.0", "1.1")]
    reread = zarr.open_array(store=KeyValueFileSystem(store=target).get_mapper("group/array"), mode="r")
    np.testing.assert_array_equal(reread[0:4, 0:4], data[4:8, 4:8])


