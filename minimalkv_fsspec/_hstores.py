"""minimalkv's module path for the extended-keyspace ("H") stores.

Each name is imported from its backend on first access, so importing this module
does not import any optional dependency.
"""

from __future__ import annotations

import importlib
from typing import Any

_LOCATIONS = {
    "HDictStore": "minimalkv_fsspec.backends.native.memory",
    "HFilesystemStore": "minimalkv_fsspec.backends.adapters.filesystem",
    "HRedisStore": "minimalkv_fsspec.backends.native.redis",
    "HS3FSStore": "minimalkv_fsspec.backends.adapters.s3",
    "HAzureBlockBlobStore": "minimalkv_fsspec.backends.adapters.azure",
    "HGoogleCloudStore": "minimalkv_fsspec.backends.adapters.gcs",
}

__all__ = sorted(_LOCATIONS)


def __getattr__(name: str) -> Any:
    if name not in _LOCATIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LOCATIONS[name]), name)
