"""Mixins that add optional capabilities to a store: copy, URLs, time to live, extended keys."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO, ClassVar

from minimalkv_fsspec._keys import EXTENDED_KEY, check_extended_key
from minimalkv_fsspec._store import _check_value

__all__ = [
    "FOREVER",
    "NOT_SET",
    "CopyMixin",
    "ExtendedKeyspaceMixin",
    "TimeToLiveMixin",
    "UrlMixin",
]

FOREVER = "forever"
"""Time-to-live value: the key never expires."""

NOT_SET = "not_set"
"""Time-to-live value: no expiry is requested (the backend's default applies)."""


class UrlMixin:
    """Adds :meth:`url_for`: a URL under which a value can be fetched."""

    if TYPE_CHECKING:

        def _check_valid_key(self, key: Any) -> None: ...

    def url_for(self, key: str) -> str:
        """Return a URL for *key*; whether the key exists is not checked.

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        """
        self._check_valid_key(key)
        return self._url_for(key)

    def _url_for(self, key: str) -> str:
        """Return the URL for the valid *key*."""
        raise NotImplementedError


class CopyMixin:
    """Adds :meth:`copy` and :meth:`move` done by the backend, without a round trip."""

    if TYPE_CHECKING:

        def _check_valid_key(self, key: Any) -> None: ...

        def _has_key(self, key: str) -> bool: ...

        def _delete(self, key: str) -> None: ...

    def copy(self, source: str, dest: str) -> str:
        """Copy the value under *source* to *dest*, replacing any value stored there.

        Returns
        -------
        str
            The destination key.

        Raises
        ------
        KeyError
            If *source* is not stored.
        ValueError
            If either key is not valid.
        OSError
            If the backend fails.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._copy(source, dest)
        return dest

    def move(self, source: str, dest: str) -> str:
        """Move the value under *source* to *dest*, replacing any value stored there.

        Returns
        -------
        str
            The destination key.

        Raises
        ------
        KeyError
            If *source* is not stored.
        ValueError
            If either key is not valid.
        OSError
            If the backend fails.
        """
        self._check_valid_key(source)
        self._check_valid_key(dest)
        self._move(source, dest)
        return dest

    def _copy(self, source: str, dest: str) -> None:
        """Copy the valid *source* to *dest*; raise :class:`KeyError` if it is missing."""
        raise NotImplementedError

    def _move(self, source: str, dest: str) -> None:
        """Move the valid *source* to *dest* (default: copy, then delete the source)."""
        if source == dest:
            if not self._has_key(source):
                raise KeyError(source)
            return
        self._copy(source, dest)
        self._delete(source)


class TimeToLiveMixin:
    """Adds a ``ttl_secs`` argument to :meth:`put` and :meth:`put_file`: values that expire.

    ``ttl_secs`` is a positive number of seconds (int or float), :data:`FOREVER`,
    :data:`NOT_SET`, or ``None`` for the store's :attr:`default_ttl_secs`.
    Stores using this mixin implement ``_put(key, data, ttl_secs)`` and
    ``_put_file(key, file, ttl_secs)`` with the resolved time to live.
    """

    ttl_support = True
    """This store accepts ``ttl_secs``."""

    default_ttl_secs: int | float | str = NOT_SET
    """The time to live used when ``ttl_secs`` is ``None``; may be set per instance."""

    if TYPE_CHECKING:

        def _check_valid_key(self, key: Any) -> None: ...

        def _put(self, key: str, data: bytes, ttl_secs: int | float | str) -> None: ...

        def _put_file(self, key: str, file: IO[bytes], ttl_secs: int | float | str) -> None: ...

    def _valid_ttl(self, ttl_secs: Any) -> int | float | str:
        """Resolve ``None`` to the default and validate *ttl_secs*.

        Raises
        ------
        ValueError
            If *ttl_secs* is negative, zero, or neither a number nor a constant.
        """
        if ttl_secs is None:
            ttl_secs = self.default_ttl_secs
        if ttl_secs in (FOREVER, NOT_SET):
            return ttl_secs  # type: ignore[no-any-return]
        if isinstance(ttl_secs, bool) or not isinstance(ttl_secs, numbers.Real):
            raise ValueError(f"ttl_secs must be a positive number, FOREVER or NOT_SET, not {ttl_secs!r}")
        if not 0 < float(ttl_secs) < float("inf"):  # also refuses NaN
            raise ValueError(f"ttl_secs must be a positive, finite number, not {ttl_secs!r}")
        return float(ttl_secs) if not isinstance(ttl_secs, int) else ttl_secs

    def put(self, key: str, data: bytes, ttl_secs: int | float | str | None = None) -> str:
        """Store *data* under *key*, expiring after *ttl_secs*.

        Raises
        ------
        ValueError
            If *key* or *ttl_secs* is not valid.
        OSError
            If *data* is not ``bytes`` or the backend fails.
        """
        self._check_valid_key(key)
        _check_value(data)
        self._put(key, data, self._valid_ttl(ttl_secs))
        return key

    def put_file(self, key: str, file: str | BinaryIO, ttl_secs: int | float | str | None = None) -> str:
        """Store the contents of *file* (a file object or filename) under *key*, expiring after *ttl_secs*.

        Raises
        ------
        ValueError
            If *key* or *ttl_secs* is not valid.
        OSError
            If the file or the backend fails.
        """
        self._check_valid_key(key)
        ttl = self._valid_ttl(ttl_secs)
        if isinstance(file, str):
            self._put_filename(key, file, ttl)
        else:
            self._put_file(key, file, ttl)
        return key

    def _put_filename(self, key: str, filename: str, ttl_secs: int | float | str = NOT_SET) -> None:
        """Store the file *filename* under *key* by opening it and calling ``_put_file``."""
        with open(filename, "rb") as file:
            self._put_file(key, file, ttl_secs)

    def put_many(self, items: Mapping[str, bytes], ttl_secs: int | float | str | None = None) -> list[str]:
        """Store every value of *items* under its key, each expiring after *ttl_secs*.

        Raises
        ------
        ValueError
            If any key or *ttl_secs* is not valid (checked before anything is written).
        OSError
            If a value is not ``bytes`` or the backend fails.
        """
        ttl = self._valid_ttl(ttl_secs)
        for key, data in items.items():
            self._check_valid_key(key)
            _check_value(data)
        if items:
            self._put_many(items, ttl)
        return list(items)

    def _put_many(self, items: Mapping[str, bytes], ttl_secs: int | float | str = NOT_SET) -> None:
        """Store the checked *items* with one ``_put`` each."""
        for key, data in items.items():
            self._put(key, data, ttl_secs)


class ExtendedKeyspaceMixin:
    """Widens the keyspace with ``/`` and space, so keys can look like relative paths.

    ``/``-separated segments may not be empty, ``.`` or ``..``.
    """

    _key_pattern: ClassVar[re.Pattern[str]] = EXTENDED_KEY

    def _check_valid_key(self, key: Any) -> None:
        """Raise :class:`ValueError` unless *key* is valid in the extended keyspace."""
        check_extended_key(key)
