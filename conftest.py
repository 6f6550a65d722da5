"""Root pytest configuration: doctest namespace for the documentation examples."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict[str, Any], tmp_path: Any) -> None:
    import minimalkv_fsspec

    doctest_namespace["minimalkv_fsspec"] = minimalkv_fsspec
    doctest_namespace["tmp_dir"] = str(tmp_path)
