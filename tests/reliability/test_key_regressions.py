"""Bugs the hostile-key corpus found (tests/reliability/test_hostile_keys.py), one test each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from minimalkv_fsspec import get_store_from_url


@pytest.mark.parametrize("scheme", ["fs", "hfs", "fsspec+file", "hfsspec+file"])
def test_a_key_too_long_for_a_file_is_an_invalid_key_everywhere(tmp_path: Path, scheme: str) -> None:
    # Was an OSError (ENAMETOOLONG) from some operations, a RecursionError from others, and
    # put_many wrote the keys before the long one.
    store = get_store_from_url(f"{scheme}://{tmp_path}/root?auto_mkdir=true")
    store.put("k" * 255, b"longest name")
    for key in ["k" * 256, "%2e" * 100] + (["d/" + "s" * 256, "d/" * 2100 + "x"] if scheme.startswith("h") else []):
        calls: list[Callable[[str], Any]] = [
            lambda key: store.put(key, b"x"), store.get, lambda key: key in store, store.delete, store.open,
            lambda key: store.copy("k" * 255, key), lambda key: store.put_many({"first": b"1", key: b"x"}),
            lambda key: store.delete_many(["k" * 255, key]),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="too long|longer than"):
                call(key)
        assert store.keys(key) == []
    assert store.keys() == ["k" * 255]
    assert store.get("k" * 255) == b"longest name"


def test_a_deeply_nested_git_key_is_refused(tmp_path: Path) -> None:
    # Was a RecursionError while the nested trees were built.
    store = get_store_from_url(f"hgit://{tmp_path}/repo.git")
    store.put("d/" * 255 + "x", b"deep")
    with pytest.raises(ValueError, match="256"):
        store.put("d/" * 256 + "x", b"deeper")
    with pytest.raises(ValueError, match="256"):
        store.get("d/" * 2100 + "x")
    assert store.keys() == ["d/" * 255 + "x"]


def test_sql_prefixes_that_no_key_can_start_with_list_nothing(request: pytest.FixtureRequest) -> None:
    # PostgreSQL refused a NUL in the LIKE pattern and MariaDB's driver a lone surrogate: OSErrors.
    for url in ("sql+sqlite://", f"hsql+{request.getfixturevalue('postgres_server')['url']}?table=t_prefixes",
                f"sql+{request.getfixturevalue('mariadb_server')['url']}?table=t_prefixes"):
        store = get_store_from_url(url)
        try:
            store.put("key", b"value")
            for prefix in ("\x00", "k\x00", "k\udcff", "\u212a", "k\n"):
                assert store.keys(prefix) == []
            assert store.keys("k") == ["key"]
        finally:
            store.delete("key")
            store.close()


def test_generic_stores_list_nothing_below_a_folder_that_is_no_key(tmp_path: Path) -> None:
    # A NUL in the folder of a prefix was a BackendError from the local filesystem.
    for url in (f"hfsspec+file://{tmp_path}/root?auto_mkdir=true", f"hfsspec+memory://{uuid.uuid4().hex}/root"):
        store = get_store_from_url(url)
        store.put("a/b", b"1")
        for prefix in ("a\x00/", "a/../", "a//b", "./a", "a/./"):
            assert store.keys(prefix) == []
            assert list(store.iter_prefixes("/", prefix)) == []
        assert store.keys("a/") == ["a/b"]


def test_urls_of_generic_stores_are_percent_encoded(tmp_path: Path) -> None:
    # "file:///root/%2e%2e/x" named "/x" outside the root, and "%00" a NUL.
    store = get_store_from_url(f"hfsspec+file://{tmp_path}/root?auto_mkdir=true")
    for key in ("%2e%2e/x", "%00", "a b?#c", "%2F"):
        store.put(key, b"1")
        assert unquote(urlsplit(store.url_for(key)).path) == f"{tmp_path}/root/{key}"


def _bucket_stores(request: pytest.FixtureRequest) -> list[Any]:
    """An S3 and an Azure store (extended keyspace) in new buckets, the Azure one below a folder."""
    import boto3

    moto, azurite = request.getfixturevalue("moto_server"), request.getfixturevalue("azurite")
    bucket = f"regress-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto["endpoint_url"], aws_access_key_id="raw", aws_secret_access_key="raw",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    host = moto["endpoint_url"].split("://", 1)[1]
    key = quote(azurite["account_key"], safe="")
    return [
        get_store_from_url(f"hs3://testing:testing@{host}/{bucket}/root/?force_bucket_suffix=false&is_secure=false"),
        get_store_from_url(f"hazure://{azurite['account_name']}:{key}@{bucket}/root"
                           f"?blob_endpoint={azurite['blob_endpoint']}"),
    ]


def test_bucket_prefixes_that_no_key_can_start_with_list_nothing(request: pytest.FixtureRequest) -> None:
    # A lone surrogate was a BackendError (UnicodeEncodeError), and Azurite took the request
    # path normalised from "x/./" for a forged signature: a StoreAccessDeniedError.
    for store in _bucket_stores(request):
        store.put("x/y", b"1")
        for prefix in ("x\udcff", "\ud800", "x/./", "x//", "x/../", "x\x00/"):
            assert store.keys(prefix) == []
        assert store.keys("x/") == ["x/y"]


def test_an_azure_blob_named_like_the_store_folder_hides_no_keys(request: pytest.FixtureRequest) -> None:
    # adlfs's find() answered only the blob "root" for the folder "root/": keys() was empty.
    store = _bucket_stores(request)[1]
    store.put("key", b"1")
    store.fs.pipe_file(f"{store.container}/root", b"a blob beside the folder")
    assert store.keys() == ["key"]
    assert store.keys("k") == ["key"]
