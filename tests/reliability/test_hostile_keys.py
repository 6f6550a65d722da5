"""Hostile keys on every store: each is stored and read back exactly, or refused with ValueError.

The corpus is :data:`minimalkv_fsspec.testing.keys.HOSTILE_KEYS` (``..`` in every
position, absolute paths, backslashes, drive letters, percent-encoded and look-alike
dots and slashes, control characters, over-long keys and segments, keys that collide
after normalisation). Every key goes through put, put_many, get, get_many, open,
get_file, put_file, delete, delete_many, ``in``, copy, move, url_for, keys and
iter_prefixes on every store and URL scheme and on the decorators.

* A key that a store takes must come back byte for byte: from every read, in the
  listing, and in the backend itself under its own name (seen through a side door).
* A key that a store refuses (``put`` raises :class:`ValueError`) must be refused by
  every write with :class:`ValueError`, leaving the other keys as they were; reads
  of it raise :class:`ValueError` or find nothing (a key too long for a backend is
  refused when written and simply never there when read).
* Nothing outside the store's area may change: files beside a filesystem root,
  other keys in a Redis database, another table, objects beside a bucket prefix.

Stores whose every operation is a request or a commit (the emulators, database
servers, git) and the decorators over another store put every key one by one but
spread the other single-key operations over the keys (each key gets one of them)
and check the rest with the bulk calls. Stores that cannot hold a key and a key
below it (``a`` and ``a/b``: files and directories) get the corpus in layers
without such pairs. Listing is checked with a sample of the keys as prefixes, and
with every key holding a wildcard of ``LIKE``, globs or Redis patterns.

Symbolic links inside a filesystem root (to a directory outside it) get their own
test: every key and traversal through them, with every operation, changes nothing
outside the root. The figures are printed at the end of the module.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import pytest

from minimalkv_fsspec import get_store_from_url
from minimalkv_fsspec.testing.keys import HOSTILE_KEY_CATEGORIES, HOSTILE_KEYS
from tests.figures import report

WILDCARDS = frozenset(HOSTILE_KEY_CATEGORIES["wildcards"])

# -- the tally --------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one store did with the corpus."""

    stored: int = 0
    refused: int = 0
    escapes: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        if len(self.other) < 2000:
            self.other.append(what)

    def add(self, other: Tally) -> None:
        self.stored += other.stored
        self.refused += other.refused
        self.escapes += other.escapes
        self.other += other.other


TOTALS: dict[str, Tally] = {}
LINK_RUNS: dict[str, int] = {}  # operations tried through symbolic links, per URL scheme


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the figures of the stores that ran, past pytest's output capture."""
    yield
    if LINK_RUNS:
        report(f"symbolic links in a filesystem root: {sum(LINK_RUNS.values()):,} operations with hostile "
                      f"keys x {len(LINK_RUNS)} URL schemes, 0 files written, changed or removed outside the root")
    if not TOTALS:
        return
    stored = sum(tally.stored for tally in TOTALS.values())
    refused = sum(tally.refused for tally in TOTALS.values())
    escapes = sum(len(tally.escapes) for tally in TOTALS.values())
    other = sum(len(tally.other) for tally in TOTALS.values())
    line = (f"hostile keys: {len(HOSTILE_KEYS)} keys x {len(TOTALS)} stores: {stored:,} stored exactly, "
            f"{refused:,} refused with ValueError, {escapes} escapes, {other} other exceptions")
    report(line)


def _short(key: str) -> str:
    text = repr(key)
    return text if len(text) < 60 else text[:57] + "..."


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:150]}"


def _summary(problems: list[str]) -> str:
    """Group problems by operation and outcome, with a count and the first example of each."""
    groups: dict[str, list[str]] = {}
    for problem in problems:
        operation = problem.split(" ", 1)[0]
        outcome = problem.rsplit(": ", 2)[-2] if problem.count(": ") >= 2 else problem.rsplit(": ", 1)[-1]
        groups.setdefault(f"{operation} -> {outcome[:60]}", []).append(problem)
    lines = [f"{len(items)} x {group}; e.g. {items[0][:240]}" for group, items in groups.items()]
    return f"{len(problems)} problems:\n" + "\n".join(lines)


# -- the store under test -----------------------------------------------------------------------------------


@dataclass
class Subject:
    """A store under test with its side doors.

    ``raw()`` returns the names the backend holds in the store's area (``None``: no
    side door); ``encode(key)`` is the name a key must have there. ``outside()``
    snapshots everything beside the store that it must not touch. ``writer`` is the
    store the values are written through (another one for a read-only decorator).
    """

    store: Any
    raw: Callable[[], set[str]] | None = None
    encode: Callable[[str], str] = lambda key: key
    outside: Callable[[], Any] = lambda: None
    thorough: bool = True
    nests: bool = True
    writer: Any = None

    @property
    def writes(self) -> Any:
        return self.store if self.writer is None else self.writer


def _value(index: int) -> bytes:
    return b"value %d \x00\xff" % index


