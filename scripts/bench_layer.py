"""Benchmark: what the hand-written layer adds to one call (``make bench-layer``; not a test).

    python -m scripts.bench_layer [--rounds 21] [--calls 40] [--customers 100] [--profile ROW]

Every row sends ``GET /customers`` through the same in-process ``httpx.MockTransport`` (no sockets:
what is measured is our code and httpx's), answering a page of ``--customers`` customers built
from the pinned spec's examples of ``Customer`` (every property its example, recursively):

- raw: ``httpx.AsyncClient.get`` + ``response.json()`` (the baseline, 1.00x);
- generated ``asyncio()`` and ``call()`` on a bare generated ``Client`` (no auth, no retries);
- generated ``call()`` on ``cc.api_client``: our httpx stack (auth flow, retry transport, request
  and response hooks, default headers) without ``cc.call``'s own work;
- ``cc.call(get_customers.call, ...)``: argument checks, auth flow, retry transport, hooks,
  error mapping; ``cc.with_options(...).call`` (a view: timeout, language, extra header and
  ``max_attempts``); ``cc.call_raw``; ``cc.call`` on a client made with ``tracing=False``;
- the resource tree (issue 24) beside what it wraps: ``cc.customers.list(...).first_page()`` against
  ``cc.paginate(get_customers, ...).first_page()``, and ``cc.customers.get(id)`` against
  ``cc.call(get_customer.call, id)`` (``GET /customers/c1``, one customer).

With opentelemetry-api installed (as in the dev venv) but no provider configured, the ``cc.call``
rows include the observer's check that nothing is configured; ``--no-otel`` blocks the import, as
for a user without opentelemetry (issue 25).

Rounds are interleaved (round 1 of every row, then round 2, ...) so that a busy machine slows
every row alike; a figure is the median over rounds of the mean CPU time (``time.process_time``:
everything here runs on this process's CPU, and on a shared machine wall time also counts other
processes' turns) per call in a round. The "layer" columns are the row minus the generated
``call()``: what ``carecloud_async`` costs per call. The "best round" columns repeat them with
each row's fastest round: on a shared machine the median of a row can move by a tenth between
runs, the best round much less. ``--customers 0`` sends an empty page, so that the layer's share
is not hidden by parsing.

``--parts`` prints a second table instead: the generated ``call()`` on bare clients with one part of
our httpx stack each (our default headers, the auth flow, the retry transport, the two event hooks).

``--profile ROW`` (``cc.call``, ``view``, ``call_raw``, ``stack``, ``generated``, ``asyncio``,
``raw``) runs that row alone under cProfile and prints the functions with the most own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from carecloud_api import Client
from carecloud_api.api.customers import get_customer, get_customers

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async._retry import RetryTransport
from scripts.bench_common import BASE_URL, HOST, bench_client, customers_page, mock_transport, recording

TARGET = 1.8  # issue 15: CareCloud.call at most 1.8x raw httpx + json


@dataclass
class Row:
    label: str
    key: str  #: the name --profile takes
    run: Callable[[], Awaitable[Any]]
    per_round: list[float] = field(default_factory=list)

    @property
    def micros(self) -> float:
        return statistics.median(self.per_round) * 1e6

    @property
    def best(self) -> float:
        return min(self.per_round) * 1e6


async def timed(row: Row, calls: int) -> None:
    gc.collect()
    run = row.run
    started = time.process_time()
    for _ in range(calls):
        await run()
    row.per_round.append((time.process_time() - started) / calls)


async def build_rows(page: bytes, count: int) -> tuple[list[Row], list[httpx.AsyncClient | CareCloud]]:
    """The rows, each asking for ``count`` (at least 1: the spec's minimum, which the argument checks
    enforce) customers; the mock answers ``page`` whatever the count, so ``--customers 0`` still
    measures an empty page. Returns the rows, and the clients to close after them."""
    listed = json.loads(page)["data"]["customers"]
    one = (
        listed[0] if listed else {"customer_id": "c1", "personal_information": {"first_name": "J", "language_id": "en"}}
    )
    transport = mock_transport({"/customers": page, "/customers/c1": json.dumps({"data": one}).encode()})
    raw = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
    bare = Client(base_url=BASE_URL, raise_on_unexpected_status=False)
    bare.set_async_httpx_client(httpx.AsyncClient(base_url=BASE_URL, transport=transport))
    cc = bench_client(HOST, transport=transport)
    view = cc.with_options(timeout=5, language="cs", extra_headers={"X-Correlation-Id": "bench"}, max_attempts=2)

    async def raw_get() -> Any:
        response = await raw.get("/customers", params={"count": count})
        return response.json()

    async def generated_asyncio() -> Any:
        return await get_customers.asyncio(client=bare, count=count)

    async def generated_call() -> Any:
        return await get_customers.call(bare, count=count)

    async def stack_call() -> Any:
        return await get_customers.call(cc.api_client, count=count)

    async def cc_call() -> Any:
        return await cc.call(get_customers.call, count=count)

    async def view_call() -> Any:
        return await view.call(get_customers.call, count=count)

    async def cc_call_raw() -> Any:
        return await cc.call_raw(get_customers.call, count=count)

    # The resource tree (issue 24) against what it wraps: a list's first page, and one record.
    async def paginate_page() -> Any:
        return await cc.paginate(get_customers, page_size=max(count, 1)).first_page()

    async def tree_page() -> Any:
        return await cc.customers.list(page_size=max(count, 1)).first_page()

    async def cc_call_one() -> Any:
        return await cc.call(get_customer.call, "c1")

    async def tree_one() -> Any:
        return await cc.customers.get("c1")

    untraced = bench_client(HOST, transport=transport, tracing=False)

    async def untraced_call() -> Any:
        return await untraced.call(get_customers.call, count=count)

    rows = [
        Row("raw httpx get + response.json()", "raw", raw_get),
        Row("generated asyncio(), bare Client", "asyncio", generated_asyncio),
        Row("generated call(), bare Client", "generated", generated_call),
        Row("generated call() on cc.api_client", "stack", stack_call),
        Row("cc.call(get_customers.call)", "cc.call", cc_call),
        Row("cc.with_options(...).call", "view", view_call),
        Row("cc.call_raw(get_customers.call)", "call_raw", cc_call_raw),
        Row("cc.paginate(get_customers).first_page()", "paginate", paginate_page),
        Row("cc.customers.list().first_page() (tree)", "tree-list", tree_page),
        Row("cc.call(get_customer.call, id) (one record)", "call-one", cc_call_one),
        Row("cc.customers.get(id) (tree, one record)", "tree-get", tree_one),
        Row("cc.call, client made with tracing=False", "untraced", untraced_call),
    ]
    for row in rows:  # warm up: log in, fill caches, first parse
        for _ in range(3):
            await row.run()
    return rows, [raw, bare.get_async_httpx_client(), cc, untraced]


async def part_rows(page: bytes, count: int) -> tuple[list[Row], list[httpx.AsyncClient | CareCloud]]:
    """The generated call() on bare clients, each with one part of our httpx stack (--parts)."""
    transport = mock_transport({"/customers": page})
    cc = bench_client(HOST, transport=transport)
    lane = cc.http  # its headers, auth and hooks are the parts
    parts: dict[str, dict[str, Any] | None] = {
        "bare generated Client": {},
        "+ our default headers": {"headers": lane.headers},
        "+ the auth flow (and its Authorization header)": {"auth": cc.auth},
        "+ the retry transport (a 200: no retry loop)": {"transport": RetryTransport(transport, RetryPolicy())},
        "+ the request and response hooks": {"event_hooks": lane.event_hooks},
        "cc.api_client (all of them)": None,
    }
    rows, owned = [], []
    for label, extra in parts.items():
        if extra is None:
            api = cc.api_client
        else:
            api = Client(base_url=BASE_URL, raise_on_unexpected_status=False)
            http = httpx.AsyncClient(base_url=BASE_URL, **{"transport": transport, **extra})
            api.set_async_httpx_client(http)
            owned.append(http)

        async def generated_call(api: Client = api) -> Any:
            return await get_customers.call(api, count=count)

        rows.append(Row(label, label, generated_call))
    for row in rows:
        for _ in range(3):
            await row.run()
    return rows, [*owned, cc]


async def run(args: argparse.Namespace, page: bytes) -> list[Row]:
    build = part_rows if args.parts else build_rows
    rows, owned = await build(page, max(args.customers, 1))
    try:
        for _ in range(args.rounds):
            for row in rows:
                await timed(row, args.calls)
    finally:
        for client in owned:
            await client.aclose()
    return rows


async def profile(args: argparse.Namespace, page: bytes) -> None:
    rows, owned = await build_rows(page, max(args.customers, 1))
    chosen = {row.key: row for row in rows}[args.profile]
    calls = args.rounds * args.calls
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await chosen.run()
    profiler.disable()
    for client in owned:
        await client.aclose()
    print(f"cProfile of {calls} x {chosen.label} (own time, top 40; times are per run, not per call)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_layer", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=40, help="calls per row and round")
    parser.add_argument("--customers", type=int, default=100, help="customers in the page (0: an empty page)")
    parser.add_argument("--parts", action="store_true", help="time each part of our httpx stack alone")
    row_keys = ["raw", "asyncio", "generated", "stack", "cc.call", "view", "call_raw", "untraced"]
    parser.add_argument("--profile", choices=row_keys)
    parser.add_argument(
        "--no-otel", action="store_true", help="run as if opentelemetry were not installed (its import blocked)"
    )
    args = parser.parse_args(argv)
    if args.no_otel:  # before the first client: the clients probe for it when they are made
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    page = customers_page(args.customers)
    if args.profile:
        asyncio.run(profile(args, page))
        return 0
    rows = asyncio.run(run(args, page))
    if args.parts:
        print(f"\nThe generated call() with one part of our httpx stack each, {args.customers} customers; CPU time")
        print(f"per call, median (best) of {args.rounds} interleaved rounds of {args.calls} calls\n")
        print("| client | µs/call | + µs | best round µs | + µs |")
        print("|---|---:|---:|---:|---:|")
        for row in rows:
            print(
                f"| {row.label} | {row.micros:.0f} | {row.micros - rows[0].micros:+.1f} "
                f"| {row.best:.0f} | {row.best - rows[0].best:+.1f} |"
            )
        return 0
    raw, generated = rows[0].micros, rows[2].micros
    print(
        f"\nGET /customers, {args.customers} customers ({len(page):,} bytes), in-process MockTransport; "
        f"median of {args.rounds} interleaved rounds of {args.calls} calls\n"
    )
    print("| row | µs/call | x raw | layer µs | best round µs | best: x raw | best: layer µs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    best_raw, best_generated = rows[0].best, rows[2].best
    for row in rows:
        ours = row.key in ("stack", "cc.call", "view", "call_raw", "paginate", "tree-list")
        layer = f"{row.micros - generated:+.0f}" if ours else ""
        best_layer = f"{row.best - best_generated:+.0f}" if ours else ""
        print(
            f"| {row.label} | {row.micros:.0f} | {row.micros / raw:.2f}x | {layer} "
            f"| {row.best:.0f} | {row.best / best_raw:.2f}x | {best_layer} |"
        )
    ratio = {row.key: row for row in rows}["cc.call"].micros / raw
    print(f"\nTarget (issue 15): cc.call <= {TARGET}x raw: {ratio:.2f}x -> {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0


if __name__ == "__main__":
    with recording("layer"):
        sys.exit(main())
