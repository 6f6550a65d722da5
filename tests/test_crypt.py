"""HMACDecorator: the conformance suite, tampering, replay, streaming verification."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from minimalkv_fsspec.crypt import HMACDecorator, VerificationException, _HMACFileReader
from minimalkv_fsspec.decorator import PrefixDecorator
from minimalkv_fsspec.fs import FilesystemStore
from minimalkv_fsspec.memory import DictStore
from minimalkv_fsspec.testing import TTLStoreTests
from tests.test_decorators import SECRET, DecoratorSuite, innermost, make_backend, raw_get, raw_put, sign, unsign

if TYPE_CHECKING:
    from minimalkv_fsspec import KeyValueStore

MiB = 1024 * 1024


class TestHMACDecorator(DecoratorSuite):
    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        return HMACDecorator(SECRET, backend)

    def side_get(self, store: Any, key: str) -> bytes | None:
        return unsign(key, raw_get(innermost(store), key))

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        raw_put(innermost(store), key, sign(key, value))


@pytest.mark.parametrize("backend_name", ["dict", "fs"])
def test_64_mib_value_streams(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    suite = TestHMACDecorator()
    suite.large_value_size = 64 * MiB
    store = HMACDecorator(SECRET, make_backend(backend_name, request, tmp_path))
    suite.test_large_value_streams_through_files(store, tmp_path)


class TestHMACDecoratorTTL(TTLStoreTests):
    @pytest.fixture
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        return HMACDecorator(SECRET, make_backend("redis", request, tmp_path))


@pytest.fixture
def backend() -> DictStore:
    return DictStore()


@pytest.fixture
def store(backend: DictStore) -> HMACDecorator:
    return HMACDecorator(SECRET, backend)


VALUE = bytes(range(256)) * 40  # 10240 bytes


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


# -- the stored format ---------------------------------------------------------------------


def test_stored_value_is_value_then_hmac_salted_with_the_key(store: HMACDecorator, backend: DictStore) -> None:
    store.put("key", b"value")
    expected = hmac.new(b"key" + SECRET, b"value", hashlib.sha256).digest()
    assert backend.d["key"] == b"value" + expected
    assert store.digest_size == 32


def test_other_hash_functions() -> None:
    backend = DictStore()
    store = HMACDecorator(SECRET, backend, hashfunc=hashlib.sha512)
    store.put("key", b"value")
    assert len(backend.d["key"]) == 5 + 64
    assert store.get("key") == b"value"
    assert HMACDecorator(SECRET, backend, hashfunc=hashlib.sha256).keys() == ["key"]
    with pytest.raises(VerificationException):
        HMACDecorator(SECRET, backend, hashfunc=hashlib.sha256).get("key")


def test_secret_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="empty"):
        HMACDecorator(b"", DictStore())
    with pytest.raises(TypeError):
        HMACDecorator(12345, DictStore())  # type: ignore[arg-type]
    store = HMACDecorator("text secret \u00fc", DictStore())
    store.put("key", b"x")
    assert store.get("key") == b"x"
    secret_store = HMACDecorator(b"TOP-SECRET-VALUE", DictStore())
    secret_store.put("key", b"x")
    secret_store._dstore.d["key"] = b"tampered" + secret_store._dstore.d["key"]
    with pytest.raises(VerificationException) as error:
        secret_store.get("key")
    for text in (repr(secret_store), str(secret_store), str(error.value), repr(error.value)):
        assert "TOP-SECRET" not in text
    assert "<secret>" in repr(secret_store)


def test_secret_survives_pickling(store: HMACDecorator, backend: DictStore) -> None:
    store.put("key", b"value")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("key") == b"value"
    assert clone._dstore.d == backend.d


# -- tampering and replay -----------------------------------------------------------------


def test_value_moved_to_another_key_fails(store: HMACDecorator, backend: DictStore) -> None:
    store.put("alice", b"alice's value")
    backend.d["bob"] = backend.d["alice"]  # replayed by someone without the secret
    for read in (store.get, lambda key: store.open(key).read(), lambda key: store.get_many([key])):
        with pytest.raises(VerificationException, match="bob"):
            read("bob")
    with pytest.raises(VerificationException):
        store.get_file("bob", io.BytesIO())
    assert store.get("alice") == b"alice's value"


def test_value_moved_under_a_prefix_fails() -> None:
    backend = DictStore()
    HMACDecorator(SECRET, PrefixDecorator("a-", backend)).put("key", b"x")
    backend.d["b-key"] = backend.d["a-key"]
    # Signed under the caller's key "key" in both places: a prefix is not part of the salt.
    assert HMACDecorator(SECRET, PrefixDecorator("b-", backend)).get("key") == b"x"
    # Signing below the prefix salts with the full key, so the same move fails.
    PrefixDecorator("a-", HMACDecorator(SECRET, backend)).put("key", b"y")
    backend.d["b-key"] = backend.d["a-key"]
    with pytest.raises(VerificationException):
        PrefixDecorator("b-", HMACDecorator(SECRET, backend)).get("key")


@pytest.mark.parametrize("cut", [1, 31, 32, 33, len(VALUE) + 31])
def test_truncated_value_fails(store: HMACDecorator, backend: DictStore, cut: int) -> None:
    store.put("key", VALUE)
    backend.d["key"] = backend.d["key"][:-cut]
    with pytest.raises(VerificationException):
        store.get("key")
    with pytest.raises(VerificationException), store.open("key") as file:
        file.read()
    with pytest.raises(VerificationException):
        store.get_many(["key"])


@pytest.mark.parametrize("position", [0, 5000, len(VALUE) - 1, len(VALUE), len(VALUE) + 31])
def test_flipped_byte_fails(store: HMACDecorator, backend: DictStore, position: int, tmp_path: Path) -> None:
    store.put("key", VALUE)
    backend.d["key"] = flipped(backend.d["key"], position)
    with pytest.raises(VerificationException):
        store.get("key")
    with pytest.raises(VerificationException):
        store.get_file("key", io.BytesIO())
    target = tmp_path / "target"
    target.write_bytes(b"the caller's old content")
    with pytest.raises(VerificationException):
        store.get_file("key", str(target))
    assert target.read_bytes() == b"the caller's old content"
    assert [path.name for path in tmp_path.iterdir()] == ["target"]
    with pytest.raises(VerificationException):
        store.copy("key", "copy")
    assert "copy" not in store


def test_wrong_secret_fails(backend: DictStore) -> None:
    HMACDecorator(b"one secret", backend).put("key", b"x")
    with pytest.raises(VerificationException):
        HMACDecorator(b"another secret", backend).get("key")


# -- open() verifies while streaming -----------------------------------------------------


class NonSeekable(io.RawIOBase):
    """A stream that can only be read forward, like a network response."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


