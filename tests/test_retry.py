"""Tests for carecloud_async._retry: pure decisions first, then scripted transports (no network)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from carecloud_async._errors import (
    ConfigurationError,
    RateLimited,
    ServiceUnavailable,
    error_from_response,
)
from carecloud_async._retry import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    RetryPolicy,
    RetryTransport,
    backoff_delay,
    retry_delay,
    should_retry,
)

BASE = "https://p.example/webservice/rest-api/enterprise-interface/v1.0"
NOW = 1_800_000_000.0  # a fixed "current time" for Retry-After dates
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH")
UNSAFE_METHODS = ("POST", "PATCH")


# --- fakes ------------------------------------------------------------------------------------


class FakeSleep:
    """Records the waits instead of sleeping; optionally records them into a shared event log."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.calls: list[float] = []
        self.events = events

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.events is not None:
            self.events.append(f"sleep {seconds:g}")


class RecordingStream(httpx.AsyncByteStream):
    """A response body that records whether it was closed."""

    def __init__(self, name: str, body: bytes = b"", events: list[str] | None = None) -> None:
        self.name = name
        self.body = body
        self.closed = False
        self.events = events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body

    async def aclose(self) -> None:
        self.closed = True
        if self.events is not None:
            self.events.append(f"close {self.name}")


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler answering each call with the next scripted step."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.content)
        if not self.steps:
            raise AssertionError("more requests than scripted steps")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


def retrying(
    script: Script,
    policy: RetryPolicy | None = None,
    *,
    sleep: FakeSleep | None = None,
    rand: Callable[[], float] = lambda: 0.5,
) -> tuple[RetryTransport, FakeSleep]:
    fake_sleep = sleep if sleep is not None else FakeSleep()
    transport = RetryTransport(httpx.MockTransport(script), policy, sleep=fake_sleep, rand=rand, clock=lambda: NOW)
    return transport, fake_sleep


def seeded(seed: int) -> Callable[[], float]:
    """A reproducible [0, 1) source for jitter (not for anything secret)."""
    return random.Random(seed).random  # noqa: S311


def http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, tz=timezone.utc), usegmt=True)


# --- RetryPolicy --------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_base, policy.backoff_cap, policy.max_retry_after) == (
        4,
        0.5,
        8.0,
        60.0,
    )
    assert policy.retry_on_read_timeout is False
    assert policy.retry_unsafe_on_read_timeout is False
    assert policy.enabled is True


def test_policy_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 2  # type: ignore[misc]


