"""The key decorators (prefix, URL-encoding, read-only) and StoreDecorator as a base class.

The conformance suite runs over each decorator stacked on the memory, filesystem
and Redis stores. The side door reads the backend directly, applying the
decorator's key mapping here, independently of the decorator's own code. The
backend helpers at the top are shared with the other decorator test modules.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import quote_plus

import pytest

from minimalkv_fsspec import KeyValueStore, get_store_from_url
from minimalkv_fsspec._mixins import CopyMixin
from minimalkv_fsspec.cache import CacheDecorator
from minimalkv_fsspec.crypt import HMACDecorator
from minimalkv_fsspec.decorator import (
    KeyTransformingDecorator,
    PrefixDecorator,
    ReadOnlyDecorator,
    StoreDecorator,
    URLEncodeKeysDecorator,
)
from minimalkv_fsspec.fs import FilesystemStore, HFilesystemStore
from minimalkv_fsspec.memory import DictStore, HDictStore
from minimalkv_fsspec.testing import StoreTests, TTLStoreTests

MiB = 1024 * 1024
SECRET = b"decorator test secret"

# -- backends shared by the decorator test modules -------------------------------------

BACKENDS = ["dict", "hdict", "fs", "hfs", "redis", "hredis"]
EXTENDED_BACKENDS = {"hdict", "hfs", "hredis"}
REDIS_DB = 7  # the Redis backend tests use db 1 and the URL tests low numbers


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
    """Return a fresh, empty backend store called *name*."""
    if name == "dict":
        return DictStore()
    if name == "hdict":
        return HDictStore()
    if name == "fs":
        return FilesystemStore(str(tmp_path / "backend"))
    if name == "hfs":
        return HFilesystemStore(str(tmp_path / "backend"))
    if name in ("redis", "hredis"):
        import redis
        server = request.getfixturevalue("redis_server")
        client = redis.Redis(host=server["host"], port=server["port"], db=REDIS_DB)
        client.flushdb()
        request.addfinalizer(client.close)
        request.addfinalizer(client.flushdb)
        from minimalkv_fsspec.memory.redisstore import HRedisStore, RedisStore

        return (HRedisStore if name == "hredis" else RedisStore)(client)
    raise ValueError(name)


def innermost(store: Any) -> Any:
    """Return the store under all decorators (for a cache: the backing store)."""
    while isinstance(store, StoreDecorator):
        store = store._dstore
    return store


def raw_get(backend: Any, key: str) -> bytes | None:
    """Read *key* from *backend* without the store's code."""
    if isinstance(backend, DictStore):
        return backend.d.get(key)
    if isinstance(backend, FilesystemStore):
        path = Path(backend.root, *key.split("/"))
        return path.read_bytes() if path.is_file() else None
    value = backend.redis.get(key)
    return None if value is None else bytes(value)


def raw_put(backend: Any, key: str, value: bytes) -> None:
    """Write *key* to *backend* without the store's code."""
    if isinstance(backend, DictStore):
        backend.d[key] = value
    elif isinstance(backend, FilesystemStore):
        path = Path(backend.root, *key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)
    else:
        backend.redis.set(key, value)


def sign(key: str, value: bytes, secret: bytes = SECRET) -> bytes:
    """Return *value* signed as minimalkv's HMACDecorator stores it (written independently)."""
    return value + hmac.new(key.encode() + secret, value, hashlib.sha256).digest()


def unsign(key: str, stored: bytes | None, secret: bytes = SECRET) -> bytes | None:
    """Return the value of a signed *stored* value, asserting that its signature is right."""
    if stored is None:
        return None
    value, signature = stored[:-32], stored[-32:]
    assert hmac.compare_digest(signature, hmac.new(key.encode() + secret, value, hashlib.sha256).digest()), key
    return value


def stored_key(key: str) -> str:
    """Return the key URLEncodeKeysDecorator stores *key* under (written independently)."""
    return {".": "%2E", "..": "%2E%2E"}.get(key) or quote_plus(key.encode("utf-8"))


