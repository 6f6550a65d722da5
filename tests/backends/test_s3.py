"""S3FSStore and HS3FSStore against moto's S3 server: conformance suite and S3 specifics."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from minimalkv_fsspec import get_store, get_store_from_url, url2dict
from minimalkv_fsspec.exceptions import StoreUrlError
from minimalkv_fsspec.testing import StoreTests
from tests.fixtures.cloud_emulators import (
    assert_interrupted_upload_publishes_nothing,
    assert_memory_bound,
    assert_outage_is_an_oserror,
    parquet_round_trip,
    require,
)

require("s3fs", "pip install 'minimalkv_fsspec[s3]'")
boto3 = require("boto3", "pip install 'minimalkv_fsspec[s3]'")

from minimalkv_fsspec.backends.adapters.generic import (  # noqa: E402
    BucketNotFoundError,
    SecretsNotTransferredWarning,
    StoreAccessDeniedError,
)
from minimalkv_fsspec.net.boto3store import Boto3Store, map_boto3_exceptions  # noqa: E402
from minimalkv_fsspec.net.botostore import BotoStore  # noqa: E402
from minimalkv_fsspec.net.s3fsstore import Credentials, HS3FSStore, S3FSStore  # noqa: E402

SECRET = "s3-secret-Zq8vN2xKp4"


def new_bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


_clients: dict[str, Any] = {}


def raw_client(moto: dict[str, Any]) -> Any:
    """Return a boto3 client of the moto server, bypassing s3fs (one per server)."""
    if moto["endpoint_url"] not in _clients:
        _clients[moto["endpoint_url"]] = boto3.client(
            "s3", endpoint_url=moto["endpoint_url"], aws_access_key_id="raw", aws_secret_access_key="raw",
            region_name="us-east-1",
        )
    return _clients[moto["endpoint_url"]]


def empty_bucket(client: Any, bucket: str) -> None:
    try:
        listing = client.list_objects_v2(Bucket=bucket)
    except client.exceptions.NoSuchBucket:
        return
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


class TestS3FSStore(StoreTests):
    store_class: type[S3FSStore] = S3FSStore
    stateful_steps = 5  # every step is a few HTTP requests to the emulator

    @pytest.fixture
    def store(self, moto_server: dict[str, Any]) -> Iterator[S3FSStore]:
        bucket = new_bucket()
        self.client = raw_client(moto_server)
        yield self.store_class(bucket, Credentials("testing", SECRET), endpoint_url=moto_server["endpoint_url"])
        empty_bucket(self.client, bucket)

    def side_get(self, store: Any, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=store.bucket, Key=key)
        except (self.client.exceptions.NoSuchKey, self.client.exceptions.NoSuchBucket):
            return None
        return bytes(response["Body"].read())

    def side_put(self, store: Any, key: str, value: bytes) -> None:
        try:
            self.client.create_bucket(Bucket=store.bucket)
        except self.client.exceptions.BucketAlreadyOwnedByYou:
            pass
        self.client.put_object(Bucket=store.bucket, Key=key, Body=value)


class TestHS3FSStore(TestS3FSStore):
    store_class = HS3FSStore


@pytest.fixture
def client(moto_server: dict[str, Any]) -> Any:
    return raw_client(moto_server)


@pytest.fixture
def store(moto_server: dict[str, Any], client: Any) -> Iterator[S3FSStore]:
    bucket = new_bucket()
    yield S3FSStore(bucket, Credentials("testing", SECRET), endpoint_url=moto_server["endpoint_url"])
    empty_bucket(client, bucket)


# -- URLs --------------------------------------------------------------------------------------------


def host_of(moto: dict[str, Any]) -> str:
    return str(moto["endpoint_url"]).split("://", 1)[1]


def test_seed_url_forms_build_working_stores(moto_server: dict[str, Any]) -> None:
    host = host_of(moto_server)
    bucket = new_bucket()
    # s3://access_key:secret_key@endpoint/bucket[?create_if_missing=true], as in minimalkv's documentation.
    store = get_store_from_url(f"s3://testing:{SECRET}@{host}/{bucket}?create_if_missing=true&is_secure=false")
    assert type(store) is S3FSStore
    assert store.bucket == f"{bucket}-testing"  # force_bucket_suffix defaults to true
    store.put("key", b"value")
    assert store.get("key") == b"value"

    hstore = get_store_from_url(f"hs3://testing:{SECRET}@{host}/{bucket}?create_if_missing=true&is_secure=false")
    assert type(hstore) is HS3FSStore
    hstore.put("dir/sub key", b"nested")
    assert hstore.get("dir/sub key") == b"nested"
    assert sorted(hstore.keys()) == ["dir/sub key", "key"]

    boto = get_store_from_url(f"boto://testing:{SECRET}@{host}/{bucket}?is_secure=false")
    assert type(boto) is S3FSStore
    assert boto.get("key") == b"value"


def test_url_options(moto_server: dict[str, Any]) -> None:
    host = host_of(moto_server)
    bucket = new_bucket()
    url = (f"s3://AKIDEXAMPLE:{SECRET}@{host}/{bucket}/data/?force_bucket_suffix=false&is_secure=false"
           "&verify=false&region_name=eu-central-1&session_token=tok-123456")
    params = url2dict(url)
    assert params["bucket"] == bucket
    assert params["object_prefix"] == "data/"
    assert params["verify"] is False
    assert params["region_name"] == "eu-central-1"
    store = get_store_from_url(url)
    assert store.bucket == bucket
    assert store.object_prefix == "data/"
    assert store.region_name == "eu-central-1"
    store.put("key", b"value")  # creates the bucket in eu-central-1
    assert raw_client(moto_server).get_object(Bucket=bucket, Key="data/key")["Body"].read() == b"value"
    assert store.fs.token == "tok-123456"
    assert url2dict(f"s3://{host}/b?is_secure=true&force_bucket_suffix=false")["is_secure"] is True


def test_from_parsed_url_as_in_minimalkv(moto_server: dict[str, Any]) -> None:
    from urllib.parse import urlsplit

    bucket = new_bucket()
    parsed = urlsplit(f"s3://testing:{SECRET}@{host_of(moto_server)}/{bucket}?is_secure=false")
    store = S3FSStore._from_parsed_url(parsed, {"force_bucket_suffix": "false"})
    store.put("key", b"value")
    assert store.bucket == bucket
    assert store.get("key") == b"value"


def test_force_bucket_suffix_needs_an_access_key(moto_server: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(StoreUrlError, match="force_bucket_suffix"):
        get_store_from_url(f"s3://{host_of(moto_server)}/bucket-x?is_secure=false")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "EnvKey")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    store = get_store_from_url(f"s3://{host_of(moto_server)}/bucket-x?is_secure=false")
    assert store.bucket == "bucket-x-envkey"
    already = get_store_from_url(f"s3://{host_of(moto_server)}/bucket-x-envkey?is_secure=false")
    assert already.bucket == "bucket-x-envkey"


def test_missing_bucket_without_create_is_a_clear_error(moto_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    url = f"s3://testing:{SECRET}@{host_of(moto_server)}/{bucket}?is_secure=false&create_if_missing=false"
    with pytest.raises(BucketNotFoundError, match=bucket) as info:
        get_store_from_url(url + "&force_bucket_suffix=false")
    assert not isinstance(info.value, KeyError)
    assert SECRET not in str(info.value)
    lazy = S3FSStore(bucket, Credentials("testing", SECRET), endpoint_url=moto_server["endpoint_url"],
                     create_if_missing=False)
    for call in (lambda: lazy.get("key"), lambda: "key" in lazy, lambda: lazy.put("key", b"v"), lazy.keys):
        with pytest.raises(BucketNotFoundError, match=bucket):
            call()


def test_get_store_with_parameters(moto_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    store = get_store("s3", host=host_of(moto_server), access_key="testing", secret_key=SECRET, bucket=bucket,
                      is_secure=False, force_bucket_suffix=False)
    store.put("key", b"value")
    assert store.bucket == bucket
    assert store.get("key") == b"value"


def test_sts_assume_role(moto_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    url = (f"s3://testing:{SECRET}@{host_of(moto_server)}/{bucket}?is_secure=false&force_bucket_suffix=false"
           "&is_sts_credentials=true&sts_assume_role__RoleArn=arn:aws:iam::123456789012:role/store"
           "&sts_assume_role__DurationSeconds=900")
    assert url2dict(url)["sts_assume_role_params"] == {
        "RoleArn": "arn:aws:iam::123456789012:role/store", "DurationSeconds": 900}
    store = get_store_from_url(url)
    store.put("key", b"value")
    assert store.get("key") == b"value"
    from fsspec.asyn import sync

    credentials = store.fs.session._credentials
    assert credentials.method == "sts-assume-role"
    frozen = sync(store.fs.loop, credentials.get_frozen_credentials)
    assert frozen.access_key not in ("testing", None)  # the role's temporary key, from STS
    assert frozen.token
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("key") == b"value"
    with pytest.raises(ValueError, match="RoleArn"):
        S3FSStore(bucket, is_sts_credentials=True)


# -- credentials ----------------------------------------------------------------------------------------


def test_wrong_credentials_give_a_clear_error_without_the_secret(moto_auth_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    good = S3FSStore(bucket, Credentials(moto_auth_server["key"], moto_auth_server["secret"]),
                     endpoint_url=moto_auth_server["endpoint_url"])
    good.put("key", b"value")
    wrong = "Wrong-Secret-Value-123456"
    bad = S3FSStore(bucket, Credentials(moto_auth_server["key"], wrong), endpoint_url=moto_auth_server["endpoint_url"])
    for call in (lambda: bad.get("key"), lambda: "key" in bad, lambda: bad.put("other", b"v"), bad.keys):
        with pytest.raises(StoreAccessDeniedError, match="check the credentials") as info:
            call()
        assert bucket in str(info.value)
        assert wrong not in str(info.value)
        assert not isinstance(info.value, KeyError)


def test_credentials_from_environment_profile_and_fsspec_config(
    moto_auth_server: dict[str, Any], monkeypatch: Any, tmp_path: Any
) -> None:
    import fsspec.config

    endpoint, key, secret = moto_auth_server["endpoint_url"], moto_auth_server["key"], moto_auth_server["secret"]
    bucket = new_bucket()
    S3FSStore(bucket, Credentials(key, secret), endpoint_url=endpoint).put("key", b"value")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    # botocore's chain: environment variables
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert S3FSStore(bucket, endpoint_url=endpoint).get("key") == b"value"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(StoreAccessDeniedError):
        S3FSStore(bucket, endpoint_url=endpoint).get("key")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    # botocore's chain: a profile in a shared credentials file
    (tmp_path / "credentials").write_text(
        f"[store]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "store")
    assert S3FSStore(bucket, endpoint_url=endpoint).get("key") == b"value"
    monkeypatch.delenv("AWS_PROFILE")

    # fsspec's configuration for the s3 protocol (what FSSPEC_S3_* variables and config files fill)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"key": key, "secret": secret, "endpoint_url": endpoint})
    assert S3FSStore(bucket).get("key") == b"value"
    # explicit storage options pass through and win
    explicit = S3FSStore(bucket, storage_options={"key": key, "secret": "explicit-wrong", "endpoint_url": endpoint})
    with pytest.raises(StoreAccessDeniedError):
        explicit.get("key")


def test_fsspec_environment_variables_in_a_fresh_process(moto_auth_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    S3FSStore(bucket, Credentials(moto_auth_server["key"], moto_auth_server["secret"]),
              endpoint_url=moto_auth_server["endpoint_url"]).put("key", b"from env")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "FSSPEC_"))}
    env.update(FSSPEC_S3_KEY=moto_auth_server["key"], FSSPEC_S3_SECRET=moto_auth_server["secret"],
               FSSPEC_S3_ENDPOINT_URL=moto_auth_server["endpoint_url"], AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               AWS_CONFIG_FILE="/nonexistent")
    code = ("from minimalkv_fsspec.net.s3fsstore import S3FSStore; import sys; "
            f"sys.stdout.write(S3FSStore({bucket!r}).get('key').decode())")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "from env"


def test_unpickling_elsewhere_falls_back_to_the_default_chain(moto_server: dict[str, Any]) -> None:
    bucket = new_bucket()
    store = S3FSStore(bucket, Credentials("testing", SECRET), endpoint_url=moto_server["endpoint_url"])
    store.put("key", b"value")
    pickled = pickle.dumps(store)
    code = ("import pickle, sys, warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    store = pickle.loads(sys.stdin.buffer.read())\n"
            "print(caught[0].category.__name__, store.fs.secret, store.get('key').decode())\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "from-environment"}
    result = subprocess.run([sys.executable, "-c", code], input=pickled, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.decode().split() == [SecretsNotTransferredWarning.__name__, "None", "value"]


# -- behaviour ---------------------------------------------------------------------------------------


def test_keys_are_taken_literally(store: S3FSStore, client: Any) -> None:
    keys = ["q?versionId=1", "a?#b", "ends?", "ends#", "a[b]", "[ab]", "%41"]
    store.put_many({key: key.encode() for key in keys})
    names = {item["Key"] for item in client.list_objects_v2(Bucket=store.bucket)["Contents"]}
    assert names == set(keys)
    assert store.get_many(keys) == {key: key.encode() for key in keys}
    store.delete_many(keys)
    assert store.keys() == []


def test_signed_url_downloads_with_a_plain_http_client(store: S3FSStore) -> None:
    store.put("a?#b", b"signed value")
    url = store.url_for("a?#b")
    assert "Signature=" in url or "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"signed value"


def test_object_options_from_the_constructor(moto_server: dict[str, Any], client: Any) -> None:
    bucket = new_bucket()
    store = S3FSStore(bucket, Credentials("testing", SECRET), endpoint_url=moto_server["endpoint_url"],
                      public=True, reduced_redundancy=True, metadata={"owner": "tests"})
    store.put("small", b"value")
    store.put_file("streamed", io.BytesIO(b"x" * (9 * 1024 * 1024)))
    for key in ("small", "streamed"):
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {"owner": "tests"}
        assert head.get("StorageClass") == "REDUCED_REDUNDANCY"
        grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert any(grant["Grantee"].get("URI", "").endswith("AllUsers") for grant in grants)
    empty_bucket(client, bucket)


def test_open_works_with_pyarrow_parquet(store: S3FSStore) -> None:
    parquet_round_trip(store)


def test_server_side_copy_listing_and_batches(store: S3FSStore, fault_proxy: Any) -> None:
    proxy = fault_proxy(store.endpoint_url)
    via_proxy = S3FSStore(store.bucket, Credentials("testing", SECRET), endpoint_url=proxy.url)
    via_proxy.put_file("large", io.BytesIO(b"z" * (12 * 1024 * 1024)))
    proxy.reset_counters()
    via_proxy.copy("large", "copy")
    assert proxy.bytes_up + proxy.bytes_down < 64 * 1024  # no round trip through the client
    assert via_proxy.get("copy") == b"z" * (12 * 1024 * 1024)

    via_proxy.put_many({f"d{index}X{leaf}": b"1" for index in range(20) for leaf in range(3)})
    proxy.reset_counters()
    assert sorted(via_proxy.iter_prefixes("X", prefix="d1")) == ["d10X", "d11X", "d12X", "d13X", "d14X",
                                                                 "d15X", "d16X", "d17X", "d18X", "d19X", "d1X"]
    assert len(proxy.log) == 1
    assert "delimiter=X" in proxy.log[0][1]

    proxy.reset_counters()
    assert via_proxy.get("copy")[:1] == b"z"
    assert [method for method, _ in proxy.log] == ["GET"]  # no HEAD before the GET

    proxy.reset_counters()
    via_proxy.delete_many([f"d{index}X{leaf}" for index in range(20) for leaf in range(3)])
    assert [method for method, _ in proxy.log] == ["POST"]  # one DeleteObjects request
    assert via_proxy.keys("d") == []


def test_throttling_is_retried_then_an_oserror_not_a_keyerror(store: S3FSStore, fault_proxy: Any) -> None:
    store.put("key", b"value")
    proxy = fault_proxy(store.endpoint_url)
    flaky = S3FSStore(store.bucket, Credentials("testing", SECRET), endpoint_url=proxy.url,
                      storage_options={"config_kwargs": {"retries": {"total_max_attempts": 1}}})
    flaky.fs.retries = 3  # s3fs's own retry loop (5 by default), shortened to keep the test quick
    assert_outage_is_an_oserror(flaky, proxy)


def test_an_interrupted_upload_publishes_nothing(store: S3FSStore) -> None:
    assert_interrupted_upload_publishes_nothing(store)


def test_memory_stays_bounded_while_streaming(moto_server: dict[str, Any], client: Any) -> None:
    bucket = new_bucket()
    assert_memory_bound({"backend": "s3", "bucket": bucket, **moto_server})
    empty_bucket(client, bucket)


# -- compatibility names ---------------------------------------------------------------------------------


def test_credentials_tuple() -> None:
    credentials = Credentials("AKID", SECRET, "token-value")
    assert credentials.as_boto3_params() == {"aws_access_key_id": "AKID", "aws_secret_access_key": SECRET,
                                             "aws_session_token": "token-value"}
    assert SECRET not in repr(credentials)


def test_boto3_and_boto_store_aliases(moto_server: dict[str, Any], client: Any) -> None:
    bucket = new_bucket()
    resource = boto3.resource("s3", endpoint_url=moto_server["endpoint_url"], aws_access_key_id="testing",
                              aws_secret_access_key=SECRET, region_name="us-east-1")
    resource.create_bucket(Bucket=bucket)
    with pytest.warns(DeprecationWarning, match="object_prefix"):
        store = Boto3Store(resource.Bucket(bucket), prefix="p/")
    store.put("key", b"via boto3 bucket")
    assert client.get_object(Bucket=bucket, Key="p/key")["Body"].read() == b"via boto3 bucket"
    assert store.endpoint_url == moto_server["endpoint_url"]

    class Connection:  # the attributes minimalkv's BotoStore read from a boto 2 bucket
        host, port, is_secure = "127.0.0.1", int(moto_server["endpoint_url"].rsplit(":", 1)[1]), False
        aws_access_key_id, aws_secret_access_key = "testing", SECRET

    class Boto2Bucket:
        name = bucket
        connection = Connection()

    legacy = BotoStore(Boto2Bucket(), prefix="p/")
    assert legacy.get("key") == b"via boto3 bucket"
    with pytest.raises(KeyError), map_boto3_exceptions("nope"):
        client.get_object(Bucket=bucket, Key="nope")
    empty_bucket(client, bucket)


def test_json_url_params_hold_no_surprises(moto_server: dict[str, Any]) -> None:
    params = url2dict(f"s3://a:b@{host_of(moto_server)}/bucket?is_secure=false")
    assert json.loads(json.dumps(params))["access_key"] == "a"
