"""Resources: long runs of operations leave open file descriptors and memory flat.

Each store runs a fixed mix of operations (put, put_file, get, open and read,
get_file, ``in``, get_many, keys, delete) over a small set of keys. After a
warm-up (pools filled, caches primed) the number of open file descriptors and
the resident memory are taken, the rest of the run follows, and both are taken
again: a leak of one descriptor or a few dozen bytes per operation shows.

Memory, filesystem and Redis stores run 100,000 operations; SQL stores (a
transaction per write), git (a commit per write) and the HTTP emulators (a few
milliseconds per request) run fewer by default and 100,000 with ``pytest --long``. Every store prints its figure.
Unclosed files, sockets and connections anywhere in the suite are failures on
their own: pyproject.toml turns ResourceWarning into an error.
"""

from __future__ import annotations

import gc
import io
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec.decorator import PrefixDecorator
from minimalkv_fsspec.memory import DictStore
from tests.figures import report

FULL_RUN = 100_000
KEYS = [f"res{number:02d}" for number in range(32)]
VALUE = bytes(range(256)) * 4  # 1 KiB

# Growth allowed between the end of the warm-up and the end of the run. Resident
# memory alone would hide a leak that fills memory freed by earlier tests, so the
# number of live Python objects (interpreter allocations) is checked too.
FD_GROWTH = 0
RSS_GROWTH_MIB = 8.0
# A leak keeps at least one object per leaking operation; caches that settle late
# (dulwich's, the SDKs') may still add a few hundred.
BLOCKS_GROWTH = 300
BLOCKS_GROWTH_PER_OPERATION = 0.01


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _steps(store: Any) -> list[Callable[[str], Any]]:
    """Return the operations of one round, each taking a key."""

    def get(key: str) -> None:
        assert store.get(key) == VALUE

    def open_and_read(key: str) -> None:
        with store.open(key) as file:
            assert file.read() == VALUE

    def get_file(key: str) -> None:
        target = io.BytesIO()
        store.get_file(key, target)
        assert target.getvalue() == VALUE

    def contains(key: str) -> None:
        assert key in store

    def get_many(key: str) -> None:
        assert store.get_many([key, "res-missing"]) == {key: VALUE}

    def listing(key: str) -> None:
        assert key in store.keys(key)

    return [
        lambda key: store.put(key, VALUE),
        get,
        open_and_read,
        get_file,
        contains,
        get_many,
        listing,
        lambda key: store.put_file(key, io.BytesIO(VALUE)),
        store.delete,
    ]