def test_policy_disabled() -> None:
    assert RetryPolicy.disabled().max_attempts == 1
    assert RetryPolicy.disabled().enabled is False
    assert RetryPolicy(max_attempts=1).enabled is False
    assert RetryPolicy(max_attempts=2).enabled is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"max_attempts": -3}, "max_attempts must be at least 1"),
        ({"max_attempts": 2.5}, "max_attempts must be an int"),
        ({"max_attempts": True}, "max_attempts must be an int"),
        ({"backoff_base": -0.1}, "backoff_base must be a finite number"),
        ({"backoff_base": float("nan")}, "backoff_base must be a finite number"),
        ({"backoff_cap": float("inf")}, "backoff_cap must be a finite number"),
        ({"backoff_base": "1"}, "backoff_base must be a number"),
        ({"backoff_base": 2.0, "backoff_cap": 1.0}, "backoff_cap (1.0) must not be below backoff_base (2.0)"),
        ({"max_retry_after": -1}, "max_retry_after must be a finite number"),
        ({"max_retry_after": float("inf")}, "max_retry_after must be a finite number"),
        ({"retry_on_read_timeout": "yes"}, "retry_on_read_timeout must be a bool"),
        ({"retry_unsafe_on_read_timeout": True}, "needs retry_on_read_timeout=True"),
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        RetryPolicy(**kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_policy_accepts_edge_values() -> None:
    policy = RetryPolicy(
        max_attempts=1,
        backoff_base=0,
        backoff_cap=0,
        max_retry_after=0,
        retry_on_read_timeout=True,
        retry_unsafe_on_read_timeout=True,
    )
    assert policy.backoff_cap == 0
    assert policy.retry_unsafe_on_read_timeout is True


# --- backoff_delay ------------------------------------------------------------------------------


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    ceilings = [backoff_delay(n, policy, rand=lambda: 1.0) for n in range(8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_backoff_is_full_jitter_from_zero() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    assert backoff_delay(3, policy, rand=lambda: 0.0) == 0.0
    assert backoff_delay(3, policy, rand=lambda: 0.25) == 1.0
    assert backoff_delay(10, policy, rand=lambda: 0.5) == 4.0


def test_backoff_with_seeded_random_stays_in_bounds_and_spreads() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    source = seeded(20260819)
    for attempt in range(8):
        ceiling = min(8.0, 0.5 * 2**attempt)
        draws = [backoff_delay(attempt, policy, rand=source) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter uses the whole range, not just its upper half (as "equal jitter" would).
        assert min(draws) < ceiling * 0.1
        assert max(draws) > ceiling * 0.9


def test_backoff_same_seed_same_waits() -> None:
    policy = RetryPolicy()
    first, second = seeded(7), seeded(7)
    waits = [backoff_delay(n, policy, rand=first) for n in range(6)]
    assert waits == [backoff_delay(n, policy, rand=second) for n in range(6)]
    assert len(set(waits)) == 6


def test_backoff_huge_attempt_does_not_overflow() -> None:
    assert backoff_delay(5000, RetryPolicy(backoff_cap=8.0), rand=lambda: 1.0) == 8.0


def test_backoff_clamps_a_bad_random_source() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=1.0)
    assert backoff_delay(0, policy, rand=lambda: 5.0) == 1.0
    assert backoff_delay(0, policy, rand=lambda: -1.0) == 0.0


def test_backoff_rejects_negative_attempt() -> None:
    with pytest.raises(ValueError, match="attempt must be >= 0"):
        backoff_delay(-1, RetryPolicy())


# --- should_retry -------------------------------------------------------------------------------


def test_constants() -> None:
    assert frozenset({429, 503}) == RETRY_STATUSES
    assert frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) == IDEMPOTENT_METHODS


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("status", [429, 503])
def test_retry_statuses_for_every_method(method: str, status: int) -> None:
    assert should_retry(method, httpx.Response(status), RetryPolicy()) is True


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 405, 408, 409, 500, 502, 504])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert should_retry("GET", httpx.Response(status), RetryPolicy()) is False
    assert should_retry("GET", httpx.Response(status, headers={"Retry-After": "1"}), RetryPolicy()) is False


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout])
def test_unsent_request_errors_are_retried_for_every_method(method: str, exc_type: type[httpx.TransportError]) -> None:
    assert should_retry(method, exc_type("no connection"), RetryPolicy()) is True


@pytest.mark.parametrize("method", ALL_METHODS)
def test_a_pool_timeout_is_not_retried(method: str) -> None:
    # The caller already waited the whole pool timeout: a retry would wait it again (DESIGN 8).
    everything = RetryPolicy(retry_on_read_timeout=True, retry_unsafe_on_read_timeout=True)
    assert should_retry(method, httpx.PoolTimeout("pool full"), everything) is False


MAYBE_SENT = [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError]


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("exc_type", MAYBE_SENT)
def test_maybe_sent_errors_are_not_retried_by_default(method: str, exc_type: type[httpx.TransportError]) -> None:
    assert should_retry(method, exc_type("lost"), RetryPolicy()) is False


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get", "delete"])
@pytest.mark.parametrize("exc_type", MAYBE_SENT)
def test_maybe_sent_errors_retried_for_idempotent_methods_when_opted_in(
    method: str, exc_type: type[httpx.TransportError]
) -> None:
    assert should_retry(method, exc_type("lost"), RetryPolicy(retry_on_read_timeout=True)) is True


@pytest.mark.parametrize("method", UNSAFE_METHODS)
@pytest.mark.parametrize("exc_type", MAYBE_SENT)
def test_maybe_sent_errors_on_unsafe_methods_need_the_unsafe_flag(
    method: str, exc_type: type[httpx.TransportError]
) -> None:
    assert should_retry(method, exc_type("lost"), RetryPolicy(retry_on_read_timeout=True)) is False
    unsafe = RetryPolicy(retry_on_read_timeout=True, retry_unsafe_on_read_timeout=True)
    assert should_retry(method, exc_type("lost"), unsafe) is True


