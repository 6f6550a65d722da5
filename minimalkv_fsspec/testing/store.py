"""StoreTests: the conformance tests that every store and decorator runs."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
import random
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
from minimalkv_fsspec.testing.stateful import ModelCheckTally, run_model_check

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
    ``file_and_directory_keys``
        Whether ``a`` and ``a/b`` can be stored at once; a filesystem cannot.
    ``stateful_examples``, ``stateful_examples_long``, ``stateful_steps``
        How many random operation sequences the model check runs (200; 10,000 under
        ``pytest --long``, an option the project's root ``conftest.py`` adds), and the
        most operations in one sequence (10).
    ``concurrency_threads``, ``concurrency_processes``, ``concurrency_operations``, ``concurrency_value_size``
        The concurrency tests: 8 threads share the store, and 4 processes each use an
        unpickled copy of it; each worker runs 40 random operations on three shared keys
        with self-checking values of up to 64 KiB.
    ``shared_between_processes``
        False for a store that lives in one process's memory (a dict, fsspec's memory
        filesystem): such a suite has no process test at all, rather than a skipped one.
    ``process_start_method``
        How the processes start: ``"fork"`` on Linux (fast; each process still works on
        its own unpickled store, never on clients inherited from the parent), else
        ``"spawn"``.
    """

    extended_keys: bool | None = None
    file_and_directory_keys: bool = True
    large_value_size: int = 64 * MiB
    stateful_examples: int = 200
    stateful_examples_long: int = 10_000
    stateful_steps: int = 10
    concurrency_threads: int = 8
    concurrency_processes: int = 4
    concurrency_operations: int = 40
    concurrency_value_size: int = 64 * 1024
    shared_between_processes: bool = True
    process_start_method: str = "fork" if sys.platform.startswith("linux") else "spawn"

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
        for call in (store.get, store.open, lambda key: store.get_file(key, io.BytesIO())):
            with pytest.raises(KeyError):
                call("dir/sub")
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
        with pickle.loads(pickle.dumps(store)) as clone:
            assert clone.get("key") == b"value"

    # -- model check ----------------------------------------------------------------------------------

    def test_behaves_like_a_dict(self, store: Any, request: pytest.FixtureRequest) -> None:
        long_run = request.config.getoption("long", default=False)
        tally = ModelCheckTally()
        try:
            run_model_check(
                store,
                self.side_get,
                self._extended(store),
                self.stateful_examples_long if long_run else self.stateful_examples,
                self.file_and_directory_keys,
                steps=self.stateful_steps,
                tally=tally,
            )
        finally:
            # The root conftest.py sums these up at the end of the run.
            request.node.user_properties.append(("model_check", (tally.sequences, tally.divergences)))

    # -- concurrency ----------------------------------------------------------------------------------

    def test_threads_see_only_whole_values(self, store: Any, tmp_path: Any) -> None:
        run = _Hammer(os.urandom(8).hex().encode(), self.concurrency_operations, self.concurrency_value_size)
        with ThreadPoolExecutor(self.concurrency_threads) as pool:
            futures = [pool.submit(run, store, worker, str(tmp_path)) for worker in range(self.concurrency_threads)]
            problems = [problem for future in futures for problem in future.result()]
        assert not problems, "\n".join(problems)
        self._assert_settled(store, run)

    def test_processes_see_only_whole_values(self, store: Any, tmp_path: Any) -> None:
        run = _Hammer(os.urandom(8).hex().encode(), self.concurrency_operations, self.concurrency_value_size)
        # Pickled before the fork: a store may keep its credentials in the pickling process,
        # where a forked child finds them.
        pickled = pickle.dumps(store)
        arguments = [(run, pickled, worker, str(tmp_path)) for worker in range(self.concurrency_processes)]
        context = multiprocessing.get_context(self.process_start_method)
        with warnings.catch_warnings():
            # Python >= 3.12 warns that fork() copies a threaded process (the cloud stores run an
            # event loop thread); the children use only the store they unpickle, never inherited clients.
            warnings.filterwarnings("ignore", r".*fork\(\) may lead to deadlocks", DeprecationWarning)
            with context.Pool(self.concurrency_processes) as pool:
                # A deadlocked worker fails the test instead of hanging the run.
                results = pool.starmap_async(_hammer_a_clone, arguments).get(_PROCESS_DEADLINE)
        problems = [problem for worker_problems in results for problem in worker_problems]
        assert not problems, "\n".join(problems)
        self._assert_settled(store, run)

    def _assert_settled(self, store: Any, run: _Hammer) -> None:
        """Once the workers are done, each surviving key holds a whole value, through the store and the side door."""
        listed = store.keys()
        assert len(listed) == len(set(listed)), f"keys() repeats a key: {listed}"
        assert set(listed) <= set(_HAMMERED_KEYS), f"keys() lists keys nobody wrote: {listed}"
        for key in listed:
            for problem in (run.problem(key, store.get(key)), run.problem(key, self.side_get(store, key))):
                assert problem is None, problem

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.shared_between_processes:
            # No such test in this suite at all (rather than a skipped one).
            cls.test_processes_see_only_whole_values = None  # type: ignore[assignment]


