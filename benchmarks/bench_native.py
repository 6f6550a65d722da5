"""Benchmark the native stores against their raw clients, in one run.

For Redis, SQLite and PostgreSQL, time ``put``, ``get`` and ``get_many`` of 1,000
keys of 1 KiB through the store and through the raw client (redis-py, sqlite3,
psycopg), print store/raw ratios, and how much faster ``get_many`` is than a loop
of ``get``. Redis and PostgreSQL are private servers started on free loopback
ports, the same way the tests start them.

Run from the repository root::

    python -m benchmarks.bench_native [--keys 1000] [--size 1024] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.fixtures.native_servers import start_postgres, start_redis  # noqa: E402


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """Return the fastest of *repeat* timings of *action*, in seconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


class Raw:
    """The raw client's put, get and get_many."""

    def put(self, key: str, value: bytes) -> None:
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        raise NotImplementedError


class RawRedis(Raw):
    def __init__(self, client: Any) -> None:
        self.client = client

    def put(self, key: str, value: bytes) -> None:
        self.client.set(key, value)

    def get(self, key: str) -> bytes:
        return bytes(self.client.get(key))

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        return {key: value for key, value in zip(keys, self.client.mget(keys), strict=True) if value is not None}


class RawSQLite(Raw):
    def __init__(self, path: str, table: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.table = table

    def put(self, key: str, value: bytes) -> None:
        self.connection.execute(
            f"INSERT INTO {self.table} (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get(self, key: str) -> bytes:
        row = self.connection.execute(f"SELECT value FROM {self.table} WHERE key = ?", (key,)).fetchone()
        return bytes(row[0])

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        marks = ",".join("?" * len(keys))
        rows = self.connection.execute(f"SELECT key, value FROM {self.table} WHERE key IN ({marks})", keys)
        return {key: bytes(value) for key, value in rows}


class RawPostgres(Raw):
    def __init__(self, dsn: str, table: str) -> None:
        import psycopg

        self.connection = psycopg.connect(dsn, autocommit=True)
        self.table = table

    def put(self, key: str, value: bytes) -> None:
        self.connection.execute(
            f"INSERT INTO {self.table} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get(self, key: str) -> bytes:
        row = self.connection.execute(f"SELECT value FROM {self.table} WHERE key = %s", (key,)).fetchone()
        assert row is not None
        return bytes(row[0])

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        rows = self.connection.execute(f"SELECT key, value FROM {self.table} WHERE key = ANY(%s)", (keys,))
        return {key: bytes(value) for key, value in rows}


def measure(name: str, store: Any, raw: Raw, keys: list[str], value: bytes, repeat: int) -> dict[str, float]:
    """Time each operation through *store* and *raw*; print and return the figures."""

    def loop_put(target: Any) -> Callable[[], None]:
        return lambda: [target.put(key, value) for key in keys] and None

    def loop_get(target: Any) -> Callable[[], None]:
        return lambda: [target.get(key) for key in keys] and None

    figures = {
        "put store": best_of(repeat, loop_put(store)),
        "put raw": best_of(repeat, loop_put(raw)),
        "get store": best_of(repeat, loop_get(store)),
        "get raw": best_of(repeat, loop_get(raw)),
        "get_many store": best_of(repeat, lambda: store.get_many(keys)),
        "get_many raw": best_of(repeat, lambda: raw.get_many(keys)),
    }
    assert store.get_many(keys) == raw.get_many(keys) == dict.fromkeys(keys, value)
    count = len(keys)
    print(f"\n{name}: {count} keys of {len(value)} bytes (best of {repeat})")
    print(f"  {'operation':<10} {'store ms':>10} {'raw ms':>10} {'store/raw':>10} {'store ops/s':>12}")
    for operation in ("put", "get", "get_many"):
        mine, theirs = figures[f"{operation} store"], figures[f"{operation} raw"]
        print(f"  {operation:<10} {mine * 1e3:10.1f} {theirs * 1e3:10.1f} {mine / theirs:10.2f} {count / mine:12.0f}")
    speedup = figures["get store"] / figures["get_many store"]
    print(f"  get_many is {speedup:.1f}x a loop of get through the store")
    figures["speedup"] = speedup
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 1 if get_many is not 10x a get loop on Redis and PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import redis
    import sqlalchemy as sa

    from minimalkv_fsspec.db.sql import SQLAlchemyStore
    from minimalkv_fsspec.memory.redisstore import RedisStore

    keys = [f"bench-{number:06d}" for number in range(args.keys)]
    value = os.urandom(args.size)
    results: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        info, stop = start_redis()
        stack.callback(stop)
        client = redis.Redis(host=info["host"], port=info["port"])
        results["Redis"] = measure("Redis", RedisStore(client), RawRedis(client), keys, value, args.repeat)

        directory = stack.enter_context(tempfile.TemporaryDirectory())
        path = os.path.join(directory, "bench.db")
        engine = sa.create_engine(f"sqlite:///{path}")
        stack.callback(engine.dispose)
        metadata = sa.MetaData()
        store = SQLAlchemyStore(engine, metadata, "kv")
        metadata.create_all(engine)
        results["SQLite"] = measure("SQLite", store, RawSQLite(path, "kv"), keys, value, args.repeat)

        info, stop = start_postgres()
        stack.callback(stop)
        engine = sa.create_engine(info["url"])
        stack.callback(engine.dispose)
        metadata = sa.MetaData()
        store = SQLAlchemyStore(engine, metadata, "kv")
        metadata.create_all(engine)
        dsn = info["url"].replace("postgresql+psycopg://", "postgresql://")
        results["PostgreSQL"] = measure("PostgreSQL", store, RawPostgres(dsn, "kv"), keys, value, args.repeat)

    failed = [name for name in ("Redis", "PostgreSQL") if results[name]["speedup"] < 10]
    if failed:
        print(f"\nget_many is below 10x a get loop on: {', '.join(failed)}")
        return 1
    print("\nget_many is at least 10x a loop of get on Redis and PostgreSQL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
