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
  page (its own baseline is ``json.loads``: the target is from_dict <= 1.0x json.loads);
- the floor (issue 27, with msgspec installed): the fastest typed JSON decoding in Python,
  ``msgspec.json.decode(content, type=...)`` into ``msgspec.Struct`` types written here for the
  two pages (the same fields and types as the generated models: dates, int enums, floats), after
  a raw httpx get and alone; and our typed parse from the bytes, ``parsing.parse(from_dict, ...)``,
  with each decoder, to compare with the typed decode alone.

Every typed row runs in each parsing mode: "json" and "orjson" with the typed fast path off
(``parsing.set_fast_path(False)``: the standard path, what a user without msgspec gets), and
"msgspec fast path" with it on (orjson, else json, for the bodies it leaves to ``from_dict``).
The rows set the mode themselves; ``CARECLOUD_FAST_PARSE=0`` only changes the default restored
at the end.

Every row is shown as a ratio to its baseline and to the floor of its kind (the calls to the
floor call, the parsing rows to the typed decode alone), in CPU time of the benchmark's thread
(``time.thread_time``: what other processes on a shared machine do counts less) and in wall
time. Rounds are interleaved (round 1 of every row, then round 2, ...) so a busy machine slows
every row alike; each figure is the median over rounds of the mean time per call within a round.
A second table gives the memory of one parsed page (tracemalloc: the peak while parsing and what
the result keeps), ours against the floor's.

Targets: issue 15, ``CareCloud.call`` <= 1.8x raw and ``from_dict`` <= 1.0x ``json.loads``;
issue 27 (the ``fast`` extra), ``CareCloud.call`` <= 1.5x the floor call and the typed parse
<= 1.5x msgspec's typed decode (both in CPU time).
The exit status is 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
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

try:
    import msgspec
except ImportError:  # no msgspec: the floor rows are skipped
    msgspec = None  # type: ignore[assignment]

CALL_TARGET = 1.8
fast_default = parsing.fast_path  # CARECLOUD_FAST_PARSE=0 turns it off (the stdlib-only figures)
PARSE_TARGET = 1.0
FLOOR_CALL_TARGET = 1.5
FLOOR_PARSE_TARGET = 1.5
FLOOR_CALL = "raw httpx get + msgspec typed decode (the floor)"
FLOOR_PARSE = "msgspec typed decode of the bytes (the floor)"


def floor_types() -> dict[str, type[Any]]:
    """path -> the msgspec type of that page (``scripts.bench_floor``, written for this benchmark)."""
    from scripts import bench_floor

    return {"/customers": bench_floor.CustomersPage, "/purchases": bench_floor.PurchasesPage}


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
    floor: str = ""  # the label of the floor row of its kind ("" without msgspec)
    per_round: list[float] = field(default_factory=list)  # CPU time (thread_time) per call
    wall_per_round: list[float] = field(default_factory=list)  # wall time (perf_counter) per call

    @property
    def median_us(self) -> float:
        """CPU microseconds per call, the median over rounds."""
        return statistics.median(self.per_round) * 1e6

    @property
    def wall_us(self) -> float:
        """Wall-clock microseconds per call, the median over rounds."""
        return statistics.median(self.wall_per_round) * 1e6


async def measure(row: Row, calls: int) -> None:
    gc.collect()
    if row.is_async:
        run_async: Any = row.run
        started, cpu_started = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            await run_async()
    else:
        run_sync: Any = row.run
        started, cpu_started = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            run_sync()
    cpu, wall = time.thread_time() - cpu_started, time.perf_counter() - started
    row.per_round.append(cpu / calls)
    row.wall_per_round.append(wall / calls)


FAST_MODE = "msgspec fast path"


def parse_modes(decoders: list[tuple[str, Callable[[bytes], Any]]]) -> list[tuple[str, Callable[[bytes], Any], bool]]:
    """How responses are parsed in the rows: each JSON decoder with the typed fast path off (the
    standard path, as without msgspec), then the fast path (its fallback decoder the last one)."""
    modes = [(name, decode, False) for name, decode in decoders]
    if msgspec is not None:
        modes.append((FAST_MODE, decoders[-1][1], True))
    return modes


def use(decode: Callable[[bytes], Any], fast: bool) -> None:
    """Parse with ``decode``, and the typed fast path on or off (``parsing.set_fast_path``)."""
    parsing.set_json_decoder(decode)
    parsing.set_fast_path(fast)