class StreamingBackend(DictStore):
    """A DictStore whose open() returns a non-seekable stream."""

    def _open(self, key: str) -> Any:
        return io.BufferedReader(NonSeekable(self.d[key]))


@pytest.mark.parametrize("backend_class", [DictStore, StreamingBackend])
@pytest.mark.parametrize("position", [0, 4096, len(VALUE) - 1, len(VALUE) + 5])
def test_open_raises_before_the_last_chunk_of_tampered_data(backend_class: type, position: int) -> None:
    backend = backend_class()
    store = HMACDecorator(SECRET, backend)
    store.put("key", VALUE)
    backend.d["key"] = flipped(backend.d["key"], position)
    seen = bytearray()
    with store.open("key") as file, pytest.raises(VerificationException):  # noqa: PT012
        while chunk := file.read(1000):
            seen += chunk
    # Whatever was returned before the exception stops short of the end of the value.
    assert len(seen) < len(VALUE)
    assert len(seen) <= len(VALUE) - (len(VALUE) % 1000 or 1000)


@pytest.mark.parametrize("backend_class", [DictStore, StreamingBackend])
@pytest.mark.parametrize("chunk", [1, 7, 31, 32, 33, 1000, len(VALUE), len(VALUE) + 100])
def test_open_reads_intact_values_in_any_chunk_size(backend_class: type, chunk: int) -> None:
    backend = backend_class()
    store = HMACDecorator(SECRET, backend)
    store.put("key", VALUE)
    with store.open("key") as file:
        parts = []
        while part := file.read(chunk):
            parts.append(part)
        assert file.read() == b""
        assert file.read(10) == b""
    assert b"".join(parts) == VALUE


def test_open_is_seekable_and_verifies_when_reaching_the_end(store: HMACDecorator, backend: DictStore) -> None:
    store.put("key", VALUE)
    with store.open("key") as file:
        file.seek(-10, os.SEEK_END)
        assert file.read() == VALUE[-10:]
        file.seek(100)
        assert file.read(5) == VALUE[100:105]
    backend.d["key"] = flipped(backend.d["key"], 50)
    with store.open("key") as file:
        file.seek(100)
        assert file.read(10) == VALUE[100:110]  # the middle, not yet verifiable
        with pytest.raises(VerificationException):
            file.read()  # reaching the end hashes the skipped start too
        file.seek(len(VALUE) + 10)
        with pytest.raises(VerificationException):
            file.read()


