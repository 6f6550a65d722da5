"""StoreTests: the conformance tests that every store and decorator runs."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from minimalkv_fsspec._mixins import CopyMixin
from minimalkv_fsspec.testing.keys import (
    EXTENDED_KEYS,
    INVALID_EXTENDED_KEYS,
    INVALID_KEYS,
    VALID_KEYS,
    VALID_SINGLE_CHARACTERS,
)
from minimalkv_fsspec.testing.stateful import run_model_check

MiB = 1024 * 1024


def _pattern(size: int, seed: int = 0) -> Iterator[bytes]:
    """Yield *size* bytes of deterministic, non-repeating-looking data in 1 MiB chunks."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    remaining = size
    counter = 0
    while remaining > 0:
        chunk = bytes([counter % 251]) + block[1:]
        yield chunk[: min(MiB, remaining)]
        remaining -= MiB
        counter += 1


def _pattern_digest(size: int, seed: int = 0) -> str:
    digest = hashlib.sha256()
    for chunk in _pattern(size, seed):
        digest.update(chunk)
    return digest.hexdigest()


class _PatternReader(io.RawIOBase):
    """A file-like object producing the pattern without holding it in memory."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self._chunks = _pattern(size, seed)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _HashingWriter(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _calls_with_key(store: Any, key: Any, filename: str) -> list[Any]:
    """Return every call of the store's API that takes *key*, ready to run."""
    return [
        lambda: store.get(key),
        lambda: store.put(key, b"x"),
        lambda: store.put_file(key, io.BytesIO(b"x")),
        lambda: store.delete(key),
        lambda: store.open(key),
        lambda: store.get_file(key, io.BytesIO()),
        lambda: store.get_file(key, filename),
        lambda: key in store,
        lambda: store.get_many(["present", key]),
        lambda: store.put_many({"present": b"2", key: b"x"}),
        lambda: store.delete_many(["present", key]),
    ]