def build_rows(
    bodies: dict[str, tuple[str, bytes, type[Any]]],
    raw: httpx.AsyncClient,
    bare: Client,
    cc: CareCloud,
    decoders: list[tuple[str, Callable[[bytes], Any]]],
) -> list[Row]:
    """Every row of the table, in print order (pages, then call paths, then parsing alone)."""
    operations = {"/customers": get_customers, "/purchases": get_purchases}
    modes = parse_modes(decoders)
    types = floor_types() if msgspec is not None else {}
    rows: list[Row] = []
    for page, (path, body, model) in bodies.items():
        operation = operations[path]
        raw_label = "raw httpx get + response.json()"
        call_floor = FLOOR_CALL if msgspec is not None else ""
        parse_floor = FLOOR_PARSE if msgspec is not None else ""

        async def raw_json(path: str = path) -> Any:
            return (await raw.get(path)).json()

        if msgspec is not None:
            decoder = msgspec.json.Decoder(types[path])

            async def floor(path: str = path, decode: Callable[[bytes], Any] = decoder.decode) -> Any:
                return decode((await raw.get(path)).content)

            rows.append(Row(page, FLOOR_CALL, raw_label, floor, True, call_floor))
        rows.append(Row(page, raw_label, raw_label, raw_json, True, call_floor))
        for name, decode in decoders[1:]:

            async def raw_fast(path: str = path, decode: Callable[[bytes], Any] = decode) -> Any:
                return decode((await raw.get(path)).content)

            rows.append(Row(page, f"raw httpx get + {name}.loads", raw_label, raw_fast, True, call_floor))
        for name, decode, fast in modes:

            async def generated(
                operation: Any = operation, decode: Callable[[bytes], Any] = decode, fast: bool = fast
            ) -> Any:
                use(decode, fast)
                return await operation.call(bare)

            async def through_client(
                operation: Any = operation, decode: Callable[[bytes], Any] = decode, fast: bool = fast
            ) -> Any:
                use(decode, fast)
                return await cc.call(operation.call)

            async def gc_paused(
                operation: Any = operation, decode: Callable[[bytes], Any] = decode, fast: bool = fast
            ) -> Any:
                use(decode, fast)
                parsing.set_gc_pause(True)
                try:
                    return await cc.call(operation.call)
                finally:
                    parsing.set_gc_pause(False)

            label = f"generated call() on a bare Client ({name})"
            rows.append(Row(page, label, raw_label, generated, True, call_floor))
            rows.append(Row(page, f"CareCloud.call ({name})", raw_label, through_client, True, call_floor))
            label = f"CareCloud.call ({name}, set_gc_pause(True))"
            rows.append(Row(page, label, raw_label, gc_paused, True, call_floor))
        loads_label = "json.loads of the bytes"
        if msgspec is not None:
            decode_alone = msgspec.json.Decoder(types[path]).decode
            rows.append(Row(page, FLOOR_PARSE, "json.loads of the bytes", lambda b=body, d=decode_alone: d(b), False))
        rows.append(Row(page, loads_label, loads_label, lambda body=body: json.loads(body), False, parse_floor))
        for name, decode in decoders[1:]:
            label = f"{name}.loads of the bytes"
            rows.append(Row(page, label, loads_label, lambda b=body, d=decode: d(b), False, parse_floor))
        decoded = json.loads(body)
        label = "from_dict of the decoded page"
        rows.append(Row(page, label, loads_label, lambda d=decoded, m=model: m.from_dict(d), False, parse_floor))
        for name, decode, fast in modes:

            def typed_parse(m: Any = model, b: bytes = body, d: Callable[[bytes], Any] = decode, f: bool = fast) -> Any:
                use(d, f)
                return parsing.parse(m.from_dict, b)

            label = f"typed parse of the bytes, parsing.parse ({name})"
            rows.append(Row(page, label, loads_label, typed_parse, False, parse_floor))
    return rows


def target_of(row: Row, ratio: float, floor_ratio: float | None) -> str:
    """The targets a row has: issue 15's against its baseline, issue 27's against the floor."""
    marks = []
    if row.label.startswith("CareCloud.call") and "gc_pause" not in row.label:
        marks.append(f"<= {CALL_TARGET}x {'ok' if ratio <= CALL_TARGET else 'MISSED'}")
        if floor_ratio is not None:
            met = floor_ratio <= FLOOR_CALL_TARGET
            marks.append(f"<= {FLOOR_CALL_TARGET}x floor {'ok' if met else 'MISSED'}")
    elif row.label.startswith("from_dict"):
        marks.append(f"<= {PARSE_TARGET}x {'ok' if ratio <= PARSE_TARGET else 'MISSED'}")
    elif row.label.startswith("typed parse") and floor_ratio is not None:
        met = floor_ratio <= FLOOR_PARSE_TARGET
        marks.append(f"<= {FLOOR_PARSE_TARGET}x floor {'ok' if met else 'MISSED'}")
    return "; ".join(marks)


