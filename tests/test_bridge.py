"""The fsspec bridge: pandas, dask, pyarrow and zarr over any store through ``minimalkv://``."""

from __future__ import annotations

import gc
import io
import os
import pickle
import tracemalloc
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import fsspec
import pandas as pd  # the dev extra installs pandas, pyarrow, dask and zarr: no skipping
import pyarrow  # noqa: F401
import pytest

from minimalkv_fsspec import KeyValueStore
from minimalkv_fsspec.bridge import KeyValueFile, KeyValueFileSystem
from minimalkv_fsspec.decorator import PrefixDecorator, ReadOnlyDecorator
from minimalkv_fsspec.exceptions import InvalidKeyError
from minimalkv_fsspec.fs import FilesystemStore, HFilesystemStore
from minimalkv_fsspec.memory import DictStore, HDictStore

# dask's parquet engine still uses pandas' deprecated inplace= (not ours to fix).
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _forget_filesystems() -> Iterator[None]:
    """Stores built from URLs live as long as their cached filesystem: one test's only."""
    KeyValueFileSystem.clear_instance_cache()
    yield
    KeyValueFileSystem.clear_instance_cache()


def _frame(rows: int = 100) -> Any:
    return pd.DataFrame({"n": range(rows), "x": [i * 0.5 for i in range(rows)], "s": [f"row {i}" for i in range(rows)]})


def _same_frame(result: Any, expected: Any) -> None:
    result = result.sort_values("n").reset_index(drop=True)
    pd.testing.assert_frame_equal(result, expected.reset_index(drop=True), check_dtype=False)


# -- the stores the round trips run on ---------------------------------------------------

STORES = ["memory", "memory-url", "hfs", "fs-url-urlencode", "prefix-decorated", "redis-url", "sqlite-url"]


