"""A process that submits purchases to an outbox until it is killed with SIGKILL, for the tests
that prove a purchase confirmed by ``Outbox.submit`` survives a ``kill -9`` (SQLite and
PostgreSQL).

    confirmed, returncode = submit_until_killed("o.sqlite3", after=150, desks=4)
    # confirmed: the bill_ids whose submit had returned before the kill; returncode -9
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The child prints each bill_id once its submit has returned (committed), then goes on.
SCRIPT = (
    "import asyncio, sys\n"
    "from carecloud_async.outbox import Outbox\n"
    "from scripts.purchase_server import sample_purchase\n"
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
    "from scripts.purchase_server import sample_purchase\n"
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
