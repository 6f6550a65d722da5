"""Only "not found" becomes KeyError; every other backend failure is an OSError with its cause."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from minimalkv_fsspec.backends.adapters._base import name_backend_failure
from minimalkv_fsspec.exceptions import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    StoreAccessDeniedError,
    _failure_class,
)
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


class BrokenStreamFileSystem(MemoryFileSystem):
    """A filesystem whose files break off after the first read, like a connection that dies mid-stream."""

    protocol = ("brokenstream",)  # not "memory": the store streams from fs.open()

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        file = super()._open(path, mode, **kwargs)
        if "r" in mode:
            read = file.read

            def read_then_break(size: int = -1) -> bytes:
                if file.tell() > 0:
                    raise RuntimeError("connection reset by peer")
                return bytes(read(min(size, 4) if size and size > 0 else 4))

            file.read = read_then_break
        return file


def test_a_stream_that_breaks_in_get_file_is_a_backend_error() -> None:
    store = FSSpecStore(BrokenStreamFileSystem(skip_instance_cache=True), f"/{uuid.uuid4().hex}")
    store.put("key", b"0123456789")
    with pytest.raises(BackendError) as info:
        store.get_file("key", io.BytesIO())
    assert isinstance(info.value.__cause__, RuntimeError)


def test_the_callers_own_file_errors_pass_unchanged() -> None:
    class FullDisk(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

    store = FSSpecStore(MemoryFileSystem(skip_instance_cache=True), f"/{uuid.uuid4().hex}")
    store.put("key", b"value")
    with pytest.raises(OSError, match="No space left") as info:
        store.get_file("key", FullDisk())
    assert type(info.value) is OSError


def test_outages_are_connection_and_timeout_errors() -> None:
    assert issubclass(BackendUnavailableError, (BackendError, ConnectionError))
    assert issubclass(BackendTimeoutError, (BackendError, TimeoutError))

    # Client libraries' classes, by the names they really have (redis, botocore, aiohttp, azure-core).
    def driver_error(name: str, *bases: type[BaseException]) -> BaseException:
        return type(name, bases or (Exception,), {"__module__": "some_driver"})("failed")

    assert _failure_class(driver_error("EndpointConnectionError")) is BackendUnavailableError
    assert _failure_class(driver_error("ServiceRequestError")) is BackendUnavailableError
    assert _failure_class(driver_error("ReadTimeoutError", OSError)) is BackendTimeoutError
    assert _failure_class(driver_error("HttpResponseError")) is BackendError
    chained = driver_error("ClientError")
    chained.__cause__ = ConnectionResetError()
    assert _failure_class(chained) is BackendUnavailableError


def test_cloud_stores_name_the_service_except_for_the_callers_errors() -> None:
    store = FSSpecStore(MemoryFileSystem(skip_instance_cache=True), "/bucket")
    own = OSError("source broke")
    assert name_backend_failure("S3", store, own, own, "key", str) is own

    aiohttp_like = type("ClientConnectorError", (OSError,), {"__module__": "aiohttp"})("Cannot connect to host")
    named = name_backend_failure("S3", store, aiohttp_like, aiohttp_like, "key", str)
    assert isinstance(named, BackendUnavailableError)
    assert str(named).startswith("S3 (")
    assert "'key'" in str(named)

    refused = StoreAccessDeniedError("FSSpecStore: access was denied")
    renamed = name_backend_failure("S3", store, refused, PermissionError(), "key", str)
    assert isinstance(renamed, StoreAccessDeniedError)
    assert str(renamed) == "S3: FSSpecStore: access was denied"
