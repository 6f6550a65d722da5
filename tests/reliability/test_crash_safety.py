"""Crash safety of the filesystem store: writers killed with SIGKILL at random moments.

Each trial forks a child that keeps replacing large values (by put, by put_file of an
open file, and by put_file(filename), which moves a file in) and kills it at a random
moment. Every value identifies itself: an 8-byte pattern (key number, version) fills
it, so a partial or mixed value cannot pass for a complete one.
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import struct
import time
import traceback
from pathlib import Path
from typing import BinaryIO

import pytest

from minimalkv_fsspec.backends.adapters.filesystem import TEMP_MARKER
from minimalkv_fsspec.fs import HFilesystemStore
from tests.figures import report

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

TRIALS = 100
KEYS = ("flat", "dir/nested", "deep/er/key")
VERSIONS = 12  # versions 1..12 are written in turn, version v to key v % 3, again and again
MIB = 1024 * 1024
KILL_WINDOW = 0.04  # seconds after the child starts writing


def make_value(key_number: int, version: int) -> bytes:
    size = (2 + version % 3) * MIB  # 2 to 4 MiB: a truncated value also has the wrong size
    return struct.pack(">II", key_number, version) * (size // 8)


VALUES = {(k, v): make_value(k, v) for k in range(len(KEYS)) for v in range(VERSIONS + 1) if v == 0 or v % 3 == k}


def prepare_sources(incoming: Path) -> None:
    """Write each version once to a file, so the child spends its time inside the store."""
    for (number, version), value in VALUES.items():
        (incoming / f"source-{number}-{version}").write_bytes(value)


def write_forever(store: HFilesystemStore, incoming: Path, ready: int, writing: mmap.mmap) -> None:
    """The child's work: replace values until killed, cycling through the three ways to write.

    *writing* holds 1 while a store call runs, so the parent knows where its kill landed.
    """
    os.write(ready, b"x")
    for step in range(1_000_000):
        version = step % VERSIONS + 1
        key_number = version % len(KEYS)
        key, source = KEYS[key_number], incoming / f"source-{key_number}-{version}"
        way = step % 3
        if way == 1:
            upload = incoming / f"upload-{step}"
            os.link(source, upload)  # a new name for put_file to move in
        writing[0] = 1
        if way == 0:
            store.put(key, VALUES[key_number, version])
        elif way == 1:
            store.put_file(key, str(upload))
        else:
            with open(source, "rb") as file:
                store.put_file(key, file)
        writing[0] = 0


def run_trial(store: HFilesystemStore, incoming: Path, rng: random.Random) -> bool:
    """Fork a writer, kill it at a random moment; return whether it was inside a store call."""
    writing = mmap.mmap(-1, 1)  # anonymous and shared with the child
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(read_end)
            write_forever(store, incoming, write_end, writing)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"x"
        time.sleep(rng.uniform(0, KILL_WINDOW))
        os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), f"the writer stopped before it was killed ({os.waitstatus_to_exitcode(status)})"
    return writing[0] == 1


def complete_value(key_number: int, value: bytes) -> bool:
    """Whether *value* is exactly one whole version written to key *key_number*."""
    if len(value) < 8:
        return False
    number, version = struct.unpack(">II", value[:8])
    return number == key_number and VALUES.get((number, version)) == value


def temporaries(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if TEMP_MARKER in path.name]


def crash_trials(tmp_path: Path, trials: int, seed: int) -> dict[str, int]:
    root, incoming = tmp_path / "root", tmp_path / "incoming"
    incoming.mkdir()
    prepare_sources(incoming)
    rng = random.Random(seed)
    figures = dict.fromkeys(("partial", "listed", "mid-write", "left", "removed", "remaining", "fsync trials"), 0)
    for trial in range(trials):
        durable = trial % 10 == 0  # every tenth trial kills a writer that fsyncs
        store = HFilesystemStore(str(root), fsync=durable)
        if trial == 0:
            for number, key in enumerate(KEYS):
                store.put(key, VALUES[number, 0])
        figures["mid-write"] += run_trial(store, incoming, rng)
        figures["fsync trials"] += durable
        listed = store.keys()
        figures["listed"] += sum(TEMP_MARKER in key or ";" in key for key in listed)
        assert sorted(listed) == sorted(KEYS)
        for number, key in enumerate(KEYS):
            if not complete_value(number, store.get(key)):
                figures["partial"] += 1
        figures["left"] += len(temporaries(root))
        figures["removed"] += store.remove_stale_temporaries(max_age=0)
        figures["remaining"] += len(temporaries(root))
        for path in incoming.glob("upload-*"):
            path.unlink()
    return figures


def test_killed_writers_leave_old_or_new_values(tmp_path: Path) -> None:
    started = time.perf_counter()
    figures = crash_trials(tmp_path, TRIALS, seed=20240611)
    report(
        f"crash safety: {TRIALS} trials ({figures['fsync trials']} with fsync, {figures['mid-write']} killed inside "
        f"a store write), {figures['partial']} partial values, {figures['listed']} stray temporaries listed; "
        f"{figures['left']} temporaries left by kills, "
        f"{figures['removed']} removed by remove_stale_temporaries, {figures['remaining']} remaining "
        f"({time.perf_counter() - started:.1f} s)"
    )
    assert figures["partial"] == 0
    assert figures["listed"] == 0
    assert figures["removed"] == figures["left"]
    assert figures["remaining"] == 0
    # The kills must land during writes for the figures to mean anything.
    assert figures["mid-write"] >= TRIALS // 2
    assert figures["left"] >= TRIALS // 10


def test_harness_catches_a_writer_that_is_not_atomic(tmp_path: Path) -> None:
    """The same trials against a writer that overwrites files in place do find partial values."""
    root = tmp_path / "root"
    store = HFilesystemStore(str(root))
    for number, key in enumerate(KEYS):
        store.put(key, VALUES[number, 0])

    def overwrite_in_place(key: str, value: bytes | str | BinaryIO) -> str:
        if isinstance(value, str):
            value = Path(value).read_bytes()
        elif not isinstance(value, bytes):
            value = value.read()
        with open(root / key, "wb") as file:
            file.write(value)
        return key

    store.put = overwrite_in_place  # type: ignore[method-assign,assignment]
    store.put_file = overwrite_in_place  # type: ignore[method-assign,assignment]
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    prepare_sources(incoming)
    rng = random.Random(7)
    trials = partial = 0
    while trials < 20 and partial < 3:
        trials += 1
        run_trial(store, incoming, rng)
        for path in incoming.glob("upload-*"):
            path.unlink()
        partial += sum(not complete_value(n, (root / key).read_bytes()) for n, key in enumerate(KEYS))
    report(f"crash safety control: {partial} partial values in {trials} trials of a writer that is not atomic")
    assert partial > 0
