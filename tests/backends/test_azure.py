"""AzureBlockBlobStore and HAzureBlockBlobStore against Azurite: conformance suite and Azure specifics."""

from __future__ import annotations

import hashlib
import io
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
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

require("adlfs", "pip install 'minimalkv_fsspec[azure]'")
blob = require("azure.storage.blob", "pip install 'minimalkv_fsspec[azure]'")

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError  # noqa: E402

from minimalkv_fsspec.backends.adapters.generic import BucketNotFoundError, StoreAccessDeniedError  # noqa: E402
from minimalkv_fsspec.net.azurestore import AzureBlockBlobStore, HAzureBlockBlobStore  # noqa: E402

_services: dict[str, Any] = {}


def service(azurite: dict[str, Any]) -> Any:
    """Return a synchronous SDK client of Azurite, bypassing adlfs (one per session)."""
    if azurite["connection_string"] not in _services:
        _services[azurite["connection_string"]] = blob.BlobServiceClient.from_connection_string(
            azurite["connection_string"])
    return _services[azurite["connection_string"]]


def new_container() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def drop(azurite: dict[str, Any], container: str) -> None:
    try:
        service(azurite).delete_container(container)
    except ResourceNotFoundError:
        pass


class TestAzureBlockBlobStore(StoreTests):
    store_class: type[AzureBlockBlobStore] = AzureBlockBlobStore
    stateful_steps = 5  # every step is a few HTTP requests to the emulator

    @pytest.fixture
    def store(self, azurite: dict[str, Any]) -> Iterator[AzureBlockBlobStore]:
        container = new_container()
        self.service = service(azurite)
        yield self.store_class(azurite["connection_string"], container)
        drop(azurite, container)

    def side_get(self, store: Any, key: str) -> bytes | None:
        try:
            return bytes(self.service.get_blob_client(store.container, key).download_blob().readall())
        except ResourceNotFoundError:
            return None

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        try:
            self.service.create_container(store.container)
        except ResourceExistsError:
            pass
        self.service.get_blob_client(store.container, key).upload_blob(value, overwrite=True)


class TestHAzureBlockBlobStore(TestAzureBlockBlobStore):
    store_class = HAzureBlockBlobStore


class TestAzureChecksumStore(TestAzureBlockBlobStore):
    """With ``checksum=True`` every upload carries its MD5, and reads verify it."""

    @pytest.fixture
    def store(self, azurite: dict[str, Any]) -> Iterator[AzureBlockBlobStore]:
        container = new_container()
        self.service = service(azurite)
        yield AzureBlockBlobStore(azurite["connection_string"], container, checksum=True)
        drop(azurite, container)


@pytest.fixture
def store(azurite: dict[str, Any]) -> Iterator[AzureBlockBlobStore]:
    container = new_container()
    yield AzureBlockBlobStore(azurite["connection_string"], container)
    drop(azurite, container)


def account_sas(azurite: dict[str, Any], **permissions: bool) -> str:
    return str(blob.generate_account_sas(
        azurite["account_name"], azurite["account_key"],
        blob.ResourceTypes(service=True, container=True, object=True),
        blob.AccountSasPermissions(**permissions),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    ))


# -- URLs -------------------------------------------------------------------------------------------------


