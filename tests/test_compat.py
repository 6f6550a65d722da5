"""Code written for minimalkv finds every public name at the same module path."""

from __future__ import annotations

import importlib
import warnings

import pytest

import minimalkv_fsspec

PUBLIC_NAMES = {
    "minimalkv_fsspec": [
        "KeyValueStore", "UrlKeyValueStore", "CopyMixin", "UrlMixin", "TimeToLiveMixin", "get_store",
        "get_store_from_url", "create_store", "decorate_store", "url2dict", "FOREVER", "NOT_SET",
        "VALID_KEY_RE", "VALID_KEY_REGEXP", "VALID_NON_NUM", "__version__",
    ],
    "minimalkv_fsspec._constants": [
        "VALID_NON_NUM_EXTENDED", "VALID_KEY_REGEXP_EXTENDED", "VALID_KEY_RE_EXTENDED", "FOREVER", "NOT_SET",
    ],
    "minimalkv_fsspec._key_value_store": ["KeyValueStore", "UrlKeyValueStore", "key_type"],
    "minimalkv_fsspec._mixins": ["UrlMixin", "TimeToLiveMixin", "CopyMixin", "ExtendedKeyspaceMixin"],
    "minimalkv_fsspec.mixin": ["UrlMixin", "TimeToLiveMixin", "CopyMixin", "ExtendedKeyspaceMixin"],
    "minimalkv_fsspec.contrib": [
        "ExtendedKeyspaceMixin", "VALID_NON_NUM_EXTENDED", "VALID_KEY_REGEXP_EXTENDED", "VALID_KEY_RE_EXTENDED",
    ],
    "minimalkv_fsspec._get_store": ["get_store_from_url", "get_store"],
    "minimalkv_fsspec._urls": ["url2dict", "TRUEVALUES"],
    "minimalkv_fsspec._store_creation": ["create_store"],
    "minimalkv_fsspec._store_decoration": ["decorate_store"],
    "minimalkv_fsspec._hstores": ["HDictStore", "HFilesystemStore"],
    "minimalkv_fsspec.fs": ["FilesystemStore", "WebFilesystemStore"],
    "minimalkv_fsspec.memory": ["DictStore"],
    "minimalkv_fsspec.fsspecstore": ["FSSpecStore", "FSSpecStoreEntry"],
    "minimalkv_fsspec.decorator": [
        "StoreDecorator", "KeyTransformingDecorator", "PrefixDecorator", "URLEncodeKeysDecorator", "ReadOnlyDecorator",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("module", "names"), sorted(PUBLIC_NAMES.items()))
def test_module_paths_and_names(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert missing == []


def test_create_store_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="get_store"):
        store = minimalkv_fsspec.create_store("memory", {})
    store.put("k", b"v")
    assert store.get("k") == b"v"


def test_constants_match_minimalkv() -> None:
    assert minimalkv_fsspec.FOREVER == "forever"
    assert minimalkv_fsspec.NOT_SET == "not_set"
    for character in "`!\"#$%&'()+,-.<=>?@[]^_{}~":
        assert minimalkv_fsspec.VALID_KEY_RE.match("a" + character)
    for character in "/ *:;\\|\x00":
        assert not minimalkv_fsspec.VALID_KEY_RE.match("a" + character)


def test_subclassing_with_the_four_required_hooks() -> None:
    """A backend written for minimalkv (four hooks) gets every other method for free."""
    import io

    class TinyStore(minimalkv_fsspec.KeyValueStore):
        def __init__(self) -> None:
            self.values: dict[str, bytes] = {}

        def _delete(self, key: str) -> None:
            self.values.pop(key, None)

        def _open(self, key: str) -> io.BytesIO:
            return io.BytesIO(self.values[key])

        def _put_file(self, key: str, file: io.BytesIO) -> None:  # type: ignore[override]
            self.values[key] = file.read()

        def iter_keys(self, prefix: str = "") -> object:  # type: ignore[override]
            return iter([key for key in self.values if key.startswith(prefix)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = TinyStore()
        store.put("a", b"1")
        assert store.get("a") == b"1"
        assert "a" in store
        assert "b" not in store
        assert store.get_many(["a", "b"]) == {"a": b"1"}
        target = io.BytesIO()
        store.get_file("a", target)
        assert target.getvalue() == b"1"
        assert list(store.iter_prefixes("x")) == ["a"]
