"""AzureBlockBlobStore: Azure Blob Storage (and Azurite) over adlfs.

The store is a thin :class:`~minimalkv_fsspec.backends.adapters.generic.BucketStore`
on an ``adlfs.AzureBlobFileSystem`` (``store.fs``). adlfs reads paths as URLs, so a
blob name such as ``a?#b`` would become ``a#b`` and a trailing ``?`` or ``#`` would
vanish; the store's filesystem is :class:`KeySafeAzureBlobFileSystem`, which takes
``container/blob`` paths literally. Large values are staged as blocks of
``max_block_size`` and read in ranges; ``iter_prefixes`` is one ``walk_blobs``
listing; ``copy`` is a server-side copy.

Credentials come from, in order: the connection string or account key / SAS token
given (or in the URL), ``storage_options``, fsspec's configuration for ``abfs``/``az``,
adlfs's environment variables (``AZURE_STORAGE_CONNECTION_STRING``,
``AZURE_STORAGE_ACCOUNT_NAME`` with ``AZURE_STORAGE_ACCOUNT_KEY`` or
``AZURE_STORAGE_SAS_TOKEN``, service principal variables), and finally
azure-identity's ``DefaultAzureCredential``.

Outages: the SDK retries a failed request 3 times, 1.25, 1.6 and 2 s apart (its
own pauses are 18 to 42 s; ``service_client_kwargs`` ``retry_total``,
``initial_backoff``, ``increment_base`` change them), and waits at most 20 s to
connect and 100 s for each read (``socket_timeout``), so an unreachable endpoint
raises within about 5 s. Errors name Azure Blob Storage, the store and the key;
the store reconnects by itself once the service is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any

from adlfs import AzureBlobFileSystem
from fsspec.asyn import sync
from fsspec.utils import stringify_path

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec._store import CHUNK_SIZE
from minimalkv_fsspec.backends.adapters._base import name_backend_failure
from minimalkv_fsspec.backends.adapters.generic import (
    DEFAULT_BLOCK_SIZE,
    BucketStore,
    Secrets,
    abandon_upload,
    merge_options,
    parse_size,
    run_coroutines,
    split_secret_options,
)
from minimalkv_fsspec.exceptions import BackendError, StoreUrlError
from minimalkv_fsspec.urls import parse_bool

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from minimalkv_fsspec.urls import StoreUrl

__all__ = ["AzureBlockBlobStore", "HAzureBlockBlobStore", "KeySafeAzureBlobFileSystem"]

_TRANSIENT = frozenset({"loop", "asynchronous", "skip_instance_cache"})
# Connection-string fields that are credentials; the others (endpoints, account name) are not.
_SECRET_FIELDS = frozenset({"accountkey", "sharedaccesssignature"})
# The SDK retries a failed request 3 times after 15+3^n s (18, 24, 42 s, +-3 s): a dead
# endpoint kept a call waiting for 80 s. Here the pauses are 1.25^n s: 1.25, 1.6, 2 s.
_CLIENT_DEFAULTS = {"retry_total": 3, "initial_backoff": 0, "increment_base": 1.25, "random_jitter_range": 0.25}
_DEFAULT_TIMEOUT = (20.0, 100.0)  # seconds to connect, and to wait for each read
_CONTAINER_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")  # \Z: "$" lets a final newline in


class KeySafeAzureBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc]
    """An ``adlfs.AzureBlobFileSystem`` that takes ``container/blob`` paths literally.

    adlfs splits paths with ``urllib.parse.urlsplit``, which rewrites blob names
    holding ``?`` or ``#`` (``a?#b`` -> ``a#b``, ``ends?`` -> ``ends``). Here only a
    leading protocol (and an ``account.*.core.windows.net`` host) is removed;
    ``?versionid=`` is parsed only when the filesystem is ``version_aware``.

    Parameters
    ----------
    service_client_kwargs
        Extra keyword arguments for the ``BlobServiceClient`` (``max_single_put_size``,
        ``max_block_size``, ``retry_total``, ``initial_backoff``, ...).
    args, kwargs
        As for ``adlfs.AzureBlobFileSystem``.
    """

    def __init__(self, *args: Any, service_client_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.service_client_kwargs = dict(service_client_kwargs or {})
        super().__init__(*args, **kwargs)

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        path = stringify_path(path)
        protocols = (cls.protocol,) if isinstance(cls.protocol, str) else cls.protocol
        for protocol in protocols:
            if path.startswith(f"{protocol}://"):
                path = path[len(protocol) + 3 :]
                head, separator, tail = path.partition("/")
                if "@" in head:  # abfs://container@account.dfs.core.windows.net/blob
                    head = head.split("@", 1)[0]
                elif head.endswith(".core.windows.net"):  # abfs://account.blob.core.windows.net/container/blob
                    head, separator, tail = tail.partition("/")
                path = head + separator + tail
                break
        return path.lstrip("/")

    def split_path(
        self, path: str, delimiter: str = "/", return_container: bool = False, **kwargs: Any
    ) -> tuple[str, str, str | None]:
        """Return ``(container, blob, version_id)``, taking the blob name literally."""
        if self.version_aware:
            return super().split_path(path, delimiter, return_container, **kwargs)  # type: ignore[no-any-return]
        if path in ("", delimiter):
            return "", "", None
        path = self._strip_protocol(path).lstrip(delimiter)
        if delimiter not in path:
            return path, "", None
        container, blob = path.split(delimiter, 1)
        return container, blob, None

    def do_connect(self) -> None:
        """Create the service client, passing :attr:`service_client_kwargs` on."""
        if not self.service_client_kwargs:
            super().do_connect()
            return
        from azure.storage.blob.aio import BlobServiceClient

        if self.connection_string is not None:
            self.service_client = BlobServiceClient.from_connection_string(
                conn_str=self.connection_string, **self.service_client_kwargs
            )
            return
        super().do_connect()
        credential = self.credential if self.credential is not None else self.account_key
        account_url = self.service_client.url
        self.service_client = BlobServiceClient(account_url=account_url, credential=credential,
                                                **self.service_client_kwargs)


def _parse_connection_string(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        if equals and name.strip():
            fields[name.strip()] = value.strip()
    return fields


def _parse_timeout(value: Any) -> tuple[float | None, float | None]:
    """Return (connect, read) seconds from ``20``, ``(20, 100)``, ``"(20,100)"`` or ``["20"]``."""
    if value is None:
        return None, None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        parts = [part for part in value.strip().strip("()[]").split(",") if part.strip()]
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise StoreUrlError(f"socket_timeout must be seconds or (connect,read), not {value!r}") from None
    elif isinstance(value, (int, float)):
        numbers = [float(value)]
    else:
        numbers = [float(part) for part in value]
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2:
        return numbers[0], numbers[1]
    raise StoreUrlError(f"socket_timeout must be seconds or (connect,read), not {value!r}")


class AzureBlockBlobStore(BucketStore):
    """A store in an Azure Blob Storage container, over adlfs.

    Parameters
    ----------
    conn_string
        A storage connection string (``DefaultEndpointsProtocol=https;AccountName=...;
        AccountKey=...`` or ``BlobEndpoint=...;SharedAccessSignature=...``).
        If None, the credentials come from *account_name* with *account_key*,
        *sas_token* or *credential*, from *storage_options*, or from adlfs's chain.
    container
        The container's name (3-63 lowercase letters, digits and dashes).
    public
        Create the container with public read access to its blobs.
    create_if_missing
        Create the container on first write; if false, a missing container raises
        :class:`~minimalkv_fsspec.backends.adapters.generic.BucketNotFoundError`.
    max_connections
        Parallel connections per upload or download (adlfs ``max_concurrency``).
    max_block_size
        Bytes per staged block of a streamed upload and per ranged read.
    max_single_put_size
        Largest value uploaded in one request; larger ones are staged as blocks.
    checksum
        Send an MD5 digest with every upload (stored as the blob's Content-MD5,
        and checked by the service per request); :meth:`get` verifies it.
    socket_timeout
        Seconds, or ``(connect, read)`` seconds, for each request; ``(20, 100)`` if None.
    object_prefix
        Prepended to every key as given (``"data/"`` is a folder).
    url_valid_time
        Seconds a SAS URL from :meth:`url_for` stays valid.
    account_name, account_key, sas_token, blob_endpoint
        Build the connection from parts; *blob_endpoint* points the store at a
        custom endpoint such as Azurite (``http://127.0.0.1:10000/devstoreaccount1``).
    credential
        An azure-identity credential (``DefaultAzureCredential()``, ...), used with *account_name*.
    storage_options
        Passed to ``adlfs.AzureBlobFileSystem`` unchanged (they win over the
        options derived from the other arguments).
    fs
        An existing ``adlfs.AzureBlobFileSystem`` whose ``storage_options`` are reused.
    service_client_kwargs
        Extra keyword arguments for the SDK's ``BlobServiceClient`` (retry policy, ...).

    Examples
    --------
    >>> store = AzureBlockBlobStore(conn_string, "my-container")  # doctest: +SKIP
    >>> store.put("key", b"value")  # doctest: +SKIP
    'key'
    """

    def __init__(
        self,
        conn_string: str | None = None,
        container: str | None = None,
        public: bool = False,
        create_if_missing: bool = True,
        max_connections: int = 2,
        max_block_size: int | None = None,
        max_single_put_size: int | None = None,
        checksum: bool = False,
        socket_timeout: Any = None,
        *,
        object_prefix: str = "",
        url_valid_time: int = 3600,
        account_name: str | None = None,
        account_key: str | None = None,
        sas_token: str | None = None,
        blob_endpoint: str | None = None,
        credential: Any = None,
        storage_options: Mapping[str, Any] | None = None,
        fs: AbstractFileSystem | None = None,
        service_client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not container:
            raise ValueError("AzureBlockBlobStore needs a container name")
        if not _CONTAINER_NAME.match(container) and container not in ("$root", "$web", "$logs"):
            raise ValueError(f"invalid Azure container name {container!r}: use 3-63 lowercase letters, digits and "
                             "single dashes, starting and ending with a letter or digit")
        fields = _parse_connection_string(conn_string) if conn_string else {}
        if account_name:
            fields["AccountName"] = account_name
        if blob_endpoint:
            fields["BlobEndpoint"] = blob_endpoint.rstrip("/")
        if account_key:
            fields["AccountKey"] = account_key
        if sas_token:
            fields["SharedAccessSignature"] = sas_token.lstrip("?")
        if ("AccountKey" in fields or "SharedAccessSignature" in fields) and not fields.get("BlobEndpoint"):
            if "AccountName" not in fields:
                raise ValueError("an Azure account key or SAS token needs the account name (or a BlobEndpoint)")
            fields.setdefault("DefaultEndpointsProtocol", "https")
            if "SharedAccessSignature" in fields:
                fields["BlobEndpoint"] = f"https://{fields['AccountName']}.blob.core.windows.net"
        if "AccountKey" in fields and "DefaultEndpointsProtocol" not in fields:
            fields["DefaultEndpointsProtocol"] = fields.get("BlobEndpoint", "https").split(":", 1)[0]
        self._connection_fields = {name: value for name, value in fields.items() if name.lower() not in _SECRET_FIELDS}
        connection_secrets = {name: value for name, value in fields.items() if name.lower() in _SECRET_FIELDS}
        self.account_name = fields.get("AccountName")
        self.blob_endpoint = fields.get("BlobEndpoint")
        self.checksum = checksum
        self.public = public
        self.max_connections = max_connections
        block_size = parse_size(max_block_size, "max_block_size") or DEFAULT_BLOCK_SIZE

        derived: dict[str, Any] = {"max_concurrency": max_connections, "blocksize": block_size,
                                   "use_listings_cache": False}
        connect, read = _parse_timeout(socket_timeout)
        if connect is not None:
            derived["connection_timeout"] = connect
        if read is not None:
            derived["read_timeout"] = read
        client_kwargs = {**_CLIENT_DEFAULTS, **(service_client_kwargs or {})}
        # The SDK's own timeouts are 300 s; these apply to every request of the client.
        client_kwargs.setdefault("connection_timeout", _DEFAULT_TIMEOUT[0] if connect is None else connect)
        client_kwargs.setdefault("read_timeout", _DEFAULT_TIMEOUT[1] if read is None else read)
        if max_block_size is not None:
            client_kwargs.setdefault("max_block_size", block_size)
        single_put = parse_size(max_single_put_size, "max_single_put_size")
        if single_put is not None:
            client_kwargs.setdefault("max_single_put_size", single_put)
        if client_kwargs:
            derived["service_client_kwargs"] = client_kwargs
        if not connection_secrets:
            if self.account_name:
                derived["account_name"] = self.account_name
            if credential is not None:
                derived["credential"] = credential
        given: dict[str, Any] = {}
        if fs is not None:
            given.update({name: value for name, value in fs.storage_options.items() if name not in _TRANSIENT})
        given.update({name: value for name, value in (storage_options or {}).items() if name not in _TRANSIENT})
        options = merge_options(derived, given)
        public_options, secret_options = split_secret_options(options)
        if connection_secrets:
            secret_options["connection_fields"] = connection_secrets
        self._options = public_options
        self._secrets = Secrets(secret_options)
        super().__init__(
            self._build_fs(),
            container,
            object_prefix,
            secrets=self._secrets,
            create_if_missing=create_if_missing,
            url_valid_time=url_valid_time,
            block_size=block_size,
        )

    @property
    def container(self) -> str:
        """The container's name."""
        return self._bucket

    def __repr__(self) -> str:
        endpoint = f", blob_endpoint={self.blob_endpoint!r}" if self.blob_endpoint else ""
        account = f", account_name={self.account_name!r}" if self.account_name else ""
        return f"{type(self).__name__}(container={self._bucket!r}{account}{endpoint})"

    @property
    def _root_label(self) -> str:
        return f"container {self._bucket!r}"

    # -- filesystem -------------------------------------------------------------------------------

    def _build_fs(self) -> AbstractFileSystem:
        options = merge_options(self._options, self._secrets.as_dict())
        secret_fields = options.pop("connection_fields", None)
        if secret_fields:
            fields = {**self._connection_fields, **secret_fields}
            options.setdefault("connection_string", ";".join(f"{name}={value}" for name, value in fields.items()))
        return KeySafeAzureBlobFileSystem(**options, skip_instance_cache=True)

    def _run(self, coroutine_function: Any, *args: Any) -> Any:
        return sync(self.fs.loop, coroutine_function, *args)

    # -- backend specifics --------------------------------------------------------------------------

    def _access_denied(self, exc: BaseException) -> bool:
        status = getattr(exc, "status_code", None)
        return super()._access_denied(exc) or (type(exc).__name__.endswith("Error") and status in (401, 403))

    def _backend_error(self, exc: BaseException, key: str) -> BaseException:
        if getattr(exc, "error_code", None) in ("ContainerNotFound",) and not self.mkdir_root:
            return self._missing_root_error()
        error = super()._backend_error(exc, key)
        return name_backend_failure("Azure Blob Storage", self, error, exc, key, self._secrets.redact)

    def _root_exists(self) -> bool:
        # adlfs's exists() reports a container it may not read as existing (with a warning).
        from azure.core.exceptions import ResourceNotFoundError

        async def exists() -> bool:
            try:
                await self.fs.service_client.get_container_client(self._bucket).get_container_properties()
            except ResourceNotFoundError:
                return False
            return True

        return bool(self._run(exists))

    def _create_root(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        async def create() -> None:
            try:
                await self.fs.service_client.create_container(
                    self._bucket, public_access="container" if self.public else None
                )
            except ResourceExistsError:
                pass

        self._run(create)

    def _find(self, directory: str, stem: str) -> list[str]:
        # adlfs's find() answers only the blob when one is named like the folder ("root" beside
        # "root/key"), which would hide every key: list the names with the prefix instead.
        folder = directory[len(self._bucket) + 1 :]
        name_prefix = f"{folder}/{stem}" if folder else stem

        async def listing() -> list[str]:
            from azure.core.exceptions import ResourceNotFoundError

            container = self.fs.service_client.get_container_client(self._bucket)
            blobs = container.list_blobs(name_starts_with=name_prefix or None, include=["metadata"])
            try:
                return [f"{self._bucket}/{blob.name}" async for blob in blobs
                        if (blob.metadata or {}).get("hdi_isfolder") != "true"]  # folder markers are no values
            except ResourceNotFoundError as exc:
                raise FileNotFoundError(self._bucket) from exc

        return self._run(listing)  # type: ignore[no-any-return]

    def _list_delimited(self, name_prefix: str, delimiter: str) -> Iterator[tuple[str, bool]]:
        async def walk() -> list[tuple[str, bool]]:
            from azure.core.exceptions import ResourceNotFoundError

            container = self.fs.service_client.get_container_client(self._bucket)
            entries = []
            try:
                async for item in container.walk_blobs(name_starts_with=name_prefix or None, delimiter=delimiter):
                    entries.append((str(item.name), type(item).__name__ == "BlobPrefix"))
            except ResourceNotFoundError as exc:
                raise FileNotFoundError(self._bucket) from exc
            return entries

        yield from self._run(walk)

    def _copy(self, source: str, dest: str) -> None:
        if source == dest:
            if not self._has_key(source):
                raise KeyError(source)
            return
        self._ensure_root()
        from azure.core.exceptions import ResourceNotFoundError

        async def copy() -> None:
            service = self.fs.service_client
            source_client = service.get_blob_client(self._bucket, self._path(source)[len(self._bucket) + 1 :])
            dest_client = service.get_blob_client(self._bucket, self._path(dest)[len(self._bucket) + 1 :])
            try:
                status = (await dest_client.start_copy_from_url(source_client.url)).get("copy_status")
            except ResourceNotFoundError as exc:
                raise FileNotFoundError(source) from exc
            # A copy inside one account is usually done at once; wait for the rest.
            while status == "pending":
                await asyncio.sleep(0.2)
                status = (await dest_client.get_blob_properties()).copy.status
            if status not in (None, "success"):
                raise BackendError(f"{type(self).__name__}: server-side copy of {source!r} ended as {status!r}")

        with self._translate(source):
            self._run(copy)

    def _url_for(self, key: str) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        secret_fields = {
            **_parse_connection_string(getattr(self.fs, "connection_string", None) or ""),
            **(self._secrets.get("connection_fields") or {}),
        }
        blob = self._path(key)[len(self._bucket) + 1 :]
        blob_url = self.fs.service_client.get_blob_client(self._bucket, blob).url.split("?", 1)[0]
        expiry = datetime.now(timezone.utc) + timedelta(seconds=self.url_valid_time)
        account_key = secret_fields.get("AccountKey") or getattr(self.fs, "account_key", None)
        account_name = self.account_name or ""
        with self._translate(key):
            if account_key and account_name:
                token = generate_blob_sas(account_name, self._bucket, blob, account_key=account_key,
                                          permission=BlobSasPermissions(read=True), expiry=expiry)
                return f"{blob_url}?{token}"
            if secret_fields.get("SharedAccessSignature"):
                # A SAS-authenticated store can only hand out its own token.
                return f"{blob_url}?{secret_fields['SharedAccessSignature']}"
            if getattr(self.fs, "credential", None) is not None and account_name:

                async def delegated() -> str:
                    start = datetime.now(timezone.utc) - timedelta(minutes=5)
                    delegation = await self.fs.service_client.get_user_delegation_key(start, expiry)
                    return str(generate_blob_sas(account_name, self._bucket, blob,
                                                 user_delegation_key=delegation,
                                                 permission=BlobSasPermissions(read=True), expiry=expiry))

                return f"{blob_url}?{self._run(delegated)}"
        return str(blob_url)

    # -- checksums ------------------------------------------------------------------------------------

    def _content_settings(self, digest: bytes) -> Any:
        from azure.storage.blob import ContentSettings

        return ContentSettings(content_md5=bytearray(digest))

    def _put(self, key: str, data: bytes) -> None:
        if not self.checksum:
            super()._put(key, data)
            return
        self._ensure_root()
        with self._translate(key, writing=True):
            self.fs.pipe_file(self._path(key), data, validate_content=True,
                              content_settings=self._content_settings(hashlib.md5(data).digest()))

    def _put_many(self, items: Mapping[str, bytes]) -> None:
        if not self.checksum:
            super()._put_many(items)
            return
        # Each value has its own MD5: one concurrent upload per value, not one fs.pipe call.
        self._ensure_root()
        uploads = [
            self.fs._pipe_file(self._path(key), data, validate_content=True,
                               content_settings=self._content_settings(hashlib.md5(data).digest()))
            for key, data in items.items()
        ]
        results = run_coroutines(self.fs, uploads)
        for key, result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                with self._translate(key, writing=True):
                    raise result

    def _put_stream(self, key: str, file: IO[bytes]) -> None:
        if not self.checksum:
            super()._put_stream(key, file)
            return
        self._ensure_root()
        with self._translate(key, writing=True):
            target = self._open_for_writing(key)
            digest = hashlib.md5()
            try:
                while chunk := file.read(CHUNK_SIZE):
                    digest.update(chunk)
                    target.write(chunk)
                # adlfs commits the block list with these settings when the file closes.
                target._content_settings = self._content_settings(digest.digest())
            except BaseException:
                abandon_upload(target)
                raise
            target.close()

    def _get(self, key: str) -> bytes:
        if not self.checksum:
            return super()._get(key)
        from azure.core.exceptions import ResourceNotFoundError

        async def download() -> tuple[bytes, Any]:
            blob = self.fs.service_client.get_blob_client(self._bucket, self._path(key)[len(self._bucket) + 1 :])
            try:
                stream = await blob.download_blob()
                data = await stream.readall()
            except ResourceNotFoundError as exc:
                raise FileNotFoundError(key) from exc
            return data, stream.properties.content_settings.content_md5

        # The value and its MD5 from one download: read apart, a concurrent put could pair
        # one version's value with another's MD5.
        with self._translate(key):
            data, expected = self._run(download)
        if expected and bytes(expected) != hashlib.md5(data).digest():
            raise BackendError(f"{type(self).__name__}: MD5 mismatch reading key {key!r}")
        return bytes(data)

    # -- URL scheme -------------------------------------------------------------------------------------

    _url_options = (
        "use_sas", "max_connections", "socket_timeout", "max_block_size", "max_single_put_size", "checksum",
        "connection_string", "blob_endpoint", "default_endpoints_protocol", "public",
    )

    @classmethod
    def _url_params(cls, url: StoreUrl) -> dict[str, Any]:
        query = url.query
        params: dict[str, Any] = {
            "account_name": url.username,
            "account_key": url.password,
            "container": url.host,
        }
        if url.path.strip("/"):
            params["object_prefix"] = url.path.strip("/") + "/"
        if "use_sas" in query:
            params["use_sas"] = parse_bool(query["use_sas"], "use_sas")
        for name in ("max_connections",):
            if name in query:
                params[name] = int(query[name])
        for name in ("max_block_size", "max_single_put_size"):
            if name in query:
                params[name] = parse_size(query[name], name)
        if "socket_timeout" in query:
            params["socket_timeout"] = _parse_timeout(query["socket_timeout"])
        for name in ("checksum", "public"):
            if name in query:
                params[name] = parse_bool(query[name], name)
        for name in ("connection_string", "blob_endpoint", "default_endpoints_protocol"):
            if name in query:
                params[name] = query[name]
        return params

    @classmethod
    def _from_params(cls, params: dict[str, Any], *, create_if_missing: bool = True) -> AzureBlockBlobStore:
        container = params.get("container")
        if not container:
            raise StoreUrlError("an azure URL names the container: azure://account_name:account_key@container")
        account_name = params.get("account_name")
        key = params.get("account_key")
        use_sas = bool(params.get("use_sas", False))
        if use_sas and create_if_missing:
            raise StoreUrlError("a SAS token cannot create a container: add create_if_missing=false to the URL")
        conn_string = params.get("connection_string")
        protocol = params.get("default_endpoints_protocol")
        blob_endpoint = params.get("blob_endpoint")
        if conn_string is None and account_name and key and not use_sas and protocol:
            conn_string = f"DefaultEndpointsProtocol={protocol}"
        store = cls(
            conn_string,
            container,
            public=bool(params.get("public", False)),
            create_if_missing=create_if_missing,
            max_connections=int(params.get("max_connections", 2)),
            max_block_size=parse_size(params.get("max_block_size", 4 * 1024 * 1024), "max_block_size"),
            max_single_put_size=parse_size(params.get("max_single_put_size", 64 * 1024 * 1024),
                                           "max_single_put_size"),
            checksum=bool(params.get("checksum", True)),
            socket_timeout=params.get("socket_timeout", (20, 100)),
            account_name=account_name,
            account_key=None if use_sas else key,
            sas_token=key if use_sas else None,
            blob_endpoint=blob_endpoint,
            object_prefix=params.get("object_prefix", ""),
        )
        if not create_if_missing:
            store._confirm_root()
        return store


class HAzureBlockBlobStore(ExtendedKeyspaceMixin, AzureBlockBlobStore):
    """An :class:`AzureBlockBlobStore` whose keys may hold ``/`` (folders) and spaces."""