def test_seed_url_forms_build_working_stores(azurite: dict[str, Any]) -> None:
    from urllib.parse import quote

    endpoint = azurite["blob_endpoint"]
    account, key = azurite["account_name"], quote(azurite["account_key"], safe="")
    # azure://account_name:account_key@container[?create_if_missing=true][?max_connections=2]
    # (minimalkv's example container "bucket_66" is not a valid Azure name: "_" is refused)
    container = new_container()
    store = get_store_from_url(f"azure://{account}:{key}@{container}?create_if_missing=true&max_connections=2"
                               f"&blob_endpoint={endpoint}")
    assert type(store) is AzureBlockBlobStore
    assert store.max_connections == 2
    store.put("key", b"value")
    assert store.get("key") == b"value"
    hstore = get_store_from_url(f"hazure://{account}:{key}@{container}?blob_endpoint={endpoint}")
    assert type(hstore) is HAzureBlockBlobStore
    hstore.put("dir/with space", b"nested")
    assert sorted(hstore.keys()) == ["dir/with space", "key"]

    # with a SAS token: azure://account_name:shared_access_signature@container?use_sas&create_if_missing=false
    sas = quote(account_sas(azurite, read=True, write=True, delete=True, list=True, add=True, create=True), safe="")
    sas_store = get_store_from_url(
        f"azure://{account}:{sas}@{container}?use_sas&create_if_missing=false&max_connections=2"
        f"&socket_timeout=(20,100)&blob_endpoint={endpoint}")
    assert sas_store.get("key") == b"value"
    sas_store.put("via-sas", b"sas")
    # ... and with block sizes written as products
    sized = get_store_from_url(
        f"azure://{account}:{sas}@{container}?use_sas&create_if_missing=false&max_connections=2"
        f"&socket_timeout=(20,100)&max_block_size=4*1024*1024&max_single_put_size=64*1024*1024"
        f"&blob_endpoint={endpoint}")
    assert sized.block_size == 4 * 1024 * 1024
    assert sized.get("via-sas") == b"sas"
    with pytest.raises(StoreUrlError, match="create_if_missing=false"):
        get_store_from_url(f"azure://{account}:{sas}@{container}?use_sas&blob_endpoint={endpoint}")
    drop(azurite, container)


def test_url_parameters(azurite: dict[str, Any]) -> None:
    params = url2dict("azure://acct:k3y@box?use_sas&max_connections=3&socket_timeout=(20,100)"
                      "&max_block_size=4*1024*1024&max_single_put_size=67108864&checksum=false&create_if_missing=false")
    assert params == {
        "type": "azure", "account_name": "acct", "account_key": "k3y", "container": "box", "use_sas": True,
        "max_connections": 3, "socket_timeout": (20.0, 100.0), "max_block_size": 4194304,
        "max_single_put_size": 67108864, "checksum": False, "create_if_missing": False,
    }
    from urllib.parse import quote

    container = new_container()
    url = (f"azure://{container}?connection_string={quote(azurite['connection_string'], safe='')}"
           "&checksum=true")
    store = get_store_from_url(url)
    store.put("key", b"value")
    assert store.get("key") == b"value"
    drop(azurite, container)


def test_missing_container_without_create_is_a_clear_error(azurite: dict[str, Any]) -> None:
    container = new_container()
    with pytest.raises(BucketNotFoundError, match=container):
        AzureBlockBlobStore._from_params({"connection_string": azurite["connection_string"],
                                          "container": container}, create_if_missing=False)
    lazy = AzureBlockBlobStore(azurite["connection_string"], container, create_if_missing=False)
    for call in (lambda: lazy.get("key"), lambda: "key" in lazy, lambda: lazy.put("key", b"v"), lazy.keys,
                 lambda: list(lazy.iter_prefixes("/"))):
        with pytest.raises(BucketNotFoundError, match=container):
            call()


def test_wrong_key_gives_a_clear_error_without_the_secret(store: AzureBlockBlobStore, azurite: dict[str, Any]) -> None:
    store.put("key", b"value")
    wrong = "V3J vbmcga2V5IGZvciB0ZXN0aW5nIG9ubHkgLSBub3QgYSByZWFsIGtleSBhdCBhbGw=".replace(" ", "")
    bad = AzureBlockBlobStore(azurite["connection_string"].replace(azurite["account_key"], wrong), store.container)
    for call in (lambda: bad.get("key"), lambda: "key" in bad, lambda: bad.put("other", b"v"), bad.keys):
        with pytest.raises(StoreAccessDeniedError, match="check the credentials") as info:
            call()
        assert store.container in str(info.value)
        assert wrong not in str(info.value)
        assert azurite["account_key"] not in str(info.value)


def test_credentials_from_environment_and_fsspec_config(azurite: dict[str, Any], monkeypatch: Any) -> None:
    import fsspec.config

    container = new_container()
    AzureBlockBlobStore(azurite["connection_string"], container).put("key", b"value")
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY",
                 "AZURE_STORAGE_SAS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite["connection_string"])
    assert AzureBlockBlobStore(container=container).get("key") == b"value"
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")

    monkeypatch.setitem(fsspec.config.conf, "abfs", {"connection_string": azurite["connection_string"]})
    assert AzureBlockBlobStore(container=container).get("key") == b"value"
    # explicit storage options pass through and win
    wrong = azurite["connection_string"].replace(azurite["account_key"], "d3Jvbmc=" * 11)
    with pytest.raises(StoreAccessDeniedError):
        AzureBlockBlobStore(container=container, storage_options={"connection_string": wrong}).get("key")
    drop(azurite, container)


