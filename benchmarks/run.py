"""Benchmark minimalkv_fsspec's stores against the raw operations underneath them.

One process measures, for every store whose dependency or server is available, each
operation of the store next to the raw operation it is built on (and next to the
minimalkv package from PyPI as a peer, where installed), interleaved in rounds so
that the machine's noise hits every target alike. The best round counts; the
median is kept in the JSON.

* put, get, ``in`` and delete of N 1 KiB values (ops/s);
* ``keys()`` over many keys (keys/s);
* ``get_many`` of 1,000 keys against a loop of ``get`` (keys/s);
* ``put_file``/``get_file`` of a 256 MiB value (MB/s and peak memory rise), each in a
  fresh subprocess (``ru_maxrss`` plus ``/proc`` sampling);
* ``import minimalkv_fsspec`` (fresh interpreters, best of several);
* S3 through :mod:`latency_proxy` at 20 ms round trip: single get and put in round
  trips, ``get_many`` against a sequential loop and against obstore's 64-way fetch.

Raw operations: ``open``/``write``/``os.replace``, ``open``/``read`` and an
``os.scandir`` walk (filesystem), a dict (memory), redis-py (Redis), sqlite3 and
psycopg (SQL), s3fs and boto3 (S3 on the moto server). Where a target of issue #7 is
not met, the hot path is profiled (pyinstrument if importable, else cProfile).

Usage::

    python benchmarks/run.py --quick                # under a minute
    python benchmarks/run.py                        # full: under five minutes
    python benchmarks/run.py --write-docs           # also regenerate docs/benchmarks.rst
    python benchmarks/run.py --write-docs --from-json benchmarks/results/latest.json
    python benchmarks/run.py --smoke --out DIR      # memory + filesystem, a few dozen ops

Results go to ``benchmarks/results/latest.md`` and ``latest.json``. The peer and the
optional tools are installed apart from the project's environment::

    pip install --target benchmarks/.peer minimalkv==1.11.2 uritools obstore pyinstrument
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER_DIR = os.environ.get("MINIMALKV_BENCH_PEER", os.path.join(HERE, ".peer"))
if os.path.isdir(PEER_DIR) and PEER_DIR not in sys.path:
    # Appended, not prepended: the project's environment wins for shared dependencies.
    sys.path.append(PEER_DIR)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

MiB = 1024 * 1024
VALUE = bytes(range(256)) * 4  # 1 KiB
S3_KEY, S3_SECRET = "testing", "testing"

MODES: dict[str, dict[str, Any]] = {
    # n: values per op; rounds: interleaved rounds (best counts); keys_n: keys() population;
    # many: get_many keys; loop_cap: keys in the get loop compared with get_many;
    # big_mib: put_file/get_file value; s3_*: the S3 emulator answers ~100-300 requests/s,
    # so S3 uses fewer operations; lat_*: through the 20 ms proxy.
    "smoke": {
        "n": 40,
        "rounds": 1,
        "keys_n": 60,
        "many": 30,
        "loop_cap": 30,
        "big_mib": 4,
        "import_runs": 1,
        "groups": ("memory", "filesystem"),
        "big_groups": ("memory", "filesystem"),
        "profile": False,
        "profile_scale": 0.1,
    },
    "quick": {
        "n": 600,
        "sql_n": 300,
        "rounds": 2,
        "keys_n": 2000,
        "many": 300,
        "loop_cap": 300,
        "big_mib": 64,
        "import_runs": 3,
        "s3_n": 15,
        "s3_rounds": 1,
        "s3_keys": 200,
        "s3_many": 100,
        "s3_loop_cap": 20,
        "s3_big_roles": ("store", "raw"),
        "lat_n": 8,
        "lat_rounds": 1,
        "lat_many": 150,
        "lat_ceiling_n": 100,
        "groups": ("memory", "filesystem", "redis", "sqlite", "postgresql", "s3", "s3-latency", "migrate", "import"),
        # put_file/get_file only where a memory target is (S3) or the value is local: the rest take minutes.
        "big_groups": ("memory", "filesystem", "s3"),
        "profile": True,
        "profile_scale": 0.25,
    },
    "full": {
        "n": 5000,
        "sql_n": 2500,
        "rounds": 3,
        "sql_rounds": 2,
        "keys_n": 10000,
        "many": 1000,
        "loop_cap": 1000,
        "big_mib": 256,
        "import_runs": 7,
        "s3_n": 30,
        "s3_rounds": 2,
        "s3_keys": 1000,
        "s3_many": 200,
        "s3_loop_cap": 30,
        "s3_big_roles": ("store", "raw", "peer"),
        # 256 MiB through a database or Redis takes seconds per operation: the peer is left out there.
        "big_roles": {"redis": ("store", "raw"), "sqlite": ("store", "raw"), "postgresql": ("store", "raw")},
        "lat_n": 15,
        "lat_rounds": 2,
        "lat_many": 1000,
        "lat_ceiling_n": 300,
        "groups": ("memory", "filesystem", "redis", "sqlite", "postgresql", "s3", "s3-latency", "migrate", "import"),
        "profile": True,
    },
}
GROUP_TITLES = {
    "memory": "Memory (DictStore)",
    "filesystem": "Filesystem (FilesystemStore)",
    "redis": "Redis (RedisStore)",
    "sqlite": "SQLite (SQLAlchemyStore)",
    "postgresql": "PostgreSQL (SQLAlchemyStore)",
    "s3": "S3 on moto (S3FSStore)",
    "s3-latency": "S3 on moto at 20 ms RTT",
    "migrate": "migrate fs -> S3 on moto",
    "import": "import minimalkv_fsspec",
}
RAW_LEGEND = {
    "memory": "a plain dict: `d[k] = v`, `d[k]`, `k in d`, `del d[k]`, `list(d)`",
    "filesystem": "`os`: put = `open(tmp, 'wb').write` + `os.replace`; get = `open().read()`; in = `os.path.isfile`; "
    "delete = `os.unlink`; keys() = recursive `os.scandir` walk; put_file/get_file = `shutil.copyfileobj`",
    "redis": "redis-py: SET, GET, EXISTS, DEL, SCAN (count 1000), MGET",
    "sqlite": "sqlite3 in autocommit mode: `INSERT ... ON CONFLICT DO UPDATE`, `SELECT`, `DELETE`, `key IN (...)`",
    "postgresql": "psycopg in autocommit mode: `INSERT ... ON CONFLICT DO UPDATE`, `SELECT`, `DELETE`, `key = ANY(%s)`",
    "s3": "s3fs: pipe_file, cat_file, exists, rm_file, find, cat (batch), put_file/get_file; "
    "boto3: put_object, get_object, head_object, delete_object, list_objects_v2, upload_file/download_file",
    "import": "`import fsspec` (the one required dependency), each in a fresh interpreter",
    "migrate": "a plain loop over the source's keys: `open()` then `put_file()` into another bucket",
}
METRICS = {
    # metric: (label, unit, higher is better)
    "put": ("put 1 KiB", "ops/s", True),
    "get": ("get 1 KiB", "ops/s", True),
    "in": ("in", "ops/s", True),
    "delete": ("delete", "ops/s", True),
    "keys": ("keys()", "keys/s", True),
    "get_many": ("get_many", "keys/s", True),
    "get_loop": ("loop of get", "keys/s", True),
    "put_file_mbps": ("put_file", "MB/s", True),
    "put_file_rise": ("put_file peak rise", "MiB", False),
    "get_file_mbps": ("get_file", "MB/s", True),
    "get_file_rise": ("get_file peak rise", "MiB", False),
}


class Unavailable(RuntimeError):
    """A store cannot run here (missing dependency, server or module); the message says why."""


# -- targets: one store, raw client or peer behind one interface ---------------------------------


@dataclass
class Target:
    """One thing measured: the store, a raw client (``raw``/``raw2``) or the peer package."""

    role: str
    name: str
    put: Callable[[str, bytes], object]
    get: Callable[[str], bytes]
    has: Callable[[str], bool]
    delete: Callable[[str], object]
    keys: Callable[[], list[str]]
    put_file: Callable[[str, str], object]
    get_file: Callable[[str, str], object]
    get_many: Callable[[list[str]], dict[str, bytes]] | None = None
    # Fills the target in bulk before keys() and get_many (never timed): the peer has no put_many.
    put_many: Callable[[dict[str, bytes]], object] | None = None
    close: Callable[[], object] = lambda: None
    clear: Callable[[], object] | None = None  # empties the target's namespace at once (never timed)
    extra: dict[str, Any] = field(default_factory=dict)


def store_target(role: str, name: str, store: Any) -> Target:
    """Wrap a minimalkv-style store (ours or the peer's)."""

    def put_file(key: str, source: str) -> None:
        with open(source, "rb") as file:
            store.put_file(key, file)

    return Target(
        role=role,
        name=name,
        put=store.put,
        get=store.get,
        has=store.__contains__,
        delete=store.delete,
        keys=store.keys,
        put_file=put_file,
        get_file=lambda key, dest: store.get_file(key, dest),
        get_many=getattr(store, "get_many", None),
        put_many=getattr(store, "put_many", None),
        close=getattr(store, "close", lambda: None),
        extra={"store": store},
    )


def _peer(module: str, name: str) -> Any:
    try:
        imported = __import__(module, fromlist=[name])
    except ImportError as exc:
        raise Unavailable(f"minimalkv (peer) not installed: {exc}") from exc
    return getattr(imported, name)


def _peer_name() -> str:
    try:
        from importlib.metadata import version

        return f"minimalkv {version('minimalkv')}"
    except Exception:
        return "minimalkv"


def _copy_to(source: bytes, dest: str) -> None:
    with open(dest, "wb") as file:
        file.write(source)


def _read(source: str) -> bytes:
    with open(source, "rb") as file:
        return file.read()


# memory ------------------------------------------------------------------------------------------


def build_memory(role: str, params: dict[str, Any]) -> Target:
    if role == "store":
        from minimalkv_fsspec.memory import DictStore

        return store_target(role, "DictStore", DictStore())
    if role == "raw":
        data: dict[str, bytes] = {}
        return Target(
            role=role,
            name="dict",
            put=data.__setitem__,
            get=data.__getitem__,
            has=data.__contains__,
            delete=data.__delitem__,
            keys=lambda: list(data),
            put_file=lambda key, source: data.__setitem__(key, _read(source)),
            get_file=lambda key, dest: _copy_to(data[key], dest),
            get_many=lambda keys: {key: data[key] for key in keys},
            put_many=data.update,
        )
    target = store_target(role, _peer_name(), _peer("minimalkv.memory", "DictStore")())
    target.put_many = target.extra["store"].d.update
    return target


# filesystem --------------------------------------------------------------------------------------


def _scandir_walk(root: str, prefix: str = "") -> Iterator[str]:
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _scandir_walk(entry.path, prefix + entry.name + "/")
            else:
                yield prefix + entry.name


def build_filesystem(role: str, params: dict[str, Any]) -> Target:
    root = params["root"]
    os.makedirs(root, exist_ok=True)
    if role == "store":
        from minimalkv_fsspec.fs import FilesystemStore

        return store_target(role, "FilesystemStore", FilesystemStore(root))
    if role == "peer":
        target = store_target(role, _peer_name(), _peer("minimalkv.fs", "FilesystemStore")(root))
        raw = build_filesystem("raw", params)
        target.put_many = raw.put_many
        return target
    base = root + "/"

    def put(key: str, data: bytes) -> None:
        path = base + key
        temp = path + ".tmp"
        with open(temp, "wb") as file:
            file.write(data)
        os.replace(temp, path)

    def get(key: str) -> bytes:
        with open(base + key, "rb") as file:
            return file.read()

    def put_file(key: str, source: str) -> None:
        path = base + key
        with open(source, "rb") as src, open(path + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst, MiB)
        os.replace(path + ".tmp", path)

    def get_file(key: str, dest: str) -> None:
        with open(base + key, "rb") as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst, MiB)

    return Target(
        role=role,
        name="os",
        put=put,
        get=get,
        has=lambda key: os.path.isfile(base + key),
        delete=lambda key: os.unlink(base + key),
        keys=lambda: list(_scandir_walk(root)),
        put_file=put_file,
        get_file=get_file,
        get_many=lambda keys: {key: get(key) for key in keys},
        put_many=lambda items: [put(key, data) for key, data in items.items()],
    )


