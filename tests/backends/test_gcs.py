"""GoogleCloudStore and HGoogleCloudStore against fake-gcs-server: conformance suite and GCS specifics."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minimalkv_fsspec import get_store_from_url, url2dict
from minimalkv_fsspec.exceptions import StoreUrlError
from minimalkv_fsspec.testing import StoreTests
from tests.fixtures.cloud_emulators import (
    assert_interrupted_upload_publishes_nothing,
    assert_memory_bound,
    assert_outage_is_an_oserror,
    parquet_round_trip,
    require,
)

gcsfs_core = require("gcsfs.core", "pip install 'minimalkv_fsspec[gcs]'")

from minimalkv_fsspec.backends.adapters.generic import BucketNotFoundError, StoreAccessDeniedError  # noqa: E402
from minimalkv_fsspec.net.gcstore import GoogleCloudStore, HGoogleCloudStore  # noqa: E402

_raw: dict[str, Any] = {}


def raw_fs(fake_gcs: dict[str, Any]) -> Any:
    """Return a separate plain gcsfs filesystem (anonymous) for side-door reads and writes."""
    if fake_gcs["endpoint_url"] not in _raw:
        _raw[fake_gcs["endpoint_url"]] = gcsfs_core.GCSFileSystem(
            endpoint_url=fake_gcs["endpoint_url"], token="anon", project="test", skip_instance_cache=True,
            use_listings_cache=False)
    return _raw[fake_gcs["endpoint_url"]]


def new_bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def drop(fake_gcs: dict[str, Any], bucket: str) -> None:
    fs = raw_fs(fake_gcs)
    try:
        fs.rm(bucket, recursive=True)
    except FileNotFoundError:
        pass


class TestGoogleCloudStore(StoreTests):
    store_class: type[GoogleCloudStore] = GoogleCloudStore

    @pytest.fixture
    def store(self, fake_gcs: dict[str, Any]) -> Iterator[GoogleCloudStore]:
        bucket = new_bucket()
        self.fs = raw_fs(fake_gcs)
        yield self.store_class("anon", bucket, project="test", endpoint_url=fake_gcs["endpoint_url"])
        drop(fake_gcs, bucket)

    def side_get(self, store: Any, key: str) -> bytes | None:
        try:
            return bytes(self.fs.cat_file(f"{store.bucket_name}/{key}"))
        except FileNotFoundError:
            return None

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        if not self.fs.exists(store.bucket_name):
            self.fs.mkdir(store.bucket_name)
        self.fs.pipe_file(f"{store.bucket_name}/{key}", value)


class TestHGoogleCloudStore(TestGoogleCloudStore):
    store_class = HGoogleCloudStore


@pytest.fixture
def store(fake_gcs: dict[str, Any]) -> Iterator[GoogleCloudStore]:
    bucket = new_bucket()
    yield GoogleCloudStore("anon", bucket, project="test", endpoint_url=fake_gcs["endpoint_url"])
    drop(fake_gcs, bucket)


def encoded(info: dict[str, Any]) -> str:
    """Encode credentials JSON as minimalkv's documentation shows."""
    return base64.urlsafe_b64encode(json.dumps(info).encode()).decode()


# -- URLs and credentials --------------------------------------------------------------------------------


def test_seed_url_form_builds_a_working_store(fake_gcs: dict[str, Any], gcs_service_account: dict[str, Any]) -> None:
    # hgcs://<base64 encoded credentials JSON>@bucket_name
    #     [?create_if_missing=true&bucket_creation_location=EUROPE-WEST3]
    bucket = f"bucket_{uuid.uuid4().hex[:8]}"
    url = (f"hgcs://{encoded(gcs_service_account['info'])}@{bucket}?create_if_missing=true"
           f"&bucket_creation_location=EUROPE-WEST3&endpoint_url={fake_gcs['endpoint_url']}")
    store = get_store_from_url(url)
    assert type(store) is HGoogleCloudStore
    assert store.project == "test-project"  # read from the credentials
    store.put("dir/with space", b"value")
    assert store.get("dir/with space") == b"value"
    assert raw_fs(fake_gcs).cat_file(f"{bucket}/dir/with space") == b"value"
    assert store.fs.credentials.credentials.token == "fake-access-token"  # OAuth went through the token endpoint
    plain = get_store_from_url(url.replace("hgcs://", "gcs://", 1))
    assert type(plain) is GoogleCloudStore
    with pytest.raises(ValueError, match="invalid key"):
        plain.put("dir/with space", b"value")
    drop(fake_gcs, bucket)


