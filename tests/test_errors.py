"""Only "not found" becomes KeyError; every other backend failure is an OSError with its cause."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from minimalkv_fsspec.exceptions import BackendError
from minimalkv_fsspec.fsspecstore import FSSpecStore


class BrokenFileSystem(MemoryFileSystem):
    """A memory filesystem whose reads and writes fail like a flaky server."""

    protocol = ("broken",)

    def __init__(self, failure: BaseException, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failure = failure

    def cat_file(self, path: str, start: Any = None, end: Any = None, **kwargs: Any) -> bytes:
        raise self.failure

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        raise self.failure


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("503 Slow Down"), TimeoutError("read timed out"), PermissionError("access denied")],
)
def test_backend_failures_are_oserrors_not_keyerrors(failure: BaseException) -> None:
    store = FSSpecStore(BrokenFileSystem(failure, skip_instance_cache=True), f"/{uuid.uuid4().hex}")
    for call in (lambda: store.get("key"), lambda: store.put("key", b"v")):
        with pytest.raises(OSError) as info:  # noqa: PT011
            call()
        assert not isinstance(info.value, KeyError)
        if not isinstance(failure, OSError):
            assert isinstance(info.value, BackendError)
            assert info.value.__cause__ is failure


def test_not_found_is_keyerror_with_the_key() -> None:
    store = FSSpecStore(BrokenFileSystem(FileNotFoundError("gone"), skip_instance_cache=True), "/x")
    with pytest.raises(KeyError) as info:
        store.get("the-key")
    assert info.value.args == ("the-key",)


def test_repr_shows_no_storage_options() -> None:
    fs = MemoryFileSystem(skip_instance_cache=True)
    store = FSSpecStore(fs, "/data")
    assert repr(store) == "FSSpecStore(protocol='memory', root='/data')"


def test_glob_characters_in_keys_are_literal_in_bulk_calls() -> None:
    fs = MemoryFileSystem(skip_instance_cache=True)
    store = FSSpecStore(fs, f"/{uuid.uuid4().hex}")
    store.put_many({"a?": b"1", "ab": b"2", "ac": b"3", "x[y]": b"4"})
    assert store.get_many(["a?", "a[bc]"]) == {"a?": b"1"}
    store.delete_many(["a?", "a[bc]"])
    assert sorted(store.keys()) == ["ab", "ac", "x[y]"]
    store.copy("x[y]", "z")
    assert store.get("z") == b"4"


def test_write_into_a_missing_directory_is_not_a_missing_key() -> None:
    store = FSSpecStore(BrokenFileSystem(FileNotFoundError("no such bucket"), skip_instance_cache=True), "/x")
    with pytest.raises(FileNotFoundError):
        store.put("key", b"v")


def test_outage_is_not_reported_as_absent() -> None:
    class Outage(MemoryFileSystem):
        protocol = ("outage",)

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            raise ConnectionError("503")

    store = FSSpecStore(Outage(skip_instance_cache=True), "/x")
    with pytest.raises(OSError):  # noqa: PT011
        "key" in store  # noqa: B015
