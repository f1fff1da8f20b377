"""The network transport of a client: httpx's connection pool with a bounded queue in front of it.

httpcore 1.0.9's pool (``httpx.AsyncHTTPTransport``) loses connections to cancelled requests
(encode/httpcore#1093, #658, #830; no release fixes it):

- a request waiting in the pool's queue that is handed a new connection and cancelled before it
  runs leaves that connection behind, neither idle nor closed, owned by no request;
- a request cancelled right after its connection was opened leaves it in its ``NEW`` state, as
  stuck;
- a response whose close is cut short by a second cancellation keeps its connection and its
  place in the pool for ever.

Each such connection takes a slot for good: after enough cancelled calls every request waits
for a connection that never comes (``PoolTimeout``) against a healthy server. Under load the
pool's queue is also slow: every request that arrives or leaves walks every waiting request,
so 1,000 queued calls spend most of their CPU there.

:class:`PoolTransport` keeps requests out of that queue: a FIFO of slots, as many as
``max_connections``, sits in front of the pool, and each slot has a lane of its own (an
``AsyncHTTPTransport`` of one connection). A request enters a lane only with its slot, so a
connection is there for it at once and httpcore's work per request stays constant however large
the pool; it gives the slot back when its response is closed (or its attempt fails). Waiting for
a slot is bounded by the request's ``pool`` timeout and is safe to cancel. A lane given back is
checked: a connection or request httpcore still counts as in use there (left by a cancelled
request, or a close cut short) is taken out and closed. :meth:`PoolTransport.aclose` waits for
the calls in flight (up to ``close_timeout`` seconds), cancels those still running, then closes
every connection.

    transport = PoolTransport(httpx.Limits(max_connections=32, max_keepalive_connections=32))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("https://example.test/")
    transport.stats()   # PoolStats(connections=1, idle=1, ..., orphaned=0)
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ._errors import CareCloudError

if TYPE_CHECKING:  # imported where it runs: importing the client does not load asyncio
    import asyncio
    import ssl

__all__ = ["DEFAULT_CLOSE_TIMEOUT", "PoolStats", "PoolTransport", "find_pool_transport"]

logger = logging.getLogger("carecloud_async.pool")

#: How long :meth:`PoolTransport.aclose` waits for calls in flight before it cancels them.
DEFAULT_CLOSE_TIMEOUT = 5.0
# After cancelling the calls still in flight, how long aclose waits for them to let go.
_CANCEL_GRACE = 2.0

_CLOSED_MESSAGE = "this CareCloud client is closed"


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of a :class:`PoolTransport`: ``connections`` in httpx's pool (``idle`` of them
    ready for a request), ``requests`` the pool is serving, ``orphaned`` connections that are in
    use by no request (always 0 once reclaimed), ``in_flight`` requests holding a slot and
    ``waiting`` requests queued for one."""

    connections: int
    idle: int
    requests: int
    orphaned: int
    in_flight: int
    waiting: int


class _Hold:
    """One slot, held by one request from admission until its response is closed."""

    __slots__ = ("closed_by_client", "lane", "released", "task")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.lane: _Lane | None = None
        self.released = False
        self.closed_by_client = False


