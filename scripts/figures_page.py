"""Render the docs site's page of measured figures (``docs/guide/measured.md``) from the results
the benchmarks keep in ``docs/figures/<bench>.json``.

No figure on that page is typed by hand: the text around the tables (what each benchmark
measures, against which baseline, and its targets) is held here, every number comes from a
results file, which ``scripts.bench_common.recording`` writes from what the benchmark printed,
with the command, the machine, the date and the commit of the run. ``tests/test_figures_page.py``
fails when the committed page is not what this script renders from the committed results.

    make figures                          # run every benchmark, then render the page
    python -m scripts.figures_page        # render the page from the committed results
    python -m scripts.figures_page --check
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "figures"
PAGE = ROOT / "docs" / "guide" / "measured.md"


@dataclass(frozen=True)
class Bench:
    name: str  # docs/figures/<name>.json, scripts/bench_<name>.py
    title: str
    about: str  # what it measures, the baseline, the targets: text only, never a measured figure


BENCHES = [
    Bench(
        "import",
        "Import cost",
        """What `from carecloud_async import CareCloud` and one generated endpoint cost a fresh
interpreter, against `import httpx` as the baseline: every case runs in its own interpreter,
interleaved with the others, medians over the runs; CPU is the child's user + system time
(`os.wait4`), compared with httpx round by round (the median of the paired ratios, with the middle
half of them as the spread). Memory is the child's own peak RSS (`VmHWM`, which it prints as it
ends), not `ru_maxrss`: on Linux a child starts as a copy of the benchmark process and keeps that
copy's high-water mark across `exec`, so `ru_maxrss` read the benchmark's own size for every row.
Every row runs with httpx's optional command line blocked
(`sys.modules['click'] = None` first): when click, rich and pygments are installed, as in our dev
environment (uvicorn brings click), `import httpx` also loads `httpx._main`, which a user without
them never pays. The contrast row imports all 852 models, to show what loading them lazily saves.

Targets: wall time within 2x of `import httpx` and peak memory under 60 MiB (issue 2); CPU of the
client and one endpoint within 1.5x of `import httpx` (issue 15). A fresh interpreter per case
varies by a tenth between runs, so read the ratios with that margin: the CPU target's spread is
printed beside it.

What remains over httpx is mostly the generated code: attrs (every model and
`carecloud_api.Client` are attrs classes) and the few model modules the endpoint needs. Not loaded
by the import, and kept out by `tests/test_import_footprint.py`: `asyncio` (imported inside the
functions that run in an event loop), `tenacity` (by the first retry), `zoneinfo` (when an
Enterprise auth is built), `difflib` (only for a "did you mean"), each API's auth module (by its
factory), the paginator and the argument checks (by the first call). `python -X importtime` shows
the rest module by module.""",
    ),
    Bench(
        "percall",
        "Per-call cost",
        """One process, one in-process `httpx.MockTransport`, interleaved rounds of calls per row,
medians. Bodies from the spec's examples: a `GET /customers` page of 100 customers and a
`GET /purchases` page of 100 purchases with 5 items each. Whole calls are compared with raw httpx
(`get` + `response.json()`), parsing with `json.loads` of the same bytes; the orjson rows need the
`fast` extra.

Targets (issue 15): `from_dict` of a decoded page within 1.0x of `json.loads`, and `CareCloud.call`
within 1.8x of raw httpx, with the standard library's json; CPython 3.10, which has no
specialising interpreter, is slower here than 3.11 and later.