def _run(store: Any, operations: int) -> None:
    steps = _steps(store)
    done = 0
    while done < operations:
        key = KEYS[(done // len(steps)) % len(KEYS)]
        for step in steps:
            step(key)
        done += len(steps)


def check_flat(name: str, store: Any, operations: int) -> None:
    """Run *operations* on *store* and assert descriptors and memory stay flat after a warm-up."""
    warm_up = max(len(KEYS) * 9 * 4, operations // 10)
    _run(store, warm_up)
    gc.collect()
    fds_before, rss_before, blocks_before = _open_fds(), _rss_mib(), sys.getallocatedblocks()
    started = time.perf_counter()
    _run(store, operations - warm_up)
    seconds = time.perf_counter() - started
    gc.collect()
    fds_after, rss_after, blocks_after = _open_fds(), _rss_mib(), sys.getallocatedblocks()
    report(
        f"resources: {name}: {operations:,} operations ({operations - warm_up:,} measured, "
        f"{(operations - warm_up) / seconds:,.0f} ops/s): open fds {fds_before} -> {fds_after}, "
        f"RSS {rss_before:.1f} -> {rss_after:.1f} MiB, allocated blocks {blocks_before:,} -> {blocks_after:,}"
    )
    assert fds_after - fds_before <= FD_GROWTH, f"{name}: {fds_after - fds_before} file descriptors leaked"
    assert rss_after - rss_before <= RSS_GROWTH_MIB, f"{name}: memory grew by {rss_after - rss_before:.1f} MiB"
    allowed_blocks = max(BLOCKS_GROWTH, BLOCKS_GROWTH_PER_OPERATION * (operations - warm_up))
    assert blocks_after - blocks_before <= allowed_blocks, f"{name}: {blocks_after - blocks_before:,} objects leaked"


# -- the stores ------------------------------------------------------------------------------------


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield DictStore()


def _decorated_memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from minimalkv_fsspec.cache import CacheDecorator
    from minimalkv_fsspec.crypt import HMACDecorator

    yield PrefixDecorator("p-", HMACDecorator(b"secret", CacheDecorator(DictStore(), DictStore())))


def _filesystem(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from minimalkv_fsspec.fs import FilesystemStore

    yield FilesystemStore(str(tmp_path / "fs"))


def _fsspec_memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    import fsspec

    from minimalkv_fsspec.backends.adapters.generic import GenericFSSpecStore

    store = GenericFSSpecStore(f"memory://resources-{uuid.uuid4().hex}/data")
    yield store
    fsspec.filesystem("memory").rm(store.root, recursive=True)


def _redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    import redis

    from minimalkv_fsspec.memory.redisstore import RedisStore

    server = request.getfixturevalue("redis_server")
    with RedisStore(redis.Redis(host=server["host"], port=server["port"], db=5)) as store:
        store.redis.flushdb()
        yield store
        store.redis.flushdb()


def _sql(engine_url: Callable[[pytest.FixtureRequest, Path], str]) -> Callable[..., Iterator[Any]]:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        import sqlalchemy as sa

        from tests.backends.test_sql import _new_store

        engine = sa.create_engine(engine_url(request, tmp_path))
        try:
            yield from _new_store(engine)
        finally:
            engine.dispose()

    return make


def _git(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from dulwich.repo import Repo

    from minimalkv_fsspec.git import GitCommitStore

    Repo.init_bare(str(tmp_path / "repo.git"), mkdir=True).close()
    with GitCommitStore(str(tmp_path / "repo.git")) as store:
        yield store


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from minimalkv_fsspec.net.s3fsstore import Credentials, S3FSStore

    moto = request.getfixturevalue("moto_server")
    bucket = f"res-{uuid.uuid4().hex[:16]}"
    with S3FSStore(bucket, Credentials("testing", "testing"), endpoint_url=moto["endpoint_url"]) as store:
        yield store


def _azure(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from minimalkv_fsspec.net.azurestore import AzureBlockBlobStore

    azurite = request.getfixturevalue("azurite")
    with AzureBlockBlobStore(azurite["connection_string"], f"res-{uuid.uuid4().hex[:16]}") as store:
        yield store


def _gcs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from minimalkv_fsspec.net.gcstore import GoogleCloudStore

    fake_gcs = request.getfixturevalue("fake_gcs")
    bucket = f"res-{uuid.uuid4().hex[:16]}"
    with GoogleCloudStore("anon", bucket, project="test", endpoint_url=fake_gcs["endpoint_url"]) as store:
        yield store


# name -> (factory, operations in the default run)
STORES: dict[str, tuple[Callable[..., Iterator[Any]], int]] = {
    "memory": (_memory, FULL_RUN),
    "prefix+hmac+cache over memory": (_decorated_memory, FULL_RUN),
    "filesystem": (_filesystem, FULL_RUN),
    "fsspec memory": (_fsspec_memory, FULL_RUN),
    "redis": (_redis, FULL_RUN),
    "sqlite": (_sql(lambda request, tmp_path: f"sqlite:///{tmp_path}/kv.sqlite"), 20_000),
    "postgresql": (_sql(lambda request, tmp_path: request.getfixturevalue("postgres_server")["url"]), 20_000),
    "mariadb": (_sql(lambda request, tmp_path: request.getfixturevalue("mariadb_server")["url"]), 20_000),
    "git": (_git, 5_000),
    "s3": (_s3, 2_000),
    "azure": (_azure, 2_000),
    "gcs": (_gcs, 3_000),
}


@pytest.mark.parametrize("name", list(STORES))
def test_operations_leave_descriptors_and_memory_flat(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    factory, operations = STORES[name]
    if request.config.getoption("--long", default=False):
        operations = FULL_RUN
    stores = factory(request, tmp_path)
    store = next(stores)
    try:
        check_flat(name, store, operations)
    finally:
        stores.close()


def test_the_check_catches_a_store_that_keeps_one_object_per_read() -> None:
    kept: list[object] = []

    class Leaky(DictStore):
        def get(self, key: str) -> bytes:
            kept.append(object())
            return super().get(key)

    with pytest.raises(AssertionError, match="objects leaked"):
        check_flat("leaky memory", Leaky(), 20_000)
