"""minimalkv's module path for ``decorate_store`` (kept for compatibility)."""

from minimalkv_fsspec.urls import decorate_store

__all__ = ["decorate_store"]