# redis -------------------------------------------------------------------------------------------


def build_redis(role: str, params: dict[str, Any]) -> Target:
    import redis

    client = redis.Redis(host=params["host"], port=params["port"], db=params["db"])
    if role == "store":
        from minimalkv_fsspec.backends.native.redis import RedisStore

        return store_target(role, "RedisStore", RedisStore(client))
    if role == "peer":
        target = store_target(role, _peer_name(), _peer("minimalkv.memory.redisstore", "RedisStore")(client))
        target.put_many = client.mset
        return target

    def get(key: str) -> bytes:
        value = client.get(key)
        if value is None:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    return Target(
        role=role,
        name=f"redis-py {redis.__version__}",
        put=client.set,
        get=get,
        has=client.exists,  # type: ignore[arg-type]
        delete=client.delete,
        keys=lambda: [key.decode() for key in client.scan_iter(count=1000)],
        put_file=lambda key, source: client.set(key, _read(source)),
        get_file=lambda key, dest: _copy_to(get(key), dest),
        get_many=lambda keys: dict(zip(keys, client.mget(keys), strict=True)),
        put_many=client.mset,
        close=client.close,
    )


# SQL ---------------------------------------------------------------------------------------------


def _sql_store(role: str, url: str, table: str) -> Target:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    if role == "store":
        from minimalkv_fsspec.backends.native.sql import SQLAlchemyStore

        store = SQLAlchemyStore(engine, metadata, table)
        name = "SQLAlchemyStore"
    else:
        store = _peer("minimalkv.db.sql", "SQLAlchemyStore")(engine, metadata, table)
        name = _peer_name()
    metadata.create_all(engine)
    target = store_target(role, name, store)
    target.close = engine.dispose
    if target.put_many is None:

        def fill(items: dict[str, bytes]) -> None:
            with engine.begin() as connection:
                connection.execute(store.table.insert(), [{"key": k, "value": v} for k, v in items.items()])

        target.put_many = fill

    def clear() -> None:
        with engine.begin() as connection:
            connection.execute(store.table.delete())

    target.clear = clear
    return target


def build_sqlite(role: str, params: dict[str, Any]) -> Target:
    path = os.path.join(params["dir"], f"{role}.sqlite")
    table = f"kv_{role}"
    if role != "raw":
        return _sql_store(role, f"sqlite:///{path}", table)
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {table} (key VARCHAR(250) PRIMARY KEY, value BLOB NOT NULL)")
    upsert = f"INSERT INTO {table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"

    def get(key: str) -> bytes:
        row = connection.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]  # type: ignore[no-any-return]

    def get_many(keys: list[str]) -> dict[str, bytes]:
        marks = ",".join("?" * len(keys))
        return dict(connection.execute(f"SELECT key, value FROM {table} WHERE key IN ({marks})", keys).fetchall())

    def put_many(items: dict[str, bytes]) -> None:
        connection.execute("BEGIN")
        connection.executemany(upsert, list(items.items()))
        connection.execute("COMMIT")

    return Target(
        role=role,
        name=f"sqlite3 (SQLite {sqlite3.sqlite_version})",
        put=lambda key, data: connection.execute(upsert, (key, data)),
        get=get,
        has=lambda key: connection.execute(f"SELECT 1 FROM {table} WHERE key = ?", (key,)).fetchone() is not None,
        delete=lambda key: connection.execute(f"DELETE FROM {table} WHERE key = ?", (key,)),
        keys=lambda: [row[0] for row in connection.execute(f"SELECT key FROM {table}")],
        put_file=lambda key, source: connection.execute(upsert, (key, _read(source))),
        get_file=lambda key, dest: _copy_to(get(key), dest),
        get_many=get_many,
        put_many=put_many,
        close=connection.close,
        clear=lambda: connection.execute(f"DELETE FROM {table}"),
    )


def build_postgresql(role: str, params: dict[str, Any]) -> Target:
    table = f"kv_{role}"
    if role != "raw":
        return _sql_store(role, params["url"], table)
    import psycopg

    connection = psycopg.connect(params["url"].replace("+psycopg", ""), autocommit=True)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {table} (key VARCHAR(250) PRIMARY KEY, value BYTEA NOT NULL)")
    upsert = f"INSERT INTO {table} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"

    def get(key: str) -> bytes:
        row = connection.execute(f"SELECT value FROM {table} WHERE key = %s", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def get_many(keys: list[str]) -> dict[str, bytes]:
        rows = connection.execute(f"SELECT key, value FROM {table} WHERE key = ANY(%s)", (keys,)).fetchall()
        return {key: bytes(value) for key, value in rows}

    def put_many(items: dict[str, bytes]) -> None:
        with connection.transaction(), connection.cursor() as cursor:
            cursor.executemany(upsert, list(items.items()))

    return Target(
        role=role,
        name=f"psycopg {psycopg.__version__}",
        put=lambda key, data: connection.execute(upsert, (key, data)),
        get=get,
        has=lambda key: connection.execute(f"SELECT 1 FROM {table} WHERE key = %s", (key,)).fetchone() is not None,
        delete=lambda key: connection.execute(f"DELETE FROM {table} WHERE key = %s", (key,)),
        keys=lambda: [row[0] for row in connection.execute(f"SELECT key FROM {table}")],
        put_file=lambda key, source: connection.execute(upsert, (key, _read(source))),
        get_file=lambda key, dest: _copy_to(get(key), dest),
        get_many=get_many,
        put_many=put_many,
        close=connection.close,
        clear=lambda: connection.execute(f"DELETE FROM {table}"),
    )


# S3 ----------------------------------------------------------------------------------------------


def _s3fs(endpoint: str, **options: Any) -> Any:
    import s3fs

    return s3fs.S3FileSystem(key=S3_KEY, secret=S3_SECRET, endpoint_url=endpoint, skip_instance_cache=True, **options)


def our_s3_store(endpoint: str, bucket: str) -> Any:
    """Build our S3 store the way a user would (bucket, credentials, endpoint), settings at their defaults."""
    try:
        from minimalkv_fsspec.backends.adapters.s3 import Credentials, S3FSStore
    except ImportError as exc:
        raise Unavailable(f"minimalkv_fsspec.backends.adapters.s3 cannot be imported: {exc}") from exc
    return S3FSStore(bucket, Credentials(S3_KEY, S3_SECRET), endpoint_url=endpoint)


def build_s3(role: str, params: dict[str, Any]) -> Target:
    endpoint, bucket = params["endpoint"], params["bucket"]
    if role == "store":
        return store_target(role, "S3FSStore", our_s3_store(endpoint, bucket))
    if role == "peer":
        import boto3

        resource_ = boto3.resource(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )
        cls = _peer("minimalkv.net.s3fsstore", "S3FSStore")
        return store_target(role, _peer_name(), cls(resource_.Bucket(bucket)))
    if role == "raw":
        import s3fs

        fs = _s3fs(endpoint)
        base = bucket + "/"

        def keys() -> list[str]:
            fs.invalidate_cache()  # a real listing, not fsspec's directory cache
            return [path[len(base) :] for path in fs.find(bucket)]

        return Target(
            role=role,
            name=f"s3fs {s3fs.__version__}",
            put=lambda key, data: fs.pipe_file(base + key, data),
            get=lambda key: fs.cat_file(base + key),
            has=lambda key: fs.exists(base + key),
            delete=lambda key: fs.rm_file(base + key),
            keys=keys,
            put_file=lambda key, source: fs.put_file(source, base + key),
            get_file=lambda key, dest: fs.get_file(base + key, dest),
            get_many=lambda keys_: {
                path[len(base) :]: value for path, value in fs.cat([base + k for k in keys_]).items()
            },
            put_many=lambda items: fs.pipe({base + key: data for key, data in items.items()}),
        )
    import boto3
    import botocore.exceptions

    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET, region_name="us-east-1"
    )

    def has(key: str) -> bool:
        try:
            client.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError:
            return False
        return True

    def keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    return Target(
        role=role,
        name=f"boto3 {boto3.__version__}",
        put=lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data),
        get=lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
        has=has,
        delete=lambda key: client.delete_object(Bucket=bucket, Key=key),
        keys=keys,
        put_file=lambda key, source: client.upload_file(source, bucket, key),
        get_file=lambda key, dest: client.download_file(bucket, key, dest),
        extra={"client": client},
    )


