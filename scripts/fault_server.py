"""A loopback CareCloud stand-in speaking raw HTTP/1.1 with latency, resets and 503s, that counts
connections: for the connection-pool tests and the soak benchmark (``make bench-soak``).

The fake CareCloud (``carecloud_async.testing``) cannot drop a connection halfway through an
answer or say how many TCP connections it accepted; this server can. On 127.0.0.1 and a free
port it answers, under the Enterprise API's base path:

- ``POST .../users/actions/login`` → a bearer token valid until 2099;
- ``GET .../customers?count=&offset=`` → a page of ``total_items`` customers (for pagination);
- ``GET`` anything else → ``{"data": {"path": ...}}``;
- ``GET /__counts`` → the counts as JSON (not counted itself);
- ``GET /__set?latency_ms=5&reset_rate=0.01&error_rate=0.05&body_delay_ms=0`` → changes them.

Faults, drawn per request from a seeded random generator: ``reset_rate`` drops the connection
with a TCP reset (half of them before the status line, half after the headers and half the body),
``error_rate`` answers 503; ``reset_first`` drops the first that many answers to requests other
than logins halfway through their body. ``latency`` delays the headers and ``body_delay`` the second half of
the body (so that a client can be cancelled mid-headers or mid-body).

``counts`` holds ``accepted`` (TCP connections accepted), ``open`` (connections still open now),
``requests``, ``resets`` and ``503``.

    with FaultServer(latency=0.01, reset_rate=0.05) as server:
        ...  # server.origin is "http://127.0.0.1:<port>"; server.counts["accepted"] after

As a process of its own (the soak benchmark runs it so, off the client's CPU and GIL) it prints
``listening <port>`` and serves until killed:

    python -m scripts.fault_server --port 8765 --latency-ms 5 --reset-rate 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import socket
import struct
import threading
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

__all__ = ["PREFIX", "FaultServer"]

PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"
_LOGIN = json.dumps({"data": {"bearer_token": "soak", "valid_to": "2099-01-01 00:00:00"}}).encode()


def _response(status: int, body: bytes, extra: str = "") -> tuple[bytes, bytes]:
    reason = {200: "OK", 503: "Service Unavailable", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode()
    return head, body


class FaultServer:
    """The server, in a thread of its own (its own event loop) until ``stop()``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        body_delay: float = 0.0,
        reset_rate: float = 0.0,
        error_rate: float = 0.0,
        reset_first: int = 0,
        total_items: int = 50,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.body_delay = body_delay
        self.reset_rate = reset_rate
        self.error_rate = error_rate
        self.reset_first = reset_first
        self.total_items = total_items
        self.counts: collections.Counter[str] = collections.Counter()
        self.port = port
        self._random = random.Random(seed)  # noqa: S311 (which request gets a fault, not a secret)
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-server")
        self._server: asyncio.AbstractServer | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, the project URL to give a client."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed by either side (as far as this server has seen)."""
        return self.counts["open"]

    def start(self) -> FaultServer:
        """Listen on 127.0.0.1; returns when it accepts connections."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Close every connection, stop listening and end the thread."""
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # each connection's task sees the end of its stream and ends
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=2)
            for task in pending:  # one asleep in its latency
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counts["accepted"] += 1
        self.counts["open"] += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # stopped while asleep: end quietly (asyncio logs a cancelled handler)
            pass
        finally:
            self.counts["open"] -= 1
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        url = urlsplit(target)
        if url.path == "/__counts":
            status_head, body = _response(200, json.dumps(dict(self.counts)).encode())
            writer.write(status_head + body)
            await writer.drain()
            return True
        if url.path == "/__set":  # faults and latency changed by a benchmark between its phases
            for name, value in parse_qs(url.query).items():
                scale = 1000 if name.endswith("_ms") else 1
                setattr(self, name.removesuffix("_ms"), float(value[0]) / scale)
            status_head, body = _response(200, b"{}")
            writer.write(status_head + body)
            await writer.drain()
            return True
        self.counts["requests"] += 1
        if method == "POST" and url.path.endswith("/users/actions/login"):
            status_head, body = _response(200, _LOGIN)
            writer.write(status_head + body)
            await writer.drain()
            return True
        draw = self._random.random()
        if self.latency:
            await asyncio.sleep(self.latency)
        first = self.counts["answers"] < self.reset_first
        self.counts["answers"] += 1  # requests other than logins and the /__ ones
        if first or draw < self.reset_rate:
            self.counts["resets"] += 1
            if first or draw < self.reset_rate / 2:
                status_head, body = _response(200, self._body(url.path, url.query))
                writer.write(status_head + body[: len(body) // 2])
                await writer.drain()
            self._reset(writer)
            return False
        if draw < self.reset_rate + self.error_rate:
            self.counts["503"] += 1
            status_head, body = _response(503, b'{"error": {"message": "busy"}}')
            writer.write(status_head + body)
            await writer.drain()
            return True
        status_head, body = _response(200, self._body(url.path, url.query))
        if self.body_delay:
            writer.write(status_head + body[: len(body) // 2])
            await writer.drain()
            await asyncio.sleep(self.body_delay)
            writer.write(body[len(body) // 2 :])
        else:
            writer.write(status_head + body)
        await writer.drain()
        return True

    def _body(self, path: str, query: str) -> bytes:
        if path.endswith("/customers"):
            params = parse_qs(query)
            count = int(params.get("count", ["100"])[0])
            offset = int(params.get("offset", ["0"])[0])
            ids = range(offset, min(offset + count, self.total_items))
            customers = [
                {"customer_id": f"{number:026x}", "personal_information": {"language_id": "en"}} for number in ids
            ]
            return json.dumps({"data": {"customers": customers, "total_items": self.total_items}}).encode()
        return json.dumps({"data": {"path": path}}).encode()

    def _reset(self, writer: asyncio.StreamWriter) -> None:
        # SO_LINGER 0: closing sends a TCP reset, as a load balancer dropping the connection does.
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--body-delay-ms", type=float, default=0.0)
    parser.add_argument("--reset-rate", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--total-items", type=int, default=50)
    args = parser.parse_args()
    server = FaultServer(
        latency=args.latency_ms / 1000,
        body_delay=args.body_delay_ms / 1000,
        reset_rate=args.reset_rate,
        error_rate=args.error_rate,
        total_items=args.total_items,
        port=args.port,
    ).start()
    print(f"listening {server.port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
