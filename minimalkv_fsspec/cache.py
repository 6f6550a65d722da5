"""CacheDecorator: read through a fast cache store, write to the backing store.

Reads try the cache first and fill it on a miss; writes go to the backing store
and then remove the key from the cache (write-invalidate), so the next read
fetches the new value. The cache is only ever an optimisation: any exception it
raises (a full disk, a lost connection, a key it cannot hold) makes the decorator
use the backing store alone for that call, and is logged once per decorator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import IO, Any, BinaryIO

from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore
from minimalkv_fsspec.decorator import TTL, StoreDecorator, _InnerCapability

__all__ = ["CacheDecorator"]

_log = logging.getLogger(__name__)


class CacheDecorator(StoreDecorator):
    """Keep copies of read values in *cache*; write and delete in *store*, then invalidate.

    * ``get``, ``get_many``, ``open`` and ``get_file`` read from the cache; on a
      miss they read from the backing store and put the value into the cache
      (``open`` and ``get_file`` stream it into the cache with ``put_file``).
    * ``put``, ``put_file``, ``put_many``, ``delete``, ``delete_many``, ``copy``
      and ``move`` change the backing store, then delete the keys they touched
      from the cache, even if the backing store failed.
    * ``in``, ``keys`` and ``iter_keys`` ask the backing store only.
    * A cache that raises anything but :class:`KeyError` is bypassed for that
      call; a value the cache cannot take is simply not cached.

    * If the backing store has a time to live (``ttl_support``), each cache hit
      is confirmed with one existence check in the backing store, so an expired
      value is never served; ``get_many`` then reads the backing store only.

    Known limits: a value read while another process writes it may be cached
    in its old version until it is written or deleted again through a
    decorator; there is no eviction (use a cache store with its own, such as
    Redis with ``maxmemory``); an invalidation that fails because the cache is
    down leaves the old value there for when it comes back.

    Parameters
    ----------
    cache
        The store that holds the copies, such as a
        :class:`~minimalkv_fsspec.memory.DictStore`. Its keyspace should include
        the backing store's (keys it refuses are never cached).
    store
        The backing store, which holds the values.
    """

    def __init__(self, cache: KeyValueStore, store: KeyValueStore) -> None:
        self.cache = cache
        self._cache_failed = False
        super().__init__(store)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.cache!r}, {self._dstore!r})"

    def close(self) -> None:
        """Close the backing store, then the cache (whose failure is ignored)."""
        try:
            self._dstore.close()
        finally:
            self._quietly(self.cache.close)

    # -- the cache, never fatal ----------------------------------------------------------

    def _cache_error(self, action: str) -> None:
        if not self._cache_failed:
            self._cache_failed = True
            _log.warning("cache %s failed; using the backing store alone for it", action, exc_info=True)
        else:
            _log.debug("cache %s failed", action, exc_info=True)

    def _quietly(self, action: Callable[..., Any], *args: Any) -> None:
        """Call *action* on the cache, ignoring (and logging) any failure."""
        try:
            action(*args)
        except Exception:
            self._cache_error(getattr(action, "__name__", "call"))

    def _invalidate(self, key: str) -> None:
        self._quietly(self.cache.delete, key)

    def _cacheable(self, keys: list[str]) -> list[str]:
        """Return the *keys* that the cache accepts (the others can never be cached)."""
        check = getattr(self.cache, "_check_valid_key", None)
        if check is None:
            return keys
        accepted = []
        for key in keys:
            try:
                check(key)
            except ValueError:
                continue
            accepted.append(key)
        return accepted

    def _bulk(self, action: Callable[[Any], Any], keys: list[str], argument: Any = None) -> Any:
        """Call the cache's bulk *action*; if it refuses a key, call it again without those keys.

        A bulk call fails whole when one key is outside the cache's keyspace: an
        invalidation must still reach the other keys, or they would go stale.
        """
        try:
            return action(keys if argument is None else argument)
        except ValueError:
            accepted = self._cacheable(keys)
            if len(accepted) == len(keys):
                raise
            if argument is not None:
                argument = {key: argument[key] for key in accepted}
            return action(accepted if argument is None else argument)

    def _invalidate_many(self, keys: list[str]) -> None:
        try:
            self._bulk(self.cache.delete_many, keys)
        except Exception:
            self._cache_error("delete_many")

    # -- reading ----------------------------------------------------------------------------

    def _expired(self, key: str) -> bool:
        """Return whether a cached *key* is gone from a backing store whose values expire.

        On a store with a time to live, values vanish without a write, so a cache
        hit is confirmed with one existence check (cheaper than fetching the value).
        """
        if self.ttl_support and not self._inner_has_key(key):
            self._invalidate(key)
            return True
        return False

    def _get(self, key: str) -> bytes:
        try:
            value = self.cache.get(key)
        except KeyError:
            pass
        except Exception:
            self._cache_error("get")
            return self._inner_get(key)
        else:
            if self.ttl_support and self._expired(key):
                raise KeyError(key)
            return value
        value = self._inner_get(key)
        self._quietly(self.cache.put, key, value)
        return value

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if not self.ttl_support:  # one bulk read beats an existence check per hit
            try:
                found = self._bulk(self.cache.get_many, keys)
            except Exception:
                self._cache_error("get_many")
        missing = [key for key in keys if key not in found]
        if missing:
            fetched = self._inner_get_many(missing)
            if fetched:
                self._quietly(self._bulk, self.cache.put_many, list(fetched), fetched)
            found.update(fetched)
        return found

    def _open_cached(self, key: str) -> tuple[BinaryIO, bool]:
        """Open *key* in the cache (filling it on a miss), or in the backing store.

        Returns the file and whether it comes from the cache.
        """
        try:
            cached = self.cache.open(key)
        except KeyError:
            pass
        except Exception:
            self._cache_error("open")
            return self._inner_open(key), False
        else:
            if self._expired(key):
                cached.close()
                raise KeyError(key)
            return cached, True
        source = self._inner_open(key)  # a missing key raises KeyError here
        try:
            with source:
                self.cache.put_file(key, source)
            return self.cache.open(key), True
        except Exception:
            self._cache_error("put_file")
            self._invalidate(key)  # a failed put_file may have left part of the value
        return self._inner_open(key), False

    def _open(self, key: str) -> BinaryIO:
        return self._open_cached(key)[0]

    def _copy_out(self, key: str, source: BinaryIO, cached: bool, target: IO[bytes]) -> int | None:
        """Copy *source* into *target*; return None if reading the cached copy failed, else the size.

        A failure to read the backing store, or to write *target*, is raised.
        """
        written = 0
        with source:
            while True:
                try:
                    chunk = source.read(CHUNK_SIZE)
                except Exception:
                    if not cached:
                        raise
                    self._cache_error("read")
                    self._invalidate(key)
                    return None
                if not chunk:
                    return written
                target.write(chunk)
                written += len(chunk)

    def _get_file(self, key: str, file: IO[bytes]) -> None:
        try:
            start: int | None = file.tell() if file.seekable() else None
        except (OSError, ValueError, AttributeError):
            start = None
        source, cached = self._open_cached(key)
        if self._copy_out(key, source, cached, file) is not None:
            return
        # The cached copy broke while it was read: start over from the backing store.
        if start is None:
            raise OSError(f"the cached copy of {key!r} could not be read, and the file cannot be rewound")
        file.seek(start)
        file.truncate()
        self._inner_get_file(key, file)

    def _get_filename(self, key: str, filename: str) -> None:
        source, cached = self._open_cached(key)
        with open(filename, "wb") as target:
            if self._copy_out(key, source, cached, target) is not None:
                return
        self._inner_get_filename(key, filename)

    # -- writing: backing store first, then invalidate ------------------------------------

    def _put(self, key: str, data: bytes, ttl_secs: TTL | None = None) -> None:
        try:
            super()._put(key, data, ttl_secs)
        finally:
            self._invalidate(key)

    def _put_file(self, key: str, file: IO[bytes], ttl_secs: TTL | None = None) -> None:
        try:
            super()._put_file(key, file, ttl_secs)
        finally:
            self._invalidate(key)

    def _put_filename(self, key: str, filename: str, ttl_secs: TTL | None = None) -> None:
        try:
            super()._put_filename(key, filename, ttl_secs)
        finally:
            self._invalidate(key)

    def _put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> None:
        try:
            super()._put_many(items, ttl_secs)
        finally:
            self._invalidate_many(list(items))

    def _delete(self, key: str) -> None:
        try:
            super()._delete(key)
        finally:
            self._invalidate(key)

    def _delete_many(self, keys: list[str]) -> None:
        try:
            super()._delete_many(keys)
        finally:
            self._invalidate_many(keys)

    @_InnerCapability
    def copy(self, source: str, dest: str) -> str:
        """Copy *source* to *dest* in the backing store, then invalidate *dest* (only if it can copy).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.copy` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        try:
            self._dstore.copy(source, dest)  # type: ignore[attr-defined]
        finally:
            self._invalidate(dest)
        return dest

    @_InnerCapability
    def move(self, source: str, dest: str) -> str:
        """Move *source* to *dest* in the backing store, then invalidate both (only if it can move).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.move` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        try:
            self._dstore.move(source, dest)  # type: ignore[attr-defined]
        finally:
            self._invalidate_many([source, dest])
        return dest
