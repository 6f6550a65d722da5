"""minimalkv's module path for the base class (kept for compatibility)."""

from __future__ import annotations

from minimalkv_fsspec._mixins import UrlMixin
from minimalkv_fsspec._store import KeyValueStore, key_type

__all__ = ["KeyValueStore", "UrlKeyValueStore", "key_type"]


class UrlKeyValueStore(UrlMixin, KeyValueStore):
    """A :class:`KeyValueStore` with :meth:`url_for` (deprecated: mix in :class:`UrlMixin`)."""
