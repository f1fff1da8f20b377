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
