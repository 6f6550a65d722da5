"""Store decorators: wrap a store to change its keys or restrict what can be done.

A decorator is itself a :class:`~minimalkv_fsspec.KeyValueStore` (unlike in
minimalkv, where ``StoreDecorator`` is a plain object), so ``isinstance`` checks
and type hints that expect a store accept a decorated one. It forwards every call
it does not change to the store it wraps, kept in ``_dstore``:

* the whole public API, including the bulk operations ``get_many``, ``put_many``
  and ``delete_many`` (forwarded as one bulk call, never as a loop of single calls);
* ``ttl_support``, ``default_ttl_secs`` and ``ttl_secs`` arguments of ``put``,
  ``put_file`` and ``put_many``;
* ``copy``, ``move`` and ``url_for``, which exist on the decorator exactly when
  they exist on the wrapped store;
* ``close()`` and the context manager;
* any other attribute (``store.d``, ``store.root``) through ``__getattr__``.

Writing a decorator
-------------------
Subclass :class:`StoreDecorator` and override the same protected hooks a store
implements (``_get``, ``_open``, ``_put``, ``_put_file``, ...): the public methods
validate keys and values first, then call the hooks, as in
:class:`~minimalkv_fsspec.KeyValueStore`. Hooks built on an overridden hook
follow it (override ``_open`` and ``get``, ``get_file`` and ``get_many`` read
through it; see :meth:`StoreDecorator.__init_subclass__`). A decorator that maps
keys subclasses :class:`KeyTransformingDecorator` and implements ``_map_key`` and
``_unmap_key``.

Speed
-----
When the wrapped store validates keys with the standard rules and the decorator
guarantees that the keys it hands down are valid, a decorator calls the wrapped
store's hooks directly instead of its public methods, so a key is validated once,
not once per layer. Otherwise (a store with its own key rules, a store overriding
a public method, a store that is not a :class:`~minimalkv_fsspec.KeyValueStore`)
it calls the public methods. ``get``, the hottest call, is bound per instance to
a closure (or straight to the wrapped store's ``get``), because a class with
``__getattr__`` makes every attribute lookup on its instances slower.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator, Mapping
from io import BytesIO
from typing import IO, Any, BinaryIO, TypeVar
from urllib.parse import quote_plus, unquote_plus

from minimalkv_fsspec._keys import check_extended_key, check_key
from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec._store import KeyValueStore, _check_value
from minimalkv_fsspec.backends.native.memory import DictStore
from minimalkv_fsspec.exceptions import InvalidKeyError

__all__ = [
    "KeyTransformingDecorator",
    "PrefixDecorator",
    "ReadOnlyDecorator",
    "StoreDecorator",
    "URLEncodeKeysDecorator",
]

TTL = int | float | str
"""A time to live: seconds, :data:`~minimalkv_fsspec.FOREVER` or :data:`~minimalkv_fsspec.NOT_SET`."""

# How many validated keys PrefixDecorator.get remembers (a few MiB at most).
_STORED_KEYS_REMEMBERED = 10_000

# The key rules whose behaviour the decorators know (see _follows_stock_key_rules).
_STOCK_KEY_CHECKS = frozenset({KeyValueStore._check_valid_key, ExtendedKeyspaceMixin._check_valid_key})


class _InnerCapability:
    """A method that exists on a decorator only if the wrapped store has it too.

    ``hasattr(decorator, "copy")`` is then true exactly when ``hasattr(store, "copy")``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self._name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        store = instance.__dict__.get("_dstore")
        if not hasattr(store, self._name):
            raise AttributeError(f"{type(store).__name__} has no {self._name!r}, so {type(instance).__name__} has none")
        return types.MethodType(self._func, instance)


class _Unavailable:
    """An attribute that does not exist on this class, though a base class defines it."""

    def __init__(self, reason: str) -> None:
        self._reason = reason
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        raise AttributeError(f"{self._name!r} is not available: {self._reason}")


