"""The connection pool under cancellation, load and close (issue 29), over real loopback sockets.

The server is ``scripts/fault_server.py`` in a thread: real TCP connections, latency, 503s and
resets, and a count of the connections it accepted and still has open. After each storm of
cancelled calls the client's pool is inspected (httpcore's own state: a connection in use that no
request owns is orphaned) and must serve the next calls at its normal size.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecloud_async import CareCloud, CareCloudError, RetryPolicy
from carecloud_async._config import DEFAULT_LIMITS
from carecloud_async._errors import RequestTimeout
from carecloud_async._pool import PoolTransport, _HeldStream, _Slots, find_pool_transport
from scripts.bench_common import bench_client
from scripts.fault_server import FaultServer

FAST_RETRY = RetryPolicy(backoff_base=0.02, backoff_cap=0.05, retry_on_read_timeout=True)


@pytest.fixture
def server_factory() -> Iterator[Callable[..., FaultServer]]:
    servers: list[FaultServer] = []

    def start(**options: Any) -> FaultServer:
        server = FaultServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def httpcore_pools(cc: CareCloud) -> list[Any]:
    """The httpcore connection pools at the bottom of the client's transport stack: one per lane of
    a PoolTransport, or the one of a bare httpx.AsyncHTTPTransport."""
    transport: Any = cc.http._transport
    while not hasattr(transport, "_pool") and not hasattr(transport, "_lanes"):
        transport = transport._transport
    if hasattr(transport, "_lanes"):
        return [lane.transport._pool for lane in transport._lanes]
    return [transport._pool]


def pool_connections(cc: CareCloud) -> list[Any]:
    return [connection for pool in httpcore_pools(cc) for connection in pool._connections]


def open_in_pool(cc: CareCloud) -> int:
    # A connection httpcore has seen fail stays in its list, closed, until that lane's next request.
    return sum(1 for connection in pool_connections(cc) if not connection.is_closed())


def pool_problems(cc: CareCloud, limit: int) -> list[str]:
    """What is wrong with an idle client's pool: requests still registered, connections in use by
    no request (orphaned), more connections than the limit."""
    pools = httpcore_pools(cc)
    connections = pool_connections(cc)
    problems = [f"request still in the pool: {r.request.url}" for pool in pools for r in pool._requests]
    problems += [f"orphaned connection: {c.info()}" for c in connections if not c.is_idle() and not c.is_closed()]
    if len(connections) > limit:
        problems.append(f"{len(connections)} connections > max_connections {limit}")
    return problems


def client_sockets() -> int:
    """Sockets this process holds (the server thread's and the client's alike)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


