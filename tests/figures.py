"""The figures the reliability tests prove, printed together at the end of the test run.

A test calls :func:`report` with one line ("crash safety: 100 trials, 0 partial
values, ..."); the root ``conftest.py`` lists every line under "figures" in the
terminal summary, so a plain ``pytest -q`` run (and CI's log) shows them.
"""

from __future__ import annotations

FIGURES: list[str] = []


def report(line: str) -> None:
    """Add *line* to the figures listed at the end of the run."""
    FIGURES.append(line.strip())
