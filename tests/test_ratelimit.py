"""The client-side rate limit: sends spaced 1/N s apart, counted when they leave; every attempt
(retries too) takes a slot; no catch-up burst after a stall."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from carecloud_async import CareCloud, ConfigurationError, LocalRateBudget, RetryPolicy
from carecloud_async._ratelimit import RateLimitTransport, try_take_slot


class FakeTime:
    """A clock and a sleep that advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_an_idle_budget_sends_at_once_and_banks_nothing() -> None:
    assert try_take_slot(0.0, 100.0, 0.1) == (100.1, 0.0)
    # Idle for a long time: one slot now, the next one an interval later (no burst).
    assert try_take_slot(50.0, 100.0, 0.1) == (100.1, 0.0)


def test_too_early_means_wait_and_takes_nothing() -> None:
    assert try_take_slot(100.1, 100.0, 0.1) == (100.1, 0.1)


async def test_a_busy_budget_spaces_sends_one_interval_apart() -> None:
    time = FakeTime()
    budget = LocalRateBudget(4, clock=time.clock, sleep=time.sleep)
    sent = []
    for _ in range(4):
        await budget.wait_for_slot()
        sent.append(time.now)
    assert sent == pytest.approx([0.0, 0.25, 0.5, 0.75])


async def test_a_stall_does_not_release_a_catch_up_burst() -> None:
    time = FakeTime()
    budget = LocalRateBudget(10, clock=time.clock, sleep=time.sleep)
    await budget.wait_for_slot()
    time.now += 5.0  # the event loop was busy elsewhere for 5 s
    sent = []
    for _ in range(3):
        await budget.wait_for_slot()
        sent.append(time.now)
    assert sent == pytest.approx([5.0, 5.1, 5.2])


async def test_concurrent_waiters_go_in_turn() -> None:
    time = FakeTime()
    budget = LocalRateBudget(10, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []

    async def send() -> None:
        await budget.wait_for_slot()
        sent.append(time.now)

    await asyncio.gather(*(send() for _ in range(5)))
    assert sent == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "10", True])
def test_bad_rates_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="rate_limit"):
        LocalRateBudget(bad)  # type: ignore[arg-type]


async def test_the_transport_waits_for_a_slot_before_each_send() -> None:
    time = FakeTime()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.now)
        return httpx.Response(200)

    budget = LocalRateBudget(10, clock=time.clock, sleep=time.sleep)
    async with httpx.AsyncClient(transport=RateLimitTransport(httpx.MockTransport(handler), budget)) as http:
        for _ in range(4):
            await http.get("https://p.example/")
    assert sent == pytest.approx([0.0, 0.1, 0.2, 0.3])


async def test_retries_take_slots_too() -> None:
    """The rate limit is below the retries: a 429 answered and retried costs two slots."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200)])
    taken: list[float] = []

    class CountingBudget(LocalRateBudget):
        async def wait_for_slot(self) -> None:
            taken.append(1.0)

    cc = CareCloud.enterprise(
        "https://p.example",
        user_external_application_id="app",
        login="pos",
        password="pw",
        transport=httpx.MockTransport(lambda request: next(answers)),
        retry=RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0),
        rate_limit=CountingBudget(100),
    )
    cc.auth._token = "bearer"  # type: ignore[union-attr]
    async with cc:
        assert (await cc.http.get("stores")).status_code == 200
    assert len(taken) == 2


def test_a_number_becomes_a_local_budget_of_that_rate() -> None:
    cc = CareCloud.enterprise(
        "https://p.example", user_external_application_id="app", login="pos", password="pw", rate_limit=25
    )
    transport = cc.http._transport
    while not isinstance(transport, RateLimitTransport):
        transport = transport._transport  # type: ignore[attr-defined]
    assert isinstance(transport.budget, LocalRateBudget)
    assert transport.budget.per_second == 25