What separates `CareCloud.call` from raw httpx: building the typed models, a few microseconds of
the layer (see [Layer overhead](#layer-overhead)), and the cyclic garbage collector, which runs
more often while models are built beside the decoded JSON. Pausing it while parsing
(`carecloud_api.parsing.set_gc_pause(True)`, a process-wide setting the library leaves to the
application and the `carecloud` command uses) removes most of that: the `set_gc_pause` rows. The
benchmark drops each page at once, so with the pause its models never meet a collection. Parsing
is fast because `from_dict` reads a model's fields with one `operator.itemgetter` call when the
mapping has exactly the model's keys, a model with no unknown field stores no empty
`unknown_fields` dict, and the generated functions put the query string into the URL instead of
having httpx parse it twice.

**The floor (issue 27).** The fastest way Python turns response bytes into typed objects is
msgspec's `msgspec.json.decode(content, type=...)`: it decodes and builds typed objects in one pass
in C. The floor rows decode the same two pages into `msgspec.Struct` types written for the
benchmark (`scripts/bench_floor.py`: the same fields and types as our models, dates and int enums
included), after a raw httpx `get` ("the floor" of the call rows) and alone (the floor of the
parsing rows). Every row also shows its ratio to the floor of its kind, in CPU time and in wall
time. Targets, with the `fast` extra on Python 3.11 and later: `CareCloud.call` within 1.5x of the
floor call, and our typed parse of the bytes (`parsing.parse`, the "msgspec fast path" rows) within
1.5x of msgspec's typed decode; with the standard library alone, no regression from before (the
json and orjson rows, which run with the fast path off).

The design: msgspec cannot decode into our attrs models directly. Their fields are annotated
`str | Unset` (msgspec takes no custom type beside others in a union), msgspec would look up each
field by its attribute name where the JSON key differs (the key `zip` is the attribute `zip_`),
unknown fields would be dropped silently where the models keep them in `unknown_fields`, and the
tolerant reading of stray
nulls and odd values (see `carecloud_api.parsing`) has no place in a typed decode. So `make
generate` writes, beside each model, a strict msgspec Struct that takes exactly what the spec
describes (each field's own type, null only where the spec allows it, no undeclared field) and a
`_from_wire` that copies a decoded Struct into the attrs model, its nested models built in place
in the same function (no call per model, a list of models turned into models in the list msgspec
decoded). `parsing.parse` tries that first; a body with anything else makes the decode fail and
the tolerant `from_dict` reads it, so the result, its `unknown_fields` and `raw_values` are the
same either way (`tests/test_typed_fast_path.py` holds every example model and fuzzed bodies to
it). Strict mode, `parsing.set_fast_path(False)` and `CARECLOUD_FAST_PARSE=0` leave every body
to `from_dict`.

Where the remaining gap is, in the last table ("Where the typed parse's time goes"): our decode
into the generated Structs costs a little less than the floor's decode (they are untracked by the
collector); what we add is the copy into the attrs models in Python, about 0.7x of the floor's
decode on the customers page and 0.6x on the purchases page. That copy is close to the least
Python can do: each model is an object created and later freed from Python (`object.__new__`,
about 110 ns, where msgspec builds a Struct in C for a fraction of that) and each field a slot
store (about 6 ns), for models larger than the measured `Address`; the copy of pages small
enough for the CPU caches costs the same per model. The collector's share is about the same for
the floor as for us (both build tracked objects); `set_gc_pause(True)` rows show what pausing it
saves in this benchmark, where each page is dropped before the next collection, which a real
application holding its pages would not see, so it stays the application's choice.

How far C alone would go: the row "msgspec typed decode into attrs classes" decodes the same
pages into the floor's types made slotted attrs classes (`scripts/bench_floor.py`, `attrs_twin`),
which msgspec builds in C with no copy at all. It lands at about 1.4x to 1.5x of the floor, a
little below our typed parse: building a page of attrs objects, even in C, costs about half as
much again as building Structs, the cheapest objects msgspec makes. A decode straight into our
models would also lose what they keep, so the two-pass design stays.

So the 1.5x targets of issue 27 sit at the line: the generated `call()` on a bare Client is
within them, while `CareCloud.call` (the layer adds its few microseconds) and the typed parse
alone miss them by a few percent on both pages; Python 3.12 and 3.13 give the same picture.
Closing the rest would take building the attrs objects in C:
msgspec decoding into attrs classes directly, which it cannot do for these models (their fields
are annotated `str | Unset`, msgspec reads attrs fields by attribute name where the key `zip` is
the attribute `zip_`, and it drops unknown keys of attrs classes silently, where the models keep
them in `unknown_fields`; `forbid_unknown_fields` exists for Structs only), or a compiled copy.""",
    ),
    Bench(
        "layer",
        "Layer overhead",
        """What `carecloud_async` adds per call. Every row sends `GET /customers` through the same
in-process `httpx.MockTransport` answering a page of the spec's example customers; CPU time per
call, median of interleaved rounds; "layer" is the row minus the generated `call()` on a bare
generated `Client`. With 100 customers the medians move between runs by more than the layer
itself; `python -m scripts.bench_layer --customers 0` (an empty page) shows the layer best, and
`--parts` times each part of our httpx stack alone (the auth flow with its `Authorization` header,
our default headers, the request and response hooks, the retry transport). The first attempt goes
out directly: only a 429, a 503 or a connection error enters tenacity's retry loop. Target
(issue 15): `cc.call` within 1.8x of raw httpx.""",
    ),
    Bench(
        "arguments",
        "Argument checks",
        """What the run-time argument checks cost (the checks a call runs before anything is sent:
names, missing arguments, each value against the generated function's annotation). The checks
alone for a list call with four filters and for a body with nested fields, a 1,000-item batch body
against that body's own `to_dict()` (which sending it costs anyway), the first check of an
operation (`typing.get_type_hints`, then cached), and as the baseline a whole `cc.call` through
`httpx.MockTransport`: the cheapest call there can be, since a real one adds a network round trip
of milliseconds.""",
    ),
    Bench(
        "pagination",
        "Pagination",
        """Walking a list of 10,000 items, page size 100, from a local aiohttp server on 127.0.0.1
that adds 20 ms to every request, sequentially and with 4 and 8 pages in flight, median of 3
walks per mode; then a list of 2,000 items, to see whether memory grows with the list. Targets:
8 pages in flight at least 5x faster than sequential, and memory flat in the list length (the peak
at 10,000 items over the peak at 2,000 would be 5 if it grew with the list). What remains per page
is mostly httpx's CPU time, which concurrency cannot hide.""",
    ),
    Bench(
        "cache",
        "Cache and rate limit",
        """The fake CareCloud in its own process
(`python -m carecloud_async.testing --latency-ms 20`, every request checked against the spec)
adds 20 ms to every answer and sends `Cache-Control: max-age=60` on the catalogue's; 50
concurrent "tills" each read the same 20 catalogue resources 3 times through one Enterprise
client, with the cache off (the baseline) and on (`cache=True`, dedupe with it), median of 3 runs.
Targets: at least 10x fewer requests at the server and 5x lower wall time. The cached side is CPU
time (hishel, the dedupe, httpx), which a loaded machine stretches.

Then a burst of 500 different GETs against the same server answering 429 (`Retry-After: 1`) above
40 requests per second, retries at their defaults (4 attempts), without a client rate limit and
with `rate_limit=` at 90 % of the server's.""",
    ),
    Bench(
        "export",
        "Export memory",
        """`carecloud export` against collecting the list first and then writing it: a local list
server, JSON Lines, page size 100, the tracemalloc peak of the export. Collecting grows with the
list; the export writes and flushes every page as it arrives, so ten times the items should cost
about the same memory.""",
    ),
    Bench(
        "outbox",
        "Outbox",
        """The purchase outbox ([Sending purchases from a POS](outbox.md)). Durable submits: each is
committed before `submit` returns; the baseline is a bare `sqlite3` insert + commit with
`synchronous=FULL` in WAL mode on the same disk, i.e. the disk's fsync rate. One submitter goes as
fast as the disk syncs; concurrent submitters share a commit (group commit). Then a drain of 2,000
queued purchases over 40 cash desks against the fake CareCloud answering in 20 ms (SQLite store),
with 1, 4 and 8 sends in flight; each cash desk is sent in order, one at a time, so sends in flight
help across cash desks only, and at 8 in flight the client's CPU per purchase (mostly the HTTP
request through httpx) limits the drain. Targets: at least 500 durable submits per second on
SQLite, and 8 sends in flight draining at least 5x faster than 1.""",
    ),
    Bench(
        "soak",
        "Connection pool under load",
        """The connection pool ([Configuration](configuration.md#the-connection-pool)) under load,
cancellations, faults and close, over real loopback sockets. `scripts/fault_server.py` in its own
process answers `GET /customers` after 20 ms; the client is `CareCloud.enterprise` with its
default pool, a 10 s pool timeout and `RetryPolicy(retry_on_read_timeout=True)`. Phases, each for
its share of the duration: 50, 200 and 1,000 callers calling in a loop; 200 callers giving up their
calls at random points; 100 callers while the server resets 2 % of the connections and answers 503
to 5 %; 20 paginated walks (4 pages in flight) under those faults, most left early or cut off; 200
calls in flight when the client is closed.

Columns: calls completed per second, latency p50/p99 of the completed calls, errors by type
(`cancelled` counts the calls the phase itself gave up), the process's RSS, open file descriptors
and asyncio tasks after the phase, new TCP connections per request, sockets in `TIME_WAIT` towards
the server, "orphaned" pool connections (in use by no request once the phase is over: the next
calls would wait for them in vain) and "stuck" calls (still running well past their pool timeout
after their phase ended). What to look for: throughput that holds from 50 to 1,000 callers,
connections reused (new connections per request near 0), nothing orphaned or stuck, and no socket
left open after close. Before the client queued requests in front of httpx's pool (commit
`26145a5`), cancelled calls left every connection orphaned, so later calls waited forever, and
closing left sockets established: run the benchmark at that commit to see it.""",
    ),
]

