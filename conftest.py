"""Root pytest configuration: the ``--long`` option, the figures report, the doctest namespace."""

from __future__ import annotations

import sys
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long checks: 10,000 model-check sequences per store instead of 200",
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the model-check sequences and divergences per store, then the reliability figures.

    Each ``test_behaves_like_a_dict`` records its counts in the report's user properties,
    which also travel back from pytest-xdist workers; the reliability tests add their
    lines to ``tests.figures`` (in this process only).
    """
    _write_model_check(terminalreporter)
    figures = sys.modules.get("tests.figures")
    if figures is not None and figures.FIGURES:
        terminalreporter.write_sep("=", "figures the reliability tests prove")
        for line in figures.FIGURES:
            terminalreporter.write_line(line)


def _write_model_check(terminalreporter: Any) -> None:
    rows = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "model_check":
                    rows.append((report.nodeid.replace("::test_behaves_like_a_dict", ""), *value))
    if not rows:
        return
    rows.sort()
    terminalreporter.write_sep("=", "model check: random operation sequences compared with a dict")
    for suite, sequences, divergences in rows:
        terminalreporter.write_line(f"{suite}: {sequences} sequences, {divergences} divergences")
    total_sequences = sum(row[1] for row in rows)
    total_divergences = sum(row[2] for row in rows)
    terminalreporter.write_line(
        f"total: {len(rows)} stores, {total_sequences} sequences, {total_divergences} divergences"
    )


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict[str, Any], tmp_path: Any) -> None:
    import minimalkv_fsspec

    doctest_namespace["minimalkv_fsspec"] = minimalkv_fsspec
    doctest_namespace["tmp_dir"] = str(tmp_path)
