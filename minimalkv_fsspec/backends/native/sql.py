"""SQLAlchemyStore: one table row per key, through SQLAlchemy 2.

The table has two columns, ``key`` (the primary key, at most 250 characters,
compared byte for byte) and ``value`` (the bytes). A put is a single upsert
statement, so concurrent puts of one key neither fail nor leave two rows:
``INSERT ... ON CONFLICT (key) DO UPDATE`` on PostgreSQL and SQLite, ``INSERT ...
ON DUPLICATE KEY UPDATE`` on MySQL and MariaDB. Keys and values only ever travel
as bound parameters; the table name is checked against an identifier pattern.

Database drivers send and receive each value whole: :meth:`SQLAlchemyStore.open`
holds the value in memory, and ``put_file`` reads the whole file first.

Outages: a failure names the database, the operation and its first key, and is
a :class:`~minimalkv_fsspec.exceptions.BackendUnavailableError` when the server
could not be reached or dropped the connection. Dropped pooled connections are
replaced on the next call, so the same store works again once the database is
back. A PostgreSQL store made from a URL waits at most 10 s to connect
(``?connect_timeout=`` changes it); a PyMySQL one 10 s to connect and 60 s for
each answer (``?read_timeout=`` and ``?write_timeout=``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from minimalkv_fsspec._files import BytesValueFile
from minimalkv_fsspec._keys import VALID_KEY_RE_EXTENDED
from minimalkv_fsspec._mixins import CopyMixin, ExtendedKeyspaceMixin
from minimalkv_fsspec._store import KeyValueStore
from minimalkv_fsspec.exceptions import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    InvalidKeyError,
    StoreAccessDeniedError,
    StoreUrlError,
    _describe,
    _failure_class,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql.expression import Executable

    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["DEFAULT_TABLE", "HSQLAlchemyStore", "SQLAlchemyStore", "check_table_name"]

DEFAULT_TABLE = "kv"
"""The table a ``sql+...://`` URL uses when it names none with ``?table=``."""

KEY_LENGTH = 250
"""The longest key the ``key`` column holds (minimalkv's ``String(250)``)."""

_TABLE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")  # \Z: "$" would let a final newline in
_MYSQL = frozenset({"mysql", "mariadb"})
_ON_CONFLICT = frozenset({"postgresql", "sqlite"})
# Keys per IN (...) list: far below every database's limit on bound parameters.
_BATCH = 5000
_ATTEMPTS = 8
_RECONNECTS = 1  # retries after the server dropped the connection
_CONNECT_TIMEOUT = 10  # seconds, for a PostgreSQL store made from a URL
_READ_TIMEOUT = 60  # seconds, for a PyMySQL store made from a URL
_DATABASE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mssql": "SQL Server", "oracle": "Oracle"}
_T = TypeVar("_T")


def check_table_name(name: str) -> str:
    """Return *name* if it is a plain SQL identifier (letters, digits, ``_``; at most 63).

    Raises
    ------
    ValueError
        If *name* is anything else, so that no table name can carry SQL.
    """
    if not isinstance(name, str) or not _TABLE_NAME_RE.match(name):
        raise ValueError(f"invalid table name {name!r}: use letters, digits and '_' (at most 63, not a digit first)")
    return name


class _KeyType(TypeDecorator[str]):
    """The key column: ``VARCHAR(250)``, but ``VARBINARY(250)`` on MySQL and MariaDB.

    MySQL's text collations are case-insensitive or pad trailing spaces by default,
    which would make ``"a"``, ``"A"`` and ``"a "`` one key; a binary column compares
    bytes. Keys are ASCII, so nothing is lost in the encoding.
    """

    impl = sa.String(KEY_LENGTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.VARBINARY(KEY_LENGTH))
        return dialect.type_descriptor(sa.String(KEY_LENGTH))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and dialect.name in _MYSQL:
            return value.encode("utf-8")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8", "surrogateescape")
        return value  # type: ignore[no-any-return]


