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


# -- hostile keys ---------------------------------------------------------------------------------------
# Keys an attacker (or an unlucky user) would try: each must be stored and read back exactly, or refused
# with ValueError, by every store. The categories are kept apart so that a report can name them.


def _navigation() -> list[str]:
    r"""``..`` (and ``.``, ``...``) in every position, with ``/`` and ``\`` as separators."""
    keys = []
    for dots in ("..", ".", "...", ". .", ".. ", " .."):
        for separator in ("/", "\\"):
            s = separator
            keys += [dots, f"{dots}{s}x", f"x{s}{dots}", f"a{s}{dots}{s}b", f"{dots}{s}{dots}{s}x",
                     f"a{s}b{s}{dots}{s}{dots}{s}{dots}", f"{s}{dots}", f"{dots}{s}", f"{s}{dots}{s}x",
                     f"x{s}{dots}{s}"]  # fmt: skip
        keys += [f"{dots}x", f"x{dots}", f"x{dots}y", f"{dots};/x", f"{dots}%00/x", f"{dots}\x00/x"]
    return keys


def _absolute() -> list[str]:
    """Absolute and rooted paths of POSIX, Windows and URL flavours."""
    return [
        "/", "//", "///", "/x", "//x", "///x", "/etc/passwd", "/etc/../etc/passwd", "/dev/null", "/proc/self/environ",
        "\\", "\\x", "\\\\server\\share\\x", "\\\\?\\C:\\x", "\\\\.\\pipe\\x", "//?/C:/x", "//server/share/x",
        "~", "~/x", "~root/x", "~/.ssh/authorized_keys", "file:///etc/passwd", "file:x", "http://host/x",
        "s3://bucket/x", "memory://x", "x/", "x//", " /x", "/ x", "\t/x",
    ]  # fmt: skip


def _drives() -> list[str]:
    """Drive letters, device names and alternate data streams."""
    keys = []
    for drive in ("C:", "c:", "Z:"):
        keys += [drive, f"{drive}x", f"{drive}\\x", f"{drive}/x", f"{drive}..", f"{drive}\\..\\x", f"x/{drive}x"]
    for device in ("CON", "con", "NUL", "nul.txt", "AUX", "PRN", "COM1", "LPT9", "CONIN$", "CLOCK$"):
        keys += [device, f"dir/{device}"]
    return [*keys, "x::$DATA", "x:stream", "x:$I30:$INDEX_ALLOCATION", "x.", "x..", "x ", "x. . ."]


_ENCODED_DOTS = ("%2e", "%2E", "%252e", "%c0%ae", "%e0%80%ae", "%u002e", ".")
_ENCODED_SEPARATORS = ("%2f", "%2F", "%252f", "%5c", "%5C", "%c0%af", "%e2%88%95", "/")


def _percent_encoded() -> list[str]:
    """Navigation spelled with percent escapes (single, double, overlong UTF-8) and broken escapes."""
    keys = []
    for dot in _ENCODED_DOTS:
        for separator in _ENCODED_SEPARATORS:
            keys += [f"{dot}{dot}{separator}x", f"x{separator}{dot}{dot}"]
        keys += [f"{dot}{dot}", f"{dot}"]
    return [*keys, "%00", "x%00", "%0a", "%0d%0a", "%20", "%", "%%", "%zz", "%2", "a%2Fb", "a%2fb", "%2F",
            "%3F", "%23", "%2A", "%25", "%252525", "%ff", "%fe%ff", "%u2215", "&#47;", "&#x2e;&#x2e;"]  # fmt: skip


_LOOKALIKE_DOTS = ("\u2024", "\u2025", "\uff0e", "\ufe52", "\u3002", "\u00b7", "\u0701", "\u2e31")
_LOOKALIKE_SLASHES = ("\u2215", "\u2044", "\u29f8", "\uff0f", "\u2571", "\u27cb", "\uff3c", "\u2216", "\ufe68")
_INVISIBLE = ("\u200b", "\u200d", "\ufeff", "\u202e", "\u00ad", "\u0338", "\u2028", "\u2029", "\u0085")