@pytest.mark.parametrize(
    "exc",
    [
        httpx.PoolTimeout("pool full"),
        httpx.WriteTimeout("slow upload"),
        httpx.LocalProtocolError("bad request"),
        httpx.UnsupportedProtocol("ftp"),
        httpx.DecodingError("gzip"),
        ValueError("bug"),
        asyncio.CancelledError(),
        KeyboardInterrupt(),
    ],
)
def test_nothing_else_is_retried(exc: BaseException) -> None:
    everything = RetryPolicy(retry_on_read_timeout=True, retry_unsafe_on_read_timeout=True)
    assert should_retry("GET", exc, everything) is False


def test_retry_after_within_the_cap_is_retried() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert should_retry("POST", httpx.Response(429, headers={"Retry-After": "60"}), policy) is True
    in_59_s = http_date(NOW + 59)
    assert should_retry("GET", httpx.Response(503, headers={"Retry-After": in_59_s}), policy, now=NOW) is True


def test_retry_after_above_the_cap_is_not_retried() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert should_retry("GET", httpx.Response(429, headers={"Retry-After": "61"}), policy) is False
    in_2_min = http_date(NOW + 120)
    assert should_retry("GET", httpx.Response(503, headers={"Retry-After": in_2_min}), policy, now=NOW) is False


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    response = httpx.Response(503, headers={"Retry-After": "soon"})
    assert should_retry("GET", response, RetryPolicy()) is True
    assert retry_delay(response, 2, RetryPolicy(), rand=lambda: 0.5) == 1.0


# --- retry_delay --------------------------------------------------------------------------------


def test_retry_after_seconds_wins_over_backoff() -> None:
    response = httpx.Response(429, headers={"Retry-After": "2"})
    assert retry_delay(response, 0, RetryPolicy(), rand=lambda: 0.0) == 2.0
    assert retry_delay(response, 5, RetryPolicy(), rand=lambda: 1.0) == 2.0


def test_retry_after_http_date() -> None:
    response = httpx.Response(503, headers={"Retry-After": http_date(NOW + 7)})
    assert retry_delay(response, 0, RetryPolicy(), now=NOW) == 7.0


def test_retry_after_in_the_past_means_now() -> None:
    response = httpx.Response(503, headers={"Retry-After": http_date(NOW - 30)})
    assert retry_delay(response, 0, RetryPolicy(), now=NOW) == 0.0


def test_retry_delay_never_exceeds_max_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "600"})
    assert retry_delay(response, 0, RetryPolicy(max_retry_after=30)) == 30.0


def test_retry_delay_for_exceptions_and_bare_statuses_is_backoff() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    assert retry_delay(httpx.ConnectError("refused"), 2, policy, rand=lambda: 0.5) == 1.0
    assert retry_delay(httpx.Response(503), 1, policy, rand=lambda: 0.5) == 0.5


# --- RetryTransport through httpx.AsyncClient -----------------------------------------------------


async def test_503_503_200_succeeds_after_exactly_two_waits() -> None:
    script = Script([httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"data": {"ok": 1}})])
    transport, sleep = retrying(script, rand=lambda: 0.5)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.status_code == 200
    assert response.json() == {"data": {"ok": 1}}
    assert script.calls == 3
    # Full jitter with rand=0.5: half of 0.5 s, then half of 1 s.
    assert sleep.calls == [0.25, 0.5]


async def test_429_with_retry_after_seconds_waits_exactly_that() -> None:
    script = Script([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)])
    transport, sleep = retrying(script, rand=lambda: 0.99)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post("/events", json={"external_id": "e-1"})
    assert response.status_code == 200
    assert sleep.calls == [2.0]
    assert script.calls == 2


async def test_retry_after_as_http_date() -> None:
    script = Script([httpx.Response(503, headers={"Retry-After": http_date(NOW + 3)}), httpx.Response(204)])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.delete("/customers/c1")
    assert response.status_code == 204
    assert sleep.calls == [3.0]