class _Slots:
    """A FIFO counting semaphore whose waits are bounded and safe to cancel: a slot is handed
    straight to the next waiter, and one handed to a waiter that gave up at that moment goes on
    to the following one, never lost."""

    def __init__(self, size: int | None) -> None:
        self.size = size
        self.used = 0  # slots taken, by holders and by waiters woken but not yet running
        self.holds: set[_Hold] = set()
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._idle: asyncio.Event | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self, timeout: float | None) -> _Hold:
        import asyncio

        hold = _Hold(asyncio.current_task())
        if self.size is None or (self.used < self.size and not self._waiters):
            self.used += 1
            self.holds.add(hold)
            return hold
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            granted = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._give_back()  # handed a slot as we were cancelled: the next waiter takes it
            else:
                self._forget(waiter)
            raise
        finally:
            if expiry is not None:
                expiry.cancel()
        if not granted:  # expired, or refused by aclose
            self._forget(waiter)
            raise TimeoutError
        self.holds.add(hold)
        return hold

    def _forget(self, waiter: asyncio.Future[bool]) -> None:
        # A granted waiter was taken off the queue when it was woken; others are still on it.
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self, hold: _Hold) -> None:
        if hold.released:
            return
        hold.released = True
        self.holds.discard(hold)
        self._give_back()

    def _give_back(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # not expired, not cancelled, not failed by aclose
                waiter.set_result(True)  # the slot passes to it: `used` stays
                return
        self.used -= 1
        if self.used == 0 and self._idle is not None:
            self._idle.set()

    def fail_waiters(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no slot is taken and nobody waits for one."""
        import asyncio

        if self.used == 0:
            return True
        self._idle = asyncio.Event()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return self.used == 0


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class _HeldStream(httpx.AsyncByteStream):
    """A response body that gives its slot (and lane) back when it is closed, however the close ends."""

    def __init__(self, stream: httpx.AsyncByteStream, owner: PoolTransport, hold: _Hold) -> None:
        self._stream = stream
        self._owner = owner
        self._hold = hold

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except BaseException as exc:
            await self.aclose()
            self._owner._raise_if_closed_by_client(self._hold, exc)
            raise

    async def aclose(self) -> None:
        if self._hold.released:
            return
        try:
            await self._stream.aclose()
        finally:
            # Also when the close was cut short (a second cancellation): the lane is checked and
            # cleaned as it goes back.
            self._owner._release(self._hold)


class _Lane:
    """One connection's worth of httpx's pool: an ``AsyncHTTPTransport`` limited to one connection."""

    __slots__ = ("transport",)

    def __init__(self, transport: httpx.AsyncHTTPTransport) -> None:
        self.transport = transport

    @property
    def pool(self) -> Any:
        return self.transport._pool

    def lost(self) -> list[Any]:
        """For a lane no request uses: take out of its pool the requests httpcore still counts and
        the connections in use by nobody (left by a cancelled request), and return the latter."""
        pool = self.pool
        with _lock(pool):
            pool._requests.clear()
            lost = [c for c in pool._connections if not c.is_idle() and not c.is_closed()]
            for connection in lost:
                pool._connections.remove(connection)
        return lost

    def orphaned(self) -> int:
        pool = self.pool
        with _lock(pool):
            busy = sum(1 for c in pool._connections if not c.is_idle() and not c.is_closed())
            return busy + len(pool._requests)


class PoolTransport(httpx.AsyncBaseTransport):
    """httpx's connection pool (its own retries off) behind a bounded, cancellation-safe queue
    of ``limits.max_connections`` slots; see the module docs for why.

    Each slot has a lane of its own: an ``httpx.AsyncHTTPTransport`` limited to one connection
    (all of them sharing one TLS context). A request takes a free lane (the one used last first,
    whose connection is warm) and gives it back when its response is closed; no lane ever has a
    request waiting in it, so httpcore's bookkeeping per request stays constant instead of
    growing with the pool. A lane given back with a connection or request that httpcore still
    counts as in use (a cancelled request's) is cleaned: those are taken out and closed.
    Requests to other origins than the last one a lane served close its connection and open one
    there (a client talks to one origin).

    ``stats()`` reports the pool's state; ``aclose()`` waits up to ``close_timeout`` seconds for
    the requests in flight, cancels those still running, then closes every connection.

        transport = PoolTransport(httpx.Limits(max_connections=32, max_keepalive_connections=32))
    """

    def __init__(
        self,
        limits: httpx.Limits,
        *,
        http2: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        self._limits = limits
        self._http2 = http2
        self._limit = limits.max_connections
        keepalive = limits.max_keepalive_connections
        self._keepalive = keepalive if keepalive is not None else (self._limit or sys.maxsize)
        self._slots = _Slots(limits.max_connections)
        self._lanes: list[_Lane] = []
        self._free: list[_Lane] = []  # a stack: the lane used last is taken first
        self._ssl_context: ssl.SSLContext | None = None
        #: Seconds :meth:`aclose` waits for requests in flight before it cancels them.
        self.close_timeout = close_timeout
        self._closed = False  # refusing new requests (aclose has begun)
        self._shut = False  # every lane closed (aclose is done waiting)
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` once a slot is free (within the request's ``pool`` timeout)."""
        if self._closed:
            raise CareCloudError(_CLOSED_MESSAGE)
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            hold = await self._slots.acquire(timeout)
        except TimeoutError:
            if self._closed:
                raise CareCloudError(_CLOSED_MESSAGE) from None
            raise httpx.PoolTimeout(
                f"no connection was free within the pool timeout ({timeout:g} s): "
                f"all {self._limit} connections were in use",
                request=request,
            ) from None
        lane = hold.lane = self._free.pop() if self._free else self._new_lane()
        try:
            response = await lane.transport.handle_async_request(request)
        except BaseException as exc:
            self._release(hold)
            self._raise_if_closed_by_client(hold, exc)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _HeldStream(response.stream, self, hold)
        return response

    def stats(self) -> PoolStats:
        """The pool's state now (see :class:`PoolStats`)."""
        busy = {id(hold.lane) for hold in self._slots.holds}
        pools = [lane.pool for lane in self._lanes]
        connections = [c for pool in pools for c in pool._connections]
        return PoolStats(
            connections=len(connections),
            idle=sum(1 for c in connections if c.is_idle()),
            requests=sum(len(pool._requests) for pool in pools),
            orphaned=sum(lane.orphaned() for lane in self._lanes if id(lane) not in busy),
            in_flight=len(self._slots.holds),
            waiting=self._slots.waiting,
        )

    async def aclose(self) -> None:
        """Stop taking requests, let those in flight or queued end (up to ``close_timeout``
        seconds), refuse those still queued and cancel those still running, then close every
        connection of the pool."""
        import asyncio

        if self._closed:
            return
        self._closed = True  # new requests are refused; those queued for a slot keep their place
        if not await self._slots.wait_idle(self.close_timeout):
            self._slots.fail_waiters()
            current = asyncio.current_task()
            for hold in list(self._slots.holds):
                if hold.task is not None and hold.task is not current and not hold.task.done():
                    hold.closed_by_client = True
                    hold.task.cancel()
            if not await self._slots.wait_idle(_CANCEL_GRACE):
                logger.warning("closing the connection pool with %d requests still in flight", len(self._slots.holds))
        self._shut = True
        for lane in self._lanes:
            with contextlib.suppress(Exception):
                await lane.transport.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _new_lane(self) -> _Lane:
        if self._ssl_context is None:
            # One TLS context for every lane (each would otherwise load the CA bundle again);
            # what AsyncHTTPTransport() makes for itself. httpcore sets ALPN per connection.
            self._ssl_context = httpx.create_ssl_context(verify=True, trust_env=True)
        one = httpx.Limits(
            max_connections=1, max_keepalive_connections=1, keepalive_expiry=self._limits.keepalive_expiry
        )
        lane = _Lane(httpx.AsyncHTTPTransport(verify=self._ssl_context, retries=0, limits=one, http2=self._http2))
        self._lanes.append(lane)
        return lane

    def _release(self, hold: _Hold) -> None:
        lane = hold.lane
        if lane is not None and not hold.released:
            hold.lane = None
            for connection in lane.lost():
                self._close_later(connection)
            if self._shut or len(self._free) >= self._keepalive:
                # A request that outlived aclose, or more connections would stay open than kept alive.
                self._close_later(lane.transport)
            self._free.append(lane)
        self._slots.release(hold)

    def _raise_if_closed_by_client(self, hold: _Hold, exc: BaseException) -> None:
        """A call cancelled by aclose ends with CareCloudError, not a cancellation of its task
        (Python 3.11+, where a task's cancellation can be taken back)."""
        import asyncio

        if not (hold.closed_by_client and isinstance(exc, asyncio.CancelledError)):
            return
        task = asyncio.current_task()
        uncancel = getattr(task, "uncancel", None)
        if task is hold.task and uncancel is not None and task.cancelling() == 1:  # type: ignore[union-attr]
            uncancel()
            hold.closed_by_client = False
            raise CareCloudError("the CareCloud client was closed while this call was in flight") from None

    def _close_later(self, closable: Any) -> None:
        import asyncio

        task = asyncio.ensure_future(_close_quietly(closable))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _lock(pool: Any) -> Any:
    # httpcore >= 1.0.3 guards its pool state for the sync pool's threads; a no-op under asyncio.
    return getattr(pool, "_optional_thread_lock", None) or contextlib.nullcontext()


async def _close_quietly(closable: Any) -> None:
    with contextlib.suppress(Exception):
        await closable.aclose()


def find_pool_transport(transport: httpx.AsyncBaseTransport) -> PoolTransport | None:
    """The :class:`PoolTransport` at the bottom of a stack of wrapping transports (each keeping
    the one it wraps as ``_transport``), or None when the stack ends elsewhere.

    >>> find_pool_transport(httpx.MockTransport(lambda request: httpx.Response(200))) is None
    True
    """
    current: object = transport
    for _ in range(16):
        if isinstance(current, PoolTransport):
            return current
        current = getattr(current, "_transport", None)
        if current is None:
            return None
    return None