@dataclass
class Memory:
    page: str
    label: str
    peak: int  # bytes: the most tracemalloc saw allocated while parsing
    retained: int  # bytes: what is still allocated while the result is kept


def measure_memory(page: str, label: str, parse: Callable[[], Any]) -> Memory:
    """tracemalloc peak and retained bytes of one parse (the result kept until both are read)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = parse()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return Memory(page, label, peak - before, current - before)


def memory_rows(bodies: dict[str, tuple[str, bytes, type[Any]]]) -> list[Memory]:
    """One parsed page, ours (each decoder) and the floor's: content bytes in, typed objects out."""
    types = floor_types() if msgspec is not None else {}
    decoders: list[tuple[str, Callable[[bytes], Any]]] = [("json", json.loads)]
    if orjson is not None:
        decoders.append(("orjson", orjson.loads))
    found = []
    for page, (path, body, model) in bodies.items():
        if msgspec is not None:
            decode_typed: Callable[[bytes], Any] = msgspec.json.Decoder(types[path]).decode
            decode_typed(body)  # warm: the decoder's type cache
            found.append(measure_memory(page, FLOOR_PARSE, functools.partial(decode_typed, body)))
        for name, decode, fast in parse_modes(decoders):
            use(decode, fast)
            parsing.parse(model.from_dict, body)  # warm: the models' lazy imports, the fast path's decoder
            label = f"typed parse of the bytes, parsing.parse ({name})"
            found.append(measure_memory(page, label, functools.partial(parsing.parse, model.from_dict, body)))
        use(json.loads, False)
    parsing.set_json_decoder(None)
    parsing.set_fast_path(fast_default)
    return found


def print_table(rows: list[Row], rounds: int, calls: int, memory: list[Memory]) -> None:
    by_label = {(row.page, row.label): row for row in rows}
    print(
        f"Per-call cost, median of {rounds} interleaved rounds x {calls} calls "
        f"(Python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        f"orjson {orjson.__version__ if orjson is not None else 'not installed'}, "
        f"msgspec {msgspec.__version__ if msgspec is not None else 'not installed'}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}); "
        "CPU time of this thread, wall time beside it\n"
    )
    print("| page | what | CPU us per call | wall us | vs baseline | vs floor | wall vs floor | target |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        base = by_label[(row.page, row.baseline)]
        ratio = row.median_us / base.median_us
        floor = by_label.get((row.page, row.floor))
        floor_ratio = row.median_us / floor.median_us if floor is not None else None
        shown = f"{floor_ratio:.2f}x" if floor is not None else "-"
        wall = f"{row.wall_us / floor.wall_us:.2f}x" if floor is not None else "-"
        print(
            f"| {row.page} | {row.label} | {row.median_us:,.0f} | {row.wall_us:,.0f} | {ratio:.2f}x | {shown} | {wall} "
            f"| {target_of(row, ratio, floor_ratio)} |"
        )
    if memory:
        print("\nMemory of one parsed page (tracemalloc; peak while parsing, retained while the result is kept)\n")
        print("| page | what | peak KiB | retained KiB | peak vs floor | retained vs floor |")
        print("|---|---|---:|---:|---:|---:|")
        floors = {entry.page: entry for entry in memory if entry.label == FLOOR_PARSE}
        for entry in memory:
            floor_memory = floors.get(entry.page)
            peak = f"{entry.peak / floor_memory.peak:.2f}x" if floor_memory else "-"
            kept = f"{entry.retained / floor_memory.retained:.2f}x" if floor_memory else "-"
            print(
                f"| {entry.page} | {entry.label} | {entry.peak / 1024:,.0f} | {entry.retained / 1024:,.0f} "
                f"| {peak} | {kept} |"
            )


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
            row.wall_per_round.clear()
        for _ in range(args.rounds):
            for row in rows:
                await measure(row, args.calls)
    finally:
        parsing.set_json_decoder(None)
        parsing.set_fast_path(fast_default)
        parsing.set_gc_pause(False)
        await cc.aclose()
        await raw.aclose()
    print_table(rows, args.rounds, args.calls, memory_rows(bodies))
    return 0


if __name__ == "__main__":
    from scripts.bench_common import recording

    with recording("percall"):
        sys.exit(asyncio.run(main()))
