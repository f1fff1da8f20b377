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
  with each decoder, to compare with the typed decode alone; and msgspec's decode into the
  floor's types made attrs classes (``bench_floor.attrs_twin``), what building attrs objects in C
  costs beside Structs.

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
the result keeps), ours against the floor's. A third (with msgspec) shows where the typed parse's
time goes beside the floor's decode: our decode into the generated Structs, the copy into the
attrs models, that copy in pages small enough for the CPU caches, and the least a copy in Python
can cost (the models times creating and freeing one, plus the fields times one slot store, both
measured in the same run), with the garbage collector off, then both parses with it on.

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
from collections.abc import Awaitable, Callable, Mapping
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
ATTRS_FLOOR = "msgspec typed decode into attrs classes (the floor's types as attrs)"


def floor_types() -> dict[str, type[Any]]:
    """path -> the msgspec type of that page (``scripts.bench_floor``, written for this benchmark)."""
    from scripts import bench_floor

    return {"/customers": bench_floor.CustomersPage, "/purchases": bench_floor.PurchasesPage}


@functools.cache
def attrs_types() -> dict[str, type[Any]]:
    """path -> the floor's type of that page as slotted attrs classes (``bench_floor.attrs_twin``):
    what msgspec's decode costs when it builds attrs objects, in C, instead of Structs."""
    from scripts import bench_floor

    return {path: bench_floor.attrs_twin(struct) for path, struct in floor_types().items()}


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
            decode_attrs = msgspec.json.Decoder(attrs_types()[path]).decode
            rows.append(Row(page, ATTRS_FLOOR, loads_label, lambda b=body, d=decode_attrs: d(b), False, parse_floor))
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
            decode_attrs: Callable[[bytes], Any] = msgspec.json.Decoder(attrs_types()[path]).decode
            decode_attrs(body)
            found.append(measure_memory(page, ATTRS_FLOOR, functools.partial(decode_attrs, body)))
        for name, decode, fast in parse_modes(decoders):
            use(decode, fast)
            parsing.parse(model.from_dict, body)  # warm: the models' lazy imports, the fast path's decoder
            label = f"typed parse of the bytes, parsing.parse ({name})"
            found.append(measure_memory(page, label, functools.partial(parsing.parse, model.from_dict, body)))
        use(json.loads, False)
    parsing.set_json_decoder(None)
    parsing.set_fast_path(fast_default)
    return found


@dataclass
class Step:
    page: str
    label: str
    us: float  # CPU microseconds, median over repeats
    models: int = 0  # objects of the body (models built) where the step builds them
    fields: int = 0  # keys of those objects (fields set)


def _cpu_us(run: Callable[[], Any], calls: int) -> float:
    """CPU microseconds per call of ``run`` over ``calls`` calls."""
    started = time.thread_time()
    for _ in range(calls):
        run()
    return (time.thread_time() - started) / calls * 1e6


def _interleaved(runs: Mapping[str, Callable[[], Any]], repeats: int, calls: int = 20) -> dict[str, float]:
    """CPU microseconds per call of each run, the median over ``repeats`` interleaved rounds (each
    run once a round, so that a busy moment slows each alike)."""
    found: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            found[name].append(_cpu_us(run, calls))
    return {name: statistics.median(times) for name, times in found.items()}


# The unit costs of the copy, in loops with no call around each pass (as in a generated
# _from_wire): the loop alone, creating and freeing an Address, and that with nine slot stores.
def _empty_loop(passes: int, wire: Any) -> None:
    for _ in range(passes):
        made = wire  # noqa: F841 (a store, as the other loops' passes make)


def _create_loop(passes: int, wire: Any) -> None:
    from carecloud_api.models import Address

    new = object.__new__
    for _ in range(passes):
        made = new(Address)  # noqa: F841 (freed at the next pass: create and free)


def _copy_loop(passes: int, wire: Any) -> None:
    from carecloud_api.models import Address

    new = object.__new__
    for _ in range(passes):
        made = new(Address)
        made.address1 = wire.address1
        made.address2 = wire.address2
        made.address3 = wire.address3
        made.address4 = wire.address4
        made.address5 = wire.address5
        made.address6 = wire.address6
        made.address7 = wire.address7
        made.zip_ = wire.zip_
        made.city = wire.city


COPY_LOOP_STORES = 9
UNIT_PASSES = 20_000


