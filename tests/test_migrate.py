"""minimalkv_fsspec.migrate and ``minimalkv-fsspec migrate``: copy, resume, verify, delete, interrupt."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import fsspec
import pytest

from minimalkv_fsspec import urls
from minimalkv_fsspec._mixins import ExtendedKeyspaceMixin
from minimalkv_fsspec._store import CHUNK_SIZE
from minimalkv_fsspec.backends.adapters._base import FSSpecStore
from minimalkv_fsspec.backends.adapters.filesystem import FilesystemStore, HFilesystemStore
from minimalkv_fsspec.backends.native.memory import DictStore, HDictStore
from minimalkv_fsspec.cli import Progress, main
from minimalkv_fsspec.decorator import PrefixDecorator
from minimalkv_fsspec.migrate import (
    KeyResult,
    MigrationInterrupted,
    describe_error,
    migrate,
    sha256_of,
    store_size,
)

REPO = Path(__file__).resolve().parent.parent

NESTED = {
    "a/one": b"1",
    "a/two": b"22",
    "a/deep/three": b"333",
    "b/four": b"4444",
    "empty": b"",
    "top": bytes(range(256)) * 40,
}


def contents(store: Any, prefix: str = "") -> dict[str, bytes]:
    return {key: store.get(key) for key in store.iter_keys(prefix)}


def filled(store: Any, data: dict[str, bytes]) -> Any:
    for key, value in data.items():
        store.put(key, value)
    return store


# -- instrumented stores -------------------------------------------------------------------


class InterruptingStore(HDictStore):
    """Raises *exc* from ``open`` once *after* values have been opened."""

    def __init__(self, data: dict[str, bytes], after: int, exc: BaseException) -> None:
        super().__init__(dict(data))
        self.after = after
        self.exc = exc
        self.opened = 0
        self._lock = threading.Lock()

    def _open(self, key: str) -> BinaryIO:
        with self._lock:
            self.opened += 1
            if self.opened > self.after:
                raise self.exc
        return super()._open(key)


class ConcurrencyCountingStore(HDictStore):
    """Counts how many ``put_file`` calls run at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.005)
            super()._put_file(key, file)
        finally:
            with self._lock:
                self.running -= 1


