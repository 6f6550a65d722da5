"""TTLStoreTests: conformance tests for stores with a time to live."""

from __future__ import annotations

import time
from typing import Any

import pytest

from minimalkv_fsspec._mixins import FOREVER, NOT_SET


class TTLStoreTests:
    """Time-to-live tests, mixed into a :class:`StoreTests` subclass of a TTL store.

    Waits are real: a value put with a short time to live must really expire.
    """

    def test_ttl_support_is_advertised(self, store: Any) -> None:
        assert store.ttl_support is True

    @pytest.mark.parametrize("ttl", [0.4, 1])
    def test_value_expires(self, store: Any, ttl: float) -> None:
        store.put("short", b"x", ttl_secs=ttl)
        store.put("long", b"y", ttl_secs=FOREVER)
        assert store.get("short") == b"x"
        time.sleep(ttl + 1)
        assert "short" not in store
        with pytest.raises(KeyError):
            store.get("short")
        assert store.get("long") == b"y"

    def test_put_file_with_ttl(self, store: Any, tmp_path: Any) -> None:
        source = tmp_path / "value"
        source.write_bytes(b"file value")
        store.put_file("from-file", str(source), ttl_secs=0.4)
        assert store.get("from-file") == b"file value"
        time.sleep(1.4)
        assert "from-file" not in store

    def test_default_ttl_applies_to_none(self, store: Any) -> None:
        store.default_ttl_secs = 0.4
        try:
            store.put("defaulted", b"x")
            store.put("kept", b"y", ttl_secs=NOT_SET)
            time.sleep(1.4)
            assert "defaulted" not in store
            assert store.get("kept") == b"y"
        finally:
            store.default_ttl_secs = NOT_SET

    @pytest.mark.parametrize("ttl", [-1, 0, "badttl", True, float("nan"), float("inf")])
    def test_invalid_ttl_raises_valueerror(self, store: Any, ttl: Any) -> None:
        with pytest.raises(ValueError):  # noqa: PT011
            store.put("key", b"x", ttl_secs=ttl)
        assert "key" not in store
