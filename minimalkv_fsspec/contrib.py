"""minimalkv's old location of the extended keyspace (kept for compatibility)."""

from minimalkv_fsspec._keys import VALID_KEY_RE_EXTENDED, VALID_KEY_REGEXP_EXTENDED, VALID_NON_NUM_EXTENDED
from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin

__all__ = ["VALID_KEY_RE_EXTENDED", "VALID_KEY_REGEXP_EXTENDED", "VALID_NON_NUM_EXTENDED", "ExtendedKeyspaceMixin"]
