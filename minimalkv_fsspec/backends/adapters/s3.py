"""S3FSStore: Amazon S3 and S3-compatible services (MinIO, Ceph, moto) over s3fs.

The store is a thin :class:`~minimalkv_fsspec.backends.adapters.generic.BucketStore`
on an ``s3fs.S3FileSystem``: ``store.fs`` is a real s3fs filesystem that pandas,
dask or pyarrow can use as it is. What the store adds: keys are taken literally
(s3fs would cut a key at ``?versionId=``), reads of a whole value are one GET,
large values stream as multipart uploads and ranged reads, ``iter_prefixes`` is
one delimiter listing, ``copy`` is a server-side copy, and credentials never show
up in a repr, an error message, a log record or a pickle.

Credentials come from, in order: the ``credentials`` argument (or the URL), the
``storage_options``, fsspec's configuration for ``s3`` (``fsspec.config.conf``,
``FSSPEC_S3_*`` variables), and finally botocore's own chain (``AWS_*`` variables,
``~/.aws`` profiles, container and instance roles).

Outages: requests time out after 5 s connecting and 15 s waiting for data (s3fs's
defaults; ``config_kwargs`` ``connect_timeout``/``read_timeout`` change them),
and botocore makes 3 attempts in its standard retry mode, so an unreachable
endpoint raises within a few seconds and a hung one after 3 read timeouts.
Errors name S3, the store and the key; the store reconnects by itself once the
service is back.
"""

from __future__ import annotations

import os
import secrets as _random
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from s3fs import S3FileSystem

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec.backends.adapters._base import name_backend_failure
from minimalkv_fsspec.backends.adapters.generic import (
    DEFAULT_BLOCK_SIZE,
    BucketStore,
    Secrets,
    merge_options,
    split_secret_options,
)
from minimalkv_fsspec.exceptions import StoreUrlError
from minimalkv_fsspec.urls import parse_bool

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["Credentials", "HS3FSStore", "KeySafeS3FileSystem", "S3FSStore"]

_TRANSIENT = frozenset({"loop", "asynchronous", "session", "skip_instance_cache"})

# The parameters of STS AssumeRole, as URL options "sts_assume_role__<Name>".
_ASSUME_ROLE_PARAMS = (
    "RoleArn", "RoleSessionName", "PolicyArns", "Policy", "DurationSeconds", "Tags", "TransitiveTagKeys",
    "ExternalId", "SerialNumber", "TokenCode", "SourceIdentity", "ProvidedContexts",
)


