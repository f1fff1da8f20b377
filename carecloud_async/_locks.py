"""Locks that hold for every coroutine of the process, whichever thread and event loop runs it.

An ``asyncio.Lock`` belongs to the event loop that first waits on it: the same lock used later
from another loop (a second ``asyncio.run``, another thread) raises ``RuntimeError``. A client
that may be used from several loops needs locks that work in all of them:

    lock = LoopSafeLock()
    async with lock:          # in any thread, any event loop
        ...

    locks = KeyLocks()
    async with locks.hold("demo.example/app1/kiosk-7"):
        ...

Waiters of one loop queue on that loop's own ``asyncio.Lock`` (fair, no polling); the one at the
head takes a ``threading.Lock`` shared by all loops, polling it with short sleeps when another
loop holds it, so no event loop is ever blocked.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncio is imported where it runs: importing the client does not load it
    import asyncio

__all__ = ["FIRST_POLL", "MAX_POLL", "KeyLocks", "LoopSafeLock"]

# Polling a lock held elsewhere (another event loop here; another process's lock file in
# FileTokenStore): first soon, then at most this often.
FIRST_POLL = 0.002
MAX_POLL = 0.05


class LoopSafeLock:
    """A mutual-exclusion lock for coroutines of any thread and event loop (``async with`` only).

    lock = LoopSafeLock()
    async with lock:
        token = await log_in()
    """

    def __init__(self) -> None:
        self._shared = threading.Lock()
        self._guard = threading.Lock()
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._holder_queue: asyncio.Lock | None = None

    def locked(self) -> bool:
        """Whether some coroutine holds the lock."""
        return self._shared.locked()

    async def __aenter__(self) -> None:
        import asyncio  # already loaded: this runs in an event loop

        loop = asyncio.get_running_loop()
        with self._guard:
            queue = self._per_loop.get(loop)
            if queue is None:
                queue = self._per_loop[loop] = asyncio.Lock()
        await queue.acquire()
        try:
            delay = FIRST_POLL
            while not self._shared.acquire(blocking=False):
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_POLL)
        except BaseException:
            queue.release()
            raise
        self._holder_queue = queue

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        queue, self._holder_queue = self._holder_queue, None
        self._shared.release()
        if queue is not None:
            queue.release()


class KeyLocks:
    """One :class:`LoopSafeLock` per key, made on first use.

    locks = KeyLocks()
    async with locks.hold("demo.example/app1/kiosk-7"):
        ...
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, LoopSafeLock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key`` for the ``async with`` block."""
        with self._guard:
            lock = self._locks.setdefault(key, LoopSafeLock())
        async with lock:
            yield
