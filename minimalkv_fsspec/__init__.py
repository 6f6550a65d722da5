"""minimalkv_fsspec: one small key-value API for binary blobs over many storage backends.

A re-implementation of minimalkv's public API on fsspec filesystems and native
clients. Stores are chosen by URL (:func:`get_store_from_url`) or built directly.
Backends are imported only when first used, so importing this package is cheap.
"""

from __future__ import annotations

import warnings
from typing import Any

from minimalkv_fsspec._key_value_store import UrlKeyValueStore
from minimalkv_fsspec._keys import VALID_KEY_RE, VALID_KEY_REGEXP, VALID_NON_NUM
from minimalkv_fsspec._mixins import FOREVER, NOT_SET, CopyMixin, TimeToLiveMixin, UrlMixin
from minimalkv_fsspec._store import KeyValueStore
from minimalkv_fsspec.urls import decorate_store, get_store, get_store_from_url, url2dict

__version__ = "0.1.0"

__all__ = [
    "FOREVER",
    "NOT_SET",
    "VALID_KEY_RE",
    "VALID_KEY_REGEXP",
    "VALID_NON_NUM",
    "CopyMixin",
    "KeyValueStore",
    "TimeToLiveMixin",
    "UrlKeyValueStore",
    "UrlMixin",
    "__version__",
    "create_store",
    "decorate_store",
    "get_store",
    "get_store_from_url",
    "url2dict",
]


def create_store(type: str, params: dict[str, Any]) -> KeyValueStore:  # noqa: A002
    """Build a store of *type* from *params* (deprecated: use :func:`get_store`).

    Raises
    ------
    ValueError
        As :func:`get_store`.
    """
    warnings.warn("create_store is deprecated; use get_store(type, **params)", DeprecationWarning, stacklevel=2)
    return get_store(type, **params)
