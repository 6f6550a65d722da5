"""The ``minimalkv-fsspec`` command: put, get, cat, ls, rm and cp on any store URL.

The store is chosen by ``--store URL``, else the ``MINIMALKV_FSSPEC_STORE``
environment variable, else a filesystem store in the current directory
(``hfs://.``, which allows ``/`` in keys: they are subdirectories).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any

from minimalkv_fsspec._store import CHUNK_SIZE
from minimalkv_fsspec.urls import get_store_from_url

__all__ = ["DEFAULT_STORE_URL", "STORE_ENV_VAR", "main"]

DEFAULT_STORE_URL = "hfs://."
"""The store the command uses when neither ``--store`` nor the environment names one."""

STORE_ENV_VAR = "MINIMALKV_FSSPEC_STORE"
"""The environment variable that names the default store URL."""


class Progress:
    """A one-line progress report on stderr: keys, bytes, rate and ETA."""

    def __init__(self, total_keys: int | None, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total_keys = total_keys
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.keys = 0
        self.bytes = 0
        self.skipped = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._drawn_keys = 0

    def advance(self, size: int, *, skipped: bool = False, failed: bool = False) -> None:
        """Count one more key of *size* bytes (skipped or failed, if flagged); redraw at most ten times a second."""
        self.keys += 1
        self.bytes += size
        self.skipped += skipped
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._last_draw >= 0.1 or self.keys == self.total_keys):
            self._last_draw = now
            self._drawn_keys = self.keys
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def line(self) -> str:
        """Return the progress line: counts, rate and, if the total is known, the ETA."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.keys / elapsed
        text = f"{self.keys}"
        if self.total_keys is not None:
            text += f"/{self.total_keys}"
        text += " keys"
        if self.skipped:
            text += f" ({self.skipped} skipped)"
        if self.failed:
            text += f" ({self.failed} failed)"
        text += f", {_human_bytes(self.bytes)}, {rate:.1f} keys/s, {_human_bytes(self.bytes / elapsed)}/s"
        if self.total_keys and rate > 0:
            text += f", ETA {max(self.total_keys - self.keys, 0) / rate:.0f}s"
        return text

    def finish(self) -> None:
        """Draw the final counts, if not drawn yet, and end the progress line."""
        if self.enabled:
            if self._drawn_keys != self.keys:
                self.stream.write("\r" + self.line())
            self.stream.write("\n")
            self.stream.flush()


def _human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"  # pragma: no cover


def _open_store(url: str | None) -> Any:
    return get_store_from_url(url or os.environ.get(STORE_ENV_VAR) or DEFAULT_STORE_URL)


