"""The fake CareCloud as a real HTTP/1.1 server on loopback (for the CLI and non-Python callers).

The same :meth:`FakeCareCloud.handle` answers as in-process; only the wire differs. A request that
breaks the spec gets 400 with ``invalid_params`` naming each field and an ``x-fake-violation``
header naming the operation (and is kept in ``fake.violations``); a reset closes the connection
without an answer. Plain asyncio streams, 127.0.0.1 only, no dependency.

    async with FakeServer(FakeCareCloud()) as server:
        cc = CareCloud.enterprise(server.url, user_external_application_id="fake-app",
                                  login="pos@example.com", password="fake-password")

    python -m carecloud_async.testing --port 8080     # until Ctrl-C

Another process (a benchmark, a test driving a subprocess) reads and clears the fake's counts
through two control routes outside the CareCloud API paths:

- ``GET /__fake/counts``: :meth:`FakeCareCloud.counts` as JSON (:meth:`RequestCounts.as_json`);
- ``POST /__fake/clear-requests``: :meth:`FakeCareCloud.clear_requests`, answering ``{}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from types import TracebackType

import httpx

from ._fake import ConnectionReset, FakeAnswerInvalid, FakeCareCloud

__all__ = ["FakeServer"]

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 32 * 1024 * 1024
_CONTROL = "/__fake/"
_TLS_HANDSHAKE = b"\x16"  # the first byte of a TLS handshake record; no HTTP method starts with it
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
}


class FakeServer:
    """Serve ``fake`` on ``http://127.0.0.1:<port>`` (``port=0``: a free one, see :attr:`url`).

    The fake is switched to answering violations with 400 (a server cannot raise in its caller).
    """

    def __init__(self, fake: FakeCareCloud | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the fake serves on loopback only")
        self.fake = fake if fake is not None else FakeCareCloud()
        self.fake.raise_on_violation = False
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._stopping = False

    @property
    def url(self) -> str:
        """The origin to give ``CareCloud.enterprise``/``customer`` as ``project_url``."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (the port is known afterwards)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            # Closing each connection ends its read with IncompleteReadError, which its task
            # handles; cancelling the tasks instead makes asyncio log every one of them.
            for writer in list(self._connections.values()):
                writer.close()
            if self._connections:
                _, busy = await asyncio.wait(list(self._connections), timeout=0.2)
                # A request still being answered (a delay from fake.slow) is given up: its client
                # is gone with the connection. _serve ends quietly when cancelled while stopping.
                self._stopping = True
                for task in busy:
                    task.cancel()
                if busy:
                    await asyncio.wait(busy, timeout=5)
                self._stopping = False
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # Cancelled by stop(): end as if the connection closed (asyncio's own callback on
            # this task would report a cancelled one as an error).
            if not self._stopping:
                raise
        finally:
            if task is not None:
                self._connections.pop(task, None)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        first = await reader.readexactly(1)
        if first == _TLS_HANDSHAKE:
            # A TLS client hello (an https:// URL, or a scheme-less one, to this plain server): it
            # never ends with a blank line, so waiting for one would hold both ends until the
            # client's timeout. Answer as other plain servers do; the client then says "not TLS".
            writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
            return False
        head = first + await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEADER_BYTES:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
        pairs = [(name.strip(), value.strip()) for name, value in headers]
        if any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in pairs):
            body = await _read_chunked(reader)
            pairs = [(n, v) for n, v in pairs if n.lower() != "transfer-encoding"]
        else:
            length = int(next((v for n, v in pairs if n.lower() == "content-length"), "0"))
            if length > _MAX_BODY_BYTES:
                return False
            body = await reader.readexactly(length) if length else b""
        host = next((v for n, v in pairs if n.lower() == "host"), f"{self.host}:{self.port}")
        request = httpx.Request(method, f"http://{host}{target}", headers=pairs, content=body)
        try:
            response = self._control(request) or await self.fake.handle(request)
        except ConnectionReset:
            writer.transport.abort()
            return False
        except FakeAnswerInvalid as exc:
            response = httpx.Response(500, text=str(exc))
        content = await response.aread()
        status_line = f"HTTP/1.1 {response.status_code} {_REASONS.get(response.status_code, 'Status')}\r\n"
        out = [status_line]
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                out.append(f"{name}: {value}\r\n")
        out.append(f"content-length: {len(content)}\r\n\r\n")
        writer.write("".join(out).encode("latin-1") + content)
        await writer.drain()
        return True

    def _control(self, request: httpx.Request) -> httpx.Response | None:
        """The answer of a control route (see the module docs), None for any other path."""
        path = request.url.path
        if not path.startswith(_CONTROL):
            return None
        if (request.method, path) == ("GET", f"{_CONTROL}counts"):
            return httpx.Response(200, json=self.fake.counts().as_json())
        if (request.method, path) == ("POST", f"{_CONTROL}clear-requests"):
            self.fake.clear_requests()
            return httpx.Response(200, json={})
        known = f"GET {_CONTROL}counts, POST {_CONTROL}clear-requests"
        return httpx.Response(404, content=json.dumps({"error": f"no such control route; known: {known}"}))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A ``Transfer-Encoding: chunked`` request body (curl and other clients stream with it)."""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # the end (no trailers expected)
            return bytes(body)
        if len(body) + size > _MAX_BODY_BYTES:
            raise ValueError("request body too large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)