_HAMMERED_KEYS = ["shared0", "shared1", "shared2"]
_PROCESS_DEADLINE = 600  # seconds


class _Hammer:
    """One worker's random operations on a few shared keys; values check themselves.

    A value is a SHA-256 digest followed by the data it is the digest of, and the data
    starts with the test's nonce: a torn, mixed or foreign value fails the check.
    """

    def __init__(self, nonce: bytes, operations: int, max_size: int) -> None:
        self.nonce = nonce
        self.operations = operations
        self.max_size = max_size

    def value(self, rng: random.Random, worker: int, number: int) -> bytes:
        data = self.nonce + f":{worker}:{number}:".encode()
        size = rng.randrange(self.max_size + 1)
        data += (hashlib.sha256(data).digest() * (size // 32 + 1))[:size]
        return hashlib.sha256(data).digest() + data

    def problem(self, key: str, value: bytes | None) -> str | None:
        """Return what is wrong with *value* read under *key*, or None if a writer wrote it whole."""
        if value is None:
            return None
        if hashlib.sha256(value[32:]).digest() != value[:32] or not value[32:].startswith(self.nonce):
            return f"{key}: {len(value)} bytes that no writer wrote whole"
        return None

    def __call__(self, store: Any, worker: int, scratch: str) -> list[str]:
        rng = random.Random(self.nonce + bytes([worker]))  # other interleavings in every run
        problems: list[str] = []
        for number in range(self.operations):
            key = rng.choice(_HAMMERED_KEYS)
            action = rng.choice(["put", "put_file", "get", "open", "get_many", "delete"])
            read: list[tuple[str, bytes]] = []
            try:
                if action == "put":
                    store.put(key, self.value(rng, worker, number))
                elif action == "put_file":
                    if number % 2:
                        store.put_file(key, io.BytesIO(self.value(rng, worker, number)))
                    else:
                        # A fresh file each time: a store may move the file instead of copying it.
                        source = os.path.join(scratch, f"source-{os.getpid()}-{worker}-{number}")
                        with open(source, "wb") as file:
                            file.write(self.value(rng, worker, number))
                        store.put_file(key, source)
                elif action == "get":
                    read.append((key, store.get(key)))
                elif action == "open":
                    with store.open(key) as file:
                        read.append((key, file.read()))
                elif action == "get_many":
                    read.extend(store.get_many(_HAMMERED_KEYS).items())
                else:
                    store.delete(key)
            except KeyError:
                if action not in ("get", "open"):
                    problems.append(f"{action}({key!r}) raised KeyError")
            except Exception as exc:  # noqa: BLE001 -- every other exception is a finding
                problems.append(f"{action}({key!r}) raised {type(exc).__name__}: {exc}")
            problems.extend(problem for problem in (self.problem(*item) for item in read) if problem)
        return problems


def _hammer_a_clone(run: _Hammer, pickled_store: bytes, worker: int, scratch: str) -> list[str]:
    """Hammer an unpickled clone of the store: a process never uses clients inherited by fork."""
    store = pickle.loads(pickled_store)
    try:
        return run(store, worker, scratch)
    finally:
        store.close()
