"""Benchmark: what the run-time argument checks cost per call (not a test; prints a table).

Rows, each the median of ``--repeat`` timings of ``--calls`` calls (microseconds per call):

* the checks alone (``check_arguments``, signature and types cached after the first call) for a
  list call with four filters and for a body with nested fields;
* the checks of a 1,000-item batch body (``POST /products/batch``, every item and nested
  list walked) against that body's own ``to_dict()``, which sending it costs anyway;
* of those, the share of the spec's bounds (``constraint_problem``: ``count >= 1``, at most 1,000
  list items, the batch's 1,000 items and their property values), measured alone;
* the first check of an operation (``typing.get_type_hints`` on the generated ``call``, cached);
* the baseline: a whole ``cc.call(get_customers.call, ...)`` through ``httpx.MockTransport`` (no
  network: the cheapest call there can be; a real one adds a network round trip of milliseconds),
  against which the share of the checks is shown.

    python -m scripts.bench_arguments [--calls 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
from carecloud_api.api.customers import get_customers
from carecloud_api.api.customers_actions import post_customer_verify_credentials
from carecloud_api.api.products import post_bulk_products
from carecloud_api.models import (
    PostBulkProductsBody,
    PostCustomerVerifyCredentialsBody,
    PostCustomerVerifyCredentialsBodyLoginType,
    ProductBatch,
    SortDirection,
)

from carecloud_async import RetryPolicy
from carecloud_async._arguments import _field_hints, _shape, check_arguments
from carecloud_async._constraint_checks import constraint_problem
from scripts.bench_common import bench_client, recording

FILTERS: dict[str, Any] = {
    "count": 10,
    "email": "jane@example.com",
    "sort_direction": SortDirection.ASC,
    "email_list": ["a@example.com", "b@example.com"],
}
BODY = PostCustomerVerifyCredentialsBody(
    login_type=PostCustomerVerifyCredentialsBodyLoginType.EMAIL,
    login_value="jane@example.com",
    password="pw",  # noqa: S106 (a benchmark body)
)

BATCH = PostBulkProductsBody(
    products=[
        ProductBatch.from_dict(
            {"name": f"Shoe {i}", "code": f"S{i}", "plu_ids": [{"list_code": "EAN", "code": f"{i:013d}"}], "prices": []}
        )
        for i in range(1000)
    ]
)


def per_call(run: Callable[[], object], calls: int, repeat: int) -> float:
    """Median microseconds per call of ``run`` over ``repeat`` batches of ``calls``."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        timings.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(timings)


def first_check(repeat: int) -> float:
    """Microseconds of the first check of an operation: resolving its annotations."""
    timings = []
    modules = ["carecloud_api.api.customers.get_customers", "carecloud_api.api.rewards.get_rewards"]
    for _ in range(repeat):
        for name in modules:
            function = importlib.import_module(name).call
            _shape.cache_clear()
            _field_hints.cache_clear()
            started = time.perf_counter()
            check_arguments(function, "GET", (), {"count": 10})
            timings.append((time.perf_counter() - started) * 1e6)
    return statistics.median(timings)


async def whole_calls(calls: int, repeat: int) -> float:
    answer = {"data": {"customers": [], "total_items": 0}}
    login = {"data": {"bearer_token": "bench", "valid_to": "2099-01-01 00:00:00"}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=login if request.url.path.endswith("/login") else answer)

    async with bench_client(
        "demo.example.com", retry=RetryPolicy.disabled(), transport=httpx.MockTransport(handler)
    ) as cc:
        await cc.call(get_customers.call, **FILTERS)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            for _ in range(calls):
                await cc.call(get_customers.call, **FILTERS)
            timings.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_arguments", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    list_check = per_call(
        lambda: check_arguments(get_customers.call, "GET /customers", (), FILTERS), args.calls, args.repeat
    )
    body_check = per_call(
        lambda: check_arguments(post_customer_verify_credentials.call, "POST", (), {"body": BODY}),
        args.calls,
        args.repeat,
    )
    batch_calls = max(1, args.calls // 500)
    batch_check = per_call(
        lambda: check_arguments(post_bulk_products.call, "POST", (), {"body": BATCH}), batch_calls, args.repeat
    )
    list_bounds = per_call(lambda: constraint_problem(get_customers.call, FILTERS), args.calls, args.repeat)
    batch_bounds = per_call(
        lambda: constraint_problem(post_bulk_products.call, {"body": BATCH}), batch_calls, args.repeat
    )
    batch_to_dict = per_call(BATCH.to_dict, batch_calls, args.repeat)
    cold = first_check(args.repeat)
    whole = asyncio.run(whole_calls(max(1, args.calls // 5), args.repeat))
    rows = [
        ("checks: get_customers, 4 filters (cached)", list_check, f"{100 * list_check / whole:.1f} % of a call"),
        ("  of which the spec's bounds", list_bounds, f"{100 * list_bounds / list_check:.0f} % of those checks"),
        ("checks: verify-credentials body (cached)", body_check, f"{100 * body_check / whole:.1f} % of a call"),
        ("checks: 1,000-item batch body", batch_check, f"{batch_check / batch_to_dict:.1f}x its to_dict()"),
        ("  of which the spec's bounds", batch_bounds, f"{100 * batch_bounds / batch_check:.0f} % of those checks"),
        ("baseline: that body's to_dict()", batch_to_dict, "paid by every send"),
        ("first check of an operation (type hints)", cold, "once per operation"),
        ("baseline: whole cc.call, MockTransport", whole, "100 %"),
    ]
    print(f"Argument checks, median of {args.repeat} batches of {args.calls:,} calls\n")
    print("| what | µs per call | share |")
    print("|---|---:|---|")
    for what, micros, share in rows:
        print(f"| {what} | {micros:,.1f} | {share} |")
    return 0


if __name__ == "__main__":
    with recording("arguments"):
        raise SystemExit(main())
