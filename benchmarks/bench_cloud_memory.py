"""Peak memory of streaming a large value through each cloud store (against emulators).

For every backend (S3 on moto, Azure Blob on Azurite, GCS on fake-gcs-server) a
fresh Python process builds the store, warms it up with a small value, then runs
``put_file`` (from a generated stream), ``get_file`` (into a hashing sink and into a
file) and ``open()`` + chunked reads of one value of ``--size-mib`` MiB. Before each
operation the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``); the
figure reported is the rise of the peak over the RSS at the start. Buffering the
whole value would show up as a rise of at least its size; the target is < 64 MiB.

Usage::

    python -m benchmarks.bench_cloud_memory                   # 1 GiB on s3, azure, gcs
    python -m benchmarks.bench_cloud_memory --size-mib 256 --backends s3,gcs --json

The emulators are started (and stopped) here, as the test suite does.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MiB = 1024 * 1024
TARGET_MIB = 64


# -- the child: one process per backend ----------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


@contextmanager
def peak_rise(result: dict[str, float]) -> Iterator[None]:
    """Measure the rise of peak RSS over the RSS at entry, in MiB, into ``result["mib"]``."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current RSS
        sampler = None
    except OSError:
        sampler = _Sampler()
    start = _status_kib("VmRSS")
    began = time.perf_counter()
    try:
        yield
    finally:
        result["seconds"] = round(time.perf_counter() - began, 2)
        peak = sampler.stop() if sampler is not None else _status_kib("VmHWM")
        result["mib"] = round(max(peak - start, 0) / 1024, 1)


class _Sampler:
    """Fallback where clear_refs is not writable: sample VmRSS every 2 ms."""

    def __init__(self) -> None:
        self.peak = _status_kib("VmRSS")
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            self.peak = max(self.peak, _status_kib("VmRSS"))
            time.sleep(0.002)

    def stop(self) -> int:
        self._running = False
        self._thread.join()
        return max(self.peak, _status_kib("VmRSS"))


class PatternReader(io.RawIOBase):
    """A readable stream of *size* deterministic bytes, produced 1 MiB at a time."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.counter = 0
        self.block = hashlib.sha256(b"bench").digest() * (MiB // 32)
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending and self.remaining > 0:
            chunk = bytes([self.counter % 251]) + self.block[1 : min(MiB, self.remaining)]
            self.counter += 1
            self.remaining -= len(chunk)
            self.pending = memoryview(chunk)
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count


def pattern_digest(size: int) -> str:
    digest = hashlib.sha256()
    reader = PatternReader(size)
    while chunk := reader.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


class HashingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def build_store(config: dict[str, Any]) -> Any:
    """Build the store that *config* describes (``backend`` plus its connection details)."""
    backend = config["backend"]
    if backend == "s3":
        from minimalkv_fsspec.net.s3fsstore import Credentials, S3FSStore

        return S3FSStore(config["bucket"], Credentials(config["key"], config["secret"]),
                         endpoint_url=config["endpoint_url"])
    if backend == "azure":
        from minimalkv_fsspec.net.azurestore import AzureBlockBlobStore

        return AzureBlockBlobStore(config["connection_string"], config["container"])
    if backend == "gcs":
        from minimalkv_fsspec.net.gcstore import GoogleCloudStore

        return GoogleCloudStore("anon", config["bucket"], project="bench", endpoint_url=config["endpoint_url"])
    raise ValueError(f"unknown backend {backend!r}")


def measure(config: dict[str, Any], size: int) -> dict[str, Any]:
    """Run the three streaming operations on a value of *size* bytes; return their figures."""
    store = build_store(config)
    store.put("warm-up", b"x" * 4096)
    store.get_file("warm-up", HashingSink())
    with store.open("warm-up") as file:
        file.read()
    expected = pattern_digest(size)
    figures: dict[str, Any] = {"backend": config["backend"], "size_mib": size // MiB}

    result: dict[str, float] = {}
    with peak_rise(result):
        store.put_file("large", PatternReader(size))
    figures["put_file"] = result

    result = {}
    sink = HashingSink()
    with peak_rise(result):
        store.get_file("large", sink)
    if (sink.size, sink.digest.hexdigest()) != (size, expected):
        raise AssertionError("get_file returned other bytes than were put")
    figures["get_file"] = result

    result = {}
    with tempfile.TemporaryDirectory() as directory:
        target = os.path.join(directory, "large")
        with peak_rise(result):
            store.get_file("large", target)
        if os.path.getsize(target) != size:
            raise AssertionError("get_file(filename) wrote another size")
    figures["get_file_filename"] = result

    result = {}
    digest = hashlib.sha256()
    with peak_rise(result), store.open("large") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise AssertionError("open().read() returned other bytes than were put")
    figures["open_read"] = result
    store.delete("large")
    return figures


# -- the parent -------------------------------------------------------------------------------------


def run_in_child(config: dict[str, Any], size: int) -> dict[str, Any]:
    """Measure *config*'s store in a fresh interpreter (so earlier work does not hide the peak)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_cloud_memory", "--child", json.dumps(config), "--size-mib",
         str(size // MiB)],
        capture_output=True, text=True, env=env, cwd=root, timeout=3600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"measurement of {config['backend']} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def configs_for(services: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    name = f"bench-{uuid.uuid4().hex[:12]}"
    configs = []
    if "s3" in services:
        configs.append({"backend": "s3", "bucket": name, **services["s3"]})
    if "azure" in services:
        configs.append({"backend": "azure", "container": name,
                        "connection_string": services["azure"]["connection_string"]})
    if "gcs" in services:
        configs.append({"backend": "gcs", "bucket": name, **services["gcs"]})
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--backends", default="s3,azure,gcs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size_mib * MiB
    if args.child:
        print(json.dumps(measure(json.loads(args.child), size)))
        return 0

    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    from tests.fixtures import cloud_emulators as emulators

    wanted = [name.strip() for name in args.backends.split(",") if name.strip()]
    starters = {"s3": emulators.start_moto, "azure": emulators.start_azurite, "gcs": emulators.start_fake_gcs}
    running = {name: starters[name]() for name in wanted}
    try:
        results = [run_in_child(config, size) for config in configs_for({n: s.info for n, s in running.items()})]
    finally:
        for service in running.values():
            service.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"peak RSS rise while streaming {args.size_mib} MiB (target < {TARGET_MIB} MiB):")
        for figures in results:
            cells = "  ".join(
                f"{operation} {figures[operation]['mib']:6.1f} MiB ({figures[operation]['seconds']:.1f} s)"
                for operation in ("put_file", "get_file", "get_file_filename", "open_read")
            )
            print(f"  {figures['backend']:<6} {cells}")
    worst = max(figures[operation]["mib"] for figures in results
                for operation in ("put_file", "get_file", "get_file_filename", "open_read"))
    return 0 if worst < TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