BUILDERS: dict[str, Callable[[str, dict[str, Any]], Target]] = {
    "memory": build_memory,
    "filesystem": build_filesystem,
    "redis": build_redis,
    "sqlite": build_sqlite,
    "postgresql": build_postgresql,
    "s3": build_s3,
}


# -- measuring -------------------------------------------------------------------------------------


def _timed(operation: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def _loop(function: Callable[..., object], keys: list[str], value: bytes | None = None) -> Callable[[], None]:
    if value is None:

        def run() -> None:
            for key in keys:
                function(key)

    else:

        def run() -> None:
            for key in keys:
                function(key, value)

    return run


class Samples(dict[str, dict[str, list[float]]]):
    """``samples[role][metric]``: one rate per round."""

    def add(self, role: str, metric: str, value: float) -> None:
        self.setdefault(role, {}).setdefault(metric, []).append(value)


def _ordered(targets: list[Target], round_number: int) -> list[Target]:
    # Alternate the order every round, so no target always runs first (or right after another).
    return targets if round_number % 2 == 0 else targets[::-1]


def measure_ops(
    targets: list[Target], n: int, rounds: int, samples: Samples, cpu: dict[str, dict[str, list[float]]] | None = None
) -> None:
    """Put, get, ``in`` and delete *n* 1 KiB values per target, interleaved by operation and round."""
    keys = [f"bench{number:06d}" for number in range(n)]
    for round_number in range(rounds):
        for metric in ("put", "get", "in", "delete"):
            for target in _ordered(targets, round_number):
                if metric == "put":
                    run = _loop(target.put, keys, VALUE)
                elif metric == "get":
                    if target.get(keys[0]) != VALUE:
                        raise AssertionError(f"{target.name} returned a wrong value")
                    run = _loop(target.get, keys)
                elif metric == "in":
                    if not target.has(keys[-1]):
                        raise AssertionError(f"{target.name}: a stored key is not `in`")
                    run = _loop(target.has, keys)
                else:
                    run = _loop(target.delete, keys)
                started_cpu = time.process_time()
                samples.add(target.role, metric, n / _timed(run))
                if cpu is not None:  # client CPU per operation (all threads), in ms
                    used = (time.process_time() - started_cpu) * 1000 / n
                    cpu.setdefault(target.role, {}).setdefault(metric, []).append(used)


def _populate(target: Target, items: dict[str, bytes]) -> None:
    if target.put_many is not None:
        batch: dict[str, bytes] = {}
        for key, value in items.items():
            batch[key] = value
            if len(batch) == 1000:
                target.put_many(batch)
                batch = {}
        if batch:
            target.put_many(batch)
    else:
        for key, value in items.items():
            target.put(key, value)


def measure_keys(
    targets: list[Target], keys_n: int, rounds: int, samples: Samples, populate: bool = True, repeat: int = 3
) -> None:
    """Time ``keys()`` over *keys_n* keys per target."""
    items = {f"key{number:06d}": VALUE for number in range(keys_n)}
    if populate:
        for target in targets:
            _populate(target, items)
    for round_number in range(rounds):
        for target in _ordered(targets, round_number):
            # One listing takes milliseconds: the best of a few calls per round steadies it.
            for _ in range(repeat):
                found: list[str] = []
                elapsed = _timed(lambda target=target, found=found: found.extend(target.keys()))
                if len(found) < keys_n:
                    raise AssertionError(f"{target.name}: keys() found {len(found)} of {keys_n} keys")
                samples.add(target.role, "keys", len(found) / elapsed)


def measure_many(
    targets: list[Target], many: int, loop_cap: int, rounds: int, samples: Samples, populate: bool = True
) -> None:
    """Time ``get_many`` of *many* keys and a loop of ``get`` (over at most *loop_cap* keys)."""
    keys = [f"many{number:06d}" for number in range(many)]
    if populate:
        for target in targets:
            _populate(target, dict.fromkeys(keys, VALUE))
    looped = keys[:loop_cap]
    for round_number in range(rounds):
        for target in _ordered(targets, round_number):
            if target.get_many is not None:
                found: dict[str, bytes] = {}
                elapsed = _timed(lambda target=target, found=found: found.update(target.get_many(keys)))  # type: ignore[misc]
                if len(found) != len(keys):
                    raise AssertionError(f"{target.name}: get_many found {len(found)} of {len(keys)} keys")
                samples.add(target.role, "get_many", len(keys) / elapsed)
            samples.add(target.role, "get_loop", len(looped) / _timed(_loop(target.get, looped)))


# -- peak memory of big values, in subprocesses ----------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _max_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _RssSampler(threading.Thread):
    """Sample the resident set size every millisecond (catches peaks below an earlier high-water mark)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_kib()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.001):
            self.peak = max(self.peak, _rss_kib())


def child_main(spec: dict[str, Any]) -> None:
    """Run big-value operations for one target in this (fresh) process; print JSON."""
    target = BUILDERS[spec["group"]](spec["role"], spec["params"])
    results: dict[str, Any] = {}
    key = spec["key"]
    for operation in spec["operations"]:
        gc.collect()
        before, high_water = _rss_kib(), _max_rss_kib()
        sampler = _RssSampler()
        sampler.start()
        profiler = None
        if spec.get("profile"):
            profiler = Profiler()
            profiler.start()
        started = time.perf_counter()
        if operation == "put":
            target.put_file(key, spec["source"])
        else:
            target.get_file(key, spec["dest"])
        elapsed = time.perf_counter() - started
        if profiler is not None:
            results[f"{operation}_profile"] = profiler.stop()
        sampler.done.set()
        sampler.join()
        peak = max(sampler.peak, _rss_kib())
        max_rss = _max_rss_kib()
        if max_rss > high_water:  # the high-water mark rose during the operation: it is this operation's peak
            peak = max(peak, max_rss)
        if operation == "get" and os.path.getsize(spec["dest"]) != spec["size"]:
            raise AssertionError(f"get_file wrote {os.path.getsize(spec['dest'])} bytes, not {spec['size']}")
        results[operation] = {"seconds": elapsed, "rise_mib": max(peak - before, 0) / 1024}
    if spec.get("cleanup"):
        with contextlib.suppress(Exception):
            target.delete(key)
    target.close()
    print("RESULT " + json.dumps(results), flush=True)


def run_child(spec: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])  # type: ignore[no-any-return]
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise RuntimeError(f"child failed ({proc.returncode}): {tail}")


def write_big_file(path: str, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as file:
        for number in range(size // MiB):
            file.write(number.to_bytes(8, "little") + block[8:])


def measure_big(group: str, roles: list[str], params_of: Callable[[str], dict[str, Any]], ctx: Context) -> None:
    """put_file then get_file of the big value, one fresh subprocess per target and operation."""
    size = ctx.big_size
    for role in roles:
        spec = {
            "group": group,
            "role": role,
            "params": params_of(role),
            "key": "bigvalue",
            "source": ctx.big_source,
            "dest": os.path.join(ctx.tmp, "big.out"),
            "size": size,
        }
        try:
            if group == "memory":  # the value lives in the process: both operations in one
                both = run_child({**spec, "operations": ["put", "get"]})
                put, get = both["put"], both["get"]
            else:
                put = run_child({**spec, "operations": ["put"]})["put"]
                get = run_child({**spec, "operations": ["get"], "cleanup": True})["get"]
        except Exception as exc:
            ctx.note(f"{group}/{role}: put_file/get_file failed: {exc}")
            continue
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spec["dest"])
        ctx.samples.add(role, "put_file_mbps", size / 1e6 / put["seconds"])
        ctx.samples.add(role, "put_file_rise", put["rise_mib"])
        ctx.samples.add(role, "get_file_mbps", size / 1e6 / get["seconds"])
        ctx.samples.add(role, "get_file_rise", get["rise_mib"])


# -- profiles --------------------------------------------------------------------------------------


class Profiler:
    """pyinstrument if importable (benchmarks/.peer), else cProfile; ``stop()`` returns a text summary."""

    def __init__(self) -> None:
        try:
            import pyinstrument

            self._profiler: Any = pyinstrument.Profiler(interval=0.0005)
            self.kind = "pyinstrument"
        except ImportError:
            import cProfile

            self._profiler = cProfile.Profile()
            self.kind = "cProfile"

    def start(self) -> None:
        self._profiler.enable() if self.kind == "cProfile" else self._profiler.start()

    def stop(self, lines: int = 40) -> str:
        if self.kind == "cProfile":
            import pstats

            self._profiler.disable()
            out = io.StringIO()
            pstats.Stats(self._profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(15)
            text = out.getvalue()
        else:
            self._profiler.stop()
            text = self._profiler.output_text(unicode=False, color=False, short_mode=True)
        kept = [line for line in text.splitlines() if line.strip()]
        return "\n".join([f"[{self.kind}]", *kept[:lines]])


def _fsspec_loop() -> Any:
    """fsspec's IO loop if one is running (async filesystems such as s3fs do their work there), else None."""
    asyn = sys.modules.get("fsspec.asyn")
    loop = getattr(asyn, "loop", [None])[0] if asyn is not None else None
    return loop if loop is not None and loop.is_running() else None


def _on_loop(loop: Any, function: Callable[[], object]) -> None:
    import asyncio

    async def call() -> None:
        function()

    asyncio.run_coroutine_threadsafe(call(), loop).result(10)


def profile(operation: Callable[[], object]) -> str:
    """Profile *operation*; for async (fsspec) stores also fsspec's IO thread, where their requests run."""
    import cProfile
    import pstats

    profiler = Profiler()
    loop = _fsspec_loop()
    loop_profiler = cProfile.Profile() if loop is not None else None
    if loop_profiler is not None:
        _on_loop(loop, loop_profiler.enable)  # profiling is per thread: enable it on the loop's thread
    profiler.start()
    try:
        operation()
    finally:
        text = profiler.stop()
        if loop_profiler is not None:
            _on_loop(loop, loop_profiler.disable)
            out = io.StringIO()
            stats = pstats.Stats(loop_profiler, stream=out).strip_dirs().sort_stats("tottime")
            stats.print_stats(12)
            kept = [line for line in out.getvalue().splitlines() if line.strip()]
            text += "\n[cProfile of fsspec's IO thread, by own time]\n" + "\n".join(kept[:20])
    return text


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Context:
    mode: str
    config: dict[str, Any]
    tmp: str
    big_source: str = ""
    big_size: int = 0
    samples: Samples = field(default_factory=Samples)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        print(f"  {what}: {time.perf_counter() - started:.1f} s", flush=True)

    def profile_n(self, n: int) -> int:
        """Scale the size of a profiled loop to the mode."""
        return max(int(n * self.config.get("profile_scale", 1.0)), 10)

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)


