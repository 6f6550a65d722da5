"""Store decorators: wrap a store to change its keys or restrict what can be done.

A decorator forwards every call it does not change to the store it wraps (its
``_dstore``), including attributes it does not know, so ``ttl_support``, ``url_for``,
``copy`` and backend-specific attributes stay reachable through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO
from urllib.parse import quote_plus, unquote_plus

__all__ = [
    "KeyTransformingDecorator",
    "PrefixDecorator",
    "ReadOnlyDecorator",
    "StoreDecorator",
    "URLEncodeKeysDecorator",
]


class StoreDecorator:
    """Forward everything to the wrapped store; subclasses override what they change.

    Parameters
    ----------
    store
        The store to wrap.
    """

    def __init__(self, store: Any) -> None:
        self._dstore = store

    def __getattr__(self, attr: str) -> Any:
        if attr == "_dstore":  # not set yet, e.g. while unpickling
            raise AttributeError(attr)
        return getattr(self._dstore, attr)

    def __contains__(self, key: str) -> bool:
        """Return whether *key* is in the wrapped store."""
        return key in self._dstore

    def __iter__(self) -> Iterator[str]:
        """Iterate over the wrapped store's keys."""
        return self.iter_keys()

    def __enter__(self) -> StoreDecorator:
        """Return the decorator; leaving the block closes the wrapped store."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the wrapped store."""
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dstore!r})"

    def close(self) -> None:
        """Close the wrapped store."""
        self._dstore.close()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the wrapped store's keys that start with *prefix*."""
        return self._dstore.iter_keys(prefix)  # type: ignore[no-any-return]

    def keys(self, prefix: str = "") -> list[str]:
        """Return a list of the keys that start with *prefix*."""
        return list(self.iter_keys(prefix))

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the distinct prefixes up to the first *delimiter* after *prefix*."""
        return self._dstore.iter_prefixes(delimiter, prefix)  # type: ignore[no-any-return]


class KeyTransformingDecorator(StoreDecorator):
    """A decorator that maps each key before passing it on, and back when listing.

    Subclasses implement :meth:`_map_key`, :meth:`_unmap_key` and optionally
    :meth:`_filter` (which stored keys belong to this view).
    """

    def _map_key(self, key: str) -> str:
        """Return the wrapped store's key for the caller's *key*."""
        return key

    def _unmap_key(self, key: str) -> str:
        """Return the caller's key for the wrapped store's *key*."""
        return key

    def _map_key_prefix(self, prefix: str) -> str:
        """Return the wrapped store's prefix that covers the caller's *prefix*."""
        return self._map_key(prefix)

    def _filter(self, key: str) -> bool:
        """Return whether the wrapped store's *key* belongs to this view."""
        return True

    def __contains__(self, key: str) -> bool:
        """Return whether *key* is stored."""
        return self._map_key(key) in self._dstore

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the (unmapped) keys that start with *prefix*."""
        stored_prefix = self._map_key_prefix(prefix) if prefix else self._map_key_prefix("")
        for key in self._dstore.iter_keys(stored_prefix):
            if self._filter(key):
                unmapped = self._unmap_key(key)
                if unmapped.startswith(prefix):
                    yield unmapped

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the distinct (unmapped) prefixes up to the first *delimiter* after *prefix*."""
        seen: set[str] = set()
        start = len(prefix)
        for key in self.iter_keys(prefix):
            position = key.find(delimiter, start)
            candidate = key if position < 0 else key[: position + len(delimiter)]
            if candidate not in seen:
                seen.add(candidate)
                yield candidate

    def delete(self, key: str) -> Any:
        """Delete *key*."""
        return self._dstore.delete(self._map_key(key))

    def get(self, key: str) -> bytes:
        """Return the value under *key*."""
        return self._dstore.get(self._map_key(key))  # type: ignore[no-any-return]

    def get_file(self, key: str, file: str | BinaryIO) -> str:
        """Write the value under *key* to *file*."""
        self._dstore.get_file(self._map_key(key), file)
        return key

    def open(self, key: str) -> BinaryIO:
        """Open the value under *key*."""
        return self._dstore.open(self._map_key(key))  # type: ignore[no-any-return]

    def put(self, key: str, data: bytes, *args: Any, **kwargs: Any) -> str:
        """Store *data* under *key*; returns the caller's key."""
        self._dstore.put(self._map_key(key), data, *args, **kwargs)
        return key

    def put_file(self, key: str, file: str | BinaryIO, *args: Any, **kwargs: Any) -> str:
        """Store *file* under *key*; returns the caller's key."""
        self._dstore.put_file(self._map_key(key), file, *args, **kwargs)
        return key

    def copy(self, source: str, dest: str) -> str:
        """Copy *source* to *dest* in the wrapped store; returns the caller's *dest*."""
        self._dstore.copy(self._map_key(source), self._map_key(dest))
        return dest

    def move(self, source: str, dest: str) -> str:
        """Move *source* to *dest* in the wrapped store; returns the caller's *dest*."""
        self._dstore.move(self._map_key(source), self._map_key(dest))
        return dest

    def url_for(self, key: str) -> str:
        """Return the wrapped store's URL for *key*."""
        return self._dstore.url_for(self._map_key(key))  # type: ignore[no-any-return]

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the values under *keys*; missing keys are left out."""
        mapped = {self._map_key(key): key for key in keys}
        return {mapped[key]: value for key, value in self._dstore.get_many(list(mapped)).items()}

    def put_many(self, items: Mapping[str, bytes], *args: Any, **kwargs: Any) -> list[str]:
        """Store every value of *items*; returns the caller's keys."""
        self._dstore.put_many({self._map_key(key): data for key, data in items.items()}, *args, **kwargs)
        return list(items)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete *keys*."""
        self._dstore.delete_many([self._map_key(key) for key in keys])


class PrefixDecorator(KeyTransformingDecorator):
    """Store every key as ``prefix + key``, so several users can share one store.

    Parameters
    ----------
    prefix
        Prepended to every key.
    store
        The store to wrap.
    """

    def __init__(self, prefix: str, store: Any) -> None:
        super().__init__(store)
        self.prefix = prefix

    def _check_valid_key(self, key: Any) -> None:
        self._dstore._check_valid_key(key)

    def _map_key(self, key: str) -> str:
        self._check_valid_key(key)
        return self.prefix + key

    def _map_key_prefix(self, prefix: str) -> str:
        return self.prefix + prefix

    def _unmap_key(self, key: str) -> str:
        return key[len(self.prefix) :]

    def _filter(self, key: str) -> bool:
        return key.startswith(self.prefix)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, {self._dstore!r})"


class URLEncodeKeysDecorator(KeyTransformingDecorator):
    """URL-encode keys (``quote_plus`` of UTF-8), so any text works as a key on a strict store."""

    def _map_key(self, key: str) -> str:
        if not isinstance(key, str):
            raise ValueError(f"key must be a str, not {type(key).__name__}")
        return quote_plus(key.encode("utf-8"))

    def _map_key_prefix(self, prefix: str) -> str:
        return quote_plus(prefix.encode("utf-8"))

    def _unmap_key(self, key: str) -> str:
        return unquote_plus(key)


class ReadOnlyDecorator(StoreDecorator):
    """Allow only reading: writing methods raise :class:`AttributeError`, as in minimalkv."""

    _READ_ONLY = frozenset(
        {"get", "iter_keys", "keys", "open", "get_file", "get_many", "iter_prefixes", "close", "url_for",
         "ttl_support", "_check_valid_key"}
    )

    def __getattr__(self, attr: str) -> Any:
        if attr == "_dstore":
            raise AttributeError(attr)
        if attr in ("put", "put_file", "delete", "copy", "move", "put_many", "delete_many") or (
            not attr.startswith("__") and attr.startswith("_") and attr not in self._READ_ONLY
        ):
            raise AttributeError(f"{attr!r} is not available: the store is read-only")
        return getattr(self._dstore, attr)

    def get(self, key: str) -> bytes:
        """Return the value under *key*."""
        return self._dstore.get(key)  # type: ignore[no-any-return]

    def open(self, key: str) -> BinaryIO:
        """Open the value under *key*."""
        return self._dstore.open(key)  # type: ignore[no-any-return]

    def get_file(self, key: str, file: str | BinaryIO) -> str:
        """Write the value under *key* to *file*."""
        return self._dstore.get_file(key, file)  # type: ignore[no-any-return]

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the values under *keys*; missing keys are left out."""
        return self._dstore.get_many(keys)  # type: ignore[no-any-return]
