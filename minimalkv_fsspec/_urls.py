"""minimalkv's module path for URL parsing (kept for compatibility)."""

from minimalkv_fsspec.urls import url2dict

TRUEVALUES = ("true",)
"""minimalkv's spelling of a true option; minimalkv_fsspec also accepts 1, yes and on."""

__all__ = ["TRUEVALUES", "url2dict"]
