"""Stores that map key operations onto an fsspec filesystem."""

from minimalkv_fsspec.backends.adapters._base import FSSpecStore

__all__ = ["FSSpecStore"]
