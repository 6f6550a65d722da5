"""minimalkv's module path for the store factories (kept for compatibility)."""

from minimalkv_fsspec.urls import get_store, get_store_from_url

__all__ = ["get_store", "get_store_from_url"]
