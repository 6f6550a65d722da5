"""A hypothesis state machine that checks a store against a dict, step by step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

# A small key alphabet makes collisions, overwrites and shared prefixes likely.
_STANDARD = st.text(alphabet="ab.%_-", min_size=1, max_size=4).filter(lambda key: key not in (".", ".."))
_EXTENDED = st.lists(_STANDARD, min_size=1, max_size=3).map("/".join)
_VALUES = st.binary(max_size=64)


def run_model_check(
    store: Any,
    side_get: Callable[[Any, str], bytes | None],
    extended: bool,
    examples: int,
    file_and_directory_keys: bool = True,
) -> None:
    """Run random sequences of operations on *store* and compare each result with a dict.

    The store is emptied before each sequence. After every step, each key the model
    holds is also read through *side_get*, bypassing the store. Unless
    *file_and_directory_keys*, a put that would make a key both a value and a
    directory (``a`` and ``a/b``) is skipped, as a filesystem cannot hold both.
    """

    def collides(key: str, model: dict[str, bytes]) -> bool:
        if file_and_directory_keys:
            return False
        return any(other.startswith(key + "/") or key.startswith(other + "/") for other in model)

    keys = st.one_of(_STANDARD, _EXTENDED) if extended else _STANDARD
    has_copy = callable(getattr(store, "copy", None))

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            store.delete_many(store.keys())
            self.model: dict[str, bytes] = {}

        @rule(key=keys, value=_VALUES)
        def put(self, key: str, value: bytes) -> None:
            if collides(key, self.model):
                return
            assert store.put(key, value) == key
            self.model[key] = value

        @rule(key=keys)
        def get(self, key: str) -> None:
            if key in self.model:
                assert store.get(key) == self.model[key]
            else:
                try:
                    store.get(key)
                except KeyError:
                    pass
                else:
                    raise AssertionError(f"get({key!r}) found a value the model does not have")

        @rule(key=keys)
        def delete(self, key: str) -> None:
            store.delete(key)
            self.model.pop(key, None)

        @rule(key=keys)
        def contains(self, key: str) -> None:
            assert (key in store) == (key in self.model)

        @rule(items=st.dictionaries(keys, _VALUES, max_size=4))
        def put_many(self, items: dict[str, bytes]) -> None:
            if any(collides(key, {**self.model, **items}) for key in items):
                return
            store.put_many(items)
            self.model.update(items)

        @rule(wanted=st.lists(keys, max_size=4))
        def get_many(self, wanted: list[str]) -> None:
            expected = {key: self.model[key] for key in wanted if key in self.model}
            assert store.get_many(wanted) == expected

        @rule(source=keys, dest=keys)
        def copy(self, source: str, dest: str) -> None:
            if not has_copy:
                return
            if source in self.model:
                if collides(dest, self.model):
                    return
                store.copy(source, dest)
                self.model[dest] = self.model[source]
            else:
                try:
                    store.copy(source, dest)
                except KeyError:
                    pass
                else:
                    raise AssertionError(f"copy of missing {source!r} did not raise KeyError")

        @rule(prefix=st.text(alphabet="ab.%_-", max_size=2))
        def keys_with_prefix(self, prefix: str) -> None:
            expected = sorted(key for key in self.model if key.startswith(prefix))
            assert sorted(store.keys(prefix)) == expected

        @invariant()
        def side_door_agrees(self) -> None:
            for key, value in self.model.items():
                assert side_get(store, key) == value, key

    run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
        StoreMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