def test_url_parameters() -> None:
    info = {"type": "service_account", "project_id": "p"}
    params = url2dict(f"gcs://{encoded(info)}@bucket?bucket_creation_location=US&project=other")
    assert params["bucket_name"] == "bucket"
    assert json.loads(params["credentials"]) == info
    assert params["bucket_creation_location"] == "US"
    assert params["project"] == "other"
    assert url2dict("gcs://anon@bucket")["credentials"] == "anon"
    with pytest.raises(StoreUrlError, match="base64"):
        url2dict("gcs://not-json@bucket")


def test_missing_bucket_without_create_is_a_clear_error(fake_gcs: dict[str, Any]) -> None:
    bucket = new_bucket()
    with pytest.raises(BucketNotFoundError, match=bucket):
        get_store_from_url(f"gcs://anon@{bucket}?create_if_missing=false&endpoint_url={fake_gcs['endpoint_url']}"
                           "&project=test")
    lazy = GoogleCloudStore("anon", bucket, create_if_missing=False, endpoint_url=fake_gcs["endpoint_url"])
    for call in (lambda: lazy.get("key"), lambda: "key" in lazy, lambda: lazy.put("key", b"v"), lazy.keys):
        with pytest.raises(BucketNotFoundError, match=bucket):
            call()


def test_refused_credentials_give_a_clear_error_without_the_secret(
    fake_gcs: dict[str, Any], gcs_service_account: dict[str, Any], monkeypatch: Any
) -> None:
    import gcsfs.retry

    real_sleep = gcsfs.retry.asyncio.sleep

    class QuickRetries:  # gcsfs waits 1+2+4+8+16 s between its six attempts
        @staticmethod
        async def sleep(seconds: float) -> None:
            await real_sleep(0)

    monkeypatch.setattr(gcsfs.retry, "asyncio", QuickRetries)
    refused = gcs_service_account["refused"]
    store = GoogleCloudStore(refused, new_bucket(), endpoint_url=fake_gcs["endpoint_url"])
    with pytest.raises(StoreAccessDeniedError, match="check the credentials") as info:
        store.get("key")
    assert refused["private_key"] not in str(info.value)
    assert store.bucket_name in str(info.value)


def test_credentials_from_environment_and_fsspec_config(
    fake_gcs: dict[str, Any], gcs_service_account: dict[str, Any], monkeypatch: Any, tmp_path: Any
) -> None:
    import fsspec.config

    bucket = new_bucket()
    GoogleCloudStore("anon", bucket, endpoint_url=fake_gcs["endpoint_url"], project="test").put("key", b"value")
    # Google application default credentials, through GOOGLE_APPLICATION_CREDENTIALS
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(gcs_service_account["info"]))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs["endpoint_url"])
    store = GoogleCloudStore(None, bucket)
    assert store.get("key") == b"value"
    assert store.fs.credentials.method == "google_default"
    assert store.fs.credentials.credentials.service_account_email == gcs_service_account["info"]["client_email"]
    # the JSON file given as credentials (project read from it)
    by_file = GoogleCloudStore(str(key_file), bucket)
    assert by_file.project == "test-project"
    assert by_file.get("key") == b"value"
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    # fsspec's configuration for the gcs protocol
    monkeypatch.setitem(fsspec.config.conf, "gcs", {"endpoint_url": fake_gcs["endpoint_url"], "token": "anon",
                                                    "project": "test"})
    configured = GoogleCloudStore(None, bucket)
    assert configured.get("key") == b"value"
    assert configured.fs.credentials.method == "anon"
    drop(fake_gcs, bucket)


