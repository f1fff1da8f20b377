"""The transport stack of a :class:`~carecloud_async.CareCloud` client, below auth.

    auth → dedupe → cache → retries → rate limit → network

- Auth stays on top (an ``httpx.Auth`` of the client), so the cache and dedupe see each request
  with the identity it is sent as, and a 401 replay goes down the same stack.
- Dedupe above the cache: concurrent identical GETs make one cache lookup and, on a miss, one
  request and one stored entry.
- Retries below the cache: only the final answer of a retried request can be stored.
- The rate limit at the bottom: every attempt that reaches the network, retries included,
  takes a slot; cache hits and merged GETs take none.

Each layer is there only when switched on; with nothing on, the stack is what it always was
(retries over the network transport).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._identity import IdentityOf
from ._ratelimit import RateBudget, RateLimitTransport
from ._retry import RetryPolicy, RetryTransport

if TYPE_CHECKING:
    from ._cache import HTTPCache

__all__ = ["build_stack"]


def build_stack(
    network: httpx.AsyncBaseTransport,
    *,
    retry: RetryPolicy,
    identity: IdentityOf,
    cache: HTTPCache | None = None,
    dedupe: bool = False,
    rate_budget: RateBudget | None = None,
) -> httpx.AsyncBaseTransport:
    """The transport a client sends through (see the module docs for the order).

    transport = build_stack(httpx.AsyncHTTPTransport(retries=0), retry=RetryPolicy(), identity=auth.identity,
                            cache=HTTPCache(), dedupe=True, rate_budget=LocalRateBudget(20))
    """
    transport: httpx.AsyncBaseTransport = network
    if rate_budget is not None:
        transport = RateLimitTransport(transport, rate_budget)
    transport = RetryTransport(transport, retry)
    if cache is not None:
        from ._cache import CacheTransport

        transport = CacheTransport(transport, cache, identity=identity)
    if dedupe:
        from ._dedupe import DedupeTransport

        transport = DedupeTransport(transport, identity=identity)
    return transport