def _best(values: list[float], higher: bool) -> float:
    return max(values) if higher else min(values)


def _safe_ratio(value: float, other: float, unit: str) -> float | None:
    # A peak rise under 1 MiB is noise of the measurement: no ratio to it.
    if not other or (unit == "MiB" and other < 1.0):
        return None
    return value / other


def summarize(group: str, ctx: Context, names: dict[str, str]) -> dict[str, dict[str, float]]:
    """Turn this group's samples into table rows; return ``{role: {metric: best}}``."""
    best: dict[str, dict[str, float]] = {}
    for role, metrics in ctx.samples.items():
        for metric, values in metrics.items():
            best.setdefault(role, {})[metric] = _best(values, METRICS[metric][2])
    store = best.get("store", {})
    for metric, (label, unit, higher) in METRICS.items():
        if metric not in store:
            continue
        row: dict[str, Any] = {
            "group": group,
            "metric": metric,
            "operation": label,
            "unit": unit,
            "higher_is_better": higher,
            "store": store[metric],
            "store_median": statistics.median(ctx.samples["store"][metric]),
            "store_name": names.get("store"),
            "rounds": len(ctx.samples["store"][metric]),
            "baselines": [],
            "peer": None,
        }
        for role in ("raw", "raw2"):
            if metric in best.get(role, {}):
                value = best[role][metric]
                row["baselines"].append(
                    {
                        "role": role,
                        "name": names.get(role),
                        "value": value,
                        "median": statistics.median(ctx.samples[role][metric]),
                        "ratio": _safe_ratio(store[metric], value, unit),
                    }
                )
        if metric in best.get("peer", {}):
            value = best["peer"][metric]
            row["peer"] = {
                "name": names.get("peer"),
                "value": value,
                "median": statistics.median(ctx.samples["peer"][metric]),
                "ratio": _safe_ratio(store[metric], value, unit),
            }
        ctx.rows.append(row)
    ctx.samples = Samples()
    return best


def add_target(
    ctx: Context,
    group: str,
    text: str,
    measured: float | None,
    goal: float,
    *,
    at_least: bool = True,
    unit: str = "x",
    detail: str = "",
    profile_with: Callable[[], object] | ProfileJob | None = None,
) -> None:
    met = None if measured is None else (measured >= goal if at_least else measured < goal)
    entry = {
        "group": group,
        "target": text,
        "goal": f"{'>=' if at_least else '<'} {goal:g}{'' if unit == 'x' else ' ' + unit}",
        "measured": measured,
        "unit": unit,
        "met": met,
        "detail": detail,
    }
    ctx.targets.append(entry)
    state = "n/a" if met is None else ("met" if met else "NOT MET")
    shown = "n/a" if measured is None else f"{measured:.3g}{'x' if unit == 'x' else ' ' + unit}"
    print(f"  target {text}: {shown} ({entry['goal']}) {state}", flush=True)
    if met is False and profile_with is not None and ctx.config.get("profile"):
        label = f"{group}: {text}"
        try:
            job = profile_with if isinstance(profile_with, ProfileJob) else ProfileJob(run=profile_with)
            job.setup()
            try:
                ctx.profiles[label] = profile(job.run)
            finally:
                job.teardown()
        except Exception as exc:
            ctx.profiles[label] = f"profiling failed: {type(exc).__name__}: {exc}"


def _ratio(best: dict[str, dict[str, float]], metric: str, role: str, over: str = "store") -> float | None:
    try:
        return best[over][metric] / best[role][metric]
    except (KeyError, ZeroDivisionError):
        return None


def _get(best: dict[str, dict[str, float]], role: str, metric: str) -> float | None:
    return best.get(role, {}).get(metric)


def _build_all(group: str, roles: list[str], params_of: Callable[[str], dict[str, Any]], ctx: Context) -> list[Target]:
    targets = []
    for role in roles:
        try:
            targets.append(BUILDERS[group](role, params_of(role)))
        except Unavailable as exc:
            if role == "store":
                raise
            ctx.note(f"{group}: {role} skipped: {exc}")
        except Exception as exc:
            if role == "store":
                raise
            ctx.note(f"{group}: {role} failed to start: {type(exc).__name__}: {exc}")
    return targets


def kv_group(
    group: str,
    ctx: Context,
    params_of: Callable[[str], dict[str, Any]],
    roles: list[str],
    *,
    n: int,
    rounds: int,
    keys_n: int,
    many: int,
    loop_cap: int,
    reset: Callable[[list[Target]], None],
) -> tuple[dict[str, dict[str, float]], list[Target]]:
    """Measure one store group; return the best figures and the (still open) targets."""
    targets = _build_all(group, roles, params_of, ctx)
    names = {target.role: target.name for target in targets}
    ctx.groups[group]["targets"] = names
    print(f"  {', '.join(f'{t.role}={t.name}' for t in targets)}", flush=True)
    with ctx.phase(f"put/get/in/delete x {n}"):
        measure_ops(targets, n, rounds, ctx.samples)
        reset(targets)
    with ctx.phase(f"keys() over {keys_n}"):
        measure_keys(targets, keys_n, rounds, ctx.samples)
        reset(targets)
    with ctx.phase(f"get_many of {many}"):
        measure_many(targets, many, loop_cap, rounds, ctx.samples)
        reset(targets)
    for target in targets:
        target.close()
    if group in ctx.config.get("big_groups", (group,)):
        with ctx.phase(f"put_file/get_file of {ctx.config['big_mib']} MiB"):
            wanted = ctx.config.get("big_roles", {}).get(group)
            measure_big(group, [t.role for t in targets if wanted is None or t.role in wanted], params_of, ctx)
    best = summarize(group, ctx, names)
    return best, targets


def _fresh_dirs(root: str) -> Callable[[list[Target]], None]:
    def reset(targets: list[Target]) -> None:
        for role in ("store", "raw", "peer"):
            path = os.path.join(root, role)
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path)

    return reset


def _delete_all(targets: list[Target]) -> None:
    for target in targets:
        for key in target.keys():
            target.delete(key)


@dataclass
class ProfileJob:
    """What to profile (``run``), with untimed ``setup`` and ``teardown`` around it."""

    run: Callable[[], object]
    setup: Callable[[], object] = lambda: None
    teardown: Callable[[], object] = lambda: None


def _hot_loop(target: Target, operation: str, n: int) -> ProfileJob:
    """Profile one operation of *target* over *n* keys, nothing else."""
    keys = [f"prof{number:06d}" for number in range(n)]

    def fill() -> None:
        for key in keys:
            target.put(key, VALUE)

    def empty() -> None:
        for key in keys:
            target.delete(key)

    if operation == "put":
        return ProfileJob(run=fill, teardown=empty)
    if operation == "get":
        return ProfileJob(run=lambda: [target.get(key) for _ in range(3) for key in keys], setup=fill, teardown=empty)
    if operation == "keys":
        return ProfileJob(run=lambda: [target.keys() for _ in range(20)], setup=fill, teardown=empty)
    raise ValueError(operation)


def group_memory(ctx: Context) -> None:
    cfg = ctx.config
    best, targets = kv_group(
        "memory",
        ctx,
        lambda role: {},
        ["store", "raw", "peer"],
        n=cfg["n"],
        rounds=cfg["rounds"],
        keys_n=cfg["keys_n"],
        many=cfg["many"],
        loop_cap=cfg["loop_cap"],
        reset=lambda targets: None,
    )
    store = targets[0]
    for metric in ("get", "put"):
        add_target(
            ctx,
            "memory",
            f"{metric} >= 2x minimalkv's DictStore",
            _ratio(best, metric, "peer"),
            2.0,
            profile_with=_hot_loop(store, metric, ctx.profile_n(20000)),
        )


