"""Keys the conformance suite uses: valid ones of every kind, and invalid ones."""

from __future__ import annotations

import string

from minimalkv_fsspec._keys import VALID_NON_NUM

# Single characters: every valid one except ".", which navigates and is refused.
VALID_SINGLE_CHARACTERS = [c for c in string.ascii_letters + string.digits + VALID_NON_NUM if c != "."]

VALID_KEYS = [
    "key",
    "a",
    "CamelCase",
    "0123456789",
    "".join(VALID_SINGLE_CHARACTERS),
    "with.dot",
    "...more",
    "trailing.",
    "question?mark",
    "hash#tag",
    "a?#b",
    "ends?",
    "ends#",
    "percent%20encoded",
    "plus+sign",
    "k" * 230,
]

EXTENDED_KEYS = ["dd/b", "dir/sub/file", "with space", "a dir/with space/key", "xx/.hidden", "xx/..dots"]

INVALID_KEYS = [
    "",
    ".",
    "..",
    "with/slash",
    "with space",
    "star*",
    "colon:",
    "semi;colon",
    "back\\slash",
    "pipe|",
    "nul\x00",
    "newline\n",
    "umlaut\u00fc",
    "fullwidth\uff0e\uff0e",
    b"bytes",
    None,
    42,
]

INVALID_EXTENDED_KEYS = [
    "",
    "/",
    "/absolute",
    "trailing/",
    "double//slash",
    "a/../b",
    "../escape",
    "a/./b",
    "..",
    ".",
    "star*/x",
    "back\\slash",
    "nul\x00/x",
    b"a/b",
    None,
]