@pytest.fixture(params=STORES)
def storage_options(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``storage_options`` naming a store: an object, or a URL (plain, wrapped, server)."""
    kind = request.param
    if kind == "memory":
        yield {"store": HDictStore()}
    elif kind == "memory-url":
        yield {"store": "hmemory://"}
    elif kind == "hfs":
        yield {"store": HFilesystemStore(str(tmp_path / "data"))}
    elif kind == "fs-url-urlencode":
        # A flat, standard-keyspace store gets directories through the urlencode wrapper.
        yield {"store": f"fs://{tmp_path}/flat#wrap:urlencode"}
    elif kind == "prefix-decorated":
        yield {"store": PrefixDecorator("team/", HDictStore())}
    elif kind == "redis-url":
        server = request.getfixturevalue("redis_server")
        import redis

        client = redis.Redis(host=server["host"], port=server["port"], db=7)
        client.flushdb()  # our private server's database
        yield {"store": f"hredis://{server['host']}:{server['port']}/7"}
        client.flushdb()
        client.close()
    elif kind == "sqlite-url":
        yield {"store": f"hsql+sqlite:///{tmp_path}/kv.db"}


# -- pandas and dask round trips ------------------------------------------------------------


def test_pandas_parquet_round_trip(storage_options: dict[str, Any]) -> None:
    frame = _frame()
    frame.to_parquet("minimalkv://tables/t.parquet", storage_options=storage_options)
    _same_frame(pd.read_parquet("minimalkv://tables/t.parquet", storage_options=storage_options), frame)
    fs = fsspec.filesystem("minimalkv", **storage_options)
    assert fs.ls("tables", detail=False) == ["tables/t.parquet"]


def test_pandas_csv_round_trip(storage_options: dict[str, Any]) -> None:
    frame = _frame()
    frame.to_csv("minimalkv://tables/t.csv", storage_options=storage_options, index=False)
    _same_frame(pd.read_csv("minimalkv://tables/t.csv", storage_options=storage_options), frame)


def test_dask_parquet_round_trip(storage_options: dict[str, Any]) -> None:
    import dask.dataframe as dd
    frame = _frame(300)
    dd.from_pandas(frame, npartitions=3).to_parquet("minimalkv://ds", storage_options=storage_options)
    fs = fsspec.filesystem("minimalkv", **storage_options)
    assert len(fs.glob("ds/*.parquet")) == 3
    result = dd.read_parquet("minimalkv://ds", storage_options=storage_options)
    assert result.npartitions == 3
    _same_frame(result.compute(), frame)


def test_dask_csv_round_trip(storage_options: dict[str, Any]) -> None:
    import dask.dataframe as dd
    frame = _frame(300)
    dd.from_pandas(frame, npartitions=3).to_csv(
        "minimalkv://csv/part-*.csv", storage_options=storage_options, index=False
    )
    fs = fsspec.filesystem("minimalkv", **storage_options)
    assert fs.ls("csv", detail=False) == ["csv/part-0.csv", "csv/part-1.csv", "csv/part-2.csv"]
    result = dd.read_csv("minimalkv://csv/part-*.csv", storage_options=storage_options)
    assert result.npartitions == 3
    _same_frame(result.compute(), frame)


def test_dask_reads_csv_in_blocks_with_ranged_reads(tmp_path: Path) -> None:
    import dask.dataframe as dd
    store = HFilesystemStore(str(tmp_path))
    frame = _frame(20_000)
    frame.to_csv("minimalkv://big.csv", storage_options={"store": store}, index=False)
    result = dd.read_csv("minimalkv://big.csv", storage_options={"store": store}, blocksize=64 * 1024)
    assert result.npartitions > 3
    _same_frame(result.compute(), frame)


def test_pandas_and_dask_over_postgres(postgres_server: dict[str, Any]) -> None:
    import dask.dataframe as dd
    table = f"t_{uuid.uuid4().hex[:12]}"
    url = "h" + postgres_server["url"].replace("postgresql", "sql+postgresql", 1) + f"?table={table}"
    options = {"store": url}
    frame = _frame(300)
    frame.to_parquet("minimalkv://one.parquet", storage_options=options)
    _same_frame(pd.read_parquet("minimalkv://one.parquet", storage_options=options), frame)
    dd.from_pandas(frame, npartitions=3).to_parquet("minimalkv://ds", storage_options=options)
    _same_frame(dd.read_parquet("minimalkv://ds", storage_options=options).compute(), frame)
    fs = fsspec.filesystem("minimalkv", **options)
    fs.rm("", recursive=True)
    assert fs.find("") == []
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_server["url"])
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {table}"))  # our own table
    engine.dispose()


def test_readonly_store_url_reads_what_another_wrote(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_parquet("minimalkv://t.parquet", storage_options={"store": f"hfs://{tmp_path}"})
    options = {"store": f"hfs://{tmp_path}#wrap:readonly"}
    _same_frame(pd.read_parquet("minimalkv://t.parquet", storage_options=options), frame)
    with pytest.raises(PermissionError):
        frame.to_parquet("minimalkv://u.parquet", storage_options=options)
    assert sorted(os.listdir(tmp_path)) == ["t.parquet"]


# -- ranged reads -----------------------------------------------------------------------------


class CountingStore(KeyValueStore):
    """Wrap a store, counting the bytes read from the files its ``open()`` returns."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.bytes_read = 0
        self.opened = 0

    def _check_valid_key(self, key: Any) -> None:
        self.inner._check_valid_key(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return iter(self.inner.iter_keys(prefix))

    def _delete(self, key: str) -> None:
        self.inner.delete(key)

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        self.inner.put_file(key, file)

    def _open(self, key: str) -> BinaryIO:
        self.opened += 1
        return _CountingFile(self.inner.open(key), self)  # type: ignore[return-value]


class _CountingFile(io.RawIOBase):
    def __init__(self, inner: Any, counter: CountingStore) -> None:
        self.inner = inner
        self.counter = counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self.inner.seek(offset, whence))

    def tell(self) -> int:
        return int(self.inner.tell())

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.counter.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


@pytest.fixture(params=["memory", "hfs"])
def counting_store(request: pytest.FixtureRequest, tmp_path: Path) -> CountingStore:
    return CountingStore(HDictStore() if request.param == "memory" else HFilesystemStore(str(tmp_path)))


def test_parquet_footer_read_does_not_read_the_file(counting_store: CountingStore) -> None:
    import numpy as np
    import pyarrow.parquet as pq
    frame = pd.DataFrame(np.random.default_rng(0).random((200_000, 5)), columns=list("abcde"))
    options = {"store": counting_store}
    frame.to_parquet("minimalkv://big.parquet", storage_options=options, row_group_size=50_000)
    fs = fsspec.filesystem("minimalkv", **options)
    size = fs.size("big.parquet")
    assert size > 7 * MiB

    counting_store.bytes_read = 0
    metadata = pq.read_metadata("big.parquet", filesystem=fs)
    assert metadata.num_rows == 200_000
    assert counting_store.bytes_read < size / 50  # the footer, not the file

    counting_store.bytes_read = 0
    column = pd.read_parquet("minimalkv://big.parquet", storage_options=options, columns=["c"])
    assert column["c"].tolist() == frame["c"].tolist()
    assert counting_store.bytes_read < size * 0.75  # one column of five, plus read-ahead


def test_ranged_cat_file_and_seeks(counting_store: CountingStore) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    counting_store.put("blob", data)
    fs = KeyValueFileSystem(store=counting_store)
    counting_store.bytes_read = 0
    assert fs.cat_file("blob", start=1000, end=1010) == data[1000:1010]
    assert counting_store.bytes_read == 10
    assert fs.cat_file("blob", start=-10) == data[-10:]
    assert fs.cat_file("blob", start=5, end=-len(data) + 8) == data[5:8]
    assert fs.cat_file("blob", start=10, end=5) == b""
    assert fs.cat_file("blob", start=len(data) + 5) == b""
    assert fs.read_block("blob", 4096, 16) == data[4096 : 4096 + 16]

    counting_store.bytes_read = 0
    opened = counting_store.opened
    with fs.open("blob", "rb", cache_type="none") as file:
        assert file.size == len(data)
        file.seek(-100, os.SEEK_END)
        assert file.read(10) == data[-100:-90]
        file.seek(2000)
        assert file.read(3) == data[2000:2003]
        assert file.tell() == 2003
    assert counting_store.bytes_read == 13
    assert counting_store.opened == opened + 1  # one handle for the whole file


def test_text_mode_and_line_iteration() -> None:
    fs = KeyValueFileSystem(store=HDictStore())
    with fs.open("notes/a.txt", "w", encoding="utf-8") as file:
        file.write("first line\nzweite Zeile ä\n")
    with fs.open("notes/a.txt", "r", encoding="utf-8") as file:
        assert file.readlines() == ["first line\n", "zweite Zeile ä\n"]
    with fs.open("notes/a.txt", "rb") as file:
        assert list(file) == [b"first line\n", "zweite Zeile ä\n".encode()]


# -- writing ------------------------------------------------------------------------------------


def test_writing_streams_through_a_spool(tmp_path: Path) -> None:
    store = HFilesystemStore(str(tmp_path))
    fs = KeyValueFileSystem(store=store)
    chunk = os.urandom(MiB)
    tracemalloc.start()
    try:
        with fs.open("big/value", "wb") as file:
            for _ in range(64):
                file.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert os.path.getsize(tmp_path / "big" / "value") == 64 * MiB
    assert peak < 32 * MiB  # a 64 MiB value, never whole in memory
    with open(tmp_path / "big" / "value", "rb") as stored:
        assert stored.read(MiB) == chunk


def test_nothing_is_stored_before_close_or_after_an_error() -> None:
    store = HDictStore()
    fs = KeyValueFileSystem(store=store)
    file = fs.open("k", "wb")
    file.write(b"partial")
    assert "k" not in store
    file.close()
    assert store.get("k") == b"partial"

    def write_and_fail() -> None:
        with fs.open("k", "wb") as file:
            file.write(b"broken")
            raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        write_and_fail()
    assert store.get("k") == b"partial"


def test_exclusive_append_and_transactions() -> None:
    store = HDictStore({"old": b"abc"})
    fs = KeyValueFileSystem(store=store)
    with pytest.raises(FileExistsError):
        fs.open("old", "xb")
    with fs.open("new", "xb") as file:
        file.write(b"1")
    with fs.open("old", "ab") as file:
        assert file.tell() == 3
        file.write(b"def")
    assert store.get("old") == b"abcdef"
    with fs.open("fresh", "ab") as file:
        file.write(b"x")
    assert store.get("fresh") == b"x"

    with fs.transaction:
        with fs.open("in-transaction", "wb") as file:
            file.write(b"later")
        assert "in-transaction" not in store
    assert store.get("in-transaction") == b"later"


def test_pipe_cat_and_rm_use_the_bulk_operations() -> None:
    calls: list[str] = []

    class Recording(HDictStore):
        def _get_many(self, keys: list[str]) -> dict[str, bytes]:
            calls.append("get_many")
            return super()._get_many(keys)

        def _put_many(self, items: Any) -> None:
            calls.append("put_many")
            super()._put_many(items)

        def _delete_many(self, keys: list[str]) -> None:
            calls.append("delete_many")
            super()._delete_many(keys)

    fs = KeyValueFileSystem(store=Recording())
    fs.pipe({"d/a": b"1", "d/b": b"2", "d/sub/c": bytearray(b"3")})
    assert calls == ["put_many"]
    assert fs.cat(["d/a", "d/b", "d/sub/c"]) == {"d/a": b"1", "d/b": b"2", "d/sub/c": b"3"}
    assert fs.cat(["d/a", "missing"], on_error="omit") == {"d/a": b"1"}
    returned = fs.cat(["missing"], on_error="return")
    assert isinstance(returned["missing"], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat(["d/a", "missing"])
    assert calls == ["put_many"] + ["get_many"] * 4
    fs.rm("d", recursive=True)
    assert calls[-1] == "delete_many"
    assert fs.find("") == []


def test_local_files_in_and_out(tmp_path: Path) -> None:
    fs = KeyValueFileSystem(store=HDictStore())
    local = tmp_path / "local.bin"
    local.write_bytes(b"payload")
    fs.put(str(local), "remote/copy.bin")
    assert local.exists()  # streamed from a file object: the filesystem store would have moved a filename
    assert fs.cat("remote/copy.bin") == b"payload"
    fs.get("remote/copy.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == b"payload"
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "f").write_bytes(b"f")
    fs.put(str(tmp_path / "tree"), "uploaded", recursive=True)
    assert fs.find("uploaded") == ["uploaded/sub/f"]


def test_copy_uses_the_store_copy_and_falls_back_to_streaming(tmp_path: Path) -> None:
    copies: list[tuple[str, str]] = []

    class Recording(HDictStore):
        def _copy(self, source: str, dest: str) -> None:
            copies.append((source, dest))
            super()._copy(source, dest)

    fs = KeyValueFileSystem(store=Recording({"a/x": b"1", "a/y/z": b"2"}))
    fs.cp_file("a/x", "b/x")
    assert copies == [("a/x", "b/x")]
    fs.copy("a", "c", recursive=True)
    assert fs.cat(["c/x", "c/y/z"]) == {"c/x": b"1", "c/y/z": b"2"}
    fs.mv("c/x", "d/x")
    assert fs.cat_file("d/x") == b"1"
    assert not fs.exists("c/x")
    with pytest.raises(FileNotFoundError):
        fs.cp_file("missing", "elsewhere")

    plain = KeyValueFileSystem(store=CountingStore(HFilesystemStore(str(tmp_path))))  # no copy()
    plain.pipe_file("p/q", b"value")
    plain.cp_file("p/q", "r/s")
    assert plain.cat_file("r/s") == b"value"


# -- directories --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "hfs", "prefix-decorated"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueFileSystem:
    """A filesystem holding ``top``, ``a/one``, ``a/two``, ``a/b/three`` and ``a/b/c/four``."""
    store: Any = {
        "memory": lambda: HDictStore(),
        "hfs": lambda: HFilesystemStore(str(tmp_path)),
        "prefix-decorated": lambda: PrefixDecorator("pre/", HDictStore()),
    }[request.param]()
    for key in ("top", "a/one", "a/two", "a/b/three", "a/b/c/four"):
        store.put(key, key.encode())
    return KeyValueFileSystem(store=store)


def test_listing(tree: KeyValueFileSystem) -> None:
    assert tree.ls("", detail=False) == ["a", "top"]
    assert tree.ls("minimalkv://a/", detail=False) == ["a/b", "a/one", "a/two"]
    assert tree.ls("a", detail=True) == [
        {"name": "a/b", "size": 0, "type": "directory"},
        {"name": "a/one", "size": 5, "type": "file"},
        {"name": "a/two", "size": 5, "type": "file"},
    ]
    assert tree.ls("a/one", detail=False) == ["a/one"]
    with pytest.raises(FileNotFoundError):
        tree.ls("nothing")


def test_info_and_predicates(tree: KeyValueFileSystem) -> None:
    assert tree.info("a/b/three") == {"name": "a/b/three", "size": 9, "type": "file"}
    assert tree.info("a/b") == {"name": "a/b", "size": 0, "type": "directory"}
    assert tree.info("")["type"] == "directory"
    assert tree.size("top") == 3
    with pytest.raises(FileNotFoundError):
        tree.info("a/nothing")
    assert tree.isdir("a")
    assert tree.isdir("a/b/c")
    assert tree.isdir("")
    assert not tree.isdir("top")
    assert not tree.isdir("a/one")
    assert not tree.isdir("nothing")
    assert tree.isfile("a/one")
    assert not tree.isfile("a")
    assert not tree.isfile("nothing")
    assert tree.exists("a")
    assert tree.exists("a/one")
    assert not tree.exists("a/on")
    assert not tree.exists("bad//key")
    assert not tree.isfile("../escape")


def test_find_walk_glob_du(tree: KeyValueFileSystem) -> None:
    assert tree.find("") == ["a/b/c/four", "a/b/three", "a/one", "a/two", "top"]
    assert tree.find("a", maxdepth=1) == ["a/one", "a/two"]
    assert tree.find("a", maxdepth=2, withdirs=True) == ["a", "a/b", "a/b/c", "a/b/three", "a/one", "a/two"]
    assert tree.find("a/one") == ["a/one"]
    assert tree.find("nothing") == []
    detail = tree.find("a/b", detail=True)
    assert detail == {
        "a/b/c/four": {"name": "a/b/c/four", "size": 10, "type": "file"},
        "a/b/three": {"name": "a/b/three", "size": 9, "type": "file"},
    }
    assert tree.glob("a/*") == ["a/b", "a/one", "a/two"]
    assert tree.glob("**/four") == ["a/b/c/four"]
    walked = {root: (sorted(dirs), sorted(files)) for root, dirs, files in tree.walk("")}
    assert walked["a/b"] == (["c"], ["three"])
    assert tree.du("a") == len(b"a/one") + len(b"a/two") + len(b"a/b/three") + len(b"a/b/c/four")


def test_virtual_directories_and_rm(tree: KeyValueFileSystem) -> None:
    tree.mkdir("new/dir")
    tree.makedirs("new/dir", exist_ok=True)
    assert not tree.exists("new")  # a directory exists while a key lies below it
    tree.pipe_file("new/dir/file", b"x")
    assert tree.isdir("new/dir")
    with pytest.raises(OSError, match="not empty"):
        tree.rmdir("new")
    with pytest.raises(IsADirectoryError):
        tree.rm("new")
    tree.rm("new", recursive=True)
    assert not tree.exists("new")
    tree.rmdir("new")

    tree.rm("a/b/c", recursive=True, maxdepth=1)
    assert tree.find("a/b") == ["a/b/three"]
    tree.rm(["top", "a/one"])
    assert tree.find("") == ["a/b/three", "a/two"]
    tree.rm("a/t*")
    assert tree.find("") == ["a/b/three"]
    with pytest.raises(FileNotFoundError):
        tree.rm("nothing")
    with pytest.raises(FileNotFoundError):
        tree.rm_file("nothing")
    tree.rm_file("a/b/three")
    assert tree.find("") == []


# -- errors ---------------------------------------------------------------------------------------


def test_missing_keys_are_file_not_found() -> None:
    fs = KeyValueFileSystem(store=HDictStore())
    for call in (
        lambda: fs.cat_file("missing"),
        lambda: fs.cat_file("missing", start=1),
        lambda: fs.open("missing"),
        lambda: fs.info("missing"),
        lambda: fs.rm_file("missing"),
        lambda: pd.read_csv("minimalkv://missing.csv", storage_options={"store": fs.store}),
    ):
        with pytest.raises(FileNotFoundError):
            call()


def test_invalid_keys_are_value_errors_naming_the_path() -> None:
    fs = KeyValueFileSystem(store=DictStore())  # the standard keyspace: no "/" and no space
    fs.pipe_file("key", b"x")
    for call in (
        lambda: fs.pipe_file("dir/key", b"x"),
        lambda: fs.open("dir/key", "wb"),
        lambda: fs.cat_file("a key"),
        lambda: fs.open("a key"),
        lambda: fs.info("dir/key"),
        lambda: fs.cp_file("key", "dir/key"),
        lambda: pd.DataFrame({"a": [1]}).to_parquet("minimalkv://dir/t.parquet", storage_options={"store": fs.store}),
    ):
        with pytest.raises(InvalidKeyError, match="not a valid key") as caught:
            call()
        assert isinstance(caught.value, ValueError)
        assert "minimalkv://key'" not in str(caught.value)  # names the invalid path
    assert not fs.exists("dir/key")
    assert not fs.isfile("a key")
    with pytest.raises(IsADirectoryError):
        fs.pipe_file("", b"the root is no key")
    assert list(fs.store.keys()) == ["key"]


def test_read_only_store_refuses_writes_with_permission_error() -> None:
    inner = HDictStore({"k": b"v"})
    fs = KeyValueFileSystem(store=ReadOnlyDecorator(inner))
    assert fs.cat_file("k") == b"v"
    assert fs.ls("", detail=False) == ["k"]
    for call in (
        lambda: fs.pipe_file("k", b"new"),
        lambda: fs.pipe({"k": b"new", "l": b"new"}),
        lambda: fs.open("k", "wb"),
        lambda: fs.rm_file("k"),
        lambda: fs.rm("k"),
        lambda: fs.cp_file("k", "l"),
    ):
        with pytest.raises(PermissionError):
            call()
    assert inner.d == {"k": b"v"}


# -- construction and caching -----------------------------------------------------------------


def test_one_filesystem_per_store_object() -> None:
    first, second = HDictStore(), HDictStore()
    assert repr(first) == repr(second)  # fsspec's own cache would mix these two up
    fs_first = fsspec.filesystem("minimalkv", store=first)
    fs_second = fsspec.filesystem("minimalkv", store=second)
    assert fs_first is not fs_second
    assert fs_first != fs_second
    assert fs_first._fs_token != fs_second._fs_token
    assert fsspec.filesystem("minimalkv", store=first) is fs_first
    assert KeyValueFileSystem(first) == fs_first
    fs_first.pipe_file("k", b"1")
    assert first.d == {"k": b"1"}
    assert second.d == {}
    fresh = KeyValueFileSystem(store=first, skip_instance_cache=True)
    assert fresh is not fs_first
    assert fresh == fs_first


def test_one_filesystem_per_store_url(tmp_path: Path) -> None:
    fs = fsspec.filesystem("minimalkv", store="hmemory://")
    assert fsspec.filesystem("minimalkv", store="hmemory://", asynchronous=False) is fs
    fs.pipe_file("k", b"1")
    assert fsspec.filesystem("minimalkv", store="hmemory://").cat_file("k") == b"1"
    other = fsspec.filesystem("minimalkv", store=f"hfs://{tmp_path}")
    assert other is not fs
    assert not other.exists("k")
    assert pickle.loads(pickle.dumps(other)) is other
    assert KeyValueFileSystem(store="hmemory://", skip_instance_cache=True) is not fs


def test_url_to_fs_and_fsspec_open() -> None:
    store = HDictStore()
    fs, path = fsspec.core.url_to_fs("minimalkv://dir/k", store=store)
    assert isinstance(fs, KeyValueFileSystem)
    assert fs.store is store
    assert path == "dir/k"
    with fsspec.open("minimalkv://dir/k", "wb", store=store) as file:
        assert isinstance(file, KeyValueFile)
        file.write(b"value")
    with fsspec.open("minimalkv://dir/k", "rb", store=store) as file:
        assert file.read() == b"value"
    assert fs.unstrip_protocol("dir/k") == "minimalkv://dir/k"


@pytest.mark.parametrize("cache", ["simplecache", "blockcache", "filecache"])
def test_fsspec_url_chaining(cache: str, tmp_path: Path) -> None:
    store = HDictStore({"d/k.csv": b"a,b\n1,2\n"})
    options = {"minimalkv": {"store": store}, cache: {"cache_storage": str(tmp_path / "cache")}}
    with warnings.catch_warnings():
        # fsspec's blockcache never closes the file under its mmap
        # (fsspec/filesystem_spec#849): let it go here, not in a later test.
        warnings.filterwarnings("ignore", "unclosed file", ResourceWarning)
        with fsspec.open(f"{cache}::minimalkv://d/k.csv", "rb", **options) as file:
            assert file.read() == b"a,b\n1,2\n"
        frame = pd.read_csv(f"{cache}::minimalkv://d/k.csv", storage_options=options)
        del file
        gc.collect()
    assert frame.to_dict("list") == {"a": [1], "b": [2]}


def test_fsspec_config_names_a_default_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(fsspec.config.conf, "minimalkv", {"store": "hmemory://"})
    fs, path = fsspec.core.url_to_fs("minimalkv://k")
    fs.pipe_file(path, b"1")
    assert fsspec.filesystem("minimalkv", store="hmemory://").cat_file("k") == b"1"


def test_bad_construction() -> None:
    with pytest.raises(TypeError, match="needs a store"):
        fsspec.filesystem("minimalkv")
    with pytest.raises(TypeError, match="unknown options"):
        KeyValueFileSystem(store="hmemory://", stroe="typo")
    with pytest.raises(ValueError, match="Unknown storage type"):
        KeyValueFileSystem(store="nosuchscheme://")


def test_pickled_filesystem_over_a_store_object(tmp_path: Path) -> None:
    fs = KeyValueFileSystem(store=HFilesystemStore(str(tmp_path)))
    fs.pipe_file("a/b", b"1")
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.cat_file("a/b") == b"1"


# -- zarr through the bridge --------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_v3_fsspec_store_over_the_bridge(zarr_format: int) -> None:
    import numpy as np
    import zarr
    from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
    from zarr.storage import FsspecStore

    store = HDictStore()
    fs = KeyValueFileSystem(store=store)
    data = np.arange(20 * 30, dtype="int32").reshape(20, 30)
    array = zarr.create_array(
        store=FsspecStore(AsyncFileSystemWrapper(fs, asynchronous=True), path="arrays/a"),
        shape=data.shape,
        chunks=(10, 10),
        dtype="int32",
        zarr_format=zarr_format,
    )
    array[:] = data
    metadata = "arrays/a/zarr.json" if zarr_format == 3 else "arrays/a/.zarray"
    assert metadata in store.keys()
    assert len([key for key in store.keys() if not key.split("/")[-1].startswith((".z", "zarr.json"))]) == 6
    reopened = zarr.open_array(store=fs.get_mapper("arrays/a"), mode="r")  # via FSMap: zarr wraps it
    np.testing.assert_array_equal(reopened[:], data)
    np.testing.assert_array_equal(reopened[5:15, 25:], data[5:15, 25:])


# -- the other way round: fsspec-backed stores expose fs and root --------------------------------


def test_filesystem_store_exposes_fs_and_root(tmp_path: Path) -> None:
    import dask.dataframe as dd
    store = FilesystemStore(str(tmp_path / "data"))
    frame = _frame()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    store.put("x.parquet", buffer.getvalue())
    store.put("x.csv", frame.to_csv(index=False).encode())
    path = store.root + "/x.parquet"
    _same_frame(pd.read_parquet(path, filesystem=store.fs), frame)
    _same_frame(pd.read_parquet(store.fs.unstrip_protocol(path)), frame)
    _same_frame(dd.read_parquet(path, filesystem=store.fs).compute(), frame)
    _same_frame(dd.read_csv(store.fs.unstrip_protocol(store.root + "/x.csv")).compute(), frame)


def test_fsspec_memory_store_exposes_fs_and_root() -> None:
    import dask.dataframe as dd

    from minimalkv_fsspec.fsspecstore import FSSpecStore

    fs = fsspec.filesystem("memory", skip_instance_cache=True)
    root = f"/bridge-test-{uuid.uuid4().hex}"
    store = FSSpecStore(fs, root)
    frame = _frame()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    store.put("x.parquet", buffer.getvalue())
    store.put("x.csv", frame.to_csv(index=False).encode())
    try:
        _same_frame(pd.read_parquet(store.root + "/x.parquet", filesystem=store.fs), frame)
        _same_frame(pd.read_parquet(store.fs.unstrip_protocol(store.root + "/x.parquet")), frame)
        _same_frame(dd.read_csv(store.fs.unstrip_protocol(store.root + "/x.csv")).compute(), frame)
        _same_frame(dd.read_parquet(store.root + "/x.parquet", filesystem=store.fs).compute(), frame)
    finally:
        fs.rm(root, recursive=True)
