"""Shared test configuration: server and emulator fixtures live in tests/fixtures/."""

from __future__ import annotations

import importlib.util
import os

# gcsfs >= 2026.10 asks a gRPC API about bucket layouts, which stalls against emulators.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

# Each fixture module is owned by the backend family that needs it.
pytest_plugins = [
    name
    for name in ("tests.fixtures.native_servers", "tests.fixtures.cloud_emulators")
    if importlib.util.find_spec(name) is not None
]
