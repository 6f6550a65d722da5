"""minimalkv's public module path for the mixins (kept for compatibility)."""

from minimalkv_fsspec._mixins import (
    FOREVER,
    NOT_SET,
    CopyMixin,
    ExtendedKeyspaceMixin,
    TimeToLiveMixin,
    UrlMixin,
)

__all__ = ["FOREVER", "NOT_SET", "CopyMixin", "ExtendedKeyspaceMixin", "TimeToLiveMixin", "UrlMixin"]
