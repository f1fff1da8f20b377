"""A local stand-in for a CareCloud project that counts what reaches it, for the cache benchmark
and the shared-state tests (Prism cannot count logins, add latency or rate-limit).

It answers, on 127.0.0.1 and a free port, under both API base paths:

- ``POST .../users/actions/login`` → a new bearer token each time (counted in ``logins``);
- ``POST .../tokens`` → a new device token each time (counted in ``tokens``);
- ``GET`` anything else → ``{"data": {...}}`` naming the path, with ``Cache-Control`` as set;
- every other write → 200.

``latency`` delays every answer; ``rate_limit`` answers 429 (with ``Retry-After: 1``) to
requests beyond that many in the last second. ``login_delay`` slows logins and token creation
down, so that processes starting together really overlap.

    with StandInServer(latency=0.02) as server:
        ...  # server.origin is "http://127.0.0.1:<port>"; server.counts["GET"] after

As a process of its own (the benchmark runs it so, off the client's CPU and GIL), it prints
``listening <port>`` and serves until killed; ``GET /__counts`` answers the counts as JSON and
``POST /__reset`` clears them:

    python -m scripts.stand_in_server --latency-ms 20 --rate-limit 100
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import threading
import time
from types import TracebackType

from aiohttp import web

__all__ = ["StandInServer"]


class StandInServer:
    """The stand-in, run in a thread of its own (its own event loop) until ``stop()``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        cache_control: str | None = "max-age=60",
        rate_limit: int | None = None,
        login_delay: float = 0.0,
    ) -> None:
        self.latency = latency
        self.cache_control = cache_control
        self.rate_limit = rate_limit
        self.login_delay = login_delay
        self.counts: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="stand-in-server")
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, the project URL to give a client."""
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget the counts (between benchmark rounds)."""
        self.counts.clear()
        self._recent.clear()

    def start(self) -> StandInServer:
        """Listen on a free loopback port; returns when it accepts connections."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop listening and end the thread."""
        if self._runner is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    def _over_limit(self) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            return True
        self._recent.append(now)
        return False

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path == "/__counts":
            return web.json_response(dict(self.counts))
        if request.path == "/__reset":
            self.reset()
            return web.json_response({})
        over_limit = self._over_limit()  # counted on arrival, as a gateway would
        if self.latency:
            await asyncio.sleep(self.latency)
        if over_limit:
            self.counts["429"] += 1
            return web.Response(status=429, headers={"Retry-After": "1"})
        path = request.path
        if request.method == "POST" and path.endswith("/users/actions/login"):
            await asyncio.sleep(self.login_delay)
            self.counts["login"] += 1
            token = f"bearer-{self.counts['login']}"
            return web.json_response({"data": {"bearer_token": token, "valid_to": "2099-01-01 00:00:00"}})
        if request.method == "POST" and path.endswith("/tokens"):
            await asyncio.sleep(self.login_delay)
            self.counts["token"] += 1
            return web.json_response({"data": {"token_id": f"token-{self.counts['token']}"}}, status=201)
        self.counts[request.method] += 1
        if request.method != "GET":
            return web.json_response({"data": {}})
        headers = {"Cache-Control": self.cache_control} if self.cache_control else {}
        body = {"data": {"path": path, "query": request.query_string, "items": [], "total_items": 0}}
        return web.json_response(body, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", type=int, default=None, help="answer 429 above this many requests per second")
    parser.add_argument("--cache-control", default="max-age=60")
    args = parser.parse_args()
    server = StandInServer(
        latency=args.latency_ms / 1000, rate_limit=args.rate_limit, cache_control=args.cache_control or None
    ).start()
    print(f"listening {server.port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
