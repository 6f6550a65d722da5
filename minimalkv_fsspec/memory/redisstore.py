"""minimalkv's module path for the Redis store (kept for compatibility)."""

from __future__ import annotations

from minimalkv_fsspec.backends.native.redis import HRedisStore, RedisStore

__all__ = ["HRedisStore", "RedisStore"]
