"""A client-side rate limit: at most N requests per second leave this client (or, with a shared
budget on Redis, all replicas together), so a bulk job queues instead of collecting 429s.

Requests are spaced evenly, one every ``1/N`` s (GCRA, a leaky bucket without burst): each
request reserves the next free slot and waits for it. The same decision (:func:`reserve_slot`)
runs in memory (:class:`LocalRateBudget`) or in Redis (``RedisState(...).rate_budget(...)``).
:class:`RateLimitTransport` sits below retries, so every attempt, retries included, takes a slot.

    transport = RetryTransport(RateLimitTransport(httpx.AsyncHTTPTransport(retries=0), LocalRateBudget(20)))
    async with CareCloud.enterprise(..., rate_limit=20) as cc:   # the same, built for you
        ...
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import httpx

from ._errors import ConfigurationError

__all__ = ["LocalRateBudget", "RateBudget", "RateLimitTransport", "check_rate", "reserve_slot"]


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


def reserve_slot(next_free: float, now: float, interval: float) -> tuple[float, float]:
    """Reserve the next slot: returns (the new ``next_free``, seconds to wait before sending).

    ``next_free`` is when the next request may go (the "theoretical arrival time"); a budget
    unused for a while does not bank slots, so there is never a burst.

    >>> reserve_slot(0.0, 10.0, 0.5)      # idle: go now, the next one in 0.5 s
    (10.5, 0.0)
    >>> reserve_slot(10.5, 10.1, 0.5)     # busy: wait 0.4 s
    (11.0, 0.4)
    """
    start = max(next_free, now)
    return start + interval, round(start - now, 9)


@runtime_checkable
class RateBudget(Protocol):
    """Hands out send slots: ``reserve()`` returns how long to wait before sending."""

    @property
    def per_second(self) -> float:
        """Requests per second allowed."""
        ...

    async def reserve(self) -> float:
        """Reserve the next slot; the seconds to wait before sending."""
        ...


class LocalRateBudget:
    """A rate budget of this process (one client, or every client given the same object).

    budget = LocalRateBudget(20)          # 20 requests per second
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_second = check_rate(per_second)
        self._interval = 1.0 / self._per_second
        self._clock = clock
        self._next_free = 0.0

    @property
    def per_second(self) -> float:
        """Requests per second allowed."""
        return self._per_second

    async def reserve(self) -> float:
        """Reserve the next slot; the seconds to wait before sending."""
        self._next_free, delay = reserve_slot(self._next_free, self._clock(), self._interval)
        return delay

    def __repr__(self) -> str:
        return f"LocalRateBudget(per_second={self._per_second})"


class RateLimitTransport(httpx.AsyncBaseTransport):
    """Waits for a slot of ``budget`` before each request reaches ``transport``.

    transport = RateLimitTransport(httpx.AsyncHTTPTransport(retries=0), LocalRateBudget(10))
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        budget: RateBudget,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._transport = transport
        self._budget = budget
        self._sleep = sleep

    @property
    def budget(self) -> RateBudget:
        """Where slots come from."""
        return self._budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for the next slot, then send."""
        delay = await self._budget.reserve()
        if delay > 0:
            await self._sleep(delay)
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()
