"""minimalkv's module path for the git store (kept for compatibility)."""

from __future__ import annotations

from minimalkv_fsspec.backends.native.git import GitCommitStore, HGitCommitStore

__all__ = ["GitCommitStore", "HGitCommitStore"]