def _unicode() -> list[str]:
    """Unicode look-alikes of dots and slashes, invisible characters and non-ASCII text."""
    keys = []
    for dot in _LOOKALIKE_DOTS:
        keys += [dot + dot, f"{dot}{dot}/x", f"x/{dot}{dot}"]
    for slash in _LOOKALIKE_SLASHES:
        keys += [f"..{slash}x", f"x{slash}..{slash}y", f"a{slash}b"]
    for invisible in _INVISIBLE:
        keys += [f"..{invisible}/x", f"x{invisible}", f"{invisible}"]
    return [*keys, "caf\u00e9", "cafe\u0301", "\u212a", "\u00c5", "\u212b", "stra\u00dfe", "\ufb01le",
            "\U0001f600", "\ud800", "x\udcff", "\u0130", "\u0131"]  # fmt: skip


def _control() -> list[str]:
    """NUL and every other ASCII control character, alone, leading, trailing and inside."""
    keys = []
    for code in [*range(32), 127]:
        character = chr(code)
        keys += [f"x{character}", f"{character}x", f"x{character}y"]
    return [*keys, "\x00", "x\x00/../..", "x\x00.txt", "\x1b[31mred", "x\r\n../y"]


def _long() -> list[str]:
    """Keys and ``/``-separated segments around common limits (255, 1024, 4096 bytes)."""
    keys = ["k" * length for length in (200, 250, 251, 254, 255, 256, 1000, 1023, 1024, 1025, 4096, 5000)]
    keys += [f"d/{'s' * length}" for length in (254, 255, 256, 1024)]
    keys += ["d/" * count + "x" for count in (100, 500, 2100)]
    keys += [("s" * 200 + "/") * 25 + "x", ("s" * 255 + "/") * 4 + "x", "." * 300, "%2e" * 100]
    return keys


def _colliding() -> list[str]:
    """Return groups of keys that are one key after case folding, trimming, decoding or a filesystem's aliasing."""
    groups = [
        ("key", "Key", "KEY", "kEy"),
        ("name", "name.", "name..", "name ", " name", "name.."),
        ("a b", "a+b", "a%20b", "a%2Bb", "a%2bb"),
        ("a/b", "a%2Fb", "a%2fb", "a\\b", "a//b", "a/./b"),
        ("A.B", "a.b", "a.B"),
        ("longfilename", "LONGFI~1", "longfi~1"),
        (".git", ".GIT", ".Git", ".git.", "git~1", "GIT~1", ".gitmodules", ".GITMODULES", "gitmod~1",
         "x/.git", "x/.git/y", ".git/config", ".git\\config"),
        ("x", "x;", "x;1", "x.~mkv;123"),
        ("same", "same\x00", "same\x00tail"),
    ]  # fmt: skip
    return [key for group in groups for key in group]


def _wildcards() -> list[str]:
    """Wildcards of SQL ``LIKE``, globs and Redis patterns, next to the keys they would wrongly match."""
    stems = ["a", "ab", "axb", "ac", "a_b", "a%b", "a?b", "a*b", "a[b]", "a[bc]", "a\\b", "a\\%b", "a\\_b",
             "a[", "a]", "a]b", "a[!b]", "a[^b]", "a[a-z]", "a{b,c}", "ab}", "a.b", "a^b", "a$b", "a|b", "a(b)"]
    alone = ["%", "%%", "_", "__", "?", "??", "*", "**", "[", "]", "[]", "[!]", "\\", "\\\\", "\\%", "\\_", "100%"]
    folders = ("d", "dx", "d_", "d%", "d?", "d[x]", "d*", "d\\")
    return stems + alone + [f"{folder}/{name}" for folder in folders for name in ("x", "y_")]


HOSTILE_KEY_CATEGORIES: dict[str, list[str]] = {
    "navigation": _navigation(),
    "absolute": _absolute(),
    "drive": _drives(),
    "percent-encoded": _percent_encoded(),
    "unicode": _unicode(),
    "control": _control(),
    "long": _long(),
    "colliding": _colliding(),
    "wildcards": _wildcards(),
}
"""The hostile keys by category; a key may appear in more than one."""

HOSTILE_KEYS: list[str] = sorted({key for keys in HOSTILE_KEY_CATEGORIES.values() for key in keys})
"""At least 500 distinct hostile keys (strings only), for any store's test suite.

Every store must either store such a key and read it back exactly (value, listing,
copy) or refuse it with :class:`ValueError` in every operation; none may reach
outside the store (a file outside a filesystem root, a Redis key outside a prefix).
"""
