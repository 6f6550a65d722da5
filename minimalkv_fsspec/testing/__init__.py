"""The conformance suite: the tests every store and decorator must pass.

A backend runs it by subclassing :class:`StoreTests` in its own test module,
providing a ``store`` fixture (a fresh, empty store) and the two side-door helpers
:meth:`StoreTests.side_get` and :meth:`StoreTests.side_put`, which read and write
the backend directly (a file, a dict, a Redis key), bypassing the store::

    import pytest
    from minimalkv_fsspec.memory import DictStore
    from minimalkv_fsspec.testing import StoreTests

    class TestDictStore(StoreTests):
        @pytest.fixture
        def store(self):
            return DictStore()

        def side_get(self, store, key):
            return store.d.get(key)

        def side_put(self, store, key, value):
            store.d[key] = value

Besides single operations, the suite checks random operation sequences against a
dict (a hypothesis state machine, 200 sequences; 10,000 with ``pytest --long`` where
the ``conftest.py`` adds that option) and 8 threads and 4 processes working on the
same keys; class attributes of :class:`StoreTests` tune both. Stores with a time to
live add :class:`TTLStoreTests`. :data:`HOSTILE_KEYS` is a corpus of several hundred
keys meant to escape a store (``..`` in every position, absolute paths, encoded and
look-alike separators, control characters, over-long names); every one must be
stored and read back exactly or refused with :class:`ValueError`. The suite needs pytest and hypothesis (the ``dev``
extra).
"""

from minimalkv_fsspec.testing.keys import HOSTILE_KEY_CATEGORIES, HOSTILE_KEYS
from minimalkv_fsspec.testing.store import StoreTests
from minimalkv_fsspec.testing.ttl import TTLStoreTests

__all__ = ["HOSTILE_KEYS", "HOSTILE_KEY_CATEGORIES", "StoreTests", "TTLStoreTests"]
