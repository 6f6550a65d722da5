"""A hypothesis state machine that checks a store against a dict model."""

from __future__ import annotations

import builtins
import functools
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

# Few keys, sampled from fixed lists (cheap to draw, quick to shrink), so that
# overwrites, shared prefixes and keys that are prefixes of others come up often.
_STANDARD_KEYS = ["a", "b", "ab", "aa", "a.b", "a_b", "a-", "a%", "ba", "b.a", "%", "_", "-a", "ab.%_-"]
# Nested keys, and keys that are a directory of others ("a" and "a/b").
_EXTENDED_KEYS = ["a/b", "a/a", "ab/a", "a/b/a", "a/b.a", "b/a", "a /b", "a%/b"]
_STANDARD = st.sampled_from(_STANDARD_KEYS)
_EXTENDED = st.sampled_from(_STANDARD_KEYS + _EXTENDED_KEYS)
_PREFIXES = ["", "a", "ab", "a.", "b", "%", "-"]
_EXTENDED_PREFIXES = ["a/", "a/b", "a/b/"]
# Distinct small values: empty, NUL, line ends, high bytes; 24 bytes span several chunked reads.
_VALUES = st.sampled_from(
    [b"", b"\x00", b"x", b"y", b"\r\n", b"\xff\xfe\x00\x01", bytes(range(200, 224)), b"value " * 4]
)
# Single characters of the keys, "/" and a two-character delimiter that keys can contain.
_DELIMITERS = st.sampled_from(["/", ".", "_", "a", "b%", "/b"])

_Method = TypeVar("_Method", bound=Callable[..., None])


@dataclass
class ModelCheckTally:
    """What one model check ran: sequences, and the sequences where the store and the model disagreed."""

    sequences: int = 0
    divergences: int = 0


def expected_prefixes(keys: Iterable[str], delimiter: str, prefix: str) -> set[str]:
    """Return what ``iter_prefixes(delimiter, prefix)`` yields for a store holding *keys*."""
    found = set()
    for key in keys:
        if key.startswith(prefix):
            position = key.find(delimiter, len(prefix))
            found.add(key if position < 0 else key[: position + len(delimiter)])
    return found


def _step(method: _Method) -> _Method:
    """Mark the machine as failed while *method* runs, so teardown knows whether a step raised."""

    @functools.wraps(method)
    def run(self: Any, **arguments: Any) -> None:
        self.failed = True
        method(self, **arguments)
        self.failed = False

    return run  # type: ignore[return-value]


def _agree(answer: object, expected: object, what: str) -> None:
    if answer != expected:
        raise AssertionError(f"{what}: the store answered {answer!r}, the model {expected!r}")