# -- behaviour ------------------------------------------------------------------------------------------


def test_keys_that_adlfs_would_rewrite_round_trip(store: AzureBlockBlobStore, azurite: dict[str, Any]) -> None:
    keys = ["a?#b", "ends?", "ends#", "a?b#c", "?", "#", "q?versionid=1", "x#y?z", "a[b]", "[ab]", "%3F"]
    store.put_many({key: key.encode() for key in keys})
    names = {item.name for item in service(azurite).get_container_client(store.container).list_blobs()}
    assert names == set(keys)
    assert store.get_many(keys) == {key: key.encode() for key in keys}
    assert sorted(store.keys()) == sorted(keys)
    assert sorted(store.keys("a?")) == ["a?#b", "a?b#c"]
    for key in keys:
        store.copy(key, key + "copy")
        assert store.get(key + "copy") == key.encode()
    store.delete_many(keys)
    assert sorted(store.keys()) == sorted(key + "copy" for key in keys)


def test_signed_url_downloads_with_a_plain_http_client(store: AzureBlockBlobStore) -> None:
    store.put("a?#b", b"signed value")
    url = store.url_for("a?#b")
    assert "sig=" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # Azurite checks the SAS signature
        assert response.read() == b"signed value"


def test_checksum_is_stored_and_verified(azurite: dict[str, Any]) -> None:
    container = new_container()
    store = AzureBlockBlobStore(azurite["connection_string"], container, checksum=True)
    store.put("small", b"value")
    store.put_file("streamed", io.BytesIO(b"s" * (9 * 1024 * 1024)))
    for key, value in (("small", b"value"), ("streamed", b"s" * (9 * 1024 * 1024))):
        properties = service(azurite).get_blob_client(container, key).get_blob_properties()
        assert bytes(properties.content_settings.content_md5) == hashlib.md5(value).digest()
        assert store.get(key) == value
    # a value changed behind the store's back, keeping the old MD5, is detected
    client = service(azurite).get_blob_client(container, "small")
    client.upload_blob(b"VALUE", overwrite=True)
    client.set_http_headers(blob.ContentSettings(content_md5=bytearray(hashlib.md5(b"value").digest())))
    with pytest.raises(OSError, match="MD5"):
        store.get("small")
    drop(azurite, container)


def test_open_works_with_pyarrow_parquet(store: AzureBlockBlobStore) -> None:
    parquet_round_trip(store)


def test_server_side_copy_and_delimiter_listing(store: AzureBlockBlobStore, azurite: dict[str, Any],
                                                 fault_proxy: Any) -> None:
    proxy = fault_proxy(azurite["blob_endpoint"])
    endpoint = proxy.url + "/" + azurite["account_name"]
    via_proxy = AzureBlockBlobStore(account_name=azurite["account_name"], account_key=azurite["account_key"],
                                    blob_endpoint=endpoint, container=store.container)
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


def test_throttling_is_retried_then_an_oserror_not_a_keyerror(store: AzureBlockBlobStore, azurite: dict[str, Any],
                                                              fault_proxy: Any) -> None:
    store.put("key", b"value")
    proxy = fault_proxy(azurite["blob_endpoint"])
    flaky = AzureBlockBlobStore(
        account_name=azurite["account_name"], account_key=azurite["account_key"], container=store.container,
        blob_endpoint=proxy.url + "/" + azurite["account_name"],
        service_client_kwargs={"retry_total": 2, "initial_backoff": 0.05, "increment_base": 0.1,
                               "random_jitter_range": 0},
    )
    assert_outage_is_an_oserror(flaky, proxy)


def test_an_interrupted_upload_publishes_nothing(store: AzureBlockBlobStore) -> None:
    assert_interrupted_upload_publishes_nothing(store)


def test_invalid_container_name_is_refused() -> None:
    with pytest.raises(ValueError, match="container"):
        AzureBlockBlobStore("AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/a", "bucket_66")


def test_memory_stays_bounded_while_streaming(azurite: dict[str, Any]) -> None:
    container = new_container()
    assert_memory_bound({"backend": "azure", "container": container,
                         "connection_string": azurite["connection_string"]})
    drop(azurite, container)
