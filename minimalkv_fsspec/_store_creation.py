"""minimalkv's module path for ``create_store`` (kept for compatibility)."""

from minimalkv_fsspec import create_store

__all__ = ["create_store"]
