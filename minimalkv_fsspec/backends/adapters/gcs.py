"""GoogleCloudStore: Google Cloud Storage (and fake-gcs-server) over gcsfs.

The store is a thin :class:`~minimalkv_fsspec.backends.adapters.generic.BucketStore`
on a ``gcsfs.core.GCSFileSystem`` (``store.fs``). It uses the plain class on
purpose: since gcsfs 2026.10, ``gcsfs.GCSFileSystem`` may be an extended class that
asks a gRPC API about every bucket's layout, which stalls against emulators (unless
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``). Large values are resumable uploads
and ranged reads of ``block_size``; ``iter_prefixes`` is one delimiter listing;
``copy`` is a server-side rewrite.

Credentials (gcsfs's ``token``) come from, in order: the ``credentials`` argument
(a service-account JSON file, its content, a dict, a ``google.auth`` credentials
object, or ``"anon"``), ``storage_options``, fsspec's configuration for ``gs``/``gcs``,
and finally gcsfs's chain: Google application default credentials
(``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``),
the gcsfs token cache, the metadata server, then anonymous access.

Outages: each request makes 3 attempts (1-2 s and 2-3 s apart) and waits at most
10 s to connect and 60 s for each read (``storage_options={"requests_timeout":
aiohttp.ClientTimeout(...)}`` changes that), so an unreachable endpoint raises
within a few seconds. Errors name Google Cloud Storage, the store and the key;
the store reconnects by itself once the service is back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fsspec.asyn import sync
from gcsfs.core import GCSFileSystem
from gcsfs.retry import retry_request

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec.backends.adapters._base import name_backend_failure
from minimalkv_fsspec.backends.adapters.generic import (
    DEFAULT_BLOCK_SIZE,
    BucketStore,
    Secrets,
    merge_options,
    split_secret_options,
)
from minimalkv_fsspec.exceptions import BackendError, StoreUrlError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["GoogleCloudStore", "HGoogleCloudStore", "KeySafeGCSFileSystem"]

_TRANSIENT = frozenset({"loop", "asynchronous", "skip_instance_cache"})
# gcsfs token values that name an authentication method rather than hold a secret.
_TOKEN_MODES = frozenset({"anon", "google_default", "cache", "cloud", "browser"})
_ATTEMPTS = 3
# aiohttp's session default is 30 s to connect and 300 s for a whole request.
_CONNECT_TIMEOUT, _READ_TIMEOUT = 10.0, 60.0


class KeySafeGCSFileSystem(GCSFileSystem):  # type: ignore[misc]
    """The plain ``gcsfs.core.GCSFileSystem``, as the store uses it.

    gcsfs takes object names literally unless it is ``version_aware`` (then
    ``#<generation>`` and ``?generation=`` are parsed out of paths); the store
    builds it with ``version_aware=False`` unless told otherwise. This subclass
    pins the plain class (never the experimental extended one), and makes 3
    attempts per request instead of gcsfs's 6, which pause 1+2+4+8+16 s in
    between: an unreachable endpoint raises within a few seconds.
    """

    _request = retry_request(retries=_ATTEMPTS)(GCSFileSystem._request.__wrapped__)


def _decode_url_credentials(text: str) -> bytes | str:
    """Return the credentials JSON of a gcs URL's user part (urlsafe base64), or a token mode."""
    if text in _TOKEN_MODES:
        return text
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if not isinstance(json.loads(raw), dict):
            raise ValueError("not a JSON object")
    except (binascii.Error, ValueError):
        raise StoreUrlError(
            "the user part of a gcs URL must be the urlsafe-base64 credentials JSON "
            "(base64.urlsafe_b64encode(Path(json_file).read_bytes())) or 'anon'"
        ) from None
    return raw


def _check_credentials_fields(info: Mapping[str, Any]) -> None:
    """Refuse credentials that gcsfs cannot use: it would raise KeyError for the first missing field."""
    if info.get("type") == "service_account":
        needed = ("client_email", "private_key", "token_uri")
    else:
        needed = ("refresh_token", "client_id", "client_secret")  # an authorized user
    missing = [name for name in needed if name not in info]
    if missing:
        raise ValueError(f"GoogleCloudStore credentials lack {', '.join(missing)}: "
                         "use a service account's or an authorized user's credentials JSON")


class GoogleCloudStore(BucketStore):
    """A store in a Google Cloud Storage bucket, over gcsfs.

    Parameters
    ----------
    credentials
        The path of a service-account (or authorized-user) JSON file, its content
        (``str``/``bytes``), the parsed dict, a ``google.auth`` credentials object,
        a gcsfs token mode (``"anon"``, ``"google_default"``, ``"cloud"``), or None for
        gcsfs's chain (application default credentials, ..., anonymous).
    bucket_name
        The bucket's name.
    create_if_missing
        Create the bucket on first write; if false, a missing bucket raises
        :class:`~minimalkv_fsspec.backends.adapters.generic.BucketNotFoundError`.
    bucket_creation_location
        Where a new bucket is created, e.g. ``"EUROPE-WEST3"`` or ``"US"``.
    project
        The project that owns (or will own) the bucket; read from the credentials
        JSON (``project_id``) if not given.
    object_prefix
        Prepended to every key as given (``"data/"`` is a folder).
    url_valid_time
        Seconds a signed URL from :meth:`url_for` stays valid.
    endpoint_url
        The API endpoint, for emulators (``http://127.0.0.1:4443``); defaults to
        ``STORAGE_EMULATOR_HOST`` or Google's endpoint.
    storage_options
        Passed to ``gcsfs.core.GCSFileSystem`` unchanged (they win over the options
        derived from the other arguments).
    fs
        An existing ``gcsfs.GCSFileSystem`` whose ``storage_options`` are reused.
    block_size
        Chunk size of resumable uploads and of ranged reads (a multiple of 256 KiB).

    Examples
    --------
    >>> store = GoogleCloudStore("service-account.json", "my-bucket")  # doctest: +SKIP
    >>> store.put("key", b"value")  # doctest: +SKIP
    'key'
    """

    def __init__(
        self,
        credentials: Any = None,
        bucket_name: str | None = None,
        create_if_missing: bool = True,
        bucket_creation_location: str = "EUROPE-WEST3",
        project: str | None = None,
        *,
        object_prefix: str = "",
        url_valid_time: int = 3600,
        endpoint_url: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        if not bucket_name:
            raise ValueError("GoogleCloudStore needs a bucket_name")
        token: Any = credentials
        secret_token: Any = None
        if isinstance(credentials, bytes):
            credentials = credentials.decode("utf-8")
        if isinstance(credentials, str) and credentials.lstrip().startswith("{"):
            credentials = json.loads(credentials)
        if isinstance(credentials, str):
            if credentials not in _TOKEN_MODES:
                if not os.path.isfile(credentials):
                    raise ValueError(f"GoogleCloudStore credentials: no such file {credentials!r}")
                if project is None:
                    with open(credentials, "rb") as file:
                        project = json.load(file).get("project_id")
            token = credentials
        elif credentials is not None:
            if isinstance(credentials, Mapping):
                _check_credentials_fields(credentials)
            if isinstance(credentials, Mapping) and project is None:
                project = credentials.get("project_id")
            if project is None:
                project = getattr(credentials, "project_id", None)
            secret_token, token = credentials, None

        derived: dict[str, Any] = {"access": "read_write", "default_location": bucket_creation_location,
                                   "block_size": block_size, "use_listings_cache": False, "version_aware": False}
        if project:
            derived["project"] = project
        if token is not None:
            derived["token"] = token
        if endpoint_url:
            derived["endpoint_url"] = endpoint_url
        given: dict[str, Any] = {}
        if fs is not None:
            given.update({name: value for name, value in fs.storage_options.items() if name not in _TRANSIENT})
        given.update({name: value for name, value in (storage_options or {}).items() if name not in _TRANSIENT})
        options = merge_options(derived, given)
        if "token" in given:
            token, secret_token = given["token"], None
            if not (token is None or isinstance(token, str)):
                secret_token, token = token, None
            options.pop("token")
        public_options, secret_options = split_secret_options(options)
        if isinstance(token, str):
            public_options["token"] = token  # a file path or a mode, not a secret
        if secret_token is not None:
            secret_options["token"] = secret_token
        self.project = project
        self.bucket_creation_location = bucket_creation_location
        self.endpoint_url = options.get("endpoint_url")
        self._options = public_options
        self._secrets = Secrets(secret_options)
        super().__init__(
            self._build_fs(),
            bucket_name,
            object_prefix,
            secrets=self._secrets,
            create_if_missing=create_if_missing,
            url_valid_time=url_valid_time,
            block_size=block_size,
        )

    @property
    def bucket_name(self) -> str:
        """The bucket's name."""
        return self._bucket

    def __repr__(self) -> str:
        endpoint = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"{type(self).__name__}(bucket_name={self._bucket!r}{endpoint})"

    def _build_fs(self) -> AbstractFileSystem:
        import aiohttp

        options = merge_options(self._options, self._secrets.as_dict())
        if options.get("requests_timeout") is None:
            # Per socket operation, not per request: a large upload may take long as long as data flows.
            options["requests_timeout"] = aiohttp.ClientTimeout(sock_connect=_CONNECT_TIMEOUT, sock_read=_READ_TIMEOUT)
        return KeySafeGCSFileSystem(**options, skip_instance_cache=True)

    # -- backend specifics ------------------------------------------------------------------------

    def _access_denied(self, exc: BaseException) -> bool:
        if super()._access_denied(exc):
            return True
        if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
            return True
        return getattr(exc, "code", None) in (401, 403)

    def _backend_error(self, exc: BaseException, key: str) -> BaseException:
        error = super()._backend_error(exc, key)
        return name_backend_failure("Google Cloud Storage", self, error, exc, key, self._secrets.redact)

    def _delete_many(self, keys: list[str]) -> None:
        if not keys:
            return
        if self.fs.on_google:
            super()._delete_many(keys)  # one batch request per 100 keys
            return
        # Elsewhere (emulators) gcsfs deletes one object per request, 5 at a time, and tries
        # every one even when the endpoint is down: 64 keys took 53 s to fail. Here the
        # deletes run 32 at a time and stop being started after the first failure.
        paths = [self._path(key) for key in keys]

        async def delete_all() -> None:
            limit = asyncio.Semaphore(32)
            failures: list[BaseException] = []

            async def delete(path: str) -> None:
                async with limit:
                    if failures:
                        return
                    try:
                        await self.fs._rm_file(path)
                    except FileNotFoundError:
                        pass
                    except Exception as exc:
                        failures.append(exc)

            await asyncio.gather(*(delete(path) for path in paths))
            if failures:
                raise failures[0]

        with self._translate(keys[0], writing=True):
            sync(self.fs.loop, delete_all)

    def _create_root(self) -> None:
        try:
            self.fs.mkdir(self._bucket, create_parents=True, location=self.bucket_creation_location)
        except FileExistsError:
            pass
        except Exception as exc:  # 409 Conflict: created meanwhile (or taken by another project)
            if getattr(exc, "code", None) != 409 or not self.fs.exists(self._bucket):
                raise

    def _list_delimited(self, name_prefix: str, delimiter: str) -> Iterator[tuple[str, bool]]:
        page_token = None
        while True:
            page = self.fs.call("GET", "b/{}/o", self._bucket, json_out=True, prefix=name_prefix or None,
                                delimiter=delimiter, pageToken=page_token, maxResults=1000)
            for common in page.get("prefixes", []):
                yield common, True
            for item in page.get("items", []):
                yield item["name"], False
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _url_for(self, key: str) -> str:
        path = self._path(key)
        if self._options.get("token") == "anon":
            # Anonymous access cannot sign: the plain download URL works for public objects.
            return str(self.fs.url(path))
        with self._translate(key):
            try:
                return str(self.fs.sign(path, expiration=self.url_valid_time))
            except AttributeError as exc:  # google-cloud-storage: credentials without a private key
                raise BackendError(
                    f"{type(self).__name__}: these credentials cannot sign URLs (a service account key can)"
                ) from exc

    # -- URL scheme -----------------------------------------------------------------------------------

    _url_options = ("bucket_creation_location", "project", "endpoint_url", "token")

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        query = url.query
        params: dict[str, Any] = {
            "bucket_name": url.host,
            "bucket_creation_location": query.get("bucket_creation_location", "EUROPE-WEST3"),
        }
        if url.username:
            params["credentials"] = _decode_url_credentials(url.username)
        elif "token" in query:
            params["credentials"] = query["token"]
        if url.path.strip("/"):
            params["object_prefix"] = url.path.strip("/") + "/"
        for name in ("project", "endpoint_url"):
            if name in query:
                params[name] = query[name]
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> GoogleCloudStore:
        bucket_name = params.get("bucket_name")
        if not bucket_name:
            raise StoreUrlError("a gcs URL names the bucket: gcs://<base64 credentials JSON>@bucket")
        store = cls(
            params.get("credentials"),
            bucket_name,
            create_if_missing=create_if_missing,
            bucket_creation_location=params.get("bucket_creation_location", "EUROPE-WEST3"),
            project=params.get("project"),
            object_prefix=params.get("object_prefix", ""),
            endpoint_url=params.get("endpoint_url"),
        )
        if not create_if_missing:
            store._confirm_root()
        return store


class HGoogleCloudStore(ExtendedKeyspaceMixin, GoogleCloudStore):
    """A :class:`GoogleCloudStore` whose keys may hold ``/`` (folders) and spaces."""
