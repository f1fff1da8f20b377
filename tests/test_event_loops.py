"""One CareCloud client used from more than one event loop: sequential asyncio.run calls and threads.

Against a stand-in Enterprise API on 127.0.0.1 (stdlib HTTP server in a thread) with the client's
own connection pool, since the pool is what binds connections to an event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from carecloud_api.api.cards import get_cards
from thread_server import JSONHandler, serving

from carecloud_async import CareCloud, CareCloudError


class StandIn:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logins = 0
        self.valid: str | None = None
        self.calls = 0

    def revoke(self) -> None:
        with self.lock:
            self.valid = None


def make_handler(state: StandIn) -> type[JSONHandler]:
    class Handler(JSONHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: connections stay in the client's pool

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(0.05)  # let concurrent requests pile up behind the login
            with state.lock:
                state.logins += 1
                token = f"bearer-{state.logins}-{'y' * 24}"
                state.valid = token
            self.answer(200, {"data": {"bearer_token": token, "valid_to": "2099-01-01 00:00:00"}})

        def do_GET(self) -> None:
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with state.lock:
                state.calls += 1
                accepted = bearer == state.valid
            time.sleep(0.01)
            if not accepted:
                self.answer(401, {"error": {"exception": "unauthorized_exception", "title": "Unauthorized"}})
            else:
                self.answer(200, {"data": {"cards": [], "total_items": 3}})

    return Handler


@pytest.fixture
def stand_in() -> Iterator[tuple[str, StandIn]]:
    state = StandIn()
    with serving(make_handler(state)) as origin:
        yield origin, state


def client(url: str, **kwargs: Any) -> CareCloud:
    return CareCloud.enterprise(
        url, user_external_application_id="app", login="pos@example.com", password="not-logged-123", **kwargs
    )


async def calls(cc: CareCloud, n: int) -> list[int]:
    pages = await asyncio.gather(*(cc.call(get_cards.call, count=1) for _ in range(n)))
    return [page.to_dict()["data"]["total_items"] for page in pages]


def test_two_sequential_asyncio_runs_share_one_client(stand_in: tuple[str, StandIn]) -> None:
    url, state = stand_in
    cc = client(url)
    assert asyncio.run(calls(cc, 5)) == [3] * 5  # many wait for the login: its lock is used here
    state.revoke()  # the second loop must log in again, under the same lock
    assert asyncio.run(calls(cc, 5)) == [3] * 5
    assert asyncio.run(calls(cc, 1)) == [3]  # and reuse what the second loop opened
    asyncio.run(cc.aclose())
    assert state.logins == 2


def test_two_threads_with_their_own_event_loops_share_one_client(stand_in: tuple[str, StandIn]) -> None:
    url, state = stand_in
    cc = client(url)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        async def run() -> None:
            start.wait(timeout=10)
            results.append(await calls(cc, 10))
            results.append(await calls(cc, 10))

        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == [[3] * 10] * 4
    assert state.logins == 1  # one login for both threads: the token is the client's
    asyncio.run(cc.aclose())


def test_a_users_own_http_client_is_refused_in_a_second_event_loop(stand_in: tuple[str, StandIn]) -> None:
    url, _ = stand_in

    async def first() -> httpx.AsyncClient:
        return httpx.AsyncClient()

    own = asyncio.run(first())
    cc = client(url, http_client=own)
    assert asyncio.run(calls(cc, 1)) == [3]
    with pytest.raises(CareCloudError, match="one CareCloud client per event loop"):
        asyncio.run(calls(cc, 1))
