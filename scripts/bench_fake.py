"""Benchmark: what one call costs against the shipped fake CareCloud (not a test).

    python -m scripts.bench_fake [--calls 300] [--customers 50]

Rows (each the median of 5 interleaved rounds of ``--calls`` sequential ``GET /customers?count=10``
through ``CareCloud.call``, wall time per call):

- mock: an ``httpx.MockTransport`` answering a fixed page (no validation, no state): the floor;
- fake in-process: ``FakeCareCloud().transport()`` (route, request validation, state, answer check);
- fake, no answer check: the same with ``check_answers=False``;
- fake on loopback: ``FakeServer`` on 127.0.0.1 in this process (sockets and HTTP/1.1 parsing too).

Also the first ``FakeCareCloud()`` of a process (it loads the contract and the catalog).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from carecloud_api.api.customers import get_customers

from carecloud_async import CareCloud
from carecloud_async.testing import FakeCareCloud, FakeServer

ROUNDS = 5


async def _time_calls(cc: CareCloud, calls: int) -> float:
    await cc.call(get_customers, count=10)  # logged in, warm
    start = time.perf_counter()
    for _ in range(calls):
        await cc.call(get_customers, count=10)
    return (time.perf_counter() - start) / calls


def _fake(customers: int, **options: bool) -> FakeCareCloud:
    fake = FakeCareCloud(**options)  # type: ignore[arg-type]
    for _ in range(customers):
        fake.customers.create()
    return fake


async def main(calls: int, customers: int) -> None:
    start = time.perf_counter()
    FakeCareCloud()
    first = time.perf_counter() - start
    page = {"data": {"customers": _fake(customers).customers.where()[:10], "total_items": customers}}
    login = {"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}

    def mock(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=login if request.url.path.endswith("/login") else page)

    async def with_mock() -> float:
        cc = CareCloud.enterprise(
            "bench.example.com",
            user_external_application_id="a",
            login="l",
            password="p",  # noqa: S106 (a mock transport)
            transport=httpx.MockTransport(mock),
        )
        async with cc:
            return await _time_calls(cc, calls)

    async def with_fake(check_answers: bool = True) -> float:
        async with _fake(customers, check_answers=check_answers).enterprise_client() as cc:
            return await _time_calls(cc, calls)

    async def on_loopback() -> float:
        async with (
            FakeServer(_fake(customers)) as server,
            CareCloud.enterprise(
                server.url,
                user_external_application_id="fake-app",
                login="pos@example.com",
                password="fake-password",  # noqa: S106 (the fake's own user)
            ) as cc,
        ):
            return await _time_calls(cc, calls)

    rows: dict[str, Callable[[], Awaitable[float]]] = {
        "mock transport": with_mock,
        "fake in-process": with_fake,
        "fake, no answer check": lambda: with_fake(check_answers=False),
        "fake on loopback": on_loopback,
    }
    results: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(ROUNDS):
        for name, run in rows.items():
            results[name].append(await run())
    print(f"first FakeCareCloud() of the process: {first * 1000:.0f} ms")
    print(f"{'row':<24} {'per call':>10} {'calls/s':>9}   ({calls} calls x {ROUNDS} rounds, median)")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<24} {median * 1e6:>8.0f} us {1 / median:>9.0f}")
    print(json.dumps({name: round(statistics.median(v) * 1e6) for name, v in results.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.customers))
