"""One async paginator for every list operation (``count`` / ``offset`` / ``data.total_items``).

Where the list sits inside ``data`` comes from the operation catalog, derived from each
operation's response schema (``/stamps`` answers ``data.stamper_stamps``), never from the path.

    async for customer in cc.paginate(get_customers, email="jane@example.com"):
        print(customer.customer_id)

    async for page in cc.paginate(get_rewards, page_size=500, concurrency=4).pages():
        print(page.offset, len(page.items), page.total_items)

    first_fifty = await cc.paginate(get_customers, max_items=50).collect()

When to stop: an empty page always ends the walk. With ``total_items`` known, the walk goes on
until ``offset`` reaches the latest ``total_items`` the server reported (so a total that changes
during the walk is followed, up or down) — a short page then only ends the walk when it reaches
that total, because a server may cap ``count`` below what was asked. Without ``total_items``, a
short page ends it. ``max_items`` bounds what is yielded (and what is requested). ``start``
begins the walk at that offset instead of 0 (to resume an interrupted export: the items before it
are neither requested nor yielded).

With ``concurrency > 1``, once the first page has told ``total_items``, up to ``concurrency``
pages are in flight at once; items still come out in order, and at most ``concurrency`` pages are
held in memory, however long the list.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import types
import typing
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from carecloud_api.types import Unset

from ._errors import RequestValidationError
from ._observe import Walk, observed_walk
from ._operations import OperationSender, bind_page_arguments, operation_of
from ._type_hints import type_hints

if TYPE_CHECKING:
    import asyncio  # imported where it runs: importing the client does not load it

    from carecloud_api._catalog import Operation


T = TypeVar("T")
#: The list operations' parameters the paginator sets on every request.
PAGINATOR_PARAMETERS = ("count", "offset")
#: No maximum for ``count`` is stated in the spec; 26 list schemas say ``maxItems: 1000``.
MAX_PAGE_SIZE = 1000
MAX_CONCURRENCY = 32


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, where it starts and the total the server reported."""

    items: list[T]
    offset: int
    total_items: int | None
    #: The whole parsed response model of the page.
    response: Any = field(repr=False, default=None)


def page_parts(response: Any, list_key: str) -> tuple[list[Any], int | None]:
    """(items, total_items) of a parsed list response: ``response.data.<list_key>`` (the attribute
    name on the generated model, which may differ from the JSON key: ``credits`` -> ``credits_``).

    >>> from types import SimpleNamespace as NS
    >>> page_parts(NS(data=NS(customers=[1, 2], total_items=7)), "customers")
    ([1, 2], 7)
    """
    data = getattr(response, "data", None)
    if data is None or isinstance(data, Unset):
        return [], None
    items = getattr(data, list_key, None)
    total = getattr(data, "total_items", None)
    return (
        list(items) if isinstance(items, list) else [],
        total if isinstance(total, int) and not isinstance(total, bool) else None,
    )


