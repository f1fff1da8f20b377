"""A process that submits purchases to an outbox until it is killed with SIGKILL, for the tests
that prove a purchase confirmed by ``Outbox.submit`` survives a ``kill -9`` (SQLite and
PostgreSQL).

    confirmed, returncode = submit_until_killed("o.sqlite3", after=150, desks=4)
    # confirmed: the bill_ids whose submit had returned before the kill; returncode -9
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The child prints each bill_id once its submit has returned (committed), then goes on.
SCRIPT = (
    "import asyncio, sys\n"
    "from carecloud_async.outbox import Outbox\n"
    "from carecloud_async.testing import sample_purchase\n"
    "async def main():\n"
    "    desks = int(sys.argv[2])\n"
    "    async with Outbox(sys.argv[1]) as outbox:\n"
    "        for n in range(100000):\n"
    "            await outbox.submit(sample_purchase(f'K{n}', cashdesk_number=1 + n % desks))\n"
    "            sys.stdout.write(f'K{n}\\n'); sys.stdout.flush()\n"
    "asyncio.run(main())\n"
)


def submit_until_killed(db: str, *, after: int, desks: int = 1) -> tuple[list[str], int]:
    """Run the submitter on ``db`` (a path or a PostgreSQL URL), SIGKILL it straight after its
    ``after``-th submit returned; (the confirmed bill_ids, the child's return code)."""
    child = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", SCRIPT, db, str(desks)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    confirmed: list[str] = []
    try:
        for line in child.stdout:
            confirmed.append(line.strip())
            if len(confirmed) == after:
                child.kill()  # SIGKILL, straight after that submit returned
                break
    finally:
        child.kill()
        child.wait(timeout=30)
    return confirmed, child.returncode


# The child of ``change_then_killed``: submits from a second cash desk keep a group-commit batch
# open (SQLite: the durable connection is inside its transaction) while ``action`` runs on a bill
# waiting in manual; it prints a line once the call returned and SIGKILLs itself at once.
CHANGE_SCRIPT = (
    "import asyncio, os, signal, sys\n"
    "from carecloud_async.outbox import Outbox\n"
    "from carecloud_async.testing import sample_purchase\n"
    "async def main():\n"
    "    db, action, bill_id = sys.argv[1:4]\n"
    "    async with Outbox(db) as outbox:\n"
    "        submits = [asyncio.ensure_future(outbox.submit(sample_purchase(f'N{n}', cashdesk_number=2)))\n"
    "                   for n in range(300)]\n"
    "        durable = getattr(outbox.store, '_durable', None)\n"
    "        while durable is not None and not durable.in_transaction:  # the batch is open\n"
    "            await asyncio.sleep(0)\n"
    "        if action == 'discard':\n"
    "            record = await outbox.discard(bill_id, reason='keyed in by hand')\n"
    "        else:\n"
    "            record = await outbox.retry_now(bill_id)\n"
    "        done = sum(s.done() for s in submits)\n"
    "        sys.stdout.write(f'{action} {record.bill_id} {record.state.value} submits-done={done}\\n')\n"
    "        sys.stdout.flush()\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "asyncio.run(main())\n"
)


def change_then_killed(db: str, action: str, bill_id: str) -> tuple[str, int]:
    """Run ``outbox.discard`` or ``outbox.retry_now`` (``action``: "discard" or "retry") on ``db``
    while a batch of submits is being committed, and SIGKILL the process straight after the call
    returned; (the line it printed, its return code)."""
    child = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", CHANGE_SCRIPT, db, action, bill_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return child.stdout.strip(), child.returncode


# ------------------------------------------------------------------ the durability invariant
#
# One long-lived process imports the outbox once and forks a child per plan (a second to import
# per process would make a few dozen plans a minute or more). The child runs the plan against the
# outbox, writes a line to its report file after each call returned (flushed: the line is in the
# kernel before the next call starts, so a kill cannot lose it) and SIGKILLs itself straight after
# the call the plan names, or at the end. Plans are lists of steps; the calls of one step run
# concurrently (asyncio.gather), so a retry or discard can meet an open batch of submits. With
# "second_sender", a second child runs a sender on the same outbox meanwhile, and is SIGKILLed as
# soon as the first child is dead. Both read the wall clock (time.time): shared by the processes,
# and later for every later write, which is what the checks compare.
RUNNER_SCRIPT = r"""
import asyncio, itertools, json, os, signal, sys, traceback
from carecloud_async import CareCloud, RetryPolicy
from carecloud_async.outbox import NotInManual, Outbox, RecordNotFound, Schedule
from carecloud_async.outbox import SQLiteStore, PostgresStore
from carecloud_async.testing import sample_purchase

SCHEDULE = Schedule(interval=0.05, max_attempts=5, retry_delay=0, lease=10**6)


def client(job, login):
    return CareCloud.enterprise(job["url"], user_external_application_id="app", login=login, password="pw",
                                retry=RetryPolicy.disabled())


async def run_sender(job):
    async with client(job, "second") as cc, Outbox(job["db"], schedule=SCHEDULE) as outbox:
        async with outbox.running(cc):
            await asyncio.Event().wait()  # until killed


async def run_plan(job, out):
    def report(i, op, record=None, **extra):
        line = {"i": i, "op": op, **extra}
        if record is not None:
            line.update(bill=record.bill_id, state=record.state.value, updated_at=record.updated_at)
        out.write(json.dumps(line) + "\n")
        out.flush()

    async with client(job, "pos") as cc, Outbox(job["db"], schedule=SCHEDULE) as outbox:

        async def submit(i, bill_id, desk):
            report(i, "submit", await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk)))

        async def run(i, op):
            kind = op[0]
            for _ in range(op[-1] if kind in ("discard", "retry", "submit") else 0):
                await asyncio.sleep(0)  # let the other calls of the step start first
            if kind == "submit":
                await submit(i, op[1], op[2])
            elif kind == "burst":  # submits from cash desk 9, all at once: one group-commit batch
                await asyncio.gather(*(submit(i, f"F{i}-{n}", 9) for n in range(op[1])))
            elif kind in ("discard", "retry"):
                try:
                    if kind == "discard":
                        record = await outbox.discard(op[1], reason="keyed in by hand")
                    else:
                        record = await outbox.retry_now(op[1])
                except (NotInManual, RecordNotFound):
                    report(i, kind, bill=op[1], refused=True)
                else:
                    report(i, kind, record)
            elif kind == "send":
                summary = await outbox.send_due(cc)
                for bill_id in summary.sent + summary.retried + summary.manual:
                    report(i, "send", await outbox.get(bill_id))
            if i == job["kill"]:
                os.kill(os.getpid(), signal.SIGKILL)

        numbers = itertools.count()
        for step in job["plan"]:
            await asyncio.gather(*(run(next(numbers), op) for op in step))
    os.kill(os.getpid(), signal.SIGKILL)


def ended(status):
    killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return {"signal": killed, "exit": None if killed else os.WEXITSTATUS(status)}


for line in sys.stdin:
    job = json.loads(line)
    second = None
    if job["second_sender"]:
        second = os.fork()
        if second == 0:
            try:
                asyncio.run(run_sender(job))
            except BaseException:
                traceback.print_exc()  # why the sender ended (os._exit skips the usual report)
            finally:
                os._exit(3)  # only reached when the sender failed: it ends in a SIGKILL
    pid = os.fork()
    if pid == 0:
        try:
            with open(job["report"], "w") as out:
                asyncio.run(run_plan(job, out))
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(3)  # only reached when the plan failed: it ends in a SIGKILL
    _, status = os.waitpid(pid, 0)
    answer = ended(status)
    if second is not None:
        os.kill(second, signal.SIGKILL)
        answer["second"] = ended(os.waitpid(second, 0)[1])
    print(json.dumps(answer), flush=True)
"""


class PlanRunner:
    """The process that runs plans in forked children (see RUNNER_SCRIPT); ``run`` returns the
    child's reports and how it (and the second sender) ended.

        with PlanRunner() as runner:
            reports, ended = runner.run(db, url, plan, kill=3, report=tmp / "r.jsonl")
            assert ended["signal"] == signal.SIGKILL
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> PlanRunner:
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
            [sys.executable, "-c", RUNNER_SCRIPT],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)

    def run(
        self,
        db: str,
        url: str,
        plan: list[list[list[Any]]],
        *,
        kill: int,
        report: Path,
        second_sender: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run ``plan`` on ``db`` in a new child, SIGKILLed after the call numbered ``kill`` (with a
        second child sending meanwhile when ``second_sender``, SIGKILLed then)."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        job = {"db": db, "url": url, "plan": plan, "kill": kill, "report": str(report), "second_sender": second_sender}
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        answer = process.stdout.readline()
        if not answer:
            raise AssertionError(f"the plan runner died (exit code {process.poll()})")
        ended = json.loads(answer)
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
        return [json.loads(line) for line in lines], ended
