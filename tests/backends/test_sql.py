"""SQLAlchemyStore runs the conformance suite on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import gc
import pickle
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec import get_store_from_url, url2dict
from minimalkv_fsspec.testing import StoreTests
from tests.fixtures.native_servers import free_port, require_module

sa = require_module("sqlalchemy", "pip install sqlalchemy")

from minimalkv_fsspec.backends.native.sql import check_table_name  # noqa: E402
from minimalkv_fsspec.db.sql import HSQLAlchemyStore, SQLAlchemyStore  # noqa: E402


@pytest.fixture(scope="module")
def postgres_engine(postgres_server: dict[str, Any]) -> Iterator[Any]:
    engine = sa.create_engine(postgres_server["url"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def mariadb_engine(mariadb_server: dict[str, Any]) -> Iterator[Any]:
    engine = sa.create_engine(mariadb_server["url"])
    yield engine
    engine.dispose()


def _new_store(engine: Any, cls: type[SQLAlchemyStore] = SQLAlchemyStore) -> Iterator[SQLAlchemyStore]:
    """Yield a store on a new table of its own, dropped afterwards (never anyone else's table)."""
    metadata = sa.MetaData()
    store = cls(engine, metadata, f"t_{uuid.uuid4().hex[:12]}")
    metadata.create_all(engine)
    try:
        yield store
    finally:
        store.close()
        metadata.drop_all(engine)


def _sql(store: Any, text: str) -> Any:
    """Return plain SQL *text* with ``{t}`` the store's table and ``{k}`` its (quoted) key column."""
    quote = store.bind.dialect.identifier_preparer.quote
    return sa.text(text.format(t=store.tablename, k=quote("key")))  # the table name is one we made


class SQLSideDoor(StoreTests):
    """Reads and writes the table with plain SQL text, bypassing the store."""

    def side_get(self, store: Any, key: str) -> bytes | None:
        with store.bind.connect() as connection:
            row = connection.execute(_sql(store, "SELECT value FROM {t} WHERE {k} = :key"), {"key": key}).first()
        return None if row is None else bytes(row[0])

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        with store.bind.begin() as connection:
            connection.execute(_sql(store, "DELETE FROM {t} WHERE {k} = :key"), {"key": key})
            connection.execute(
                _sql(store, "INSERT INTO {t} ({k}, value) VALUES (:key, :value)"), {"key": key, "value": value}
            )


class TestSQLiteStore(SQLSideDoor):
    stateful_steps = 5  # every write is a commit that syncs the database file
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLAlchemyStore]:
        engine = sa.create_engine(f"sqlite:///{tmp_path}/kv.db")
        yield from _new_store(engine)
        engine.dispose()


class TestHSQLiteStore(SQLSideDoor):
    stateful_steps = 5  # every write is a commit that syncs the database file
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLAlchemyStore]:
        engine = sa.create_engine(f"sqlite:///{tmp_path}/kv.db")
        yield from _new_store(engine, HSQLAlchemyStore)
        engine.dispose()


class TestPostgreSQLStore(SQLSideDoor):
    @pytest.fixture
    def store(self, postgres_engine: Any) -> Iterator[SQLAlchemyStore]:
        yield from _new_store(postgres_engine)


class TestHPostgreSQLStore(SQLSideDoor):
    large_value_size = 1024 * 1024  # the 64 MiB round trip runs on the plain PostgreSQL class

    @pytest.fixture
    def store(self, postgres_engine: Any) -> Iterator[SQLAlchemyStore]:
        yield from _new_store(postgres_engine, HSQLAlchemyStore)


class TestMariaDBStore(SQLSideDoor):
    @pytest.fixture
    def store(self, mariadb_engine: Any) -> Iterator[SQLAlchemyStore]:
        yield from _new_store(mariadb_engine)


# -- one store per database, for the specific tests -----------------------------------------


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path}/kv.db")
        yield engine
        engine.dispose()
    else:
        yield request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def any_store(any_engine: Any) -> Iterator[SQLAlchemyStore]:
    yield from _new_store(any_engine)


def _rows(store: SQLAlchemyStore, key: str) -> int:
    with store.bind.connect() as connection:
        query = _sql(store, "SELECT COUNT(*) FROM {t} WHERE {k} = :key")
        return int(connection.execute(query, {"key": key}).scalar_one())


def test_empty_value_and_case_sensitive_keys(any_store: SQLAlchemyStore) -> None:
    any_store.put("a", b"")
    any_store.put("A", b"upper")
    assert any_store.get("a") == b""
    assert any_store.get("A") == b"upper"
    assert sorted(any_store.keys()) == ["A", "a"]
    assert any_store.keys("a") == ["a"]
    assert any_store.keys("A") == ["A"]