def test_open_of_a_non_seekable_stream(backend: DictStore) -> None:
    streaming = StreamingBackend()
    store = HMACDecorator(SECRET, streaming)
    store.put("key", b"abc")
    with store.open("key") as file:
        assert not file.seekable()
        with pytest.raises(io.UnsupportedOperation):
            file.seek(0)
        assert file.read(1) == b"a"
        assert file.tell() == 1
        assert file.read() == b"bc"


def test_open_of_a_value_shorter_than_a_signature(store: HMACDecorator, backend: DictStore) -> None:
    backend.d["short"] = b"x" * 31
    with pytest.raises(VerificationException, match="short"):
        store.open("short")
    with pytest.raises(KeyError):
        store.open("missing")


# -- _HMACFileReader, as minimalkv's tests use it -------------------------------------------


def reader_for(data: bytes, key: bytes = b"key") -> _HMACFileReader:
    return _HMACFileReader(hmac.new(key + SECRET, None, hashlib.sha256), io.BytesIO(data))


def test_file_reader_reads_and_closes() -> None:
    reader = reader_for(sign("key", VALUE))
    assert reader.read(0) == b""
    assert reader.read() == VALUE
    assert not reader.source.closed
    reader.close()
    assert reader.source.closed
    with pytest.raises(ValueError):  # noqa: PT011
        reader.read()


def test_file_reader_refuses_short_and_bad_input() -> None:
    with pytest.raises(VerificationException):
        reader_for(b"a")
    with pytest.raises(VerificationException):
        reader_for(sign("other", VALUE)).read()
    reader = reader_for(flipped(sign("key", VALUE), 3))
    with pytest.raises(VerificationException):  # noqa: PT012
        while len(reader.read(100)) == 100:
            pass


def test_file_reader_readinto() -> None:
    reader = reader_for(sign("key", b"hello"))
    buffer = bytearray(10)
    assert reader.readinto(buffer) == 5
    assert bytes(buffer[:5]) == b"hello"


# -- writing -----------------------------------------------------------------------------


def test_put_file_leaves_the_callers_file_alone(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"caller's data")
    before = source.stat()
    backend = FilesystemStore(str(tmp_path / "store"))
    store = HMACDecorator(SECRET, backend)
    store.put_file("key", str(source))
    assert source.read_bytes() == b"caller's data"  # not signed in place, not moved
    assert source.stat().st_mtime_ns == before.st_mtime_ns
    assert store.get("key") == b"caller's data"
    assert raw_get(backend, "key") == sign("key", b"caller's data")


def test_put_file_streams(store: HMACDecorator, backend: DictStore) -> None:
    class Chunks(io.RawIOBase):
        def __init__(self) -> None:
            self.chunks = [b"a" * 100, b"b" * 100, b""]

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.chunks.pop(0)
            buffer[: len(chunk)] = chunk
            return len(chunk)

    store.put_file("key", Chunks())
    assert store.get("key") == b"a" * 100 + b"b" * 100


def test_copy_and_move_sign_again(store: HMACDecorator, backend: DictStore) -> None:
    store.put("source", b"value")
    assert store.copy("source", "dest") == "dest"
    assert backend.d["dest"] == sign("dest", b"value")
    assert store.move("dest", "moved") == "moved"
    assert "dest" not in store
    assert store.get("moved") == b"value"
    assert store.copy("source", "source") == "source"
    assert store.get("source") == b"value"
    with pytest.raises(KeyError):
        store.copy("missing", "x")
    with pytest.raises(KeyError):
        store.move("missing", "source")


def test_copy_works_without_a_backend_copy(tmp_path: Path) -> None:
    from tests.test_decorators import NoCopyStore

    store = HMACDecorator(SECRET, NoCopyStore())
    store.put("a", b"1")
    store.copy("a", "b")
    assert store.get("b") == b"1"


def test_url_for_serves_the_signed_value(tmp_path: Path) -> None:
    backend = FilesystemStore(str(tmp_path))
    store = HMACDecorator(SECRET, backend)
    store.put("key", b"x")
    url = store.url_for("key")
    assert url == backend.url_for("key")
    assert Path(url.removeprefix("file://")).read_bytes() == sign("key", b"x")
