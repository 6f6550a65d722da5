"""The URL grammar, the scheme registry and get_store / get_store_from_url / url2dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minimalkv_fsspec import get_store, get_store_from_url, url2dict
from minimalkv_fsspec._hstores import HDictStore, HFilesystemStore
from minimalkv_fsspec.decorator import ReadOnlyDecorator, URLEncodeKeysDecorator
from minimalkv_fsspec.exceptions import BackendNotInstalledError, StoreUrlError
from minimalkv_fsspec.fs import FilesystemStore
from minimalkv_fsspec.memory import DictStore
from minimalkv_fsspec.urls import parse_url, register_scheme


def test_memory_schemes_build_their_classes() -> None:
    assert type(get_store_from_url("memory://")) is DictStore
    assert get_store_from_url("hmemory://") == HDictStore()


def test_filesystem_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = get_store_from_url("fs://Rel/Dir")
    assert type(relative) is FilesystemStore
    assert relative.root == str(tmp_path / "Rel" / "Dir")
    absolute = get_store_from_url(f"hfs://{tmp_path}/abs")
    assert type(absolute) is HFilesystemStore
    assert absolute.root == str(tmp_path / "abs")
    assert url2dict("fs:///data/x") == {"type": "fs", "path": "/data/x"}
    assert url2dict("hfs://rel/p%20q") == {"type": "hfs", "path": "rel/p q"}


def test_grammar_parts_are_percent_decoded() -> None:
    url = parse_url("scheme://us%40er:p%3Ass%2Fw@Host.Example:6380/some%20path?a=1&b=x%26y&flag&a=2")
    assert (url.username, url.password) == ("us@er", "p:ss/w")
    assert (url.host, url.port, url.path) == ("Host.Example", 6380, "/some path")
    assert url.query == {"a": "2", "b": "x&y", "flag": ""}
    assert "p:ss" not in repr(url)
    assert "us@er" not in repr(url)
    ipv6 = parse_url("redis://[::1]:7000/3")
    assert (ipv6.host, ipv6.port, ipv6.path) == ("::1", 7000, "/3")


def test_create_if_missing_option(tmp_path: Path) -> None:
    assert url2dict(f"fs://{tmp_path}/x?create_if_missing=true")["create_if_missing"] is True
    assert url2dict(f"fs://{tmp_path}/x?create_if_missing=false&create_if_missing=true")["create_if_missing"]
    assert url2dict(f"fs://{tmp_path}/x?create_if_missing=false")["create_if_missing"] is False
    with pytest.raises(StoreUrlError, match="create_if_missing"):
        url2dict(f"fs://{tmp_path}/x?create_if_missing=perhaps")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory", "must start with 'scheme://'"),
        ("://x", "must start with 'scheme://'"),
        ("1abc://x", "invalid scheme"),
        ("nosuch://x", 'Unknown storage type "nosuch"'),
        ("redis://host:notaport/0", "invalid host or port"),
        ("memory://#fragment", "unsupported URL fragment"),
        ("memory+readonly://#wrap:urlencode", "both in the scheme and in the fragment"),
        ("memory://#wrap:nosuchwrapper", "unknown wrapper"),
    ],
)
def test_malformed_urls_raise_valueerror_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_store_from_url(url)


def test_scheme_names_end_where_they_seem_to() -> None:
    # The pattern ended in "$", which matches before a final newline.
    with pytest.raises(ValueError, match="invalid scheme name"):
        register_scheme("thirdparty\n", _ThirdPartyStore)
    with pytest.raises(ValueError, match="invalid scheme"):
        url2dict("fs\n+readonly://x")


def test_errors_never_repeat_secrets() -> None:
    for url in ("nosuch://user:s3cr3t@host/x", "redis://user:s3cr3t@host:bad/0", "memory://u:s3cr3t@x#wrap:nope"):
        with pytest.raises(ValueError) as info:  # noqa: PT011 -- each URL fails differently
            get_store_from_url(url)
        assert "s3cr3t" not in str(info.value)


def test_scheme_wrappers_leftmost_is_outermost() -> None:
    store = get_store_from_url("memory+readonly+urlencode://")
    assert isinstance(store, ReadOnlyDecorator)
    assert isinstance(store._dstore, URLEncodeKeysDecorator)
    assert type(store._dstore._dstore) is DictStore


def test_fragment_wrappers_rightmost_is_outermost() -> None:
    store = get_store_from_url("memory://#wrap:readonly+urlencode")
    assert isinstance(store, URLEncodeKeysDecorator)
    assert isinstance(store._dstore, ReadOnlyDecorator)


def test_wrapper_arguments_keep_parentheses_and_encoded_plus() -> None:
    from minimalkv_fsspec.urls import register_wrapper

    seen: list[str | None] = []

    def record(store: Any, argument: str | None) -> Any:
        seen.append(argument)
        return store

    register_wrapper("record", record, clobber=True)
    get_store_from_url("memory://#wrap:record(a))+record(x%2By)+record")
    assert seen == ["a)", "x+y", None]


def test_get_store_wrappers() -> None:
    assert isinstance(get_store("memory+readonly"), ReadOnlyDecorator)
    assert isinstance(get_store("memory", wrap="readonly+urlencode"), URLEncodeKeysDecorator)
    with pytest.raises(ValueError, match="both"):
        get_store("memory+readonly", wrap="urlencode")


def test_store_cls_must_match() -> None:
    assert type(get_store_from_url("memory://", store_cls=DictStore)) is DictStore
    with pytest.raises(ValueError, match="builds DictStore"):
        get_store_from_url("memory://", store_cls=FilesystemStore)


def test_raise_on_extra_params() -> None:
    assert url2dict("memory://?unknown=1") == {"type": "memory"}
    with pytest.raises(StoreUrlError, match="unknown"):
        url2dict("memory://?unknown=1", raise_on_extra_params=True)


class _ThirdPartyStore(DictStore):
    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> _ThirdPartyStore:
        store = cls()
        store.put("made-from", params["host"].encode())
        return store

    @classmethod
    def _url_params(cls, url: Any) -> dict[str, Any]:
        return {"host": url.host}


def test_register_scheme_adds_third_party_stores() -> None:
    register_scheme("thirdparty", _ThirdPartyStore, clobber=True)
    store = get_store_from_url("thirdparty://somewhere")
    assert store.get("made-from") == b"somewhere"
    with pytest.raises(ValueError, match="registered already"):
        register_scheme("thirdparty", _ThirdPartyStore)


def test_missing_backend_names_the_extra() -> None:
    register_scheme("needsdep", "minimalkv_fsspec_no_such_module.store:Store", extra="nosuchextra", clobber=True)
    with pytest.raises(BackendNotInstalledError, match=r"pip install 'minimalkv_fsspec\[nosuchextra\]'") as info:
        get_store_from_url("needsdep://x")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ImportError)


def test_importing_the_package_imports_no_backend() -> None:
    import subprocess
    import sys

    code = (
        "import sys, minimalkv_fsspec; "
        "names = ('s3fs', 'adlfs', 'gcsfs', 'redis', 'sqlalchemy', 'dulwich', 'fsspec'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_sql_options_pass_through_to_the_driver(tmp_path: Path) -> None:
    params = url2dict(f"sql+sqlite:///{tmp_path}/kv.db?table=kv&timeout=5", raise_on_extra_params=True)
    assert params["type"] == "sql+sqlite"
