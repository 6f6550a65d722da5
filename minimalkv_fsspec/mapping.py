"""KeyValueMapping: any key-value store as a ``MutableMapping[str, bytes]``.

The view is what zarr v2 (and other code that wants a dict of bytes) takes as a
store. Besides the mapping protocol it has the batch methods ``getitems``,
``setitems`` and ``delitems`` that zarr and fsspec's ``FSMap`` know, built on the
store's ``get_many``, ``put_many`` and ``delete_many`` (one MGET, one query, one
batch request where the backend has one)::

    >>> from minimalkv_fsspec.memory import DictStore
    >>> mapping = KeyValueMapping(DictStore())
    >>> mapping["a"] = b"1"
    >>> mapping.setitems({"b": b"2", "c": b"3"})
    >>> sorted(mapping), len(mapping)
    (['a', 'b', 'c'], 3)
    >>> mapping.getitems(["a", "missing"])
    {'a': b'1'}

Errors keep the store's contract: a missing key is :class:`KeyError`, an invalid
key :class:`ValueError` (``in`` answers False instead), a backend failure
:class:`OSError`. Writing through a read-only store raises :class:`PermissionError`.

This module imports nothing but the standard library, so it works without fsspec,
zarr or numpy installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from typing import TypeAlias

    from minimalkv_fsspec._store import KeyValueStore
    from minimalkv_fsspec.decorator import StoreDecorator

    StoreLike: TypeAlias = "KeyValueStore | StoreDecorator"

__all__ = ["KeyValueMapping"]

_CLEAR_BATCH = 1000
"""Keys deleted per ``delete_many`` call by :meth:`KeyValueMapping.clear`."""


class KeyValueMapping(MutableMapping[str, bytes]):
    """A ``MutableMapping[str, bytes]`` view of a store; changes go straight to the store.

    Parameters
    ----------
    store
        Any :class:`~minimalkv_fsspec.KeyValueStore` or store decorator. Stores
        without ``get_many``, ``put_many`` or ``delete_many`` get loops instead.

    Notes
    -----
    ``len()`` counts the keys, so it lists the whole store. Values may be given as
    any bytes-like object (``bytearray``, ``memoryview``, a numpy array); they are
    stored, and read back, as ``bytes``.
    """

    def __init__(self, store: StoreLike) -> None:
        self.store: StoreLike = store
        """The store this mapping shows."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    # -- the mapping protocol -----------------------------------------------------------

    def __getitem__(self, key: str) -> bytes:
        """Return the value under *key*.

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key for the store.
        OSError
            If the backend fails.
        """
        return bytes(self.store.get(key))

    def __setitem__(self, key: str, value: bytes) -> None:
        """Store *value* (bytes-like) under *key*.

        Raises
        ------
        TypeError
            If *value* is not bytes-like.
        ValueError
            If *key* is not a valid key for the store.
        PermissionError
            If the store is read-only.
        OSError
            If the backend fails.
        """
        data = _as_bytes(value)
        self._operation("put")(key, data)

    def __delitem__(self, key: str) -> None:
        """Delete the value under *key*.

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key for the store.
        PermissionError
            If the store is read-only.
        OSError
            If the backend fails.
        """
        delete = self._operation("delete")
        if key not in self.store:
            raise KeyError(key)
        delete(key)

    def __contains__(self, key: object) -> bool:
        """Return whether *key* is stored; False for anything that is not a valid key.

        Raises
        ------
        OSError
            If the backend fails.
        """
        if not isinstance(key, str):
            return False
        try:
            return key in self.store
        except ValueError:
            return False

    def __iter__(self) -> Iterator[str]:
        """Iterate over the store's keys, in no particular order."""
        return iter(self.store.iter_keys())

    def __len__(self) -> int:
        """Return the number of keys (by listing them all)."""
        return sum(1 for _ in self.store.iter_keys())

    def clear(self) -> None:
        """Delete every key, with ``delete_many`` in batches.

        Raises
        ------
        PermissionError
            If the store is read-only.
        OSError
            If the backend fails.
        """
        batch: list[str] = []
        for key in list(self.store.iter_keys()):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                self.delitems(batch)
                batch = []
        if batch:
            self.delitems(batch)

    # -- batches ------------------------------------------------------------------------

    @overload
    def getitems(
        self,
        keys: Iterable[str],
        *,
        contexts: Mapping[str, Any] | None = None,
        on_error: Literal["omit", "raise"] = "omit",
    ) -> dict[str, bytes]: ...

    @overload
    def getitems(
        self,
        keys: Iterable[str],
        *,
        contexts: Mapping[str, Any] | None = None,
        on_error: Literal["return"],
    ) -> dict[str, bytes | KeyError]: ...

    def getitems(
        self,
        keys: Iterable[str],
        *,
        contexts: Mapping[str, Any] | None = None,
        on_error: Literal["omit", "raise", "return"] = "omit",
    ) -> dict[str, bytes] | dict[str, bytes | KeyError]:
        """Return the values under *keys*, read with one ``get_many``.

        Parameters
        ----------
        keys
            The keys to read; duplicates are read once.
        contexts
            Ignored; accepted because zarr 2 passes it.
        on_error
            What a missing key does: ``"omit"`` leaves it out of the result (zarr's
            behaviour), ``"raise"`` raises :class:`KeyError`, ``"return"`` puts a
            :class:`KeyError` in as its value (fsspec ``FSMap``'s behaviour).

        Returns
        -------
        dict
            Key to value, in the order of *keys*.

        Raises
        ------
        KeyError
            If a key is missing and *on_error* is ``"raise"``.
        ValueError
            If a key is not valid for the store, or *on_error* is unknown.
        OSError
            If the backend fails.
        """
        if on_error not in ("omit", "raise", "return"):
            raise ValueError(f"on_error must be 'omit', 'raise' or 'return', not {on_error!r}")
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        get_many = getattr(self.store, "get_many", None)
        if get_many is not None:
            found: dict[str, bytes] = dict(get_many(wanted))
        else:
            found = {}
            for key in wanted:
                try:
                    found[key] = self.store.get(key)
                except KeyError:
                    pass
        if on_error == "return":
            return {key: found[key] if key in found else KeyError(key) for key in wanted}
        if on_error == "raise":
            for key in wanted:
                if key not in found:
                    raise KeyError(key)
        return {key: found[key] for key in wanted if key in found}

    def setitems(self, values: Mapping[str, bytes]) -> None:
        """Store every value (bytes-like) of *values* under its key, with one ``put_many``.

        Raises
        ------
        TypeError
            If a value is not bytes-like (checked before anything is written).
        ValueError
            If a key is not valid for the store (checked before anything is written).
        PermissionError
            If the store is read-only.
        OSError
            If the backend fails.
        """
        items = {key: _as_bytes(value) for key, value in values.items()}
        if not items:
            return
        put_many = getattr(self.store, "put_many", None)
        if put_many is not None:
            put_many(items)
            return
        put = self._operation("put")
        for key, data in items.items():
            put(key, data)

    def delitems(self, keys: Iterable[str]) -> None:
        """Delete the values under *keys* with one ``delete_many``; missing keys are no error.

        Raises
        ------
        ValueError
            If a key is not valid for the store.
        PermissionError
            If the store is read-only.
        OSError
            If the backend fails.
        """
        doomed = list(dict.fromkeys(keys))
        if not doomed:
            return
        delete_many = getattr(self.store, "delete_many", None)
        if delete_many is not None:
            delete_many(doomed)
            return
        delete = self._operation("delete")
        for key in doomed:
            delete(key)

    # -- helpers ------------------------------------------------------------------------

    def _operation(self, name: str) -> Callable[..., Any]:
        """Return the store's method *name*; a store without it (read-only) is a PermissionError."""
        try:
            method: Callable[..., Any] = getattr(self.store, name)
        except AttributeError as exc:
            raise PermissionError(f"the store does not allow {name!r}: it is read-only") from exc
        return method


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(f"values must be bytes-like, not {type(value).__name__}") from None
