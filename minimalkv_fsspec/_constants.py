"""minimalkv's module path for the key constants (kept for compatibility)."""

from minimalkv_fsspec._keys import (
    VALID_KEY_RE,
    VALID_KEY_RE_EXTENDED,
    VALID_KEY_REGEXP,
    VALID_KEY_REGEXP_EXTENDED,
    VALID_NON_NUM,
    VALID_NON_NUM_EXTENDED,
)
from minimalkv_fsspec._mixins import FOREVER, NOT_SET

__all__ = [
    "FOREVER",
    "NOT_SET",
    "VALID_KEY_RE",
    "VALID_KEY_RE_EXTENDED",
    "VALID_KEY_REGEXP",
    "VALID_KEY_REGEXP_EXTENDED",
    "VALID_NON_NUM",
    "VALID_NON_NUM_EXTENDED",
]
