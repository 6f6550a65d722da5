"""Secrets: canary credentials in every URL form and constructor never come out of a store.

Each test puts distinctive random canaries where credentials go (S3 key id, secret
and session token; an Azure account key, in a connection string and a URL, and a SAS
token; GCS service-account JSON as a file, a dict and in a URL; Redis and SQL
passwords in URLs and clients) and then looks for them, and for their URL-encoded
form, in:

* ``repr`` and ``str`` of the store and of a decorator over it;
* the bytes of ``pickle.dumps(store)``;
* the text of every exception a failing operation raises, causes included (wrong
  credentials against the emulators and servers, and an unreachable host);
* every record logged while it all happens, with the root logger at DEBUG.

The figures are printed at the end of the module.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import pickle
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from minimalkv_fsspec import get_store, get_store_from_url
from minimalkv_fsspec.decorator import PrefixDecorator
from tests.figures import report
from tests.fixtures.native_servers import free_port, start_redis


@dataclass
class Findings:
    """The canaries of one test and every place they were looked for."""

    canaries: list[str] = field(default_factory=list)
    looked: dict[str, int] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)

    def canary(self, kind: str) -> str:
        """Return a new canary, distinctive and URL-safe."""
        value = f"{kind}Canary{uuid.uuid4().hex[:20]}"
        self.canaries.append(value)
        return value

    def add(self, value: str) -> str:
        """Watch for *value* (a canary that has to have a format, such as a base64 key)."""
        self.canaries.append(value)
        return value

    def look(self, where: str, text: str | bytes) -> None:
        self.looked[where] = self.looked.get(where, 0) + 1
        for canary in self.canaries:
            for form in {canary, quote(canary, safe=""), quote(canary)}:
                if (form.encode() if isinstance(text, bytes) else form) in text:
                    context = text if isinstance(text, str) else text.decode("latin-1")
                    position = context.find(form)
                    self.leaks.append(f"{where}: {canary[:20]}... in {context[max(0, position - 80):position + 40]!r}")

    def store(self, name: str, store: Any) -> Any:
        """Look in the store's repr, str, pickle, and a decorator's repr; return the unpickled copy.

        The copy is made in this process, where the pickled reference to the secrets resolves.
        """
        internals = (getattr(store, "_secrets", None), getattr(store, "_options", None))  # what pickles keep
        self.look(f"repr/str ({name})", f"{store!r} {store} {PrefixDecorator('p-', store)!r} {internals!r}")
        pickled = pickle.dumps(store)
        self.look(f"pickle ({name})", pickled)
        return pickle.loads(pickled)

    def fails(self, name: str, call: Callable[[], Any]) -> None:
        """Run *call*, which must fail with an OSError (not a KeyError), and look in the whole exception text."""
        try:
            call()
        except Exception as exc:  # noqa: BLE001 -- looked at below
            self.look(f"exception ({name})", "".join(traceback.format_exception(exc)) + repr(exc.args))
            if not isinstance(exc, OSError) or isinstance(exc, KeyError):
                self.leaks.append(f"{name}: {type(exc).__name__} is no OSError: {exc}")
        else:
            self.leaks.append(f"{name}: did not fail")

    def logs(self, caplog: pytest.LogCaptureFixture) -> None:
        records = caplog.get_records("setup") + caplog.get_records("call")
        assert records, "no log records were captured: the check would prove nothing"
        for record in records:
            text = record.getMessage()
            if record.exc_info:
                text += "".join(traceback.format_exception(*record.exc_info))
            self.look(f"log records ({record.name})", text)


FIGURES: dict[str, Findings] = {}


@pytest.fixture
def findings(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[Findings]:
    """Canaries for one test; every log record of the test (root logger at DEBUG) is searched at the end."""
    found = Findings()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQLAlchemy holds its loggers at WARNING otherwise
    yield found
    found.logs(caplog)
    FIGURES[request.node.name] = found
    assert not found.leaks, "\n".join(found.leaks[:20])


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not FIGURES:
        return
    canaries = sum(len(found.canaries) for found in FIGURES.values())
    looked: dict[str, int] = {}
    for found in FIGURES.values():
        for where, count in found.looked.items():
            kind = where.split(" (")[0]
            looked[kind] = looked.get(kind, 0) + count
    leaks = sum(len(found.leaks) for found in FIGURES.values())
    line = (f"secrets: {canaries} canaries in {len(FIGURES)} tests, looked for in "
            + ", ".join(f"{count:,} {kind}" for kind, count in sorted(looked.items()))
            + f": {leaks} found")
    report(line)


def _use(store: Any) -> None:
    """Write, read, list and sign: every request a working store makes with its credentials."""
    store.put("key", b"value")
    assert store.get("key") == b"value"
    assert store.get_many(["key", "missing"]) == {"key": b"value"}
    assert "key" in store.keys()
    with contextlib.suppress(AttributeError, NotImplementedError):
        store.url_for("key")
    with pytest.raises(KeyError):
        store.get("missing")
    store.delete("key")


def _fail_everything(findings: Findings, name: str, store: Any, *, quick: bool = False) -> None:
    """Every operation of a store whose credentials or host are wrong fails without naming them.

    With *quick*, only a read (against an unreachable host each request is retried for seconds).
    """
    operations: list[tuple[str, Callable[[], Any]]] = [("get", lambda: store.get("key"))]
    if not quick:
        operations += [("put", lambda: store.put("key", b"v")), ("in", lambda: "key" in store), ("keys", store.keys),
                       ("get_many", lambda: store.get_many(["key"])),
                       ("put_file", lambda: store.put_file("key", io.BytesIO(b"v")))]
    for operation, call in operations:
        findings.fails(f"{name} {operation}", call)


def _unused_port_url(scheme_and_credentials: str, rest: str = "") -> str:
    return f"{scheme_and_credentials}@127.0.0.1:{free_port()}{rest}"


# -- S3 -------------------------------------------------------------------------------------------------------


def test_s3_key_id_secret_and_session_token(findings: Findings, request: pytest.FixtureRequest) -> None:
    import boto3

    from minimalkv_fsspec.net.s3fsstore import Credentials, S3FSStore

    moto, checked = request.getfixturevalue("moto_server"), request.getfixturevalue("moto_auth_server")
    key, secret, token = findings.canary("AKID"), findings.canary("secret"), findings.canary("token")
    bucket = f"secrets-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto["endpoint_url"], aws_access_key_id="raw", aws_secret_access_key="raw",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    host = moto["endpoint_url"].split("://", 1)[1]
    options = f"force_bucket_suffix=false&is_secure=false&session_token={token}"
    working = {
        "url": get_store_from_url(f"s3://{key}:{secret}@{host}/{bucket}?{options}"),
        "h-url": get_store_from_url(f"hs3://{key}:{quote(secret)}@{host}/{bucket}/dir/?{options}"),
        "credentials": S3FSStore(bucket, Credentials(key, secret, token), endpoint_url=moto["endpoint_url"]),
        "storage options": S3FSStore(bucket, storage_options={"key": key, "secret": secret, "token": token,
                                                               "endpoint_url": moto["endpoint_url"]}),
        "get_store": get_store("s3", host=host, access_key=key, secret_key=secret, session_token=token,
                               bucket=bucket, is_secure=False, force_bucket_suffix=False),
        "fsspec+s3": get_store_from_url(f"fsspec+s3://{bucket}/generic?key={key}&secret={secret}&token={token}"
                                        f'&client_kwargs={{"endpoint_url":"{moto["endpoint_url"]}"}}'),
    }
    for name, store in working.items():
        _use(store)
        _use(findings.store(name, store))
    shown = repr(Credentials(key, secret, token))  # it shows the key id, as AWS's own tools do
    assert secret not in shown
    assert token not in shown
    # moto checks the signature here: these credentials do not exist.
    denied = S3FSStore(bucket, Credentials(key, secret, token), endpoint_url=checked["endpoint_url"])
    findings.store("refused", denied)
    _fail_everything(findings, "refused credentials", denied)
    unreachable = get_store_from_url(_unused_port_url(f"s3://{key}:{secret}", f"/{bucket}?{options}"))
    _fail_everything(findings, "unreachable host", unreachable, quick=True)


# -- Azure -------------------------------------------------------------------------------------------------------


def _wrong_account_key(findings: Findings) -> str:
    """A well-formed account key (base64 of 64 bytes) that Azurite does not know: a canary."""
    return findings.add(base64.b64encode(b"Canary" + os.urandom(58)).decode())


def test_azure_account_key_and_sas(findings: Findings, request: pytest.FixtureRequest) -> None:
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    from minimalkv_fsspec.net.azurestore import AzureBlockBlobStore

    azurite = request.getfixturevalue("azurite")
    account, real_key, endpoint = azurite["account_name"], azurite["account_key"], azurite["blob_endpoint"]
    findings.add(real_key)  # Azurite's key is public, but it is the one that works: it must not show either
    container = f"secrets-{uuid.uuid4().hex[:12]}"
    permissions = AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True)
    sas = generate_account_sas(account, real_key, ResourceTypes(service=True, container=True, object=True),
                               permissions, expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    findings.add(dict(part.split("=", 1) for part in sas.split("&"))["sig"])
    connection = azurite["connection_string"]
    AzureBlockBlobStore(connection, container).put("created", b"")  # a SAS cannot create the container
    working = {
        "connection string": AzureBlockBlobStore(connection, container),
        "url": get_store_from_url(f"azure://{account}:{quote(real_key, safe='')}@{container}"
                                  f"?blob_endpoint={endpoint}"),
        "url with connection_string": get_store_from_url(
            f"hazure://{container}/dir?connection_string={quote(connection, safe='')}"),
        "sas": get_store_from_url(f"azure://{account}:{quote(sas, safe='')}@{container}?use_sas"
                                  f"&create_if_missing=false&blob_endpoint={endpoint}"),
    }
    for name, store in working.items():
        _use(store)
        _use(findings.store(name, store))  # the copy works: its credentials resolve in this process
    wrong = _wrong_account_key(findings)
    refused = {
        "wrong key in a connection string": AzureBlockBlobStore(connection.replace(real_key, wrong), container),
        "wrong key in a url": get_store_from_url(f"azure://{account}:{quote(wrong, safe='')}@{container}"
                                                 f"?blob_endpoint={endpoint}"),
    }
    for name, store in refused.items():
        findings.store(name, store)
        _fail_everything(findings, name, store)
    # A SAS store looks for its container at once (it cannot create one): a wrong SAS fails there.
    wrong_sas = sas.replace("sig=", "sig=Canary")
    findings.add("Canary" + dict(part.split("=", 1) for part in sas.split("&"))["sig"])
    findings.fails("wrong sas", lambda: get_store_from_url(
        f"azure://{account}:{quote(wrong_sas, safe='')}@{container}?use_sas&create_if_missing=false"
        f"&blob_endpoint={endpoint}"))
    unreachable = get_store_from_url(
        f"azure://{account}:{quote(wrong, safe='')}@{container}?blob_endpoint=http://127.0.0.1:{free_port()}/{account}")
    _fail_everything(findings, "unreachable host", unreachable, quick=True)


# -- GCS ---------------------------------------------------------------------------------------------------------


def test_gcs_credentials_json_as_file_dict_and_url(findings: Findings, request: pytest.FixtureRequest,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gcsfs.retry

    from minimalkv_fsspec.net.gcstore import GoogleCloudStore

    real_sleep = gcsfs.retry.asyncio.sleep

    class QuickRetries:  # the failures are the same after gcsfs's pauses between attempts, only later
        @staticmethod
        async def sleep(seconds: float) -> None:
            await real_sleep(0)

    monkeypatch.setattr(gcsfs.retry, "asyncio", QuickRetries)

    fake, account = request.getfixturevalue("fake_gcs"), request.getfixturevalue("gcs_service_account")
    info, refused = account["info"], account["refused"]
    for line in info["private_key"].splitlines()[1:-1]:  # the key's base64 body, line by line
        findings.add(line)
    findings.add("fake-access-token")  # the token the fake OAuth server hands out
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(info))
    endpoint = fake["endpoint_url"]
    bucket = f"secrets-{uuid.uuid4().hex[:12]}"
    in_url = base64.urlsafe_b64encode(json.dumps(info).encode()).decode()
    working = {
        "file": GoogleCloudStore(str(key_file), bucket, endpoint_url=endpoint),
        "dict": GoogleCloudStore(info, bucket, endpoint_url=endpoint),
        "json text": GoogleCloudStore(json.dumps(info), bucket, endpoint_url=endpoint),
        "url": get_store_from_url(f"hgcs://{in_url}@{bucket}/dir?endpoint_url={endpoint}"),
    }
    for name, store in working.items():
        _use(store)
        _use(findings.store(name, store))  # the copy works: its credentials resolve in this process
    refusing = GoogleCloudStore(refused, bucket, endpoint_url=endpoint)  # its token endpoint says no
    findings.store("refused", refusing)
    findings.fails("refused credentials get", lambda: refusing.get("key"))
    unreachable = GoogleCloudStore(info, bucket, endpoint_url=f"http://127.0.0.1:{free_port()}")
    findings.fails("unreachable host get", lambda: unreachable.get("key"))


# -- Redis ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_with_password(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A private Redis server whose default user has a canary password (and an ACL user with another)."""
    import redis

    request.getfixturevalue("redis_server")  # skips or fails as the policy says when there is no redis-server
    info, stop = start_redis()
    password, user_password = f"redisCanary{uuid.uuid4().hex[:20]}", f"aclCanary{uuid.uuid4().hex[:20]}"
    client = redis.Redis(host=info["host"], port=info["port"])
    client.acl_setuser("alice", enabled=True, passwords=[f"+{user_password}"], keys=["*"], commands=["+@all"])
    client.config_set("requirepass", password)
    client.close()
    try:
        yield {**info, "password": password, "user_password": user_password}
    finally:
        stop()


