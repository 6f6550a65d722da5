"""Key rules: which strings are valid keys, in the standard and the extended keyspace.

Keys are ASCII strings. The standard keyspace allows letters, digits and the
punctuation in :data:`VALID_NON_NUM`; the extended keyspace (the ``h*`` stores and
URL schemes) also allows ``/`` and space, so keys can look like relative paths.

On top of minimalkv's regular expressions, every store here refuses keys that would
act as path navigation (``.`` and ``..``, alone or as a ``/``-separated segment) and
empty segments (a leading, trailing or doubled ``/``). That keeps every key inside its
store, whatever the backend maps keys to.
"""

from __future__ import annotations

import re
from typing import Any

from minimalkv_fsspec.exceptions import InvalidKeyError

__all__ = [
    "VALID_KEY_RE",
    "VALID_KEY_RE_EXTENDED",
    "VALID_KEY_REGEXP",
    "VALID_KEY_REGEXP_EXTENDED",
    "VALID_NON_NUM",
    "VALID_NON_NUM_EXTENDED",
    "check_key",
    "check_extended_key",
]

VALID_NON_NUM = """`!"#$%&'()+,-.<=>?@[]^_{}~"""
"""Punctuation allowed in keys, besides ASCII letters and digits."""

VALID_KEY_REGEXP = f"^[{re.escape(VALID_NON_NUM)}0-9a-zA-Z]+$"
"""Regular expression (as a string) that every valid standard key matches."""

VALID_KEY_RE = re.compile(VALID_KEY_REGEXP)
"""Compiled :data:`VALID_KEY_REGEXP`."""

VALID_NON_NUM_EXTENDED = VALID_NON_NUM + "/ "
"""Punctuation allowed in extended-keyspace keys: the standard set plus ``/`` and space."""

VALID_KEY_REGEXP_EXTENDED = f"^[{re.escape(VALID_NON_NUM_EXTENDED)}0-9a-zA-Z]+$"
"""Regular expression (as a string) that every valid extended key matches."""

VALID_KEY_RE_EXTENDED = re.compile(VALID_KEY_REGEXP_EXTENDED)
"""Compiled :data:`VALID_KEY_REGEXP_EXTENDED`."""

# A key must not navigate: "." and ".." are refused as whole keys and as segments.
_NAVIGATING = frozenset({".", ".."})

# One regular expression per keyspace decides validity in a single call, the fast
# path of every store operation; the checks below only explain a refusal.
# Use them with .match(): they end in \Z themselves.
STANDARD_KEY = re.compile(rf"(?!\.\.?\Z)[{re.escape(VALID_NON_NUM)}0-9a-zA-Z]+\Z")
EXTENDED_KEY = re.compile(
    rf"(?!/)(?!.*//)(?!.*/\Z)(?!(?:.*/)?\.\.?(?:/|\Z))[{re.escape(VALID_NON_NUM_EXTENDED)}0-9a-zA-Z]+\Z"
)


def _describe(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 80 else text[:77] + "..."


def check_key(key: Any) -> None:
    """Raise :class:`InvalidKeyError` unless *key* is valid in the standard keyspace.

    Parameters
    ----------
    key
        The candidate key.

    Raises
    ------
    InvalidKeyError
        (a :class:`ValueError`) if *key* is not a ``str``, is empty, holds a character
        outside :data:`VALID_KEY_REGEXP`, or is ``.`` or ``..``.
    """
    if type(key) is str and STANDARD_KEY.match(key) is not None:
        return
    if type(key) is not str:
        raise InvalidKeyError(f"key must be a str, not {type(key).__name__}: {_describe(key)}")
    if VALID_KEY_RE.fullmatch(key) is None:
        raise InvalidKeyError(f"invalid key {_describe(key)}: allowed are ASCII letters, digits and {VALID_NON_NUM}")
    if key in _NAVIGATING:
        raise InvalidKeyError(f"invalid key {_describe(key)}: '.' and '..' are not keys")


def check_extended_key(key: Any) -> None:
    """Raise :class:`InvalidKeyError` unless *key* is valid in the extended keyspace.

    The extended keyspace adds ``/`` and space. A key is split at ``/`` into
    segments; no segment may be empty, ``.`` or ``..``.

    Parameters
    ----------
    key
        The candidate key.

    Raises
    ------
    InvalidKeyError
        (a :class:`ValueError`) if *key* is not a ``str``, is empty, holds a character
        outside :data:`VALID_KEY_REGEXP_EXTENDED`, or has an empty, ``.`` or ``..`` segment.
    """
    if type(key) is str and EXTENDED_KEY.match(key) is not None:
        return
    if type(key) is not str:
        raise InvalidKeyError(f"key must be a str, not {type(key).__name__}: {_describe(key)}")
    if VALID_KEY_RE_EXTENDED.fullmatch(key) is None:
        raise InvalidKeyError(
            f"invalid key {_describe(key)}: allowed are ASCII letters, digits and {VALID_NON_NUM_EXTENDED}"
        )
    if "/" in key:
        for segment in key.split("/"):
            if not segment or segment in _NAVIGATING:
                raise InvalidKeyError(
                    f"invalid key {_describe(key)}: '/'-separated segments may not be empty, '.' or '..'"
                )
    elif key in _NAVIGATING:
        raise InvalidKeyError(f"invalid key {_describe(key)}: '.' and '..' are not keys")