def test_trailing_space_keys_are_distinct(tmp_path: Path, mariadb_engine: Any) -> None:
    # MariaDB's PAD SPACE collations would make "a" and "a " one key; the key column is binary.
    for store in _new_store(mariadb_engine, HSQLAlchemyStore):
        store.put("a", b"1")
        store.put("a ", b"2")
        assert store.get("a") == b"1"
        assert store.get("a ") == b"2"
        assert sorted(store.keys()) == ["a", "a "]


def test_like_wildcards_in_prefix_are_literal(any_engine: Any) -> None:
    for store in _new_store(any_engine, HSQLAlchemyStore):
        for key in ("a%b", "aXb", "a_b", "a/b", "a/c/d", "ab", "a%/x"):
            store.put(key, b"x")
        assert sorted(store.keys("a%")) == ["a%/x", "a%b"]
        assert store.keys("a_") == ["a_b"]
        assert sorted(store.keys("a/")) == ["a/b", "a/c/d"]  # "/" is the LIKE escape character
        assert store.keys("a%/") == ["a%/x"]


def test_put_is_one_upsert_statement(any_store: SQLAlchemyStore) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    sa.event.listen(any_store.bind, "before_cursor_execute", record)
    try:
        any_store.put("key", b"1")
        any_store.put("key", b"2")
        any_store.copy("key", "other")
    finally:
        sa.event.remove(any_store.bind, "before_cursor_execute", record)
    assert statements == ["INSERT", "INSERT", "INSERT"]
    assert _rows(any_store, "key") == 1
    assert any_store.get("other") == b"2"


def test_get_many_is_one_query(any_store: SQLAlchemyStore) -> None:
    any_store.put_many({f"k{n}": bytes([n]) for n in range(100)})
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(any_store.bind, "before_cursor_execute", record)
    try:
        found = any_store.get_many([f"k{n}" for n in range(0, 120, 2)])
    finally:
        sa.event.remove(any_store.bind, "before_cursor_execute", record)
    assert found == {f"k{n}": bytes([n]) for n in range(0, 100, 2)}
    assert len(statements) == 1
    assert " IN " in statements[0].upper() or "= ANY (" in statements[0].upper()


def test_overlong_key_is_refused(any_store: SQLAlchemyStore) -> None:
    any_store.put("k" * 250, b"ok")
    with pytest.raises(ValueError, match="too long"):
        any_store.put("k" * 251, b"x")
    with pytest.raises(ValueError, match="too long"):
        any_store.copy("k" * 250, "k" * 251)
    assert any_store.keys() == ["k" * 250]


