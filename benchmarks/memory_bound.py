"""Peak memory of streaming a large value through a store: put_file, get_file and open.

Each operation runs in a fresh subprocess, which reports how far its peak resident
set size (``ru_maxrss``) rose above its size just before the operation. The
target for the filesystem store is a rise under 32 MiB for a 1 GiB value.

Usage::

    python benchmarks/memory_bound.py                      # 1 GiB on hfs:// in a temp dir
    python benchmarks/memory_bound.py --size-mib 256 --store-url hfs:///tmp/kv
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

MiB = 1024 * 1024

CHILD = r"""
import json, os, resource, shutil, sys, time
from minimalkv_fsspec import get_store_from_url

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

operation, url, key, path = sys.argv[1:5]
store = get_store_from_url(url)
before = rss_kib()
started = time.perf_counter()
if operation == "put_file(file object)":
    with open(path, "rb") as source:
        store.put_file(key, source)
elif operation == "put_file(filename)":
    store.put_file(key, path)
elif operation == "get_file(filename)":
    store.get_file(key, path)
elif operation == "get_file(file object)":
    with open(path, "wb") as target:
        store.get_file(key, target)
elif operation == "open().read(1 MiB) loop":
    with store.open(key) as source:
        while source.read(1024 * 1024):
            pass
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rise_kib": max(peak - before, 0), "seconds": elapsed}))
"""

OPERATIONS = [
    ("put_file(file object)", "source"),
    ("get_file(filename)", "copy"),
    ("get_file(file object)", "copy"),
    ("open().read(1 MiB) loop", None),
    # Last, and on the copy: the filesystem store moves the file it is given.
    ("put_file(filename)", "copy"),
]


def write_file(path: str, size: int) -> None:
    """Write *size* bytes of non-repeating data to *path*, 1 MiB at a time."""
    with open(path, "wb") as target:
        for number in range(size // MiB):
            target.write(os.urandom(64) * (MiB // 64) if number % 64 == 0 else bytes([number % 256]) * MiB)


def main() -> int:
    """Run every operation once and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--store-url", help="store to measure (default: hfs:// in a temporary directory)")
    parser.add_argument("--limit-mib", type=float, default=32.0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mkv-memory-") as work:
        url = args.store_url or f"hfs://{work}/store"
        source = os.path.join(work, "source.bin")
        copy = os.path.join(work, "copy.bin")
        write_file(source, args.size_mib * MiB)
        results = []
        for operation, file_role in OPERATIONS:
            path = source if file_role == "source" else copy
            child = subprocess.run(
                [sys.executable, "-c", CHILD, operation, url, "big/value", path],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(child.stdout)
            rise_mib = figures["rise_kib"] / 1024
            results.append(
                {
                    "operation": operation,
                    "size_mib": args.size_mib,
                    "peak_rise_mib": round(rise_mib, 1),
                    "mb_per_s": round(args.size_mib * MiB / 1e6 / max(figures["seconds"], 1e-9), 1),
                    "within_limit": rise_mib < args.limit_mib,
                }
            )
            if operation == "get_file(filename)":
                os.unlink(copy)
        print(f"store: {url.split('://')[0]}://..., value: {args.size_mib} MiB, limit: {args.limit_mib} MiB")
        print(f"{'operation':28} {'peak rise (MiB)':>16} {'MB/s':>8}  within limit")
        for row in results:
            print(f"{row['operation']:28} {row['peak_rise_mib']:>16} {row['mb_per_s']:>8}  {row['within_limit']}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"time": time.time(), "results": results}, out, indent=2)
        return 0 if all(row["within_limit"] for row in results) else 1


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