class Credentials(NamedTuple):
    """AWS credentials: an access key, its secret and an optional session token.

    ``repr`` shows the access key id only.
    """

    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None = None

    def as_boto3_params(self) -> dict[str, str | None]:
        """Return the credentials as keyword arguments of ``boto3.client(...)``."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }

    def __repr__(self) -> str:
        hidden = "'***'" if self.secret_access_key else "None"
        token = "'***'" if self.session_token else "None"
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key={hidden}, session_token={token})"


# Bodies from this size on still ask the server before they are sent.
_EXPECT_CONTINUE_FROM = 1024 * 1024


def _expect_continue_for_large_bodies(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
    from botocore.handlers import add_expect_header
    from botocore.utils import determine_content_length

    body = params.get("body")
    if body is None:
        return
    size = determine_content_length(body)
    if size is None or size >= _EXPECT_CONTINUE_FROM:
        add_expect_header(model, params, **kwargs)


class KeySafeS3FileSystem(S3FileSystem):  # type: ignore[misc]
    """An ``s3fs.S3FileSystem`` that takes object keys literally.

    s3fs cuts every path at ``?versionId=``, even when it is not version aware,
    so the valid key ``q?versionId=1`` would be stored as ``q``. Here a path is
    split into bucket and key only, unless the filesystem is ``version_aware``.

    botocore already retries failed requests (3 attempts in the store's standard
    retry mode); s3fs would repeat each of those sequences up to 5 times for a
    timeout, and reads twice over, so that a hung endpoint held a call for
    minutes. Here s3fs adds no attempts of its own (``retries = 1``).
    """

    retries = 1

    async def set_session(self, refresh: bool = False, kwargs: dict[str, Any] | None = None) -> Any:
        """Create the client, asking for ``100-continue`` only before large uploads.

        botocore sends ``Expect: 100-continue`` with every PUT and waits for the
        server's go-ahead, which costs a second round trip per small value.
        """
        client = await super().set_session(refresh, kwargs or {})
        from botocore.handlers import add_expect_header

        events = client.meta.events
        events.unregister("before-call.s3", add_expect_header)
        events.register("before-call.s3", _expect_continue_for_large_bodies, unique_id="minimalkv-expect")
        return client

    def split_path(self, path: str) -> tuple[str, str, str | None]:
        """Return ``(bucket, key, None)`` for *path*; see the class docstring."""
        if self.version_aware:
            return super().split_path(path)  # type: ignore[no-any-return]
        trail = path[len(path.rstrip("/")) :]
        path = self._strip_protocol(path).lstrip("/")
        if "/" not in path:
            return path, "", None
        bucket, key = self._find_bucket_key(path)
        return bucket, key + trail, None


def _boto3_bucket_parts(bucket: Any) -> tuple[str, str | None, str | None, Credentials | None]:
    """Return name, endpoint, region and credentials of a boto3 ``Bucket`` resource."""
    client = bucket.meta.client
    endpoint = getattr(client.meta, "endpoint_url", None)
    if endpoint and ".amazonaws.com" in endpoint:
        endpoint = None  # AWS itself: let botocore pick the regional endpoint
    region = getattr(client.meta, "region_name", None)
    credentials = None
    signer_credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    if signer_credentials is not None:
        frozen = signer_credentials.get_frozen_credentials()
        credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    return str(bucket.name), endpoint, region, credentials


class S3FSStore(BucketStore):
    """A store in an S3 bucket, over s3fs.

    Parameters
    ----------
    bucket
        The bucket's name (a boto3 ``Bucket`` resource is accepted too: its name,
        endpoint, region and credentials are used).
    credentials
        A :class:`Credentials`; if None, the credentials come from
        *storage_options*, fsspec's configuration or botocore's chain.
    object_prefix
        Prepended to every key as given: ``"data/"`` keeps the keys in a folder,
        ``"v1-"`` prefixes their names.
    url_valid_time
        Seconds a presigned URL from :meth:`url_for` stays valid; ``0`` (minimalkv's
        default, which would give an expired URL) means one hour.
    reduced_redundancy
        Store new objects with the ``REDUCED_REDUNDANCY`` storage class.
    public
        Give new objects the ``public-read`` ACL.
    metadata
        User metadata for every new object.
    verify
        Verify TLS certificates (False to skip; or the path of a CA bundle).
    region_name
        The bucket's region (also used when creating the bucket).
    is_sts_credentials
        Assume the role in *sts_assume_role_params* with the given (or default)
        credentials, through STS, refreshing the temporary credentials as they expire.
    sts_assume_role_params
        Parameters of STS ``AssumeRole``; ``RoleArn`` is required,
        ``RoleSessionName`` defaults to ``minimalkv-<timestamp>-<random>``.
    endpoint_url
        The S3 endpoint, for S3-compatible services and emulators.
    storage_options
        Passed to ``s3fs.S3FileSystem`` unchanged (they win over the options
        derived from the other arguments).
    fs
        An existing ``s3fs.S3FileSystem`` whose ``storage_options`` are reused;
        the store builds its own key-safe instance from them.
    create_if_missing
        Create the bucket on first write; if false, a missing bucket raises
        :class:`~minimalkv_fsspec.backends.adapters.generic.BucketNotFoundError`.
    block_size
        Part size of multipart uploads and of ranged reads.
    sts_endpoint_url
        The STS endpoint for *is_sts_credentials*; defaults to *endpoint_url*.

    Examples
    --------
    >>> store = S3FSStore("my-bucket", Credentials("AKID", "SECRET"))  # doctest: +SKIP
    >>> store.put("key", b"value")  # doctest: +SKIP
    'key'
    """

    _cat_kwargs = {"max_concurrency": 1}  # one GET, without s3fs's size probe (HEAD)

    def __init__(
        self,
        bucket: Any,
        credentials: Credentials | tuple[str, str] | tuple[str, str, str | None] | None = None,
        object_prefix: str = "",
        url_valid_time: int = 0,
        reduced_redundancy: bool = False,
        public: bool = False,
        metadata: Mapping[str, str] | None = None,
        verify: bool | str = True,
        region_name: str | None = None,
        is_sts_credentials: bool = False,
        sts_assume_role_params: Mapping[str, Any] | None = None,
        *,
        endpoint_url: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
        create_if_missing: bool = True,
        block_size: int = DEFAULT_BLOCK_SIZE,
        sts_endpoint_url: str | None = None,
    ) -> None:
        if not isinstance(bucket, str):
            bucket, bucket_endpoint, bucket_region, bucket_credentials = _boto3_bucket_parts(bucket)
            endpoint_url = endpoint_url or bucket_endpoint
            region_name = region_name or bucket_region
            credentials = credentials or bucket_credentials
        if credentials is not None and not isinstance(credentials, Credentials):
            credentials = Credentials(*credentials)
        if is_sts_credentials and not (sts_assume_role_params or {}).get("RoleArn"):
            raise ValueError("is_sts_credentials needs sts_assume_role_params with a 'RoleArn'")

        derived: dict[str, Any] = {}
        if endpoint_url:
            derived["endpoint_url"] = endpoint_url
        client_kwargs: dict[str, Any] = {}
        if region_name:
            client_kwargs["region_name"] = region_name
        if verify is not True:
            client_kwargs["verify"] = verify
        if client_kwargs:
            derived["client_kwargs"] = client_kwargs
        if credentials is not None:
            derived.update(key=credentials.access_key_id, secret=credentials.secret_access_key,
                           token=credentials.session_token)
        given: dict[str, Any] = {}
        if fs is not None:
            given.update({name: value for name, value in fs.storage_options.items() if name not in _TRANSIENT})
        given.update({name: value for name, value in (storage_options or {}).items() if name not in _TRANSIENT})
        options = merge_options({name: value for name, value in derived.items() if value is not None}, given)
        options.setdefault("default_block_size", block_size)
        options.setdefault("use_listings_cache", False)
        public_options, secret_options = split_secret_options(options)

        self.endpoint_url = options.get("endpoint_url")
        self.region_name = region_name or options.get("client_kwargs", {}).get("region_name")
        self.public = public
        self.reduced_redundancy = reduced_redundancy
        self.metadata = dict(metadata or {})
        self.is_sts_credentials = is_sts_credentials
        self.sts_assume_role_params = dict(sts_assume_role_params or {})
        self.sts_endpoint_url = sts_endpoint_url
        self._options = public_options
        self._secrets = Secrets(secret_options)

        write_kwargs: dict[str, Any] = {}
        if self.metadata:
            write_kwargs["Metadata"] = self.metadata
        if reduced_redundancy:
            write_kwargs["StorageClass"] = "REDUCED_REDUNDANCY"
        if public:
            write_kwargs["ACL"] = "public-read"
        super().__init__(
            self._build_fs(),
            bucket,
            object_prefix,
            secrets=self._secrets,
            create_if_missing=create_if_missing,
            write_kwargs=write_kwargs,
            url_valid_time=url_valid_time or 3600,
            block_size=block_size,
        )

    @property
    def bucket(self) -> str:
        """The bucket's name (minimalkv held a boto3 ``Bucket`` here)."""
        return self._bucket

    def __repr__(self) -> str:
        endpoint = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"{type(self).__name__}(bucket={self._bucket!r}, object_prefix={self.object_prefix!r}{endpoint})"

    # -- filesystem ---------------------------------------------------------------------------

    def _build_fs(self) -> AbstractFileSystem:
        options = merge_options(self._options, self._secrets.as_dict())
        # botocore's pool of 10 connections would cap get_many's concurrent requests.
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", 64)
        # botocore's legacy mode makes 5 attempts with growing pauses (a dead endpoint took
        # 5-20 s to report); standard mode's 3 attempts still ride out a throttling burst.
        config.setdefault("retries", {"max_attempts": 3, "mode": "standard"})
        options["config_kwargs"] = config
        if self.is_sts_credentials:
            options["session"] = self._assume_role_session(options)
        return KeySafeS3FileSystem(**options, skip_instance_cache=True)

    def _assume_role_session(self, options: dict[str, Any]) -> Any:
        """Return an aiobotocore session whose credentials come from STS AssumeRole, refreshed on expiry.

        The source credentials (*options* ``key``/``secret``/``token``, or botocore's
        chain) are removed from *options*: the filesystem uses the role's credentials.
        """
        from aiobotocore.credentials import AioDeferredRefreshableCredentials
        from aiobotocore.session import AioSession

        source = {
            "aws_access_key_id": options.pop("key", None),
            "aws_secret_access_key": options.pop("secret", None),
            "aws_session_token": options.pop("token", None),
        }
        client_options = {name: value for name, value in source.items() if value is not None}
        endpoint = self.sts_endpoint_url or options.get("endpoint_url")
        if endpoint:
            client_options["endpoint_url"] = endpoint
        region = self.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        client_options["region_name"] = region
        verify = options.get("client_kwargs", {}).get("verify")
        if verify is not None:
            client_options["verify"] = verify
        params = dict(self.sts_assume_role_params)
        params.setdefault("RoleSessionName", f"minimalkv-{int(time.time())}-{_random.token_hex(4)}")
        if "DurationSeconds" in params:
            params["DurationSeconds"] = int(params["DurationSeconds"])
        source_session = AioSession()

        async def assume_role() -> dict[str, str]:
            async with source_session.create_client("sts", **client_options) as sts:
                response = await sts.assume_role(**params)
            temporary = response["Credentials"]
            return {
                "access_key": temporary["AccessKeyId"],
                "secret_key": temporary["SecretAccessKey"],
                "token": temporary["SessionToken"],
                "expiry_time": temporary["Expiration"].isoformat(),
            }

        session = AioSession()
        session._credentials = AioDeferredRefreshableCredentials(refresh_using=assume_role, method="sts-assume-role")
        return session

    # -- backend specifics --------------------------------------------------------------------

    def _access_denied(self, exc: BaseException) -> bool:
        return super()._access_denied(exc) or type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError")

    def _backend_error(self, exc: BaseException, key: str) -> BaseException:
        return name_backend_failure("S3", self, super()._backend_error(exc, key), exc, key, self._secrets.redact)

    def _has_key(self, key: str) -> bool:
        # One HEAD; fs.info would follow a 404 with a listing to look for a "directory".
        with self._translate(key):
            try:
                self.fs.call_s3("head_object", Bucket=self._bucket, Key=self._path(key)[len(self._bucket) + 1 :])
            except FileNotFoundError:
                self._confirm_root()
                return False
        return True

    def _create_root(self) -> None:
        params: dict[str, Any] = {"Bucket": self._bucket}
        # us-east-1 is the one region that must not be named as a location constraint.
        if self.region_name and self.region_name != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region_name}
        try:
            self.fs.call_s3("create_bucket", **params)
        except FileExistsError:
            if not self.fs.exists(self._bucket):  # BucketAlreadyExists: someone else's bucket
                raise
        self.fs.invalidate_cache()

    def _list_delimited(self, name_prefix: str, delimiter: str) -> Iterator[tuple[str, bool]]:
        request: dict[str, Any] = {"Bucket": self._bucket, "Prefix": name_prefix, "Delimiter": delimiter}
        while True:
            page = self.fs.call_s3("list_objects_v2", **request)
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"], True
            for item in page.get("Contents", []):
                yield item["Key"], False
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

    # -- URL scheme ---------------------------------------------------------------------------

    _url_options = (
        "force_bucket_suffix", "is_secure", "use_ssl", "verify", "region_name", "session_token",
        "is_sts_credentials", *(f"sts_assume_role__{name}" for name in _ASSUME_ROLE_PARAMS),
    )

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        query = url.query
        bucket, _, object_prefix = url.path.lstrip("/").partition("/")
        if not bucket:
            raise StoreUrlError("an s3 URL names the bucket in its path: s3://[key:secret@]host[:port]/bucket")
        params: dict[str, Any] = {
            "host": url.host if url.port is None else f"{url.host}:{url.port}",
            "access_key": url.username,
            "secret_key": url.password,
            "bucket": bucket,
            "object_prefix": object_prefix,
            "force_bucket_suffix": parse_bool(query.get("force_bucket_suffix", "true"), "force_bucket_suffix"),
            "is_secure": parse_bool(query.get("is_secure", query.get("use_ssl", "true")), "is_secure"),
            "region_name": query.get("region_name"),
            "session_token": query.get("session_token"),
            "is_sts_credentials": parse_bool(query.get("is_sts_credentials", "false"), "is_sts_credentials"),
        }
        verify = query.get("verify", "true")
        try:
            params["verify"] = parse_bool(verify, "verify")
        except StoreUrlError:
            params["verify"] = verify  # the path of a CA bundle
        assume_role: dict[str, Any] = {name[len("sts_assume_role__") :]: value for name, value in query.items()
                                       if name.startswith("sts_assume_role__")}
        if assume_role:
            if "DurationSeconds" in assume_role:
                assume_role["DurationSeconds"] = int(assume_role["DurationSeconds"])
            params["sts_assume_role_params"] = assume_role
        return params

    @classmethod
    def _from_parsed_url(cls, parsed_url: Any, query: Mapping[str, str]) -> S3FSStore:
        """Build a store from a split URL and its options, as minimalkv's ``S3FSStore._from_parsed_url``.

        Parameters
        ----------
        parsed_url
            The URL split by ``uritools.urisplit`` or ``urllib.parse.urlsplit``.
        query
            The URL's options (they override those in *parsed_url*).

        Raises
        ------
        ValueError
            If the URL is not a valid s3 store URL.
        """
        from minimalkv_fsspec.urls import StoreUrl, parse_url

        text = parsed_url.geturi() if hasattr(parsed_url, "geturi") else parsed_url.geturl()
        parsed = parse_url(str(text))
        url = StoreUrl(scheme=parsed.scheme, username=parsed.username, password=parsed.password,
                       host=parsed.host, port=parsed.port, path=parsed.path,
                       query={**parsed.query, **{name: str(value) for name, value in query.items()}})
        create_if_missing = parse_bool(url.query.get("create_if_missing", "true"), "create_if_missing")
        return cls._from_params(cls._url_params(url), create_if_missing=create_if_missing)

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> S3FSStore:
        access_key = params.get("access_key")
        bucket = params.get("bucket")
        if not bucket:
            raise StoreUrlError("an s3 store needs a bucket")
        if params.get("force_bucket_suffix", True):
            suffix_key = access_key or os.environ.get("AWS_ACCESS_KEY_ID")
            if not suffix_key:
                raise StoreUrlError(
                    "force_bucket_suffix (on by default) appends '-<access key>' to the bucket name, but no "
                    "access key is in the URL or AWS_ACCESS_KEY_ID; add force_bucket_suffix=false to the URL"
                )
            suffix = f"-{suffix_key.lower()}"
            if not bucket.endswith(suffix):
                bucket += suffix
        host = params.get("host")
        endpoint_url = params.get("endpoint_url")
        if host and not endpoint_url:
            endpoint_url = f"{'https' if params.get('is_secure', True) else 'http'}://{host}"
        secret_key = params.get("secret_key")
        session_token = params.get("session_token")
        credentials = Credentials(access_key, secret_key, session_token) if access_key or secret_key else None
        storage_options = dict(params.get("storage_options") or {})
        if credentials is None and session_token:
            storage_options.setdefault("token", session_token)
        store = cls(
            bucket,
            credentials,
            object_prefix=params.get("object_prefix", ""),
            verify=params.get("verify", True),
            region_name=params.get("region_name"),
            is_sts_credentials=bool(params.get("is_sts_credentials", False)),
            sts_assume_role_params=params.get("sts_assume_role_params"),
            endpoint_url=endpoint_url,
            storage_options=storage_options,
            create_if_missing=create_if_missing,
        )
        if not create_if_missing:
            store._confirm_root()
        return store


class HS3FSStore(ExtendedKeyspaceMixin, S3FSStore):
    """An :class:`S3FSStore` whose keys may hold ``/`` (folders) and spaces."""
