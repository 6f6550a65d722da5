"""Hostile keys never reach outside a filesystem-backed store's root."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec import get_store_from_url
from minimalkv_fsspec.fs import WebFilesystemStore

TRAVERSALS = [
    "..", ".", "../", "../x", "..\\x", "a/../../x", "a/../b", "./x", "x/.", "x/..", "..%2fx", "%2e%2e/x",
    "%2e%2e%2fx", "....//x", ".../x", "..;/x", "..\x00/x", "..%00/x", "..%c0%af/x", "..%252f/x",
    "/etc/passwd", "//etc/passwd", "///x", "/", "//", "~/x", "~root/x", "C:\\x", "C:/x", "\\\\server\\share",
    "\\x", "a\\..\\..\\x", "x\x00", "\x00", "x\x00/../..", "a//b", "a/", "/a", "a/./b", " /x", "x/ ",
    "\u2025/x", "\uff0e\uff0e/x", "\u2024\u2024/x", "x\u2215..\u2215y", "x\u29f8..\u29f8y", "\u0338x",
    "..\u2044x", "\u202e../x", "x\r\n", "x\t", "x\n/../..", "link/escape", "link/../escape", "link",
    "inner/link2/escape", "a" * 300, "a/" * 200 + "x", ("b" * 200 + "/") * 30 + "x", "x" * 5000,
]
PREFIXES = ["", "ok/", "ok/../", "deep/er/"]
SUFFIXES = ["", "/..", "/../..", "/../../outside"]


def _hostile_keys() -> list[str]:
    keys = {prefix + key + suffix for prefix, key, suffix in itertools.product(PREFIXES, TRAVERSALS, SUFFIXES)}
    return sorted(keys)


def test_there_are_at_least_200_hostile_keys() -> None:
    assert len(_hostile_keys()) >= 200


def _snapshot(top: Path, skip: Path) -> dict[str, bytes | None]:
    state: dict[str, bytes | None] = {}
    for directory, dirnames, filenames in os.walk(top):
        if Path(directory) == skip or skip in Path(directory).parents:
            dirnames[:] = []
            continue
        for name in dirnames:
            state[os.path.join(directory, name)] = None
        for name in filenames:
            path = os.path.join(directory, name)
            state[path] = Path(path).read_bytes() if not os.path.islink(path) else None
    return state


def _attempts(store: Any, key: str, tmp: Path) -> list[Callable[[], Any]]:
    return [
        lambda: store.put(key, b"hostile"),
        lambda: store.put_file(key, io.BytesIO(b"hostile")),
        lambda: store.get(key),
        lambda: store.get_file(key, io.BytesIO()),
        lambda: store.open(key).close(),
        lambda: key in store,
        lambda: store.delete(key),
        lambda: store.copy("seed", key),
        lambda: store.copy(key, "seed2"),
        lambda: store.move(key, "seed3"),
        lambda: store.put_many({key: b"hostile"}),
        lambda: store.delete_many([key]),
        lambda: store.url_for(key),
        lambda: store.keys(key),
        lambda: list(store.iter_prefixes("/", key)),
    ]


@pytest.mark.parametrize("scheme", ["fs", "hfs", "file", "hfile", "filesystem", "web"])
def test_hostile_keys_stay_inside_the_root(tmp_path: Path, scheme: str) -> None:
    sandbox = tmp_path / "sandbox"
    root = sandbox / "root"
    outside = sandbox / "outside"
    (root / "inner").mkdir(parents=True)
    outside.mkdir()
    (outside / "escape").write_bytes(b"outside value")
    (sandbox / "x").write_bytes(b"sibling")
    os.symlink(outside, root / "link")
    os.symlink(outside, root / "inner" / "link2")
    if scheme == "web":
        store: Any = WebFilesystemStore(str(root), "https://example/")
    else:
        store = get_store_from_url(f"{scheme}://{root}")
    store.put("seed", b"seed")
    before = _snapshot(tmp_path, skip=root)

    for key in _hostile_keys():
        for attempt in _attempts(store, key, tmp_path):
            try:
                attempt()
            except (ValueError, KeyError, OSError):
                pass

    assert _snapshot(tmp_path, skip=root) == before
    assert (outside / "escape").read_bytes() == b"outside value"
    for directory, _dirs, files in os.walk(root):
        for name in files:
            real = os.path.realpath(os.path.join(directory, name))
            assert real.startswith(str(root) + os.sep), real


def test_symlinked_parent_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    store = get_store_from_url(f"hfs://{root}")
    with pytest.raises(ValueError, match="symbolic link"):
        store.put("link/x", b"1")
    with pytest.raises(ValueError, match="symbolic link"):
        store.get("link/x")
    assert list((tmp_path / "outside").iterdir()) == []