def test_redis_passwords(findings: Findings, redis_with_password: dict[str, Any]) -> None:
    import redis

    from minimalkv_fsspec.memory.redisstore import RedisStore

    server = redis_with_password
    password, user_password = findings.add(server["password"]), findings.add(server["user_password"])
    base = f"{server['host']}:{server['port']}"
    working = {
        "url": get_store_from_url(f"redis://{password}@{base}/0"),
        "url with user": get_store_from_url(f"hredis://alice:{user_password}@{base}/1"),
        "client": RedisStore(redis.Redis(host=server["host"], port=server["port"], password=password)),
    }
    for name, store in working.items():
        _use(store)
        _use(findings.store(name, store))  # the copy works: its credentials resolve in this process
    wrong = findings.canary("wrongRedis")
    no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    refused = {
        "wrong password": RedisStore(redis.Redis(host=server["host"], port=server["port"], password=wrong,
                                                 retry=no_retry)),
        "wrong password in a url": get_store_from_url(f"redis://alice:{wrong}@{base}/0"),
    }
    for name, store in refused.items():
        findings.store(name, store)
        _fail_everything(findings, name, store)
    unreachable = get_store_from_url(_unused_port_url(f"redis://{wrong}", "/0?socket_connect_timeout=1"))
    _fail_everything(findings, "unreachable host", unreachable)


