"""Soak benchmark of the connection pool (issue 29): load, cancellations, faults and close, over
real loopback sockets, with a table of what each phase did to the client.

The server is ``scripts/fault_server.py`` as a process of its own (off the client's CPU and GIL),
answering after ``--latency-ms``. The client is a ``CareCloud`` with its default pool (or
``--max-connections``). Each phase runs for its share of ``--duration`` seconds:

- ``c50``, ``c200``, ``c1000`` (or any ``cN``): that many callers, each calling ``GET /customers``
  in a loop;
- ``cancel``: 200 callers whose calls are given up at random points (``asyncio.wait_for`` with
  a random deadline, or the task cancelled after a random number of event-loop turns);
- ``faults``: 100 callers while the server resets 2% of the connections and answers 503 to 5%;
- ``walks``: 20 paginated walks (4 pages in flight each) under the same faults, half of them
  left early, a quarter cut off by a deadline;
- ``close``: 200 calls in flight when the client is closed (a new client for this phase).

Columns: calls completed per second, latency p50/p99 of the completed calls, errors by type
(``cancelled`` counts the calls the phase itself gave up), the process's RSS, open file
descriptors and asyncio tasks after the phase, new TCP connections per request (connections the
server accepted / requests it received), sockets in ``TIME_WAIT`` towards the server, and
orphaned pool connections (in use by no request once the phase has ended; the client's next call
waits for them in vain when they fill the pool). ``stuck`` counts calls still running 20 s past
their pool timeout after their phase ended (then cancelled): calls that would never end. The
``close`` phase's ``fds`` is what the closed client still holds against what the process held
before it, and ``server still open`` the connections the server still sees open.

    python -m scripts.bench_soak --duration 60          # or: make bench-soak DURATION=60
    python -m scripts.bench_soak --duration 20 --phases c50,c1000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from carecloud_api.api.customers import get_customers

from carecloud_async import CareCloud, RetryPolicy
from scripts.bench_common import bench_client, recording
from scripts.server_process import start_server_process

PHASES = ("c50", "c200", "c1000", "cancel", "faults", "walks", "close")


@dataclass
class PhaseResult:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: int = 0
    accepted: int = 0
    stuck: int = 0
    rss_mb: float = 0.0
    fds: int = 0
    tasks: int = 0
    time_wait: int = 0
    orphaned: int | str = 0


class Server:
    """The fault server process: its counts and its fault settings."""

    def __init__(self, latency_ms: float) -> None:
        self.process, self.port = start_server_process(
            lambda port: [
                sys.executable,
                "-m",
                "scripts.fault_server",
                "--port",
                str(port),
                "--latency-ms",
                str(latency_ms),
                "--total-items",
                "200",
            ],
            "the fault server",
        )
        self.origin = f"http://127.0.0.1:{self.port}"

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.origin}/__counts", timeout=10) as answer:
            counts: dict[str, int] = json.loads(answer.read())
        return counts

    def set(self, **settings: float) -> None:
        query = "&".join(f"{name}={value}" for name, value in settings.items())
        with urllib.request.urlopen(f"{self.origin}/__set?{query}", timeout=10):
            pass

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def time_wait(port: int) -> int:
    """Sockets in TIME_WAIT towards or from ``port`` on loopback (this machine, all processes)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    ends = (fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1])
                    if fields[3] == "06" and f"{port:04X}" in ends:
                        count += 1
        except OSError:
            continue
    return count


def orphaned(cc: CareCloud) -> int | str:
    """Connections of the client's pool in use by no request (the client is idle when asked), and
    requests the pool still counts as running."""
    transport: Any = cc.http._transport
    for _ in range(16):
        if hasattr(transport, "_pool") or hasattr(transport, "_lanes"):
            break
        transport = getattr(transport, "_transport", None)
    if hasattr(transport, "_lanes"):  # PoolTransport: one httpcore pool per connection
        pools = [lane.transport._pool for lane in transport._lanes]
    elif hasattr(transport, "_pool"):  # a bare httpx.AsyncHTTPTransport
        pools = [transport._pool]
    else:
        return "?"
    busy = [c for pool in pools for c in pool._connections if not c.is_idle() and not c.is_closed()]
    return len(busy) + sum(len(pool._requests) for pool in pools)


async def one_call(cc: CareCloud) -> None:
    await cc.call(get_customers.call, count=10)


