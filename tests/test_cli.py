"""The minimalkv-fsspec command line, run in-process and as an installed script."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minimalkv_fsspec.cli import main


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv("MINIMALKV_FSSPEC_STORE", raising=False)
    return root


def test_default_store_is_the_current_directory(store_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "input.bin"
    source.write_bytes(b"\x00payload")
    assert main(["put", "docs/readme", str(source)]) == 0
    assert (store_dir / "docs" / "readme").read_bytes() == b"\x00payload"
    assert source.exists(), "put must not move the caller's file"
    assert main(["get", "docs/readme", str(tmp_path / "out.bin")]) == 0
    assert (tmp_path / "out.bin").read_bytes() == b"\x00payload"


def test_ls_cat_rm(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a/one", "a/two", "b"):
        path = store_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    assert main(["ls"]) == 0
    assert capsys.readouterr().out.split() == ["a/one", "a/two", "b"]
    assert main(["ls", "-d", "/"]) == 0
    assert capsys.readouterr().out.split() == ["a/", "b"]
    assert main(["ls", "a/t"]) == 0
    assert capsys.readouterr().out.split() == ["a/two"]
    assert main(["rm", "--prefix", "a/"]) == 0
    assert sorted(os.listdir(store_dir)) == ["b"]


def test_missing_key_and_bad_url_exit_non_zero(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "absent"]) == 1
    assert "key 'absent' not found" in capsys.readouterr().err
    assert main(["--store", "nosuch://x", "ls"]) == 2
    assert 'Unknown storage type "nosuch"' in capsys.readouterr().err
    assert main(["--store", "redis://user:hunter2@[::1", "ls"]) == 2
    assert "hunter2" not in capsys.readouterr().err


def test_cp_copies_between_stores_and_names_failures(
    tmp_path: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "src"
    (source / "nested").mkdir(parents=True)
    (source / "flat").write_bytes(b"1")
    (source / "nested" / "deep").write_bytes(b"2")
    target = tmp_path / "dst"
    assert main(["cp", f"hfs://{source}", f"hfs://{target}", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "copied 2 keys" in err
    assert "0 failed" in err
    assert (target / "nested" / "deep").read_bytes() == b"2"
    # A flat store cannot hold "nested/deep": the key is named and the status is 1.
    assert main(["cp", f"hfs://{source}", f"fs://{tmp_path / 'flat'}", "-q"]) == 1
    err = capsys.readouterr().err
    assert "copied 1 keys" in err
    assert "failed: nested/deep" in err


def test_stdin_and_stdout(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from stdin")))
    assert main(["put", "piped"]) == 0
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    assert main(["cat", "piped"]) == 0
    assert out.getvalue() == b"from stdin"


def test_installed_script_runs(tmp_path: Path) -> None:
    env = dict(os.environ, MINIMALKV_FSSPEC_STORE=f"hfs://{tmp_path}")
    put = subprocess.run(
        [sys.executable, "-m", "minimalkv_fsspec.cli", "put", "k"], input=b"v", env=env, capture_output=True
    )
    assert put.returncode == 0, put.stderr
    listed = subprocess.run([sys.executable, "-m", "minimalkv_fsspec.cli", "ls"], env=env, capture_output=True)
    assert listed.stdout.split() == [b"k"]