async def test_retry_after_above_the_cap_returns_at_once_as_rate_limited() -> None:
    script = Script([httpx.Response(429, headers={"Retry-After": "120"}, text="slow down")])
    transport, sleep = retrying(script, RetryPolicy(max_retry_after=60))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers", params={"count": 10})
    assert script.calls == 1
    assert sleep.calls == []
    assert response.status_code == 429
    assert response.text == "slow down"
    error = error_from_response(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 120.0
    assert error.url == f"{BASE}/customers"


async def test_exhausted_503_returns_last_response_as_service_unavailable() -> None:
    script = Script([httpx.Response(503, text=f"busy {n}") for n in range(1, 4)])
    transport, sleep = retrying(script, RetryPolicy(max_attempts=3))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert script.calls == 3
    assert len(sleep.calls) == 2
    assert response.status_code == 503
    assert response.text == "busy 3"  # the last one, readable
    error = error_from_response(response)
    assert isinstance(error, ServiceUnavailable)
    assert error.response is response
    assert error.status_code == 503


async def test_post_read_timeout_is_not_retried_even_when_opted_in() -> None:
    for policy in (RetryPolicy(), RetryPolicy(retry_on_read_timeout=True)):
        script = Script([httpx.ReadTimeout("slow"), httpx.Response(200)])
        transport, sleep = retrying(script, policy)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/purchases/actions/send-purchase", json={"bill": {"bill_id": "b1"}})
        assert script.calls == 1
        assert sleep.calls == []


async def test_post_read_timeout_is_retried_with_the_unsafe_flag() -> None:
    script = Script([httpx.ReadTimeout("slow"), httpx.Response(201)])
    policy = RetryPolicy(retry_on_read_timeout=True, retry_unsafe_on_read_timeout=True)
    transport, sleep = retrying(script, policy)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post("/purchases/actions/send-purchase", json={"bill": {"bill_id": "b1"}})
    assert response.status_code == 201
    assert script.calls == 2
    assert script.bodies[0] == script.bodies[1] == b'{"bill":{"bill_id":"b1"}}'
    assert len(sleep.calls) == 1


async def test_get_read_timeout_is_not_retried_by_default() -> None:
    script = Script([httpx.ReadTimeout("slow"), httpx.Response(200)])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/customers")
    assert script.calls == 1
    assert sleep.calls == []


async def test_get_read_timeout_is_retried_when_opted_in() -> None:
    script = Script([httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.Response(200)])
    transport, sleep = retrying(script, RetryPolicy(retry_on_read_timeout=True))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.status_code == 200
    assert script.calls == 3
    assert sleep.calls == [0.25, 0.5]


async def test_connect_error_is_retried_for_post() -> None:
    script = Script([httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(201)])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post("/events", json={"external_id": "e-1"})
    assert response.status_code == 201
    assert script.calls == 3
    assert len(sleep.calls) == 2


async def test_exhausted_connect_errors_reraise_the_last_one() -> None:
    script = Script([httpx.ConnectError("first"), httpx.ConnectTimeout("second"), httpx.ConnectError("third")])
    transport, sleep = retrying(script, RetryPolicy(max_attempts=3))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.ConnectError, match="third"):
            await client.get("/customers")
    assert script.calls == 3
    assert len(sleep.calls) == 2


async def test_non_retryable_status_is_returned_at_once() -> None:
    script = Script([httpx.Response(500, text="boom")])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.status_code == 500
    assert response.text == "boom"
    assert script.calls == 1
    assert sleep.calls == []


async def test_an_error_outside_the_retry_rules_comes_out_as_raised_after_one_attempt() -> None:
    bug = RuntimeError("a bug in a transport")
    script = Script([bug, httpx.Response(200)])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(RuntimeError) as raised:
            await client.get("/customers")
    assert raised.value is bug
    assert script.calls == 1
    assert sleep.calls == []


async def test_a_retried_first_attempt_is_not_sent_again_and_counts_as_attempt_one() -> None:
    script = Script([httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(503)])
    transport, sleep = retrying(script, RetryPolicy(max_attempts=3), rand=lambda: 0.5)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.status_code == 503
    assert script.calls == 3  # attempts 1, 2 and 3: the first one was sent once
    assert sleep.calls == [0.25, 0.5]  # backoff of retries 0 and 1