def group_filesystem(ctx: Context) -> None:
    cfg = ctx.config
    root = os.path.join(ctx.tmp, "fs")
    reset = _fresh_dirs(root)
    reset([])
    best, targets = kv_group(
        "filesystem",
        ctx,
        lambda role: {"root": os.path.join(root, role)},
        ["store", "raw", "peer"],
        n=cfg["n"],
        rounds=cfg["rounds"],
        keys_n=cfg["keys_n"],
        many=cfg["many"],
        loop_cap=cfg["loop_cap"],
        reset=reset,
    )
    store = targets[0]
    add_target(
        ctx,
        "filesystem",
        "put >= 90% of raw atomic write",
        _ratio(best, "put", "raw"),
        0.9,
        profile_with=_hot_loop(store, "put", ctx.profile_n(2000)),
    )
    add_target(
        ctx,
        "filesystem",
        "get >= 90% of raw read",
        _ratio(best, "get", "raw"),
        0.9,
        profile_with=_hot_loop(store, "get", ctx.profile_n(2000)),
    )
    add_target(
        ctx,
        "filesystem",
        "keys() >= 50% of raw os.scandir walk",
        _ratio(best, "keys", "raw"),
        0.5,
        profile_with=_hot_loop(store, "keys", ctx.profile_n(2000)),
    )
    shutil.rmtree(root, ignore_errors=True)


def _server(ctx: Context, starter_name: str) -> tuple[dict[str, Any], Callable[[], None]]:
    import _servers

    try:
        return getattr(_servers, starter_name)()  # type: ignore[no-any-return]
    except _servers.Unavailable as exc:
        raise Unavailable(str(exc)) from exc


def _get_many_target(ctx: Context, group: str, best: dict[str, dict[str, float]], store: Target) -> None:
    many, loop = _get(best, "store", "get_many"), _get(best, "store", "get_loop")
    keys = [f"many{number:06d}" for number in range(min(ctx.config["many"], 1000))]

    add_target(
        ctx,
        group,
        f"get_many of {ctx.config['many']} keys >= 10x a get loop",
        None if many is None or loop is None else many / loop,
        10.0,
        profile_with=ProfileJob(
            run=lambda: [store.get_many(keys) for _ in range(5)],  # type: ignore[misc]
            setup=lambda: _populate(store, dict.fromkeys(keys, VALUE)),
            teardown=lambda: [store.delete(key) for key in keys],
        ),
    )


def group_redis(ctx: Context) -> None:
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"redis-py not installed: {exc}") from exc
    info, stop = _server(ctx, "start_redis")
    try:
        cfg = ctx.config
        databases = {"store": 0, "raw": 1, "peer": 2}

        def reset(targets: list[Target]) -> None:
            import redis as redis_module

            redis_module.Redis(host=info["host"], port=info["port"]).flushall()

        best, targets = kv_group(
            "redis",
            ctx,
            lambda role: {"host": info["host"], "port": info["port"], "db": databases[role]},
            ["store", "raw", "peer"],
            n=cfg["n"],
            rounds=cfg["rounds"],
            keys_n=cfg["keys_n"],
            many=cfg["many"],
            loop_cap=cfg["loop_cap"],
            reset=reset,
        )
        store = build_redis("store", {"host": info["host"], "port": info["port"], "db": 0})
        add_target(
            ctx,
            "redis",
            "put >= 90% of raw redis-py",
            _ratio(best, "put", "raw"),
            0.9,
            profile_with=_hot_loop(store, "put", ctx.profile_n(3000)),
        )
        add_target(
            ctx,
            "redis",
            "get >= 90% of raw redis-py",
            _ratio(best, "get", "raw"),
            0.9,
            profile_with=_hot_loop(store, "get", ctx.profile_n(3000)),
        )
        _get_many_target(ctx, "redis", best, store)
        store.close()
    finally:
        stop()


def _sql_group(group: str, ctx: Context, params_of: Callable[[str], dict[str, Any]], n: int) -> None:
    cfg = ctx.config
    best, targets = kv_group(
        group,
        ctx,
        params_of,
        ["store", "raw", "peer"],
        n=n,
        rounds=cfg.get("sql_rounds", cfg["rounds"]),
        keys_n=cfg["keys_n"],
        many=cfg["many"],
        loop_cap=cfg["loop_cap"],
        reset=_delete_all_fast,
    )
    store = BUILDERS[group]("store", params_of("store"))
    for metric in ("put", "get"):
        add_target(
            ctx,
            group,
            f"{metric} >= 2x minimalkv's SQLAlchemyStore",
            _ratio(best, metric, "peer"),
            2.0,
            profile_with=_hot_loop(store, metric, ctx.profile_n(1000)),
        )
    _get_many_target(ctx, group, best, store)
    store.close()


def _delete_all_fast(targets: list[Target]) -> None:
    for target in targets:
        if target.clear is not None:
            target.clear()
            continue
        store = target.extra.get("store")
        keys = target.keys()
        if store is not None and hasattr(store, "delete_many"):
            store.delete_many(keys)
        else:
            for key in keys:
                target.delete(key)


def group_sqlite(ctx: Context) -> None:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"SQLAlchemy not installed: {exc}") from exc
    directory = os.path.join(ctx.tmp, "sqlite")
    os.makedirs(directory, exist_ok=True)
    _sql_group("sqlite", ctx, lambda role: {"dir": directory}, ctx.config.get("sql_n", ctx.config["n"]))


def group_postgresql(ctx: Context) -> None:
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"SQLAlchemy or psycopg not installed: {exc}") from exc
    info, stop = _server(ctx, "start_postgres")
    try:
        _sql_group("postgresql", ctx, lambda role: {"url": info["url"]}, ctx.config.get("sql_n", ctx.config["n"]))
    finally:
        stop()


# S3 ----------------------------------------------------------------------------------------------


def _s3_env(endpoint: str) -> None:
    # The peer's S3FSStore builds its own s3fs from the environment's credentials.
    os.environ["AWS_ACCESS_KEY_ID"] = S3_KEY
    os.environ["AWS_SECRET_ACCESS_KEY"] = S3_SECRET
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _make_buckets(endpoint: str, names: list[str]) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET, region_name="us-east-1"
    )
    for name in names:
        client.create_bucket(Bucket=name)


def group_s3(ctx: Context) -> None:
    try:
        import boto3  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"s3fs or boto3 not installed: {exc}") from exc
    info, stop = _server(ctx, "start_moto")
    ctx.extra["moto"] = info
    try:
        endpoint = info["endpoint_url"]
        _s3_env(endpoint)
        roles = ["store", "raw", "raw2", "peer"]
        buckets = {role: f"bench-{role}" for role in roles}
        _make_buckets(endpoint, [*buckets.values(), "bench-shared"])
        our_s3_store(endpoint, "bench-shared")  # raises Unavailable before anything is measured
        cfg = ctx.config
        targets = [BUILDERS["s3"](role, {"endpoint": endpoint, "bucket": buckets[role]}) for role in roles]
        names = {target.role: target.name for target in targets}
        ctx.groups["s3"]["targets"] = names
        print(f"  {', '.join(f'{t.role}={t.name}' for t in targets)}", flush=True)
        with ctx.phase(f"put/get/in/delete x {cfg['s3_n']}"):
            cpu: dict[str, dict[str, list[float]]] = {}
            measure_ops(targets, cfg["s3_n"], cfg["s3_rounds"], ctx.samples, cpu)
            ctx.extra["s3_client_cpu_ms_per_op"] = {
                role: {metric: min(values) for metric, values in metrics.items()} for role, metrics in cpu.items()
            }
        # keys() and get_many read one shared bucket, filled once: the emulator is slow to fill.
        shared = [BUILDERS["s3"](role, {"endpoint": endpoint, "bucket": "bench-shared"}) for role in roles]
        with ctx.phase(f"fill the shared bucket with {cfg['s3_keys']} keys"):
            _populate(shared[1], {f"many{number:06d}": VALUE for number in range(cfg["s3_keys"])})
        with ctx.phase(f"keys() over {cfg['s3_keys']}"):
            measure_keys(shared, cfg["s3_keys"], 1, ctx.samples, populate=False, repeat=1)
        many = min(cfg["s3_many"], cfg["s3_keys"])
        with ctx.phase(f"get_many of {many}"):
            measure_many(shared, many, cfg["s3_loop_cap"], 1, ctx.samples, populate=False)
        with ctx.phase(f"put_file/get_file of {cfg['big_mib']} MiB"):
            measure_big(
                "s3", list(cfg["s3_big_roles"]), lambda role: {"endpoint": endpoint, "bucket": buckets[role]}, ctx
            )
        best = summarize("s3", ctx, names)
        store = targets[0]
        cpu_ms = ctx.extra["s3_client_cpu_ms_per_op"]
        for metric in ("put", "get"):
            add_target(
                ctx,
                "s3",
                f"{metric} >= raw boto3",
                _ratio(best, metric, "raw2"),
                1.0,
                detail=(
                    f"client CPU per {metric}: store {cpu_ms.get('store', {}).get(metric, float('nan')):.2f} ms, "
                    f"boto3 {cpu_ms.get('raw2', {}).get(metric, float('nan')):.2f} ms, s3fs "
                    f"{cpu_ms.get('raw', {}).get(metric, float('nan')):.2f} ms; {cfg['s3_n']} ops x "
                    f"{cfg['s3_rounds']} rounds against an emulator shared by the 2 cores"
                ),
                profile_with=_hot_loop(store, metric, ctx.profile_n(100)),
            )
        for operation in ("put_file", "get_file"):
            rise = _get(best, "store", f"{operation}_rise")
            add_target(
                ctx,
                "s3",
                f"{operation} of {cfg['big_mib']} MiB: peak memory rise < 64 MiB",
                rise,
                64.0,
                at_least=False,
                unit="MiB",
                detail=f"peer: {_get(best, 'peer', f'{operation}_rise') or float('nan'):.0f} MiB",
            )
            if rise is not None and rise >= 64 and cfg.get("profile"):
                _profile_big(ctx, operation, endpoint, buckets["store"])
        group_s3_latency(ctx, info)
    finally:
        stop()


