"""minimalkv's legacy ``BotoStore`` (boto 2), kept as a thin alias of :class:`S3FSStore`.

boto 2 is not supported by any current Python; ``BotoStore`` here takes minimalkv's
arguments and runs on s3fs. A boto 2 ``Bucket`` object is still accepted: its name,
endpoint (``connection.host``/``port``/``is_secure``) and credentials
(``connection.aws_access_key_id``/``aws_secret_access_key``) are read from it,
without importing boto.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec.backends.adapters.s3 import Credentials, S3FSStore

__all__ = ["BotoStore", "HBotoStore"]


def _from_boto2_bucket(bucket: Any, kwargs: dict[str, Any]) -> str:
    connection = bucket.connection
    host = getattr(connection, "host", None)
    if host and "amazonaws.com" not in host and "endpoint_url" not in kwargs:
        scheme = "https" if getattr(connection, "is_secure", True) else "http"
        port = getattr(connection, "port", None)
        kwargs["endpoint_url"] = f"{scheme}://{host}" + (f":{port}" if port else "")
    access_key = getattr(connection, "aws_access_key_id", None)
    if access_key and "credentials" not in kwargs:
        kwargs["credentials"] = Credentials(access_key, getattr(connection, "aws_secret_access_key", None))
    return str(bucket.name)


class BotoStore(S3FSStore):
    """minimalkv's ``BotoStore(bucket, prefix, ...)`` signature on :class:`S3FSStore`.

    Parameters
    ----------
    bucket
        A bucket name, or a boto 2 ``Bucket`` object.
    prefix
        Prepended to every key (minimalkv's name for *object_prefix*).
    url_valid_time, reduced_redundancy, public, metadata
        As for :class:`S3FSStore`.
    kwargs
        Further :class:`S3FSStore` arguments (``credentials``, ``endpoint_url``, ...).
    """

    def __init__(
        self,
        bucket: Any,
        prefix: str = "",
        url_valid_time: int = 0,
        reduced_redundancy: bool = False,
        public: bool = False,
        metadata: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        if hasattr(bucket, "connection") and hasattr(bucket, "name"):
            bucket = _from_boto2_bucket(bucket, kwargs)
        super().__init__(
            bucket,
            object_prefix=prefix,
            url_valid_time=url_valid_time,
            reduced_redundancy=reduced_redundancy,
            public=public,
            metadata=metadata,
            **kwargs,
        )


class HBotoStore(ExtendedKeyspaceMixin, BotoStore):
    """A :class:`BotoStore` whose keys may hold ``/`` and spaces."""