def _layers(keys: list[str]) -> list[list[str]]:
    """Split *keys* so that no layer holds a key and a key below it (``a`` and ``a/b``)."""
    present = set(keys)
    layers: dict[int, list[str]] = {}
    for key in keys:
        parts = key.split("/")
        depth = sum("/".join(parts[:end]) in present for end in range(1, len(parts)))
        layers.setdefault(depth, []).append(key)
    return [layers[depth] for depth in sorted(layers)]


def check(name: str, subject: Subject, tmp_path: Path, keys: list[str] = HOSTILE_KEYS) -> None:
    """Run the corpus through *subject*, record its figures and fail on any problem."""
    tally = Tally()
    for layer in [keys] if subject.nests else _layers(keys):
        tally.add(_exercise(subject, layer, tmp_path))
    TOTALS[name] = tally
    assert not tally.escapes, tally.escapes
    assert not tally.other, _summary(tally.other)
    assert tally.stored + tally.refused == len(keys)


def _exercise(subject: Subject, keys: list[str], tmp_path: Path) -> Tally:
    store, writer, tally = subject.store, subject.writes, Tally()
    scratch = tmp_path / "scratch"  # files for get_file and put_file by name; not outside the store
    scratch.mkdir(exist_ok=True)
    before = subject.outside()
    model: dict[str, bytes] = {}
    refused: list[str] = []
    for index, key in enumerate(keys):
        try:
            writer.put(key, _value(index))
        except ValueError:
            refused.append(key)
        except Exception as exc:  # noqa: BLE001 -- any other exception is what this test counts
            tally.fail(f"put {_short(key)}: {_describe(exc)}")
        else:
            model[key] = _value(index)
    tally.stored, tally.refused = len(model), len(refused)
    if model:
        anchor = next(iter(model))
        for key in refused:
            _check_refused(subject, key, anchor, model, tally)
    _check_contents(subject, model, tally, "after the puts")
    _check_prefixes(subject, model, tally, keys)

    # The single-key operations: all of them on every key, or one per key in turn.
    stored, before_operations = list(model), dict(model)
    successor = dict(zip(stored, stored[1:] + stored[:1], strict=True))
    operations = _READS if writer is not store else _READS + _WRITES
    for index, key in enumerate(stored):
        if subject.thorough:
            # Every operation, except that a third of the keys is moved away and a third deleted.
            chosen = [op for op in operations if op not in _REMOVING or _REMOVING.index(op) == index % 3]
        else:
            chosen = [operations[index % len(operations)]]
        for operation in chosen:
            operation(subject, key, successor[key], model, tally, scratch)

    # Remote stores: every value was read back after the puts; now the ones the operations wrote.
    changed = {key: value for key, value in model.items() if before_operations.get(key) != value}
    _check_contents(subject, model, tally, "after the single-key operations", model if subject.thorough else changed)
    writer.delete_many(list(model))
    model.clear()
    _check_contents(subject, model, tally, "after delete_many")
    after = subject.outside()
    if after != before:
        tally.escapes.append(f"outside the store changed: {_difference(before, after)}")
    return tally


def _difference(before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        changed = sorted(set(before) ^ set(after))
        changed += sorted(name for name in set(before) & set(after) if before[name] != after[name])
        return ", ".join(_short(str(name)) for name in changed[:10])
    return f"{str(before)[:300]} -> {str(after)[:300]}"


# -- refused keys -----------------------------------------------------------------------------------------------


def _check_refused(subject: Subject, key: str, anchor: str, model: dict[str, bytes], tally: Tally) -> None:
    """Every write of *key* raises ValueError; every read raises ValueError or finds nothing."""
    store, name = subject.store, _short(key)
    writes: list[tuple[str, Callable[[], Any]]] = [
        ("put_many", lambda: store.put_many({anchor: b"changed", key: b"x"})),
        ("put_file", lambda: store.put_file(key, io.BytesIO(b"x"))),
        ("copy to", lambda: store.copy(anchor, key)),
        ("move to", lambda: store.move(anchor, key)),
    ]
    for what, call in writes if subject.writer is None else []:
        if what.startswith("move") and not hasattr(store, "move"):
            continue
        try:
            call()
        except ValueError:
            pass
        except Exception as exc:  # noqa: BLE001
            tally.fail(f"{what} {name}: {_describe(exc)}")
        else:
            tally.fail(f"{what} {name}: not refused")
        # The contents are compared with the model afterwards; locally also right here, to name the call.
        if subject.thorough and (anchor not in store or store.get(anchor) != model[anchor]):
            tally.fail(f"{what} {name}: another key was changed by the refused call")
            store.put(anchor, model[anchor])
    reads: list[tuple[str, Callable[[], Any], Any]] = [
        ("get", lambda: store.get(key), KeyError),
        ("open", lambda: store.open(key), KeyError),
        ("get_file", lambda: store.get_file(key, io.BytesIO()), KeyError),
        ("in", lambda: key in store, False),
        ("get_many", lambda: store.get_many([key]), {}),
        ("copy from", lambda: store.copy(key, anchor), KeyError),
        ("delete", lambda: store.delete(key), None),
        ("delete_many", lambda: store.delete_many([key]), None),
    ]
    for what, call, missing in reads:
        if subject.writer is not None and what.startswith(("copy", "delete")):
            continue
        try:
            result = call()
        except ValueError:
            continue
        except KeyError:
            if missing is KeyError:
                continue
            result = "KeyError"
        except Exception as exc:  # noqa: BLE001
            tally.fail(f"{what} {name}: {_describe(exc)}")
            continue
        if result != missing and missing is not KeyError:
            tally.fail(f"{what} {name}: {str(result)[:80]} (neither refused nor missing)")
        elif missing is KeyError:
            tally.fail(f"{what} {name}: returned {str(result)[:80]} (neither refused nor missing)")


# -- checks against the model -------------------------------------------------------------------------------------


def _expect(tally: Tally, what: str, call: Callable[[], Any], expected: Any) -> None:
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"{what}: {_describe(exc)}")
        return
    if result != expected:
        tally.fail(f"{what}: {str(result)[:100]} != {str(expected)[:100]}")


