"""minimalkv's module path for the filesystem stores (kept for compatibility)."""

from minimalkv_fsspec.backends.adapters.filesystem import FilesystemStore, HFilesystemStore, WebFilesystemStore

__all__ = ["FilesystemStore", "HFilesystemStore", "WebFilesystemStore"]