# -- behaviour -----------------------------------------------------------------------------------------------


def test_keys_are_taken_literally(store: GoogleCloudStore, fake_gcs: dict[str, Any]) -> None:
    keys = ["a?#b", "ends?", "ends#", "g#123", "q?generation=1", "a[b]", "[ab]", "%3F"]
    store.put_many({key: key.encode() for key in keys})
    names = {path.split("/", 1)[1] for path in raw_fs(fake_gcs).find(store.bucket_name)}
    assert names == set(keys)
    assert store.get_many(keys) == {key: key.encode() for key in keys}
    store.delete_many(keys)
    assert store.keys() == []


def test_signed_url_downloads_with_a_plain_http_client(
    fake_gcs: dict[str, Any], gcs_service_account: dict[str, Any]
) -> None:
    bucket = new_bucket()
    store = GoogleCloudStore(gcs_service_account["info"], bucket, endpoint_url=fake_gcs["endpoint_url"])
    store.put("a?#b", b"signed value")
    url = store.url_for("a?#b")
    assert "Signature=" in url  # signed with the service account's private key
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"signed value"
    anonymous = GoogleCloudStore("anon", bucket, endpoint_url=fake_gcs["endpoint_url"])
    with urllib.request.urlopen(anonymous.url_for("a?#b"), timeout=10) as response:  # unsigned: public objects
        assert response.read() == b"signed value"
    drop(fake_gcs, bucket)


def test_open_works_with_pyarrow_parquet(store: GoogleCloudStore) -> None:
    parquet_round_trip(store)


def test_server_side_copy_and_delimiter_listing(store: GoogleCloudStore, fault_proxy: Any) -> None:
    proxy = fault_proxy(store.endpoint_url)
    via_proxy = GoogleCloudStore("anon", store.bucket_name, endpoint_url=proxy.url)
    via_proxy.put_file("large", io.BytesIO(b"z" * (12 * 1024 * 1024)))
    proxy.reset_counters()
    via_proxy.copy("large", "copy")
    assert proxy.bytes_up + proxy.bytes_down < 64 * 1024
    assert via_proxy.get("copy") == b"z" * (12 * 1024 * 1024)
    via_proxy.put_many({f"d{index}X{leaf}": b"1" for index in range(12) for leaf in range(3)})
    proxy.reset_counters()
    assert sorted(via_proxy.iter_prefixes("X", prefix="d1")) == ["d10X", "d11X", "d1X"]
    assert len(proxy.log) == 1
    assert "delimiter=X" in proxy.log[0][1]


def test_server_errors_are_retried_then_an_oserror_not_a_keyerror(
    store: GoogleCloudStore, fault_proxy: Any, monkeypatch: Any
) -> None:
    import gcsfs.retry

    real_sleep = gcsfs.retry.asyncio.sleep

    class QuickRetries:  # gcsfs waits 1+2+4+8+16 s between its six attempts
        @staticmethod
        async def sleep(seconds: float) -> None:
            await real_sleep(0)

    monkeypatch.setattr(gcsfs.retry, "asyncio", QuickRetries)
    store.put("key", b"value")
    proxy = fault_proxy(store.endpoint_url)
    flaky = GoogleCloudStore("anon", store.bucket_name, endpoint_url=proxy.url)
    assert_outage_is_an_oserror(flaky, proxy)


def test_an_interrupted_upload_publishes_nothing(store: GoogleCloudStore) -> None:
    assert_interrupted_upload_publishes_nothing(store)


def test_memory_stays_bounded_while_streaming(fake_gcs: dict[str, Any]) -> None:
    bucket = new_bucket()
    assert_memory_bound({"backend": "gcs", "bucket": bucket, **fake_gcs})
    drop(fake_gcs, bucket)
