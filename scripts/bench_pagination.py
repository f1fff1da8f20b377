"""Benchmark: walking a long list sequentially vs with pages in flight (not a test; prints a table).

A local list server (aiohttp, a subprocess on 127.0.0.1, 20 ms added per request) serves
``GET .../customers`` by ``count``/``offset``; the client walks it with ``CareCloud.paginate``
sequentially (the baseline) and with 4 and 8 pages in flight. Peak memory is the tracemalloc
peak of the walk (items are counted, not kept), measured at two list sizes to show it is flat.

Each wall time is the median of ``--repeat`` walks (3 by default): on a small machine one walk
can be off by 20 % either way.

    python -m scripts.bench_pagination [--items 10000] [--page-size 100] [--latency-ms 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass

from carecloud_api.api.customers import get_customers

from carecloud_async import RetryPolicy
from scripts.bench_common import bench_client, recording
from scripts.server_process import start_server_process

PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"


def serve(port: int, total: int, latency: float) -> None:
    """Run the list server until killed (used in the subprocess)."""
    from aiohttp import web

    async def login(request: web.Request) -> web.Response:
        return web.json_response({"data": {"bearer_token": "bench", "valid_to": "2099-01-01 00:00:00"}})

    async def customers(request: web.Request) -> web.Response:
        count, offset = int(request.query["count"]), int(request.query["offset"])
        await asyncio.sleep(latency)
        items = [
            {
                "customer_id": f"c{i:08d}",
                "personal_information": {"first_name": "Jane", "last_name": f"Doe {i}", "language_id": "en"},
            }
            for i in range(offset, min(total, offset + count))
        ]
        return web.json_response({"data": {"customers": items, "total_items": total}})

    app = web.Application()
    app.router.add_post(f"{PREFIX}/users/actions/login", login)
    app.router.add_get(f"{PREFIX}/customers", customers)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class Result:
    mode: str
    items: int
    pages: int
    seconds: float
    peak_mib: float
    #: Client CPU time per page (process time of the walk / pages): what concurrency cannot hide.
    cpu_ms_per_page: float


async def walk(port: int, concurrency: int, page_size: int, *, trace: bool) -> tuple[int, int, float, float, float]:
    """Walk the list once: (items, pages, wall s, client CPU s, peak MiB). With ``trace`` the
    tracemalloc peak is measured (slow: the times are then not meaningful)."""
    async with bench_client(f"http://127.0.0.1:{port}", retry=RetryPolicy.disabled()) as cc:
        await cc.call(get_customers.call, count=1)  # log in and warm the pool outside the timing
        gc.collect()
        if trace:
            tracemalloc.start()
        start, cpu_start = time.perf_counter(), time.process_time()
        items = pages = 0
        async for page in cc.paginate(get_customers, page_size=page_size, concurrency=concurrency).pages():
            pages += 1
            items += len(page.items)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak = 0
        if trace:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return items, pages, seconds, cpu, peak / 2**20


def run_server(total: int, latency: float) -> tuple[subprocess.Popen[bytes], int]:
    """This script's list server (``--serve``) in a process of its own: (process, port)."""

    def command(port: int) -> list[str]:
        serve = ["--serve", str(port), "--items", str(total), "--latency-ms", str(latency * 1000)]
        return [sys.executable, "-m", "scripts.bench_pagination", *serve]

    return start_server_process(command, "the benchmark server")


def measure(total: int, latency: float, page_size: int, modes: list[int], repeat: int) -> list[Result]:
    process, port = run_server(total, latency)
    try:
        results = []
        for concurrency in modes:
            # Time and memory in separate walks: tracemalloc slows every allocation several-fold.
            times, cpus = [], []
            for _ in range(repeat):
                items, pages, seconds, cpu, _ = asyncio.run(walk(port, concurrency, page_size, trace=False))
                assert items == total, (items, total)
                times.append(seconds)
                cpus.append(cpu)
            seconds = statistics.median(times)
            *_, peak = asyncio.run(walk(port, concurrency, page_size, trace=True))
            assert items == total, (items, total)
            name = "sequential" if concurrency == 1 else f"{concurrency} in flight"
            results.append(Result(name, items, pages, seconds, peak, statistics.median(cpus) / pages * 1000))
        return results
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3, help="timed walks per mode (the median is shown)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    if args.serve:
        serve(args.serve, args.items, latency)
        return 0
    results = measure(args.items, latency, args.page_size, [1, 4, 8], args.repeat)
    small = measure(args.items // 5, latency, args.page_size, [1, 8], args.repeat)
    print(
        f"\nWalking {args.items:,} items, page size {args.page_size}, {args.latency_ms:g} ms added per request, "
        f"median of {args.repeat} walks\n"
    )
    print("| mode | items | pages | wall s | speed-up | client CPU ms/page | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for group in (results, small):  # each speed-up is against the sequential walk of the same list
        for r in group:
            speed = group[0].seconds / r.seconds
            row = [r.mode, f"{r.items:,}", str(r.pages), f"{r.seconds:.2f}", f"{speed:.1f}x"]
            print("| " + " | ".join([*row, f"{r.cpu_ms_per_page:.2f}", f"{r.peak_mib:.2f}"]) + " |")
    speedup = results[0].seconds / results[2].seconds
    flat = results[2].peak_mib / max(small[1].peak_mib, 1e-9)
    print(f"\nTarget: 8 in flight >= 5x sequential: {speedup:.1f}x -> {'PASS' if speedup >= 5 else 'FAIL'}")
    print(
        f"Target: memory flat in the number of items: peak at {args.items:,} items / at {args.items // 5:,} "
        f"= {flat:.2f} (growing with the list it would be 5.00) -> {'PASS' if flat < 1.5 else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    with recording("pagination"):
        sys.exit(main())