async def settle(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Wait (bounded) until ``condition()``: the other side of a socket sees a close a little later."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def call(cc: CareCloud) -> Any:
    return await cc.call(get_customers.call, count=5)


async def cancelled_at_random(cc: CareCloud, rng: random.Random) -> None:
    """One call (or pagination walk) given up at a random point of its life."""
    kind = rng.choice(["deadline", "cancel", "walk-stopped", "walk-deadline"])
    if kind == "deadline":  # before send, mid-headers, mid-body, in a retry's backoff
        await asyncio.wait_for(call(cc), rng.uniform(0.0, 0.12))
    elif kind == "cancel":
        task = asyncio.ensure_future(call(cc))
        for _ in range(rng.randrange(0, 40)):  # a random number of event-loop turns
            await asyncio.sleep(0)
        task.cancel()
        await task
    elif kind == "walk-stopped":  # a paginated walk the caller leaves early
        stop_after = rng.randrange(1, 30)
        walk = cc.paginate(get_customers, page_size=5, concurrency=4)
        async for number, _ in _numbered(walk):
            if number >= stop_after:
                break  # the walk's generator is closed when dropped: its pages in flight are cancelled
    else:
        await asyncio.wait_for(cc.paginate(get_customers, page_size=5, concurrency=4).collect(), rng.uniform(0, 0.2))


async def _numbered(items: AsyncIterable[Any]) -> AsyncIterator[tuple[int, Any]]:
    number = 0
    async for item in items:
        number += 1
        yield number, item


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_calls_cancelled_at_random_points_leave_the_pool_whole(
    server_factory: Callable[..., FaultServer], seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="carecloud_async.retry")  # hundreds of retries: not news
    limit = 8
    server = server_factory(latency=0.01, body_delay=0.01, error_rate=0.15, reset_rate=0.05, seed=seed)
    rng = random.Random(seed)  # noqa: S311 (where to cancel, not a secret)
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    tasks_before = len(asyncio.all_tasks())
    async with bench_client(
        server.origin, limits=limits, timeout=httpx.Timeout(10.0, pool=5.0), retry=FAST_RETRY
    ) as cc:
        for _ in range(4):
            outcomes = await asyncio.gather(*(cancelled_at_random(cc, rng) for _ in range(40)), return_exceptions=True)
            unexpected = [o for o in outcomes if isinstance(o, BaseException) and not _given_up(o)]
            assert unexpected == []
        # A walk left early is closed when its generator is collected: its pages in flight (maybe
        # in a retry's backoff) end a moment later. Every call and page ends, none hangs.
        assert await settle(lambda: len(asyncio.all_tasks()) <= tasks_before), asyncio.all_tasks()
        assert await settle(lambda: pool_problems(cc, limit) == []), pool_problems(cc, limit)
        # Every socket the server still has open is a connection the pool keeps (none lost outside it).
        assert await settle(lambda: server.open_connections == open_in_pool(cc)), (server.counts, pool_connections(cc))

        # The next calls: as many as the pool holds, all at once, each holding its connection.
        accepted = server.counts["accepted"]
        server.latency, server.reset_rate, server.error_rate = 0.05, 0.0, 0.0
        results = await asyncio.gather(*(call(cc) for _ in range(limit)))
        assert len(results) == limit
        assert server.counts["accepted"] - accepted <= limit
        assert pool_problems(cc, limit) == []


def _given_up(outcome: BaseException) -> bool:
    # What a cancelled or failed call may end with; anything else (a PoolTimeout) is a defect.
    return isinstance(outcome, (asyncio.CancelledError, asyncio.TimeoutError)) or (
        isinstance(outcome, CareCloudError) and "PoolTimeout" not in str(outcome)
    )


async def test_aclose_with_calls_in_flight_waits_for_them_and_leaves_no_socket_open(
    server_factory: Callable[..., FaultServer],
) -> None:
    server = server_factory(latency=0.2)
    before = client_sockets()  # the server's listening socket included
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    cc = bench_client(server.origin, limits=limits)
    await call(cc)
    calls = [asyncio.ensure_future(call(cc)) for _ in range(12)]
    await asyncio.sleep(0.05)  # four sending, eight queued
    await asyncio.wait_for(cc.aclose(), 30)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert await settle(lambda: server.open_connections == 0), server.counts
    assert await settle(lambda: client_sockets() == before)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []  # waited for, not cut off


async def test_aclose_cancels_calls_that_outlast_its_wait_and_closes_their_sockets(
    server_factory: Callable[..., FaultServer],
) -> None:
    server = server_factory(latency=5.0)
    before = client_sockets()
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    cc = bench_client(server.origin, limits=limits, timeout=httpx.Timeout(30.0))
    server.latency = 0.0
    await call(cc)  # logged in
    server.latency = 5.0
    pool = find_pool_transport(cc.http._transport)
    assert pool is not None
    pool.close_timeout = 0.2
    calls = [asyncio.ensure_future(call(cc)) for _ in range(10)]
    await asyncio.sleep(0.1)
    await asyncio.wait_for(cc.aclose(), 30)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, (CareCloudError, asyncio.CancelledError)) for o in outcomes), outcomes
    if sys.version_info >= (3, 11):  # a task's cancellation can be taken back: the call says why
        assert all(isinstance(o, CareCloudError) and "closed" in str(o) for o in outcomes), outcomes
    assert await settle(lambda: server.open_connections == 0), server.counts
    assert await settle(lambda: client_sockets() == before)


async def test_connections_are_reused_at_the_concurrency_the_library_creates(
    server_factory: Callable[..., FaultServer],
) -> None:
    # Pagination and customer sync run up to 32 requests at once: the default pool keeps that
    # many connections alive instead of opening new ones for most requests.
    server = server_factory(latency=0.01)
    concurrency = 32
    async with bench_client(server.origin) as cc:
        for _ in range(4):
            await asyncio.gather(*(call(cc) for _ in range(concurrency)))
    requests = server.counts["requests"]
    assert requests == 4 * concurrency + 1  # and the login
    assert server.counts["accepted"] <= concurrency + 1
    assert DEFAULT_LIMITS.max_keepalive_connections == DEFAULT_LIMITS.max_connections


async def test_fewer_kept_alive_than_allowed_closes_the_rest_once_idle(
    server_factory: Callable[..., FaultServer],
) -> None:
    server = server_factory(latency=0.05)
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=1)
    async with bench_client(server.origin, limits=limits) as cc:
        await asyncio.gather(*(call(cc) for _ in range(8)))
        assert await settle(lambda: server.open_connections == 1), server.counts
        pool = find_pool_transport(cc.http._transport)
        assert pool is not None
        assert await settle(lambda: pool.stats().connections == 1), pool.stats()
        assert pool.stats().orphaned == 0
        assert pool.stats().in_flight == 0


