"""The client-side rate limit: slots spaced 1/N s apart, every attempt (retries too) takes one."""

from __future__ import annotations

import httpx
import pytest

from carecloud_async import CareCloud, ConfigurationError, LocalRateBudget, RetryPolicy
from carecloud_async._ratelimit import RateLimitTransport, reserve_slot


def test_an_idle_budget_sends_at_once_and_banks_nothing() -> None:
    assert reserve_slot(0.0, 100.0, 0.1) == (100.1, 0.0)
    # Idle for a long time: still one slot now, the next one interval later (no burst).
    assert reserve_slot(50.0, 100.0, 0.1) == (100.1, 0.0)


def test_a_busy_budget_queues_each_request_one_interval_after_the_previous() -> None:
    next_free, waits = 0.0, []
    for _ in range(5):
        next_free, wait = reserve_slot(next_free, 10.0, 0.25)
        waits.append(wait)
    assert waits == [0.0, 0.25, 0.5, 0.75, 1.0]


async def test_the_local_budget_follows_its_clock() -> None:
    now = [0.0]
    budget = LocalRateBudget(4, clock=lambda: now[0])
    assert [await budget.reserve() for _ in range(3)] == [0.0, 0.25, 0.5]
    now[0] = 10.0
    assert await budget.reserve() == 0.0


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "10", True])
def test_bad_rates_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="rate_limit"):
        LocalRateBudget(bad)  # type: ignore[arg-type]


async def test_the_transport_sleeps_what_the_budget_says_before_sending() -> None:
    slept: list[float] = []
    sent: list[float] = []
    now = [0.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(now[0])
        return httpx.Response(200)

    transport = RateLimitTransport(httpx.MockTransport(handler), LocalRateBudget(10, clock=lambda: now[0]), sleep=sleep)
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(4):
            await http.get("https://p.example/")
    assert slept == pytest.approx([0.1, 0.1, 0.1])
    assert sent == pytest.approx([0.0, 0.1, 0.2, 0.3])


async def test_retries_take_slots_too() -> None:
    """The rate limit is below the retries: a 429 answered and retried costs two slots."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200)])
    reserved: list[float] = []

    class CountingBudget(LocalRateBudget):
        async def reserve(self) -> float:
            reserved.append(1.0)
            return 0.0

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
    assert len(reserved) == 2


def test_a_number_becomes_a_local_budget_of_that_rate() -> None:
    cc = CareCloud.enterprise(
        "https://p.example", user_external_application_id="app", login="pos", password="pw", rate_limit=25
    )
    transport = cc.http._transport
    while not isinstance(transport, RateLimitTransport):
        transport = transport._transport  # type: ignore[attr-defined]
    assert isinstance(transport.budget, LocalRateBudget)
    assert transport.budget.per_second == 25
