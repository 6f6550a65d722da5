"""DictStore: values in a Python dict, in this process."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from minimalkv_fsspec._files import BytesValueFile
from minimalkv_fsspec._mixins import CopyMixin, ExtendedKeyspaceMixin
from minimalkv_fsspec._store import KeyValueStore

if TYPE_CHECKING:
    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["DictStore", "HDictStore"]


class DictStore(CopyMixin, KeyValueStore):
    """A store that keeps its values in a dict.

    Parameters
    ----------
    d
        The dict to use (shared, not copied); a new one if omitted.
    """

    def __init__(self, d: dict[str, bytes] | None = None) -> None:
        self.d: dict[str, bytes] = {} if d is None else d

    def __eq__(self, other: object) -> bool:
        """Return whether *other* is a store of the same class holding equal values."""
        return isinstance(other, DictStore) and type(other) is type(self) and other.d == self.d

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self.d)} keys>)"

    # get and put are the hot path of an in-memory store: they skip the hook layer.

    def get(self, key: str) -> bytes:
        """Return the value stored under *key* (see :meth:`KeyValueStore.get`)."""
        if type(key) is str:
            value = self.d.get(key)
            if value is not None:
                return value
        self._check_valid_key(key)
        raise KeyError(key)

    def put(self, key: str, data: bytes) -> str:
        """Store *data* under *key* (see :meth:`KeyValueStore.put`)."""
        # A key already stored was validated when it was first put; plain letters and
        # digits are always valid.
        if type(key) is not str or (
            key not in self.d and not (key.isascii() and key.isalnum()) and self._key_pattern.match(key) is None
        ):
            self._check_valid_key(key)
        if type(data) is not bytes and not isinstance(data, bytes):
            raise OSError(f"values must be bytes, not {type(data).__name__}")
        self.d[key] = data
        return key

    def __contains__(self, key: object) -> bool:
        """Return whether *key* is stored (see :meth:`KeyValueStore.__contains__`)."""
        if type(key) is str and key in self.d:
            return True
        self._check_valid_key(key)
        return False

    def _delete(self, key: str) -> None:
        self.d.pop(key, None)

    def _get(self, key: str) -> bytes:
        return self.d[key]

    def _has_key(self, key: str) -> bool:
        return key in self.d

    def _open(self, key: str) -> BinaryIO:
        return BytesValueFile(self.d[key])

    def _put(self, key: str, data: bytes) -> None:
        self.d[key] = data

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        self.d[key] = file.read()

    def _copy(self, source: str, dest: str) -> None:
        self.d[dest] = self.d[source]

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Iterate over a snapshot of the keys that start with *prefix*."""
        if not prefix:
            return iter(list(self.d))
        return iter([key for key in self.d if key.startswith(prefix)])

    def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        stored = self.d
        return {key: stored[key] for key in keys if key in stored}

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        self.d.update(items)

    def _delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.d.pop(key, None)

    _url_options = ()

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> DictStore:
        return cls()


class HDictStore(ExtendedKeyspaceMixin, DictStore):
    """A :class:`DictStore` whose keys may hold ``/`` and spaces."""