# -- SQL ------------------------------------------------------------------------------------------------------------


def test_sql_passwords(findings: Findings, request: pytest.FixtureRequest) -> None:
    import sqlalchemy as sa

    from minimalkv_fsspec.db.sql import SQLAlchemyStore

    mariadb, postgres = request.getfixturevalue("mariadb_server"), request.getfixturevalue("postgres_server")
    password = findings.canary("sqlPw")
    user = f"u{uuid.uuid4().hex[:8]}"
    import pymysql

    # Straight through the driver: SQLAlchemy would log this statement, canary and all.
    root = pymysql.connect(host="127.0.0.1", port=mariadb["port"], user="root", autocommit=True)
    with root.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cursor.execute(f"GRANT ALL ON kv.* TO '{user}'@'%'")
    root.close()
    table = f"secrets_{uuid.uuid4().hex[:8]}"
    maria = f"mysql+pymysql://{user}:{password}@127.0.0.1:{mariadb['port']}/kv"
    # PostgreSQL trusts every local connection here: the password is carried, not checked.
    pg = postgres["url"].replace("postgres@", f"postgres:{password}@")
    working = {
        "mariadb url": get_store_from_url(f"sql+{maria}?table={table}"),
        "postgresql url": get_store_from_url(f"hsql+{pg}?table={table}"),
        "engine": SQLAlchemyStore(sa.create_engine(maria), sa.MetaData(), table),
    }
    for name, store in working.items():
        _use(store)
        _use(findings.store(name, store))  # the copy works: its credentials resolve in this process
    wrong = findings.canary("wrongSql")
    refused = SQLAlchemyStore(sa.create_engine(maria.replace(password, wrong)), sa.MetaData(), table)
    findings.store("wrong password", refused)
    _fail_everything(findings, "wrong password", refused)
    findings.fails("wrong password in a url", lambda: get_store_from_url(f"sql+{maria.replace(password, wrong)}"))
    unreachable = SQLAlchemyStore(
        sa.create_engine(f"postgresql+psycopg://postgres:{wrong}@127.0.0.1:{free_port()}/postgres"),
        sa.MetaData(), table)
    _fail_everything(findings, "unreachable host", unreachable)
    findings.fails("unreachable host in a url", lambda: get_store_from_url(
        f"sql+mysql+pymysql://{user}:{wrong}@127.0.0.1:{free_port()}/kv"))
    for store in working.values():
        with store.bind.begin() as connection:
            store.table.drop(connection, checkfirst=True)
        store.close()
