"""RedisStore: one Redis string per key, through redis-py.

Redis has no streaming reads or writes: each value is sent and received whole,
so :meth:`RedisStore.open` holds the value in memory and ``put_file`` reads the
whole file before sending it. Keys are listed with ``SCAN MATCH`` (never
``KEYS``), with the glob characters of the prefix escaped.

Outages: redis-py reconnects by itself, so a store keeps working once the server
is back. A store made from a URL waits at most 5 s to connect and 5 s for each
answer (``socket_connect_timeout``, ``socket_timeout``) and retries a failed
command 3 times within about a second, so a dead server raises within a few
seconds; a client passed in keeps its own settings.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from minimalkv_fsspec._files import BytesValueFile
from minimalkv_fsspec._mixins import FOREVER, NOT_SET, CopyMixin, ExtendedKeyspaceMixin, TimeToLiveMixin
from minimalkv_fsspec._store import KeyValueStore
from minimalkv_fsspec.exceptions import (
    BackendError,
    InvalidKeyError,
    StoreAccessDeniedError,
    StoreUrlError,
    _describe,
    _failure_class,
)

if TYPE_CHECKING:
    import redis as redis_module

    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["HRedisStore", "RedisStore", "escape_glob"]

# Keys per MGET / DEL command and values per pipeline: bounds the size of one request.
_BATCH = 1000
_SCAN_COUNT = 1000
# Retries of a failed command by a store made from a URL.
_RETRIES = 3
_GLOB_SPECIAL = frozenset("*?[]\\")
# Connection keywords worth carrying through pickle; the rest are live objects
# (retry policies, handlers, locks) that the new client recreates with defaults.
_PICKLED_TYPES = (str, int, float, bool, bytes, type(None))
_SKIPPED_KWARGS = frozenset({"decode_responses", "encoding", "encoding_errors"})


def escape_glob(text: str) -> str:
    r"""Return *text* with Redis glob characters (``*?[]\``) escaped by a backslash.

    Parameters
    ----------
    text
        A literal key prefix.

    Returns
    -------
    str
        A pattern that matches *text* literally; append ``*`` for a prefix match.
    """
    return "".join("\\" + char if char in _GLOB_SPECIAL else char for char in text)


class RedisStore(TimeToLiveMixin, CopyMixin, KeyValueStore):
    """A store that keeps each value as a Redis string under its key.

    Values may expire (``put(key, data, ttl_secs=...)``): a positive ``int`` is sent
    as ``SET ... EX`` (seconds), a ``float`` as ``SET ... PX`` (milliseconds);
    :data:`FOREVER` and :data:`NOT_SET` send a plain ``SET``, which also removes an
    earlier expiry. Every value is held in memory whole (Redis has no streaming).

    Parameters
    ----------
    redis
        A ``redis.Redis`` client (``redis.StrictRedis`` is the same class). A client
        made with ``decode_responses=True`` is replaced by an equivalent one that
        returns bytes. The store pickles as the client's connection settings; a
        password only as a reference, which the process that pickled the store (or a
        forked child) resolves, and any other process cannot: there the copy
        connects without it.
    """

    def __init__(self, redis: redis_module.Redis) -> None:
        import redis as redis_module

        if not isinstance(redis, redis_module.Redis):
            raise TypeError(f"RedisStore needs a redis.Redis client, not {type(redis).__name__}")
        pool = redis.connection_pool
        if pool.connection_kwargs.get("decode_responses"):
            # Values are bytes: the store needs a client that does not decode them.
            redis = redis_module.Redis(
                connection_pool=redis_module.ConnectionPool(
                    connection_class=pool.connection_class, **_settings(pool.connection_kwargs)
                )
            )
        self.redis = redis
        self._has_copy_command: bool | None = None

    # -- identity, pickling ---------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._location()!r})"

    def __getstate__(self) -> dict[str, Any]:
        pool = self.redis.connection_pool
        skipped = ("redis", "_has_copy_command", "_password_secrets")
        state = {key: value for key, value in self.__dict__.items() if key not in skipped}
        settings = _settings(pool.connection_kwargs)
        # Passwords travel as a reference that this process (and its forks) resolves while the store lives.
        hidden = {name: settings.pop(name) for name in list(settings) if "password" in name and settings[name]}
        state["_connection"] = (pool.connection_class, settings)
        if hidden:
            if self.__dict__.get("_password_secrets") is None:
                from minimalkv_fsspec.backends.adapters.generic import Secrets

                self._password_secrets = Secrets(hidden)
            state["_secrets"] = self._password_secrets
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import redis as redis_module

        connection_class, settings = state.pop("_connection")
        secrets = state.pop("_secrets", None)
        if secrets is not None:
            settings.update(secrets.as_dict())
            self._password_secrets = secrets
        self.__dict__.update(state)
        self.redis = redis_module.Redis(
            connection_pool=redis_module.ConnectionPool(connection_class=connection_class, **settings)
        )
        self._has_copy_command = None

    def close(self) -> None:
        """Disconnect the client's connections; the store reconnects if used again."""
        self.redis.connection_pool.disconnect()

    def _location(self) -> str:
        """Describe the server without credentials: ``redis://host:port/db``."""
        kwargs = self.redis.connection_pool.connection_kwargs
        scheme = "rediss" if "SSL" in self.redis.connection_pool.connection_class.__name__ else "redis"
        if kwargs.get("path"):
            return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
        return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

    @contextmanager
    def _errors(self, operation: str, *keys: str) -> Iterator[None]:
        """Turn redis-py's errors into :class:`BackendError` naming Redis, *operation* and its keys.

        A lost or refused connection becomes a :class:`BackendUnavailableError`, a
        timeout a :class:`BackendTimeoutError`, a refused password or permission a
        :class:`StoreAccessDeniedError`; credentials never reach the message.
        """
        import redis as redis_module

        try:
            yield
        except redis_module.RedisError as exc:
            message = str(exc)
            password = self.redis.connection_pool.connection_kwargs.get("password")
            if password:
                message = message.replace(str(password), "***")
            what = _describe(operation, keys)
            refused = (redis_module.AuthenticationError, redis_module.exceptions.NoPermissionError)
            kind = StoreAccessDeniedError if isinstance(exc, refused) else _failure_class(exc)
            raise kind(f"Redis at {self._location()}: {what} failed: {type(exc).__name__}: {message}") from exc

    # -- hooks -------------------------------------------------------------------------

    def _get(self, key: str) -> bytes:
        with self._errors("get", key):
            value = self.redis.get(key)
        if value is None:
            raise KeyError(key)
        return _as_bytes(value)

    def _open(self, key: str) -> BinaryIO:
        return BytesValueFile(self._get(key))

    def _has_key(self, key: str) -> bool:
        with self._errors("contains", key):
            return bool(self.redis.exists(key))

    def _delete(self, key: str) -> None:
        with self._errors("delete", key):
            self.redis.delete(key)

    def _put(self, key: str, data: bytes, ttl_secs: int | float | str = NOT_SET) -> None:
        seconds, milliseconds = _expiry(ttl_secs)
        with self._errors("put", key):
            self.redis.set(key, data, ex=seconds, px=milliseconds)

    def _put_file(self, key: str, file: IO[bytes], ttl_secs: int | float | str = NOT_SET) -> None:
        # A Redis value is sent whole: the file is read into memory first.
        data = file.read()
        if not isinstance(data, bytes):
            data = bytes(data)
        self._put(key, data, ttl_secs)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, using ``SCAN MATCH``.

        Keys in the database that are not valid keys of this store are skipped.

        Raises
        ------
        OSError
            If the server fails.
        """
        pattern = escape_glob(prefix) + "*"
        seen: set[bytes | str] = set()  # SCAN may return a key more than once
        cursor = 0
        while True:
            with self._errors("keys", *([prefix] if prefix else [])):
                cursor, batch = self.redis.scan(cursor, match=pattern, count=_SCAN_COUNT)
            for raw in batch:
                if raw in seen:
                    continue
                seen.add(raw)
                key = _decode_key(raw)
                if key is not None and key.startswith(prefix) and self._is_valid(key):
                    yield key
            if not cursor:
                return

    def _is_valid(self, key: str) -> bool:
        try:
            self._check_valid_key(key)
        except InvalidKeyError:
            return False
        return True

    # -- bulk operations ------------------------------------------------------------------

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            with self._errors("get_many", *chunk):
                # The client never decodes responses (see __init__): values are bytes or None.
                values = cast("list[bytes | None]", self.redis.mget(chunk))
            found.update((key, value) for key, value in zip(chunk, values, strict=True) if value is not None)
        return found

    def _put_many(self, items: Mapping[str, bytes], ttl_secs: int | float | str = NOT_SET) -> None:
        if not items:
            return
        seconds, milliseconds = _expiry(ttl_secs)
        # One MULTI/EXEC transaction: either every value is written or none.
        with self._errors("put_many", *items), self.redis.pipeline(transaction=True) as pipe:
            for key, data in items.items():
                pipe.set(key, data, ex=seconds, px=milliseconds)
            pipe.execute()

    def _delete_many(self, keys: list[str]) -> None:
        with self._errors("delete_many", *keys), self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(keys), _BATCH):
                pipe.delete(*keys[start : start + _BATCH])
            pipe.execute()

    # -- copy and move ----------------------------------------------------------------------

    def _copy(self, source: str, dest: str) -> None:
        """Copy with ``COPY ... REPLACE`` (Redis >= 6.2), else ``DUMP``/``RESTORE``; the expiry is copied too."""
        if source == dest:
            if not self._has_key(source):
                raise KeyError(source)
            return
        if self._copy_command_available():
            with self._errors("copy", source, dest):
                copied = self.redis.copy(source, dest, replace=True)
            if not copied:
                raise KeyError(source)
            return
        with self._errors("copy", source, dest), self.redis.pipeline(transaction=True) as pipe:
            pipe.dump(source)
            pipe.pttl(source)
            payload, pttl = pipe.execute()
            if payload is None:
                raise KeyError(source)
            self.redis.restore(dest, max(int(pttl), 0), payload, replace=True)

    def _move(self, source: str, dest: str) -> None:
        """Move with ``RENAME``, which is atomic and keeps the expiry."""
        import redis as redis_module

        if source == dest:
            if not self._has_key(source):
                raise KeyError(source)
            return
        try:
            with self._errors("move", source, dest):
                self.redis.rename(source, dest)
        except BackendError as exc:
            cause = exc.__cause__
            if isinstance(cause, redis_module.ResponseError) and "no such key" in str(cause).lower():
                raise KeyError(source) from None
            raise

    def _copy_command_available(self) -> bool:
        if self._has_copy_command is None:
            with self._errors("copy"):
                version = str(self.redis.info("server").get("redis_version", "0"))
            numbers_ = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
            self._has_copy_command = numbers_ >= (6, 2)
        return self._has_copy_command

    # -- URLs -----------------------------------------------------------------------------

    _url_options = ("db", "socket_timeout", "socket_connect_timeout", "ssl_cert_reqs", "ssl_ca_certs")

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        """Return the parameters of ``redis://[[username:]password@]host[:port][/db]``.

        ``redis://secret@host`` names a password only, as in minimalkv;
        ``redis://user:secret@host`` names a username and a password (Redis 6 ACL).
        """
        params: dict[str, Any] = {"host": url.host or "localhost"}
        if url.port is not None:
            params["port"] = url.port
        if url.username is not None:
            if url.password is None:
                params["password"] = url.username
            else:
                if url.username:
                    params["username"] = url.username
                params["password"] = url.password
        db_text = url.path.strip("/") or url.query.get("db", "")
        if db_text:
            try:
                params["db"] = int(db_text)
            except ValueError:
                raise StoreUrlError(f"the Redis database must be a number, not {db_text!r}") from None
        for option in ("socket_timeout", "socket_connect_timeout"):
            if option in url.query:
                try:
                    params[option] = float(url.query[option])
                except ValueError:
                    raise StoreUrlError(f"option {option!r} must be a number of seconds") from None
        if url.scheme.endswith("rediss"):
            params["ssl"] = True
            for option in ("ssl_cert_reqs", "ssl_ca_certs"):
                if option in url.query:
                    params[option] = url.query[option]
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> RedisStore:
        import redis as redis_module
        from redis.backoff import ExponentialWithJitterBackoff
        from redis.retry import Retry

        # Redis has nothing to create: a database exists as soon as it is written to.
        allowed = {
            "host",
            "port",
            "db",
            "username",
            "password",
            "ssl",
            "ssl_cert_reqs",
            "ssl_ca_certs",
            "socket_timeout",
            "socket_connect_timeout",
        }
        kwargs = {key: value for key, value in params.items() if key in allowed}
        # redis-py retries 10 times by default, which keeps a caller waiting on a dead
        # (or hung: 11 socket timeouts) server far longer than a key-value call should.
        kwargs["retry"] = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), _RETRIES)
        return cls(redis_module.Redis(**kwargs))


class HRedisStore(ExtendedKeyspaceMixin, RedisStore):
    """A :class:`RedisStore` whose keys may hold ``/`` and spaces."""


def _expiry(ttl_secs: int | float | str) -> tuple[int | None, int | None]:
    """Return ``SET``'s ``EX`` (seconds) and ``PX`` (milliseconds) for a checked time to live."""
    if ttl_secs in (FOREVER, NOT_SET) or isinstance(ttl_secs, str):
        return None, None
    if isinstance(ttl_secs, numbers.Integral):
        return int(ttl_secs), None
    seconds = float(ttl_secs)
    if not math.isfinite(seconds):  # the mixin lets nan and inf through
        raise ValueError(f"ttl_secs must be a finite number of seconds, not {ttl_secs!r}")
    return None, max(1, round(seconds * 1000))


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return the plain, picklable connection settings of a pool's keywords."""
    return {
        key: value
        for key, value in kwargs.items()
        if isinstance(value, _PICKLED_TYPES) and not key.startswith("orig_") and key not in _SKIPPED_KWARGS
    }


def _decode_key(raw: bytes | str) -> str | None:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None
