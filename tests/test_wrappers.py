"""URL wrappers: readonly and urlencode in the scheme and the fragment, and the new ones."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from minimalkv_fsspec import decorate_store, get_store, get_store_from_url, url2dict
from minimalkv_fsspec.crypt import HMACDecorator, VerificationException
from minimalkv_fsspec.decorator import PrefixDecorator, ReadOnlyDecorator, URLEncodeKeysDecorator
from minimalkv_fsspec.fs import HFilesystemStore
from minimalkv_fsspec.idgen import HashDecorator, UUIDDecorator
from minimalkv_fsspec.memory import DictStore, HDictStore
from minimalkv_fsspec.urls import register_wrapper


def layers(store: object) -> list[str]:
    """Return the class names from the outermost decorator to the store."""
    names = []
    while True:
        names.append(type(store).__name__)
        if not hasattr(store, "_dstore"):
            return names
        store = store._dstore


# -- readonly and urlencode, as in minimalkv ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("memory+readonly://", ["ReadOnlyDecorator", "DictStore"]),
        ("memory://#wrap:readonly", ["ReadOnlyDecorator", "DictStore"]),
        ("hmemory+urlencode://", ["URLEncodeKeysDecorator", "HDictStore"]),
        # scheme: leftmost is outermost
        ("memory+readonly+urlencode://", ["ReadOnlyDecorator", "URLEncodeKeysDecorator", "DictStore"]),
        ("memory+urlencode+readonly://", ["URLEncodeKeysDecorator", "ReadOnlyDecorator", "DictStore"]),
        # fragment: rightmost is outermost
        ("memory://#wrap:readonly+urlencode", ["URLEncodeKeysDecorator", "ReadOnlyDecorator", "DictStore"]),
        ("memory://#wrap:urlencode+readonly", ["ReadOnlyDecorator", "URLEncodeKeysDecorator", "DictStore"]),
    ],
)
def test_wrapper_order(url: str, expected: list[str]) -> None:
    assert layers(get_store_from_url(url)) == expected


def test_readonly_from_url_is_read_only() -> None:
    store = get_store_from_url("memory://#wrap:readonly")
    assert isinstance(store, ReadOnlyDecorator)
    with pytest.raises(AttributeError):
        store.put("key", b"x")  # type: ignore[attr-defined]
    assert store.keys() == []


def test_urlencode_from_url_takes_any_text() -> None:
    store = get_store_from_url("memory+urlencode://")
    assert isinstance(store, URLEncodeKeysDecorator)
    store.put("a key/with \u00fcmlauts", b"x")
    assert store.keys() == ["a key/with \u00fcmlauts"]
    assert store._dstore.keys() == ["a+key%2Fwith+%C3%BCmlauts"]


def test_wrappers_in_scheme_and_fragment_at_once_are_refused() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        get_store_from_url("memory+readonly://#wrap:urlencode")


def test_minimalkv_ignores_arguments_of_readonly_and_urlencode() -> None:
    assert isinstance(get_store_from_url("memory://#wrap:readonly(anything)"), ReadOnlyDecorator)
    assert isinstance(decorate_store(DictStore(), "urlencode(x)"), URLEncodeKeysDecorator)


def test_get_store_type_and_wrap_parameter() -> None:
    assert layers(get_store("memory+readonly")) == ["ReadOnlyDecorator", "DictStore"]
    assert layers(get_store("memory", wrap="readonly+urlencode")) == [
        "URLEncodeKeysDecorator",
        "ReadOnlyDecorator",
        "DictStore",
    ]
    assert url2dict("memory://#wrap:readonly+urlencode")["wrap"] == "readonly+urlencode"


# -- prefix ---------------------------------------------------------------------------------


def test_prefix_wrapper() -> None:
    store = get_store_from_url("hmemory://#wrap:prefix(tenant1/)")
    assert isinstance(store, PrefixDecorator)
    assert store.prefix == "tenant1/"
    store.put("report", b"x")
    assert store._dstore.keys() == ["tenant1/report"]
    assert store.keys() == ["report"]


def test_prefix_wrapper_on_a_filesystem(tmp_path: Path) -> None:
    store = get_store_from_url(f"hfs://{tmp_path}#wrap:prefix(tenant1/)+readonly")
    assert layers(store) == ["ReadOnlyDecorator", "PrefixDecorator", "HFilesystemStore"]
    (tmp_path / "tenant1").mkdir()
    (tmp_path / "tenant1" / "key").write_bytes(b"on disk")
    assert store.get("key") == b"on disk"
    assert isinstance(store._dstore._dstore, HFilesystemStore)


def test_prefix_wrapper_stacked_with_urlencode() -> None:
    store = get_store_from_url("memory://#wrap:prefix(t-)+urlencode")
    store.put("any key/at all", b"x")
    assert layers(store) == ["URLEncodeKeysDecorator", "PrefixDecorator", "DictStore"]
    assert store._dstore._dstore.keys() == ["t-any+key%2Fat+all"]


@pytest.mark.parametrize(
    "url",
    [
        "memory://#wrap:prefix",
        "memory://#wrap:prefix()",
        "memory://#wrap:prefix(tenant1/)",  # "/" needs the extended keyspace: hmemory://
        "memory://#wrap:prefix(bad%20space)",
    ],
)
def test_prefix_wrapper_refuses_bad_prefixes(url: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        get_store_from_url(url)


# -- hmac: the secret comes from the environment -----------------------------------------------


def test_hmac_wrapper_reads_the_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HMAC_SECRET", "from the environment")
    store = get_store_from_url("memory://#wrap:hmac(TEST_HMAC_SECRET)")
    assert isinstance(store, HMACDecorator)
    store.put("key", b"value")
    assert HMACDecorator(b"from the environment", store._dstore).get("key") == b"value"
    with pytest.raises(VerificationException):
        HMACDecorator(b"another secret", store._dstore).get("key")
    assert "from the environment" not in repr(store)


@pytest.mark.parametrize("argument", ["", "()", "(not-a-name!)", "(hunter2 literal)", "(1ABC)"])
def test_hmac_wrapper_never_takes_a_secret_from_the_url(argument: str) -> None:
    with pytest.raises(ValueError, match="environment variable") as error:
        get_store_from_url(f"memory://#wrap:hmac{argument}")
    assert "hunter2" not in str(error.value)


def test_hmac_wrapper_with_an_unset_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_HMAC_SECRET", raising=False)
    with pytest.raises(ValueError, match="not set") as error:
        get_store_from_url("memory://#wrap:hmac(UNSET_HMAC_SECRET)")
    assert "UNSET_HMAC_SECRET" not in str(error.value)  # it might be a mistyped secret


def test_hmac_under_readonly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HMAC_SECRET", "s")
    store = get_store_from_url("memory://#wrap:hmac(TEST_HMAC_SECRET)+readonly")
    assert layers(store) == ["ReadOnlyDecorator", "HMACDecorator", "DictStore"]


# -- hash and uuid ---------------------------------------------------------------------------


def test_hash_wrapper() -> None:
    store = get_store_from_url("memory://#wrap:hash")
    assert isinstance(store, HashDecorator)
    assert store.put(None, b"x") == hashlib.sha1(b"x").hexdigest()
    sha256 = get_store_from_url("memory://#wrap:hash(sha256)")
    assert sha256.put(None, b"x") == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ValueError, match="unknown hash"):
        get_store_from_url("memory://#wrap:hash(rot13)")


def test_uuid_wrapper() -> None:
    store = get_store_from_url("memory://#wrap:uuid")
    assert isinstance(store, UUIDDecorator)
    assert uuid.UUID(store.put(None, b"x")).version == 1


# -- the registry -----------------------------------------------------------------------------


def test_registered_wrappers_are_refused_twice_and_can_be_replaced() -> None:
    get_store_from_url("memory://")  # loads the built-in wrappers
    with pytest.raises(ValueError, match="registered already"):
        register_wrapper("prefix", lambda store, argument: store)


def test_a_new_wrapper_joins_the_registry() -> None:
    seen: list[str | None] = []

    def shout(store: object, argument: str | None) -> object:
        seen.append(argument)
        return PrefixDecorator((argument or "loud").upper() + "-", store)  # type: ignore[arg-type]

    register_wrapper("shout_test", shout, clobber=True)
    store = get_store_from_url("hmemory://#wrap:shout_test(hey)")
    store.put("key", b"x")
    assert seen == ["hey"]
    assert isinstance(store._dstore, HDictStore)
    assert store._dstore.keys() == ["HEY-key"]
