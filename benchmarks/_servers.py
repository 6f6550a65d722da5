"""Private servers for the benchmark: redis-server, PostgreSQL and the moto S3 server.

Each ``start_*`` function picks a free loopback port, starts the server in a
temporary directory of its own, waits until it answers and returns ``(info, stop)``.
``stop()`` signals only the process started here (never a shared server on
6379/5432), waits for it, and removes the directory. On Linux the servers get
``PR_SET_PDEATHSIG``, so they die with the benchmark if it is killed.

A missing binary or package raises :class:`Unavailable` with the reason, which the
benchmark reports as a skipped store. Independent of pytest, so the benchmark runs
without the test dependencies.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"

Stop = Callable[[], None]


class Unavailable(RuntimeError):
    """A server cannot be started here; the message says why."""


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


if sys.platform == "linux":
    import ctypes

    # Loaded before the fork: after switching to the postgres user the child may not read sys.path.
    _prctl = ctypes.CDLL(None, use_errno=True).prctl

    def _die_with_parent() -> None:  # runs in the child
        _prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG

else:  # pragma: no cover
    _die_with_parent = None  # type: ignore[assignment]


def spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start *command* detached from the terminal, dying with this process on Linux."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, **kwargs)


def _wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unavailable(f"{what} exited early with code {proc.returncode}")
        try:
            if ready():
                return
        except Exception:  # not ready yet
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise Unavailable(f"{what} was not ready after {timeout} s")


def stopper(
    proc: subprocess.Popen[bytes], directory: str | None, sig: int = signal.SIGTERM, timeout: float = 20.0
) -> Stop:
    """Return a function that stops *proc* (this PID only) and removes *directory*."""

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if directory:
            shutil.rmtree(directory, ignore_errors=True)

    return stop


def start_redis() -> tuple[dict[str, Any], Stop]:
    """Start a private redis-server without persistence; info has ``host`` and ``port``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise Unavailable("redis-server not found (apt-get install redis-server)")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="mkv-bench-redis-")
    proc = spawn(
        [binary, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
        + ["--dir", directory, "--protected-mode", "no", "--proto-max-bulk-len", "1gb"]
    )

    def ping() -> bool:
        with socket.create_connection((HOST, port), 0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    _wait_until(ping, proc, "redis-server")
    return {"host": HOST, "port": port, "pid": proc.pid}, stopper(proc, directory)


def _postgres_binary(name: str) -> str | None:
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else shutil.which(name)


def start_postgres() -> tuple[dict[str, Any], Stop]:
    """Start a private PostgreSQL cluster (trust auth, C locale, no fsync); info has ``url`` and ``port``."""
    initdb, postgres, isready = (_postgres_binary(name) for name in ("initdb", "postgres", "pg_isready"))
    if initdb is None or postgres is None or isready is None:
        raise Unavailable("PostgreSQL server programs not found (apt-get install postgresql)")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="mkv-bench-pg-")
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise Unavailable("running as root and there is no postgres user") from exc
        os.chown(directory, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    subprocess.run(
        [initdb, "-D", f"{directory}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
        check=True,
        capture_output=True,
        **as_user,
    )
    proc = spawn(
        [postgres, "-D", f"{directory}/data", "-h", HOST, "-p", str(port), "-k", directory]
        + ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        **as_user,
    )
    _wait_until(lambda: subprocess.run([isready, "-q", "-h", HOST, "-p", str(port)]).returncode == 0, proc, "postgres")
    url = f"postgresql+psycopg://postgres@{HOST}:{port}/postgres"
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to disconnect.
    return {"url": url, "port": port, "pid": proc.pid}, stopper(proc, directory, sig=signal.SIGINT)


def start_moto() -> tuple[dict[str, Any], Stop]:
    """Start ``moto.server`` (S3 in memory); info has ``endpoint_url``, ``host`` and ``port``."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"moto[server] is not installed ({exc})") from exc
    port = free_port()
    proc = spawn([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)])
    endpoint = f"http://{HOST}:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)

    _wait_until(ready, proc, "moto.server")
    return {"endpoint_url": endpoint, "host": HOST, "port": port, "pid": proc.pid}, stopper(proc, None)
