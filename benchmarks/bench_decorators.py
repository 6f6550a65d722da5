"""Cost per ``get`` of the decorators over the memory store, against the bare store.

The figure that matters is ``PrefixDecorator(DictStore)`` against ``DictStore``
(target: at most 1.5x). Each case is timed in several interleaved rounds (so a
burst of load on the machine hits all cases alike); the result per case is the
best round, in nanoseconds per call, including the loop overhead that every case
shares.

DictStore's own ``get`` skips validating keys it holds (a stored key was
validated when it was put), so it costs about one dict lookup. PrefixDecorator's
get remembers the stored key of each key it validated, so a repeated get costs
two dict lookups. For reference the table also shows a DictStore using the base
class's ``get`` (validate the key, then call ``_get``), as every other store
does, and ``PrefixDecorator`` over it.

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


class ValidatingDictStore(DictStore):
    """A DictStore whose get validates every key, through the base class's path."""

    get = KeyValueStore.get


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
    validating = ValidatingDictStore(dict(plain.d))
    prefix_validating = PrefixDecorator("tenant-", ValidatingDictStore(dict(prefixed_backend.d)))
    return {
        "DictStore.get": lambda: plain.get("key5"),
        "PrefixDecorator(DictStore).get": lambda: prefix.get("key5"),
        "ValidatingDictStore.get [reference]": lambda: validating.get("key5"),
        "PrefixDecorator(ValidatingDictStore).get": lambda: prefix_validating.get("key5"),
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
    reference_ratio = best["PrefixDecorator(ValidatingDictStore).get"] / best["ValidatingDictStore.get [reference]"]
    if args.json:
        summary = {"prefix_ratio": ratio, "prefix_ratio_validating": reference_ratio, "target": TARGET}
        print(json.dumps({"ns_per_get": best, **summary}, indent=2))
    else:
        width = max(map(len, best))
        print(f"{'case':<{width}}  ns/get  x DictStore.get")
        for name, nanoseconds in best.items():
            print(f"{name:<{width}}  {nanoseconds:6.0f}  {nanoseconds / baseline:5.2f}")
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"\nPrefixDecorator over DictStore: {ratio:.2f}x the undecorated get ({verdict} the {TARGET}x target)")
        print(f"PrefixDecorator over ValidatingDictStore: {reference_ratio:.2f}x the undecorated get")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