def _check_contents(subject: Subject, model: dict[str, bytes], tally: Tally, when: str,
                    values: dict[str, bytes] | None = None) -> None:
    """Compare the listing, the values (all, or *values*) and the backend's names with the model."""
    store, values = subject.store, model if values is None else values
    _expect(tally, f"keys() {when}", lambda: sorted(store.keys()), sorted(model))
    if values:
        _expect(tally, f"get_many {when}", lambda: store.get_many(list(values)), values)
    if subject.raw is not None:
        raw, expected = subject.raw(), {subject.encode(key) for key in model}
        if raw != expected:
            extra, missing = sorted(raw - expected), sorted(expected - raw)
            tally.escapes.append(f"backend names {when}: unexpected {[_short(k) for k in extra[:5]]}, "
                                 f"missing {[_short(k) for k in missing[:5]]}")


def _delimited(model: dict[str, bytes], prefix: str) -> list[str]:
    """The dict model of ``iter_prefixes("/", prefix)``."""
    found = set()
    for key in model:
        if key.startswith(prefix):
            position = key.find("/", len(prefix))
            found.add(key if position < 0 else key[: position + 1])
    return sorted(found)


def _check_prefixes(subject: Subject, model: dict[str, bytes], tally: Tally, keys: list[str]) -> None:
    """Listing with a hostile prefix matches the dict model.

    The prefixes: a sample of the keys, every key that holds a wildcard of glob, LIKE or
    Redis patterns (or their escape character), and the ones that are no text.
    """
    store, step = subject.store, 8 if subject.thorough else max(1, len(keys) // 20)
    wild = [key for key in keys if key in WILDCARDS]
    for prefix in dict.fromkeys(keys[::step] + wild + [key for key in keys if not _is_text(key)]):
        expected = sorted(key for key in model if key.startswith(prefix))
        check = _expect if _is_text(prefix) else _expect_or_refused
        check(tally, f"keys({_short(prefix)})", lambda prefix=prefix: sorted(store.keys(prefix)), expected)
        if "/" in prefix:
            check(tally, f"iter_prefixes({_short(prefix)})",
                  lambda prefix=prefix: sorted(store.iter_prefixes("/", prefix)), _delimited(model, prefix))


def _is_text(text: str) -> bool:
    """Whether *text* is Unicode text (a lone surrogate is not: it has no UTF-8 encoding)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _expect_or_refused(tally: Tally, what: str, call: Callable[[], Any], expected: Any) -> None:
    """A prefix that is no text may be refused with ValueError instead of matching nothing."""
    try:
        call()
    except ValueError:
        return
    except Exception:  # noqa: BLE001, S110 -- _expect reports it
        pass
    _expect(tally, what, call, expected)


# -- single-key operations on stored keys ---------------------------------------------------------------------

Operation = Callable[[Subject, str, str, dict[str, bytes], Tally, Path], None]


def _op_get(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    _expect(tally, f"get {_short(key)}", lambda: store.get(key), model[key])


def _op_open(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    def read() -> bytes:
        with store.open(key) as file:
            return bytes(file.read())

    _expect(tally, f"open {_short(key)}", read, model[key])


def _op_get_file(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    def read() -> bytes:
        buffer = io.BytesIO()
        store.get_file(key, buffer)
        return buffer.getvalue()

    _expect(tally, f"get_file {_short(key)}", read, model[key])


def _op_contains(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    _expect(tally, f"in {_short(key)}", lambda: key in store, True)


def _op_url_for(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    try:
        url = store.url_for(key)
    except (AttributeError, NotImplementedError):
        return  # a store without URLs
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"url_for {_short(key)}: {_describe(exc)}")
        return
    root = getattr(store, "root", None)
    if url.startswith("file://") and root is not None:
        path = unquote(urlsplit(url).path)
        expected = os.path.join(os.path.realpath(root), *subject.encode(key).split("/"))
        if "\x00" in path or os.path.realpath(path) != expected:
            tally.fail(f"url_for {_short(key)}: {url[:100]} is not the key's file")


def _op_put_file(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    value = b"put_file " + model[key]
    try:
        store.put_file(key, io.BytesIO(value))
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"put_file {_short(key)}: {_describe(exc)}")
        return
    model[key] = value
    _expect(tally, f"get after put_file {_short(key)}", lambda: store.get(key), value)


def _op_files(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    """get_file and put_file with a file name (the filesystem store moves such a file in)."""
    target = str(tmp / f"file-{uuid.uuid4().hex}")
    try:
        store.get_file(key, target)
        value = Path(target).read_bytes()
        Path(target).write_bytes(b"from a file " + value)
        store.put_file(key, target)
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"file_names {_short(key)}: {_describe(exc)}")
        return
    if value != model[key]:
        tally.fail(f"get_file {_short(key)}: the file holds a wrong value")
    model[key] = b"from a file " + value
    _expect(tally, f"get after put_file(filename) {_short(key)}", lambda: store.get(key), model[key])


def _op_copy(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    try:
        store.copy(key, other)
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"copy {_short(key)} -> {_short(other)}: {_describe(exc)}")
        return
    model[other] = model[key]
    _expect(tally, f"get after copy to {_short(other)}", lambda: store.get(other), model[key])


def _op_move(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    if not hasattr(store, "move") or key == other:
        return
    try:
        store.move(key, other)
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"move {_short(key)} -> {_short(other)}: {_describe(exc)}")
        return
    model[other] = model.pop(key)
    _expect(tally, f"get after move to {_short(other)}", lambda: store.get(other), model[other])
    _expect(tally, f"in after move from {_short(key)}", lambda: key in store, False)


def _op_delete(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
    store = subject.store
    if key not in model:
        return
    try:
        store.delete(key)
    except Exception as exc:  # noqa: BLE001
        tally.fail(f"delete {_short(key)}: {_describe(exc)}")
        return
    model.pop(key)
    _expect(tally, f"in after delete {_short(key)}", lambda: key in store, False)

    def missing() -> bool:
        try:
            store.get(key)
        except KeyError:
            return True
        return False

    _expect(tally, f"get after delete {_short(key)}", missing, True)


def _guarded(operation: Operation) -> Operation:
    """Skip the operation for a key that an earlier one moved or deleted."""

    def run(subject: Subject, key: str, other: str, model: dict[str, bytes], tally: Tally, tmp: Path) -> None:
        if key in model:
            operation(subject, key, other, model, tally, tmp)

    return run


_READS: list[Operation] = [_guarded(op) for op in (_op_get, _op_open, _op_get_file, _op_contains, _op_url_for)]
_REMOVING: list[Operation] = [_guarded(_op_move), _guarded(_op_delete)]
_WRITES: list[Operation] = [*(_guarded(op) for op in (_op_put_file, _op_files, _op_copy)), *_REMOVING]


# -- local stores --------------------------------------------------------------------------------------------

Factory = Callable[[pytest.FixtureRequest, Path], Subject]


def _files_outside(top: Path, skip: Path) -> Callable[[], dict[str, bytes | None]]:
    """Snapshot every file and directory below *top* except *skip* (the store's own) and the scratch files."""
    skipped = {skip, top / "scratch"}

    def snapshot() -> dict[str, bytes | None]:
        state: dict[str, bytes | None] = {}
        for directory, dirnames, filenames in os.walk(top):
            if skipped & {Path(directory), *Path(directory).parents}:
                dirnames[:] = []
                continue
            for name in dirnames:
                state[os.path.join(directory, name)] = None
            for name in filenames:
                path = os.path.join(directory, name)
                state[path] = Path(path).read_bytes() if not os.path.islink(path) else None
        return state

    return snapshot


def _files_below(root: Path) -> Callable[[], set[str]]:
    """The relative paths of the regular files below *root*, with any that resolve outside it marked."""

    def names() -> set[str]:
        found: set[str] = set()
        real_root = os.path.realpath(root)
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                if not os.path.realpath(path).startswith(real_root + os.sep):
                    found.add(f"<outside the root: {path}>")
                found.add(os.path.relpath(path, root).replace(os.sep, "/"))
        return found

    return names


def _sandbox(tmp_path: Path) -> Path:
    """Return a store root in a sandbox with neighbours a traversal would hit: files beside and above it."""
    root = tmp_path / "sandbox" / "root"
    root.mkdir(parents=True)
    (tmp_path / "sandbox" / "x").write_bytes(b"sibling")
    (tmp_path / "sandbox" / "outside").mkdir()
    (tmp_path / "sandbox" / "outside" / "passwd").write_bytes(b"outside value")
    (tmp_path / "x").write_bytes(b"above")
    return root


def _on_disk(store: Any, root: Path, tmp_path: Path, **options: Any) -> Subject:
    return Subject(store, raw=_files_below(root), outside=_files_outside(tmp_path, root), nests=False, **options)


def _filesystem(scheme: str, thorough: bool = True) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        root = _sandbox(tmp_path)
        return _on_disk(get_store_from_url(f"{scheme}://{root}"), root, tmp_path, thorough=thorough)

    return make


def _web(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    from minimalkv_fsspec.fs import WebFilesystemStore

    root = _sandbox(tmp_path)
    return _on_disk(WebFilesystemStore(str(root), "https://example.invalid/"), root, tmp_path)


def _memory(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        store = get_store_from_url(f"{scheme}://")
        return Subject(store, raw=lambda: set(store.d))

    return make


def _fsspec_memory(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        import fsspec

        raw = fsspec.filesystem("memory", skip_instance_cache=True)
        name = f"hostile-{uuid.uuid4().hex}"
        for path in (f"/{name}/x", f"/{name}x/y", f"/{name}/rootx"):
            raw.pipe_file(path, b"neighbour")
        request.addfinalizer(lambda: [raw.rm(f"/{top}", recursive=True) for top in (name, f"{name}x")])
        store = get_store_from_url(f"{scheme}://{name}/root/")

        def names() -> set[str]:
            return {path[len(f"/{name}/root/"):] for path in raw.find(f"/{name}/root/")}

        def outside() -> dict[str, bytes]:
            return {path: raw.cat_file(path) for path in raw.find("/")
                    if name in path and not path.startswith(f"/{name}/root/")}

        return Subject(store, raw=names, outside=outside, nests=False)

    return make


def _fsspec_local(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        root = _sandbox(tmp_path)
        return _on_disk(get_store_from_url(f"{scheme}://{root}"), root, tmp_path)

    return make


def _redis_client(request: pytest.FixtureRequest, db: int) -> Any:
    import redis

    server = request.getfixturevalue("redis_server")
    client = redis.Redis(host=server["host"], port=server["port"], db=db)
    client.flushdb()
    request.addfinalizer(client.close)
    request.addfinalizer(client.flushdb)
    return client


# Keys of other users of a Redis database: no valid key of the store (or none under its prefix), so
# none may be listed, changed or deleted.
REDIS_FOREIGN = {b"other app:*": b"1", b"other\x00key": b"2", b"\xff\xfe": b"3", b"../x": b"4", b"*": b"5",
                 b"/x": b"6", b"a//b": b"7", b"x/": b"8", b"%\x00": b"9", b"[a]\x00": b"10", b"\\": b"11",
                 b"tenant-\x00": b"12"}
# Valid keys outside the prefix of a PrefixDecorator, and the prefix alone (the empty key).
OUTSIDE_THE_PREFIX = {b"key": b"1", b"tenant": b"2", b"tenantx-y": b"3", b"Tenant-key": b"4", b"x-tenant-k": b"5",
                      b"tenant-": b"6"}


def _redis(scheme: str, db: int, wrap: str = "") -> Factory:
    """A Redis store on database *db* (8-11; the other tests use lower ones), its neighbour on db + 4."""

    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        client = _redis_client(request, db)
        neighbour = _redis_client(request, db + 4)
        foreign = {**REDIS_FOREIGN, **(OUTSIDE_THE_PREFIX if wrap else {})}
        client.mset(foreign)
        neighbour.mset({b"neighbour": b"n", b"k": b"n"})
        server = request.getfixturevalue("redis_server")
        store = get_store_from_url(f"{scheme}://{server['host']}:{server['port']}/{db}{wrap}")
        request.addfinalizer(store.close)
        prefix = "tenant-" if wrap else ""

        def names() -> set[str]:
            return {raw.decode("utf-8", "surrogateescape") for raw in client.keys("*") if raw not in foreign}

        def outside() -> Any:
            return {raw: client.get(raw) for raw in foreign}, sorted(neighbour.keys("*"))

        return Subject(store, raw=names, encode=lambda key: prefix + key, outside=outside)

    return make


def _sql(scheme: str, server: str | None) -> Factory:
    """A SQL store; on a server the single-key operations take turns (SQLite runs them all)."""

    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        import sqlalchemy as sa

        table = f"hostile_{uuid.uuid4().hex[:10]}"
        # SQLite in memory: the same SQL as with a file, without a disk sync per statement.
        url = f"{scheme}+sqlite://?table={table}" if server is None else (
            f"{scheme}+{request.getfixturevalue(server)['url']}?table={table}")
        store = get_store_from_url(url)
        engine = store.bind
        neighbour = sa.Table(f"{table}_n", sa.MetaData(), sa.Column("name", sa.String(50)))
        neighbour.create(engine)
        with engine.begin() as connection:
            connection.execute(neighbour.insert(), [{"name": "neighbour"}, {"name": "k"}])

        def cleanup() -> None:
            with engine.begin() as connection:
                connection.execute(sa.text(f"DROP TABLE {table}"))
                connection.execute(sa.text(f"DROP TABLE {table}_n"))
            store.close()

        request.addfinalizer(cleanup)

        def names() -> set[str]:
            with engine.connect() as connection:
                return {row[0] for row in connection.execute(sa.select(store.table.c.key))}

        def outside() -> Any:
            with engine.connect() as connection:
                return sorted(row[0] for row in connection.execute(sa.select(neighbour.c.name)))

        return Subject(store, raw=names, outside=outside, thorough=server is None)

    return make


def _git(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        root = _sandbox(tmp_path)
        store = get_store_from_url(f"{scheme}://{root}/repo.git?branch=hostile&subdir=data")
        request.addfinalizer(store.close)

        def names() -> set[str]:
            from dulwich.object_store import iter_tree_contents

            repo = store.repo
            try:
                tree = repo[repo.refs[b"refs/heads/hostile"]].tree
            except KeyError:
                return set()
            return {entry.path.decode("utf-8", "surrogateescape").removeprefix("data/")
                    for entry in iter_tree_contents(repo.object_store, tree)}

        # Every write is a commit: the single-key operations take turns.
        return Subject(store, raw=names, outside=_files_outside(tmp_path, root), thorough=False, nests=False)

    return make


LOCAL_STORES: dict[str, Factory] = {
    "memory": _memory("memory"),
    "hmemory": _memory("hmemory"),
    "fs": _filesystem("fs"),
    "hfs": _filesystem("hfs"),
    # The same two classes again under their other schemes.
    "file": _filesystem("file", thorough=False),
    "hfile": _filesystem("hfile", thorough=False),
    "filesystem": _filesystem("filesystem", thorough=False),
    "web": _web,
    "fsspec+memory": _fsspec_memory("fsspec+memory"),
    "hfsspec+memory": _fsspec_memory("hfsspec+memory"),
    "fsspec+file": _fsspec_local("fsspec+file"),
    "hfsspec+file": _fsspec_local("hfsspec+file"),
    "redis": _redis("redis", 8),
    "hredis": _redis("hredis", 9),
    "sql+sqlite": _sql("sql", None),
    "hsql+sqlite": _sql("hsql", None),
    "sql+postgresql": _sql("sql", "postgres_server"),
    "hsql+postgresql": _sql("hsql", "postgres_server"),
    "sql+mariadb": _sql("sql", "mariadb_server"),
    "hsql+mariadb": _sql("hsql", "mariadb_server"),
    "git": _git("git"),
    "hgit": _git("hgit"),
}


@pytest.mark.parametrize("name", list(LOCAL_STORES))
def test_local_stores(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(name, LOCAL_STORES[name](request, tmp_path), tmp_path)


# -- cloud stores (emulators) ------------------------------------------------------------------------------------

SECRET = "hostile-keys-secret"
# Objects beside the store's folder "root/" that a traversal or a loose prefix match would reach, and
# objects inside it whose names are no valid key: none may be listed, changed or deleted.
NEIGHBOURS = {"x": b"1", "root": b"2", "rootx/y": b"3", "other/root/x": b"4", "root/a/": b"5", "root/ spaced/": b"6",
              "root/x:y": b"7", "root/a/:": b"8"}
# Names the Azure SDK cannot even write ("." and ".." segments are removed from its request paths).
UNNORMALISED_NEIGHBOURS = {"root/../x": b"9", "root//x": b"10", "root/./x": b"11"}


def _bucket_subject(store: Any, listing: Callable[[], dict[str, Any]], neighbours: dict[str, bytes]) -> Subject:
    def names() -> set[str]:
        return {name[len("root/"):] for name in listing() if name.startswith("root/") and name not in neighbours}

    def outside() -> dict[str, Any]:
        return {name: tag for name, tag in listing().items() if name in neighbours}

    return Subject(store, raw=names, outside=outside, thorough=False)


def _s3(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        import boto3

        moto = request.getfixturevalue("moto_server")
        bucket = f"hostile-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=moto["endpoint_url"], aws_access_key_id="raw",
                              aws_secret_access_key="raw", region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        neighbours = {**NEIGHBOURS, **UNNORMALISED_NEIGHBOURS}
        for name, value in neighbours.items():
            client.put_object(Bucket=bucket, Key=name, Body=value)
        host = moto["endpoint_url"].split("://", 1)[1]
        store = get_store_from_url(f"{scheme}://testing:{SECRET}@{host}/{bucket}/root/?force_bucket_suffix=false"
                                   "&is_secure=false")

        def listing() -> dict[str, Any]:
            found: dict[str, Any] = {}
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                found.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
            return found

        return _bucket_subject(store, listing, neighbours)

    return make


def _azure(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        from azure.storage.blob import BlobServiceClient

        azurite = request.getfixturevalue("azurite")
        container = f"hostile-{uuid.uuid4().hex[:12]}"
        service = BlobServiceClient.from_connection_string(azurite["connection_string"])
        client = service.create_container(container)
        request.addfinalizer(lambda: service.delete_container(container))
        for name, value in NEIGHBOURS.items():
            client.upload_blob(name, value)
        key = quote(azurite["account_key"], safe="")
        store = get_store_from_url(f"{scheme}://{azurite['account_name']}:{key}@{container}/root"
                                   f"?blob_endpoint={azurite['blob_endpoint']}")
        return _bucket_subject(store, lambda: {blob.name: blob.etag for blob in client.list_blobs()}, NEIGHBOURS)

    return make


def _gcs(scheme: str) -> Factory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        import gcsfs

        fake = request.getfixturevalue("fake_gcs")
        bucket = f"hostile-{uuid.uuid4().hex[:12]}"
        raw = gcsfs.GCSFileSystem(endpoint_url=fake["endpoint_url"], token="anon", project="test",
                                  skip_instance_cache=True, use_listings_cache=False)
        raw.mkdir(bucket)
        neighbours = {**NEIGHBOURS, **UNNORMALISED_NEIGHBOURS}
        for name, value in neighbours.items():
            raw.pipe_file(f"{bucket}/{name}", value)
        store = get_store_from_url(f"{scheme}://anon@{bucket}/root?endpoint_url={fake['endpoint_url']}&project=test")

        def listing() -> dict[str, Any]:
            raw.invalidate_cache()
            return {path[len(bucket) + 1:]: info.get("md5Hash")
                    for path, info in raw.find(bucket, detail=True).items()}

        return _bucket_subject(store, listing, neighbours)

    return make


CLOUD_STORES: dict[str, Factory] = {
    "s3": _s3("s3"),
    "hs3": _s3("hs3"),
    "azure": _azure("azure"),
    "hazure": _azure("hazure"),
    "gcs": _gcs("gcs"),
    "hgcs": _gcs("hgcs"),
}


@pytest.mark.parametrize("name", list(CLOUD_STORES))
def test_cloud_stores(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(name, CLOUD_STORES[name](request, tmp_path), tmp_path)


# -- decorators ---------------------------------------------------------------------------------------------------


def _url_encoded(key: str) -> str:
    """The name URLEncodeKeysDecorator stores *key* under (written independently of it)."""
    return {".": "%2E", "..": "%2E%2E"}.get(key) or quote_plus(key.encode("utf-8"))


def _decorated(url: str, encode: Callable[[str], str] = lambda key: key, on_disk: bool = True,
               thorough: bool = True) -> Factory:
    """A decorator stack from a URL with wrappers, over a filesystem (``{root}``) or memory store."""

    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        root = _sandbox(tmp_path)
        store = get_store_from_url(url.format(root=root))
        if on_disk:
            return _on_disk(store, root, tmp_path, encode=encode, thorough=thorough)
        inner = store
        while hasattr(inner, "_dstore"):
            inner = inner._dstore
        return Subject(store, raw=lambda: set(inner.d), encode=encode, thorough=thorough)

    return make


def _python_stack(kind: str) -> Factory:
    """Decorators built in Python: the StoreDecorator base, HMAC, a cache and the stack of three."""

    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
        from minimalkv_fsspec.cache import CacheDecorator
        from minimalkv_fsspec.crypt import HMACDecorator
        from minimalkv_fsspec.decorator import PrefixDecorator, StoreDecorator
        from minimalkv_fsspec.fs import HFilesystemStore
        from minimalkv_fsspec.memory import DictStore, HDictStore

        root = _sandbox(tmp_path)
        backend = HFilesystemStore(str(root))
        if kind == "store":
            store: Any = StoreDecorator(DictStore())
            return Subject(store, raw=lambda: set(store._dstore.d))
        if kind == "hmac":
            store = HMACDecorator(b"hostile secret", backend)
        elif kind == "cache":
            store = CacheDecorator(HDictStore(), backend)
        else:
            store = PrefixDecorator("tenant/sub/", HMACDecorator(b"hostile secret", CacheDecorator(HDictStore(),
                                                                                                   backend)))
        encode = (lambda key: "tenant/sub/" + key) if kind == "stack" else (lambda key: key)
        return _on_disk(store, root, tmp_path, encode=encode, thorough=False)

    return make


def _readonly(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    """A read-only view of a filesystem store, filled through the store itself."""
    from minimalkv_fsspec.decorator import ReadOnlyDecorator
    from minimalkv_fsspec.fs import HFilesystemStore

    root = _sandbox(tmp_path)
    backend = HFilesystemStore(str(root))
    store = ReadOnlyDecorator(backend)
    with pytest.raises(AttributeError):
        store.put("key", b"value")
    return _on_disk(store, root, tmp_path, writer=backend, thorough=False)


DECORATED_STORES: dict[str, Factory] = {
    "hfs+prefix": _decorated("hfs://{root}#wrap:prefix(tenant%2Fsub%2F)", lambda key: "tenant/sub/" + key),
    "fs+urlencode": _decorated("fs://{root}#wrap:urlencode", _url_encoded),
    "hmemory#prefix+urlencode": _decorated("hmemory://#wrap:prefix(t%2F)+urlencode",
                                           lambda key: "t/" + _url_encoded(key), on_disk=False),
    "memory#hash": _decorated("memory://#wrap:hash", on_disk=False),
    "hmemory#uuid": _decorated("hmemory://#wrap:uuid", on_disk=False),
    "redis+prefix": _redis("redis", 10, "#wrap:prefix(tenant-)"),
    "readonly(hfs)": _readonly,
    "store(memory)": _python_stack("store"),
    "hmac(hfs)": _python_stack("hmac"),
    "cache(hfs)": _python_stack("cache"),
    "prefix(hmac(cache(hfs)))": _python_stack("stack"),
}


@pytest.mark.parametrize("name", list(DECORATED_STORES))
def test_decorators(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(name, DECORATED_STORES[name](request, tmp_path), tmp_path)


# -- symbolic links inside a filesystem root (formerly tests/test_key_safety.py) ------------------------------

TRAVERSALS = [
    "..", ".", "../", "../x", "..\\x", "a/../../x", "a/../b", "./x", "x/.", "x/..", "..%2fx", "%2e%2e/x",
    "%2e%2e%2fx", "....//x", ".../x", "..;/x", "..\x00/x", "..%00/x", "..%c0%af/x", "..%252f/x",
    "/etc/passwd", "//etc/passwd", "///x", "/", "//", "~/x", "~root/x", "C:\\x", "C:/x", "\\\\server\\share",
    "\\x", "a\\..\\..\\x", "x\x00", "\x00", "x\x00/../..", "a//b", "a/", "/a", "a/./b", " /x", "x/ ",
    "\u2025/x", "\uff0e\uff0e/x", "\u2024\u2024/x", "x\u2215..\u2215y", "x\u29f8..\u29f8y", "\u0338x",
    "..\u2044x", "\u202e../x", "x\r\n", "x\t", "x\n/../..", "link/escape", "link/../escape", "link",
    "inner/link2/escape", "a" * 300, "a/" * 200 + "x", ("b" * 200 + "/") * 30 + "x", "x" * 5000,
]  # fmt: skip


def _through_links() -> list[str]:
    """Traversals below, around and through the symbolic links of the sandbox."""
    return sorted({prefix + key + suffix for prefix in ("", "ok/", "ok/../", "deep/er/")
                   for key in TRAVERSALS for suffix in ("", "/..", "/../..", "/../../outside")})


def _attempts(store: Any, key: str) -> list[Callable[[], Any]]:
    return [
        lambda: store.put(key, b"hostile"),
        lambda: store.put_file(key, io.BytesIO(b"hostile")),
        lambda: store.get(key),
        lambda: store.get_file(key, io.BytesIO()),
        lambda: store.open(key).close(),
        lambda: key in store,
        lambda: store.delete(key),
        lambda: store.copy("seed", key),
        lambda: store.copy(key, "seed2"),
        lambda: store.move(key, "seed3"),
        lambda: store.put_many({key: b"hostile"}),
        lambda: store.delete_many([key]),
        lambda: store.url_for(key),
        lambda: store.keys(key),
        lambda: list(store.iter_prefixes("/", key)),
    ]


@pytest.mark.parametrize("scheme", ["fs", "hfs", "file", "hfile", "filesystem", "web", "fsspec+file", "hfsspec+file"])
def test_symbolic_links_inside_the_root_lead_nowhere(tmp_path: Path, scheme: str) -> None:
    from minimalkv_fsspec.fs import WebFilesystemStore

    root = _sandbox(tmp_path)
    outside = tmp_path / "sandbox" / "outside"
    (root / "inner").mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside, root / "inner" / "link2")
    store = WebFilesystemStore(str(root), "https://example/") if scheme == "web" else (
        get_store_from_url(f"{scheme}://{root}"))
    store.put("seed", b"seed")
    before = _files_outside(tmp_path, root)()

    keys = _through_links()
    escapes = []
    for key in keys:
        for number, attempt in enumerate(_attempts(store, key)):
            try:
                attempt()
            except (ValueError, KeyError, OSError):  # a file below a file is an OSError; nothing escapes
                pass
            # Checked after every operation: a later delete of the same key would hide an escaped write.
            if os.listdir(outside) != ["passwd"]:
                escapes.append(f"operation {number} on {key!r} left {os.listdir(outside)}")
                for name in set(os.listdir(outside)) - {"passwd"}:
                    os.unlink(outside / name)

    assert len(keys) >= 900
    assert not escapes, escapes[:5]
    changed = _difference(before, _files_outside(tmp_path, root)())
    assert not changed, changed
    assert (outside / "passwd").read_bytes() == b"outside value"
    assert not any(name.startswith("<outside") for name in _files_below(root)())
    LINK_RUNS[scheme] = len(keys) * len(_attempts(store, "x"))


@pytest.mark.parametrize("scheme", ["hfs", "hfsspec+file"])
def test_a_symbolically_linked_parent_is_refused(tmp_path: Path, scheme: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    store = get_store_from_url(f"{scheme}://{root}")
    with pytest.raises(ValueError, match="symbolic link"):
        store.put("link/x", b"1")
    with pytest.raises(ValueError, match="symbolic link"):
        store.get("link/x")
    assert list((tmp_path / "outside").iterdir()) == []
