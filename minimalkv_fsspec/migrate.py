"""Copy every key (or those under a prefix) from one store to another, resumably.

:func:`migrate` is the function behind ``minimalkv-fsspec migrate SRC_URL DST_URL``.
It lists the source lazily and keeps at most ``workers`` keys in flight, each
streamed from ``source.open(key)`` to ``dest.put_file(key, file)``, so neither the
values nor the key list are ever held in memory.

A re-run resumes: a key already in the destination with the same size (or, with
``verify``, the same SHA-256) is skipped. With ``delete_source`` a key leaves the
source only after the SHA-256 of its copy matched the source's. Writes to the
destination are atomic per key on this package's stores, so an interrupted run
leaves every key either not copied or fully copied, and the next run finishes
the job.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, Union, cast

from minimalkv_fsspec._store import CHUNK_SIZE, KeyValueStore

if TYPE_CHECKING:
    from minimalkv_fsspec.cli import Progress
    from minimalkv_fsspec.decorator import StoreDecorator

__all__ = ["KeyResult", "MigrationFailure", "MigrationInterrupted", "MigrationReport", "migrate"]

StoreLike = Union[KeyValueStore, "StoreDecorator"]
"""A store or a decorated store."""

Action = Literal["copied", "skipped", "failed"]

_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_SECRET_OPTION_RE = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|access[_-]?key|account[_-]?key|sig|signature|credentials?)=)"
    r"[^\s&;,'\"]+"
)
_MAX_REASON = 500


@dataclass(frozen=True)
class KeyResult:
    """What happened to one key.

    In a dry run, ``"copied"`` and ``"skipped"`` say what a real run would do.
    """

    key: str
    """The key."""
    action: Action
    """``"copied"``, ``"skipped"`` (already in the destination) or ``"failed"``."""
    size: int = 0
    """Bytes copied (in a dry run: the bytes a real run would copy); 0 if skipped or failed."""
    detail: str = ""
    """Why a key was skipped (``"same size"``, ``"same sha256"``) or why it failed."""
    deleted: bool = False
    """Whether the key was deleted from the source after its copy was verified."""


@dataclass(frozen=True)
class MigrationFailure:
    """A key that could not be migrated, and why (the reason never holds credentials)."""

    key: str
    reason: str


@dataclass
class MigrationReport:
    """The outcome of :func:`migrate`: counts, bytes, time and the failed keys."""

    copied: int = 0
    """Keys copied (in a dry run: keys a real run would copy)."""
    skipped: int = 0
    """Keys already in the destination with the same size (or hash)."""
    deleted: int = 0
    """Keys deleted from the source after verification."""
    bytes: int = 0
    """Bytes copied (in a dry run: bytes a real run would copy)."""
    seconds: float = 0.0
    """Wall-clock duration."""
    failures: list[MigrationFailure] = field(default_factory=list)
    """Each failed key with its reason, in the order the failures happened."""
    dry_run: bool = False
    """Whether this was a dry run, which writes and deletes nothing."""

    @property
    def failed(self) -> int:
        """The number of keys that failed."""
        return len(self.failures)

    @property
    def ok(self) -> bool:
        """Whether no key failed."""
        return not self.failures

    def summary(self) -> str:
        """Return the report as one line: copied, skipped, failed, deleted, bytes, time and rates."""
        elapsed = max(self.seconds, 1e-9)
        verb = "would copy" if self.dry_run else "copied"
        text = f"{verb} {self.copied} keys ({_human_bytes(self.bytes)}), skipped {self.skipped}, failed {self.failed}"
        if self.deleted or not self.dry_run:
            text += f", deleted {self.deleted} from the source"
        text += f" in {self.seconds:.1f}s"
        if not self.dry_run:
            done = self.copied + self.skipped
            text += f" ({done / elapsed:.1f} keys/s, {_human_bytes(self.bytes / elapsed)}/s)"
        return text


@dataclass(frozen=True)
class _WorkerExit:
    """Sent by a worker thread as it ends; *error* is what ended it early, if anything."""

    error: BaseException | None


class MigrationInterrupted(KeyboardInterrupt):
    """The migration was interrupted (Ctrl-C); :attr:`report` tells what was done.

    Keys in flight were finished before this was raised; running the same
    migration again finishes the job.
    """

    def __init__(self, report: MigrationReport) -> None:
        super().__init__("migration interrupted; run it again to resume")
        self.report = report


def migrate(
    source: StoreLike | str,
    dest: StoreLike | str,
    *,
    prefix: str = "",
    workers: int = 8,
    verify: bool = False,
    dry_run: bool = False,
    delete_source: bool = False,
    progress: Progress | None = None,
    on_key: Callable[[KeyResult], None] | None = None,
) -> MigrationReport:
    """Copy every key starting with *prefix* from *source* to *dest*.

    A key already in *dest* with the same size is skipped, so running the same
    migration again resumes it. Keys are listed lazily and at most *workers* are
    in flight at once; each value is streamed, never read whole into memory.
    A key that fails is recorded in the report with its reason and the others go
    on.

    Parameters
    ----------
    source, dest
        Stores (decorated ones too) or store URLs. Stores built here from URLs
        are closed at the end; stores passed in are not. A source URL whose
        container (directory, bucket) does not exist is an error, not created.
    prefix
        Only keys starting with this are migrated. Keys keep their full name.
    workers
        The most keys copied at the same time (threads).
    verify
        Compare SHA-256 hashes (streamed on both sides) instead of sizes to decide
        whether a key in *dest* is up to date, and check every copy the same way.
    dry_run
        Decide what would be copied or skipped, but write and delete nothing.
        A destination URL is then opened without creating its container; if
        that does not exist yet, every key counts as to be copied.
    delete_source
        Delete each key from *source* once its copy in *dest* has the source's
        SHA-256 (this implies *verify*). A key whose copy was not verified is
        never deleted; a key skipped because *dest* holds an identical copy is.
    progress
        A :class:`minimalkv_fsspec.cli.Progress` to advance once per key; if its
        total is unknown it is counted in the background, to show an ETA.
    on_key
        Called in the calling thread with a :class:`KeyResult` for every key.

    Returns
    -------
    MigrationReport
        Counts of copied, skipped, failed and deleted keys, bytes, duration and
        each failure with its reason.

    Raises
    ------
    ValueError
        If *workers* is below 1, a URL is invalid, or *source* and *dest* are
        the same store or overlap (one's keys under *prefix* would be written
        into the other's listing).
    MigrationInterrupted
        On Ctrl-C, once the keys in flight are finished; it carries the report.
    OSError
        If the source does not exist (:class:`FileNotFoundError`), or listing it
        fails (keys in flight are finished first).

    Examples
    --------
    >>> from minimalkv_fsspec.backends.native.memory import DictStore
    >>> source, dest = DictStore(), DictStore()
    >>> source.put_many({"a": b"1", "b": b"22"})
    ['a', 'b']
    >>> migrate(source, dest).summary()  # doctest: +ELLIPSIS
    'copied 2 keys (3 B), skipped 0, failed 0, deleted 0 from the source in ...'
    >>> migrate(source, dest).skipped
    2
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    owned: list[Any] = []
    try:
        # A missing source is an error, not an empty store to be created.
        source_store = _as_store(source, owned, create=False)
        # A dry run creates nothing; a destination that does not exist yet holds no keys.
        dest_store = _as_store(dest, owned, create=not dry_run, missing_is_empty=dry_run)
        _refuse_overlap(source_store, dest_store, prefix)
        run = _Migration(
            source_store,
            dest_store,
            prefix=prefix,
            workers=workers,
            verify=verify or delete_source,
            dry_run=dry_run,
            delete_source=delete_source,
            progress=progress,
            on_key=on_key,
        )
        return run.run()
    finally:
        for store in owned:
            store.close()


# -- one migration ------------------------------------------------------------------


class _Migration:
    def __init__(
        self,
        source: StoreLike,
        dest: StoreLike,
        *,
        prefix: str,
        workers: int,
        verify: bool,
        dry_run: bool,
        delete_source: bool,
        progress: Progress | None,
        on_key: Callable[[KeyResult], None] | None,
    ) -> None:
        self.source = source
        self.dest = dest
        self.prefix = prefix
        self.workers = workers
        self.verify = verify
        self.dry_run = dry_run
        self.delete_source = delete_source and not dry_run
        self.progress = progress
        self.on_key = on_key
        self.report = MigrationReport(dry_run=dry_run)
        # Sizes of the destination's keys from one listing, where that is cheaper than
        # asking once per key (an object store answers each question with a request).
        self._dest_sizes = listed_sizes(dest, prefix)
        self._stop = threading.Event()
        self._interrupted = False

    def run(self) -> MigrationReport:
        """Migrate with ``workers`` threads that each take the next key from the shared listing."""
        started = time.monotonic()
        progress = self.progress
        if progress is not None and progress.total_keys is None and getattr(progress, "enabled", True):
            threading.Thread(target=self._count_keys, name="migrate-count", daemon=True).start()
        keys = iter(self.source.iter_keys(self.prefix))
        listing_lock = threading.Lock()
        results: queue.SimpleQueue[KeyResult | _WorkerExit] = queue.SimpleQueue()
        # Daemon threads, joined below: a second Ctrl-C can still end the process, and
        # a write cut short there is discarded by the store (writes are atomic per key).
        threads = [
            threading.Thread(
                target=self._work, args=(keys, listing_lock, results), name=f"migrate-{number}", daemon=True
            )
            for number in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        running = len(threads)
        failure: BaseException | None = None
        restore_sigint = self._catch_sigint()
        try:
            while running:
                item = results.get()
                if isinstance(item, _WorkerExit):
                    running -= 1
                    failure = failure or item.error
                elif failure is None:
                    self._record(item)
                else:
                    self._record_quietly(item)
        except BaseException as exc:
            # An error from on_key, or a second Ctrl-C: stop taking keys.
            failure = exc
            self._stop.set()
            if not self._interrupted:
                # Finish the keys in flight and count them.
                while running:
                    item = results.get()
                    if isinstance(item, _WorkerExit):
                        running -= 1
                    else:
                        self._record_quietly(item)
        finally:
            restore_sigint()
            self._stop.set()
            if not running:
                for thread in threads:
                    thread.join()
            if progress is not None:
                progress.finish()
            self.report.seconds = time.monotonic() - started
        if self._interrupted and failure is None:
            failure = KeyboardInterrupt()
        if isinstance(failure, KeyboardInterrupt) and not isinstance(failure, MigrationInterrupted):
            raise MigrationInterrupted(self.report) from failure
        if failure is not None:
            raise failure
        return self.report

    def _catch_sigint(self) -> Callable[[], None]:
        """Turn a first Ctrl-C into a request to stop; return the function that undoes it.

        A KeyboardInterrupt raised at an arbitrary point of the calling thread could
        lose a finished key's result, so the first Ctrl-C only stops the workers
        from taking new keys; a second one raises at once. Only the main thread
        receives signals, and an application's own SIGINT handler is left alone.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return lambda: None

        def on_sigint(signum: int, frame: object) -> None:
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
            self._stop.set()

        def restore() -> None:
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, on_sigint)
        return restore

    def _work(
        self, keys: Iterator[str], listing_lock: threading.Lock, results: queue.SimpleQueue[KeyResult | _WorkerExit]
    ) -> None:
        """Migrate keys from the shared listing until it ends, fails or the run stops."""
        error: BaseException | None = None
        try:
            while not self._stop.is_set():
                # A generator cannot be advanced by two threads at once.
                with listing_lock:
                    key = next(keys, None)
                if key is None:
                    break
                results.put(self._process(key))
        except BaseException as exc:  # a listing failure, or an interruption raised by a store
            error = exc
            self._stop.set()
        finally:
            results.put(_WorkerExit(error))

    def _count_keys(self) -> None:
        """Count the keys to migrate, so the progress line can show an ETA."""
        count = 0
        try:
            for _ in self.source.iter_keys(self.prefix):
                if self._stop.is_set():
                    return
                count += 1
        except Exception:  # noqa: BLE001 -- no total means no ETA, nothing worse
            return
        if self.progress is not None:
            self.progress.total_keys = count

    def _record_quietly(self, result: KeyResult) -> None:
        """Record a key while stopping: a second error must not hide the first."""
        try:
            self._record(result)
        except Exception:  # noqa: BLE001 -- the run is ending with the first error
            pass

    def _record(self, result: KeyResult) -> None:
        report = self.report
        if result.action == "copied":
            report.copied += 1
            report.bytes += result.size
        elif result.action == "skipped":
            report.skipped += 1
        else:
            report.failures.append(MigrationFailure(result.key, result.detail))
        report.deleted += result.deleted
        if self.progress is not None:
            self.progress.advance(result.size, skipped=result.action == "skipped", failed=result.action == "failed")
        if self.on_key is not None:
            self.on_key(result)

    # -- in a worker thread ---------------------------------------------------------

    def _process(self, key: str) -> KeyResult:
        try:
            return self._migrate_key(key)
        except Exception as exc:  # noqa: BLE001 -- any failure of one key is reported, the others go on
            return KeyResult(key, "failed", detail=describe_error(exc))

    def _migrate_key(self, key: str) -> KeyResult:
        try:
            source_size = store_size(self.source, key)
        except KeyError:
            return KeyResult(key, "failed", detail="not found in the source (deleted during the migration?)")
        dest_size: int | None
        if self._dest_sizes is not None:
            dest_size = self._dest_sizes.get(key)
        else:
            try:
                dest_size = store_size(self.dest, key)
            except KeyError:
                dest_size = None
        if dest_size == source_size:
            if not self.verify:
                return KeyResult(key, "skipped", detail="same size")
            if sha256_of(self.source, key) == sha256_of(self.dest, key):
                deleted = False
                if self.delete_source and not self._stop.is_set():
                    self.source.delete(key)
                    deleted = True
                return KeyResult(key, "skipped", detail="same sha256", deleted=deleted)
        if dest_size is None:
            why = "not in the destination"
        elif dest_size != source_size:
            why = "size differs in the destination"
        else:
            why = "content differs in the destination"
        if self.dry_run:
            return KeyResult(key, "copied", source_size, detail=why)
        with self.source.open(key) as file:
            reader = _HashingReader(file, hashing=self.verify)
            self.dest.put_file(key, cast("BinaryIO", reader))
        # Fewer bytes: the store stopped reading early; more: the value grew meanwhile.
        if reader.size != source_size:
            return KeyResult(
                key,
                "failed",
                detail=f"read {reader.size} bytes but the source reported {source_size} "
                "(changed during the copy?); run again to copy it anew",
            )
        if self.verify:
            source_digest = reader.hexdigest() or sha256_of(self.source, key)
            if sha256_of(self.dest, key) != source_digest:
                return KeyResult(
                    key, "failed", detail="verification failed: the copy's sha256 differs from the source's"
                )
            if self.delete_source and not self._stop.is_set():
                self.source.delete(key)
                return KeyResult(key, "copied", reader.size, detail=why, deleted=True)
        return KeyResult(key, "copied", reader.size, detail=why)


# -- helpers --------------------------------------------------------------------------


class _HashingReader(io.BufferedIOBase):
    """Pass a source file to ``put_file`` while hashing what is read, once, in order.

    The hash stays valid as long as the reader consumes the value from start to end
    (re-reading or seeking back is fine; skipping ahead is not). Otherwise
    :meth:`hexdigest` returns None and the caller hashes the source separately.
    """

    def __init__(self, file: IO[bytes], *, hashing: bool = True) -> None:
        super().__init__()
        self._file = file
        self._hash = hashlib.sha256() if hashing else None
        self._position = 0
        self._hashed = 0
        self._gap = False
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._file.seekable())

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        self._position = self._file.seek(offset, whence)
        return self._position

    def read(self, size: int | None = -1, /) -> bytes:
        data = self._file.read(-1 if size is None else size)
        self._consumed(data)
        return data

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size if size >= 0 else CHUNK_SIZE)

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _consumed(self, data: bytes) -> None:
        start, end = self._position, self._position + len(data)
        if start > self._hashed:
            self._gap = True
        elif end > self._hashed:
            if self._hash is not None:
                self._hash.update(memoryview(data)[self._hashed - start :])
            self._hashed = end
        self._position = end
        self.size = max(self.size, end)

    def hexdigest(self) -> str | None:
        """Return the SHA-256 of the whole value, or None if it was not read in order."""
        if self._hash is None or self._gap or self._hashed != self.size:
            return None
        return self._hash.hexdigest()


def listed_sizes(store: StoreLike, prefix: str) -> dict[str, int] | None:
    """Return ``{key: size}`` for the keys under *prefix* from one listing, or None.

    Only for fsspec-backed object stores, whose listing carries sizes; a local
    filesystem answers a per-key ``stat`` faster than a walk. None when the
    listing fails, so the caller asks per key instead.
    """
    from minimalkv_fsspec.backends.adapters._base import FSSpecStore
    from minimalkv_fsspec.backends.adapters.filesystem import FilesystemStore

    if not isinstance(store, FSSpecStore) or isinstance(store, FilesystemStore):
        return None
    directory = prefix.rpartition("/")[0]
    start = store._path(directory) if directory else (store.root or store._base)
    try:
        entries = store.fs.find(start, detail=True)
    except FileNotFoundError:
        return {}
    except Exception:  # noqa: BLE001 -- any listing problem: fall back to asking per key
        return None
    sizes: dict[str, int] = {}
    for path, info in entries.items():
        key = store._key_of(path)
        if key is not None and key.startswith(prefix) and info.get("size") is not None:
            sizes[key] = int(info["size"])
    return sizes


def store_size(store: StoreLike, key: str) -> int:
    """Return the size of the value under *key* by the cheapest means the store has.

    ``store.size(key)`` where the store's class defines it (the filesystem
    stores); the filesystem's ``info`` for other fsspec-backed stores; else the
    value is opened and sought to its end.

    Raises
    ------
    KeyError
        If *key* is not stored.
    ValueError
        If *key* is not valid for the store.
    OSError
        If the backend fails.
    """
    from minimalkv_fsspec.backends.adapters._base import FSSpecStore

    # Looked up on the class: a decorator forwards unknown attributes to the store
    # it wraps, whose keys may differ from the decorator's (a prefix, say).
    if callable(getattr(type(store), "size", None)):
        return int(store.size(key))  # type: ignore[union-attr]
    if isinstance(store, FSSpecStore):
        store._check_valid_key(key)
        with store._translate(key):
            info = store.fs.info(store._path(key))
        if info.get("type", "file") != "file" or info.get("size") is None:
            raise KeyError(key)
        return int(info["size"])
    with store.open(key) as file:
        return int(file.seek(0, os.SEEK_END))


def sha256_of(store: StoreLike, key: str) -> str:
    """Return the hex SHA-256 of the value under *key*, streamed in chunks.

    Raises
    ------
    KeyError
        If *key* is not stored.
    ValueError
        If *key* is not valid for the store.
    OSError
        If the backend fails.
    """
    digest = hashlib.sha256()
    with store.open(key) as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def describe_error(exc: BaseException) -> str:
    """Return a one-line reason for *exc*, with credentials in URLs and options masked."""
    if isinstance(exc, KeyError):
        text = "key not found"
    else:
        message = str(exc).replace("\n", " ").strip()
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = _USERINFO_RE.sub(r"\1***@", text)
    text = _SECRET_OPTION_RE.sub(r"\1***", text)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _as_store(store: StoreLike | str, owned: list[Any], *, create: bool, missing_is_empty: bool = False) -> StoreLike:
    """Return *store*, or build it from its URL (recorded in *owned*, to be closed).

    With *create* false the store's container (directory, bucket) is not created;
    if it is missing, *missing_is_empty* stands an empty store in for it.
    """
    if not isinstance(store, str):
        return store
    from minimalkv_fsspec.urls import get_store, url2dict

    params = url2dict(store)
    if not create:
        params["create_if_missing"] = False
    try:
        built: StoreLike = get_store(**params)
    except FileNotFoundError:
        if not missing_is_empty:
            raise
        from minimalkv_fsspec.backends.native.memory import HDictStore

        built = HDictStore()
    owned.append(built)
    return built


def _location(store: StoreLike) -> tuple[Any, str] | None:
    """Return (filesystem identity, base path) of an fsspec-backed store, else None."""
    from minimalkv_fsspec.backends.adapters._base import FSSpecStore
    from minimalkv_fsspec.backends.adapters.filesystem import FilesystemStore

    if isinstance(store, FilesystemStore):
        return ("local", os.path.realpath(store.root).rstrip(os.sep) + os.sep)
    if isinstance(store, FSSpecStore):
        options = getattr(store.fs, "storage_options", {})
        identity = (type(store.fs), repr(sorted(options.items(), key=lambda item: item[0])))
        return (identity, store._path(""))
    return None


def _refuse_overlap(source: StoreLike, dest: StoreLike, prefix: str) -> None:
    if source is dest:
        raise ValueError("source and destination are the same store")
    from minimalkv_fsspec.backends.native.memory import DictStore

    if isinstance(source, DictStore) and isinstance(dest, DictStore) and source.d is dest.d:
        raise ValueError("source and destination are the same store: they share one dict")
    source_at, dest_at = _location(source), _location(dest)
    if source_at is None or dest_at is None or source_at[0] != dest_at[0]:
        return
    read, written = source_at[1] + prefix, dest_at[1] + prefix
    if read.startswith(written) or written.startswith(read):
        raise ValueError(
            "source and destination overlap: the keys written would land among the keys read; "
            "choose distinct locations or a prefix that separates them"
        )


def _human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


# -- the command line ------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``minimalkv-fsspec migrate`` to *parser*."""
    parser.add_argument("source", metavar="SRC_URL", help="the store to copy from")
    parser.add_argument("dest", metavar="DST_URL", help="the store to copy to")
    parser.add_argument("-p", "--prefix", default="", help="only keys starting with this")
    parser.add_argument("-j", "--workers", type=int, default=8, help="keys copied at the same time (default 8)")
    parser.add_argument("--verify", action="store_true", help="compare SHA-256 instead of sizes, and check every copy")
    parser.add_argument("-n", "--dry-run", action="store_true", help="list what would be copied; write nothing")
    parser.add_argument(
        "--delete-source", action="store_true", help="delete each key from the source once its copy is verified"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")


def run_command(args: argparse.Namespace) -> int:
    """Run ``minimalkv-fsspec migrate`` with parsed *args*; return the exit status.

    The status is 0 if every key was migrated or skipped, 1 if any key failed,
    and 130 if the run was interrupted.
    """
    from minimalkv_fsspec.cli import Progress

    progress = Progress(None, enabled=not args.quiet and sys.stderr.isatty() or args.progress)

    def show(result: KeyResult) -> None:
        if args.dry_run:
            verb = {"copied": "copy", "skipped": "skip", "failed": "fail"}[result.action]
            extra = f"{_human_bytes(result.size)}, {result.detail}" if result.action == "copied" else result.detail
            if result.action == "skipped" and args.delete_source:
                verb = "skip, delete from source"
            print(f"{verb}: {result.key} ({extra})")

    try:
        report = migrate(
            args.source,
            args.dest,
            prefix=args.prefix,
            workers=args.workers,
            verify=args.verify,
            dry_run=args.dry_run,
            delete_source=args.delete_source,
            progress=progress,
            on_key=show,
        )
    except MigrationInterrupted as exc:
        _print_report(exc.report)
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    sys.stdout.flush()
    _print_report(report)
    return 0 if report.ok else 1


def _print_report(report: MigrationReport) -> None:
    print(report.summary(), file=sys.stderr)
    for failure in report.failures:
        print(f"failed: {failure.key}: {failure.reason}", file=sys.stderr)
