"""Benchmark: the HTTP cache + in-flight dedupe, and the client-side rate limit (not a test; prints tables).

The fake CareCloud (``python -m carecloud_async.testing``, a subprocess on 127.0.0.1, 20 ms added
to every answer, ``Cache-Control: max-age=60`` on the catalogue's GETs) counts what reaches it;
the benchmark reads and clears its counts through ``GET /__fake/counts`` and
``POST /__fake/clear-requests``.

1. Checkout read mix: 50 concurrent "tills" each read the same 20 catalogue resources (stores,
   card types, currencies, ...) ``--rounds`` times through one Enterprise client, with the cache
   off (the baseline) and on (``cache=True``, which brings dedupe). Requests reaching the
   server and wall time; the median of ``--repeat`` runs.
2. Burst: 500 calls, all different (nothing to cache), against the same server answering 429
   (``Retry-After: 1``) above ``--server-limit`` requests per second; without a client-side rate
   limit (retries on, as by default) and with ``rate_limit`` at 90 % of the server's limit.

    python -m scripts.bench_cache [--tills 50] [--rounds 3] [--latency-ms 20] [--server-limit 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from carecloud_async import APIError, CareCloud, EnterpriseCareCloud, RetryPolicy
from carecloud_async.testing import DEFAULT_ENTERPRISE_USER, RequestCounts
from scripts.bench_common import recording

CATALOGUE = [
    "stores",
    "card-types",
    "currencies",
    "product-groups",
    "product-brands",
    "rewards",
    "reward-types",
    "vouchers",
    "customer-sources",
    "customer-types",
    "countries",
    "languages",
    "payment-types",
    "product-properties",
    "segments",
    "campaigns",
    "credits",
    "point-types",
    "store-properties",
    "event-types",
]


@contextmanager
def fake_process(latency_ms: float, rate_limit: int | None = None) -> Iterator[str]:
    """The fake CareCloud in a subprocess (off the client's CPU and GIL); yields its origin."""
    command = [sys.executable, "-m", "carecloud_async.testing", "--latency-ms", str(latency_ms)]
    for path in CATALOGUE:
        command += ["--cache-control", f"/{path}=max-age=60"]
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if line[:1] != ["listening"]:
            raise RuntimeError(f"the fake CareCloud did not start: {line}")
        yield line[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def fake_client(origin: str, **options: Any) -> EnterpriseCareCloud:
    """An Enterprise client logged in as the user every fake knows."""
    login, password, app = DEFAULT_ENTERPRISE_USER
    return CareCloud.enterprise(origin, user_external_application_id=app, login=login, password=password, **options)


def counts(origin: str) -> RequestCounts:
    """What reached the fake since the last :func:`clear`."""
    with urllib.request.urlopen(f"{origin}/__fake/counts", timeout=10) as response:
        return RequestCounts.from_json(json.loads(response.read()))


def clear(origin: str) -> None:
    request = urllib.request.Request(f"{origin}/__fake/clear-requests", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@dataclass
class ReadMix:
    requests: int
    seconds: float


async def read_mix(origin: str, *, cache: bool, tills: int, rounds: int) -> ReadMix:
    async with fake_client(origin, cache=cache) as cc:
        await cc.authenticate()
        clear(origin)

        async def till() -> None:
            for _ in range(rounds):
                for path in CATALOGUE:
                    (await cc.http.get(path)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(till() for _ in range(tills)))
        seconds = time.perf_counter() - started
    return ReadMix(counts(origin).methods.get("GET", 0), seconds)


@dataclass
class Burst:
    calls: int
    failed: int
    answers_429: int
    retries: int
    seconds: float


async def burst(origin: str, *, calls: int, rate_limit: float | None) -> Burst:
    policy = RetryPolicy(max_attempts=4, max_retry_after=5)
    async with fake_client(origin, rate_limit=rate_limit, retry=policy) as cc:
        await cc.authenticate()
        await asyncio.sleep(1.1)  # the login's slot out of the server's window
        clear(origin)

        async def one(i: int) -> bool:
            try:
                response = await cc.http.get(f"customers?email=c{i:04d}%40example.com")
            except APIError:
                return False
            return response.status_code == 200

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(calls)))
        seconds = time.perf_counter() - started
    reached = counts(origin)
    # Every GET that reached the server beyond one per call was a retry (of a 429 or otherwise).
    return Burst(
        calls, results.count(False), reached.statuses.get(429, 0), reached.methods.get("GET", 0) - calls, seconds
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tills", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--server-limit", type=int, default=40)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    reads = args.tills * args.rounds * len(CATALOGUE)
    print(
        f"1. Checkout read mix: {args.tills} tills x {args.rounds} rounds x {len(CATALOGUE)} catalogue GETs "
        f"= {reads} calls, server latency {args.latency_ms:g} ms, median of {args.repeat}"
    )
    with fake_process(args.latency_ms) as origin:
        rows: dict[bool, list[ReadMix]] = {False: [], True: []}
        for _ in range(args.repeat):
            for cache in (False, True):
                rows[cache].append(asyncio.run(read_mix(origin, cache=cache, tills=args.tills, rounds=args.rounds)))
    off = ReadMix(
        int(statistics.median(r.requests for r in rows[False])), statistics.median(r.seconds for r in rows[False])
    )
    on = ReadMix(
        int(statistics.median(r.requests for r in rows[True])), statistics.median(r.seconds for r in rows[True])
    )
    print(f"| {'cache':<28} | {'requests at server':>18} | {'wall time':>10} |")
    print(f"|{'-' * 30}|{'-' * 20}|{'-' * 12}|")
    print(f"| {'off (baseline)':<28} | {off.requests:>18} | {off.seconds:>8.2f} s |")
    print(f"| {'on (cache=True, dedupe)':<28} | {on.requests:>18} | {on.seconds:>8.2f} s |")
    print(
        f"| {'ratio off/on':<28} | {off.requests / max(on.requests, 1):>17.0f}x | "
        f"{off.seconds / max(on.seconds, 1e-9):>9.1f}x |"
    )

    limit = args.server_limit * 0.9
    print(
        f"\n2. Burst: {args.calls} different GETs at once; the server answers 429 above {args.server_limit}/s "
        f"(Retry-After: 1); retries: 4 attempts"
    )
    with fake_process(args.latency_ms, rate_limit=args.server_limit) as origin:
        without = asyncio.run(burst(origin, calls=args.calls, rate_limit=None))
        time.sleep(1.1)
        within = asyncio.run(burst(origin, calls=args.calls, rate_limit=limit))
    print(f"| {'client rate limit':<28} | {'429s at server':>14} | {'retries':>7} | {'calls failed':>12} | wall time |")
    print(f"|{'-' * 30}|{'-' * 16}|{'-' * 9}|{'-' * 14}|{'-' * 11}|")
    for name, row in (("none", without), (f"rate_limit={limit:g}/s", within)):
        print(f"| {name:<28} | {row.answers_429:>14} | {row.retries:>7} | {row.failed:>12} | {row.seconds:>7.2f} s |")


if __name__ == "__main__":
    with recording("cache"):
        main()