class CountedListingStore(HDictStore):
    """Records how far the listing has been consumed."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__(dict(data))
        self.listed = 0

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for key in super().iter_keys(prefix):
            self.listed += 1
            yield key


class CorruptingStore(HDictStore):
    """Stores every value with its first byte flipped: a copy that never verifies."""

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        data = file.read()
        self.d[key] = bytes([data[0] ^ 0xFF]) + data[1:] if data else data


class ChunkCheckingStore(HFilesystemStore):
    """A filesystem store whose ``put_file`` insists on a file object read in bounded chunks."""

    largest_read = 0

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        assert not isinstance(file, (bytes, bytearray, memoryview))
        assert callable(getattr(file, "read", None))
        outer = self

        class Checked(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> int:
                view = memoryview(buffer)
                assert 0 < len(view) <= CHUNK_SIZE
                data = file.read(len(view))
                outer.largest_read = max(outer.largest_read, len(data))
                view[: len(data)] = data
                return len(data)

        super()._put_file(key, Checked())  # type: ignore[arg-type]


class SlowHFilesystemStore(HFilesystemStore):
    """An HFilesystemStore that takes 10 ms per write, so a run can be stopped half-way."""

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        time.sleep(0.01)
        super()._put_file(key, file)


class FailingStore(HDictStore):
    """Fails to store keys starting with ``bad``, with a message that holds a credential."""

    def _put_file(self, key: str, file: IO[bytes]) -> None:
        if key.startswith("bad"):
            raise OSError("upload to s3://admin:hunter2@bucket.example/x?password=hunter2 refused")
        super()._put_file(key, file)


SLOW_SCHEME = "migratetestslowhfs"


def register_slow_scheme() -> None:
    urls.register_scheme(SLOW_SCHEME, "tests.test_migrate:SlowHFilesystemStore", clobber=True)


@pytest.fixture
def slow_scheme() -> Iterator[str]:
    register_slow_scheme()
    yield SLOW_SCHEME
    urls._SCHEMES.pop(SLOW_SCHEME, None)


# -- copying between backends ----------------------------------------------------------------


def test_memory_to_hfs_and_rerun_skips(tmp_path: Path) -> None:
    source = filled(HDictStore(), NESTED)
    dest = HFilesystemStore(str(tmp_path / "dst"))
    report = migrate(source, dest)
    assert (report.copied, report.skipped, report.failed, report.deleted) == (6, 0, 0, 0)
    assert report.bytes == sum(map(len, NESTED.values()))
    assert contents(dest) == NESTED
    assert (tmp_path / "dst" / "a" / "deep" / "three").read_bytes() == b"333"
    again = migrate(source, dest)
    assert (again.copied, again.skipped, again.bytes) == (0, 6, 0)


def test_hfs_to_memory_by_url_and_object(tmp_path: Path) -> None:
    filled(HFilesystemStore(str(tmp_path / "src")), NESTED)
    dest = HDictStore()
    report = migrate(f"hfs://{tmp_path / 'src'}", dest, workers=3)
    assert report.ok
    assert report.copied == 6
    assert contents(dest) == NESTED


def test_fsspec_store_to_hfs_uses_filesystem_sizes(tmp_path: Path) -> None:
    class HFSSpecStore(ExtendedKeyspaceMixin, FSSpecStore):
        pass

    fs = fsspec.filesystem("memory", skip_instance_cache=True)
    root = f"/migrate-{uuid.uuid4().hex}"
    source = filled(HFSSpecStore(fs, root), NESTED)
    try:
        assert store_size(source, "a/deep/three") == 3
        with pytest.raises(KeyError):
            store_size(source, "a/deep")  # a directory, not a value
        dest = HFilesystemStore(str(tmp_path / "dst"))
        assert migrate(source, dest).copied == 6
        assert contents(dest) == NESTED
        assert migrate(dest, source).skipped == 6
    finally:
        fs.rm(root, recursive=True)


def test_fs_to_fs_with_prefixes(tmp_path: Path) -> None:
    flat = filled(FilesystemStore(str(tmp_path / "flat")), {"a1": b"x", "a2": b"yy", "b1": b"zzz"})
    flat_dest = FilesystemStore(str(tmp_path / "flat-dst"))
    report = migrate(flat, flat_dest, prefix="a")
    assert report.copied == 2
    assert contents(flat_dest) == {"a1": b"x", "a2": b"yy"}

    nested = filled(HFilesystemStore(str(tmp_path / "nested")), NESTED)
    nested_dest = HFilesystemStore(str(tmp_path / "nested-dst"))
    assert migrate(nested, nested_dest, prefix="a/").copied == 3
    assert sorted(nested_dest.keys()) == ["a/deep/three", "a/one", "a/two"]
    assert migrate(nested, nested_dest, prefix="a/d").skipped == 1
    assert migrate(nested, nested_dest, prefix="nothing/").copied == 0


def test_decorated_source_is_sized_through_the_decorator(tmp_path: Path) -> None:
    inner = filled(HFilesystemStore(str(tmp_path / "src")), {"p/k": b"prefixed", "k": b"other, longer value"})
    source = PrefixDecorator("p/", inner)
    # The decorator forwards size() to the inner store with its unprefixed key: do not use it.
    assert store_size(source, "k") == len(b"prefixed")
    dest = HDictStore({"k": b"12345678"})  # same size as "prefixed"
    assert migrate(source, dest).skipped == 1
    assert migrate(source, dest, verify=True).copied == 1
    assert dest.get("k") == b"prefixed"


# -- resume, verify, dry run, delete -----------------------------------------------------------


def test_resume_copies_only_what_is_missing_or_a_different_size(tmp_path: Path) -> None:
    source = filled(HDictStore(), NESTED)
    dest = filled(HFilesystemStore(str(tmp_path / "dst")), {"a/one": b"1", "a/two": b"wrong size", "stray": b"s"})
    seen: list[KeyResult] = []
    report = migrate(source, dest, on_key=seen.append)
    assert (report.copied, report.skipped) == (5, 1)
    assert {result.key: result.detail for result in seen}["a/one"] == "same size"
    assert {result.key: result.detail for result in seen}["a/two"] == "size differs in the destination"
    assert contents(dest) == dict(NESTED, stray=b"s")


def test_verify_catches_same_size_different_content() -> None:
    source = filled(HDictStore(), {"k": b"original", "same": b"equal"})
    dest = filled(HDictStore(), {"k": b"tampered", "same": b"equal"})
    assert migrate(source, dest).skipped == 2  # sizes alone cannot tell
    assert dest.get("k") == b"tampered"
    seen: list[KeyResult] = []
    report = migrate(source, dest, verify=True, on_key=seen.append)
    assert (report.copied, report.skipped) == (1, 1)
    assert dest.get("k") == b"original"
    assert {result.key: result.detail for result in seen} == {
        "k": "content differs in the destination",
        "same": "same sha256",
    }


def test_verify_fails_a_copy_that_does_not_match() -> None:
    source = filled(HDictStore(), {"k": b"value"})
    report = migrate(source, CorruptingStore(), verify=True)
    assert not report.ok
    assert report.failures[0].key == "k"
    assert "verification failed" in report.failures[0].reason


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    source = filled(HDictStore(), NESTED)
    dest = filled(HDictStore(), {"a/one": b"1"})
    seen: list[KeyResult] = []
    report = migrate(source, dest, dry_run=True, delete_source=True, on_key=seen.append)
    assert (report.copied, report.skipped, report.deleted) == (5, 1, 0)
    assert report.bytes == sum(len(value) for key, value in NESTED.items() if key != "a/one")
    assert report.summary().startswith("would copy 5 keys")
    assert contents(dest) == {"a/one": b"1"}
    assert contents(source) == NESTED
    assert {result.key for result in seen if result.action == "copied"} == set(NESTED) - {"a/one"}


def test_dry_run_from_the_command_line_creates_no_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled(HFilesystemStore(str(tmp_path / "src")), NESTED)
    dest = tmp_path / "not-yet"
    assert main(["migrate", f"hfs://{tmp_path / 'src'}", f"hfs://{dest}", "--dry-run", "-q"]) == 0
    out, err = capsys.readouterr()
    assert not dest.exists()
    assert "copy: a/deep/three (3 B, not in the destination)" in out
    assert len(out.splitlines()) == 6
    assert "would copy 6 keys" in err


def test_delete_source_after_verification(tmp_path: Path) -> None:
    source = filled(HFilesystemStore(str(tmp_path / "src")), NESTED)
    dest = filled(HDictStore(), {"a/one": b"1", "a/two": b"XX"})  # one identical copy, one corrupt one
    report = migrate(source, dest, delete_source=True)
    assert (report.copied, report.skipped, report.deleted, report.failed) == (5, 1, 6, 0)
    assert contents(dest) == NESTED
    assert source.keys() == []
    assert os.listdir(tmp_path / "src") == []  # emptied directories are pruned


def test_delete_source_keeps_keys_whose_copy_did_not_verify() -> None:
    source = filled(HDictStore(), {"k": b"value", "empty": b""})
    report = migrate(source, CorruptingStore(), delete_source=True)
    assert [failure.key for failure in report.failures] == ["k"]
    assert report.deleted == 1
    assert contents(source) == {"k": b"value"}


# -- failures, overlap, exit codes -------------------------------------------------------------


def test_failures_are_named_with_their_reason_and_no_secret() -> None:
    source = filled(HDictStore(), {"good": b"1", "bad1": b"2", "bad2": b"3"})
    report = migrate(source, FailingStore())
    assert (report.copied, report.failed) == (1, 2)
    assert sorted(failure.key for failure in report.failures) == ["bad1", "bad2"]
    for failure in report.failures:
        assert failure.reason.startswith("OSError: upload to s3://***@bucket.example/x?password=*** refused")
        assert "hunter2" not in failure.reason


def test_describe_error_masks_credentials() -> None:
    text = describe_error(ValueError("redis://user:pw@host/0 and AccountKey=abc123;sig=zzz"))
    assert text == "ValueError: redis://***@host/0 and AccountKey=***;sig=***"
    assert describe_error(KeyError("k")) == "key not found"


def test_command_line_exit_status_and_failure_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled(HFilesystemStore(str(tmp_path / "src")), {"nested/deep": b"2", "flat": b"1"})
    # A flat store cannot hold "nested/deep": the key is named, with its reason, and the status is 1.
    assert main(["migrate", f"hfs://{tmp_path / 'src'}", f"fs://{tmp_path / 'flat'}", "-q"]) == 1
    err = capsys.readouterr().err
    assert "copied 1 keys" in err
    assert "failed 1" in err
    assert "failed: nested/deep: InvalidKeyError" in err
    assert (tmp_path / "flat" / "flat").read_bytes() == b"1"
    assert main(["migrate", f"hfs://{tmp_path / 'src'}", f"hfs://{tmp_path / 'all'}", "-q"]) == 0
    assert "copied 2 keys" in capsys.readouterr().err


def test_overlapping_or_identical_stores_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "data"
    filled(HFilesystemStore(str(root)), {"raw/k": b"1"})
    same = HDictStore()
    with pytest.raises(ValueError, match="same store"):
        migrate(same, same)
    with pytest.raises(ValueError, match="same store"):
        migrate(same, HDictStore(same.d))
    with pytest.raises(ValueError, match="overlap"):
        migrate(f"hfs://{root}", f"hfs://{root}", delete_source=True)
    with pytest.raises(ValueError, match="overlap"):
        migrate(f"hfs://{root}", f"hfs://{root / 'backup'}")
    # Disjoint below a shared directory: fine.
    assert migrate(f"hfs://{root}", f"hfs://{root / 'archive'}", prefix="raw/").copied == 1
    assert main(["migrate", f"hfs://{root}", f"hfs://{root}/./", "-q"]) == 2
    assert "overlap" in capsys.readouterr().err
    with pytest.raises(ValueError, match="workers"):
        migrate(HDictStore(), HDictStore(), workers=0)


# -- concurrency and streaming ---------------------------------------------------------------


def test_concurrency_is_bounded_and_the_listing_lazy() -> None:
    data = {f"k{index:03}": b"v" * index for index in range(120)}
    source = CountedListingStore(data)
    dest = ConcurrencyCountingStore()
    done = 0
    ahead = 0

    def on_key(result: KeyResult) -> None:
        nonlocal done, ahead
        done += 1
        ahead = max(ahead, source.listed - done)

    report = migrate(source, dest, workers=4, on_key=on_key)
    assert report.copied == 120
    assert 2 <= dest.most <= 4
    # Keys taken from the listing and not yet reported: at most one in flight per worker,
    # plus results waiting for the calling thread. The listing is never read ahead.
    assert ahead <= 2 * 4
    assert contents(dest) == data


def test_large_value_streams_in_bounded_chunks(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    (tmp_path / "src").mkdir()
    source = HFilesystemStore(str(tmp_path / "src"))
    digest = hashlib.sha256()
    chunk = os.urandom(1024 * 1024)
    with open(tmp_path / "src" / "big", "wb") as file:
        for _ in range(size // len(chunk)):
            file.write(chunk)
            digest.update(chunk)
    dest = ChunkCheckingStore(str(tmp_path / "dst"))
    tracemalloc.start()
    try:
        report = migrate(source, dest, verify=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok
    assert report.copied == 1
    assert report.bytes == size
    assert 0 < dest.largest_read <= CHUNK_SIZE
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the value was not streamed"
    assert sha256_of(dest, "big") == digest.hexdigest()
    assert store_size(dest, "big") == size


# -- interruption and resume --------------------------------------------------------------------


def test_keyboard_interrupt_loses_nothing_and_a_rerun_finishes(tmp_path: Path) -> None:
    data = {f"dir{index % 5}/key{index}": os.urandom(index * 37) for index in range(60)}
    source = InterruptingStore(data, after=20, exc=KeyboardInterrupt())
    dest = HFilesystemStore(str(tmp_path / "dst"))
    with pytest.raises(MigrationInterrupted) as caught:
        migrate(source, dest, workers=3, delete_source=True)
    partial = caught.value.report
    assert 0 < partial.copied <= 20
    # Every key is whole somewhere, and what was copied is exactly what the report says.
    copied = contents(dest)
    assert len(copied) == partial.copied
    for key, value in data.items():
        assert copied.get(key, value) == value
        assert key in copied or source.get(key) == value
    source.after = 10**9
    report = migrate(source, dest, workers=3, delete_source=True)
    assert report.ok
    assert report.copied + report.skipped == 60 - partial.deleted
    assert contents(dest) == data
    assert source.keys() == []


def test_a_failing_source_is_reported_and_a_rerun_finishes(tmp_path: Path) -> None:
    data = {f"key{index}": bytes([index]) * index for index in range(30)}
    # Two opens per key (DictStore has no size(): it is measured by seeking), so 10 keys get through.
    source = InterruptingStore(data, after=20, exc=OSError("connection reset"))
    dest = HFilesystemStore(str(tmp_path / "dst"))
    report = migrate(source, dest, workers=1)
    assert report.copied == 10
    assert report.failed == 20
    assert {failure.reason for failure in report.failures} == {"OSError: connection reset"}
    source.after = 10**9
    again = migrate(source, dest, workers=2)
    assert (again.copied, again.skipped, again.failed) == (20, 10, 0)
    assert contents(dest) == data


def test_interrupted_command_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(HFilesystemStore(str(tmp_path / "src")), {f"k{index}": b"x" for index in range(10)})
    calls = 0
    real_put_file = HFilesystemStore._put_file

    def interrupt_later(self: HFilesystemStore, key: str, file: IO[bytes]) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        real_put_file(self, key, file)

    monkeypatch.setattr(HFilesystemStore, "_put_file", interrupt_later)
    assert main(["migrate", f"hfs://{tmp_path / 'src'}", f"hfs://{tmp_path / 'dst'}", "-j", "1", "-q"]) == 130
    err = capsys.readouterr().err
    assert "copied 3 keys" in err
    assert "run the same command again to resume" in err
    monkeypatch.undo()
    assert main(["migrate", f"hfs://{tmp_path / 'src'}", f"hfs://{tmp_path / 'dst'}", "-q"]) == 0
    assert "copied 7 keys" in capsys.readouterr().err


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_stopped_command_loses_nothing_and_a_rerun_finishes(tmp_path: Path, stop: signal.Signals) -> None:
    data = {f"part{index % 7}/blob{index}": os.urandom(1000 + index) for index in range(300)}
    source_dir, dest_dir = tmp_path / "src", tmp_path / "dst"
    filled(HFilesystemStore(str(source_dir)), data)
    script = (
        "import sys; from tests.test_migrate import register_slow_scheme; register_slow_scheme(); "
        "from minimalkv_fsspec.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", script, "migrate", f"hfs://{source_dir}", f"{SLOW_SCHEME}://{dest_dir}"]
    process = subprocess.Popen(
        [*command, "-j", "2", "--delete-source", "-q"], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            # Finished keys only: a temporary file of a write in progress holds ";".
            if sum(";" not in name for _, _, files in os.walk(dest_dir) for name in files) >= 40:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the run ended before it could be stopped"
        process.send_signal(stop)
    finally:
        _, err = process.communicate(timeout=60)
    source, dest = HFilesystemStore(str(source_dir)), HFilesystemStore(str(dest_dir))
    left, copied = contents(source), contents(dest)
    assert 40 <= len(copied) < len(data)
    for key, value in data.items():
        assert key in left or key in copied, f"{key} was lost"
        assert left.get(key, value) == value
        assert copied.get(key, value) == value
    if stop == signal.SIGINT:
        assert process.returncode == 130, err
        assert f"copied {len(copied)} keys" in err
        assert f"deleted {len(data) - len(left)} from the source" in err
        assert "run the same command again to resume" in err
    assert main(["migrate", f"hfs://{source_dir}", f"hfs://{dest_dir}", "--delete-source", "-q"]) == 0
    assert contents(dest) == data
    assert source.keys() == []


# -- progress --------------------------------------------------------------------------------------


def test_progress_line_shows_keys_bytes_rate_and_eta(
    tmp_path: Path, slow_scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(HFilesystemStore(str(tmp_path / "src")), {f"k{index:02}": b"x" * 1024 for index in range(30)})
    filled(HFilesystemStore(str(tmp_path / "dst")), {"k00": b"x" * 1024})
    argv = ["migrate", f"hfs://{tmp_path / 'src'}", f"{slow_scheme}://{tmp_path / 'dst'}", "-j", "1", "--progress"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    lines = err.split("\r")
    assert "30/30 keys (1 skipped), 29.0 KiB" in lines[-1]
    assert "keys/s" in lines[-1]
    assert "KiB/s" in lines[-1]
    assert any("ETA " in line for line in lines)
    assert "copied 29 keys (29.0 KiB), skipped 1, failed 0" in err


def test_progress_counts_skipped_and_failed() -> None:
    stream = io.StringIO()
    progress = Progress(3, enabled=True, stream=stream)
    progress.advance(10)
    progress.advance(0, skipped=True)
    progress.advance(0, failed=True)
    progress.finish()
    assert "3/3 keys (1 skipped) (1 failed), 10 B" in stream.getvalue()


def test_missing_source_is_an_error_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo"
    assert main(["migrate", f"hfs://{missing}", f"hfs://{tmp_path / 'dst'}", "-q"]) == 1
    assert "FileNotFoundError" in capsys.readouterr().err
    assert not missing.exists()
    with pytest.raises(FileNotFoundError):
        migrate(f"hfs://{missing}", HDictStore())


def test_a_key_gone_from_the_source_is_a_named_failure() -> None:
    class PhantomStore(HDictStore):
        def iter_keys(self, prefix: str = "") -> Iterator[str]:
            yield from super().iter_keys(prefix)
            yield "listed-then-deleted"

    report = migrate(filled(PhantomStore(), {"real": b"1"}), HDictStore())
    assert report.copied == 1
    assert [(failure.key, failure.reason) for failure in report.failures] == [
        ("listed-then-deleted", "not found in the source (deleted during the migration?)")
    ]


def test_object_store_destination_is_sized_from_one_listing() -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    from minimalkv_fsspec.migrate import listed_sizes

    class CountingFileSystem(MemoryFileSystem):  # type: ignore[misc]
        protocol = ("countingmemory",)
        info_calls = 0

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            type(self).info_calls += 1
            return super().info(path, **kwargs)  # type: ignore[no-any-return]

    dest = FSSpecStore(CountingFileSystem(skip_instance_cache=True), f"/{uuid.uuid4().hex}")
    source = DictStore({f"k{number}": b"x" * number for number in range(20)})
    dest.put("k5", b"y" * 5)  # same size: skipped
    dest.put("k6", b"short")  # other size: copied
    assert listed_sizes(dest, "") == {"k5": 5, "k6": 5}
    CountingFileSystem.info_calls = 0
    report = migrate(source, dest, workers=4)
    assert (report.copied, report.skipped) == (19, 1)
    assert CountingFileSystem.info_calls == 0
    assert dest.get("k6") == b"x" * 6
    assert dest.get("k5") == b"y" * 5