def body_counts(body: bytes) -> tuple[int, int]:
    """(objects, keys) of a JSON body: the models a typed parse builds and the fields it sets.

    >>> body_counts(b'{"data": {"items": [{"a": 1}, {"a": 2, "b": {}}], "total": 2}}')
    (5, 6)
    """
    objects = keys = 0
    stack = [json.loads(body)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            objects += 1
            keys += len(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return objects, keys


SMALL_PAGE = 20


def small_page(body: bytes, items: int) -> bytes:
    """The page ``body`` with only its first ``items`` items (``{"data": {<list>: [...], ...}}``).

    >>> small_page(b'{"data": {"customers": [1, 2, 3], "total_items": 3}}', 2)
    b'{"data": {"customers": [1, 2], "total_items": 3}}'
    """
    page = json.loads(body)
    data = page["data"]
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = value[:items]
    return json.dumps(page).encode()


def _decode_and_copy(build: Callable[[Any], Any], decode: Callable[[bytes], Any], body: bytes) -> Any:
    return build(decode(body))


FLOOR_DECODE = "floor: msgspec decode into the benchmark's Structs"
FLOOR_WITH_GC = "floor with the collector on"
OURS_WITH_GC = "ours: typed parse with the collector on"
UNIT = "unit"


def breakdown_rows(bodies: dict[str, tuple[str, bytes, type[Any]]], repeats: int) -> list[Step]:
    """Where our typed parse spends its time beside msgspec's decode (issue 27), each step with
    the cyclic garbage collector off so that the steps add up, then both parses with it on:

    - the floor's decode (into the benchmark's Structs) and ours (into the generated Structs), each
      result freed as the next is made, as in the other rows;
    - ``_from_wire``, the copy of a decoded tree into the attrs models in Python (the decode and
      the copy, less the decode: the copy turns the decoded lists' items into models in place, so
      each pass needs a tree of its own), the models freed as the next are made;
    - the least such a copy can cost in Python: the models times creating and freeing one attrs
      object, plus the fields times one slot store, both measured here on ``Address``.
    """
    if msgspec is None:
        return []
    from carecloud_api.models import Address

    types = floor_types()
    steps: list[Step] = []
    was_enabled = gc.isenabled()
    use(orjson.loads if orjson is not None else json.loads, True)
    try:
        wire = msgspec.json.Decoder(Address._wire_struct()).decode(b'{"address1": "x", "city": "y"}')
        gc.disable()
        loops = {"empty": _empty_loop, "create": _create_loop, "copy": _copy_loop}
        unit = _interleaved(
            {name: functools.partial(loop, UNIT_PASSES, wire) for name, loop in loops.items()}, 3 * repeats, 1
        )
        per_object = (unit["create"] - unit["empty"]) / UNIT_PASSES  # microseconds
        per_field = max(unit["copy"] - unit["create"], 0.0) / UNIT_PASSES / COPY_LOOP_STORES
        for page, (path, body, model) in bodies.items():
            models, fields = body_counts(body)
            floor_decode = msgspec.json.Decoder(types[path]).decode
            our_decode = msgspec.json.Decoder(model._wire_struct()).decode
            build = model._from_wire
            parse = functools.partial(parsing.parse, model.from_dict, body)
            parse()  # warm: lazy imports, the fast path's decoder
            small = small_page(body, SMALL_PAGE)
            small_models = body_counts(small)[0]
            runs = {
                "floor": functools.partial(floor_decode, body),
                "small ours": functools.partial(our_decode, small),
                "small both": functools.partial(_decode_and_copy, build, our_decode, small),
                "ours": functools.partial(our_decode, body),
                "both": functools.partial(_decode_and_copy, build, our_decode, body),
                "parse": parse,
            }
            # Interleaved rounds (each run once a round), as in the main table, so that a busy
            # moment slows every step alike and the differences hold.
            gc.disable()
            found = _interleaved(runs, repeats)
            gc.enable()
            with_gc = _interleaved({"floor": runs["floor"], "parse": parse}, repeats)
            floor_us, ours_us, both_us, parse_us = found["floor"], found["ours"], found["both"], found["parse"]
            floor_gc_us, parse_gc_us = with_gc["floor"], with_gc["parse"]
            steps += [
                Step(page, FLOOR_DECODE, floor_us),
                Step(page, "ours: msgspec decode into the generated Structs", ours_us),
                Step(page, "ours: _from_wire, the copy into attrs models (Python)", both_us - ours_us, models, fields),
                Step(
                    page,
                    f"the copy in pages of {SMALL_PAGE} items (what the CPU caches hold), scaled to this page",
                    (found["small both"] - found["small ours"]) * models / small_models,
                    models,
                    fields,
                ),
                Step(
                    page,
                    "the least a Python copy costs: models x (create + free) + fields x store",
                    models * per_object + fields * per_field,
                    models,
                    fields,
                ),
                Step(page, "ours: typed parse, parsing.parse (all of it)", parse_us),
                Step(page, FLOOR_WITH_GC, floor_gc_us),
                Step(page, OURS_WITH_GC, parse_gc_us),
            ]
        steps.append(Step(UNIT, "create and free one attrs model from Python (object.__new__)", per_object))
        steps.append(Step(UNIT, "copy one field from a Struct into a model (a slot store)", per_field))
    finally:
        if was_enabled:
            gc.enable()
        parsing.set_json_decoder(None)
        parsing.set_fast_path(fast_default)
    return steps


def print_breakdown(steps: list[Step]) -> None:
    """The table of :func:`breakdown_rows`: each step against the floor's decode of its page (the
    parse with the collector on against the floor with it on)."""
    if not steps:
        return
    print(
        "\nWhere the typed parse's time goes (msgspec fast path): CPU time, the collector off but in "
        "the last two rows of each page, each row against the floor's decode of its page\n"
    )
    print("| page | step | CPU us | vs floor decode | models | fields |")
    print("|---|---|---:|---:|---:|---:|")
    floors = {step.page: step.us for step in steps if step.label == FLOOR_DECODE}
    floors_gc = {step.page: step.us for step in steps if step.label == FLOOR_WITH_GC}
    for step in steps:
        if step.page == UNIT:
            shown, ratio = f"{step.us * 1000:,.1f} ns", "-"
        else:
            shown = f"{step.us:,.0f}"
            base = floors_gc if step.label in (FLOOR_WITH_GC, OURS_WITH_GC) else floors
            ratio = f"{step.us / base[step.page]:.2f}x"
        models = f"{step.models:,}" if step.models else ""
        fields = f"{step.fields:,}" if step.fields else ""
        print(f"| {step.page} | {step.label} | {shown} | {ratio} | {models} | {fields} |")


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
    print_breakdown(breakdown_rows(bodies, max(5, min(args.rounds, 15))))
    return 0


if __name__ == "__main__":
    from scripts.bench_common import recording

    with recording("percall"):
        sys.exit(asyncio.run(main()))
