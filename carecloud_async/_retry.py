"""Retries as an httpx transport wrapper: 429 and 503, and connections that never carried the request.

``RetryTransport`` wraps the transport that does the I/O. httpx applies auth (and redirects)
*above* the transport, so a retried attempt re-sends the request exactly as auth built it, and
there is one retry layer only: the wrapped transport must not retry on its own (build it with
``httpx.AsyncHTTPTransport(retries=0)``, httpx's default).

What is retried (see ``should_retry``):

- 429 and 503, for every method: the server did not act on the request. A ``Retry-After``
  header (seconds or an HTTP date) sets the wait, up to ``RetryPolicy.max_retry_after``; above
  that, the response is returned at once without waiting, for the caller to raise
  ``RateLimited`` / ``ServiceUnavailable`` with ``retry_after`` set.
- ``ConnectError`` and ``ConnectTimeout``, for every method: nothing was sent. Not a failure no
  retry can fix (``_failures.is_permanent_failure``: a name that does not resolve, a TLS version or
  certificate refused): that is raised at once.
- A dropped connection or a read timeout (``ReadTimeout``, ``ReadError``, ``WriteError``,
  ``RemoteProtocolError``: the server may have acted) only when ``retry_on_read_timeout`` is set,
  and then only for idempotent methods, unless ``retry_unsafe_on_read_timeout`` also allows POST
  and PATCH. Such a request's body is read inside the attempt, so that a connection reset halfway
  through the answer is retried too, not raised later while the caller reads it.

Nothing else is retried; not ``PoolTimeout`` either: the caller has already waited the whole pool
timeout for a connection, and another attempt would make that wait a multiple of it.

Waits use exponential backoff with full jitter. When the attempts run out, the last response
(429/503) is returned unchanged and unread, or the last exception is raised again. A call
cancelled between attempts (a caller's deadline during the backoff) closes the answers it
discarded, so that none keeps its connection.

    transport = RetryTransport(
        httpx.AsyncHTTPTransport(retries=0),
        RetryPolicy(max_attempts=5, max_retry_after=30),
    )
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        response = await client.get(url)
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from ._errors import ConfigurationError, parse_retry_after, redact_url
from ._event_loops import sleep as asyncio_sleep
from ._failures import is_permanent_failure
from ._network import network_reason
from ._observe import note_retry

if TYPE_CHECKING:  # tenacity is imported by the first retry: a call that needs none never loads it
    import tenacity

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_POLICY_EXTENSION",
    "RETRY_STATUSES",
    "RetryPolicy",
    "RetryTransport",
    "backoff_delay",
    "retry_delay",
    "should_retry",
]

logger = logging.getLogger("carecloud_async.retry")

#: A request extension holding a ``RetryPolicy`` for that request only (per-call options).
RETRY_POLICY_EXTENSION = "carecloud_async.retry_policy"

#: Statuses the server answers without acting on the request: safe to retry for any method.
RETRY_STATUSES: frozenset[int] = frozenset({429, 503})

#: Methods that may be sent twice with the effect of once (RFC 9110, section 9.2.2).
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# The request never left this machine: retrying cannot apply it twice. (PoolTimeout did not send
# either, but it already took the caller's whole pool timeout: not retried, see the module docs.)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
# The request may have reached the server, which may have acted on it: a read timeout or a
# connection dropped while sending or reading (a reset, a close before the answer).
_MAYBE_SENT = (httpx.ReadTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

# What should_retry may accept at all (it decides with the policy); anything else is raised as is.
_RETRIABLE_ERRORS = (*_NOT_SENT, *_MAYBE_SENT)

# Past this many doublings every wait is the cap anyway; stops 2.0**n from overflowing.
_MAX_DOUBLINGS = 64


@dataclass(frozen=True)
class RetryPolicy:
    """How ``RetryTransport`` retries.

    ``max_attempts`` counts every attempt, the first included: 1 turns retries off.
    The wait before retry ``n`` (0 for the first retry) is drawn uniformly from
    ``[0, min(backoff_cap, backoff_base * 2**n)]`` (full jitter), unless the server sent
    ``Retry-After``: that wait is used as is, up to ``max_retry_after`` seconds; a longer one
    stops the retries at once. ``retry_on_read_timeout`` opts in to retrying read timeouts and
    dropped connections (``ReadError``, ``WriteError``, ``RemoteProtocolError``; also halfway
    through the answer's body) for idempotent methods; ``retry_unsafe_on_read_timeout`` (which
    needs it) extends that to POST and PATCH, which may then run twice on the server.

        RetryPolicy()                                  # 4 attempts, waits of 0.5 s doubling to 8 s
        RetryPolicy(max_attempts=6, backoff_cap=20.0)
        RetryPolicy(retry_on_read_timeout=True)        # GET/PUT/DELETE/... after a read timeout too
        RetryPolicy.disabled()                         # one attempt, no retries
    """

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0
    retry_on_read_timeout: bool = False
    retry_unsafe_on_read_timeout: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ConfigurationError(f"max_attempts must be an int, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1 (1 = no retries), got {self.max_attempts}")
        for name in ("backoff_base", "backoff_cap", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        if self.backoff_cap < self.backoff_base:
            raise ConfigurationError(
                f"backoff_cap ({self.backoff_cap}) must not be below backoff_base ({self.backoff_base})"
            )
        for name in ("retry_on_read_timeout", "retry_unsafe_on_read_timeout"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.retry_unsafe_on_read_timeout and not self.retry_on_read_timeout:
            raise ConfigurationError("retry_unsafe_on_read_timeout=True needs retry_on_read_timeout=True")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries: one attempt, the outcome passed through.

        >>> RetryPolicy.disabled().enabled
        False
        """
        return cls(max_attempts=1)

    @property
    def enabled(self) -> bool:
        """Whether this policy can retry at all (``max_attempts > 1``)."""
        return self.max_attempts > 1


