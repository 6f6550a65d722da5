"""minimalkv's module path for the S3 store over s3fs.

minimalkv emits a DeprecationWarning on import announcing a rename to ``Boto3Store``;
that rename never happened and nothing is deprecated here, so no warning is emitted.
"""

from minimalkv_fsspec.backends.adapters.s3 import Credentials, HS3FSStore, S3FSStore

__all__ = ["Credentials", "HS3FSStore", "S3FSStore"]
