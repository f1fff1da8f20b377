"""One value per event loop, for what cannot be shared between loops (a connection pool).

httpx's connection pool keeps connections whose sockets belong to the event loop that opened them:
after that loop ends (``asyncio.run`` returns) or from another thread's loop they cannot be used.
A client that may be used from several loops keeps one pool per loop, and everything else (the
token, its lock, the configuration) once:

    pools = PerLoop(home=make_pool(), make=make_pool, refusal="...")
    pool = pools.current()      # this loop's own: the first loop takes `home`

A value made for a loop that has since been closed is dropped when the next loop arrives (its
connections are dead with their loop; the garbage collector closes their sockets).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from ._errors import CareCloudError

if TYPE_CHECKING:  # asyncio is imported where it runs: importing the client does not load it
    import asyncio

__all__ = ["PerLoop", "sleep"]

T = TypeVar("T")


async def sleep(seconds: float) -> None:
    """``asyncio.sleep``, importing asyncio when it first runs rather than when this module loads.

    The default of ``sleep=`` parameters, so that ``from carecloud_async import CareCloud`` does
    not load asyncio (about 12 ms): by the time anything sleeps, an event loop runs.

    >>> import asyncio
    >>> asyncio.run(sleep(0))
    """
    import asyncio

    await asyncio.sleep(seconds)


class PerLoop(Generic[T]):
    """``home`` for the first event loop that asks, a new value from ``make`` for every other one.

    With ``make=None`` the value cannot be remade (it belongs to the user): any other loop gets a
    :class:`~carecloud_async.CareCloudError` with ``refusal`` as its message.

    >>> import asyncio
    >>> values = PerLoop("home", make=lambda: "another", refusal="one loop only")
    >>> async def current() -> str:
    ...     return values.current()
    >>> asyncio.run(current()), asyncio.run(current()), values.current()
    ('home', 'another', 'home')
    """

    def __init__(self, home: T, *, make: Callable[[], T] | None, refusal: str) -> None:
        self._home = home
        self._make = make
        self._refusal = refusal
        self._guard = threading.Lock()
        self._home_loop: asyncio.AbstractEventLoop | None = None
        self._by_loop: dict[asyncio.AbstractEventLoop, T] = {}

    @property
    def home(self) -> T:
        """The value of the first loop (also what code outside any event loop sees)."""
        return self._home

    def current(self) -> T:
        """The running loop's value (made on its first use); ``home`` outside any event loop."""
        import asyncio  # loaded by then: the caller runs in (or next to) an event loop

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._home
        if loop is self._home_loop:  # set once, under the guard, and never changed: no lock needed
            return self._home
        with self._guard:
            if self._home_loop is None:
                self._home_loop = loop
            if loop is self._home_loop:
                return self._home
            if self._make is None:
                raise CareCloudError(self._refusal)
            value = self._by_loop.get(loop)
            if value is None:
                # Values of loops that have ended are dead: forget them (a closed loop never runs again).
                for old in [old for old in self._by_loop if old.is_closed()]:
                    del self._by_loop[old]
                value = self._by_loop[loop] = self._make()
            return value

    def values(self) -> list[tuple[asyncio.AbstractEventLoop | None, T]]:
        """Every value with its loop (None for ``home`` not yet taken by any loop)."""
        with self._guard:
            return [(self._home_loop, self._home), *self._by_loop.items()]