def _profile_big(ctx: Context, operation: str, endpoint: str, bucket: str) -> None:
    spec = {
        "group": "s3",
        "role": "store",
        "params": {"endpoint": endpoint, "bucket": bucket},
        "key": "bigvalue",
        "source": ctx.big_source,
        "dest": os.path.join(ctx.tmp, "big.out"),
        "size": ctx.big_size,
        "profile": True,
    }
    try:
        if operation == "put_file":
            result = run_child({**spec, "operations": ["put"]})
            ctx.profiles[f"s3: {operation} of the big value"] = result["put_profile"]
        else:
            run_child({**spec, "operations": ["put"]})
            result = run_child({**spec, "operations": ["get"], "cleanup": True})
            ctx.profiles[f"s3: {operation} of the big value"] = result["get_profile"]
    except Exception as exc:
        ctx.profiles[f"s3: {operation} of the big value"] = f"profiling failed: {exc}"
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spec["dest"])


def _per_op_ms(operation: Callable[[str], object], keys: list[str]) -> float:
    timings = []
    for key in keys:
        started = time.perf_counter()
        operation(key)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def _obstore_fetcher(endpoint: str, bucket: str, concurrency: int = 64) -> Callable[[list[str]], int]:
    """Return a function fetching keys with obstore, *concurrency* GETs in flight (warmed up once)."""
    import asyncio

    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id=S3_KEY,
        secret_access_key=S3_SECRET,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )

    async def fetch_all(keys: list[str]) -> int:
        limit = asyncio.Semaphore(concurrency)

        async def fetch(key: str) -> int:
            async with limit:
                response = await obstore.get_async(store, key)
                return len(await response.bytes_async())

        sizes = await asyncio.gather(*(fetch(key) for key in keys))
        return len(sizes)

    def run(keys: list[str]) -> int:
        found = asyncio.run(fetch_all(keys))
        if found != len(keys):
            raise AssertionError(f"obstore fetched {found} of {len(keys)} keys")
        return found

    return run


def _obstore_fetch(endpoint: str, bucket: str, keys: list[str], concurrency: int = 64) -> tuple[float, int]:
    """Fetch *keys* with obstore after a warm-up; return (seconds, values found)."""
    fetch = _obstore_fetcher(endpoint, bucket, concurrency)
    fetch(keys[:concurrency])  # warm-up: connections, credentials
    started = time.perf_counter()
    found = fetch(keys)
    return time.perf_counter() - started, found


def _echo_server() -> tuple[int, Callable[[], None]]:
    """Start a TCP echo server in a thread (for the proxy's own overhead); return its port and a stopper."""
    import socket
    import socketserver

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := self.request.recv(65536):
                self.request.sendall(data)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return int(server.server_address[1]), stop


def _echo_rtt_ms(port: int, count: int) -> float:
    """Median time of sending 1 KiB and reading it back through *port*, in ms."""
    import socket

    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        timings = []
        for _ in range(count + 5):
            started = time.perf_counter()
            sock.sendall(VALUE)
            received = 0
            while received < len(VALUE):
                received += len(sock.recv(65536))
            timings.append(time.perf_counter() - started)
    return statistics.median(timings[5:]) * 1000


def group_s3_latency(ctx: Context, moto: dict[str, Any]) -> None:
    """The S3 targets through the latency proxy (run inside the S3 group, on its emulator)."""
    from latency_proxy import start_proxy

    print("== s3-latency", flush=True)
    ctx.groups["s3-latency"] = {"status": "ok", "reason": None}
    cfg = ctx.config
    endpoint = moto["endpoint_url"]
    host, port = moto["host"], moto["port"]
    keys = [f"many{number:06d}" for number in range(min(cfg["lat_many"], cfg["s3_keys"]))]
    figures: dict[str, Any] = {"delay_ms_per_direction": 10.0, "rtt_ms": 20.0}
    ctx.extra["latency"] = figures
    ctx.note(
        "s3-latency: moto (werkzeug) closes the connection after every response, so every request opens a new "
        "one; the proxy delays data but not the TCP handshake, as a client reusing connections to S3 would see it."
    )

    # The proxy's own cost, on a local echo server (the emulator's own jitter is larger than 1 ms).
    with ctx.phase("proxy overhead"):
        echo_port, stop_echo = _echo_server()
        zero_port, stop_zero = start_proxy("127.0.0.1", echo_port, 0.0)
        delayed_port, stop_delayed = start_proxy("127.0.0.1", echo_port, 10.0)
        try:
            direct, through = [], []
            for _ in range(3):  # interleaved
                direct.append(_echo_rtt_ms(echo_port, 200))
                through.append(_echo_rtt_ms(zero_port, 200))
            figures["echo_rtt_ms_direct"] = min(direct)
            figures["echo_rtt_ms_proxy_0ms"] = min(through)
            figures["echo_rtt_ms_proxy_10ms"] = _echo_rtt_ms(delayed_port, 20)
        finally:
            stop_delayed()
            stop_zero()
            stop_echo()
    overhead = figures["echo_rtt_ms_proxy_0ms"] - figures["echo_rtt_ms_direct"]
    add_target(
        ctx,
        "s3-latency",
        "proxy adds <= ~1 ms at 0 ms delay (1 KiB echo round trip)",
        overhead,
        1.0,
        at_least=False,
        unit="ms",
        detail=(
            f"direct {figures['echo_rtt_ms_direct']:.3f} ms, proxy at 0 ms {figures['echo_rtt_ms_proxy_0ms']:.3f} ms, "
            f"at 10 ms per direction {figures['echo_rtt_ms_proxy_10ms']:.1f} ms"
        ),
    )
    # The emulator's own ceiling: obstore 64-way, without the proxy.
    try:
        with ctx.phase(f"emulator ceiling (obstore, {cfg['lat_ceiling_n']} keys, no proxy)"):
            seconds, found = _obstore_fetch(endpoint, "bench-shared", keys[: cfg["lat_ceiling_n"]])
        figures["emulator_ceiling_keys_per_s"] = found / seconds
    except Exception as exc:
        figures["obstore_error"] = f"{type(exc).__name__}: {exc}"
        ctx.note(f"s3-latency: obstore unavailable: {figures['obstore_error']}")

    proxy_port, stop_proxy = start_proxy(host, port, 10.0)
    try:
        slow = f"http://{host}:{proxy_port}"
        store = build_s3("store", {"endpoint": slow, "bucket": "bench-shared"})
        s3fs_raw = build_s3("raw", {"endpoint": slow, "bucket": "bench-shared"})
        boto = build_s3("raw2", {"endpoint": slow, "bucket": "bench-shared"})
        # botocore sends PutObject with "Expect: 100-continue" and waits for the "100 Continue" before
        # the body: a second round trip. Without the header a put is one round trip: the reference.
        one_trip = build_s3("raw2", {"endpoint": slow, "bucket": "bench-shared"})
        from botocore.handlers import add_expect_header

        one_trip.extra["client"].meta.events.unregister("before-call.s3", add_expect_header)
        sample = keys[: cfg["lat_n"]]
        named = [("store", store), ("s3fs", s3fs_raw), ("boto3", boto), ("boto3_no_expect", one_trip)]
        for _, target in named:
            target.get(sample[0])  # connect, sign, warm caches
        gets: dict[str, list[float]] = {name: [] for name, _ in named}
        puts: dict[str, list[float]] = {name: [] for name, _ in named}
        with ctx.phase(f"single get and put x {len(sample)}"):
            for round_number in range(cfg["lat_rounds"]):
                for name, target in _ordered(named, round_number):  # type: ignore[arg-type]
                    gets[name].append(_per_op_ms(target.get, sample))
                    puts[name].append(_per_op_ms(lambda key, target=target: target.put(f"lat-{key}", VALUE), sample))
        for name in gets:
            figures[f"get_ms_{name}"] = min(gets[name])
            figures[f"put_ms_{name}"] = min(puts[name])
        for key in sample:
            boto.delete(f"lat-{key}")
        rtt = figures["rtt_ms"]
        # A request's round trips = its time over the time of boto3's one-round-trip request.
        add_target(
            ctx,
            "s3-latency",
            "single get costs one round trip (store ms / boto3 GET ms)",
            figures["get_ms_store"] / figures["get_ms_boto3"],
            1.5,
            at_least=False,
            detail=(
                f"store {figures['get_ms_store']:.1f} ms, boto3 {figures['get_ms_boto3']:.1f} ms, s3fs cat_file "
                f"{figures['get_ms_s3fs']:.1f} ms at {rtt:g} ms RTT"
            ),
            profile_with=lambda: [store.get(key) for key in sample],
        )
        add_target(
            ctx,
            "s3-latency",
            "put costs one round trip (store ms / one-round-trip PUT ms)",
            figures["put_ms_store"] / figures["put_ms_boto3_no_expect"],
            1.5,
            at_least=False,
            detail=(
                f"store {figures['put_ms_store']:.1f} ms; boto3 without Expect: 100-continue (1 round trip) "
                f"{figures['put_ms_boto3_no_expect']:.1f} ms, boto3 default {figures['put_ms_boto3']:.1f} ms, "
                f"s3fs pipe_file {figures['put_ms_s3fs']:.1f} ms"
            ),
            profile_with=lambda: [store.put(f"lat-{key}", VALUE) for key in sample],
        )
        for key in sample:
            boto.delete(f"lat-{key}")

        # get_many of all keys against the sequential loop's rate, s3fs, and obstore.
        sequential_rate = 1000 / figures["get_ms_store"]
        figures["sequential_get_keys_per_s_store"] = sequential_rate

        def rate(name: str, fetch: Callable[[list[str]], object], wanted: list[str] = keys) -> None:
            # Client CPU per key (all threads of this process) tells a CPU-bound client from a waiting one.
            cpu = time.process_time()
            seconds = _timed(lambda: fetch(wanted))
            figures[f"get_many_keys_per_s_{name}"] = len(wanted) / seconds
            figures[f"get_many_client_cpu_ms_per_key_{name}"] = (time.process_time() - cpu) * 1000 / len(wanted)

        def checked(fetch: Callable[[list[str]], dict[str, bytes]] | None) -> Callable[[list[str]], object]:
            assert fetch is not None

            def run(wanted: list[str]) -> None:
                if len(fetch(wanted)) != len(wanted):
                    raise AssertionError("get_many missed keys")

            return run

        with ctx.phase(f"get_many of {len(keys)} (store, s3fs cat, s3fs pool 64, obstore 64)"):
            rate("store", checked(store.get_many))
            # The raw s3fs comparisons are rates: a part of the keys is enough.
            rate("s3fs_cat", checked(s3fs_raw.get_many), keys[:300])
            rate("s3fs_pool64", checked(_s3fs_pool64(slow, "bench-shared")), keys[:300])
            try:
                fetch_obstore = _obstore_fetcher(slow, "bench-shared")
                fetch_obstore(keys[:64])  # warm-up, as the other clients had
                rate("obstore64", fetch_obstore)
            except Exception as exc:
                figures.setdefault("obstore_error", f"{type(exc).__name__}: {exc}")
        many_rate = figures["get_many_keys_per_s_store"]
        add_target(
            ctx,
            "s3-latency",
            f"get_many of {len(keys)} keys >= 10x the sequential loop",
            many_rate / sequential_rate,
            10.0,
            detail=(
                f"upper bound here: emulator ceiling / loop = "
                f"{(figures.get('emulator_ceiling_keys_per_s') or float('nan')) / sequential_rate:.1f}x; "
                f"get_many {many_rate:.0f} keys/s, loop {sequential_rate:.0f} keys/s; s3fs cat (pool 10) "
                f"{figures['get_many_keys_per_s_s3fs_cat']:.0f}, s3fs cat_ranges with a pool of 64 "
                f"{figures['get_many_keys_per_s_s3fs_pool64']:.0f} keys/s; client CPU per key: store "
                f"{figures['get_many_client_cpu_ms_per_key_store']:.1f} ms, obstore "
                f"{figures.get('get_many_client_cpu_ms_per_key_obstore64', float('nan')):.1f} ms"
            ),
            profile_with=lambda: store.get_many(keys[: ctx.profile_n(400)]),  # type: ignore[misc]
        )
        obstore_rate = figures.get("get_many_keys_per_s_obstore64")
        ceiling = figures.get("emulator_ceiling_keys_per_s")
        add_target(
            ctx,
            "s3-latency",
            "get_many >= obstore's 64-way concurrent fetch",
            None if obstore_rate is None else many_rate / obstore_rate,
            1.0,
            detail=(
                "obstore not installed"
                if obstore_rate is None
                else f"obstore {obstore_rate:.0f} keys/s; emulator ceiling (obstore, no proxy) "
                f"{ceiling or 0:.0f} keys/s"
            ),
        )
        for _, target in named:
            target.close()
    finally:
        stop_proxy()


