"""RedisStore and HRedisStore run the conformance suite against a private redis-server."""

from __future__ import annotations

import io
import pickle
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from minimalkv_fsspec import FOREVER, get_store_from_url, url2dict
from minimalkv_fsspec.testing import StoreTests, TTLStoreTests
from tests.fixtures.native_servers import require_module, start_redis
from tests.fixtures.policy import unavailable

redis = require_module("redis", "pip install redis")

from minimalkv_fsspec.memory.redisstore import HRedisStore, RedisStore  # noqa: E402

_NO_RETRY = redis.retry.Retry(redis.backoff.NoBackoff(), 0)


@pytest.fixture
def redis_client(redis_server: dict[str, Any]) -> Iterator[Any]:
    """A raw client on an emptied database of the private server (db 1; the URL tests use others)."""
    client = redis.Redis(host=redis_server["host"], port=redis_server["port"], db=1)
    client.flushdb()  # our own server, our own database
    yield client
    client.flushdb()
    client.close()


class RedisSideDoor(StoreTests):
    """Reads and writes the database with a raw redis-py client, bypassing the store."""

    def side_get(self, store: Any, key: str) -> bytes | None:
        raw = redis.Redis(connection_pool=store.redis.connection_pool)
        value = raw.get(key)
        return None if value is None else bytes(value)

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        redis.Redis(connection_pool=store.redis.connection_pool).set(key, value)


class TestRedisStore(TTLStoreTests, RedisSideDoor):
    @pytest.fixture
    def store(self, redis_client: Any) -> Iterator[RedisStore]:
        with RedisStore(redis_client) as store:
            yield store


class TestHRedisStore(RedisSideDoor):
    # The TTL tests wait in real time; HRedisStore shares every TTL code path with
    # RedisStore, so they run once, on the plain class.
    @pytest.fixture
    def store(self, redis_client: Any) -> Iterator[HRedisStore]:
        with HRedisStore(redis_client) as store:
            yield store

    def test_ttl_on_extended_keys(self, store: HRedisStore, redis_client: Any) -> None:
        store.put("a dir/key", b"x", ttl_secs=0.3)
        assert 0 < redis_client.pttl("a dir/key") <= 300


# -- Redis specifics -------------------------------------------------------------------


def test_ttl_commands(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    store.put("int", b"x", ttl_secs=100)
    assert 98 <= redis_client.ttl("int") <= 100
    store.put("float", b"x", ttl_secs=2.5)
    assert 2000 < redis_client.pttl("float") <= 2500
    store.put("float", b"x", ttl_secs=FOREVER)
    assert redis_client.ttl("float") == -1  # a plain SET clears the expiry
    store.put("int", b"y")
    assert redis_client.ttl("int") == -1
    store.put_many({"m1": b"1", "m2": b"2"}, ttl_secs=50)
    assert 0 < redis_client.ttl("m1") <= 50
    assert 0 < redis_client.ttl("m2") <= 50
    store.default_ttl_secs = 30
    store.put_file("from-file", io.BytesIO(b"z"))
    assert 0 < redis_client.ttl("from-file") <= 30


@pytest.mark.parametrize("ttl", [float("nan"), float("inf")])
def test_non_finite_ttl_is_valueerror(redis_client: Any, ttl: float) -> None:
    store = RedisStore(redis_client)
    with pytest.raises(ValueError, match="finite"):
        store.put("key", b"x", ttl_secs=ttl)
    assert redis_client.get("key") is None


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("a*", ["a*b"]), ("a?", ["a?", "a?c"]), ("a[b]", ["a[b]", "a[b]c"]), ("a[", ["a[b]", "a[b]c"]), ("a\\", [])],
)
def test_scan_escapes_glob_characters(redis_client: Any, prefix: str, expected: list[str]) -> None:
    # "a*b" and "a\\" cannot be stored through the store (invalid keys); write them raw.
    for key in ("a*b", "aXb", "a?", "a?c", "ab", "a[b]", "a[b]c", "ac", "a\\"):
        redis_client.set(key, b"x")
    store = RedisStore(redis_client)
    found = sorted(store.iter_keys(prefix))
    # Invalid keys ("a*b", "a\\") are never listed, even when they match.
    assert found == [key for key in expected if key not in ("a*b", "a\\")]
    assert "a*b" not in store.keys()
    assert "aXb" in store.keys()


