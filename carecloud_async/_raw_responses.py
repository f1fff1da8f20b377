"""Raw responses: the status, headers and parsed model of one call together, from one request.

``CareCloud.call_raw`` runs a call like ``CareCloud.call`` and returns a :class:`RawResponse`: the
client's response hook keeps the last response the call received (the operation's own answer,
after any login, 401 replay or retries) in a slot set for that call in a ``ContextVar``.

    raw = await cc.call_raw(get_customer.call, customer_id)
    raw.status_code, raw.request_id, raw.max_age      # 200, 'b7…' or None, 60 or None
    customer = raw.parsed.data                         # typed: GetCustomer200Response
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

__all__ = ["RawResponse", "capturing_response", "max_age_of", "record_response"]

T = TypeVar("T")

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:[,=]|$)", re.IGNORECASE)


def max_age_of(cache_control: str | None) -> int | None:
    """Seconds the answer may be reused according to ``Cache-Control``; None when it says nothing
    usable, 0 for ``no-store`` / ``no-cache``.

    >>> max_age_of("public, max-age=60")
    60
    >>> max_age_of("no-store") , max_age_of(None), max_age_of("max-age=oops")
    (0, None, None)
    """
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class RawResponse(Generic[T]):
    """One call's parsed model with the HTTP answer it came from (``CareCloud.call_raw``).

    ``parsed`` is what ``CareCloud.call`` would have returned; ``http_response`` is the read
    ``httpx.Response`` (its request too: method and URL, with the token in the headers, so do not
    log it whole).

        raw = await cc.call_raw(get_customers.call, count=10)
        print(raw.status_code, raw.headers.get("cache-control"), raw.request_id)
        customers = raw.parsed.data.customers
    """

    parsed: T
    http_response: httpx.Response

    @property
    def status_code(self) -> int:
        """The HTTP status (a 2xx: other statuses raise the usual ``APIError``)."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-Id``, if it sent one (quote it to the vendor's support)."""
        value: str | None = self.http_response.headers.get("x-request-id")
        return value

    @property
    def cache_control(self) -> str | None:
        """The ``Cache-Control`` header, if any."""
        value: str | None = self.http_response.headers.get("cache-control")
        return value

    @property
    def max_age(self) -> int | None:
        """``max-age`` of ``Cache-Control`` in seconds (see :func:`max_age_of`)."""
        return max_age_of(self.cache_control)

    def __repr__(self) -> str:
        return f"RawResponse(status_code={self.status_code}, parsed={type(self.parsed).__name__})"


class _Slot:
    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: httpx.Response | None = None


_slot: ContextVar[_Slot | None] = ContextVar("carecloud_async_raw_response", default=None)


@contextlib.contextmanager
def capturing_response() -> Iterator[_Slot]:
    """Keep the last response received inside the block (by :func:`record_response`) in the slot."""
    slot = _Slot()
    token = _slot.set(slot)
    try:
        yield slot
    finally:
        _slot.reset(token)


def record_response(response: httpx.Response) -> None:
    """The client's response hook: note ``response`` for a ``capturing_response`` block, if any."""
    slot = _slot.get()
    if slot is not None:
        slot.response = response
