"""Hostile store URLs and parameters: bad input is a ValueError, and nothing is queried but what was asked.

* A hypothesis fuzz of :func:`url2dict` and :func:`get_store_from_url` over URL strings:
  random text, URLs of every scheme assembled from hostile parts (user information,
  hosts, ports, paths, options, wrappers, fragments) and then mutated character by
  character. Bad input may only raise :class:`ValueError` (or a subclass); a URL that
  parses may also fail with an :class:`OSError` when its store looks for its backend,
  but never with TypeError, AttributeError, IndexError, KeyError or the like.
  While a store is built, an audit hook refuses every network connection and name
  lookup and every file write outside a temporary directory, so no store reaches a
  real server or writes elsewhere. PostgreSQL URLs are only parsed: libpq connects
  below Python's audit hooks. Network stores with ``create_if_missing=false`` are
  only parsed too: they look for their bucket at once and retry the refused
  connection for seconds.
* Table names that could carry SQL are refused with ValueError (or quoted when they
  are plain words), and a key prefix with wildcards of ``LIKE``, globs or Redis
  patterns, in a :class:`PrefixDecorator` over each store, lists and deletes exactly
  the keys a dict would. The keys themselves are checked with every wildcard in
  tests/reliability/test_hostile_keys.py.
"""

from __future__ import annotations

import contextlib
import os
import string
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimalkv_fsspec import get_store_from_url, url2dict
from minimalkv_fsspec.exceptions import BackendError
from tests.figures import report

# -- the sandbox: no network, no writes outside one directory ------------------------------------------------

_NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                             "socket.sendto", "socket.sendmsg"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _Sandbox:
    """Refuses, while active, network access and file writes outside :attr:`root` (through audit hooks)."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.blocked: list[str] = []
        self._inside = threading.local()
        self._installed = False

    def check(self, event: str, args: tuple[Any, ...]) -> None:
        if self.root is None or getattr(self._inside, "busy", False):
            return
        self._inside.busy = True
        try:
            reason = self._refusal(event, args)
        finally:
            self._inside.busy = False
        if reason:
            self.blocked.append(reason)
            error = ConnectionRefusedError if event in _NETWORK_EVENTS else PermissionError
            raise error(f"refused by the test's sandbox: {reason}")

    def _refusal(self, event: str, args: tuple[Any, ...]) -> str | None:
        if event in _NETWORK_EVENTS:
            return event
        if event == "open":
            path, mode, flags = args
            writes = bool(mode and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            return self._outside(event, [path]) if writes else None
        if event == "sqlite3.connect":
            return self._outside(event, [args[0]]) if str(args[0]) not in ("", ":memory:") else None
        paths = {
            "os.mkdir": args[:1], "os.rmdir": args[:1], "os.remove": args[:1], "os.rename": args[:2],
            "os.replace": args[:2], "os.symlink": args[:2], "os.link": args[:2], "os.truncate": args[:1],
            "os.chmod": args[:1], "os.chown": args[:1], "os.utime": args[:1], "shutil.rmtree": args[:1],
            "shutil.copyfile": args[1:2], "shutil.copytree": args[1:2], "shutil.move": args[1:2],
        }.get(event)
        return self._outside(event, list(paths)) if paths is not None else None

    def _outside(self, event: str, paths: list[Any]) -> str | None:
        assert self.root is not None
        for path in paths:
            if isinstance(path, int):
                continue  # a descriptor: it was opened (and checked) before
            text = os.fsdecode(os.fspath(path)) if not isinstance(path, str) else path
            if text.startswith("file:"):
                text = text[len("file:"):].split("?", 1)[0]
            absolute = os.path.normpath(os.path.join(os.getcwd(), text))
            if absolute != self.root and not absolute.startswith(self.root + os.sep):
                return f"{event} {absolute[:120]}"
        return None

    @contextlib.contextmanager
    def active(self, root: str) -> Iterator[list[str]]:
        if not self._installed:
            # Only now: a hook cannot be removed, and the rest of the run pays a call per audited event.
            sys.addaudithook(self.check)
            self._installed = True
        self.blocked = []
        self.root = os.path.normpath(root)
        try:
            yield self.blocked
        finally:
            self.root = None


SANDBOX = _Sandbox()


@pytest.fixture
def sandbox_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A working directory (and temporary directory) inside the sandbox's root."""
    root = str(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setattr(tempfile, "tempdir", root)
    monkeypatch.setenv("HOME", root)
    # Without credentials gcsfs asks the GCE metadata server, retrying for 17 s: configure none.
    import fsspec.config

    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setitem(fsspec.config.conf, "gcs", {"token": "anon"})
    return root


# -- URL strategies ---------------------------------------------------------------------------------------------

SCHEMES = ["memory", "hmemory", "fs", "hfs", "file", "hfile", "filesystem", "redis", "hredis", "rediss", "hrediss",
           "sql", "sql+sqlite", "hsql+sqlite", "sql+sqlite+pysqlite", "sql+mysql+pymysql", "hsql+mysql+pymysql",
           "sql+postgresql+psycopg", "sql+postgresql", "sql+oracle", "sql+nosuchdb", "git", "hgit", "s3", "hs3",
           "boto", "azure", "hazure", "gcs", "hgcs", "fsspec", "fsspec+memory", "hfsspec+memory", "fsspec+file",
           "fsspec+zip", "fsspec+http", "fsspec+simplecache+memory", "fsspec+nosuchprotocol", "fsspec+s3",
           "memory+readonly", "memory+readonly+urlencode", "hmemory+prefix", "fs+hash", "memory+uuid", "nosuch",
           "MEMORY", "Hfs", "fs+", "+fs", "fs++readonly", "1fs", "f s", "fs.x", "fs-x", "", "memory+nosuchwrapper"]
OPTIONS = ["create_if_missing", "table", "db", "branch", "subdir", "use_sas", "max_connections", "socket_timeout",
           "socket_connect_timeout", "max_block_size", "max_single_put_size", "checksum", "public", "blob_endpoint",
           "connection_string", "default_endpoints_protocol", "force_bucket_suffix", "is_secure", "use_ssl", "verify",
           "region_name", "session_token", "is_sts_credentials", "sts_assume_role__RoleArn",
           "sts_assume_role__DurationSeconds", "project", "endpoint_url", "token", "bucket_creation_location", "fsync",
           "auto_mkdir", "ssl_cert_reqs", "ssl_ca_certs", "mode", "timeout", "s3.anon", "client_kwargs", "nosuch"]
HOSTILE_TEXT = ["", " ", "%", "%zz", "%2", "%00", "%2F", "%25", "%ff%fe", "..", "../..", "/", "//", "@", ":", "::",
                "?", "#", "&", "=", "+", "(", ")", "[", "]", "\\", "\x00", "\n", "\t", "\u00e9", "\U0001f600", "\ud800",
                "true", "false", "yes", "0", "-1", "1e309", "nan", "inf", "99999999999999999999", "(1,2,3)",
                "(20,100)", "4*1024*1024", "4*", "*", "[]", "{}", '{"a": 1}', "null", "None", "x" * 300,
                "http://169.254.169.254/", "file:///etc/passwd", "e30=", "anon", "google_default", "cloud", "a2V5"]
WRAPPERS = ["readonly", "urlencode", "prefix(t-)", "prefix()", "prefix", "prefix(a%2Fb%2F)", "prefix(..)", "hmac(HOME)",
            "hmac(NO_SUCH_VARIABLE_X)", "hmac(x y)", "hmac", "hash", "hash(md5)", "hash(shake_128)", "hash(nope)",
            "uuid", "nosuch", "readonly(", "readonly)", "prefix((x))", ""]

# Well-formed URLs of every scheme (no server listens on port 1), the seeds of the mutations.
VALID_URLS = [
    "memory://", "hmemory://#wrap:readonly", "fs://data", "hfs://data/sub?create_if_missing=true", "file://data",
    "hfile://data", "filesystem://data?fsync=true", "redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0",
    "hredis://:pw@127.0.0.1:1/2?socket_timeout=0.5", "sql+sqlite:///kv.db?table=kv", "hsql+sqlite://",
    "sql+mysql+pymysql://u:p@127.0.0.1:1/kv?table=t", "git://repo.git?branch=main&subdir=data", "hgit://repo?branch=x",
    "s3://AKID:secret@127.0.0.1:1/bucket/prefix/?force_bucket_suffix=false&is_secure=false", "hs3://127.0.0.1:1/b-x",
    "boto://k:s@127.0.0.1:1/bucket?verify=false&region_name=eu-west-1&session_token=t",
    "azure://acct:a2V5@container?blob_endpoint=http://127.0.0.1:1/acct&max_connections=2&socket_timeout=(20,100)",
    "hazure://acct:sas@container/dir?use_sas&create_if_missing=false", "gcs://anon@bucket?endpoint_url=http://127.0.0.1:1",
    "hgcs://e30=@bucket/dir?project=p", "fsspec+memory://root/dir", "hfsspec+file://data?auto_mkdir=true",
    "fsspec+simplecache+memory://x?simplecache.cache_storage=cache", "memory+readonly+urlencode://",
    "memory://#wrap:prefix(t-)+hash(md5)+uuid", "hmemory://#wrap:prefix(a%2Fb%2F)+urlencode+readonly",
]
_benign = st.sampled_from(["x", "data", "kv", "bucket", "my-bucket", "t_1", "repo", "0", "1", "2", "db.sqlite", "a/b"])
_pieces = _benign | st.sampled_from(HOSTILE_TEXT) | st.text(max_size=8)
_hosts = st.sampled_from(["", "127.0.0.1", "localhost", "[::1]", "[::1", "::1]", "example.org", "host name", "%zz",
                          "b\u00fccket", "bucket", "my-bucket", "a" * 70, "a..b", "-bad-", "UPPER", "x:y"]) | _pieces
_ports = st.sampled_from(["", ":", ":0", ":1", ":6379", ":65535", ":65536", ":99999", ":-1", ":abc", ":1.5", ": 1",
                          ":\u0661", ":0x10", ":+1"])


@st.composite
def _assembled(draw: st.DrawFn) -> str:
    """A URL of some scheme from hostile parts."""
    scheme = draw(st.sampled_from(SCHEMES) | st.text(alphabet=string.ascii_lowercase + "+.-", max_size=12))
    user = draw(st.none() | _pieces)
    password = draw(st.none() | _pieces)
    userinfo = "" if user is None else (user if password is None else f"{user}:{password}") + "@"
    path = "/".join(draw(st.lists(_pieces, max_size=4)))
    path = draw(st.sampled_from(["", "/", "//"])) + path
    options = draw(st.lists(st.tuples(st.sampled_from(OPTIONS) | _pieces, _pieces), max_size=4))
    query = ("?" + "&".join(f"{name}={value}" if value is not None else name for name, value in options)
             if options or draw(st.booleans()) else "")
    fragment = draw(st.none() | st.sampled_from(["", "wrap:", "wrap"]).map(lambda head: f"#{head}")
                    | st.lists(st.sampled_from(WRAPPERS), min_size=1, max_size=3).map(lambda w: "#wrap:" + "+".join(w))
                    | _pieces.map(lambda text: "#" + text))
    return f"{scheme}://{userinfo}{draw(_hosts)}{draw(_ports)}{path}{query}{fragment or ''}"


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid or an assembled URL with a few characters inserted, deleted or replaced."""
    url = draw(st.sampled_from(VALID_URLS) | _assembled())
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(url)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        piece = draw(st.sampled_from([":", "/", "@", "?", "#", "%", "+", "&", "=", "[", "]", "\x00", " ", "\u00e9"]))
        if action == "insert":
            url = url[:position] + piece + url[position:]
        elif action == "delete":
            url = url[:position] + url[position + 1:]
        elif action == "replace":
            url = url[:position] + piece + url[position + 1:]
        else:
            url = url[:position] + url[position:position + 5] + url[position:]
    return url


URLS = st.text(max_size=40) | st.sampled_from(VALID_URLS) | _assembled() | _mutated()

# -- the fuzz -----------------------------------------------------------------------------------------------------

_SLOWEST_BUILD = 15.0  # seconds: a store that waits longer hangs on something it should not reach
_STATE_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError,
                 BackendError)

FIGURES: dict[str, int] = {"urls": 0, "parsed": 0, "built": 0, "refused": 0, "backend errors": 0, "other": 0}


def _network_only(params: dict[str, Any]) -> bool:
    """Whether building these parameters would look for a network backend we must not wait for."""
    kind = str(params.get("type", ""))
    if kind.split("+")[0] in ("sql", "hsql") and "postgres" in str(getattr(params.get("url"), "drivername", "")):
        return True  # libpq connects below Python's audit hooks
    network = kind.split("+")[0] in ("s3", "hs3", "boto", "azure", "hazure", "gcs", "hgcs", "fsspec", "hfsspec",
                                     "redis", "hredis", "rediss", "hrediss", "sql", "hsql")
    return network and params.get("create_if_missing") is False


def _close(store: Any) -> None:
    with contextlib.suppress(Exception):
        store.close()


def check_url(url: str, root: str) -> str | None:
    """Parse and build *url* in the sandbox; return a description of a wrong outcome, or None."""
    FIGURES["urls"] += 1
    with SANDBOX.active(root):
        try:
            params = url2dict(url)
        except ValueError:
            params = None
        except Exception as exc:  # noqa: BLE001 -- what the fuzz looks for
            FIGURES["other"] += 1
            return f"url2dict({url!r}) raised {type(exc).__name__}: {exc}"
    if params is None:
        with SANDBOX.active(root):
            try:
                _close(get_store_from_url(url))
            except ValueError:
                FIGURES["refused"] += 1
                return None
            except Exception as exc:  # noqa: BLE001
                FIGURES["other"] += 1
                return f"get_store_from_url({url!r}) raised {type(exc).__name__}: {exc} (url2dict: ValueError)"
        FIGURES["other"] += 1
        return f"get_store_from_url({url!r}) built a store that url2dict refused"
    FIGURES["parsed"] += 1
    if _network_only(params):
        return None
    started = time.monotonic()
    with SANDBOX.active(root) as blocked:
        try:
            _close(get_store_from_url(url))
            FIGURES["built"] += 1
        except ValueError:
            FIGURES["refused"] += 1
        except OSError as exc:
            # Looking for the backend may fail, and so may the operating system (a name too
            # long, a file where a directory should be); bad input may not end up here.
            if not blocked and exc.errno is None and not isinstance(exc, _STATE_ERRORS):
                FIGURES["other"] += 1
                return f"get_store_from_url({url!r}) raised {type(exc).__name__}: {exc}"
            FIGURES["backend errors"] += 1
        except Exception as exc:  # noqa: BLE001
            FIGURES["other"] += 1
            return f"get_store_from_url({url!r}) raised {type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - started
    if elapsed > _SLOWEST_BUILD:
        return f"get_store_from_url({url!r}) took {elapsed:.1f} s"
    return None


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(url=URLS)
def test_bad_urls_raise_only_value_error(url: str, sandbox_root: str) -> None:
    problem = check_url(url, sandbox_root)
    assert problem is None, problem


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = []
    if FIGURES["urls"]:
        lines.append(f"hostile URLs: {FIGURES['urls']:,} fuzzed: {FIGURES['parsed']:,} parsed, {FIGURES['built']:,} "
                     f"stores built, {FIGURES['refused']:,} refused with ValueError, {FIGURES['backend errors']:,} "
                     f"OSErrors looking for a backend the sandbox hid, {FIGURES['other']} other exceptions")
    if "tables refused" in FIGURES:
        lines.append(f"hostile SQL table names: {FIGURES['tables refused']} refused with ValueError, "
                     f"{FIGURES['tables quoted']} plain words quoted, 0 tables dropped or created")
    if "wildcard prefixes" in FIGURES:
        lines.append(f"wildcard key prefixes: {FIGURES['wildcard prefixes']} prefixes x stores listed and deleted "
                     "exactly the dict model's keys, 0 neighbours listed or deleted")
    for line in lines:
        report(line)


def test_the_sandbox_refuses_network_and_writes_outside_its_root(sandbox_root: str) -> None:
    import socket

    outside = Path(tempfile.gettempdir()).parent / f"outside-{uuid.uuid4().hex}"
    with SANDBOX.active(sandbox_root) as blocked:
        with pytest.raises(PermissionError):
            os.mkdir(outside)
        with pytest.raises(PermissionError):
            open(Path(sandbox_root).parent / "x", "wb")  # noqa: SIM115
        with pytest.raises(OSError):  # noqa: PT011 -- refused, whatever the error's class
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        Path(sandbox_root, "inside").write_bytes(b"allowed")
    assert len(blocked) == 3
    assert not outside.exists()


# -- SQL table names ----------------------------------------------------------------------------------------------

HOSTILE_TABLES = ["kv; DROP TABLE canary", "kv'--", 'kv"; DROP TABLE canary; --', "Robert'); DROP TABLE canary;--",
                  "kv/*", "kv*/", "a b", "kv`", "kv\\", "kv\x00", "kv\n", "", "1kv", "k" * 64, "t\u00e4ble", "%",
                  "kv%00", "kv.canary", "canary--", "(select 1)", "kv)", "[kv]"]
PLAIN_WORDS = ["select", "order", "user", "table", "Group", "k" * 63, "_", "canary_x"]


def _sql_urls(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    return [f"sql+sqlite:///{tmp_path}/tables.db", request.getfixturevalue("postgres_server")["url"],
            request.getfixturevalue("mariadb_server")["url"]]


def test_hostile_table_names_are_refused_and_plain_words_quoted(request: pytest.FixtureRequest,
                                                                 tmp_path: Path) -> None:
    import sqlalchemy as sa

    from minimalkv_fsspec.db.sql import SQLAlchemyStore

    refused = quoted = 0
    for url in _sql_urls(request, tmp_path):
        base = url.removeprefix("sql+")
        engine = sa.create_engine(base)
        canary = sa.Table("canary", sa.MetaData(), sa.Column("name", sa.String(20)))
        canary.create(engine, checkfirst=True)
        with engine.connect() as connection:
            tables_before = set(sa.inspect(connection).get_table_names())
        try:
            for table in HOSTILE_TABLES:
                with pytest.raises(ValueError, match="table name"):
                    get_store_from_url(f"sql+{base}?table={quote_text(table)}")
                with pytest.raises(ValueError, match="table name"):
                    SQLAlchemyStore(engine, sa.MetaData(), table)
                refused += 2
            for table in PLAIN_WORDS:
                store = get_store_from_url(f"sql+{base}?table={table}")
                store.put("key", table.encode())
                assert store.keys() == ["key"]
                assert store.get("key") == table.encode()
                with engine.begin() as connection:
                    store.table.drop(connection)
                store.close()
                quoted += 1
            with engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) == tables_before  # canary and nothing new
        finally:
            canary.drop(engine)
            engine.dispose()
    FIGURES["tables refused"] = FIGURES.get("tables refused", 0) + refused
    FIGURES["tables quoted"] = FIGURES.get("tables quoted", 0) + quoted


def quote_text(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# -- wildcards in key prefixes --------------------------------------------------------------------------------------

WILD_PREFIXES = ["t?[a]-", "t%_-", "t_%", "t[!x]-", "t^$.()+{}-", "t]-["]
# Keys a wildcard would match: every prefix above with a character changed, and keys without any prefix.
WILD_NEIGHBOURS = ["tx[a]-k", "t?a-k", "tx-k", "t%x-k", "tab-k", "t_xx", "ta%k", "tx-", "t[!x]", "t^$.()+{}", "k",
                   "t]-", "tx]-[k"]


def _prefix_backends(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Stores of every kind that can hold the wildcard prefixes, by name."""
    import boto3
    import redis

    server = request.getfixturevalue("redis_server")
    client = redis.Redis(host=server["host"], port=server["port"], db=15)
    client.flushdb()
    request.addfinalizer(client.close)
    request.addfinalizer(client.flushdb)
    moto, azurite, fake_gcs = (request.getfixturevalue(name) for name in ("moto_server", "azurite", "fake_gcs"))
    bucket = f"wild-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto["endpoint_url"], aws_access_key_id="raw", aws_secret_access_key="raw",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    key = quote_text(azurite["account_key"])
    table = f"wild_{uuid.uuid4().hex[:8]}"
    moto_host = moto["endpoint_url"].split("://", 1)[1]
    return {
        "memory": "memory://",
        "filesystem": f"fs://{tmp_path}/fs",
        "redis": f"redis://{server['host']}:{server['port']}/15",
        "sqlite": f"sql+sqlite:///{tmp_path}/wild.db?table={table}",
        "postgresql": f"sql+{request.getfixturevalue('postgres_server')['url']}?table={table}",
        "mariadb": f"sql+{request.getfixturevalue('mariadb_server')['url']}?table={table}",
        "s3": f"s3://k:s@{moto_host}/{bucket}/d/?force_bucket_suffix=false&is_secure=false",
        "azure": f"azure://{azurite['account_name']}:{key}@{bucket}/d?blob_endpoint={azurite['blob_endpoint']}",
        "gcs": f"gcs://anon@{bucket}/d?endpoint_url={fake_gcs['endpoint_url']}&project=test",
    }


def test_wildcards_in_a_key_prefix_select_nothing_else(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from minimalkv_fsspec.decorator import PrefixDecorator

    checked = 0
    for name, url in _prefix_backends(request, tmp_path).items():
        backend = get_store_from_url(url)
        backend.put_many({key: b"neighbour" for key in WILD_NEIGHBOURS})
        for prefix in WILD_PREFIXES:
            tenant = PrefixDecorator(prefix, backend)
            model = {"k": b"1", "%": b"2", "_x": b"3", "?": b"4", "[a]": b"5", "a]": b"6"}
            tenant.put_many(model)
            for start in ["", "%", "_", "?", "[", "[a", "a", "k", "x"]:
                expected = sorted(key for key in model if key.startswith(start))
                assert sorted(tenant.keys(start)) == expected, (name, prefix, start)
            tenant.delete_many(tenant.keys())
            assert tenant.keys() == [], (name, prefix)
            checked += 1
        assert sorted(backend.keys()) == sorted(WILD_NEIGHBOURS), name  # nothing else listed or deleted
        backend.delete_many(WILD_NEIGHBOURS)
        if hasattr(backend, "table"):
            with backend.bind.begin() as connection:
                backend.table.drop(connection)
        backend.close()
    FIGURES["wildcard prefixes"] = checked


# -- regressions the fuzz found ---------------------------------------------------------------------------------


def test_sql_urls_a_database_cannot_use_are_value_errors(tmp_path: Path) -> None:
    # Were sqlalchemy's NoSuchModuleError and ArgumentError, and the driver's TypeError.
    for url in ("sql+nosuchdb://host/db", "sql+sqlit+pysqlite:///x.db", "sql+sqlite://user:S3cret-pw@host/x.db",
                "sql+mysql+pymysql://user:S3cret-pw@127.0.0.1:1/kv?no_such_option=1"):
        with pytest.raises(ValueError, match="SQL store URL|database driver refused") as info:
            get_store_from_url(url)
        assert "S3cret-pw" not in str(info.value)


def test_table_names_with_a_final_newline_are_refused() -> None:
    # A "$" in the pattern let "kv\n" through; so was an Azure container name, and a scheme.
    from minimalkv_fsspec.backends.native.sql import check_table_name

    with pytest.raises(ValueError, match="table name"):
        check_table_name("kv\n")
    with pytest.raises(ValueError, match="container name"):
        get_store_from_url("azure://acct:a2V5@abc%0A?blob_endpoint=http://127.0.0.1:1/acct")


def test_gcs_credentials_missing_what_gcsfs_needs_are_value_errors() -> None:
    # Were a KeyError ('refresh_token') from gcsfs, for the URL "gcs://e30=@bucket" ({}) among others.
    import base64
    import json

    from minimalkv_fsspec.net.gcstore import GoogleCloudStore

    private = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-canary\n-----END PRIVATE KEY-----\n"
    for info in ({}, {"client_id": "x"}, {"type": "service_account", "private_key": private}, [1, 2]):
        text = base64.urlsafe_b64encode(json.dumps(info).encode()).decode()
        with pytest.raises(ValueError, match="credentials") as raised:
            get_store_from_url(f"gcs://{text}@bucket?endpoint_url=http://127.0.0.1:1")
        assert "canary" not in str(raised.value)
        if isinstance(info, dict):
            with pytest.raises(ValueError, match="credentials lack"):
                GoogleCloudStore(info, "bucket", endpoint_url="http://127.0.0.1:1")