async def test_a_pool_timeout_ends_the_call_while_the_connection_is_still_busy(
    server_factory: Callable[..., FaultServer],
) -> None:
    server = server_factory(latency=0.0)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with bench_client(server.origin, limits=limits, timeout=httpx.Timeout(30.0, pool=0.3)) as cc:
        await call(cc)
        server.latency = 3.0
        holder = asyncio.ensure_future(call(cc))
        await asyncio.sleep(0.1)
        with pytest.raises(RequestTimeout, match="PoolTimeout"):
            await call(cc)
        # Not retried into a multiple of the pool timeout: the holder is still being answered.
        assert not holder.done()
        assert server.counts["requests"] == 3  # login, first call, holder: the waiter sent nothing
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder


async def test_a_get_reset_mid_body_is_retried_over_a_real_socket(server_factory: Callable[..., FaultServer]) -> None:
    server = server_factory(reset_first=1)
    async with bench_client(server.origin, retry=FAST_RETRY) as cc:
        page = await call(cc)
    assert len(page.data.customers) == 5
    assert server.counts["resets"] == 1
    assert server.counts["requests"] == 3  # login, the reset attempt, the retry


# --- the slots in front of the pool, over random sequences ---------------------------------------

OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["acquire", "cancel", "release", "expire", "tick"]), st.integers(0, 7)),
    max_size=40,
)


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(size=st.integers(1, 4), operations=OPERATIONS)
def test_slots_are_never_lost_or_overgiven(size: int, operations: list[tuple[str, int]]) -> None:
    """Whatever mix of acquires, releases, cancellations and expired waits: never more holders than
    slots, and once everyone has let go, every slot can be taken again at once."""

    async def run() -> None:
        slots = _Slots(size)
        tasks: list[asyncio.Task[Any]] = []
        holds: list[Any] = []

        async def take(timeout: float | None) -> None:
            holds.append(await slots.acquire(timeout))

        for operation, index in operations:
            if operation == "acquire":
                tasks.append(asyncio.ensure_future(take(None)))
            elif operation == "expire":
                tasks.append(asyncio.ensure_future(take(0)))
            elif operation == "cancel" and tasks:
                tasks[index % len(tasks)].cancel()
            elif operation == "release" and holds:
                slots.release(holds.pop(index % len(holds)))
            await asyncio.sleep(0)
            assert len(slots.holds) <= size
            assert slots.used <= size
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for hold in holds:
            slots.release(hold)
        assert slots.holds == set()
        assert slots.used == 0
        fresh = [await asyncio.wait_for(slots.acquire(None), 1) for _ in range(size)]
        assert len(fresh) == size

    asyncio.run(run())


class CutShortStream(httpx.AsyncByteStream):
    """A response body whose close is interrupted by a second cancellation before it does anything."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self.stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        raise asyncio.CancelledError


async def test_a_response_whose_close_is_cut_short_gives_its_connection_back(
    server_factory: Callable[..., FaultServer],
) -> None:
    server = server_factory(body_delay=0.05)
    transport = PoolTransport(httpx.Limits(max_connections=1, max_keepalive_connections=1))
    request = httpx.Request("GET", f"{server.origin}/anything", extensions={"timeout": {"pool": 1.0, "read": 5.0}})
    response = await transport.handle_async_request(request)
    held = response.stream
    assert isinstance(held, _HeldStream)
    held._stream = CutShortStream(held._stream)
    with pytest.raises(asyncio.CancelledError):
        await response.aclose()
    stats = transport.stats()
    assert (stats.in_flight, stats.requests, stats.orphaned) == (0, 0, 0)
    # The connection httpcore still counted as busy was taken out and closed: the next request
    # gets the pool's one slot at once, on a new connection.
    assert await settle(lambda: server.open_connections == 0)
    response = await transport.handle_async_request(request)
    assert await response.aread()
    await response.aclose()
    assert server.counts["accepted"] == 2
    await transport.aclose()


async def test_a_pool_timeout_names_the_limit_and_sends_nothing() -> None:
    transport = PoolTransport(httpx.Limits(max_connections=1))
    hold = await transport._slots.acquire(None)
    request = httpx.Request("GET", "http://127.0.0.1:9/", extensions={"timeout": {"pool": 0.01}})
    with pytest.raises(httpx.PoolTimeout, match="all 1 connections were in use"):
        await transport.handle_async_request(request)
    transport._slots.release(hold)
    await transport.aclose()
    with pytest.raises(CareCloudError, match="closed"):
        await transport.handle_async_request(request)