@pytest.mark.parametrize("policy", [RetryPolicy(max_attempts=1), RetryPolicy.disabled()])
async def test_max_attempts_1_disables_retries(policy: RetryPolicy) -> None:
    script = Script([httpx.Response(503), httpx.Response(200)])
    transport, sleep = retrying(script, policy)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.status_code == 503
    assert script.calls == 1
    assert sleep.calls == []

    script = Script([httpx.ConnectError("refused"), httpx.Response(200)])
    transport, sleep = retrying(script, policy)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/customers")
    assert script.calls == 1


class StreamReadingTransport(httpx.AsyncBaseTransport):
    """Reads the request body from ``request.stream`` as a real connection does (no buffering)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        self.bodies.append(b"".join([chunk async for chunk in request.stream]))
        return httpx.Response(self.statuses.pop(0))


async def test_streamed_request_body_is_sent_again_in_full() -> None:
    async def upload() -> AsyncIterator[bytes]:
        yield b'{"products": '
        yield b"[1, 2]}"

    inner = StreamReadingTransport([503, 204])
    transport = RetryTransport(inner, sleep=FakeSleep())
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post("/products/actions/batch", content=upload())
    assert response.status_code == 204
    assert inner.bodies == [b'{"products": [1, 2]}', b'{"products": [1, 2]}']


# --- pool timeouts and dropped connections (DESIGN section 8) -----------------------------------


async def test_a_pool_timeout_is_raised_after_one_attempt() -> None:
    script = Script([httpx.PoolTimeout("pool full"), httpx.Response(200)])
    transport, sleep = retrying(script, RetryPolicy(max_attempts=4))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/customers")
    assert script.calls == 1
    assert sleep.calls == []


class BrokenStream(httpx.AsyncByteStream):
    """A body that breaks off halfway, as a connection reset by the server does."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": {"cust'
        raise httpx.ReadError("[Errno 104] Connection reset by peer")

    async def aclose(self) -> None:
        self.closed = True


async def test_a_get_reset_halfway_through_the_body_is_retried_when_opted_in() -> None:
    broken = BrokenStream()
    script = Script([httpx.Response(200, stream=broken), httpx.Response(200, json={"data": {"customers": []}})])
    transport, sleep = retrying(script, RetryPolicy(retry_on_read_timeout=True))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.json() == {"data": {"customers": []}}
    assert script.calls == 2
    assert len(sleep.calls) == 1
    assert broken.closed


async def test_a_reset_before_the_answer_is_retried_for_a_get_when_opted_in() -> None:
    script = Script([httpx.ReadError("reset"), httpx.WriteError("broken pipe"), httpx.Response(200)])
    transport, _ = retrying(script, RetryPolicy(retry_on_read_timeout=True))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        assert (await client.get("/customers")).status_code == 200
    assert script.calls == 3


@pytest.mark.parametrize(
    ("method", "policy"),
    [("GET", RetryPolicy()), ("POST", RetryPolicy(retry_on_read_timeout=True))],
)
async def test_a_reset_halfway_through_the_body_is_raised_unless_covered(method: str, policy: RetryPolicy) -> None:
    # Not opted in, or a POST without retry_unsafe_on_read_timeout: the body streams through as it
    # comes, and the reset reaches the caller that reads it.
    script = Script([httpx.Response(200, stream=BrokenStream()), httpx.Response(200)])
    transport, sleep = retrying(script, policy)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(httpx.ReadError):
            await client.request(method, "/customers")
    assert script.calls == 1
    assert sleep.calls == []


async def test_an_answer_read_in_the_attempt_keeps_its_encoding_for_the_caller() -> None:
    import gzip

    body = gzip.compress(b'{"data": {"ok": true}}')
    script = Script([httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})])
    transport, _ = retrying(script, RetryPolicy(retry_on_read_timeout=True))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("/customers")
    assert response.json() == {"data": {"ok": True}}