_VALUE_TYPE = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class SQLAlchemyStore(CopyMixin, KeyValueStore):
    """A store that keeps each value in one row of a database table.

    The table is registered on *metadata*; as in minimalkv, the caller creates it
    (``metadata.create_all(engine)``). The ``sql+...://`` URL form creates it
    itself unless ``create_if_missing=false``.

    Parameters
    ----------
    bind
        The SQLAlchemy ``Engine`` (a ``Connection`` stands for its engine).
    metadata
        The ``MetaData`` to register the table on.
    tablename
        The table's name: letters, digits and ``_`` only.

    Notes
    -----
    Each value is held in memory whole while it is read or written. The store
    pickles as its engine's URL and table name; engine options other than the URL
    (``connect_args``, pool settings) are not carried over, and an in-memory SQLite
    database is not shared with the copy. The URL's password is pickled only as a
    reference, which the process that pickled the store (or a forked child)
    resolves, and any other process cannot: there the copy connects without it.
    """

    def __init__(self, bind: Engine | Connection, metadata: sa.MetaData, tablename: str) -> None:
        engine = bind.engine if isinstance(bind, Connection) else bind
        if not isinstance(engine, Engine):
            raise TypeError(f"SQLAlchemyStore needs an Engine, not {type(bind).__name__}")
        self.bind = engine
        self.metadata = metadata
        self.tablename = check_table_name(tablename)
        self.table = self._define_table(metadata, tablename)
        self._engine_options: dict[str, Any] | None = None  # set when the store made the engine
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if isinstance(engine.pool, StaticPool) else contextlib.nullcontext()
        )
        column = self.table.c
        self._statements: dict[str, Any] = {
            "get": sa.select(column.value).where(column.key == sa.bindparam("k")),
            "has": sa.select(column.key).where(column.key == sa.bindparam("k")),
            "delete": sa.delete(self.table).where(column.key == sa.bindparam("k")),
            "get_many": sa.select(column.key, column.value).where(_any_key(column.key, engine.dialect.name)),
            "delete_many": sa.delete(self.table).where(_any_key(column.key, engine.dialect.name)),
        }
        # PostgreSQL's drivers switch to autocommit without a round trip, saving the
        # BEGIN and ROLLBACK around a single statement. MySQL's would send two
        # statements per switch, and SQLite's switch costs more than it saves (measured).
        self._autocommit: Engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        )

    @staticmethod
    def _define_table(metadata: sa.MetaData, tablename: str) -> sa.Table:
        existing = metadata.tables.get(tablename)
        if existing is not None:
            if set(existing.columns.keys()) != {"key", "value"}:
                raise ValueError(f"table {tablename!r} is already defined on this MetaData with other columns")
            return existing
        return sa.Table(
            tablename,
            metadata,
            sa.Column("key", _KeyType(), primary_key=True),
            sa.Column("value", _VALUE_TYPE, nullable=False),
        )

    # -- identity, pickling, closing --------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._location()!r}, table={self.tablename!r})"

    def _location(self) -> str:
        return self.bind.url.render_as_string(hide_password=True)

    def __getstate__(self) -> dict[str, Any]:
        url, secrets = self.bind.url, None
        if url.password:
            # The password travels as a reference that this process (and its forks) resolves while the store lives.
            if self.__dict__.get("_url_secrets") is None:
                from minimalkv_fsspec.backends.adapters.generic import Secrets

                self._url_secrets = Secrets({"password": str(url.password)})
            url, secrets = url._replace(password=None), self._url_secrets  # URL.set() would keep the password
        return {
            "url": url,
            "secrets": secrets,
            "tablename": self.tablename,
            "engine_options": self._engine_options or {},
            "extra": {
                key: value
                for key, value in self.__dict__.items()
                if key
                not in (
                    "bind",
                    "metadata",
                    "table",
                    "tablename",
                    "_engine_options",
                    "_dispose_engine",
                    "_lock",
                    "_statements",
                    "_autocommit",
                    "_url_secrets",
                )
            },
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        options = dict(state["engine_options"])
        url, secrets = state["url"], state.get("secrets")
        if secrets is not None and secrets.get("password"):
            url = url.set(password=secrets.get("password"))
        engine = sa.create_engine(url, **options)
        type(self).__init__(self, engine, sa.MetaData(), state["tablename"])
        if secrets is not None:
            self._url_secrets = secrets
        self._own_engine(options)
        self.__dict__.update(state["extra"])

    def _own_engine(self, options: dict[str, Any]) -> None:
        """Take charge of the engine this store made (from a URL or a pickle) with *options*."""
        self._engine_options = options
        # A store dropped without close() (from a cache, say) must not leave its pooled
        # connections open until the interpreter exits.
        self._dispose_engine = weakref.finalize(self, self.bind.dispose)

    def close(self) -> None:
        """Close the engine's pooled connections if the store made the engine (URL form, pickle).

        An engine passed in by the caller is left alone.
        """
        if self._engine_options is not None:
            self._dispose_engine()  # disposes once, however often close() is called

    # -- errors and retries ----------------------------------------------------------------

    @property
    def _database(self) -> str:
        """The database's name for messages: ``PostgreSQL``, ``MariaDB``, ``SQLite``, ..."""
        dialect = self.bind.dialect
        if dialect.name in _MYSQL:
            if dialect.server_version_info is None:  # never connected: which one is unknown
                return "MySQL/MariaDB"
            return "MariaDB" if getattr(dialect, "is_mariadb", False) else "MySQL"
        return _DATABASE_NAMES.get(dialect.name, dialect.name)

    def _fail(self, exc: sa_exc.SQLAlchemyError, what: str) -> BackendError:
        detail = str(exc.orig) if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else str(exc)
        password = self.bind.url.password
        if password:
            detail = detail.replace(str(password), "***")
        detail = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
        message = f"{self._database} at {self._location()}: {what} failed: {type(exc).__name__}: {detail}"
        if isinstance(exc, sa_exc.DBAPIError) and _is_access_denied(exc):
            return StoreAccessDeniedError(message)
        if isinstance(exc, sa_exc.DBAPIError) and any(word in detail.lower() for word in ("timeout", "timed out")):
            return BackendTimeoutError(message)
        if isinstance(exc, sa_exc.DBAPIError) and (exc.connection_invalidated or _is_connection_failure(exc)):
            return BackendUnavailableError(message)
        return _failure_class(exc)(message)

    def _run(self, operation: Callable[[Connection], _T], *, transaction: bool, what: str) -> _T:
        """Run *operation* on a connection, retrying transient failures.

        With *transaction*, the operation runs in one transaction. Without, the
        connection is in autocommit mode where that is cheap (PostgreSQL):
        a single statement is atomic by itself, and the ``BEGIN`` and ``ROLLBACK``
        round trips around it are saved. *what* names the operation in errors.
        A connection that the server dropped is retried on a new one, so the
        store works again as soon as the database is back.
        """
        delay = 0.01
        disconnects = 0
        for attempt in range(_ATTEMPTS):
            try:
                with self._lock:
                    if transaction or self._autocommit is self.bind:
                        with self.bind.begin() as connection:
                            return operation(connection)
                    with self._autocommit.connect() as connection:
                        return operation(connection)
            except sa_exc.SQLAlchemyError as exc:
                if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                    # The pool drops its stale connections: one more attempt reconnects. More would
                    # only multiply the wait for a dead or hung server (each up to a timeout).
                    disconnects += 1
                    retry = disconnects <= _RECONNECTS
                else:
                    retry = _is_transient(exc)
                if attempt + 1 < _ATTEMPTS and retry:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._fail(exc, what) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- statements ----------------------------------------------------------------------------

    @property
    def _dialect(self) -> str:
        return str(self.bind.dialect.name)

    def _upsert(self) -> Executable | None:
        """Return the single-statement upsert of one ``{"key", "value"}`` row, or None if the dialect has none."""
        if "upsert" not in self._statements:
            self._statements["upsert"] = _upsert(self.table, self._dialect, None)
        return self._statements["upsert"]  # type: ignore[no-any-return]

    # -- hooks -------------------------------------------------------------------------------

    def _get(self, key: str) -> bytes:
        query = self._statements["get"]
        row = self._run(
            lambda connection: connection.execute(query, {"k": key}).first(),
            transaction=False,
            what=_describe("get", [key]),
        )
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def _open(self, key: str) -> BinaryIO:
        return BytesValueFile(self._get(key))

    def _has_key(self, key: str) -> bool:
        query = self._statements["has"]
        return (
            self._run(
                lambda connection: connection.execute(query, {"k": key}).first(),
                transaction=False,
                what=_describe("contains", [key]),
            )
            is not None
        )

    def _delete(self, key: str) -> None:
        statement = self._statements["delete"]
        self._run(
            lambda connection: connection.execute(statement, {"k": key}),
            transaction=False,
            what=_describe("delete", [key]),
        )

    def _put(self, key: str, data: bytes) -> None:
        self._write_rows([{"key": key, "value": data}], "put")

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        # Drivers send a value whole: the file is read into memory first.
        data = file.read()
        self._put(key, data if isinstance(data, bytes) else bytes(data))

    def _write_rows(self, rows: list[dict[str, Any]], operation: str) -> None:
        for row in rows:
            _check_length(row["key"])
        upsert = self._upsert()
        if upsert is not None:
            # One row is one atomic statement; several rows share a transaction.
            params: Any = rows[0] if len(rows) == 1 else rows  # a list is an executemany
            self._run(
                lambda connection: connection.execute(upsert, params),
                transaction=len(rows) > 1,
                what=_describe(operation, [row["key"] for row in rows]),
            )
            return
        for row in rows:
            self._run(
                functools.partial(self._generic_upsert, row=row),
                transaction=True,
                what=_describe(operation, [row["key"]]),
            )

    def _generic_upsert(self, connection: Connection, row: dict[str, Any]) -> None:
        """Upsert on a dialect without an upsert statement: update, else insert (retried on a race)."""
        update = sa.update(self.table).where(self.table.c.key == row["key"]).values(value=row["value"])
        if connection.execute(update).rowcount == 0:
            connection.execute(sa.insert(self.table), row)  # a racing insert fails and the whole put is retried

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix* (``LIKE`` with ``%`` and ``_`` escaped).

        Raises
        ------
        OSError
            If the database fails.
        """
        if prefix and VALID_KEY_RE_EXTENDED.fullmatch(prefix) is None:
            # No key holds such a character; the database might refuse it (NUL, lone surrogates).
            return iter(())
        query = sa.select(self.table.c.key)
        if prefix:
            query = query.where(self.table.c.key.startswith(prefix, autoescape=True))
        keys = self._run(
            lambda connection: list(connection.execute(query).scalars()),
            transaction=False,
            what=_describe("keys", [prefix] if prefix else []),
        )
        # SQLite's LIKE ignores ASCII case; rows written by others may hold keys this store refuses.
        return iter([key for key in keys if key.startswith(prefix) and self._is_valid(key)])

    def _is_valid(self, key: str) -> bool:
        try:
            self._check_valid_key(key)
        except InvalidKeyError:
            return False
        return True

    # -- bulk operations -------------------------------------------------------------------------

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        query = self._statements["get_many"]

        def fetch(connection: Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for start in range(0, len(keys), _BATCH):
                for key, value in connection.execute(query, {"keys": keys[start : start + _BATCH]}):
                    found[key] = value if isinstance(value, bytes) else bytes(value)
            return found

        return self._run(fetch, transaction=False, what=_describe("get_many", keys))

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        self._write_rows([{"key": key, "value": data} for key, data in items.items()], "put_many")

    def _delete_many(self, keys: list[str]) -> None:
        statement = self._statements["delete_many"]

        def delete(connection: Connection) -> None:
            for start in range(0, len(keys), _BATCH):
                connection.execute(statement, {"keys": keys[start : start + _BATCH]})

        self._run(delete, transaction=True, what=_describe("delete_many", keys))

    # -- copy --------------------------------------------------------------------------------------

    def _copy(self, source: str, dest: str) -> None:
        """Copy with one ``INSERT ... SELECT`` upsert, inside the database."""
        _check_length(dest)
        column = self.table.c
        exists = sa.select(column.key).where(column.key == source)

        def copy(connection: Connection) -> bool:
            if source == dest:
                return connection.execute(exists).first() is not None
            statement = _upsert(self.table, self._dialect, (source, dest))
            if statement is not None and self._dialect in _ON_CONFLICT and self.bind.dialect.insert_returning:
                # The returned row says whether the source existed, in the same statement.
                return connection.execute(statement.returning(column.key)).first() is not None  # type: ignore[attr-defined]
            if statement is None:
                row = connection.execute(sa.select(column.value).where(column.key == source)).first()
                if row is None:
                    return False
                self._generic_upsert(connection, {"key": dest, "value": row[0]})
                return True
            if connection.execute(statement).rowcount > 0:
                return True
            # Drivers report -1 (unknown) or, on MySQL, 0 for an unchanged row: ask whether
            # the source exists, in the same transaction (so the copy happened if it does).
            return connection.execute(exists).first() is not None

        if not self._run(copy, transaction=True, what=_describe("copy", [source, dest])):
            raise KeyError(source)

    # -- URLs ------------------------------------------------------------------------------------------

    # Options other than "table" go to the database driver, so none is "extra".
    _url_options = None

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        """Return ``{"url": <SQLAlchemy URL>, "tablename": ...}`` for ``sql+<drivername>://...?table=name``.

        Query options other than ``table`` and ``create_if_missing`` are passed to
        the driver (for example ``sslmode=require``). The SQLAlchemy URL's ``repr``
        hides the password.
        """
        _, plus, drivername = url.scheme.partition("+")
        if not plus or not drivername:
            raise StoreUrlError("a SQL store URL names the database: sql+sqlite:///path.db, sql+postgresql://...")
        query = {key: value for key, value in url.query.items() if key not in ("table", "create_if_missing")}
        path = url.path
        database = path[1:] if path.startswith("/") else path
        sa_url = URL.create(
            drivername,
            username=url.username or None,
            password=url.password,
            host=url.host or None,
            port=url.port,
            database=database or None,
            query=query,
        )
        return {"url": sa_url, "tablename": check_table_name(url.query.get("table", DEFAULT_TABLE))}

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> SQLAlchemyStore:
        url = make_url(params["url"])
        tablename = check_table_name(params.get("tablename", params.get("table", DEFAULT_TABLE)))
        try:
            url.get_dialect()  # an unknown dialect fails here, before the options below ask for its driver
        except sa_exc.ArgumentError as exc:
            raise StoreUrlError(f"invalid SQL store URL: {str(exc).splitlines()[0]}") from exc
        options: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                # One in-memory database shared by all threads (the store serialises access).
                options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            elif not create_if_missing and not url.database.startswith("file:") and not os.path.exists(url.database):
                raise FileNotFoundError(f"SQLite database {url.database!r} does not exist (create_if_missing is false)")
        elif url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            # libpq waits for an unreachable or hung server without limit.
            options = {"connect_args": {"connect_timeout": _CONNECT_TIMEOUT}}
        elif url.get_driver_name() == "pymysql" and "read_timeout" not in url.query:
            # PyMySQL's connect timeout ends with the TCP connection: a server that accepts and
            # never greets (or answers) would be waited for without limit.
            options = {"connect_args": {"read_timeout": _READ_TIMEOUT, "write_timeout": _READ_TIMEOUT}}
        try:
            engine = sa.create_engine(url, **options)
        except sa_exc.ArgumentError as exc:  # an unknown dialect, or a URL it cannot use
            raise StoreUrlError(f"invalid SQL store URL: {str(exc).splitlines()[0]}") from exc
        store = cls(engine, sa.MetaData(), tablename)
        store._own_engine(options)
        try:
            store._prepare_table(create_if_missing)
        except TypeError as exc:  # the driver's connect() refused an option of the URL's query
            engine.dispose()
            raise StoreUrlError(f"the database driver refused an option of the store URL: {exc}") from exc
        except BaseException:
            engine.dispose()
            raise
        return store

    def _prepare_table(self, create: bool) -> None:
        def prepare(connection: Connection) -> None:
            if create:
                self.table.create(connection, checkfirst=True)
            elif not sa.inspect(connection).has_table(self.tablename):
                raise BackendError(
                    f"table {self.tablename!r} does not exist in {self._location()} (create_if_missing is false)"
                )

        try:
            self._run(prepare, transaction=True, what=f"preparing table {self.tablename!r}")
        except BackendError:
            # Another process may have created the table between the check and the CREATE.
            if not create or not self._run(
                lambda c: sa.inspect(c).has_table(self.tablename),
                transaction=False,
                what=f"preparing table {self.tablename!r}",
            ):
                raise


class HSQLAlchemyStore(ExtendedKeyspaceMixin, SQLAlchemyStore):
    """A :class:`SQLAlchemyStore` whose keys may hold ``/`` and spaces."""


def _upsert(table: sa.Table, dialect: str, copy: tuple[str, str] | None) -> Executable | None:
    """Build the dialect's one-statement upsert.

    Without *copy*: an insert of ``{"key", "value"}`` parameters. With *copy*
    ``(source, dest)``: ``INSERT INTO t SELECT dest, value FROM t WHERE key = source``.
    """
    column = table.c
    if dialect in _ON_CONFLICT:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(table)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(table)
    elif dialect in _MYSQL:
        statement = mysql.insert(table)
    else:
        return None
    if copy is not None:
        source, dest = copy
        rows = sa.select(sa.cast(sa.literal(dest, column.key.type), column.key.type).label("key"), column.value)
        statement = statement.from_select(["key", "value"], rows.where(column.key == source))
    if dialect in _ON_CONFLICT:
        return statement.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=[column.key], set_={"value": statement.excluded.value}
        )
    return statement.on_duplicate_key_update(value=statement.inserted.value)  # type: ignore[no-any-return]


def _any_key(column: Any, dialect: str) -> Any:
    """Return ``column`` matching any key of the list parameter ``keys``.

    PostgreSQL gets ``key = ANY(:keys)`` with one array parameter; other databases
    ``key IN (...)``, expanded to one parameter per key at execution.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam("keys", type_=ARRAY(sa.String)))
    return column.in_(sa.bindparam("keys", expanding=True))