def test_generic_upsert_without_dialect_support(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/kv.db")
    for store in _new_store(engine):
        store._statements["upsert"] = None  # as on a dialect without an upsert statement
        store.put("key", b"1")
        store.put("key", b"2")
        store.put_many({"key": b"3", "other": b"4"})
        assert store.get("key") == b"3"
        assert _rows(store, "key") == 1


def test_table_names_are_validated() -> None:
    for bad in ("kv; DROP TABLE users", "1kv", "", "a-b", "kv\x00", "x" * 64, "schema.table", "k v"):
        with pytest.raises(ValueError, match="invalid table name"):
            check_table_name(bad)
        with pytest.raises(ValueError, match="invalid table name"):
            SQLAlchemyStore(sa.create_engine("sqlite://"), sa.MetaData(), bad)
    with pytest.raises(ValueError, match="invalid table name"):
        url2dict("sql+sqlite:///x.db?table=kv%3BDROP")
    assert check_table_name("Key_Value_2") == "Key_Value_2"


def test_shared_metadata_reuses_the_table(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/kv.db")
    metadata = sa.MetaData()
    first = SQLAlchemyStore(engine, metadata, "kv")
    second = SQLAlchemyStore(engine, metadata, "kv")
    metadata.create_all(engine)
    first.put("key", b"v")
    assert second.get("key") == b"v"
    sa.Table("other", metadata, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(ValueError, match="other columns"):
        SQLAlchemyStore(engine, metadata, "other")
    engine.dispose()


# -- URLs ------------------------------------------------------------------------------------------


def test_url_forms() -> None:
    params = url2dict("sql+postgresql+psycopg://user:s3cr3t@db.example:5433/app?table=blobs&sslmode=require")
    assert params["type"] == "sql+postgresql+psycopg"
    assert params["tablename"] == "blobs"
    url = params["url"]
    assert url.render_as_string(hide_password=False) == (
        "postgresql+psycopg://user:s3cr3t@db.example:5433/app?sslmode=require"
    )
    assert "s3cr3t" not in repr(params)
    assert url2dict("sql+sqlite:///rel.db")["url"].database == "rel.db"
    assert url2dict("sql+sqlite:////abs/kv.db")["url"].database == "/abs/kv.db"
    assert url2dict("sql+sqlite:///kv.db")["tablename"] == "kv"
    assert url2dict("hsql+mysql+pymysql://root@h/kv?table=t")["type"] == "hsql+mysql+pymysql"
    with pytest.raises(ValueError, match="names the database"):
        url2dict("sql:///x.db")


def test_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = get_store_from_url("sql+sqlite:///relative.db?table=blobs")
    assert type(store) is SQLAlchemyStore
    store.put("key", b"v")
    assert (tmp_path / "relative.db").is_file()
    hstore = get_store_from_url(f"hsql+sqlite:///{tmp_path}/abs.db")
    assert type(hstore) is HSQLAlchemyStore
    hstore.put("a/b c", b"v")
    assert get_store_from_url(f"hsql+sqlite:///{tmp_path}/abs.db?create_if_missing=false").keys() == ["a/b c"]
    with pytest.raises(FileNotFoundError, match="create_if_missing"):
        get_store_from_url(f"sql+sqlite:///{tmp_path}/absent.db?create_if_missing=false")
    with pytest.raises(OSError, match="does not exist"):
        get_store_from_url(f"sql+sqlite:///{tmp_path}/abs.db?table=absent&create_if_missing=false")
    clone = pickle.loads(pickle.dumps(hstore))
    assert clone.get("a/b c") == b"v"
    for each in (store, hstore, clone):
        each.close()


def test_in_memory_sqlite_url_is_shared_by_threads() -> None:
    store = get_store_from_url("sql+sqlite://")
    store.put("key", b"v")
    seen: list[bytes] = []
    thread = threading.Thread(target=lambda: seen.append(store.get("key")))
    thread.start()
    thread.join()
    assert seen == [b"v"]


def test_server_urls(postgres_server: dict[str, Any], mariadb_server: dict[str, Any]) -> None:
    for server in (postgres_server, mariadb_server):
        table = f"u_{uuid.uuid4().hex[:8]}"
        store = get_store_from_url(f"sql+{server['url']}?table={table}")
        store.put("key", b"v")
        clone = pickle.loads(pickle.dumps(store))
        assert clone.get("key") == b"v"
        with store.bind.begin() as connection:  # type: ignore[attr-defined]
            connection.execute(sa.text(f"DROP TABLE {table}"))
        store.close()
        clone.close()


def test_a_dropped_url_store_closes_its_connections(postgres_server: dict[str, Any]) -> None:
    table = f"d_{uuid.uuid4().hex[:8]}"
    made = [get_store_from_url(f"sql+{postgres_server['url']}?table={table}")]
    made.append(pickle.loads(pickle.dumps(made[0])))
    for store in made:
        store.put("key", b"v")  # checks a connection out and back into the store's own pool
    engines = [store.bind for store in made]  # type: ignore[attr-defined]
    assert all(engine.pool.checkedin() == 1 for engine in engines)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        del store, made
        gc.collect()
    assert [engine.pool.checkedin() for engine in engines] == [0, 0]
    with engines[0].begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {table}"))
    engines[0].dispose()


def test_password_never_in_messages(mariadb_server: dict[str, Any]) -> None:
    port = mariadb_server["port"]
    root = sa.create_engine(mariadb_server["url"])
    with root.begin() as connection:
        connection.execute(sa.text("CREATE USER IF NOT EXISTS 'kvuser'@'%' IDENTIFIED BY 'S3cret-pw-42'"))
        connection.execute(sa.text("GRANT ALL ON kv.* TO 'kvuser'@'%'"))
    root.dispose()
    table = f"p_{uuid.uuid4().hex[:8]}"
    store = get_store_from_url(f"sql+mysql+pymysql://kvuser:S3cret-pw-42@127.0.0.1:{port}/kv?table={table}")
    store.put("key", b"v")
    assert "S3cret-pw-42" not in repr(store)
    with store.bind.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(sa.text(f"DROP TABLE {table}"))
    store.close()
    bad = SQLAlchemyStore(
        sa.create_engine(f"mysql+pymysql://kvuser:Wr0ng-pw-77@127.0.0.1:{port}/kv"), sa.MetaData(), "kv"
    )
    with pytest.raises(OSError) as info:  # noqa: PT011
        bad.get("key")
    assert not isinstance(info.value, KeyError)
    assert info.value.__cause__ is not None
    assert "Wr0ng-pw-77" not in str(info.value)
    assert "Wr0ng-pw-77" not in repr(bad)


def test_dead_server_is_oserror_not_keyerror() -> None:
    store = SQLAlchemyStore(
        sa.create_engine(f"postgresql+psycopg://u:Dead-pw-9@127.0.0.1:{free_port()}/db"), sa.MetaData(), "kv"
    )
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
        assert "Dead-pw-9" not in str(info.value)
        assert info.value.__cause__ is not None
