"""The benchmark script runs and writes the results it promises (a test of the script, not of speed)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

ROW_FIELDS = {"group", "metric", "operation", "unit", "store", "store_name", "baselines", "peer", "rounds"}
TARGET_FIELDS = {"group", "target", "goal", "measured", "unit", "met", "detail"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("_benchmarks_run", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_run_writes_json_and_markdown(smoke_run: Path) -> None:
    results = json.loads((smoke_run / "latest.json").read_text())

    assert results["schema"] == 1
    assert results["mode"] == "smoke"
    assert {"cpu", "cores", "python", "date", "versions"} <= set(results["machine"])
    assert set(results["groups"]) == {"memory", "filesystem"}
    for group, state in results["groups"].items():
        assert state["status"] == "ok", (group, state)

    rows = results["rows"]
    assert rows
    for row in rows:
        assert ROW_FIELDS <= set(row), row
        assert row["store"] > 0 or row["unit"] == "MiB"
        for baseline in row["baselines"]:
            assert {"name", "value", "ratio"} <= set(baseline)
    measured = {(row["group"], row["metric"]) for row in rows}
    for group in ("memory", "filesystem"):
        for metric in ("put", "get", "in", "delete", "keys", "get_many", "get_loop"):
            assert (group, metric) in measured
        for metric in ("put_file_mbps", "put_file_rise", "get_file_mbps", "get_file_rise"):
            assert (group, metric) in measured
    raw_names = {row["group"]: row["baselines"][0]["name"] for row in rows if row["baselines"]}
    assert raw_names == {"memory": "dict", "filesystem": "os"}

    targets = results["targets"]
    assert {target["group"] for target in targets} == {"memory", "filesystem"}
    for target in targets:
        assert TARGET_FIELDS <= set(target), target
        assert target["met"] in (True, False, None)

    markdown = (smoke_run / "latest.md").read_text()
    assert "| Store | Operation |" in markdown
    assert "## Targets" in markdown


def test_docs_page_renders_from_json(smoke_run: Path) -> None:
    bench = _load_script()
    page = bench.to_rst(json.loads((smoke_run / "latest.json").read_text()))
    lines = page.splitlines()
    assert lines[0] == ".."  # the "generated, do not edit" comment comes first
    assert lines.count("Benchmarks") == 1
    assert "==========" in lines
    for field in ("- CPU: ", "- Cores: ", "- Python: ", "- Date: "):
        assert field in page
    assert ".. list-table::" in page
