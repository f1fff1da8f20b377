"""Outbox files for the command line tests, made by the outbox itself against the stand-in CareCloud
(scripts/purchase_server.py): the server runs in a thread with its own event loop, so a test can
both fill a file (asyncio.run) and run a command (CliRunner, which runs its own loop) against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async.outbox import Outbox, Schedule, State
from scripts.purchase_server import PurchaseServer, sample_purchase

#: Bills the stand-in refuses (400, invalid bill.currency_id): manual after one attempt.
INVALID = ("BAD-1", "BAD-2")
#: A bill whose schedule is exhausted by 500s: manual after max_attempts.
EXHAUSTED = "FAIL-1"
#: A bill sent at once.
SENT = "OK-1"


@contextlib.contextmanager
def stand_in_server() -> Iterator[PurchaseServer]:
    """The stand-in CareCloud on 127.0.0.1 and a free port, served by a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="stand-in-carecloud", daemon=True)
    thread.start()
    try:
        server = asyncio.run_coroutine_threadsafe(PurchaseServer().start(), loop).result(timeout=30)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def settings(server: PurchaseServer) -> dict[str, str]:
    """CARECLOUD_* variables for a command that sends to ``server``."""
    return {
        "CARECLOUD_PROJECT_URL": server.root_url,
        "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "app",
        "CARECLOUD_LOGIN": "pos",
        "CARECLOUD_PASSWORD": "pw",
        "CARECLOUD_TIME_ZONE": "Europe/Prague",
        "CARECLOUD_MAX_ATTEMPTS": "1",
    }


def outbox_with_manual_records(path: Path | str, server: PurchaseServer) -> None:
    """Fill ``path`` (an SQLite file or a postgresql:// URL) through the outbox: BAD-1 and BAD-2
    refused as invalid and FAIL-1 out of attempts (two 500s) wait in manual; OK-1 is sent."""

    async def fill() -> None:
        cc = CareCloud.enterprise(
            server.root_url,
            user_external_application_id="app",
            login="pos",
            password="pw",
            retry=RetryPolicy.disabled(),
        )
        server.invalid_bills.update(INVALID)
        async with cc, Outbox(path, schedule=Schedule(max_attempts=2, retry_delay=0)) as outbox:
            await outbox.submit(sample_purchase(EXHAUSTED))
            server.fail_next(2, status=500)
            for _ in range(2):  # retry_delay 0: due again at once; the second 500 exhausts the schedule
                await outbox.send_due(cc)
            for desk, bill_id in enumerate((*INVALID, SENT), start=2):
                await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
            await outbox.send_due(cc)
            states = {record.bill_id: record.state for record in await outbox.records()}
        assert states == {"BAD-1": State.MANUAL, "BAD-2": State.MANUAL, EXHAUSTED: State.MANUAL, SENT: State.SENT}

    asyncio.run(fill())