def _raises_keyerror(call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except KeyError:
        return
    raise AssertionError(f"{what} of a key the model does not have did not raise KeyError")


def run_model_check(
    store: Any,
    side_get: Callable[[Any, str], bytes | None],
    extended: bool,
    examples: int,
    file_and_directory_keys: bool = True,
    *,
    steps: int = 10,
    tally: ModelCheckTally | None = None,
) -> ModelCheckTally:
    """Run *examples* random sequences of up to *steps* operations on *store*, each compared with a dict.

    Every answer of the store is compared with the model as the sequence runs. At the
    end of a sequence the store must list exactly the model's keys, and each value is
    read through *side_get*, bypassing the store. Unless *file_and_directory_keys*, an
    operation that would make a key both a value and a directory (``a`` and ``a/b``) is
    skipped, as a filesystem cannot hold both.

    The store starts empty; a sequence that ends in agreement is cleaned up by deleting
    the model's keys, so the next one needs no listing. *tally* (returned, and updated
    even when the check fails) counts the sequences and divergences; a divergence
    raises, after hypothesis has shrunk it to a minimal sequence.
    """
    counts = tally if tally is not None else ModelCheckTally()
    keys = _EXTENDED if extended else _STANDARD
    prefixes = st.sampled_from(_PREFIXES + (_EXTENDED_PREFIXES if extended else []))
    has_copy = callable(getattr(store, "copy", None))
    has_move = callable(getattr(store, "move", None))
    # Whether the store is known to be empty: false at first and after a failed sequence.
    empty = [False]
    scratch = tempfile.mkdtemp(prefix="model-check-")

    def collides(key: str, model: dict[str, bytes]) -> bool:
        if file_and_directory_keys:
            return False
        return any(other.startswith(key + "/") or key.startswith(other + "/") for other in model)

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            counts.sequences += 1
            if not empty[0]:
                store.delete_many(store.keys())
            empty[0] = False
            self.model: dict[str, bytes] = {}
            self.failed = False

        def teardown(self) -> None:
            if self.failed:
                counts.divergences += 1
                return
            try:
                _agree(sorted(store.keys()), sorted(self.model), "keys() at the end")
                for key, value in self.model.items():
                    _agree(side_get(store, key), value, f"the side door's value of {key!r}")
            except AssertionError:
                counts.divergences += 1
                raise
            store.delete_many(list(self.model))
            empty[0] = True

        def _put_allowed(self, *new_keys: str) -> bool:
            return not any(collides(key, {**self.model, **dict.fromkeys(new_keys, b"")}) for key in new_keys)

        @rule(key=keys, value=_VALUES)
        @_step
        def put(self, key: str, value: bytes) -> None:
            if self._put_allowed(key):
                _agree(store.put(key, value), key, "put's return value")
                self.model[key] = value

        @rule(key=keys, value=_VALUES, from_filename=st.booleans())
        @_step
        def put_file(self, key: str, value: bytes, from_filename: bool) -> None:
            if not self._put_allowed(key):
                return
            if from_filename:
                # A fresh file each time: a store may move the file instead of copying it.
                descriptor, source = tempfile.mkstemp(dir=scratch)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(value)
                assert store.put_file(key, source) == key
            else:
                assert store.put_file(key, io.BytesIO(value)) == key
            self.model[key] = value

        @rule(items=st.dictionaries(keys, _VALUES, max_size=3))
        @_step
        def put_many(self, items: dict[str, bytes]) -> None:
            if self._put_allowed(*items):
                store.put_many(items)
                self.model.update(items)

        @rule(key=keys)
        @_step
        def get(self, key: str) -> None:
            if key in self.model:
                _agree(store.get(key), self.model[key], f"get({key!r})")
            else:
                _raises_keyerror(lambda: store.get(key), f"get({key!r})")

        @rule(wanted=st.lists(keys, max_size=3))
        @_step
        def get_many(self, wanted: list[str]) -> None:
            expected = {key: self.model[key] for key in wanted if key in self.model}
            _agree(store.get_many(wanted), expected, f"get_many({wanted!r})")

        @rule(key=keys, chunk=st.integers(min_value=0, max_value=8))
        @_step
        def open(self, key: str, chunk: int) -> None:
            if key not in self.model:
                _raises_keyerror(lambda: store.open(key).close(), f"open({key!r})")
                return
            with store.open(key) as file:
                if chunk == 0:
                    data = file.read()
                else:
                    parts = list(iter(lambda: file.read(chunk), b""))
                    assert all(len(part) <= chunk for part in parts)
                    data = b"".join(parts)
            _agree(data, self.model[key], f"open({key!r}) read in chunks of {chunk or 'all'}")

        @rule(key=keys, to_filename=st.booleans())
        @_step
        def get_file(self, key: str, to_filename: bool) -> None:
            target = os.path.join(scratch, "target")
            if key not in self.model:
                _raises_keyerror(lambda: store.get_file(key, target if to_filename else io.BytesIO()), "get_file")
                assert not os.path.exists(target), "get_file of a missing key created the file"
                return
            if to_filename:
                assert store.get_file(key, target) == key
                with builtins.open(target, "rb") as file:
                    data = file.read()
                os.unlink(target)
            else:
                buffer = io.BytesIO()
                assert store.get_file(key, buffer) == key
                data = buffer.getvalue()
            _agree(data, self.model[key], f"get_file({key!r})")

        @rule(key=keys)
        @_step
        def contains(self, key: str) -> None:
            _agree(key in store, key in self.model, f"{key!r} in store")

        @rule(key=keys)
        @_step
        def delete(self, key: str) -> None:
            store.delete(key)
            self.model.pop(key, None)

        @rule(source=keys, dest=keys, move=st.booleans())
        @_step
        def copy_or_move(self, source: str, dest: str, move: bool) -> None:
            if not (has_move if move else has_copy):
                return
            operation = store.move if move else store.copy
            if source not in self.model:
                _raises_keyerror(lambda: operation(source, dest), f"{operation.__name__}({source!r}, ...)")
                return
            if dest != source and not self._put_allowed(dest):
                return
            assert operation(source, dest) == dest
            value = self.model.pop(source) if move else self.model[source]
            self.model[dest] = value

        @rule(prefix=prefixes)
        @_step
        def keys_with_prefix(self, prefix: str) -> None:
            expected = sorted(key for key in self.model if key.startswith(prefix))
            _agree(sorted(store.keys(prefix)), expected, f"keys({prefix!r})")

        @rule(delimiter=_DELIMITERS, prefix=prefixes)
        @_step
        def iter_prefixes(self, delimiter: str, prefix: str) -> None:
            found = list(store.iter_prefixes(delimiter, prefix))
            assert len(found) == len(set(found)), f"iter_prefixes repeated one of {found}"
            _agree(sorted(found), sorted(expected_prefixes(self.model, delimiter, prefix)),
                   f"iter_prefixes({delimiter!r}, {prefix!r})")

    try:
        run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
            StoreMachine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return counts