class DecoratorSuite(StoreTests):
    """The conformance suite over a decorator on each backend; subclasses define ``decorate``."""

    file_and_directory_keys = False  # the filesystem backends cannot hold "a" and "a/b"
    # Some backends are dicts in one process; over the others, a decorator shares across
    # processes what its backend shares, which the backend suites test.
    shared_between_processes = False
    large_value_size = 16 * MiB

    @pytest.fixture(params=BACKENDS)
    def backend(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        return make_backend(request.param, request, tmp_path)

    @pytest.fixture
    def store(self, backend: KeyValueStore) -> Iterator[KeyValueStore]:
        with self.decorate(backend) as store:
            yield store

    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        raise NotImplementedError

    def side_get(self, store: Any, key: str) -> bytes | None:
        return raw_get(innermost(store), key)

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        raw_put(innermost(store), key, value)


def prefix_for(backend: KeyValueStore) -> str:
    """A prefix with a "/" for extended backends (nested directories on a filesystem)."""
    try:
        backend._check_valid_key("a/b")
    except ValueError:
        return "tenant1-"
    return "tenant1/sub/"


# -- the conformance suite over each decorator -------------------------------------------


class TestPrefixDecorator(DecoratorSuite):
    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        return PrefixDecorator(prefix_for(backend), backend)

    def side_get(self, store: Any, key: str) -> bytes | None:
        return raw_get(innermost(store), store.prefix + key)

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        raw_put(innermost(store), store.prefix + key, value)


class TestURLEncodeKeysDecorator(DecoratorSuite):
    extended_keys = True  # any text is a key: "/" and spaces too

    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        return URLEncodeKeysDecorator(backend)

    def side_get(self, store: Any, key: str) -> bytes | None:
        return raw_get(innermost(store), stored_key(key))

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        raw_put(innermost(store), stored_key(key), value)

    def _valid_keys(self, store: Any) -> list[str]:
        return [*super()._valid_keys(store), "umlaut \u00fc", "\u2603/snow man", "a:b;c|d*e", ".", "..", "/", "a//b"]

    def _invalid_keys(self, store: Any) -> list[Any]:
        return ["", None, b"bytes", 42, "\ud800 lone surrogate"]


class TestStackOfThree(DecoratorSuite):
    """Prefix over HMAC over a cache: the outer layers see the inner ones as stores."""

    def decorate(self, backend: KeyValueStore) -> KeyValueStore:
        cache = HDictStore()
        return PrefixDecorator(prefix_for(backend), HMACDecorator(SECRET, CacheDecorator(cache, backend)))

    def side_get(self, store: Any, key: str) -> bytes | None:
        stored = store.prefix + key
        return unsign(stored, raw_get(innermost(store), stored))

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        stored = store.prefix + key
        raw_put(innermost(store), stored, sign(stored, value))


class TestPrefixDecoratorTTL(TTLStoreTests):
    @pytest.fixture
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        return PrefixDecorator("ttl-", make_backend("redis", request, tmp_path))


class TestStackOfThreeTTL(TTLStoreTests):
    @pytest.fixture
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> KeyValueStore:
        backend = make_backend("redis", request, tmp_path)
        return PrefixDecorator("ttl-", HMACDecorator(SECRET, CacheDecorator(HDictStore(), backend)))


# -- test doubles ------------------------------------------------------------------------


class CountingStore(DictStore):
    """A DictStore that counts hook calls, to tell bulk calls from per-key loops."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}
        self.closed = 0

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _get(self, key: str) -> bytes:
        self._count("_get")
        return super()._get(key)

    def get(self, key: str) -> bytes:
        self._count("get")
        return super().get(key)

    def _put(self, key: str, data: bytes) -> None:
        self._count("_put")
        super()._put(key, data)

    def put(self, key: str, data: bytes) -> str:
        self._count("put")
        return super().put(key, data)

    def _delete(self, key: str) -> None:
        self._count("_delete")
        super()._delete(key)

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        self._count("_get_many")
        return super()._get_many(keys)

    def _put_many(self, items: Any) -> None:
        self._count("_put_many")
        super()._put_many(items)

    def _delete_many(self, keys: list[str]) -> None:
        self._count("_delete_many")
        super()._delete_many(keys)

    def close(self) -> None:
        self.closed += 1


class NoCopyStore(KeyValueStore):
    """A minimal store without copy, move or url_for."""

    def __init__(self) -> None:
        self.d: dict[str, bytes] = {}

    def _delete(self, key: str) -> None:
        self.d.pop(key, None)

    def _open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.d[key])

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        self.d[key] = file.read()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return iter([key for key in self.d if key.startswith(prefix)])


ALL_DECORATORS = {
    "store": lambda store: StoreDecorator(store),
    "prefix": lambda store: PrefixDecorator("p-", store),
    "urlencode": lambda store: URLEncodeKeysDecorator(store),
    "readonly": lambda store: ReadOnlyDecorator(store),
    "hmac": lambda store: HMACDecorator(SECRET, store),
    "cache": lambda store: CacheDecorator(DictStore(), store),
}


# -- StoreDecorator: forwarding, capabilities, lifecycle -----------------------------------


@pytest.mark.parametrize("name", sorted(ALL_DECORATORS))
def test_decorators_are_stores(name: str) -> None:
    store = ALL_DECORATORS[name](DictStore())
    assert isinstance(store, KeyValueStore)
    assert isinstance(store, StoreDecorator)
    assert not isinstance(store, CopyMixin)  # copy follows the wrapped store instead


@pytest.mark.parametrize("name", sorted(ALL_DECORATORS))
def test_every_decorator_pickles(name: str) -> None:
    backend = DictStore({"p-key": b"v", "key": b"v"})
    store = ALL_DECORATORS[name](backend)
    if name != "readonly":
        store.put("key", b"value")
    clone = pickle.loads(pickle.dumps(store))
    assert type(clone) is type(store)
    assert clone.get("key") == store.get("key")
    assert repr(clone) == repr(store)


@pytest.mark.parametrize("name", sorted(ALL_DECORATORS))
def test_close_and_context_manager_reach_the_backend(name: str) -> None:
    backend = CountingStore()
    with ALL_DECORATORS[name](backend) as store:
        assert isinstance(store, StoreDecorator)
    assert backend.closed == 1
    ALL_DECORATORS[name](backend).close()
    assert backend.closed == 2


def test_unknown_attributes_are_forwarded() -> None:
    backend = DictStore()
    store = PrefixDecorator("p-", StoreDecorator(backend))
    assert store.d is backend.d
    assert store._dstore._dstore is backend
    with pytest.raises(AttributeError):
        store.no_such_attribute  # noqa: B018


@pytest.mark.parametrize("name", ["store", "prefix", "urlencode", "cache"])
def test_copy_move_and_url_for_follow_the_backend(name: str, tmp_path: Path) -> None:
    without = ALL_DECORATORS[name](NoCopyStore())
    for attribute in ("copy", "move", "url_for"):
        assert not hasattr(without, attribute)
        with pytest.raises(AttributeError):
            getattr(without, attribute)
    backend = FilesystemStore(str(tmp_path))
    store = ALL_DECORATORS[name](backend)
    store.put("a", b"1")
    assert store.copy("a", "b") == "b"
    assert store.move("b", "c") == "c"
    assert store.get("c") == b"1"
    assert "b" not in store
    url = store.url_for("c")
    assert url.startswith("file://")
    assert url.endswith(("/c", "/p-c"))


def test_ttl_support_is_forwarded(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert StoreDecorator(DictStore()).ttl_support is False
    with pytest.raises(TypeError, match="ttl_secs"):
        PrefixDecorator("p-", DictStore()).put("key", b"x", ttl_secs=5)
    with pytest.raises(TypeError, match="ttl_secs"):
        StoreDecorator(DictStore()).put_many({"key": b"x"}, ttl_secs=5)
    with pytest.raises(AttributeError):
        StoreDecorator(DictStore()).default_ttl_secs = 5
    backend = make_backend("redis", request, tmp_path)
    for name in ("store", "prefix", "urlencode", "hmac", "cache"):
        store = ALL_DECORATORS[name](backend)
        assert store.ttl_support is True, name
        store.put("k", b"v", ttl_secs=100)
        store.put_file("f", io.BytesIO(b"v"), ttl_secs=100)
        store.put_many({"m": b"v"}, ttl_secs=100)
    assert all(0 < backend.redis.ttl(key) <= 100 for key in backend.redis.keys())
    store = PrefixDecorator("p-", backend)
    store.default_ttl_secs = 50
    assert backend.default_ttl_secs == 50
    store.put("defaulted", b"v")
    assert 0 < backend.redis.ttl("p-defaulted") <= 50
    assert ReadOnlyDecorator(backend).ttl_support is False


@pytest.mark.parametrize("name", ["store", "prefix", "urlencode", "cache", "hmac"])
def test_bulk_operations_are_one_bulk_call(name: str) -> None:
    backend = CountingStore()
    store = ALL_DECORATORS[name](backend)
    keys = [f"key{number}" for number in range(20)]
    store.put_many(dict.fromkeys(keys, b"value"))
    found = store.get_many([*keys, "missing"])
    assert found == dict.fromkeys(keys, b"value")
    store.delete_many(keys)
    assert backend.calls.get("_put_many") == 1
    assert backend.calls.get("_get_many") == 1
    assert backend.calls.get("_delete_many") == 1
    for single in ("get", "_get", "put", "_put", "_delete"):
        assert single not in backend.calls, (name, single, backend.calls)


class ValidatingDictStore(DictStore):
    """A DictStore whose get validates every key, as the base class does."""

    get = KeyValueStore.get


@pytest.mark.parametrize("backend_class", [DictStore, ValidatingDictStore])
def test_prefix_decorator_validates_each_key_once(monkeypatch: pytest.MonkeyPatch, backend_class: type) -> None:
    import minimalkv_fsspec._store
    import minimalkv_fsspec.decorator
    from minimalkv_fsspec._keys import check_key

    checked: list[Any] = []

    def counting_check(key: Any) -> None:
        checked.append(key)
        check_key(key)

    monkeypatch.setattr(minimalkv_fsspec._store, "check_key", counting_check)
    monkeypatch.setattr(minimalkv_fsspec.decorator, "check_key", counting_check)
    backend = backend_class({"p-key": b"v"})
    store = PrefixDecorator("p-", backend)
    for call in (
        lambda: store.get("key"),
        lambda: store.get_many(["key"]),
        lambda: "key" in store,
        lambda: store.open("key"),
        lambda: store.put("new", b"x"),
        lambda: store.delete("new"),
    ):
        checked.clear()
        call()
        assert len(checked) <= 1, checked


# -- subclassing StoreDecorator ----------------------------------------------------------


class UpperCaseValues(StoreDecorator):
    """Reads return upper-cased values; only _open is overridden."""

    def _open(self, key: str) -> BinaryIO:
        with self._inner_open(key) as file:
            return io.BytesIO(file.read().upper())


class ReversedWrites(StoreDecorator):
    """Writes store reversed values; only _put_file is overridden."""

    def _put_file(self, key: str, file: IO[bytes], ttl_secs: Any = None) -> None:
        super()._put_file(key, io.BytesIO(file.read()[::-1]), ttl_secs)


def test_a_subclass_overriding_open_changes_every_read(tmp_path: Path) -> None:
    store = UpperCaseValues(DictStore({"a": b"abc"}))
    assert store.get("a") == b"ABC"
    assert store.get_many(["a", "b"]) == {"a": b"ABC"}
    target = io.BytesIO()
    store.get_file("a", target)
    assert target.getvalue() == b"ABC"
    store.get_file("a", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"ABC"
    with pytest.raises(KeyError):
        store.get("b")


def test_a_subclass_overriding_put_file_changes_every_write(tmp_path: Path) -> None:
    backend = DictStore()
    store = ReversedWrites(backend)
    store.put("a", b"abc")
    store.put_many({"b": b"xyz"})
    (tmp_path / "source").write_bytes(b"123")
    store.put_file("c", str(tmp_path / "source"))
    assert backend.d == {"a": b"cba", "b": b"zyx", "c": b"321"}


def test_key_transforming_decorator_subclass() -> None:
    class Reverse(KeyTransformingDecorator):
        def _map_key(self, key: str) -> str:
            return key[::-1]

        def _unmap_key(self, key: str) -> str:
            return key[::-1]

        def _map_key_prefix(self, prefix: str) -> str:
            return ""

    backend = DictStore()
    store = Reverse(backend)
    store.put("abc", b"1")
    store.put_many({"xy": b"2"})
    assert backend.d == {"cba": b"1", "yx": b"2"}
    assert sorted(store.keys()) == ["abc", "xy"]
    assert store.keys("a") == ["abc"]
    assert store.get_many(["abc", "xy"]) == {"abc": b"1", "xy": b"2"}
    assert store.copy("abc", "def") == "def"
    assert backend.d["fed"] == b"1"


# -- PrefixDecorator -------------------------------------------------------------------


def test_prefix_maps_keys_and_lists_only_its_own() -> None:
    backend = DictStore({"other": b"x", "p-": b"bare prefix"})
    store = PrefixDecorator("p-", backend)
    assert store.put("key", b"v") == "key"
    assert backend.d["p-key"] == b"v"
    assert store.keys() == ["key"]
    assert list(store.iter_prefixes("e")) == ["ke"]
    assert store.prefix == "p-"
    assert repr(store) == "PrefixDecorator('p-', DictStore(<3 keys>))"


@pytest.mark.parametrize("key", ["", ".", "..", None, b"key", 1, "a/b", "a b"])
def test_prefix_refuses_keys_the_prefix_would_hide(key: Any) -> None:
    backend = DictStore({"p-": b"1", "p-.": b"2", "p-..": b"3"})
    store = PrefixDecorator("p-", backend)
    for call in (store.get, store.open, store.delete, store.__contains__, lambda k: store.put(k, b"x")):
        with pytest.raises(ValueError):  # noqa: PT011
            call(key)


@pytest.mark.parametrize("key", ["./b", "../b", "/b", ".", ".."])
def test_prefix_refuses_navigating_keys_on_an_extended_store(key: str) -> None:
    backend = HDictStore({"a./b": b"1", "a../b": b"2", "a/b": b"3", "a.": b"4", "a..": b"5", "a.b": b"6"})
    store = PrefixDecorator("a", backend)
    with pytest.raises(ValueError):  # noqa: PT011
        store.get(key)
    assert store.get(".b") == b"6"  # a leading dot alone is fine


def test_prefix_error_names_the_callers_key() -> None:
    store = PrefixDecorator("p-", DictStore())
    with pytest.raises(ValueError, match="'with space'") as error:
        store.get("with space")
    assert "p-" not in str(error.value)


def test_prefix_must_begin_a_valid_key() -> None:
    with pytest.raises(ValueError, match="prefix"):
        PrefixDecorator("tenant1/", DictStore())
    with pytest.raises(ValueError, match="prefix"):
        PrefixDecorator("a//", HDictStore())
    with pytest.raises(TypeError):
        PrefixDecorator(b"p-", DictStore())  # type: ignore[arg-type]
    store = PrefixDecorator("tenant1/", HDictStore())
    store.put("a/b", b"x")
    assert store.keys() == ["a/b"]
    assert list(store.iter_prefixes("/")) == ["a/"]


@pytest.mark.parametrize("backend_class", [DictStore, ValidatingDictStore])
def test_prefix_get_remembers_only_valid_keys_and_stays_current(backend_class: type) -> None:
    from minimalkv_fsspec import decorator

    backend = backend_class({"p-key": b"1"})
    store = PrefixDecorator("p-", backend)
    for _ in range(3):  # a refused key is refused every time, not only the first
        with pytest.raises(ValueError, match="'with space'"):
            store.get("with space")
        with pytest.raises(ValueError):  # noqa: PT011
            store.get(["unhashable"])  # type: ignore[arg-type]
    assert store.get("key") == b"1"
    backend.put("p-key", b"2")
    assert store.get("key") == b"2"
    backend.delete("p-key")
    with pytest.raises(KeyError) as missing:
        store.get("key")
    assert missing.value.args == ("key",)
    backend.d = {"p-key": b"new dict"}
    assert store.get("key") == b"new dict"
    for number in range(decorator._STORED_KEYS_REMEMBERED + 10):
        with pytest.raises(KeyError):
            store.get(f"k{number}")
    remembered = store.get.__closure__  # type: ignore[attr-defined]
    sizes = [len(cell.cell_contents) for cell in remembered if isinstance(cell.cell_contents, dict)]
    assert sizes, "get keeps its remembered keys in a dict"
    assert max(sizes) <= decorator._STORED_KEYS_REMEMBERED


def test_prefix_can_be_changed() -> None:
    backend = DictStore({"a-key": b"1", "b-key": b"2"})
    store = PrefixDecorator("a-", backend)
    assert store.get("key") == b"1"
    store.prefix = "b-"
    assert store.get("key") == b"2"
    with pytest.raises(ValueError):  # noqa: PT011
        store.prefix = "b/"


def test_nested_prefixes() -> None:
    backend = HDictStore()
    store = PrefixDecorator("outer/", PrefixDecorator("inner/", backend))
    store.put("key", b"x")
    assert list(backend.d) == ["inner/outer/key"]
    assert store.keys() == ["key"]
    assert store.get("key") == b"x"


# -- URLEncodeKeysDecorator --------------------------------------------------------------


def test_urlencode_stores_quoted_keys_like_minimalkv() -> None:
    backend = DictStore()
    store = URLEncodeKeysDecorator(backend)
    store.put("abc def/key", b"1")
    store.put("\u00fcber", b"2")
    store.put(".", b"3")
    assert sorted(backend.d) == ["%2E", "%C3%BCber", "abc+def%2Fkey"]
    assert sorted(store.keys()) == [".", "abc def/key", "\u00fcber"]
    assert store.keys(".") == ["."]
    assert store.keys("\u00fc") == ["\u00fcber"]
    assert list(store.iter_prefixes("/")) == ["abc def/", "\u00fcber", "."]


# -- ReadOnlyDecorator -----------------------------------------------------------------


WRITERS = ["put", "put_file", "put_many", "delete", "delete_many", "copy", "move"]


@pytest.mark.parametrize("method", WRITERS)
def test_readonly_has_no_writing_methods(method: str) -> None:
    backend = DictStore({"key": b"value"})
    store = ReadOnlyDecorator(backend)
    assert not hasattr(store, method)
    with pytest.raises(AttributeError):
        getattr(store, method)
    assert not hasattr(ReadOnlyDecorator, method)
    assert backend.d == {"key": b"value"}


def test_readonly_reads_and_hides_the_backend(tmp_path: Path) -> None:
    backend = FilesystemStore(str(tmp_path))
    backend.put("key", b"value")
    store = ReadOnlyDecorator(backend)
    assert store.get("key") == b"value"
    assert store.get_many(["key"]) == {"key": b"value"}
    with store.open("key") as file:
        assert file.read() == b"value"
    target = io.BytesIO()
    store.get_file("key", target)
    assert target.getvalue() == b"value"
    assert store.keys() == ["key"]
    assert list(store) == ["key"]
    assert "key" in store
    assert store.url_for("key").startswith("file://")
    for hidden in ("root", "fs", "d", "_put", "_delete"):
        assert not hasattr(store, hidden), hidden
    with pytest.raises(ValueError):  # noqa: PT011
        store.get("bad key")


def test_readonly_below_another_decorator_stays_read_only() -> None:
    backend = DictStore({"p-key": b"v"})
    store = PrefixDecorator("p-", ReadOnlyDecorator(backend))
    assert store.get("key") == b"v"
    for call in (lambda: store.put("x", b"1"), lambda: store.delete("key"), lambda: store.put_many({"x": b"1"})):
        with pytest.raises(AttributeError):
            call()
    assert backend.d == {"p-key": b"v"}


def test_readonly_from_url() -> None:
    store = get_store_from_url("memory+readonly://")
    assert isinstance(store, ReadOnlyDecorator)
    assert not hasattr(store, "put")


def test_size_maps_the_key_through_the_decorator(tmp_path: Path) -> None:
    from minimalkv_fsspec.decorator import PrefixDecorator
    from minimalkv_fsspec.fs import FilesystemStore

    inner = FilesystemStore(str(tmp_path))
    inner.put("k", b"1")
    inner.put("p-k", b"12345")
    decorated = PrefixDecorator("p-", inner)
    assert decorated.size("k") == 5
    assert not hasattr(PrefixDecorator("p-", DictStore()), "size")
