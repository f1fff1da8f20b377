"""Benchmark: what a typed call costs over plain httpx + JSON (``make bench-percall``; not a test).

    python -m scripts.bench_percall [--rounds 11] [--calls 40]

Two bodies, built from the examples of the pinned spec (every field its schema gives an example
for, so the shapes are the server's): a ``GET /customers`` page of 100 customers, and a
``GET /purchases`` page of 100 purchases with 5 items each. Every row runs in this one process
against the same in-process ``httpx.MockTransport`` (no sockets: the cost measured is ours):

- raw: ``httpx.AsyncClient.get`` + ``response.json()`` (the baseline, 1.00x), and the same with
  ``orjson.loads(response.content)``;
- the generated ``call()`` on a bare generated ``Client``, with the standard JSON decoder and
  with orjson (``carecloud_api.parsing.set_json_decoder``);
- ``CareCloud.call`` (auth flow, retry transport, error mapping) with each decoder, and again
  with ``carecloud_api.parsing.set_gc_pause(True)`` (the collector paused while parsing: an
  application's choice, off by default);
- parsing alone: ``json.loads`` / ``orjson.loads`` of the bytes, and ``from_dict`` of the decoded
  page (its own baseline is ``json.loads``: the target is from_dict <= 1.0x json.loads).

Rounds are interleaved (round 1 of every row, then round 2, ...) so a busy machine slows every
row alike; each figure is the median over rounds of the mean time per call within a round.
Targets (issue 15): ``CareCloud.call`` <= 1.8x raw; ``from_dict`` <= 1.0x ``json.loads``.
The exit status is 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from carecloud_api import Client, parsing
from carecloud_api.api.customers import get_customers
from carecloud_api.api.purchases import get_purchases
from carecloud_api.models import GetCustomers200Response, GetPurchases200Response

from carecloud_async import CareCloud, RetryPolicy
from scripts.bench_common import BASE_URL, HOST, bench_client, customers_page, mock_transport, pinned_spec
from scripts.spec_bodies import example_body

try:
    import orjson
except ImportError:  # the `fast` extra is not installed: the orjson rows are skipped
    orjson = None  # type: ignore[assignment]

CALL_TARGET = 1.8
PARSE_TARGET = 1.0


def pages() -> dict[str, tuple[str, bytes, type[Any]]]:
    """name -> (path, body bytes, response model) for the two benchmark pages."""
    spec = pinned_spec()
    purchase = example_body(spec, spec["components"]["schemas"]["Purchase"])
    item = purchase["purchase_items"][0]
    purchases = []
    for number in range(100):
        copy = json.loads(json.dumps(purchase))
        copy["purchase_id"] = f"{number:026x}"
        copy["purchase_items"] = [json.loads(json.dumps(item)) for _ in range(5)]
        purchases.append(copy)
    purchases_page = {"data": {"purchases": purchases, "total_items": 100}}
    return {
        "100 customers": ("/customers", customers_page(100, spec), GetCustomers200Response),
        "100 purchases x 5 items": ("/purchases", json.dumps(purchases_page).encode(), GetPurchases200Response),
    }


@dataclass
class Row:
    page: str
    label: str
    baseline: str  # the label of the row this one is compared with
    run: Callable[[], Awaitable[Any]] | Callable[[], Any]
    is_async: bool
    per_round: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.per_round) * 1e6


async def measure(row: Row, calls: int) -> None:
    gc.collect()
    if row.is_async:
        run_async: Any = row.run
        started = time.perf_counter()
        for _ in range(calls):
            await run_async()
    else:
        run_sync: Any = row.run
        started = time.perf_counter()
        for _ in range(calls):
            run_sync()
    row.per_round.append((time.perf_counter() - started) / calls)


def build_rows(
    bodies: dict[str, tuple[str, bytes, type[Any]]],
    raw: httpx.AsyncClient,
    bare: Client,
    cc: CareCloud,
    decoders: list[tuple[str, Callable[[bytes], Any]]],
) -> list[Row]:
    """Every row of the table, in print order (pages, then call paths, then parsing alone)."""
    operations = {"/customers": get_customers, "/purchases": get_purchases}
    rows: list[Row] = []
    for page, (path, body, model) in bodies.items():
        operation = operations[path]
        raw_label = "raw httpx get + response.json()"

        async def raw_json(path: str = path) -> Any:
            return (await raw.get(path)).json()

        rows.append(Row(page, raw_label, raw_label, raw_json, True))
        for name, decode in decoders[1:]:

            async def raw_fast(path: str = path, decode: Callable[[bytes], Any] = decode) -> Any:
                return decode((await raw.get(path)).content)

            rows.append(Row(page, f"raw httpx get + {name}.loads", raw_label, raw_fast, True))
        for name, decode in decoders:

            async def generated(operation: Any = operation, decode: Callable[[bytes], Any] = decode) -> Any:
                parsing.set_json_decoder(decode)
                return await operation.call(bare)

            async def through_client(operation: Any = operation, decode: Callable[[bytes], Any] = decode) -> Any:
                parsing.set_json_decoder(decode)
                return await cc.call(operation.call)

            async def gc_paused(operation: Any = operation, decode: Callable[[bytes], Any] = decode) -> Any:
                parsing.set_json_decoder(decode)
                parsing.set_gc_pause(True)
                try:
                    return await cc.call(operation.call)
                finally:
                    parsing.set_gc_pause(False)

            rows.append(Row(page, f"generated call() on a bare Client ({name})", raw_label, generated, True))
            rows.append(Row(page, f"CareCloud.call ({name})", raw_label, through_client, True))
            rows.append(Row(page, f"CareCloud.call ({name}, set_gc_pause(True))", raw_label, gc_paused, True))
        loads_label = "json.loads of the bytes"
        rows.append(Row(page, loads_label, loads_label, lambda body=body: json.loads(body), False))
        for name, decode in decoders[1:]:
            rows.append(Row(page, f"{name}.loads of the bytes", loads_label, lambda b=body, d=decode: d(b), False))
        decoded = json.loads(body)
        rows.append(
            Row(page, "from_dict of the decoded page", loads_label, lambda d=decoded, m=model: m.from_dict(d), False)
        )
    return rows


def print_table(rows: list[Row], rounds: int, calls: int) -> None:
    by_label = {(row.page, row.label): row for row in rows}
    print(
        f"Per-call cost, median of {rounds} interleaved rounds x {calls} calls "
        f"(Python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        f"orjson {'installed' if orjson is not None else 'not installed'})\n"
    )
    print("| page | what | us per call | vs baseline | target |")
    print("|---|---|---:|---:|---|")
    for row in rows:
        base = by_label[(row.page, row.baseline)]
        ratio = row.median_us / base.median_us
        target = ""
        if row.label.startswith("CareCloud.call"):
            target = f"<= {CALL_TARGET}x {'ok' if ratio <= CALL_TARGET else 'MISSED'}"
        elif row.label.startswith("from_dict"):
            target = f"<= {PARSE_TARGET}x {'ok' if ratio <= PARSE_TARGET else 'MISSED'}"
        print(f"| {row.page} | {row.label} | {row.median_us:,.0f} | {ratio:.2f}x | {target} |")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--calls", type=int, default=40, help="calls per row and round")
    args = parser.parse_args(argv)

    bodies = pages()
    mock = mock_transport({path: body for path, body, _ in bodies.values()})
    raw = httpx.AsyncClient(base_url=BASE_URL, transport=mock)
    bare = Client(base_url=BASE_URL, raise_on_unexpected_status=False)
    bare.set_async_httpx_client(httpx.AsyncClient(base_url=BASE_URL, transport=mock))
    cc = bench_client(f"https://{HOST}", retry=RetryPolicy(), transport=mock)
    await cc.authenticate()
    decoders: list[tuple[str, Callable[[bytes], Any]]] = [("json", json.loads)]
    if orjson is not None:
        decoders.append(("orjson", orjson.loads))
    rows = build_rows(bodies, raw, bare, cc, decoders)
    try:
        for row in rows:  # warm-up: imports, model binding, the login
            await measure(row, 3)
            row.per_round.clear()
        for _ in range(args.rounds):
            for row in rows:
                await measure(row, args.calls)
    finally:
        parsing.set_json_decoder(None)
        parsing.set_gc_pause(False)
        await cc.aclose()
        await raw.aclose()
    print_table(rows, args.rounds, args.calls)
    return 0


if __name__ == "__main__":
    from scripts.bench_common import recording

    with recording("percall"):
        sys.exit(asyncio.run(main()))
