"""minimalkv's ``Boto3Store``, kept as a thin alias of :class:`~minimalkv_fsspec.net.s3fsstore.S3FSStore`.

``Boto3Store`` here takes minimalkv's constructor arguments and runs on s3fs, like
every S3 store of this package: listing, streaming, server-side copy and presigned
URLs behave as in :class:`S3FSStore`. Differences from minimalkv's boto3 version:
``url_for`` always presigns (minimalkv returned an unsigned URL for ``public=True``
stores), and there is no ``Boto3SimpleKeyFile`` (``open()`` returns the store's
ranged-read file).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec.backends.adapters.s3 import S3FSStore

__all__ = ["Boto3Store", "HBoto3Store", "map_boto3_exceptions"]


@contextmanager
def map_boto3_exceptions(key: str | None = None, exc_pass: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Map botocore's errors inside the block: a missing key -> KeyError, others -> OSError.

    Parameters
    ----------
    key
        The key named by the KeyError.
    exc_pass
        Exception types raised unchanged.

    Raises
    ------
    KeyError
        For ``NoSuchKey`` and ``404`` client errors.
    OSError
        For every other client error.
    """
    from botocore.exceptions import ClientError

    try:
        yield
    except exc_pass:
        raise
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey"):
            raise KeyError(key) from exc
        raise OSError(str(exc)) from exc


class Boto3Store(S3FSStore):
    """minimalkv's ``Boto3Store(bucket, ...)`` signature on :class:`S3FSStore`.

    Parameters
    ----------
    bucket
        A bucket name or a boto3 ``Bucket`` resource (its endpoint, region and
        credentials are used).
    prefix
        Deprecated alias of *object_prefix*.
    object_prefix, url_valid_time, reduced_redundancy, public, metadata
        As for :class:`S3FSStore`.
    create_if_missing
        Create the bucket on first write (minimalkv's default here is False).
    kwargs
        Further :class:`S3FSStore` arguments (``credentials``, ``endpoint_url``, ...).
    """

    def __init__(
        self,
        bucket: Any,
        prefix: str | None = None,
        object_prefix: str = "",
        url_valid_time: int = 0,
        reduced_redundancy: bool = False,
        public: bool = False,
        metadata: Mapping[str, str] | None = None,
        create_if_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        if prefix is not None:
            warnings.warn("Boto3Store(prefix=...) is deprecated; use object_prefix", DeprecationWarning, stacklevel=2)
            object_prefix = prefix
        super().__init__(
            bucket,
            object_prefix=object_prefix,
            url_valid_time=url_valid_time,
            reduced_redundancy=reduced_redundancy,
            public=public,
            metadata=metadata,
            create_if_missing=create_if_missing,
            **kwargs,
        )


class HBoto3Store(ExtendedKeyspaceMixin, Boto3Store):
    """A :class:`Boto3Store` whose keys may hold ``/`` and spaces."""
