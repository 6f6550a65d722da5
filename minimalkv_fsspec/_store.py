"""The :class:`KeyValueStore` base class.

Every public method validates its key first (so an invalid key raises
:class:`ValueError` before the backend is touched) and then calls a protected hook.
A backend must implement four hooks (``_delete``, ``_open``, ``_put_file`` and
``iter_keys``); every other hook has a default built on those, which backends
override only for speed.
"""

from __future__ import annotations

import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from io import BytesIO
from types import TracebackType
from typing import IO, Any, BinaryIO, ClassVar

from minimalkv_fsspec._keys import STANDARD_KEY, check_key

__all__ = ["CHUNK_SIZE", "KeyValueStore", "key_type"]

key_type = str
"""The type of keys (kept from minimalkv)."""

CHUNK_SIZE = 1024 * 1024
"""Bytes moved per step when a value is streamed between files and stores."""


class KeyValueStore(ABC):
    """A store of binary values under string keys.

    Subclasses implement :meth:`_delete`, :meth:`_open`, :meth:`_put_file` and
    :meth:`iter_keys`; all other behaviour has defaults built on those hooks.
    """

    ttl_support: bool = False
    """Whether :meth:`put` accepts a ``ttl_secs`` argument (see :class:`TimeToLiveMixin`)."""

    _key_pattern: ClassVar[re.Pattern[str]] = STANDARD_KEY
    """Matches exactly the valid keys of this store's keyspace (a fast path for hot methods)."""

    def __contains__(self, key: object) -> bool:
        """Return whether *key* is stored.

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        OSError
            If the backend fails.
        """
        self._check_valid_key(key)
        return self._has_key(key)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        """Iterate over all keys, in no particular order."""
        return self.iter_keys()

    def __enter__(self) -> KeyValueStore:
        """Return the store itself; leaving the block closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    def close(self) -> None:  # noqa: B027 -- a no-op default, not an abstract method
        """Release the resources (connections, clients) that the store holds.

        Closing twice is harmless. The default does nothing.
        """

    # -- public API ---------------------------------------------------------

    def delete(self, key: str) -> None:
        """Delete the value stored under *key*; deleting a missing key is not an error.

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        OSError
            If the backend fails.
        """
        self._check_valid_key(key)
        self._delete(key)

    def get(self, key: str) -> bytes:
        """Return the value stored under *key*.

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key.
        OSError
            If the backend fails.
        """
        self._check_valid_key(key)
        return self._get(key)

    def get_file(self, key: str, file: str | BinaryIO) -> str:
        """Write the value stored under *key* to *file*, in chunks.

        Parameters
        ----------
        key
            The key to read.
        file
            A filename (created or overwritten) or a binary file object with ``write``.

        Returns
        -------
        str
            The key.

        Raises
        ------
        KeyError
            If *key* is not stored (a filename is then not created).
        ValueError
            If *key* is not a valid key.
        OSError
            If the backend or the file fails.
        """
        self._check_valid_key(key)
        if isinstance(file, str):
            self._get_filename(key, file)
        else:
            self._get_file(key, file)
        return key

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over the keys that start with *prefix*, in no particular order.

        Raises
        ------
        OSError
            If the backend fails.
        """

    def iter_prefixes(self, delimiter: str, prefix: str = "") -> Iterator[str]:
        """Iterate over the distinct key prefixes up to the first *delimiter* after *prefix*.

        A key that holds no *delimiter* after *prefix* is returned whole; otherwise
        it is cut just after that delimiter. Each result is returned once.

        Parameters
        ----------
        delimiter
            The separator, for example ``"/"``.
        prefix
            Only keys starting with this are considered; the search for the
            delimiter starts after it.

        Raises
        ------
        OSError
            If the backend fails.
        """
        seen: set[str] = set()
        start = len(prefix)
        for key in self.iter_keys(prefix):
            position = key.find(delimiter, start)
            candidate = key if position < 0 else key[: position + len(delimiter)]
            if candidate not in seen:
                seen.add(candidate)
                yield candidate

    def keys(self, prefix: str = "") -> list[str]:
        """Return a list of the keys that start with *prefix*.

        Raises
        ------
        OSError
            If the backend fails.
        """
        return list(self.iter_keys(prefix))

    def open(self, key: str) -> BinaryIO:
        """Open the value stored under *key* as a readable, seekable binary file.

        A seek past the end is allowed (reads return ``b""``); a seek to a negative
        position raises :class:`OSError`; any use after ``close()`` raises
        :class:`ValueError`.

        Raises
        ------
        KeyError
            If *key* is not stored.
        ValueError
            If *key* is not a valid key.
        OSError
            If the backend fails.
        """
        self._check_valid_key(key)
        return self._open(key)

    def put(self, key: str, data: bytes) -> str:
        """Store *data* under *key*, replacing any value stored there.

        Returns
        -------
        str
            The key.

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        OSError
            If *data* is not ``bytes`` or the backend fails.
        """
        self._check_valid_key(key)
        _check_value(data)
        self._put(key, data)
        return key

    def put_file(self, key: str, file: str | BinaryIO) -> str:
        """Store the contents of *file* under *key*, streaming it in chunks.

        Parameters
        ----------
        key
            The key to write.
        file
            A binary file object read from its current position, or a filename.
            Given a filename, a store may move the file instead of copying it
            (the filesystem store does); do not rely on it still existing.

        Returns
        -------
        str
            The key.

        Raises
        ------
        ValueError
            If *key* is not a valid key.
        OSError
            If the file or the backend fails.
        """
        self._check_valid_key(key)
        if isinstance(file, str):
            self._put_filename(key, file)
        else:
            self._put_file(key, file)
        return key

    # -- bulk operations (not in minimalkv) ---------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return a dict of the values stored under *keys*; missing keys are left out.

        Backends with a batch read (MGET, one SQL query, concurrent fetches)
        override :meth:`_get_many`.

        Raises
        ------
        ValueError
            If any key is not valid (checked before the backend is touched).
        OSError
            If the backend fails.
        """
        wanted = list(dict.fromkeys(keys))
        for key in wanted:
            self._check_valid_key(key)
        return self._get_many(wanted) if wanted else {}

    def put_many(self, items: Mapping[str, bytes]) -> list[str]:
        """Store every value of *items* under its key.

        Returns
        -------
        list of str
            The keys, in the mapping's order.

        Raises
        ------
        ValueError
            If any key is not valid (checked before anything is written).
        OSError
            If a value is not ``bytes`` (checked before anything is written)
            or the backend fails.
        """
        for key, data in items.items():
            self._check_valid_key(key)
            _check_value(data)
        if items:
            self._put_many(items)
        return list(items)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete the values stored under *keys*; missing keys are not an error.

        Raises
        ------
        ValueError
            If any key is not valid (checked before anything is deleted).
        OSError
            If the backend fails.
        """
        doomed = list(dict.fromkeys(keys))
        for key in doomed:
            self._check_valid_key(key)
        if doomed:
            self._delete_many(doomed)

    # -- views (not in minimalkv) ------------------------------------------

    def mapping(self) -> MutableMapping[str, bytes]:
        """Return a ``MutableMapping[str, bytes]`` view of this store (for zarr and friends).

        Batch methods ``getitems``/``setitems``/``delitems`` of the view use the
        store's bulk operations.
        """
        from minimalkv_fsspec.mapping import KeyValueMapping

        return KeyValueMapping(self)

    # -- hooks ----------------------------------------------------------------

    def _check_valid_key(self, key: Any) -> None:
        """Raise :class:`ValueError` unless *key* is valid for this store.

        The standard keyspace is checked; :class:`ExtendedKeyspaceMixin` widens it.
        """
        check_key(key)

    @abstractmethod
    def _delete(self, key: str) -> None:
        """Delete *key*; a missing key is not an error."""

    def _get(self, key: str) -> bytes:
        """Return the value under *key* (default: read the file from :meth:`_open`)."""
        with self._open(key) as file:
            return file.read()

    def _get_file(self, key: str, file: IO[bytes]) -> None:
        """Copy the value under *key* into the open *file* in chunks."""
        with self._open(key) as source:
            shutil.copyfileobj(source, file, CHUNK_SIZE)

    def _get_filename(self, key: str, filename: str) -> None:
        """Copy the value under *key* into the file *filename*.

        The value is opened before the file is created, so a missing key leaves
        no empty file behind.
        """
        with self._open(key) as source, open(filename, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK_SIZE)

    def _has_key(self, key: str) -> bool:
        """Return whether *key* is stored (default: try to open it)."""
        try:
            self._open(key).close()
        except KeyError:
            return False
        return True

    @abstractmethod
    def _open(self, key: str) -> BinaryIO:
        """Open *key* for reading; raise :class:`KeyError` if it is missing."""

    def _put(self, key: str, data: bytes) -> None:
        """Store *data* under *key* (default: :meth:`_put_file` of an in-memory file)."""
        self._put_file(key, BytesIO(data))

    @abstractmethod
    def _put_file(self, key: str, file: IO[bytes]) -> None:
        """Store the rest of the open *file* under *key*."""

    def _put_filename(self, key: str, filename: str) -> None:
        """Store the file *filename* under *key* (default: open it and :meth:`_put_file`)."""
        with open(filename, "rb") as file:
            self._put_file(key, file)

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        """Return the stored values of the valid *keys*; default: one :meth:`_get` each."""
        found: dict[str, bytes] = {}
        for key in keys:
            try:
                found[key] = self._get(key)
            except KeyError:
                pass
        return found

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        """Store the checked *items*; default: one :meth:`_put` each."""
        for key, data in items.items():
            self._put(key, data)

    def _delete_many(self, keys: list[str]) -> None:
        """Delete the valid *keys*; default: one :meth:`_delete` each."""
        for key in keys:
            self._delete(key)


def _check_value(data: object) -> None:
    if not isinstance(data, bytes):
        raise OSError(f"values must be bytes, not {type(data).__name__}")
