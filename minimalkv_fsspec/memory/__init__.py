"""minimalkv's module path for the in-memory store (kept for compatibility)."""

from minimalkv_fsspec.backends.native.memory import DictStore, HDictStore

__all__ = ["DictStore", "HDictStore"]
