"""The documentation builds without warnings and its examples run."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_sphinx_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.rst")), ids=lambda path: str(path.relative_to(DOCS)))
def test_examples_in_page_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(
        str(page),
        module_relative=False,
        globs={"tmp_dir": str(tmp_path)},
        optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page.name}"


def test_every_test_named_in_the_guarantees_exists() -> None:
    page = (DOCS / "guarantees.rst").read_text()
    repo = DOCS.parent
    named = re.findall(r"(tests/[\w/]+\.py)::(\w+)", page)
    suite_tests = re.findall(r"StoreTests\.(test_\w+)", page)
    assert len(named) >= 8, "the page names the tests that prove its promises"
    assert len(suite_tests) >= 3, "the page names the conformance tests that prove its promises"
    for path, name in named:
        source = (repo / path).read_text()
        assert re.search(rf"^\s*(def|class) {name}\b", source, re.MULTILINE), f"{path}::{name} does not exist"
    suite = (repo / "minimalkv_fsspec" / "testing" / "store.py").read_text()
    for name in suite_tests:
        assert f"def {name}(" in suite, f"StoreTests.{name} does not exist"
