"""minimalkv's ``net`` package: the network stores, under minimalkv's module paths.

* :mod:`minimalkv_fsspec.net.s3fsstore`: ``S3FSStore``, ``HS3FSStore``, ``Credentials`` (s3fs).
* :mod:`minimalkv_fsspec.net.azurestore`: ``AzureBlockBlobStore``, ``HAzureBlockBlobStore`` (adlfs).
* :mod:`minimalkv_fsspec.net.gcstore`: ``GoogleCloudStore``, ``HGoogleCloudStore`` (gcsfs).
* :mod:`minimalkv_fsspec.net.boto3store` and :mod:`minimalkv_fsspec.net.botostore`:
  ``Boto3Store`` and ``BotoStore`` with minimalkv's constructor signatures, running
  on :class:`~minimalkv_fsspec.net.s3fsstore.S3FSStore` (no boto/boto3 code paths).

Each module imports its backend's packages when it is imported, never before:
importing this package imports nothing optional.
"""
