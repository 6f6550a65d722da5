"""Sphinx configuration for the minimalkv_fsspec documentation."""

from __future__ import annotations

project = "minimalkv_fsspec"
author = "minimalkv_fsspec developers"
copyright = "2026, minimalkv_fsspec developers"  # noqa: A001

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
intersphinx_mapping: dict[str, tuple[str, None]] = {}
