"""A client-side rate limit: at most N requests per second leave this client (or, with a shared
budget on Redis, all replicas together), so a bulk job queues instead of collecting 429s.

Requests are spaced evenly, one every ``1/N`` s, counted when they actually leave: a waiting
request takes the slot only once its time has come (:func:`try_take_slot`), so a busy or stalled
event loop never releases a catch-up burst afterwards. Waiters queue in order (an
``asyncio.Lock``); the same decision runs in memory (:class:`LocalRateBudget`) or in Redis
(``RedisState(...).rate_budget(...)``). :class:`RateLimitTransport` sits below retries, so every
attempt, retries included, takes a slot.

    transport = RetryTransport(RateLimitTransport(httpx.AsyncHTTPTransport(retries=0), LocalRateBudget(20)))
    async with CareCloud.enterprise(..., rate_limit=20) as cc:   # the same, built for you
        ...
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import httpx

from ._errors import ConfigurationError
from ._event_loops import sleep as asyncio_sleep
from ._observe import note_rate_wait

__all__ = ["LocalRateBudget", "RateBudget", "RateLimitTransport", "check_rate", "try_take_slot"]


def check_rate(per_second: float) -> float:
    """``per_second`` validated: a finite number above zero.

    >>> check_rate(20)
    20.0
    """
    if isinstance(per_second, bool) or not isinstance(per_second, (int, float)):
        raise ConfigurationError(f"rate_limit must be a number of requests per second, got {per_second!r}")
    if not math.isfinite(per_second) or per_second <= 0:
        raise ConfigurationError(f"rate_limit must be a finite number above 0, got {per_second!r}")
    return float(per_second)


def try_take_slot(next_free: float, now: float, interval: float) -> tuple[float, float]:
    """Take a send slot if its time has come: returns (the new ``next_free``, seconds to wait).

    A wait of 0 means "send now" (the slot is taken: the next one is ``interval`` later); a wait
    above 0 means "try again then" (nothing taken). An idle budget does not bank slots.

    >>> try_take_slot(0.0, 10.0, 0.5)      # idle: send now, the next one at 10.5
    (10.5, 0.0)
    >>> try_take_slot(10.5, 10.1, 0.5)     # too early: wait 0.4 s, then try again
    (10.5, 0.4)
    """
    if now >= next_free:
        return now + interval, 0.0
    return next_free, round(next_free - now, 9)


@runtime_checkable
class RateBudget(Protocol):
    """Hands out send slots: ``wait_for_slot()`` returns when a request may be sent."""

    @property
    def per_second(self) -> float:
        """Requests per second allowed."""
        ...

    async def wait_for_slot(self) -> None:
        """Wait until a request may be sent, and take that slot."""
        ...


class LocalRateBudget:
    """A rate budget of this process (one client, or every client given the same object).

    budget = LocalRateBudget(20)          # 20 requests per second
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio_sleep,
    ) -> None:
        self._per_second = check_rate(per_second)
        self._interval = 1.0 / self._per_second
        self._clock = clock
        self._sleep = sleep
        self._next_free = 0.0
        import asyncio  # at construction, not import: importing the client does not load asyncio

        self._queue = asyncio.Lock()

    @property
    def per_second(self) -> float:
        """Requests per second allowed."""
        return self._per_second

    def try_take(self) -> float:
        """Take a slot now if its time has come (0), else the seconds until it does."""
        self._next_free, wait = try_take_slot(self._next_free, self._clock(), self._interval)
        return wait

    async def wait_for_slot(self) -> None:
        """Wait (in turn with the other waiters) until a request may be sent, and take that slot."""
        async with self._queue:
            while (wait := self.try_take()) > 0:
                await self._sleep(wait)

    def __repr__(self) -> str:
        return f"LocalRateBudget(per_second={self._per_second})"


class RateLimitTransport(httpx.AsyncBaseTransport):
    """Waits for a slot of ``budget`` before each request reaches ``transport``.

    transport = RateLimitTransport(httpx.AsyncHTTPTransport(retries=0), LocalRateBudget(10))
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, budget: RateBudget) -> None:
        self._transport = transport
        self._budget = budget

    @property
    def budget(self) -> RateBudget:
        """Where slots come from."""
        return self._budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for the next slot, then send."""
        started = time.perf_counter()
        await self._budget.wait_for_slot()
        note_rate_wait(time.perf_counter() - started)  # a metric, when tracing
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()