def _s3fs_pool64(endpoint: str, bucket: str) -> Callable[[list[str]], dict[str, bytes]]:
    """What the store's get_many could do: s3fs with 64 pooled connections, 64 GETs in flight, no HEAD."""
    fs = _s3fs(endpoint, config_kwargs={"max_pool_connections": 64})
    base = bucket + "/"

    def fetch(keys: list[str]) -> dict[str, bytes]:
        paths = [base + key for key in keys]
        values = fs.cat_ranges(paths, [None] * len(paths), [None] * len(paths), batch_size=64, max_concurrency=1)
        return dict(zip(keys, values, strict=True))

    return fetch


# import ------------------------------------------------------------------------------------------

HEAVY = ("s3fs", "adlfs", "gcsfs", "redis", "sqlalchemy", "dulwich", "boto3", "botocore", "aiobotocore", "psycopg")
IMPORT_SNIPPET = """
import json, sys, time
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "heavy": sorted(m for m in {heavy!r} if m in sys.modules),
                  "fsspec": "fsspec" in sys.modules}}))
"""


def _import_time(module: str, runs: int, extra_path: str | None = None) -> tuple[float, dict[str, Any]]:
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = extra_path
    best, last = float("inf"), {}
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", IMPORT_SNIPPET.format(module=module, heavy=HEAVY)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),  # not the repository: the installed package is timed
            check=True,
        )
        last = json.loads(proc.stdout)
        best = min(best, last["seconds"])
    return best, last


def group_import(ctx: Context) -> None:
    runs = ctx.config["import_runs"]
    ours, info = _import_time("minimalkv_fsspec", runs)
    baseline, _ = _import_time("fsspec", runs)
    try:
        peer, _ = _import_time("minimalkv", runs, PEER_DIR if os.path.isdir(PEER_DIR) else None)
    except subprocess.CalledProcessError:
        peer = None
    row: dict[str, Any] = {
        "group": "import",
        "metric": "import",
        "operation": f"import (best of {runs})",
        "unit": "ms",
        "higher_is_better": False,
        "store": ours * 1000,
        "store_median": ours * 1000,
        "store_name": "minimalkv_fsspec",
        "rounds": runs,
        "baselines": [{"role": "raw", "name": "import fsspec", "value": baseline * 1000, "ratio": ours / baseline}],
        "peer": None if peer is None else {"name": _peer_name(), "value": peer * 1000, "ratio": ours / peer},
    }
    ctx.rows.append(row)
    ctx.groups["import"]["targets"] = {"store": "minimalkv_fsspec", "raw": "import fsspec", "peer": _peer_name()}
    ctx.extra["import"] = info
    add_target(
        ctx,
        "import",
        "import minimalkv_fsspec < 100 ms",
        ours * 1000,
        100.0,
        at_least=False,
        unit="ms",
        detail=f"fsspec imported: {info['fsspec']}",
    )
    add_target(
        ctx,
        "import",
        "no backend library imported by `import minimalkv_fsspec`",
        float(len(info["heavy"])),
        1.0,
        at_least=False,
        unit="modules",
        detail=", ".join(info["heavy"]) or "none of " + ", ".join(HEAVY),
    )