def test_scan_never_uses_keys(redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RedisStore(redis_client)
    store.put_many({f"k{n}": b"v" for n in range(2500)})

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("KEYS must not be used")

    monkeypatch.setattr(type(redis_client), "keys", forbidden)
    assert len(store.keys()) == 2500
    assert len(store.keys("k1")) == 1 + 10 + 100 + 1000


def test_bulk_operations_use_batch_commands(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    store.put_many({f"k{n}": bytes([n]) for n in range(10)})
    calls: list[str] = []
    original = redis_client.execute_command

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        return original(*args, **kwargs)

    redis_client.execute_command = spy
    try:
        assert store.get_many([f"k{n}" for n in range(12)]) == {f"k{n}": bytes([n]) for n in range(10)}
    finally:
        del redis_client.execute_command
    assert calls == ["MGET"]


def test_copy_keeps_ttl_and_replaces(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    store.put("source", b"v", ttl_secs=100)
    store.put("dest", b"old")
    store.copy("source", "dest")
    assert redis_client.get("dest") == b"v"
    assert 0 < redis_client.ttl("dest") <= 100
    store.copy("dest", "dest")
    with pytest.raises(KeyError):
        store.copy("missing", "missing")


def test_copy_fallback_without_copy_command(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    store._has_copy_command = False  # as on a server older than 6.2
    store.put("source", b"v", ttl_secs=100)
    store.put("dest", b"old")
    store.copy("source", "dest")
    assert redis_client.get("dest") == b"v"
    assert 0 < redis_client.ttl("dest") <= 100
    store.put("plain", b"p")
    store.copy("plain", "dest")
    assert redis_client.ttl("dest") == -1
    with pytest.raises(KeyError):
        store.copy("missing", "dest")


def test_move_is_a_rename(redis_client: Any) -> None:
    store = RedisStore(redis_client)
    store.put("source", b"v")
    assert store.move("source", "dest") == "dest"
    assert redis_client.get("dest") == b"v"
    assert redis_client.get("source") is None
    with pytest.raises(KeyError):
        store.move("source", "other")


def test_decode_responses_client_still_returns_bytes(redis_server: dict[str, Any], redis_client: Any) -> None:
    decoding = redis.Redis(host=redis_server["host"], port=redis_server["port"], db=1, decode_responses=True)
    store = RedisStore(decoding)
    store.put("key", b"\xff\x00")
    assert store.get("key") == b"\xff\x00"
    assert store.get_many(["key"]) == {"key": b"\xff\x00"}


def test_non_string_values_are_backend_errors(redis_client: Any) -> None:
    redis_client.rpush("alist", b"x")
    store = RedisStore(redis_client)
    with pytest.raises(OSError, match="WRONGTYPE"):
        store.get("alist")


def test_pickle_keeps_settings_not_the_client(redis_server: dict[str, Any]) -> None:
    client = redis.Redis(host=redis_server["host"], port=redis_server["port"], db=2, socket_timeout=7)
    store = HRedisStore(client)
    store.default_ttl_secs = 60
    store.put("dir/key", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert type(clone) is HRedisStore
    assert clone.redis is not client
    assert clone.redis.connection_pool.connection_kwargs["db"] == 2
    assert clone.redis.connection_pool.connection_kwargs["socket_timeout"] == 7
    assert clone.default_ttl_secs == 60
    assert clone.get("dir/key") == b"v"
    clone.delete("dir/key")


# -- URLs ---------------------------------------------------------------------------------


def test_url_forms() -> None:
    assert url2dict("redis://") == {"type": "redis", "host": "localhost"}
    assert url2dict("redis://example.org:7000/3") == {"type": "redis", "host": "example.org", "port": 7000, "db": 3}
    # minimalkv: the whole userinfo is the password
    assert url2dict("redis://p%40ss@host") == {"type": "redis", "host": "host", "password": "p@ss"}
    assert url2dict("redis://user:secret@host/1") == {
        "type": "redis",
        "host": "host",
        "username": "user",
        "password": "secret",
        "db": 1,
    }
    assert url2dict("redis://:secret@host") == {"type": "redis", "host": "host", "password": "secret"}
    assert url2dict("rediss://host:6380/0")["ssl"] is True
    assert url2dict("hrediss://host")["type"] == "hrediss"
    assert url2dict("redis://host/?create_if_missing=false")["create_if_missing"] is False
    with pytest.raises(ValueError, match="number"):
        url2dict("redis://host/zero")


def test_url_builds_stores(redis_server: dict[str, Any]) -> None:
    base = f"{redis_server['host']}:{redis_server['port']}"
    store = get_store_from_url(f"redis://{base}/4")
    assert type(store) is RedisStore
    assert store.redis.connection_pool.connection_kwargs["db"] == 4  # type: ignore[attr-defined]
    hstore = get_store_from_url(f"hredis://{base}/4?create_if_missing=false")
    assert type(hstore) is HRedisStore
    hstore.put("a b/c", b"1")
    assert store.keys() == []  # "a b/c" is not a standard key
    assert hstore.keys() == ["a b/c"]
    hstore.delete("a b/c")
    readonly = get_store_from_url(f"redis://{base}/4#wrap:readonly")
    assert not hasattr(readonly, "put")
    tls = get_store_from_url("rediss://example.invalid:6380/0")
    assert "SSL" in tls.redis.connection_pool.connection_class.__name__  # type: ignore[attr-defined]
    assert repr(tls) == "RedisStore('rediss://example.invalid:6380/0')"


@pytest.fixture(scope="module")
def tls_redis(redis_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A private server that speaks only TLS, with a self-signed certificate."""
    if shutil.which("openssl") is None:
        unavailable("openssl", "apt-get install openssl")
    info, stop = start_redis(tls=True)
    try:
        yield info
    finally:
        stop()


def test_rediss_url_speaks_tls(tls_redis: dict[str, Any]) -> None:
    base = f"{tls_redis['host']}:{tls_redis['port']}"
    store = get_store_from_url(f"hrediss://{base}/0?ssl_ca_certs={quote(tls_redis['ca'])}")
    assert type(store) is HRedisStore
    store.put("over/tls", b"secret value")
    assert store.get("over/tls") == b"secret value"
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("over/tls") == b"secret value"
    plain = RedisStore(redis.Redis(host=tls_redis["host"], port=tls_redis["port"], retry=_NO_RETRY))
    with pytest.raises(OSError):  # noqa: PT011 - a plain connection to a TLS port fails
        plain.get("over-tls")
    store.delete("over/tls")


def test_dead_server_is_oserror_not_keyerror() -> None:
    from tests.fixtures.native_servers import free_port

    # redis-py's own retries (with backoff) are switched off to keep the test quick.

    store = RedisStore(redis.Redis(host="127.0.0.1", port=free_port(), password="Dead-pw-1", retry=_NO_RETRY))
    for call in (
        lambda: store.get("key"),
        lambda: "key" in store,
        lambda: store.keys(),
        lambda: store.put("key", b"v"),
        lambda: store.get_many(["key"]),
    ):
        with pytest.raises(OSError) as info:  # noqa: PT011
            call()
        assert not isinstance(info.value, KeyError)
        assert "Dead-pw-1" not in str(info.value)
        assert info.value.__cause__ is not None
