"""A TCP proxy that delays every byte by a fixed time in each direction.

It stands between a client and a loopback server (the moto S3 emulator) to give
the server the round-trip time of object storage across the internet: with the
default 10 ms per direction, each request/response exchange costs 20 ms more.
Bodies are streamed, chunk by chunk: a chunk read at time *t* is written at
*t + delay*, so the delay adds latency, not a bandwidth limit, and large values
are never held whole. At 0 ms a chunk is forwarded as soon as it is read
(``benchmarks/run.py`` measures what the proxy itself adds then).

Opening a connection is not delayed unless ``--handshake`` is given: moto's
server (werkzeug) closes the connection after every response, which S3 does not,
so charging the TCP handshake would add a round trip to every request of every
client, a cost that a client reusing its connections never pays against S3.

Usage::

    python benchmarks/latency_proxy.py --target 127.0.0.1:5000 --delay-ms 10
    # prints "LISTENING <port>" once it accepts connections

or from Python, :func:`start_proxy` runs it as a subprocess and returns its port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

CHUNK = 256 * 1024
# Chunks in flight per direction before the reader waits: bounds the proxy's memory
# (64 MiB at most) while leaving far more than bandwidth x delay for loopback.
QUEUE_CHUNKS = 256


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy *reader* to *writer*, each chunk *delay* seconds after it arrived."""
    loop = asyncio.get_running_loop()
    try:
        if delay <= 0:
            while chunk := await reader.read(CHUNK):
                writer.write(chunk)
                await writer.drain()
        else:
            queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

            async def receive() -> None:
                while chunk := await reader.read(CHUNK):
                    await queue.put((loop.time() + delay, chunk))
                await queue.put((loop.time() + delay, b""))

            receiver = asyncio.ensure_future(receive())
            try:
                while True:
                    due, chunk = await queue.get()
                    wait = due - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if not chunk:
                        break
                    writer.write(chunk)
                    await writer.drain()
            finally:
                receiver.cancel()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass


class LatencyProxy:
    """Forward connections on a loopback port to *target*, delaying each direction.

    Parameters
    ----------
    target_host, target_port
        Where connections are forwarded.
    delay_ms
        Delay per direction in milliseconds (the round trip grows by twice this).
    handshake
        Also delay each new connection by one round trip (see the module docstring).
    """

    def __init__(self, target_host: str, target_port: int, delay_ms: float = 10.0, handshake: bool = False) -> None:
        self.target = (target_host, target_port)
        self.delay = delay_ms / 1000.0
        self.handshake = handshake
        self.server: asyncio.base_events.Server | None = None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # Swallowing the cancellation at shutdown keeps Python 3.11's stream callback from
        # logging "Exception in callback" for every open connection.
        with contextlib.suppress(asyncio.CancelledError):
            await self._forward(client_reader, client_writer)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
            if self.handshake and self.delay > 0:
                await asyncio.sleep(2 * self.delay)  # the TCP handshake's round trip
        except OSError:
            client_writer.close()
            return
        _nodelay(client_writer)
        _nodelay(server_writer)
        try:
            await asyncio.gather(
                _pipe(client_reader, server_writer, self.delay),
                _pipe(server_reader, client_writer, self.delay),
            )
        finally:
            for writer in (client_writer, server_writer):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start listening; return the port."""
        self.server = await asyncio.start_server(self._handle, host, port, backlog=1024)
        return int(self.server.sockets[0].getsockname()[1])


def start_proxy(
    target_host: str, target_port: int, delay_ms: float = 10.0, handshake: bool = False
) -> tuple[int, Callable[[], None]]:
    """Run the proxy in a subprocess; return its port and a function that stops it."""
    command = [sys.executable, os.path.abspath(__file__), "--target", f"{target_host}:{target_port}"]
    command += ["--delay-ms", str(delay_ms)] + (["--handshake"] if handshake else [])
    preexec = None
    if sys.platform == "linux":
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl

        def preexec() -> None:
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the benchmark

    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, preexec_fn=preexec)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("LISTENING "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"latency proxy did not start: {line!r}")
    port = int(line.split()[1])

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    return port, stop


async def _main(args: argparse.Namespace) -> None:
    host, _, port = args.target.rpartition(":")
    proxy = LatencyProxy(host, int(port), args.delay_ms, args.handshake)
    listening = await proxy.start(args.host, args.port)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print(f"LISTENING {listening}", flush=True)
    await stopped.wait()
    # Open connections are simply dropped: a test proxy has no state worth a graceful close.
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """Run the proxy until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="delay per direction (default 10 ms)")
    parser.add_argument("--handshake", action="store_true", help="delay each new connection by one round trip")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="listening port (default: a free one)")
    args = parser.parse_args(argv)
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
