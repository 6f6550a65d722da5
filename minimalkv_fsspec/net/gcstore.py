"""minimalkv's module path for the Google Cloud Storage store over gcsfs."""

from minimalkv_fsspec.backends.adapters.gcs import GoogleCloudStore, HGoogleCloudStore

__all__ = ["GoogleCloudStore", "HGoogleCloudStore"]