def group_migrate(ctx: Context) -> None:
    """Time ``migrate()`` from a filesystem store to S3 against a plain get/put loop, in one run."""
    try:
        import s3fs  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"s3fs not installed: {exc}") from exc
    from minimalkv_fsspec.fs import FilesystemStore
    from minimalkv_fsspec.migrate import migrate

    info, stop = _server(ctx, "start_moto")
    try:
        endpoint = info["endpoint_url"]
        _s3_env(endpoint)
        count = ctx.config["s3_keys"]
        big = 4 * 1024 * 1024
        _make_buckets(endpoint, ["bench-migrate-loop", "bench-migrate-tool"])
        source = FilesystemStore(os.path.join(ctx.tmp, "migrate-source"))
        items = {f"small-{number:06d}": VALUE for number in range(count)}
        items.update({f"big-{number}": os.urandom(64) * (big // 64) for number in range(4)})
        source.put_many(items)
        total_bytes = sum(len(value) for value in items.values())
        figures: dict[str, dict[str, float]] = {}

        loop_dest = our_s3_store(endpoint, "bench-migrate-loop")
        with ctx.phase(f"plain loop: {len(items)} keys"):
            started = time.perf_counter()
            for key in source.iter_keys():
                with source.open(key) as value:
                    loop_dest.put_file(key, value)
            seconds = time.perf_counter() - started
        figures["loop"] = {"keys_per_s": len(items) / seconds, "mb_per_s": total_bytes / 1e6 / seconds}

        tool_dest = our_s3_store(endpoint, "bench-migrate-tool")
        with ctx.phase(f"migrate(workers=8): {len(items)} keys"):
            report = migrate(source, tool_dest, workers=8)
        if report.failed:
            ctx.note(f"migrate: {len(report.failed)} keys failed")
        figures["migrate"] = {
            "keys_per_s": report.copied / report.seconds,
            "mb_per_s": report.bytes / 1e6 / report.seconds,
        }
        ctx.extra["migrate"] = figures
        for metric, label, unit in (("keys_per_s", "migrate, keys", "keys/s"), ("mb_per_s", "migrate, bytes", "MB/s")):
            ctx.rows.append(
                {
                    "group": "migrate",
                    "metric": f"migrate_{metric}",
                    "operation": f"{label}: {count} x 1 KiB + 4 x 4 MiB",
                    "unit": unit,
                    "higher_is_better": True,
                    "store": figures["migrate"][metric],
                    "store_median": figures["migrate"][metric],
                    "store_name": "minimalkv_fsspec.migrate.migrate(workers=8)",
                    "rounds": 1,
                    "baselines": [
                        {
                            "role": "raw",
                            "name": "plain loop of open + put_file",
                            "value": figures["loop"][metric],
                            "median": figures["loop"][metric],
                            "ratio": _safe_ratio(figures["migrate"][metric], figures["loop"][metric], unit),
                        }
                    ],
                    "peer": None,
                }
            )
    finally:
        stop()


GROUPS: dict[str, Callable[[Context], None]] = {
    "memory": group_memory,
    "filesystem": group_filesystem,
    "redis": group_redis,
    "sqlite": group_sqlite,
    "postgresql": group_postgresql,
    "s3": group_s3,
    "migrate": group_migrate,
    "import": group_import,
}


# -- machine and output ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=True
        ).stdout.strip()
    versions = {}
    for package in (
        "minimalkv_fsspec",
        "fsspec",
        "s3fs",
        "boto3",
        "moto",
        "redis",
        "SQLAlchemy",
        "psycopg",
        "obstore",
        "minimalkv",
    ):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "git_commit": commit,
        "versions": versions,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for row in results["rows"]:
        baselines = row["baselines"]
        raw = "; ".join(f"{_fmt(b['value'])} ({b['name']})" for b in baselines) or "-"
        ratio = "; ".join(_fmt(b["ratio"], "x") for b in baselines) or "-"
        peer = row["peer"]
        rows.append(
            [
                GROUP_TITLES.get(row["group"], row["group"]),
                f"{row['operation']} ({row['unit']})",
                _fmt(row["store"]),
                raw,
                ratio,
                "-" if peer is None else _fmt(peer["value"]),
                "-" if peer is None else _fmt(peer["ratio"], "x"),
            ]
        )
    return rows


TABLE_HEADER = ["Store", "Operation", "minimalkv_fsspec", "Raw", "Ratio to raw", "minimalkv (peer)", "Ratio to peer"]
TARGET_HEADER = ["Store", "Target", "Goal", "Measured", "Met", "Detail"]


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for target in results["targets"]:
        unit = target["unit"]
        measured = _fmt(target["measured"], "x" if unit == "x" else "") + ("" if unit == "x" else f" {unit}")
        met = "n/a" if target["met"] is None else ("yes" if target["met"] else "**no**")
        rows.append(
            [
                GROUP_TITLES.get(target["group"], target["group"]),
                target["target"],
                target["goal"],
                measured,
                met,
                target["detail"],
            ]
        )
    for group, state in results["groups"].items():
        if state["status"] != "ok":
            rows.append([GROUP_TITLES.get(group, group), "(all)", "-", "-", "skipped", state["reason"] or ""])
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def clean(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(clean(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _about(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    cfg = results["config"]
    return [
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"run {m['date']} at commit {m['git_commit'] or '?'} (load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average'] or [])}).",
        f"Mode `{results['mode']}`: {cfg['n']} ops per operation and target ({cfg.get('sql_n', cfg['n'])} on SQL, "
        f"{cfg.get('s3_n', '-')} on S3), keys() over {cfg['keys_n']} keys ({cfg.get('s3_keys', '-')} on S3), "
        f"get_many of {cfg['many']} keys, put_file/get_file of {cfg['big_mib']} MiB, "
        f"best of {cfg['rounds']} interleaved rounds ({cfg.get('sql_rounds', cfg['rounds'])} on SQL, "
        f"{cfg.get('s3_rounds', '-')} on S3; S3 get_many: {cfg.get('s3_many', '-')} keys on loopback, "
        f"{cfg.get('lat_many', '-')} at 20 ms); took {results['duration_s']:.0f} s.",
        "The machine is shared with other test runs: figures are noisy, ratios (measured in the same rounds) "
        "less so. Ratio = minimalkv_fsspec / other (for MB/s, ops/s: above 1 is faster; for MiB and ms: "
        "below 1 is better).",
    ]


def to_markdown(results: dict[str, Any]) -> str:
    parts = ["# minimalkv_fsspec benchmarks", "", *_about(results), "", "## Results", ""]
    parts.append(_md_table(TABLE_HEADER, table_rows(results)))
    parts += ["", "## Targets (issue #7)", "", _md_table(TARGET_HEADER, target_rows(results))]
    latency = results.get("extra", {}).get("latency")
    if latency:
        parts += ["", "## S3 at 20 ms round trip (latency proxy)", ""]
        parts += [f"- {key}: {_fmt(value) if isinstance(value, float) else value}" for key, value in latency.items()]
    parts += ["", "## Raw operations", ""]
    parts += [f"- {GROUP_TITLES[group]}: {RAW_LEGEND[group]}" for group in results["groups"] if group in RAW_LEGEND]
    if results["notes"]:
        parts += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    if results["profiles"]:
        parts += ["", "## Profiles of unmet targets", ""]
        for label, text in results["profiles"].items():
            parts += [f"### {label}", "", "```", text, "```", ""]
    return "\n".join(parts) + "\n"


def _rst_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("**", "").replace("*", "\\*").replace("`", "") or "-"

    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {cell(row[0])}")
        lines += [f"     - {cell(value)}" for value in row[1:]]
    return lines


def to_rst(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "..",
        "   Generated by ``python benchmarks/run.py --write-docs``; do not edit by hand.",
        "",
        "Benchmarks",
        "==========",
        "",
        "``benchmarks/run.py`` measures every store next to the raw operation underneath it, in one",
        "process with the targets interleaved, and next to the minimalkv package as a peer.",
        "Run it with ``python benchmarks/run.py`` (``--quick`` for a one-minute run).",
        "",
        "Machine",
        "-------",
        "",
        f"- CPU: {m['cpu']}",
        f"- Cores: {m['cores']}",
        f"- Python: {m['python']} ({m['platform']})",
        f"- Date: {m['date']}, commit {m['git_commit'] or '?'}",
        f"- Mode: ``{results['mode']}``, {results['duration_s']:.0f} s",
        f"- Load average at start: {', '.join(f'{x:.1f}' for x in m['load_average'] or [])} "
        "(other test runs shared the machine)",
        f"- Filesystem and SQLite stores in: ``{os.path.dirname(results['config'].get('tmpdir', '')) or '?'}``",
        "",
        *[line.replace("`", "``") for line in _about(results)[1:]],
        "",
        "Results",
        "-------",
        "",
        *_rst_table(TABLE_HEADER, table_rows(results)),
        "",
        "Targets",
        "-------",
        "",
        *_rst_table(TARGET_HEADER, target_rows(results)),
        "",
    ]
    latency = results.get("extra", {}).get("latency")
    if latency:
        lines += ["S3 at 20 ms round trip", "----------------------", ""]
        lines += ["Through ``benchmarks/latency_proxy.py`` (10 ms per direction) in front of the emulator.", ""]
        lines += [f"- {key}: {_fmt(value) if isinstance(value, float) else value}" for key, value in latency.items()]
        lines.append("")
    lines += ["Raw operations", "--------------", ""]
    lines += [
        f"- {GROUP_TITLES[group]}: {RAW_LEGEND[group].replace('`', '``')}"
        for group in results["groups"]
        if group in RAW_LEGEND
    ]
    lines.append("")
    if results["notes"]:
        lines += ["Notes", "-----", ""] + [f"- {note.replace('`', '``')}" for note in results["notes"]] + [""]
    if results["profiles"]:
        lines += ["Profiles of unmet targets", "-------------------------", ""]
        for label, text in results["profiles"].items():
            lines += [f"**{label}**", "", "::", ""] + [f"   {line}" for line in text.splitlines()] + [""]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------


def default_tmpdir() -> str | None:
    """Return tmpfs (``/dev/shm``) if usable, so file figures show the library, not the shared disk's fsync."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return None


def run(mode: str, only: list[str] | None, tmpdir: str | None = None) -> dict[str, Any]:
    config = dict(MODES[mode])
    groups = [group for group in config["groups"] if group != "s3-latency" and (not only or group in only)]
    started = time.perf_counter()
    results: dict[str, Any]
    with tempfile.TemporaryDirectory(prefix="mkv-bench-", dir=tmpdir) as tmp:
        config["tmpdir"] = tmp
        ctx = Context(mode=mode, config=config, tmp=tmp)
        ctx.big_size = config["big_mib"] * MiB
        ctx.big_source = os.path.join(tmp, "big.in")
        write_big_file(ctx.big_source, ctx.big_size)
        for group in groups:
            print(f"== {group}", flush=True)
            ctx.groups[group] = {"status": "ok", "reason": None}
            group_started = time.perf_counter()
            try:
                GROUPS[group](ctx)
            except Unavailable as exc:
                ctx.groups[group] = {"status": "skipped", "reason": str(exc)}
                print(f"  skipped: {exc}", flush=True)
            except Exception as exc:
                ctx.groups[group] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
                print(f"  ERROR: {type(exc).__name__}: {exc}", flush=True)
                traceback.print_exc()
            ctx.samples = Samples()
            ctx.groups[group]["seconds"] = time.perf_counter() - group_started
            print(f"  ({ctx.groups[group]['seconds']:.1f} s)", flush=True)
        if "s3" in groups and "s3-latency" not in ctx.groups:
            ctx.groups["s3-latency"] = {
                "status": "skipped",
                "reason": "needs the S3 group: " + str(ctx.groups["s3"]["reason"]),
            }
        results = {
            "schema": 1,
            "mode": mode,
            "config": {key: value for key, value in config.items() if key != "groups"} | {"groups": groups},
            "machine": machine(),
            "duration_s": time.perf_counter() - started,
            "groups": ctx.groups,
            "rows": ctx.rows,
            "targets": ctx.targets,
            "notes": ctx.notes,
            "profiles": ctx.profiles,
            "extra": ctx.extra,
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="under a minute (fewer ops, 64 MiB value)")
    size.add_argument("--smoke", action="store_true", help="a few dozen ops, memory and filesystem only")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), help="run only these groups")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for latest.md/latest.json")
    parser.add_argument("--write-docs", action="store_true", help="also write docs/benchmarks.rst")
    parser.add_argument(
        "--tmpdir",
        default=default_tmpdir(),
        help="where the filesystem and SQLite stores write (default: /dev/shm if usable, else the temp dir)",
    )
    parser.add_argument("--from-json", help="render the results of an earlier run instead of running")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.from_json:
        with open(args.from_json) as file:
            results = json.load(file)
    else:
        mode = "smoke" if args.smoke else "quick" if args.quick else "full"
        results = run(mode, args.only, args.tmpdir)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "latest.json"), "w") as file:
            json.dump(results, file, indent=1)
    markdown = to_markdown(results)
    if not args.from_json:
        with open(os.path.join(args.out, "latest.md"), "w") as file:
            file.write(markdown)
    print()
    print(markdown)
    if args.write_docs:
        with open(os.path.join(REPO, "docs", "benchmarks.rst"), "w") as file:
            file.write(to_rst(results))
        print("wrote docs/benchmarks.rst")
    return 0


if __name__ == "__main__":
    sys.exit(main())
