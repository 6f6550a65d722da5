"""minimalkv's module path for the SQL store (kept for compatibility)."""

from __future__ import annotations

from minimalkv_fsspec.backends.native.sql import HSQLAlchemyStore, SQLAlchemyStore

__all__ = ["HSQLAlchemyStore", "SQLAlchemyStore"]
