"""minimalkv's module path for the generic fsspec store (kept for compatibility)."""

from minimalkv_fsspec.backends.adapters._base import FSSpecStore, FSSpecStoreEntry

__all__ = ["FSSpecStore", "FSSpecStoreEntry"]