def _missing(store: Any, name: str) -> Callable[..., Any]:
    """Return a callable that raises the :class:`AttributeError` that ``store.name`` raises."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(store, name)(*args, **kwargs)

    return call


def _resolve_check(store: Any) -> Callable[[Any], None]:
    """Return the function that validates keys for *store*, skipping layers that only forward."""
    check = getattr(type(store), "_check_valid_key", None)
    if check is KeyValueStore._check_valid_key:
        return check_key
    if check is ExtendedKeyspaceMixin._check_valid_key:
        return check_extended_key
    if check is StoreDecorator._check_valid_key and "_inner_check" in store.__dict__:
        return store.__dict__["_inner_check"]  # type: ignore[no-any-return]
    return getattr(store, "_check_valid_key", check_key)


_F = TypeVar("_F", bound=Callable[..., Any])


def _forwarding(hook: _F) -> _F:
    """Mark *hook* as one that only hands its call to the wrapped store (see ``__init_subclass__``)."""
    hook._forwards_to_wrapped_store = True  # type: ignore[attr-defined]
    return hook


def _is_forwarding(hook: Any) -> bool:
    return getattr(hook, "_forwards_to_wrapped_store", False) is True


def _follows_stock_key_rules(store: Any) -> bool:
    """Return whether *store* validates keys with the standard or extended key rules only."""
    while True:
        check = getattr(type(store), "_check_valid_key", None)
        if check in _STOCK_KEY_CHECKS:
            return True
        if isinstance(store, StoreDecorator) and check is StoreDecorator._check_valid_key:
            store = store._dstore
            continue
        return False


class StoreDecorator(KeyValueStore):
    """A store that wraps another store and forwards everything it does not change.

    Subclasses override the protected hooks (``_get``, ``_open``, ``_put``, ...)
    whose behaviour they change; the public methods validate keys and values and
    then call those hooks, as in :class:`~minimalkv_fsspec.KeyValueStore`.

    Parameters
    ----------
    store
        The store to wrap, kept as ``_dstore``.
    """

    # Attributes bound in _bind(): the wrapped store's hook, or its public method.
    _ROUTES: tuple[tuple[str, str, str], ...] = (
        ("_inner_get", "get", "_get"),
        ("_inner_open", "open", "_open"),
        ("_inner_get_file", "get_file", "_get_file"),
        ("_inner_get_filename", "get_file", "_get_filename"),
        ("_inner_has_key", "__contains__", "_has_key"),
        ("_inner_delete", "delete", "_delete"),
        ("_inner_put", "put", "_put"),
        ("_inner_put_file", "put_file", "_put_file"),
        ("_inner_put_filename", "put_file", "_put_filename"),
        ("_inner_get_many", "get_many", "_get_many"),
        ("_inner_put_many", "put_many", "_put_many"),
        ("_inner_delete_many", "delete_many", "_delete_many"),
    )

    _inner_check: Callable[[Any], None]
    _inner_get: Callable[[str], bytes]
    _inner_open: Callable[[str], BinaryIO]
    _inner_get_file: Callable[[str, Any], Any]
    _inner_get_filename: Callable[[str, str], Any]
    _inner_has_key: Callable[[str], bool]
    _inner_delete: Callable[[str], Any]
    _inner_put: Callable[[str, bytes], Any]
    _inner_put_file: Callable[[str, Any], Any]
    _inner_put_filename: Callable[[str, str], Any]
    _inner_get_many: Callable[[list[str]], dict[str, bytes]]
    _inner_put_many: Callable[[Mapping[str, bytes]], Any]
    _inner_delete_many: Callable[[list[str]], Any]

    def __init__(self, store: KeyValueStore) -> None:
        self._dstore = store
        self._bind()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep a subclass consistent when it overrides only some hooks.

        A subclass that overrides ``_open`` but not ``_get`` would otherwise see
        ``get`` bypass its ``_open``: each hook built on another one (``_get`` on
        ``_open``, ``_get_many`` on ``_get``, ``_put`` on ``_put_file``, ...) that
        the subclass leaves forwarding is built on the subclass's hook instead.
        """
        super().__init_subclass__(**kwargs)
        for primary, dependents in _DEPENDENT_HOOKS:
            if _is_forwarding(_class_attribute(cls, primary)):
                continue
            for name, built_on_primary in dependents:
                if _is_forwarding(_class_attribute(cls, name)):
                    setattr(cls, name, built_on_primary)

    # -- wiring ---------------------------------------------------------------------

    def _keys_stay_valid(self) -> bool:
        """Return whether every key handed to the wrapped store is valid there.

        The default is true: a :class:`StoreDecorator` validates keys with the
        wrapped store's own rules and hands them down unchanged.
        """
        return True

    def _bind(self) -> None:
        """Pick, per operation, the wrapped store's hook or its public method."""
        store = self._dstore
        self.ttl_support = bool(getattr(store, "ttl_support", False))
        self._inner_check = _resolve_check(store)
        use_hooks = isinstance(store, KeyValueStore) and self._keys_stay_valid()
        cls = type(store)
        for attribute, public, hook in self._ROUTES:
            if use_hooks and getattr(cls, public, None) in _STOCK_PUBLIC[public]:
                route = getattr(store, hook)
            else:
                try:
                    route = getattr(store, public)
                except AttributeError:
                    route = _missing(store, public)
            setattr(self, attribute, route)
        self._inner_get_is_hook = use_hooks and getattr(cls, "get", None) in _STOCK_PUBLIC["get"]
        # A class with __getattr__ loses CPython's attribute caching, so each
        # attribute access on a decorator costs more than on a store. For the
        # hottest call, get(), bind a closure that touches no attribute of self.
        self.__dict__.pop("get", None)
        if type(self).get is KeyValueStore.get and type(self)._check_valid_key is StoreDecorator._check_valid_key:
            fast_get = self._fast_get()
            if fast_get is not None:
                self.__dict__["get"] = fast_get

    def _fast_get(self) -> Callable[[str], bytes] | None:
        """Return a function equivalent to ``self.get``, or None if there is none faster.

        Called only when the class keeps the inherited ``get`` and ``_check_valid_key``;
        a subclass that overrides ``_get`` gets None unless it overrides this too.
        """
        if type(self)._get is not StoreDecorator._get:
            return None
        # Validating with the wrapped store's rules, then calling its hook or its
        # public get, is what the wrapped store's own get does.
        inner_get: Callable[[str], bytes] | None = getattr(self._dstore, "get", None)
        return inner_get

    def __getattr__(self, attr: str) -> Any:
        """Return the wrapped store's attribute *attr*."""
        if attr.startswith("__") or attr.startswith("_inner_") or attr == "_dstore":
            raise AttributeError(attr)
        try:
            store = self.__dict__["_dstore"]
        except KeyError:  # not set yet, e.g. while unpickling
            raise AttributeError(attr) from None
        return getattr(store, attr)

    def __getstate__(self) -> dict[str, Any]:
        """Return the state to pickle: the instance's attributes without the bound routes."""
        state = dict(self.__dict__)
        for attribute in [name for name in state if name.startswith("_inner_")]:
            del state[attribute]
        state.pop("get", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore the pickled *state* and bind the routes again."""
        self.__dict__.update(state)
        self._bind()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dstore!r})"

    # -- time to live -------------------------------------------------------------------

    @property
    def default_ttl_secs(self) -> TTL:
        """The wrapped store's default time to live (only if it supports one).

        Raises
        ------
        AttributeError
            If the wrapped store has no time to live.
        """
        return self._dstore.default_ttl_secs  # type: ignore[attr-defined, no-any-return]

    @default_ttl_secs.setter
    def default_ttl_secs(self, value: TTL) -> None:
        if not self.ttl_support:
            raise AttributeError(f"{type(self._dstore).__name__} has no time to live")
        self._dstore.default_ttl_secs = value  # type: ignore[attr-defined]

    def _check_ttl(self, ttl_secs: TTL | None) -> None:
        if ttl_secs is not None and not self.ttl_support:
            raise TypeError(f"{type(self._dstore).__name__} does not support ttl_secs")

    # -- public API (with ttl_secs) ----------------------------------------------------

    def close(self) -> None:
        """Close the wrapped store."""
        self._dstore.close()

    def put(self, key: str, data: bytes, ttl_secs: TTL | None = None) -> str:
        """Store *data* under *key*, replacing any value stored there.

        Parameters
        ----------
        key
            The key.
        data
            The value.
        ttl_secs
            The time to live, if the wrapped store supports one (``ttl_support``);
            None means the store's default.

        Returns
        -------
        str
            The key.

        Raises
        ------
        ValueError
            If *key* or *ttl_secs* is not valid.
        TypeError
            If *ttl_secs* is given but the wrapped store has no time to live.
        OSError
            If *data* is not ``bytes`` or the backend fails.
        """
        self._check_valid_key(key)
        _check_value(data)
        if ttl_secs is None:
            self._put(key, data)
        else:
            self._check_ttl(ttl_secs)
            self._put(key, data, ttl_secs)
        return key

    def put_file(self, key: str, file: str | BinaryIO, ttl_secs: TTL | None = None) -> str:
        """Store the contents of *file* (a file object or a filename) under *key*.

        Parameters
        ----------
        key
            The key.
        file
            A binary file object read from its current position, or a filename.
            Given a filename, the wrapped store may move the file.
        ttl_secs
            The time to live, if the wrapped store supports one.

        Returns
        -------
        str
            The key.

        Raises
        ------
        ValueError
            If *key* or *ttl_secs* is not valid.
        TypeError
            If *ttl_secs* is given but the wrapped store has no time to live.
        OSError
            If the file or the backend fails.
        """
        self._check_valid_key(key)
        self._check_ttl(ttl_secs)
        if isinstance(file, str):
            self._put_filename(key, file, ttl_secs)
        else:
            self._put_file(key, file, ttl_secs)
        return key

    def put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> list[str]:
        """Store every value of *items* under its key, with one bulk call to the wrapped store.

        Parameters
        ----------
        items
            Keys and values.
        ttl_secs
            The time to live of every value, if the wrapped store supports one.

        Returns
        -------
        list of str
            The keys, in the mapping's order.

        Raises
        ------
        ValueError
            If any key or *ttl_secs* is not valid (checked before anything is written).
        TypeError
            If *ttl_secs* is given but the wrapped store has no time to live.
        OSError
            If a value is not ``bytes`` or the backend fails.
        """
        self._check_ttl(ttl_secs)
        for key, data in items.items():
            self._check_valid_key(key)
            _check_value(data)
        if items:
            self._put_many(items, ttl_secs)
        return list(items)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the wrapped store's keys that start with *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return self._dstore.iter_keys(prefix)

    def keys(self, prefix: str = "") -> list[str]:
        """Return a list of the wrapped store's keys that start with *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return self._dstore.keys(prefix)

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the wrapped store's distinct prefixes up to the first *delimiter* after *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return self._dstore.iter_prefixes(delimiter, prefix)

    @_InnerCapability
    def copy(self, source: str, dest: str) -> str:
        """Copy the value under *source* to *dest* (only if the wrapped store can copy).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.copy` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._dstore.copy(source, dest)  # type: ignore[attr-defined]
        return dest

    @_InnerCapability
    def move(self, source: str, dest: str) -> str:
        """Move the value under *source* to *dest* (only if the wrapped store can move).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.move` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._dstore.move(source, dest)  # type: ignore[attr-defined]
        return dest

    @_InnerCapability
    def url_for(self, key: str) -> str:
        """Return the wrapped store's URL for *key* (only if it has ``url_for``).

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        """
        self._check_valid_key(key)
        return self._dstore.url_for(key)  # type: ignore[attr-defined, no-any-return]

    # -- hooks: forward to the wrapped store ----------------------------------------------

    def _check_valid_key(self, key: Any) -> None:
        """Raise :class:`ValueError` unless the wrapped store accepts *key*."""
        self._inner_check(key)

    @_forwarding
    def _get(self, key: str) -> bytes:
        return self._inner_get(key)

    @_forwarding
    def _open(self, key: str) -> BinaryIO:
        return self._inner_open(key)

    @_forwarding
    def _get_file(self, key: str, file: IO[bytes]) -> None:
        self._inner_get_file(key, file)

    @_forwarding
    def _get_filename(self, key: str, filename: str) -> None:
        self._inner_get_filename(key, filename)

    @_forwarding
    def _has_key(self, key: str) -> bool:
        return self._inner_has_key(key)

    @_forwarding
    def _delete(self, key: str) -> None:
        self._inner_delete(key)

    @_forwarding
    def _put(self, key: str, data: bytes, ttl_secs: TTL | None = None) -> None:
        if ttl_secs is None:
            self._inner_put(key, data)
        else:
            self._dstore.put(key, data, ttl_secs=ttl_secs)  # type: ignore[call-arg]

    @_forwarding
    def _put_file(self, key: str, file: IO[bytes], ttl_secs: TTL | None = None) -> None:
        if ttl_secs is None:
            self._inner_put_file(key, file)
        else:
            self._dstore.put_file(key, file, ttl_secs=ttl_secs)  # type: ignore[arg-type, call-arg]

    @_forwarding
    def _put_filename(self, key: str, filename: str, ttl_secs: TTL | None = None) -> None:
        if ttl_secs is None:
            self._inner_put_filename(key, filename)
        else:
            self._dstore.put_file(key, filename, ttl_secs=ttl_secs)  # type: ignore[call-arg]

    @_forwarding
    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        return self._inner_get_many(keys)

    @_forwarding
    def _put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> None:
        if ttl_secs is None:
            self._inner_put_many(items)
        else:
            self._dstore.put_many(items, ttl_secs=ttl_secs)  # type: ignore[call-arg]

    @_forwarding
    def _delete_many(self, keys: list[str]) -> None:
        self._inner_delete_many(keys)


def _class_attribute(cls: type, name: str) -> Any:
    """Return *name* as defined in the nearest class of *cls*'s MRO, without calling descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _put_via_put_file(self: StoreDecorator, key: str, data: bytes, ttl_secs: TTL | None = None) -> None:
    self._put_file(key, BytesIO(data), ttl_secs)


def _put_filename_via_put_file(self: StoreDecorator, key: str, filename: str, ttl_secs: TTL | None = None) -> None:
    with open(filename, "rb") as file:
        self._put_file(key, file, ttl_secs)


def _put_many_via_put(self: StoreDecorator, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> None:
    for key, data in items.items():
        self._put(key, data, ttl_secs)


# For each hook, the hooks that must be built on it when a subclass overrides it,
# in an order that lets a change ripple (_open -> _get -> _get_many).
_DEPENDENT_HOOKS: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    (
        "_open",
        (
            ("_get", KeyValueStore._get),
            ("_get_file", KeyValueStore._get_file),
            ("_get_filename", KeyValueStore._get_filename),
        ),
    ),
    ("_get", (("_get_many", KeyValueStore._get_many),)),
    ("_put_file", (("_put", _put_via_put_file), ("_put_filename", _put_filename_via_put_file))),
    ("_put", (("_put_many", _put_many_via_put),)),
    ("_delete", (("_delete_many", KeyValueStore._delete_many),)),
)

# For each public method: the implementations that only validate and then call the
# hook, so that calling the hook directly after validating is the same.
_STOCK_PUBLIC: dict[str, frozenset[Any]] = {
    "get": frozenset({KeyValueStore.get}),
    "open": frozenset({KeyValueStore.open}),
    "get_file": frozenset({KeyValueStore.get_file}),
    "__contains__": frozenset({KeyValueStore.__contains__}),
    "delete": frozenset({KeyValueStore.delete}),
    "put": frozenset({KeyValueStore.put, StoreDecorator.put}),
    "put_file": frozenset({KeyValueStore.put_file, StoreDecorator.put_file}),
    "get_many": frozenset({KeyValueStore.get_many}),
    "put_many": frozenset({KeyValueStore.put_many, StoreDecorator.put_many}),
    "delete_many": frozenset({KeyValueStore.delete_many}),
}


class KeyTransformingDecorator(StoreDecorator):
    """A decorator that maps each key before handing it down, and back when listing.

    Subclasses implement :meth:`_map_key` and :meth:`_unmap_key`, and optionally
    :meth:`_map_key_prefix` (the wrapped store's listing prefix for a caller's
    prefix) and :meth:`_filter` (which of the wrapped store's keys belong to this
    view). Keys are validated with :meth:`_check_valid_key` before they are mapped.

    Parameters
    ----------
    store
        The store to wrap.
    """

    def _keys_stay_valid(self) -> bool:
        # An arbitrary mapping may produce keys the wrapped store refuses: let it check.
        return False

    def _map_key(self, key: str) -> str:
        """Return the wrapped store's key for the caller's valid *key*."""
        return key

    def _unmap_key(self, key: str) -> str:
        """Return the caller's key for the wrapped store's *key*."""
        return key

    def _map_key_prefix(self, prefix: str) -> str:
        """Return a prefix of the wrapped store's keys that covers the caller's *prefix*."""
        return self._map_key(prefix)

    def _filter(self, key: str) -> bool:
        """Return whether the wrapped store's *key* belongs to this view."""
        return True

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        for stored in self._dstore.iter_keys(self._map_key_prefix(prefix)):
            if self._filter(stored):
                key = self._unmap_key(stored)
                if key.startswith(prefix):
                    yield key

    def keys(self, prefix: str = "") -> list[str]:
        """Return a list of the keys that start with *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return list(self.iter_keys(prefix))

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the distinct prefixes up to the first *delimiter* after *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return KeyValueStore.iter_prefixes(self, delimiter, prefix)

    @_InnerCapability
    def copy(self, source: str, dest: str) -> str:
        """Copy the value under *source* to *dest* (only if the wrapped store can copy).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.copy` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._dstore.copy(self._map_key(source), self._map_key(dest))  # type: ignore[attr-defined]
        return dest

    @_InnerCapability
    def move(self, source: str, dest: str) -> str:
        """Move the value under *source* to *dest* (only if the wrapped store can move).

        Returns *dest*; raises as :meth:`~minimalkv_fsspec.CopyMixin.move` does.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._dstore.move(self._map_key(source), self._map_key(dest))  # type: ignore[attr-defined]
        return dest

    @_InnerCapability
    def url_for(self, key: str) -> str:
        """Return the wrapped store's URL for *key* (only if it has ``url_for``).

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        """
        self._check_valid_key(key)
        return self._dstore.url_for(self._map_key(key))  # type: ignore[attr-defined, no-any-return]

    @_InnerCapability
    def size(self, key: str) -> int:
        """Return the size of the value under *key* (only if the wrapped store has ``size``).

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key.
        """
        self._check_valid_key(key)
        return self._dstore.size(self._map_key(key))  # type: ignore[attr-defined, no-any-return]

    @_forwarding
    def _get(self, key: str) -> bytes:
        return self._inner_get(self._map_key(key))

    @_forwarding
    def _open(self, key: str) -> BinaryIO:
        return self._inner_open(self._map_key(key))

    @_forwarding
    def _get_file(self, key: str, file: IO[bytes]) -> None:
        self._inner_get_file(self._map_key(key), file)

    @_forwarding
    def _get_filename(self, key: str, filename: str) -> None:
        self._inner_get_filename(self._map_key(key), filename)

    @_forwarding
    def _has_key(self, key: str) -> bool:
        return self._inner_has_key(self._map_key(key))

    @_forwarding
    def _delete(self, key: str) -> None:
        self._inner_delete(self._map_key(key))

    @_forwarding
    def _put(self, key: str, data: bytes, ttl_secs: TTL | None = None) -> None:
        super()._put(self._map_key(key), data, ttl_secs)

    @_forwarding
    def _put_file(self, key: str, file: IO[bytes], ttl_secs: TTL | None = None) -> None:
        super()._put_file(self._map_key(key), file, ttl_secs)

    @_forwarding
    def _put_filename(self, key: str, filename: str, ttl_secs: TTL | None = None) -> None:
        super()._put_filename(self._map_key(key), filename, ttl_secs)

    @_forwarding
    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        caller_key = {self._map_key(key): key for key in keys}
        return {caller_key[stored]: value for stored, value in self._inner_get_many(list(caller_key)).items()}

    @_forwarding
    def _put_many(self, items: Mapping[str, bytes], ttl_secs: TTL | None = None) -> None:
        super()._put_many({self._map_key(key): data for key, data in items.items()}, ttl_secs)

    @_forwarding
    def _delete_many(self, keys: list[str]) -> None:
        self._inner_delete_many([self._map_key(key) for key in keys])


class PrefixDecorator(KeyTransformingDecorator):
    """Store every key as ``prefix + key``, so several users can share one store.

    Keys are validated with the wrapped store's rules before the prefix is added;
    listing shows only the keys under the prefix, without it.

    Parameters
    ----------
    prefix
        Prepended to every key. ``prefix + key`` must be a valid key of *store*:
        a ``/`` in the prefix needs a store with the extended keyspace (``hmemory://``,
        ``hfs://``, ...).
    store
        The store to wrap.

    Raises
    ------
    ValueError
        If *prefix* cannot begin a valid key of *store*.

    Examples
    --------
    >>> from minimalkv_fsspec.memory import DictStore
    >>> backend = DictStore()
    >>> tenant = PrefixDecorator("tenant1-", backend)
    >>> tenant.put("report", b"data")
    'report'
    >>> sorted(backend.keys()), tenant.keys()
    (['tenant1-report'], ['report'])
    """

    def __init__(self, prefix: str, store: KeyValueStore) -> None:
        self._dstore = store
        self._prefix = self._checked_prefix(prefix)
        super().__init__(store)

    @property
    def prefix(self) -> str:
        """The prefix added to every key."""
        return self._prefix

    @prefix.setter
    def prefix(self, prefix: str) -> None:
        self._prefix = self._checked_prefix(prefix)
        self._bind()

    def _checked_prefix(self, prefix: str) -> str:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        if prefix:
            try:
                _resolve_check(self._dstore)(prefix + "a")
            except ValueError as exc:
                raise InvalidKeyError(
                    f"prefix {prefix!r} cannot begin a valid key of {type(self._dstore).__name__}"
                ) from exc
        return prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, {self._dstore!r})"

    def _keys_stay_valid(self) -> bool:
        # With the standard rules, prefix + key is valid whenever key is and
        # prefix + "a" is (checked above): the prefix's characters are allowed, and
        # no "/"-segment can become empty, "." or "..".
        return _follows_stock_key_rules(self._dstore)

    def _map_key(self, key: str) -> str:
        return self._prefix + key

    def _map_key_prefix(self, prefix: str) -> str:
        return self._prefix + prefix

    def _unmap_key(self, key: str) -> str:
        return key[len(self._prefix) :]

    def _filter(self, key: str) -> bool:
        return key.startswith(self._prefix)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys under the prefix that start with *prefix*, without the prefix.

        Raises
        ------
        OSError
            If the backend fails.
        """
        cut = len(self._prefix)
        # A stored key equal to the prefix would be the (invalid) empty key: skip it.
        return (stored[cut:] for stored in self._dstore.iter_keys(self._prefix + prefix) if len(stored) > cut)

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the distinct prefixes up to the first *delimiter* after *prefix*.

        The wrapped store does the work (server side where it can).

        Raises
        ------
        OSError
            If the backend fails.
        """
        cut = len(self._prefix)
        stored_prefixes = self._dstore.iter_prefixes(delimiter, self._prefix + prefix)
        return (stored[cut:] for stored in stored_prefixes if len(stored) > cut)

    @_forwarding
    def _get(self, key: str) -> bytes:
        return self._inner_get(self._prefix + key)

    def _fast_get(self) -> Callable[[str], bytes] | None:
        if type(self)._get is not PrefixDecorator._get or not _follows_stock_key_rules(self._dstore):
            return None
        check, prefix, store = self._inner_check, self._prefix, self._dstore
        # Validating a key and building prefix + key (a new string, hashed again by
        # the wrapped store) cost more than a dict lookup, so a get remembers the
        # stored key of each caller's key it validated: a hot key is validated once.
        # prefix + key is then valid in the wrapped store (see _keys_stay_valid).
        stored_keys: dict[str, str] = {}

        def stored_key(key: str) -> str:
            check(key)
            if len(stored_keys) >= _STORED_KEYS_REMEMBERED:
                stored_keys.clear()
            stored_keys[key] = name = prefix + key
            return name

        if isinstance(store, DictStore) and type(store).get is DictStore.get:
            # DictStore.get is one dict lookup: doing it here saves a Python call.
            dict_store: DictStore = store

            def get(key: str) -> bytes:
                try:
                    return dict_store.d[stored_keys[key]]
                except (KeyError, TypeError):  # TypeError: an unhashable key, refused by check
                    value = dict_store.d.get(stored_key(key))
                if value is None:
                    raise KeyError(key)
                return value

        else:
            # The wrapped store's hook when its public get would only validate first.
            inner_get: Callable[[str], bytes] = self._inner_get if self._inner_get_is_hook else store.get

            def get(key: str) -> bytes:
                try:
                    name = stored_keys[key]
                except (KeyError, TypeError):
                    name = stored_key(key)
                try:
                    return inner_get(name)
                except KeyError:
                    raise KeyError(key) from None  # the caller's key, not the stored one

        get.__doc__ = KeyValueStore.get.__doc__
        return get


# The characters that quote_plus never encodes.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+\Z")


class URLEncodeKeysDecorator(KeyTransformingDecorator):
    """Percent-encode keys, so any non-empty text is a key, even on a strict store.

    A key is UTF-8 encoded and quoted with :func:`urllib.parse.quote_plus`
    (``"abc def/key"`` is stored as ``"abc+def%2Fkey"``), as minimalkv does; the
    keys ``.`` and ``..``, which no store accepts, are stored as ``%2E`` and
    ``%2E%2E``. Listing decodes the stored keys.

    Parameters
    ----------
    store
        The store to wrap.
    """

    def _check_valid_key(self, key: Any) -> None:
        """Raise :class:`ValueError` unless *key* is a non-empty ``str`` that UTF-8 can encode."""
        if type(key) is not str:
            raise InvalidKeyError(f"key must be a str, not {type(key).__name__}")
        if not key:
            raise InvalidKeyError("key must not be empty")
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidKeyError(f"key {key!r} cannot be encoded as UTF-8") from exc

    def _keys_stay_valid(self) -> bool:
        # Quoted keys use only letters, digits and "%+-._~", and are never "." or "..".
        return _follows_stock_key_rules(self._dstore)

    def _map_key(self, key: str) -> str:
        if _UNRESERVED.match(key) is not None:
            # quote_plus leaves these characters alone; "." and ".." are the exceptions.
            return key if key not in (".", "..") else "%2E" * len(key)
        return quote_plus(key.encode("utf-8"))

    def _map_key_prefix(self, prefix: str) -> str:
        if prefix and prefix.strip(".") == "" and len(prefix) <= 2:
            # "." may be stored as "." (in ".x") or as "%2E" (the key "."): list all.
            return ""
        return quote_plus(prefix.encode("utf-8"))

    def _unmap_key(self, key: str) -> str:
        return key if _UNRESERVED.match(key) is not None else unquote_plus(key)


class ReadOnlyDecorator(StoreDecorator):
    """Allow only reading: the writing methods do not exist.

    ``put``, ``put_file``, ``delete``, ``copy``, ``move``, ``put_many`` and
    ``delete_many`` raise :class:`AttributeError` (as in minimalkv, not a custom
    error), and so ``hasattr(store, "put")`` is false. Attributes of the wrapped
    store other than the reading API are not forwarded either.

    Parameters
    ----------
    store
        The store to wrap.
    """

    _reason = "the store is read-only"
    put = _Unavailable(_reason)
    put_file = _Unavailable(_reason)
    put_many = _Unavailable(_reason)
    delete = _Unavailable(_reason)
    delete_many = _Unavailable(_reason)
    copy = _Unavailable(_reason)
    move = _Unavailable(_reason)
    default_ttl_secs = _Unavailable(_reason)
    _put = _Unavailable(_reason)
    _put_file = _Unavailable(_reason)
    _put_filename = _Unavailable(_reason)
    _put_many = _Unavailable(_reason)
    _delete = _Unavailable(_reason)
    _delete_many = _Unavailable(_reason)
    _copy = _Unavailable(_reason)
    _move = _Unavailable(_reason)

    def _bind(self) -> None:
        super()._bind()
        self.ttl_support = False

    def __getattr__(self, attr: str) -> Any:
        """Raise :class:`AttributeError`: only the reading API is available."""
        raise AttributeError(f"{attr!r} is not available on a {type(self).__name__}")
