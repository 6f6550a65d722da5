"""minimalkv's module path for the Azure Blob Storage store (here over adlfs)."""

from minimalkv_fsspec.backends.adapters.azure import AzureBlockBlobStore, HAzureBlockBlobStore

__all__ = ["AzureBlockBlobStore", "HAzureBlockBlobStore"]
