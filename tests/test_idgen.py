"""HashDecorator and UUIDDecorator: key generation, streaming hashes, templates."""

from __future__ import annotations

import hashlib
import io
import pickle
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec.fs import FilesystemStore
from minimalkv_fsspec.idgen import HashDecorator, UUIDDecorator
from minimalkv_fsspec.memory import DictStore
from tests.test_decorators import make_backend

MiB = 1024 * 1024


class Stream(io.RawIOBase):
    """A non-seekable stream of *size* bytes that never holds more than one chunk."""

    def __init__(self, size: int, byte: bytes = b"x") -> None:
        self.remaining = size
        self.byte = byte

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.remaining)
        buffer[:count] = self.byte * count
        self.remaining -= count
        return count


class SizeOnlyStore(DictStore):
    """A store that keeps only the size and hash of what it is given, so memory use shows."""

    def _put_file(self, key: str, file: Any) -> None:
        digest, size = hashlib.sha1(), 0
        while chunk := file.read(MiB):
            digest.update(chunk)
            size += len(chunk)
        self.d[key] = f"{size}:{digest.hexdigest()}".encode()

    def _put_filename(self, key: str, filename: str) -> None:
        with open(filename, "rb") as file:
            self._put_file(key, file)


# -- HashDecorator ---------------------------------------------------------------------


def test_put_none_uses_the_hash_of_the_value() -> None:
    backend = DictStore()
    store = HashDecorator(backend)
    key = store.put(None, b"hello")
    assert key == hashlib.sha1(b"hello").hexdigest()
    assert backend.d == {key: b"hello"}
    assert store.put(None, b"hello") == key
    assert store.put("explicit", b"hello") == "explicit"
    assert store.get(key) == b"hello"


@pytest.mark.parametrize("hashfunc", [hashlib.sha256, hashlib.md5, hashlib.blake2b])
def test_hash_function_and_template(hashfunc: Any) -> None:
    store = HashDecorator(DictStore(), hashfunc=hashfunc, template="blob-{}.bin")
    assert store.put(None, b"data") == f"blob-{hashfunc(b'data').hexdigest()}.bin"
    assert store.template == "blob-{}.bin"


def test_template_making_an_invalid_key_raises() -> None:
    store = HashDecorator(DictStore(), template="dir/{}")
    with pytest.raises(ValueError):  # noqa: PT011
        store.put(None, b"data")
    with pytest.raises(OSError):  # noqa: PT011
        HashDecorator(DictStore()).put(None, "not bytes")  # type: ignore[arg-type]


def test_put_file_hashes_a_file_object(tmp_path: Path) -> None:
    store = HashDecorator(DictStore())
    source = io.BytesIO(b"skip:payload")
    source.seek(5)
    key = store.put_file(None, source)
    assert key == hashlib.sha1(b"payload").hexdigest()
    assert store.get(key) == b"payload"
    assert store.put_file("named", io.BytesIO(b"x")) == "named"


def test_put_file_hashes_a_non_seekable_stream_through_a_temporary_file(tmp_path: Path) -> None:
    store = HashDecorator(FilesystemStore(str(tmp_path / "store")))
    key = store.put_file(None, Stream(3 * MiB + 5))
    assert key == hashlib.sha1(b"x" * (3 * MiB + 5)).hexdigest()
    assert (tmp_path / "store" / key).stat().st_size == 3 * MiB + 5
    assert store.keys() == [key]


def test_put_file_with_a_filename_hands_the_file_down(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"content")
    backend = FilesystemStore(str(tmp_path / "store"))
    key = HashDecorator(backend).put_file(None, str(source))
    assert key == hashlib.sha1(b"content").hexdigest()
    assert not source.exists()  # moved in, as FilesystemStore does with filenames
    assert backend.get(key) == b"content"


@pytest.mark.parametrize("seekable", [True, False])
def test_put_file_never_holds_the_value_in_memory(seekable: bool, tmp_path: Path) -> None:
    size = 48 * MiB
    if seekable:
        path = tmp_path / "big"
        with open(path, "wb") as file:
            for _ in range(size // MiB):
                file.write(b"y" * MiB)
        source: Any = open(path, "rb")  # noqa: SIM115
    else:
        source = Stream(size, b"y")
    store = HashDecorator(SizeOnlyStore())
    tracemalloc.start()
    try:
        key = store.put_file(None, source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        source.close()
    expected = hashlib.sha1()
    for _ in range(size // MiB):
        expected.update(b"y" * MiB)
    assert key == expected.hexdigest()
    assert peak < 8 * MiB, peak


def test_hash_decorator_ttl_and_pickle(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    backend = make_backend("redis", request, tmp_path)
    store = HashDecorator(backend)
    key = store.put(None, b"expiring", ttl_secs=100)
    assert 0 < backend.redis.ttl(key) <= 100
    stream_key = store.put_file(None, Stream(10), ttl_secs=100)
    assert 0 < backend.redis.ttl(stream_key) <= 100
    clone = pickle.loads(pickle.dumps(HashDecorator(DictStore({"a": b"1"}), hashfunc=hashlib.sha256)))
    assert clone.put(None, b"x") == hashlib.sha256(b"x").hexdigest()
    assert "sha256" in repr(clone)


# -- UUIDDecorator -------------------------------------------------------------------------


def test_uuid_keys_are_generated_and_distinct() -> None:
    backend = DictStore()
    store = UUIDDecorator(backend)
    keys = {store.put(None, b"x") for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert uuid.UUID(key).version == 1
        assert store.get(key) == b"x"
    assert store.put("", b"y") not in keys  # any false key makes a new one, as in minimalkv


def test_uuid_template_applies_to_every_key_written(tmp_path: Path) -> None:
    backend = DictStore()
    store = UUIDDecorator(backend, template="item-{}.dat")
    generated = store.put(None, b"1")
    assert generated.startswith("item-")
    assert generated.endswith(".dat")
    assert store.put("given", b"2") == "item-given.dat"
    assert store.put_file("file", io.BytesIO(b"3")) == "item-file.dat"
    assert store.put_file(None, io.BytesIO(b"4")).startswith("item-")
    assert store.put_many({"a": b"5", "b": b"6"}) == ["item-a.dat", "item-b.dat"]
    assert backend.d["item-given.dat"] == b"2"
    assert store.get("item-given.dat") == b"2"  # reads use the returned key as it is
    assert store.template == "item-{}.dat"


def test_uuid_function_can_be_changed_in_a_subclass() -> None:
    class RandomUUIDs(UUIDDecorator):
        uuidfunc = "uuid4"

    key = RandomUUIDs(DictStore()).put(None, b"x")
    assert uuid.UUID(key).version == 4
    clone = pickle.loads(pickle.dumps(UUIDDecorator(DictStore(), template="t-{}")))
    assert clone.put("k", b"v") == "t-k"