async def run_callers(
    result: PhaseResult,
    callers: int,
    seconds: float,
    grace: float,
    attempt: Callable[[random.Random], Awaitable[None]],
) -> None:
    """``callers`` loops of ``attempt`` until ``seconds`` have passed; latencies and errors into
    ``result``. Calls still running ``grace`` seconds after the end are cancelled (``stuck``)."""
    end = time.monotonic() + seconds
    stopping = False

    async def caller(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 (where to cancel, not a secret)
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                await attempt(rng)
            except (asyncio.CancelledError, asyncio.TimeoutError):
                if stopping:
                    raise  # the phase gives up on this caller (stuck)
                result.errors["cancelled"] += 1
            except Exception as exc:  # counted by type: the errors column
                result.errors[type(exc).__name__] += 1
            else:
                result.latencies.append(time.monotonic() - started)

    tasks = [asyncio.ensure_future(caller(number)) for number in range(callers)]
    _, pending = await asyncio.wait(tasks, timeout=seconds + grace)
    result.stuck = len(pending)
    stopping = True
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def given_up(cc: CareCloud, rng: random.Random) -> None:
    if rng.random() < 0.5:
        await asyncio.wait_for(one_call(cc), rng.uniform(0.0, 0.2))
        return
    task = asyncio.ensure_future(one_call(cc))
    for _ in range(rng.randrange(0, 60)):
        await asyncio.sleep(0)
    task.cancel()
    await task


async def walk(cc: CareCloud, rng: random.Random) -> None:
    pages = cc.paginate(get_customers, page_size=10, concurrency=4)
    draw = rng.random()
    if draw < 0.25:
        await asyncio.wait_for(pages.collect(), rng.uniform(0.0, 0.5))
    elif draw < 0.75:
        stop = rng.randrange(1, 150)
        seen = 0
        async for _ in pages:
            seen += 1
            if seen >= stop:
                break
    else:
        await pages.collect()


def grace(args: argparse.Namespace) -> float:
    # Every call ends within its pool timeout, a few retries and its answer: one still running
    # this long after its phase has ended is stuck (waiting for a connection that never comes).
    return float(args.pool_timeout) + 20.0


def new_client(server: Server, args: argparse.Namespace) -> CareCloud:
    options: dict[str, Any] = {
        "retry": RetryPolicy(backoff_base=0.05, backoff_cap=0.5, retry_on_read_timeout=True),
        "timeout": httpx.Timeout(30.0, connect=10.0, pool=args.pool_timeout),
    }
    if args.max_connections:
        options["limits"] = httpx.Limits(
            max_connections=args.max_connections, max_keepalive_connections=args.max_connections
        )
    return bench_client(server.origin, **options)


async def run_phase(name: str, cc: CareCloud, server: Server, seconds: float, args: argparse.Namespace) -> PhaseResult:
    result = PhaseResult(name, seconds)
    before = server.counts()
    faults = {"reset_rate": 0.02, "error_rate": 0.05} if name in ("faults", "walks") else {}
    server.set(reset_rate=faults.get("reset_rate", 0.0), error_rate=faults.get("error_rate", 0.0))
    started = time.monotonic()
    if name.startswith("c") and name[1:].isdigit():
        await run_callers(result, int(name[1:]), seconds, grace(args), lambda rng: one_call(cc))
    elif name == "cancel":
        await run_callers(result, 200, seconds, grace(args), lambda rng: given_up(cc, rng))
    elif name == "faults":
        await run_callers(result, 100, seconds, grace(args), lambda rng: one_call(cc))
    elif name == "walks":
        await run_callers(result, 20, seconds, grace(args), lambda rng: walk(cc, rng))
    result.seconds = time.monotonic() - started
    server.set(reset_rate=0.0, error_rate=0.0)
    await asyncio.sleep(0.2)  # let closes finish before counting
    after = server.counts()
    result.requests = after.get("requests", 0) - before.get("requests", 0)
    result.accepted = after.get("accepted", 0) - before.get("accepted", 0)
    result.orphaned = orphaned(cc)
    result.rss_mb, result.fds, result.tasks = rss_mb(), open_fds(), len(asyncio.all_tasks())
    result.time_wait = time_wait(server.port)
    return result


async def close_phase(server: Server, args: argparse.Namespace) -> PhaseResult:
    """200 calls in flight when the client is closed: every call must end, every socket close."""
    result = PhaseResult("close", 0.0)
    fds_before = open_fds()
    before = server.counts()
    cc = new_client(server, args)
    await one_call(cc)
    started = time.monotonic()

    async def timed() -> None:
        began = time.monotonic()
        await one_call(cc)
        result.latencies.append(time.monotonic() - began)

    calls = [asyncio.ensure_future(timed()) for _ in range(200)]
    await asyncio.sleep(0.1)
    await cc.aclose()
    grace = 10.0  # aclose has returned: every call should have ended by now
    _, pending = await asyncio.wait(calls, timeout=grace)
    result.stuck = len(pending)
    for task in pending:
        task.cancel()
    for outcome in await asyncio.gather(*calls, return_exceptions=True):
        if isinstance(outcome, BaseException):
            result.errors[type(outcome).__name__] += 1
    result.seconds = time.monotonic() - started
    await asyncio.sleep(0.5)  # the server sees the closes
    after = server.counts()
    result.requests = after.get("requests", 0) - before.get("requests", 0)
    result.accepted = after.get("accepted", 0) - before.get("accepted", 0)
    result.orphaned = orphaned(cc)
    result.rss_mb, result.tasks = rss_mb(), len(asyncio.all_tasks())
    result.fds = open_fds() - fds_before  # sockets the closed client still holds
    result.time_wait = time_wait(server.port)
    result.errors["server still open"] = after.get("open", 0) - 1  # not counting the one asking
    return result


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def table(results: list[PhaseResult]) -> str:
    header = (
        "| phase | calls/s | p50 ms | p99 ms | errors | RSS MB | fds | tasks | new conn/request "
        "| TIME_WAIT | orphaned | stuck |"
    )
    rows = [header, "|" + "---|" * 12]
    for r in results:
        rate = len(r.latencies) / r.seconds if r.seconds else 0.0
        errors = ", ".join(f"{name} {count}" for name, count in sorted(r.errors.items()) if count) or "none"
        per_request = r.accepted / r.requests if r.requests else float("nan")
        fds = f"{r.fds:+d}" if r.name == "close" else str(r.fds)
        rows.append(
            f"| {r.name} | {rate:.0f} | {percentile(r.latencies, 0.5) * 1000:.0f} | "
            f"{percentile(r.latencies, 0.99) * 1000:.0f} | {errors} | {r.rss_mb:.0f} | {fds} | {r.tasks} | "
            f"{per_request:.2f} | {r.time_wait} | {r.orphaned} | {r.stuck} |"
        )
    return "\n".join(rows)


async def soak(args: argparse.Namespace) -> list[PhaseResult]:
    phases = [name for name in args.phases.split(",") if name]
    unknown = sorted(name for name in set(phases) - set(PHASES) if not (name[:1] == "c" and name[1:].isdigit()))
    if unknown:
        raise SystemExit(f"unknown phases: {', '.join(unknown)} (known: {', '.join(PHASES)})")
    seconds = args.duration / len(phases)
    server = Server(args.latency_ms)
    results: list[PhaseResult] = []
    try:
        cc = new_client(server, args)
        async with cc:
            await one_call(cc)  # logged in, one connection open
            for name in phases:
                if name == "close":
                    continue
                result = await run_phase(name, cc, server, seconds, args)
                results.append(result)
                print(table([result]).splitlines()[-1], flush=True)
        if "close" in phases:
            result = await close_phase(server, args)
            results.append(result)
            print(table([result]).splitlines()[-1], flush=True)
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds in all, shared by the phases")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the server's answer latency")
    parser.add_argument("--pool-timeout", type=float, default=10.0, help="the client's pool timeout, seconds")
    parser.add_argument("--max-connections", type=int, default=0, help="0: the client's default limits")
    args = parser.parse_args()
    import carecloud_async

    print(
        f"# bench_soak: {args.duration:g} s, server latency {args.latency_ms:g} ms, pool timeout "
        f"{args.pool_timeout:g} s, Python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        f"carecloud_async from {os.path.dirname(carecloud_async.__file__)}",
        flush=True,
    )
    results = asyncio.run(soak(args))
    print()
    print(table(results))


if __name__ == "__main__":
    with recording("soak"):
        main()