async def test_closing_discarded_answers_goes_on_past_an_interrupted_close() -> None:
    from carecloud_async._retry import _close_all

    class InterruptedStream(RecordingStream):
        async def aclose(self) -> None:
            await super().aclose()
            raise asyncio.CancelledError

    first, second = InterruptedStream("first"), RecordingStream("second")
    outcomes: list[httpx.Response | Exception] = [httpx.Response(503, stream=second), httpx.Response(503, stream=first)]
    with pytest.raises(asyncio.CancelledError):
        await _close_all(outcomes)
    assert first.closed
    assert second.closed
    assert outcomes == []


# --- closing discarded responses ---------------------------------------------------------------


async def test_discarded_responses_are_closed_before_the_wait() -> None:
    events: list[str] = []
    streams = [RecordingStream(name, body=name.encode(), events=events) for name in ("r1", "r2", "r3")]
    script = Script(
        [
            httpx.Response(503, stream=streams[0]),
            httpx.Response(429, stream=streams[1]),
            httpx.Response(200, stream=streams[2]),
        ]
    )
    transport, _ = retrying(script, sleep=FakeSleep(events), rand=lambda: 1.0)
    request = httpx.Request("GET", f"{BASE}/customers")
    response = await transport.handle_async_request(request)

    assert response.stream is streams[2]
    assert [s.closed for s in streams] == [True, True, False]  # the returned one is left open
    assert events == ["close r1", "sleep 0.5", "close r2", "sleep 1"]
    assert await response.aread() == b"r3"


async def test_returned_response_is_not_closed_when_attempts_run_out() -> None:
    streams = [RecordingStream(f"r{n}", body=b"busy") for n in range(2)]
    script = Script([httpx.Response(503, stream=s) for s in streams])
    transport, _ = retrying(script, RetryPolicy(max_attempts=2))
    response = await transport.handle_async_request(httpx.Request("GET", f"{BASE}/customers"))
    assert response.status_code == 503
    assert [s.closed for s in streams] == [True, False]
    assert await response.aread() == b"busy"


async def test_concurrent_requests_keep_their_own_state() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=request.url.path)

    script = Script([httpx.Response(503), httpx.Response(503), answer, answer])
    transport, sleep = retrying(script)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        first, second = await asyncio.gather(client.get("/customers"), client.get("/cards"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.text.endswith("/customers")
    assert second.text.endswith("/cards")
    assert script.calls == 4
    assert len(sleep.calls) == 2


# --- aclose -----------------------------------------------------------------------------------


class ClosingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.closed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async def aclose(self) -> None:
        self.closed += 1


async def test_aclose_closes_the_wrapped_transport() -> None:
    inner = ClosingTransport()
    transport = RetryTransport(inner)
    assert transport.policy == RetryPolicy()
    await transport.aclose()
    assert inner.closed == 1

    inner = ClosingTransport()
    async with httpx.AsyncClient(transport=RetryTransport(inner)) as client:
        assert (await client.get("https://p.example/")).status_code == 200
    assert inner.closed == 1


# --- logging ----------------------------------------------------------------------------------


async def test_each_retry_is_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    customer_base = "https://p.example/webservice/rest-api/customer-interface/v1.0"
    script = Script([httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(200)])
    transport, _ = retrying(script, rand=lambda: 0.5)
    caplog.set_level(logging.DEBUG, logger="carecloud_async")
    async with httpx.AsyncClient(transport=transport, base_url=customer_base) as client:
        response = await client.post(
            "/tokens/SECRETID/actions/login?password=x",
            headers={"Authorization": "Bearer SECRET"},
            json={"login_type": "email", "login_value": "a@b.example", "password": "hunter2"},
        )
    assert response.status_code == 200
    # The secrets really were sent, so their absence from the logs below means something.
    assert script.requests[0].headers["authorization"] == "Bearer SECRET"
    assert "password=x" in str(script.requests[0].url)

    records = [r for r in caplog.records if r.name == "carecloud_async.retry"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    url = f"{customer_base}/tokens/***/actions/login"
    assert [r.getMessage() for r in records] == [
        f"Retrying POST {url} after attempt 1/4 failed (status 503); waiting 0.25 s",
        f"Retrying POST {url} after attempt 2/4 failed (ConnectError); waiting 0.50 s",
    ]
    for record in records:
        dumped = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in ("SECRET", "Bearer", "password", "?", "hunter2", "a@b.example", "refused"):
            assert secret not in dumped
