"""Faults: a server that dies in the middle of bulk operations, and failures that are not "not found".

The native servers (Redis, PostgreSQL, MariaDB) really crash (SIGKILL; an
immediate shutdown for PostgreSQL) and restart on the same port with the same
data directory. The cloud emulators keep their data in memory, so a TCP relay
in front of each one dies instead: its port refuses connections and every open
connection is reset, which is what a client sees of a crashed server. Each bulk
operation runs through a relay of its own that holds all traffic once the first
bytes went through, so the crash always hits the operation half-way.

After the crash every operation must have raised an OSError that names the
backend and a key of the operation (never a KeyError), no key may hold a torn
value, and once the server is back the *same store object* must work again.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from minimalkv_fsspec import get_store_from_url
from minimalkv_fsspec.backends.native.sql import SQLAlchemyStore
from minimalkv_fsspec.exceptions import BackendError, StoreAccessDeniedError
from tests.figures import report
from tests.fixtures.cloud_emulators import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    FaultProxy,
    SilentServer,
    TcpRelay,
    free_port,
    require,
)
from tests.fixtures.native_servers import RestartableServer, restartable_server

NATIVE = ("redis", "postgres", "mariadb")
CLOUD = ("s3", "azure", "gcs")
LABELS = {"redis": "Redis", "postgres": "PostgreSQL", "mariadb": "MariaDB", "s3": "S3",
          "azure": "Azure Blob Storage", "gcs": "Google Cloud Storage"}  # fmt: skip
TRANSACTIONAL = frozenset(NATIVE)  # put_many is all or nothing there

KiB, MiB = 1024, 1024 * 1024
RAISE_BOUND = 20.0  # seconds from the crash until every interrupted call has raised
SUMMARY: dict[str, dict[str, int]] = {}


# -- backends -----------------------------------------------------------------------------------


@dataclass
class Backend:
    """How to reach one backend through a port of our choosing, and how to crash it."""

    name: str
    port: int  # where the real server listens
    make: Callable[..., Any]  # make("127.0.0.1:port", **options) -> a store reaching that port
    server: RestartableServer | None = None  # None: a cloud emulator, which the relays "crash"

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def store_at(self, port: int, **options: Any) -> Any:
        return self.make(f"127.0.0.1:{port}", **options)

    def crash(self) -> None:
        if self.server is not None:
            self.server.crash()

    def restart(self) -> float:
        started = time.monotonic()
        if self.server is not None:
            self.server.start()
        return time.monotonic() - started


@pytest.fixture(scope="module")
def native_servers() -> Iterator[dict[str, RestartableServer]]:
    """The restartable servers, started when first asked for and shared by the module's tests."""
    servers: dict[str, RestartableServer] = {}
    yield servers
    for server in servers.values():
        server.close()


def _port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


@pytest.fixture
def backend(request: pytest.FixtureRequest, native_servers: dict[str, RestartableServer]) -> Backend:
    name = request.param
    table = f"faults_{uuid.uuid4().hex[:8]}"
    bucket = f"faults-{uuid.uuid4().hex[:12]}"
    if name in NATIVE:
        if name not in native_servers:
            native_servers[name] = restartable_server(name)
        server = native_servers[name]
        if name == "redis":

            def make(host: str, **query: Any) -> Any:
                options = "&".join(f"{option}={value}" for option, value in query.items())
                return get_store_from_url(f"redis://{host}/1?{options}")
        else:
            scheme, rest = server.info["url"].split("://", 1)
            credentials, _, path = rest.partition("@")
            database = path.split("/", 1)[1]

            def make(host: str, user: str | None = None, direct: bool = False, **connect_args: Any) -> Any:
                url = f"{scheme}://{user or credentials}@{host}/{database}"
                if direct:  # the URL form connects at once, to create the table
                    return SQLAlchemyStore(sa.create_engine(url, connect_args=connect_args), sa.MetaData(), table)
                return get_store_from_url(f"sql+{url}?table={table}")

        return Backend(name, server.port, make, server=server)
    if name == "s3":
        require("s3fs", "pip install 'minimalkv_fsspec[s3]'")
        from minimalkv_fsspec.net.s3fsstore import Credentials, S3FSStore

        info = request.getfixturevalue("moto_server")

        def make(host: str, **options: Any) -> Any:
            return S3FSStore(bucket, Credentials("testing", "faults-secret"), endpoint_url=f"http://{host}", **options)

        return Backend(name, _port_of(info["endpoint_url"]), make)
    if name == "azure":
        require("adlfs", "pip install 'minimalkv_fsspec[azure]'")
        from minimalkv_fsspec.net.azurestore import AzureBlockBlobStore

        info = request.getfixturevalue("azurite")

        def make(host: str, key: str = AZURITE_KEY, **options: Any) -> Any:
            connection = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
                          f"BlobEndpoint=http://{host}/{AZURITE_ACCOUNT};")
            return AzureBlockBlobStore(connection, bucket, **options)

        return Backend(name, _port_of(info["blob_endpoint"]), make)
    require("gcsfs", "pip install 'minimalkv_fsspec[gcs]'")
    from minimalkv_fsspec.net.gcstore import GoogleCloudStore

    info = request.getfixturevalue("fake_gcs")

    def make(host: str, **options: Any) -> Any:
        return GoogleCloudStore("anon", bucket, project="test", endpoint_url=f"http://{host}", **options)

    return Backend(name, _port_of(info["endpoint_url"]), make)