def _cmd_put(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    with store:
        if args.file in (None, "-"):
            store.put_file(args.key, sys.stdin.buffer)
        else:
            # A file object, not the filename: a filesystem store would move the file.
            with open(args.file, "rb") as source:
                store.put_file(args.key, source)
    return 0


def _cmd_get(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    with store:
        if args.file in (None, "-"):
            store.get_file(args.key, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            store.get_file(args.key, args.file)
    return 0


def _cmd_cat(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    with store:
        for key in args.keys:
            with store.open(key) as source:
                shutil.copyfileobj(source, sys.stdout.buffer, CHUNK_SIZE)
    sys.stdout.buffer.flush()
    return 0


def _cmd_ls(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    with store:
        if args.delimiter:
            names: Iterable[str] = store.iter_prefixes(args.delimiter, args.prefix)
        else:
            names = store.iter_keys(args.prefix)
        for name in sorted(names):
            print(name)
    return 0


def _cmd_rm(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    with store:
        keys = list(args.keys)
        if args.prefix is not None:
            keys.extend(store.iter_keys(args.prefix))
        store.delete_many(keys)
        if args.prefix is not None or len(keys) > 1:
            print(f"deleted {len(keys)} keys", file=sys.stderr)
    return 0


def _cmd_cp(args: argparse.Namespace) -> int:
    source = get_store_from_url(args.source)
    target = get_store_from_url(args.dest)
    with source, target:
        keys = list(args.key) if args.key else sorted(source.iter_keys(args.prefix))
        progress = Progress(len(keys), enabled=not args.quiet and sys.stderr.isatty() or args.progress)
        failed: list[tuple[str, str]] = []
        for key in keys:
            try:
                with source.open(key) as value:
                    target.put_file(key, value)
                    size = value.tell()
            except (KeyError, OSError, ValueError) as exc:
                failed.append((key, _describe_error(exc)))
                continue
            progress.advance(size)
        progress.finish()
        print(
            f"copied {progress.keys} keys ({_human_bytes(progress.bytes)}) in "
            f"{time.monotonic() - progress.started:.1f}s, {len(failed)} failed",
            file=sys.stderr,
        )
        for key, reason in failed:
            print(f"failed: {key}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"key {exc.args[0]!r} not found" if exc.args else "key not found"
    return f"{type(exc).__name__}: {exc}"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``minimalkv-fsspec`` command."""
    parser = argparse.ArgumentParser(
        prog="minimalkv-fsspec",
        description="Put, get and list binary values in any minimalkv_fsspec store.",
        epilog=f"The store is --store, else ${STORE_ENV_VAR}, else {DEFAULT_STORE_URL} (the current directory).",
    )
    parser.add_argument("-s", "--store", help="store URL, e.g. memory://, hfs:///data, redis://localhost/0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    put = commands.add_parser("put", help="store a file (or stdin) under KEY")
    put.add_argument("key")
    put.add_argument("file", nargs="?", help="file to read; '-' or omitted: stdin")
    put.set_defaults(run=_cmd_put)

    get = commands.add_parser("get", help="write the value of KEY to a file (or stdout)")
    get.add_argument("key")
    get.add_argument("file", nargs="?", help="file to write; '-' or omitted: stdout")
    get.set_defaults(run=_cmd_get)

    cat = commands.add_parser("cat", help="write the values of KEYs to stdout")
    cat.add_argument("keys", nargs="+", metavar="KEY")
    cat.set_defaults(run=_cmd_cat)

    ls = commands.add_parser("ls", help="list keys, sorted")
    ls.add_argument("prefix", nargs="?", default="", help="only keys starting with this")
    ls.add_argument("-d", "--delimiter", help="list distinct prefixes up to this delimiter instead")
    ls.set_defaults(run=_cmd_ls)

    rm = commands.add_parser("rm", help="delete keys (missing keys are not an error)")
    rm.add_argument("keys", nargs="*", metavar="KEY")
    rm.add_argument("-p", "--prefix", help="also delete every key starting with this")
    rm.set_defaults(run=_cmd_rm)

    cp = commands.add_parser("cp", help="copy keys from one store URL to another")
    cp.add_argument("source", metavar="SRC_URL")
    cp.add_argument("dest", metavar="DST_URL")
    cp.add_argument("-p", "--prefix", default="", help="only keys starting with this")
    cp.add_argument("-k", "--key", action="append", help="copy only this key (repeatable)")
    cp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cp.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    cp.set_defaults(run=_cmd_cp)

    migrate = commands.add_parser(
        "migrate",
        help="copy all keys (or a prefix) to another store, resumably",
        description="Copy every key (or those under --prefix) from SRC_URL to DST_URL with bounded concurrency. "
        "A re-run resumes: keys already in DST_URL with the same size (same SHA-256 with --verify) are skipped.",
    )
    from minimalkv_fsspec.migrate import add_arguments, run_command

    add_arguments(migrate)
    migrate.set_defaults(run=run_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failed, 2 bad usage or input)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyError as exc:
        print(f"minimalkv-fsspec: error: {_describe_error(exc)}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"minimalkv-fsspec: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"minimalkv-fsspec: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