class StoreTests:
    """Conformance tests; subclass with a ``store`` fixture and the side-door helpers.

    Attributes a subclass may set:

    ``extended_keys``
        Whether the store accepts ``/`` and space in keys; ``None`` asks the store.
    ``large_value_size``
        Bytes of the streamed large-value test (64 MiB by default).
    ``stateful_examples``
        How many random operation sequences the model check runs.
    ``file_and_directory_keys``
        Whether ``a`` and ``a/b`` can be stored at once; a filesystem cannot.
    """

    extended_keys: bool | None = None
    file_and_directory_keys: bool = True
    large_value_size: int = 64 * MiB
    stateful_examples: int = 25

    # -- what a backend provides ------------------------------------------------

    @pytest.fixture
    def store(self) -> Any:
        """Return a fresh, empty store."""
        raise NotImplementedError("a StoreTests subclass must define the 'store' fixture")

    def side_get(self, store: Any, key: str) -> bytes | None:
        """Return the value stored under *key* read without the store, or None if there is none."""
        raise NotImplementedError("a StoreTests subclass must read its backend directly in side_get")

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        """Store *value* under *key* without going through the store."""
        raise NotImplementedError("a StoreTests subclass must write its backend directly in side_put")

    # -- helpers ------------------------------------------------------------------

    def _extended(self, store: Any) -> bool:
        if self.extended_keys is not None:
            return self.extended_keys
        try:
            store._check_valid_key("a/b")
        except ValueError:
            return False
        return True

    def _valid_keys(self, store: Any) -> list[str]:
        return VALID_KEYS + (EXTENDED_KEYS if self._extended(store) else [])

    def _invalid_keys(self, store: Any) -> list[Any]:
        return INVALID_EXTENDED_KEYS if self._extended(store) else INVALID_KEYS

    # -- put and get ----------------------------------------------------------------

    def test_put_returns_key_and_side_door_sees_value(self, store: Any) -> None:
        assert store.put("key", b"value") == "key"
        assert self.side_get(store, "key") == b"value"
        assert store.get("key") == b"value"

    def test_get_reads_value_written_by_side_door(self, store: Any) -> None:
        self.side_put(store, "written", b"from the side")
        assert store.get("written") == b"from the side"
        assert "written" in store
        assert store.keys() == ["written"]

    def test_empty_value_is_a_value(self, store: Any) -> None:
        store.put("empty", b"")
        assert self.side_get(store, "empty") == b""
        assert store.get("empty") == b""
        assert "empty" in store
        assert store.keys() == ["empty"]
        with store.open("empty") as file:
            assert file.read() == b""

    def test_overwrite_replaces_value(self, store: Any) -> None:
        store.put("key", b"first, and longer")
        store.put("key", b"second")
        assert self.side_get(store, "key") == b"second"
        assert store.get("key") == b"second"

    def test_binary_values_round_trip_exactly(self, store: Any) -> None:
        value = bytes(range(256)) * 17 + b"\x00\r\n\x00"
        store.put("binary", value)
        assert self.side_get(store, "binary") == value
        assert store.get("binary") == value

    @pytest.mark.parametrize("value", ["text", bytearray(b"x"), memoryview(b"x"), 1, None])
    def test_non_bytes_value_raises_oserror(self, store: Any, value: Any) -> None:
        with pytest.raises(OSError):  # noqa: PT011 -- minimalkv's contract is a plain IOError
            store.put("key", value)
        assert self.side_get(store, "key") is None

    # -- keys --------------------------------------------------------------------------

    def test_every_valid_key_round_trips(self, store: Any) -> None:
        keys = list(dict.fromkeys(self._valid_keys(store) + VALID_SINGLE_CHARACTERS))
        for number, key in enumerate(keys):
            store.put(key, f"value {number}".encode())
        for number, key in enumerate(keys):
            assert self.side_get(store, key) == f"value {number}".encode(), key
            assert store.get(key) == f"value {number}".encode(), key
            assert key in store
        assert sorted(store.keys()) == sorted(set(keys))

    def test_invalid_keys_raise_valueerror_before_the_backend(self, store: Any, tmp_path: Any) -> None:
        store.put("present", b"1")
        for key in self._invalid_keys(store):
            for call in _calls_with_key(store, key, str(tmp_path / "out")):
                with pytest.raises(ValueError):  # noqa: PT011
                    call()
            if isinstance(store, CopyMixin) or hasattr(store, "copy"):
                with pytest.raises(ValueError):  # noqa: PT011
                    store.copy("present", key)
                with pytest.raises(ValueError):  # noqa: PT011
                    store.copy(key, "present")
        assert not (tmp_path / "out").exists()
        assert store.keys() == ["present"]
        assert self.side_get(store, "present") == b"1"

    def test_extended_keys_nest_and_list(self, store: Any) -> None:
        if not self._extended(store):
            with pytest.raises(ValueError):  # noqa: PT011
                store.put("dir/sub/one", b"1")
            assert store.keys() == []
            return
        store.put("dir/sub/one", b"1")
        store.put("dir/two", b"2")
        store.put("dir space/three", b"3")
        assert self.side_get(store, "dir/sub/one") == b"1"
        assert sorted(store.keys("dir/")) == ["dir/sub/one", "dir/two"]
        assert sorted(store.iter_prefixes("/")) == ["dir space/", "dir/"]
        assert sorted(store.iter_prefixes("/", prefix="dir/")) == ["dir/sub/", "dir/two"]
        assert "dir" not in store
        assert "dir/sub" not in store
        with pytest.raises(KeyError):
            store.get("dir/sub")
        store.delete("dir/sub/one")
        assert sorted(store.keys()) == ["dir space/three", "dir/two"]

    # -- missing keys and delete ---------------------------------------------------------

    def test_missing_key_raises_keyerror(self, store: Any, tmp_path: Any) -> None:
        with pytest.raises(KeyError):
            store.get("missing")
        with pytest.raises(KeyError):
            store.open("missing")
        with pytest.raises(KeyError):
            store.get_file("missing", io.BytesIO())
        target = tmp_path / "never-created"
        with pytest.raises(KeyError):
            store.get_file("missing", str(target))
        assert not target.exists()
        assert "missing" not in store

    def test_delete_removes_and_is_idempotent(self, store: Any) -> None:
        store.put("doomed", b"x")
        store.put("kept", b"y")
        store.delete("doomed")
        assert self.side_get(store, "doomed") is None
        assert "doomed" not in store
        store.delete("doomed")
        store.delete("never-there")
        assert store.keys() == ["kept"]

    # -- listing -------------------------------------------------------------------------------

    def test_keys_is_a_list_filtered_by_prefix(self, store: Any) -> None:
        for key in ("apple", "apricot", "banana", "ap", "a"):
            self.side_put(store, key, b"x")
        keys = store.keys()
        assert isinstance(keys, list)
        assert sorted(keys) == ["a", "ap", "apple", "apricot", "banana"]
        assert sorted(store.keys("ap")) == ["ap", "apple", "apricot"]
        assert sorted(store.iter_keys("apr")) == ["apricot"]
        assert store.keys("cherry") == []
        assert sorted(store) == sorted(keys)

    def test_prefix_characters_are_literal(self, store: Any) -> None:
        for key in ("a%b", "a_b", "axb", "a[b]", "a?", "a.b"):
            store.put(key, b"x")
        assert store.keys("a%") == ["a%b"]
        assert store.keys("a_") == ["a_b"]
        assert store.keys("a[") == ["a[b]"]
        assert store.keys("a?") == ["a?"]
        assert store.keys("a.") == ["a.b"]

    def test_iter_prefixes_splits_after_the_prefix(self, store: Any) -> None:
        keys = ["X", "a1Xb1", "a2X", "a2Xb1", "a3", "a4Xb1Xc1", "a4Xb1Xc2", "a4Xb2Xc1", "a4Xb3"]
        for key in keys:
            store.put(key, b"x")
        prefixes = list(store.iter_prefixes("X"))
        assert len(prefixes) == len(set(prefixes))
        assert set(prefixes) == {"X", "a1X", "a2X", "a3", "a4X"}
        assert set(store.iter_prefixes("X", prefix="a4X")) == {"a4Xb1X", "a4Xb2X", "a4Xb3"}

    # -- files -----------------------------------------------------------------------------------

    def test_open_seek_tell_contract(self, store: Any) -> None:
        store.put("key", b"0123456789")
        file = store.open("key")
        assert file.read(3) == b"012"
        assert file.tell() == 3
        assert file.seek(5) == 5
        assert file.read(2) == b"56"
        file.seek(-2, os.SEEK_END)
        assert file.read() == b"89"
        file.seek(-4, os.SEEK_CUR)
        assert file.read(1) == b"6"
        assert file.seek(100) == 100
        assert file.read() == b""
        with pytest.raises(OSError):  # noqa: PT011
            file.seek(-1)
        with pytest.raises(OSError):  # noqa: PT011
            file.seek(-200, os.SEEK_CUR)
        assert file.seekable()
        assert file.readable()
        file.close()
        for call in (file.read, file.tell, lambda: file.seek(0)):
            with pytest.raises(ValueError):  # noqa: PT011
                call()

    def test_seek_on_empty_value(self, store: Any) -> None:
        store.put("empty", b"")
        with store.open("empty") as file:
            assert file.seek(10) == 10
            assert file.read() == b""

    def test_put_file_and_get_file_with_file_objects(self, store: Any) -> None:
        source = io.BytesIO(b"skip:payload")
        source.seek(5)
        assert store.put_file("key", source) == "key"
        assert self.side_get(store, "key") == b"payload"
        target = io.BytesIO()
        assert store.get_file("key", target) == "key"
        assert target.getvalue() == b"payload"

    def test_put_file_and_get_file_with_filenames(self, store: Any, tmp_path: Any) -> None:
        source = tmp_path / "source"
        source.write_bytes(b"from a file")
        store.put_file("key", str(source))
        assert self.side_get(store, "key") == b"from a file"
        target = tmp_path / "target"
        target.write_bytes(b"old content that is longer")
        store.get_file("key", str(target))
        assert target.read_bytes() == b"from a file"

    def test_large_value_streams_through_files(self, store: Any, tmp_path: Any) -> None:
        size = self.large_value_size
        expected = _pattern_digest(size)
        store.put_file("large", _PatternReader(size))
        writer = _HashingWriter()
        store.get_file("large", writer)
        assert (writer.size, writer.digest.hexdigest()) == (size, expected)
        with store.open("large") as file:
            file.seek(size - 10)
            tail = file.read()
        assert len(tail) == 10
        target = tmp_path / "large.out"
        store.get_file("large", str(target))
        assert target.stat().st_size == size
        side = self.side_get(store, "large")
        assert side is not None
        assert hashlib.sha256(side).hexdigest() == expected

    # -- copy and move ---------------------------------------------------------------------------

    def test_copy_and_move(self, store: Any) -> None:
        if not (isinstance(store, CopyMixin) or callable(getattr(store, "copy", None))):
            assert not hasattr(store, "move"), "a store without copy should not offer move"
            return
        store.put("source", b"value")
        store.put("dest", b"old")
        assert store.copy("source", "dest") == "dest"
        assert self.side_get(store, "dest") == b"value"
        assert self.side_get(store, "source") == b"value"
        with pytest.raises(KeyError):
            store.copy("missing", "dest")
        assert store.get("dest") == b"value"
        assert store.move("source", "moved") == "moved"
        assert self.side_get(store, "source") is None
        assert store.get("moved") == b"value"
        with pytest.raises(KeyError):
            store.move("missing", "elsewhere")

    # -- bulk operations ---------------------------------------------------------------------------

    def test_bulk_operations(self, store: Any) -> None:
        items = {f"bulk{number}": f"value {number}".encode() for number in range(50)}
        items["bulk-empty"] = b""
        assert store.put_many(items) == list(items)
        for key, value in items.items():
            assert self.side_get(store, key) == value
        found = store.get_many([*items, "missing"])
        assert found == items
        store.delete_many(["bulk0", "bulk1", "missing"])
        assert self.side_get(store, "bulk0") is None
        assert sorted(store.keys("bulk")) == sorted(set(items) - {"bulk0", "bulk1"})
        assert store.get_many([]) == {}
        store.put_many({})
        store.delete_many([])

    def test_bulk_put_rejects_non_bytes_before_writing(self, store: Any) -> None:
        with pytest.raises(OSError):  # noqa: PT011
            store.put_many({"good": b"1", "bad": "text"})
        assert self.side_get(store, "good") is None

    # -- lifecycle ---------------------------------------------------------------------------------

    def test_close_and_context_manager(self, store: Any) -> None:
        store.put("key", b"value")
        with store as entered:
            assert entered.get("key") == b"value"

    def test_pickle_round_trip(self, store: Any) -> None:
        store.put("key", b"value")
        clone = pickle.loads(pickle.dumps(store))
        assert clone.get("key") == b"value"

    # -- model check ----------------------------------------------------------------------------------

    def test_behaves_like_a_dict(self, store: Any) -> None:
        run_model_check(
            store, self.side_get, self._extended(store), self.stateful_examples, self.file_and_directory_keys
        )
