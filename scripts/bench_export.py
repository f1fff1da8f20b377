"""Benchmark: memory of ``carecloud export`` (page by page to a file) against collecting the list
first (not a test; prints a table).

A local list server (scripts/bench_pagination.py's, a subprocess on 127.0.0.1) serves
``GET .../customers`` by ``count``/``offset``. Each mode exports the whole list to a JSON Lines
file at two list sizes; peak memory is the tracemalloc peak of the export. The baseline collects
every item (``paginate(...).collect()``) and then writes them: its peak grows with the list. The
export's peak should stay flat (the ratio of the two sizes near 1).

    python -m scripts.bench_export [--small 2000] [--large 20000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

from carecloud_api.api.customers import get_customers

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async.cli import ListExport
from scripts.bench_common import bench_client, recording
from scripts.bench_pagination import run_server


async def streamed(cc: CareCloud, path: Path, page_size: int) -> int:
    summary = await ListExport("getCustomers", path, page_size=page_size, overwrite=True).run(cc)
    return summary.written


async def collected(cc: CareCloud, path: Path, page_size: int) -> int:
    items = await cc.paginate(get_customers, page_size=page_size).collect()
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item.to_dict(), separators=(",", ":")) + "\n")
    return len(items)


Mode = Callable[[CareCloud, Path, int], Awaitable[int]]


async def measure(port: int, mode: Mode, page_size: int) -> tuple[int, float, float]:
    """(items, wall s, peak MiB) of one export under tracemalloc."""
    async with bench_client(f"http://127.0.0.1:{port}", retry=RetryPolicy.disabled()) as cc:
        await cc.authenticate()
        with tempfile.TemporaryDirectory() as folder:
            gc.collect()
            tracemalloc.start()
            start = time.perf_counter()
            items = await mode(cc, Path(folder) / "out.jsonl", page_size)
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return items, seconds, peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_export", description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)
    rows = []
    for size in (args.small, args.large):
        process, port = run_server(size, 0.0)
        try:
            for name, mode in (("collect, then write (baseline)", collected), ("carecloud export", streamed)):
                items, seconds, peak = asyncio.run(measure(port, mode, args.page_size))
                assert items == size, f"{name} wrote {items} of {size} items"
                rows.append((name, size, seconds, peak))
        finally:
            process.kill()
            process.wait()
    print(f"JSON Lines export of a list, page size {args.page_size}, tracemalloc peak (wall times include it)\n")
    print("| mode | items | wall s | peak MiB | peak large / small |")
    print("|---|---:|---:|---:|---:|")
    for name in ("collect, then write (baseline)", "carecloud export"):
        small, large = (row for row in rows if row[0] == name)
        for row in (small, large):
            ratio = f"{large[3] / small[3]:.2f}" if row is large else ""
            print(f"| {name} | {row[1]:,} | {row[2]:.2f} | {row[3]:.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    with recording("export"):
        raise SystemExit(main())
