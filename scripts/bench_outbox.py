"""Benchmark: durable submits per second and the drain rate of the purchase outbox (not a test).

1. Durable submits: ``Outbox.submit`` until it returns (committed), one submitter at a time and
   16 at once (a back office serving many cash desks), on SQLite (``synchronous=FULL``, WAL) and on
   PostgreSQL (the pgserver wheel's server, or Debian's where that wheel is absent, on a temporary
   directory, ``synchronous_commit=on``). The baseline in the same run: bare ``sqlite3`` insert +
   commit with ``synchronous=FULL`` in WAL on the same disk, i.e. what the disk's fsync allows.
2. Drain: ``--purchases`` (2,000) queued purchases over ``--desks`` (40) cash desks, sent by
   ``Outbox.send_due`` to the fake CareCloud (``python -m carecloud_async.testing``, a subprocess
   on 127.0.0.1 that checks every request against the spec and keeps each bill_id once,
   ``--latency-ms`` 20 ms added to every answer) with 1, 4 and 8 sends in flight.

    python -m scripts.bench_outbox [--purchases 2000] [--desks 40] [--latency-ms 20] [--submits 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async.outbox import Outbox, State
from carecloud_async.testing import DEFAULT_ENTERPRISE_USER, sample_purchase
from scripts.bench_common import recording
from scripts.postgres_server import start_postgres
from scripts.server_process import start_server_process

CONCURRENT_SUBMITTERS = 16


def bare_sqlite_commits(folder: Path, count: int) -> float:
    """Commits/s of bare sqlite3 (WAL, synchronous=FULL): the disk's own limit."""
    with sqlite3.connect(folder / "bare.sqlite3", isolation_level=None) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        body = sample_purchase("X").to_dict().__repr__()
        start = time.perf_counter()
        for _ in range(count):
            db.execute("INSERT INTO t (body) VALUES (?)", (body,))
        return count / (time.perf_counter() - start)


async def submits_per_second(location: str, count: int, submitters: int) -> float:
    async with Outbox(location) as outbox:
        await outbox.submit(sample_purchase(f"warm-{submitters}"))
        per = count // submitters

        async def desk(number: int) -> None:
            for n in range(per):
                await outbox.submit(sample_purchase(f"S{submitters}-{number}-{n}", cashdesk_number=number))

        start = time.perf_counter()
        await asyncio.gather(*(desk(number) for number in range(submitters)))
        seconds = time.perf_counter() - start
        stored = (await outbox.counts())[State.PENDING]
    assert stored >= per * submitters, "a submit was lost"
    return per * submitters / seconds


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    """The fake CareCloud in a process of its own, ``latency_ms`` added to every answer: (process, port)."""

    def command(port: int) -> list[str]:
        slow = str(latency_ms / 1000)
        return [sys.executable, "-m", "carecloud_async.testing", "--port", str(port), "--slow", slow]

    return start_server_process(command, "the fake CareCloud")


async def drain_seconds(folder: Path, port: int, purchases: int, desks: int, concurrency: int) -> float:
    path = folder / f"drain-{concurrency}.sqlite3"
    async with Outbox(path) as outbox:
        for n in range(purchases):
            await outbox.submit(sample_purchase(f"D{concurrency}-{n}", cashdesk_number=n % desks))
        login, password, application = DEFAULT_ENTERPRISE_USER
        cc = CareCloud.enterprise(
            f"http://127.0.0.1:{port}",
            user_external_application_id=application,
            login=login,
            password=password,
            retry=RetryPolicy.disabled(),
        )
        async with cc:
            await cc.authenticate()
            start = time.perf_counter()
            summary = await outbox.send_due(cc, concurrency=concurrency)
            seconds = time.perf_counter() - start
        sent = (await outbox.counts())[State.SENT]
    if sent != purchases or len(summary.sent) != purchases:
        raise SystemExit(f"drain at {concurrency} in flight sent {sent} of {purchases}")
    return seconds


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=2000)
    parser.add_argument("--desks", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--submits", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        folder = Path(tmp)
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}")
        bare = bare_sqlite_commits(folder, args.submits)
        rows = [["bare sqlite3 insert + commit, FULL (baseline: the disk)", f"{bare:,.0f}", "1.00x"]]
        measure: list[tuple[str, Callable[[], Coroutine[Any, Any, float]]]] = []
        sqlite_path = str(folder / "submits.sqlite3")
        measure.append(("SQLite outbox, 1 submitter", lambda: submits_per_second(sqlite_path, args.submits, 1)))
        measure.append(
            (
                f"SQLite outbox, {CONCURRENT_SUBMITTERS} submitters",
                lambda: submits_per_second(sqlite_path, args.submits * 2, CONCURRENT_SUBMITTERS),
            )
        )
        pg = start_postgres(folder / "pg")
        try:
            pg.psql("CREATE DATABASE bench;")
            uri = str(pg.get_uri("bench"))
            measure.append(("PostgreSQL outbox, 1 submitter", lambda: submits_per_second(uri, args.submits, 1)))
            measure.append(
                (
                    f"PostgreSQL outbox, {CONCURRENT_SUBMITTERS} submitters",
                    lambda: submits_per_second(uri, args.submits * 2, CONCURRENT_SUBMITTERS),
                )
            )
            for name, run in measure:
                rate = asyncio.run(run())
                rows.append([name, f"{rate:,.0f}", f"{rate / bare:.2f}x"])
        finally:
            pg.cleanup()
        table("Durable submits (committed before submit returns)", ["case", "submits/s", "vs bare"], rows)

        server, port = start_server(args.latency_ms)
        try:
            drains = []
            for concurrency in (1, 4, 8):
                seconds = asyncio.run(drain_seconds(folder, port, args.purchases, args.desks, concurrency))
                drains.append((concurrency, seconds))
        finally:
            server.kill()
            server.wait()
        base = drains[0][1]
        table(
            f"Drain: {args.purchases:,} queued purchases over {args.desks} cash desks, "
            f"{args.latency_ms:g} ms per send (SQLite outbox)",
            ["sends in flight", "wall s", "purchases/s", "speed-up"],
            [[str(c), f"{s:.2f}", f"{args.purchases / s:,.0f}", f"{base / s:.1f}x"] for c, s in drains],
        )


if __name__ == "__main__":
    with recording("outbox"):
        main()