# -- the interrupted operations ----------------------------------------------------------------


def _value(key: str, version: str, size: int) -> bytes:
    """A value whose every part says which key and version it belongs to, so a torn one shows."""
    pattern = f"[{key}:{version}]".encode()
    return (pattern * (size // len(pattern) + 1))[:size]


@dataclass
class Interruption:
    """One bulk operation: its data before, its call, where the relay freezes, what may be left after."""

    name: str
    before: dict[str, bytes]
    call: Callable[[Any], Any]
    freeze: dict[str, int]
    allowed: Callable[[str], tuple[bytes | None, ...]]  # values a key may hold afterwards (None: absent)
    error: BaseException | None = None
    raised_after: float | None = None
    finished: bool = False


def _interruptions() -> list[Interruption]:
    many_old = {f"pm{n:03d}": _value(f"pm{n:03d}", "old", 32 * KiB) for n in range(64)}
    many_new = {key: _value(key, "new", 32 * KiB) for key in many_old}
    readable = {f"gm{n:03d}": _value(f"gm{n:03d}", "old", 32 * KiB) for n in range(64)}
    doomed = {f"dm{n:03d}": _value(f"dm{n:03d}", "old", 64) for n in range(64)}
    listed = {f"ls{n:04d}": b"x" for n in range(200)}
    big_old, big_new = _value("pf", "old", 4 * KiB), _value("pf", "new", 10 * MiB)
    big = _value("gf", "old", 10 * MiB)
    return [
        Interruption("put_many", many_old, lambda store: store.put_many(many_new), {"up": 256 * KiB},
                     lambda key: (many_old[key], many_new[key])),
        Interruption("get_many", readable, lambda store: store.get_many(list(readable)), {"down": 256 * KiB},
                     lambda key: (readable[key],)),
        Interruption("delete_many", doomed, lambda store: store.delete_many(list(doomed)), {"down": 1},
                     lambda key: (doomed[key], None)),
        Interruption("keys", listed, lambda store: store.keys("ls"), {"down": 500}, lambda key: (b"x",)),
        Interruption("put_file", {"pf": big_old}, lambda store: store.put_file("pf", io.BytesIO(big_new)),
                     {"up": 1 * MiB}, lambda key: (big_old, big_new)),
        Interruption("get_file", {"gf": big}, lambda store: store.get_file("gf", io.BytesIO()), {"down": 1 * MiB},
                     lambda key: (big,)),
    ]  # fmt: skip


def _run(interruption: Interruption, store: Any, crashed: dict[str, float]) -> None:
    try:
        interruption.call(store)
        interruption.finished = True
    except BaseException as exc:  # noqa: BLE001 -- every outcome is checked by the test
        interruption.error = exc
    if "at" in crashed:
        interruption.raised_after = time.monotonic() - crashed["at"]


@pytest.mark.parametrize("backend", [*NATIVE, *CLOUD], indirect=True)
def test_a_crash_in_the_middle_of_bulk_operations(backend: Backend) -> None:
    interruptions = _interruptions()
    relays = {item.name: TcpRelay(backend.port) for item in interruptions}
    stores = {item.name: backend.store_at(relays[item.name].port) for item in interruptions}
    try:
        for item in interruptions:
            stores[item.name].put_many(item.before)  # also connects, creates the table or bucket
        crashed: dict[str, float] = {}
        threads = []
        for item in interruptions:
            relays[item.name].freeze_after(**item.freeze)
            thread = threading.Thread(target=_run, args=(item, stores[item.name], crashed), daemon=True)
            thread.start()
            threads.append(thread)
        for item, thread in zip(interruptions, threads, strict=True):
            assert relays[item.name].frozen.wait(30), f"{item.name} never reached its freeze point"
            assert thread.is_alive(), f"{item.name} completed before the crash ({item.error!r})"

        crashed["at"] = time.monotonic()
        backend.crash()
        for relay in relays.values():
            relay.stop()
        for item, thread in zip(interruptions, threads, strict=True):
            thread.join(RAISE_BOUND + 30)
            assert not thread.is_alive(), f"{item.name} still hangs {RAISE_BOUND + 30} s after the crash"

        restart_time = backend.restart()
        for relay in relays.values():
            relay.start()

        named = torn = reconnects = 0
        problems: list[str] = []
        for item in interruptions:
            error, store = item.error, stores[item.name]
            if item.finished or error is None:
                problems.append(f"{item.name}: no error although the server died")
                continue
            prefix = next(iter(item.before))[:2]
            if isinstance(error, KeyError) or not isinstance(error, BackendError):
                problems.append(f"{item.name}: {type(error).__module__}.{type(error).__name__}: {error}")
            elif backend.label not in str(error) or f"'{prefix}" not in str(error):
                problems.append(f"{item.name}: the message names no backend or key: {error}")
            else:
                named += 1
            if item.raised_after is None or item.raised_after > RAISE_BOUND:
                problems.append(f"{item.name}: raised {item.raised_after} s after the crash")
            # The same object, not a new one, must reach the restarted server.
            store.put(f"{prefix}-back", b"back")
            if store.get(f"{prefix}-back") == b"back" and f"{prefix}-back" in store.keys(f"{prefix}-"):
                reconnects += 1
            after = store.get_many(list(item.before))
            for key in item.before:
                if after.get(key) not in item.allowed(key):
                    torn += 1
                    problems.append(f"{item.name}: {key} holds {len(after.get(key) or b'')} bytes of something else")
            if item.name == "put_many" and backend.name in TRANSACTIONAL:
                versions = {after[key] == value for key, value in item.before.items()}
                if len(versions) != 1:
                    problems.append("put_many: a transaction was applied in part")
        slowest = max(item.raised_after or 0.0 for item in interruptions)
        report(f"faults: {backend.name}: {len(interruptions)} bulk operations interrupted by a crash: "
              f"{named} OSError naming {backend.label} and the key, {torn} torn values, {reconnects} reconnects "
              f"of the same store object; slowest raise {slowest:.1f} s after the crash, restart {restart_time:.1f} s")
        SUMMARY[backend.name] = {"operations": len(interruptions), "named": named, "torn": torn,
                                 "reconnects": reconnects}  # fmt: skip
        assert problems == []
        assert named == reconnects == len(interruptions)
        assert torn == 0
    finally:
        for relay in relays.values():
            relay.stop()
        for store in stores.values():
            store.close()
        _drop(backend, backend.store_at(backend.port))


def _drop(backend: Backend, store: Any) -> None:
    """Remove what a test stored: the emulators and servers live on for other tests."""
    store.delete_many(store.keys())
    if backend.name in ("postgres", "mariadb"):
        store.table.drop(store.bind, checkfirst=True)
    store.close()


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    if SUMMARY:
        total = {name: sum(figures[name] for figures in SUMMARY.values()) for name in next(iter(SUMMARY.values()))}
        report(f"faults: {len(SUMMARY)} backends, {total['operations']} bulk operations interrupted: "
              f"{total['named']} OSError naming "
              f"the backend, {total['torn']} torn values, {total['reconnects']} reconnects")


# -- failures other than "not found" -------------------------------------------------------------

CALLS: dict[str, Callable[[Any], Any]] = {
    "get": lambda store: store.get("key"),
    "open": lambda store: store.open("key").read(),
    "get_file": lambda store: store.get_file("key", io.BytesIO()),
    "in": lambda store: "key" in store,
    "keys": lambda store: store.keys(),
}


def _faulty_stores(backend: Backend, fault_proxy: Callable[[str], FaultProxy],
                   silent: SilentServer) -> dict[str, tuple[Any, type[BaseException]]]:
    """Return ``{fault: (store, expected error class)}`` for the faults this backend can have."""
    dead = free_port()
    stores: dict[str, tuple[Any, type[BaseException]]] = {}
    if backend.name == "redis":
        stores["dead server"] = (backend.store_at(dead), ConnectionError)
        stores["hung server"] = (backend.store_at(silent.port, socket_timeout=0.5), TimeoutError)
        stores["refused password"] = (backend.make(f"nobody:wrong-pw@127.0.0.1:{backend.port}"),
                                      StoreAccessDeniedError)
    elif backend.name in ("postgres", "mariadb"):
        stores["dead server"] = (backend.store_at(dead, direct=True), ConnectionError)
        stores["refused login"] = (backend.make(f"127.0.0.1:{backend.port}", user="nobody:wrong-pw", direct=True),
                                   StoreAccessDeniedError)
        # A store made from a URL waits 10 s (PostgreSQL) or 60 s (MariaDB) for the greeting; this one 1 s.
        timeout = {"connect_timeout": 1} if backend.name == "postgres" else {"read_timeout": 1}
        stores["hung server"] = (backend.store_at(silent.port, direct=True, **timeout), TimeoutError)
    else:
        upstream = f"http://127.0.0.1:{backend.port}"
        stores["dead server"] = (backend.store_at(dead), ConnectionError)
        for status, expected in ((403, StoreAccessDeniedError), (500, BackendError)):
            proxy = fault_proxy(upstream)
            proxy.fail(None, status=status)
            stores[f"HTTP {status}"] = (backend.store_at(_port_of(proxy.url)), expected)
        stores["hung server"] = (backend.store_at(silent.port, **_short_timeouts(backend.name)), TimeoutError)
        if backend.name == "azure":
            wrong = backend.make(f"127.0.0.1:{backend.port}", key=base64.b64encode(b"not the key" * 6).decode())
            stores["wrong account key"] = (wrong, StoreAccessDeniedError)
    return stores


def _short_timeouts(name: str) -> dict[str, Any]:
    """Store options that make a hung emulator time out after half a second (the defaults are 15-100 s)."""
    if name == "s3":
        return {"storage_options": {"config_kwargs": {"connect_timeout": 1, "read_timeout": 0.5}}}
    if name == "azure":
        return {"socket_timeout": (1, 0.5)}
    import aiohttp

    return {"storage_options": {"requests_timeout": aiohttp.ClientTimeout(sock_connect=1, sock_read=0.5)}}


@pytest.mark.parametrize("backend", [*NATIVE, *CLOUD], indirect=True)
def test_failures_other_than_not_found_are_oserrors(backend: Backend, fault_proxy: Any) -> None:
    good = backend.store_at(backend.port)
    good.put("key", b"value")
    silent = SilentServer()
    try:
        faults = _faulty_stores(backend, fault_proxy, silent)

        def attempt(fault: str, call: str) -> tuple[str, str, BaseException | None, float]:
            store = faults[fault][0]
            started = time.monotonic()
            try:
                CALLS[call](store)
            except BaseException as exc:  # noqa: BLE001 -- checked below
                return fault, call, exc, time.monotonic() - started
            return fault, call, None, time.monotonic() - started

        # Retries make each failing call take seconds: all of them run at once.
        with ThreadPoolExecutor(len(faults) * len(CALLS)) as pool:
            outcomes = list(pool.map(lambda pair: attempt(*pair), [(f, c) for f in faults for c in CALLS]))
        problems = []
        for fault, call, error, seconds in outcomes:
            expected = faults[fault][1]
            if error is None:
                problems.append(f"{fault} / {call}: no error")
            elif isinstance(error, KeyError) or not isinstance(error, expected):
                problems.append(f"{fault} / {call}: {type(error).__module__}.{type(error).__name__}: {error}")
            elif not isinstance(error, BackendError) or backend.label not in str(error):
                problems.append(f"{fault} / {call}: the message names no backend: {error}")
            if seconds > RAISE_BOUND:
                problems.append(f"{fault} / {call}: took {seconds:.1f} s")
        key_errors = sum(isinstance(error, KeyError) for _, _, error, _ in outcomes)
        oserrors = sum(isinstance(error, OSError) and not isinstance(error, KeyError) for _, _, error, _ in outcomes)
        report(f"faults: {backend.name}: {len(faults)} kinds of failure ({', '.join(faults)}) x {len(CALLS)} calls: "
              f"{oserrors} OSError, {key_errors} KeyError; slowest {max(s for *_, s in outcomes):.1f} s")
        assert problems == []
        assert good.get("key") == b"value"  # the good store is unaffected
    finally:
        silent.close()
        _drop(backend, good)