def _without_unset(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [member for member in typing.get_args(annotation) if member is not Unset]
        return members[0] if len(members) == 1 else functools.reduce(lambda a, b: a | b, members)
    return annotation


@functools.cache
def item_type_of(operation: Operation) -> Any:
    """What a list operation's items are, as the generated models declare them: a model class
    (``Customer`` for ``get_customers``), a plain type (``str``) or a union of them.

    >>> from carecloud_api._catalog import OPERATIONS
    >>> item_type_of(next(op for op in OPERATIONS if op.operation_id == "getCustomers")).__name__
    'Customer'
    """
    if operation.list_attr is None:
        raise RequestValidationError(f"{operation.method} {operation.path} is not a list operation")
    module = importlib.import_module(operation.module)
    response = _without_unset(typing.get_type_hints(module.call)["return"])
    data = _without_unset(type_hints(response)["data"])
    listed = _without_unset(type_hints(data)[operation.list_attr])
    (item,) = typing.get_args(listed)  # list[X]
    return item


def _accepts(declared: type, actual: Any) -> bool:
    """Is every item the list may hold (``actual``) an instance of ``declared``?"""
    if actual is Any or declared is object:
        return True
    if isinstance(actual, types.UnionType) or typing.get_origin(actual) is typing.Union:
        return all(_accepts(declared, member) for member in typing.get_args(actual))
    return isinstance(actual, type) and issubclass(actual, declared)


def _check_whole_number(route: str, name: str, value: Any, *, none_allowed: bool = False) -> None:
    """Refuse a paginator keyword that is no int (a bool is none either), as the argument checks
    refuse a string ``count``: ``GET /customers: page_size must be int, not str``."""
    if (none_allowed and value is None) or (isinstance(value, int) and not isinstance(value, bool)):
        return
    expected = "int or None" if none_allowed else "int"
    raise RequestValidationError(f"{route}: {name} must be {expected}, not {type(value).__name__}")


def should_continue(*, offset: int, received: int, requested: int, total_items: int | None, limit: int | None) -> bool:
    """After a page of ``received`` items (of ``requested``), walking to ``offset``: fetch more?

    >>> should_continue(offset=200, received=100, requested=100, total_items=250, limit=None)
    True
    >>> should_continue(offset=250, received=50, requested=100, total_items=250, limit=None)
    False
    >>> should_continue(offset=140, received=40, requested=100, total_items=None, limit=None)
    False
    """
    if received == 0:
        return False
    if limit is not None and offset >= limit:
        return False
    if total_items is not None:
        return offset < total_items
    return received >= requested


class Paginator(Generic[T]):
    """Iterate a list operation's items (``async for``) or pages (:meth:`pages`).

    Made by :meth:`CareCloud.paginate`. ``page_size`` is the ``count`` sent (1 to 1000),
    ``max_items`` caps the items yielded, ``concurrency`` the pages in flight once
    ``total_items`` is known. ``count`` and ``offset`` are the paginator's to set.
    ``item_type`` (for type checkers: ``Paginator[Customer]``) is checked against the list's
    declared items before anything is sent. ``start`` is the first offset requested (0 by
    default; an export resumed after 1,200 written items starts at 1200).
    """

    def __init__(
        self,
        client: OperationSender,
        operation: ModuleType | Callable[..., Awaitable[Any]],
        /,
        *,
        page_size: int = 100,
        max_items: int | None = None,
        concurrency: int = 1,
        item_type: type[T] | None = None,
        start: int = 0,
        **params: Any,
    ):
        module, entry = operation_of(operation)
        if not entry.paginated or entry.list_attr is None:
            raise RequestValidationError(
                f"{entry.method} {entry.path} is not a paginated list operation (no count/offset and "
                "total_items); use CareCloud.call instead"
            )
        route = f"{entry.method} {entry.path}"
        _check_whole_number(route, "page_size", page_size)
        _check_whole_number(route, "max_items", max_items, none_allowed=True)
        _check_whole_number(route, "concurrency", concurrency)
        _check_whole_number(route, "start", start)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise RequestValidationError(f"{route}: page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        if max_items is not None and max_items < 0:
            raise RequestValidationError(f"{route}: max_items must be 0 or more, not {max_items}")
        if start < 0:
            raise RequestValidationError(f"{route}: start must be 0 or more, not {start}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise RequestValidationError(
                f"{route}: concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}"
            )
        taken = [name for name in PAGINATOR_PARAMETERS if name in params]
        if taken:
            raise RequestValidationError(
                f"{route}: {' and '.join(taken)} {'is' if len(taken) == 1 else 'are'} set by the paginator; "
                "use page_size and max_items instead"
            )
        declared = item_type_of(entry) if item_type is not None else None
        if item_type is not None and not _accepts(item_type, declared):
            raise RequestValidationError(
                f"{entry.method} {entry.path} lists {getattr(declared, '__name__', declared)}, not {item_type.__name__}"
            )
        client.check_operation(entry)
        self._client = client
        self._entry: Operation = entry
        self._list_key: str = entry.list_attr
        self._function: Callable[..., Awaitable[Any]] = module.call
        self._params = params
        self.start = start
        #: Offset where the walk ends because of ``max_items`` (None: no such limit).
        self._end = None if max_items is None else start + max_items
        self.page_size = page_size
        self.max_items = max_items
        self.concurrency = concurrency
        self._walk: Walk | None = None  # the running walk's span and hooks (see _observe)
        # Fail on bad filters before the first request: the same checks and messages as CareCloud.call,
        # except that a misspelt filter is not offered count and offset, which are the paginator's.
        bind_page_arguments(entry, self._function, {"count": page_size, "offset": 0, **params}, PAGINATOR_PARAMETERS)

    def __repr__(self) -> str:
        return (
            f"Paginator({self._entry.method} {self._entry.path}, list_key={self._list_key!r}, "
            f"page_size={self.page_size}, max_items={self.max_items}, concurrency={self.concurrency}"
            + (f", start={self.start})" if self.start else ")")
        )

    async def _fetch(self, offset: int, count: int) -> Page[T]:
        send = self._client.send_call if self._walk is None else self._walk.send
        response = await send(self._function, count=count, offset=offset, **self._params)
        items, total = page_parts(response, self._list_key)
        return Page(items=items, offset=offset, total_items=total, response=response)

    def _count_at(self, offset: int) -> int:
        if self._end is None:
            return self.page_size
        return max(0, min(self.page_size, self._end - offset))

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield the pages in order (each with ``items``, ``offset``, ``total_items``)."""
        async with (
            observed_walk(self._client, self._entry) as self._walk,  # one span for the walk
            contextlib.aclosing(self._pages()) as walking,  # closed (tasks cancelled) when the consumer stops
        ):
            async for page in walking:
                yield page

    async def _pages(self) -> AsyncGenerator[Page[T], None]:
        count = self._count_at(self.start)
        if count == 0:
            return
        first = await self._fetch(self.start, count)
        yield self._trim(first)
        offset = self.start + len(first.items)
        if not should_continue(
            offset=offset,
            received=len(first.items),
            requested=count,
            total_items=first.total_items,
            limit=self._end,
        ):
            return
        if self.concurrency == 1 or first.total_items is None:
            async for page in self._sequential(offset, first.total_items):
                yield page
        else:
            async for page in self._concurrent(offset, first.total_items):
                yield page

    def _trim(self, page: Page[T]) -> Page[T]:
        if self._end is not None and page.offset + len(page.items) > self._end:
            keep = max(0, self._end - page.offset)
            return Page(page.items[:keep], page.offset, page.total_items, page.response)
        return page

    async def _sequential(self, offset: int, total: int | None) -> AsyncIterator[Page[T]]:
        while True:
            count = self._count_at(offset)
            if count == 0:
                return
            page = await self._fetch(offset, count)
            yield self._trim(page)
            offset += len(page.items)
            if not should_continue(
                offset=offset,
                received=len(page.items),
                requested=count,
                total_items=page.total_items,
                limit=self._end,
            ):
                return

    async def _concurrent(self, offset: int, total: int) -> AsyncIterator[Page[T]]:
        # A sliding window of page requests at fixed offsets, awaited in order: item order is
        # kept and no more than `concurrency` pages exist at once (in flight or waiting).
        import asyncio  # already loaded: this runs in an event loop

        window: deque[tuple[int, int, asyncio.Task[Page[T]]]] = deque()
        next_offset = offset

        def limit() -> int:
            return total if self._end is None else min(total, self._end)

        def fill() -> None:
            nonlocal next_offset
            while len(window) < self.concurrency and next_offset < limit():
                count = self._count_at(next_offset)
                if count == 0:
                    return
                window.append((next_offset, count, asyncio.ensure_future(self._fetch(next_offset, count))))
                next_offset += count

        try:
            fill()
            while window:
                page_offset, count, task = window.popleft()
                page = await task
                if page.total_items is not None:
                    total = page.total_items
                yield self._trim(page)
                end = page_offset + len(page.items)
                if len(page.items) < count and end >= limit():
                    return
                if len(page.items) == 0:
                    return
                if len(page.items) < count:
                    # Fewer than asked although more remain: the server caps `count`. Re-plan
                    # from where this page ended, one page at a time.
                    for *_, pending in window:
                        pending.cancel()
                    window.clear()
                    async for rest in self._sequential(end, total):
                        yield rest
                    return
                fill()
        finally:
            for *_, pending in window:
                pending.cancel()
            if window:
                await asyncio.gather(*(t for *_, t in window), return_exceptions=True)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """All items in a list (mind ``max_items`` for long lists)."""
        return [item async for item in self]

    async def first_page(self) -> Page[T]:
        """Only the first page (``total_items`` tells how many there are in all)."""
        count = self._count_at(self.start) or 1
        async with observed_walk(self._client, self._entry) as self._walk:
            return self._trim(await self._fetch(self.start, count))