def _retry_after(response: httpx.Response, now: float | None) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"), now=now)


def should_retry(
    method: str,
    outcome: httpx.Response | BaseException,
    policy: RetryPolicy,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``outcome`` (a response or a raised exception) of a ``method`` request may be retried.

    Ignores how many attempts were made (the caller counts them). ``now`` (epoch seconds,
    default the current time) is used to read a ``Retry-After`` given as an HTTP date.

    >>> should_retry("POST", httpx.ConnectError("refused"), RetryPolicy())
    True
    >>> should_retry("POST", httpx.ReadTimeout("slow"), RetryPolicy(retry_on_read_timeout=True))
    False
    >>> should_retry("GET", httpx.ReadError("reset"), RetryPolicy(retry_on_read_timeout=True))
    True
    """
    if isinstance(outcome, httpx.Response):
        if outcome.status_code not in RETRY_STATUSES:
            return False
        # The server asked for a longer pause than we are willing to wait: hand the answer back.
        retry_after = _retry_after(outcome, now)
        return retry_after is None or retry_after <= policy.max_retry_after
    if isinstance(outcome, _NOT_SENT):
        # ...unless it will fail the same way again (a name that does not exist, a certificate refused).
        return not is_permanent_failure(outcome)
    if isinstance(outcome, _MAYBE_SENT):
        if not policy.retry_on_read_timeout:
            return False
        return method.upper() in IDEMPOTENT_METHODS or policy.retry_unsafe_on_read_timeout
    return False


def backoff_delay(attempt: int, policy: RetryPolicy, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry ``attempt`` (0 for the first retry), with full jitter.

    Uniform in ``[0, min(policy.backoff_cap, policy.backoff_base * 2**attempt)]``; ``rand``
    returns a float in ``[0, 1)`` (inject a seeded or fixed one in tests).

    >>> backoff_delay(2, RetryPolicy(backoff_base=0.5), rand=lambda: 0.5)
    1.0
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    ceiling = policy.backoff_cap
    if attempt < _MAX_DOUBLINGS:
        ceiling = min(ceiling, policy.backoff_base * 2.0**attempt)
    return ceiling * min(1.0, max(0.0, rand()))


def retry_delay(
    outcome: httpx.Response | BaseException,
    attempt: int,
    policy: RetryPolicy,
    *,
    rand: Callable[[], float] = random.random,
    now: float | None = None,
) -> float:
    """Seconds to wait before retrying ``outcome``, for an outcome ``should_retry`` accepted.

    A response's ``Retry-After`` wins over backoff (capped at ``policy.max_retry_after``);
    otherwise ``backoff_delay(attempt, ...)``.

    >>> retry_delay(httpx.Response(429, headers={"Retry-After": "2"}), 0, RetryPolicy())
    2.0
    """
    if isinstance(outcome, httpx.Response):
        retry_after = _retry_after(outcome, now)
        if retry_after is not None:
            return min(retry_after, policy.max_retry_after)
    return backoff_delay(attempt, policy, rand=rand)


def _reads_in_attempt(method: str, policy: RetryPolicy) -> bool:
    # Whether a connection dropped while reading this request's answer may be retried: then the
    # body is read inside the attempt, where a drop is an outcome the retry loop sees.
    return policy.retry_on_read_timeout and (
        method.upper() in IDEMPOTENT_METHODS or policy.retry_unsafe_on_read_timeout
    )


async def _read_body(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """``response`` with its body read now, as it came (still encoded), its connection released."""
    stream = response.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    try:
        body = b"".join([part async for part in stream])
    finally:
        await response.aclose()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(body),
        extensions=response.extensions,
        request=request,
    )


async def _close_all(outcomes: list[httpx.Response | Exception]) -> None:
    """Close every response of ``outcomes``, even if one close is interrupted (then raised after)."""
    interrupted: BaseException | None = None
    while outcomes:
        outcome = outcomes.pop()
        if isinstance(outcome, httpx.Response):
            try:
                await outcome.aclose()
            except BaseException as exc:  # a second cancellation: close the rest first
                interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def _reason(outcome: httpx.Response | BaseException) -> str:
    # A status or an exception class only: an exception's text may quote the request.
    if isinstance(outcome, httpx.Response):
        return f"status {outcome.status_code}"
    reason = network_reason(outcome)  # the OS's words ("Connection refused"): no request in them
    return f"{type(outcome).__name__}: {reason}" if reason else type(outcome).__name__


def _outcome(state: tenacity.RetryCallState) -> httpx.Response | BaseException:
    assert state.outcome is not None
    if state.outcome.failed:
        exception = state.outcome.exception()
        assert exception is not None
        return exception
    response: httpx.Response = state.outcome.result()
    return response


def _last_outcome(state: tenacity.RetryCallState) -> httpx.Response:
    # Attempts exhausted: the last response as it came, or the last exception raised again.
    assert state.outcome is not None
    response: httpx.Response = state.outcome.result()
    return response


class RetryTransport(httpx.AsyncBaseTransport):
    """An async transport that retries another one according to a ``RetryPolicy``.

    Place it under the client (``httpx.AsyncClient(transport=RetryTransport(...))``): auth and
    redirects run above it. The wrapped transport must have its own retries off
    (``httpx.AsyncHTTPTransport(retries=0)``). A request body is read into memory before the
    first attempt so that it can be sent again. A response that will be retried is closed
    before the wait; the response finally returned is untouched. ``aclose()`` closes the
    wrapped transport.

    ``sleep`` (an async function, default ``asyncio.sleep``), ``rand`` (``[0, 1)`` floats,
    default ``random.random``) and ``clock`` (epoch seconds for ``Retry-After`` dates, default
    ``time.time``) can be replaced in tests.

        transport = RetryTransport(httpx.AsyncHTTPTransport(retries=0), RetryPolicy(max_attempts=3))
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get("https://example.test/ping")
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio_sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self._policy = policy if policy is not None else RetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self._clock = clock

    @property
    def policy(self) -> RetryPolicy:
        """The policy this transport applies."""
        return self._policy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the wrapped transport, retrying as the policy allows (the
        request's own, in its ``RETRY_POLICY_EXTENSION`` extension, or the transport's)."""
        policy = request.extensions.get(RETRY_POLICY_EXTENSION, self._policy)
        if not isinstance(policy, RetryPolicy):
            policy = self._policy
        if not policy.enabled:
            return await self._transport.handle_async_request(request)
        # A streamed body can be iterated once only; buffered, it can be sent again.
        await request.aread()
        reads = _reads_in_attempt(request.method, policy)
        # The first attempt runs outside tenacity (building a retry loop costs more than a whole
        # call's own work): only an outcome that should_retry may accept goes on to the loop, which
        # takes it as its first attempt. Any other outcome is what the loop would pass through.
        try:
            response = await self._attempt(request, reads)
        except _RETRIABLE_ERRORS as exc:
            first: httpx.Response | Exception = exc
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            first = response
        return await self._retry(request, policy, first, reads)

    async def _attempt(self, request: httpx.Request, reads: bool) -> httpx.Response:
        """One attempt; with ``reads``, the answer's body (unless 429/503) is read in it."""
        response = await self._transport.handle_async_request(request)
        if reads and response.status_code not in RETRY_STATUSES:
            return await _read_body(request, response)
        return response

    async def _retry(
        self, request: httpx.Request, policy: RetryPolicy, first: httpx.Response | Exception, reads: bool
    ) -> httpx.Response:
        """The retry loop, ``first`` being the outcome of the attempt already made."""
        import tenacity  # here, not at the top: most calls never retry, and tenacity costs ~6 ms to import

        method = request.method
        made = [first]  # handed to tenacity as attempt 1 instead of sending again

        async def send(request: httpx.Request) -> httpx.Response:
            if made:
                outcome = made.pop()
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
            return await self._attempt(request, reads)

        # Responses to close before the next wait; per call, since calls run concurrently.
        discarded: list[httpx.Response | Exception] = []

        def retry(state: tenacity.RetryCallState) -> bool:
            return should_retry(method, _outcome(state), policy, now=self._clock())

        def wait(state: tenacity.RetryCallState) -> float:
            attempt = state.attempt_number - 1
            return retry_delay(_outcome(state), attempt, policy, rand=self._rand, now=self._clock())

        def before_sleep(state: tenacity.RetryCallState) -> None:
            assert state.next_action is not None
            outcome = _outcome(state)
            if isinstance(outcome, httpx.Response):
                discarded.append(outcome)
            logger.warning(
                "Retrying %s %s after attempt %d/%d failed (%s); waiting %.2f s",
                method,
                redact_url(request.url),
                state.attempt_number,
                policy.max_attempts,
                _reason(outcome),
                state.next_action.sleep,
            )
            note_retry(state.attempt_number, outcome, _reason(outcome), state.next_action.sleep)  # hooks, span event

        async def pause(seconds: float) -> None:
            # Closing here rather than in before_sleep: tenacity < 8.4 does not await async
            # callbacks, but always awaits sleep, which runs after before_sleep.
            await _close_all(discarded)
            await self._sleep(seconds)

        retrying = tenacity.AsyncRetrying(
            sleep=pause,
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=wait,
            retry=retry,
            before_sleep=before_sleep,
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(send, request)
        except BaseException:
            # Cancelled (a caller's deadline during the backoff) or failed: an answer not handed on
            # still holds its connection.
            await _close_all(discarded + made)
            raise
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()