INTRO = """# Measured

Every figure on this page comes from a benchmark's own output: `make figures` runs each
`scripts/bench_*.py` (the `make bench-*` targets), which keeps what it printed in
`docs/figures/<bench>.json` with the command, the machine, the date and the commit of the run,
and `python -m scripts.figures_page` renders this page from those files
(`tests/test_figures_page.py` fails if the page differs from them). Speed and memory targets are
checked here, by benchmarks that compare against a baseline measured in the same run, never by
timed tests.

These runs were made on a 2-core machine shared with other builds (each run gives its load
average at start and end), so absolute times are several times an idle machine's and vary between
runs: read the ratios against each table's baseline, which was measured in the same run under the
same load. To measure your own machine, run `make figures` (`DURATION=60` for a longer soak) or one
`make bench-*` target.
"""


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_output(blocks: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if "text" in block:
            lines += [block["text"], ""]
            continue
        lines.append("| " + " | ".join(cell(c) for c in block["header"]) + " |")
        lines.append("|" + "|".join(block["align"]) + "|")
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block["rows"]]
        lines.append("")
    return lines


def render_run(result: dict[str, Any]) -> list[str]:
    machine = result["machine"]
    before, after = result["load_average"]
    return [
        f"Run: `{result['command']}`, {result['started']}, commit `{result['commit']}`, took "
        f"{result['seconds']} s; {machine['cpu']}, {machine['cores']} cores, {machine['implementation']} "
        f"{machine['python']} on {machine['platform']}; load average {before} at the start, {after} at the end.",
        "",
    ]


def render(results: Path = RESULTS) -> str:
    lines = [INTRO]
    for bench in BENCHES:
        lines += [f"## {bench.title}", "", bench.about, ""]
        path = results / f"{bench.name}.json"
        if not path.is_file():
            lines += [f"Not measured yet: `make bench-{bench.name}` with `BENCH_RESULTS=docs/figures`.", ""]
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        lines += render_run(result)
        lines += render_output(result["output"])
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.figures_page", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is not what the results give")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE.relative_to(ROOT)} is not what the results give: run python -m scripts.figures_page")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
