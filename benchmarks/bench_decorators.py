"""Cost per ``get`` of the decorators over the memory store, against the bare store.

The figure that matters is ``PrefixDecorator(DictStore)`` against ``DictStore``
(target: at most 1.5x). Each case is timed in several interleaved rounds (so a
burst of load on the machine hits all cases alike); the result per case is the
best round, in nanoseconds per call, including the loop overhead that every case
shares.

For reference the table also shows ``KeyValueStore.get`` on the same DictStore:
the base class's path (validate the key, then call ``_get``), which is what
DictStore's own ``get`` did before it learnt to skip validation for keys it holds.

Usage::

    python -m benchmarks.bench_decorators            # table
    python -m benchmarks.bench_decorators --json     # machine-readable
    python -m benchmarks.bench_decorators --check    # exit 1 if Prefix > 1.5x DictStore
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from typing import Any

from minimalkv_fsspec import KeyValueStore
from minimalkv_fsspec.cache import CacheDecorator
from minimalkv_fsspec.crypt import HMACDecorator
from minimalkv_fsspec.decorator import PrefixDecorator, ReadOnlyDecorator, StoreDecorator, URLEncodeKeysDecorator
from minimalkv_fsspec.memory import DictStore

TARGET = 1.5
KEYS = 1000


def cases() -> dict[str, Callable[[], Any]]:
    """Return the timed calls, each a get of a stored key."""
    plain = DictStore({f"key{number}": b"value" for number in range(KEYS)})
    prefixed_backend = DictStore({f"tenant-key{number}": b"value" for number in range(KEYS)})
    prefix = PrefixDecorator("tenant-", prefixed_backend)
    forwarding = StoreDecorator(plain)
    readonly = ReadOnlyDecorator(plain)
    urlencode = URLEncodeKeysDecorator(plain)
    hmac_store = HMACDecorator(b"secret", DictStore())
    hmac_store.put("key5", b"value")
    cache = CacheDecorator(DictStore(), plain)
    cache.get("key5")
    base_get = KeyValueStore.get
    return {
        "DictStore.get": lambda: plain.get("key5"),
        "KeyValueStore.get(DictStore) [reference]": lambda: base_get(plain, "key5"),
        "PrefixDecorator(DictStore).get": lambda: prefix.get("key5"),
        "StoreDecorator(DictStore).get": lambda: forwarding.get("key5"),
        "ReadOnlyDecorator(DictStore).get": lambda: readonly.get("key5"),
        "URLEncodeKeysDecorator(DictStore).get": lambda: urlencode.get("key5"),
        "CacheDecorator(DictStore, DictStore).get [hit]": lambda: cache.get("key5"),
        "HMACDecorator(DictStore).get": lambda: hmac_store.get("key5"),
    }


def measure(rounds: int, number: int) -> dict[str, float]:
    """Return the best time per call, in nanoseconds, of each case."""
    timed = cases()
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(rounds):
        for name, call in timed.items():
            seconds = timeit.timeit(call, number=number)
            best[name] = min(best[name], seconds / number * 1e9)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=100_000, help="calls per round and case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if Prefix costs more than {TARGET}x")
    args = parser.parse_args(argv)

    best = measure(args.rounds, args.number)
    baseline = best["DictStore.get"]
    ratio = best["PrefixDecorator(DictStore).get"] / baseline
    if args.json:
        print(json.dumps({"ns_per_get": best, "prefix_ratio": ratio, "target": TARGET}, indent=2))
    else:
        width = max(map(len, best))
        print(f"{'case':<{width}}  ns/get  x DictStore.get")
        for name, nanoseconds in best.items():
            print(f"{name:<{width}}  {nanoseconds:6.0f}  {nanoseconds / baseline:5.2f}")
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"\nPrefixDecorator over DictStore: {ratio:.2f}x the undecorated get ({verdict} the {TARGET}x target)")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