def _check_length(key: str) -> None:
    if len(key) > KEY_LENGTH:
        raise InvalidKeyError(f"key of {len(key)} characters is too long for the SQL store (at most {KEY_LENGTH})")


def _is_access_denied(exc: sa_exc.DBAPIError) -> bool:
    """Return whether *exc* says the credentials or the privileges were refused."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("28000", "28P01", "42501"):  # PostgreSQL: bad authorization, bad password, no privilege
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1044, 1045, 1142, 1143, 1227, 1698):  # MySQL: access or command denied
        return True
    text = str(orig).lower()
    # libpq reports a refused login as a connection failure, without the SQLSTATE.
    return "password authentication failed" in text or ("role" in text and "does not exist" in text)


def _is_connection_failure(exc: sa_exc.DBAPIError) -> bool:
    """Return whether *exc* says the database could not be reached (refused, dropped, unknown host)."""
    orig = exc.orig
    args = getattr(orig, "args", ())
    if args and args[0] in (2002, 2003, 2006, 2013, 2055):  # MySQL: can't connect, server gone, lost connection
        return True
    text = str(orig).lower()
    return any(
        phrase in text
        for phrase in (
            "connection refused",
            "server closed the connection",
            "could not connect",
            "connection failed",
            "the connection is lost",
            "connection is closed",
        )
    )


def _is_transient(exc: sa_exc.SQLAlchemyError) -> bool:
    """Return whether *exc* is worth retrying: a deadlock, a lock timeout, a busy SQLite file, a race."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01"):  # PostgreSQL: serialization failure, deadlock
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1213, 1205):  # MySQL: deadlock, lock wait timeout
        return True
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return True
    # A racing insert on a dialect without an upsert statement.
    return isinstance(exc, sa_exc.IntegrityError)
