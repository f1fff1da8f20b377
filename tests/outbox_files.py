"""Outbox files for the command line tests, made by the outbox itself against the fake CareCloud
on loopback (tests/outbox_fake.py, served by a thread of its own, so that a test can both fill a
file (asyncio.run) and run a command (CliRunner, which runs its own loop) against it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from outbox_fake import SEND, OutboxFake, served_in_a_thread

from carecloud_async.outbox import Outbox, Schedule, State
from carecloud_async.testing import sample_purchase

__all__ = ["EXHAUSTED", "INVALID", "SENT", "outbox_with_manual_records", "served_in_a_thread", "settings"]

#: Bills CareCloud refuses (400, invalid bill.currency_id): manual after one attempt.
INVALID = ("BAD-1", "BAD-2")
#: A bill whose schedule is exhausted by 500s: manual after max_attempts.
EXHAUSTED = "FAIL-1"
#: A bill sent at once.
SENT = "OK-1"


def settings(server: OutboxFake) -> dict[str, str]:
    """CARECLOUD_* variables for a command that sends to ``server``."""
    return {**server.settings("pos"), "CARECLOUD_TIME_ZONE": "Europe/Prague"}


def outbox_with_manual_records(path: Path | str, server: OutboxFake) -> None:
    """Fill ``path`` (an SQLite file or a postgresql:// URL) through the outbox: BAD-1 and BAD-2
    refused as invalid and FAIL-1 out of attempts (two 500s) wait in manual; OK-1 is sent."""

    async def fill() -> None:
        server.invalid_bills.update(INVALID)
        async with server.client() as cc, Outbox(path, schedule=Schedule(max_attempts=2, retry_delay=0)) as outbox:
            await outbox.submit(sample_purchase(EXHAUSTED))
            server.fake.fail(SEND, 500, times=2)
            for _ in range(2):  # retry_delay 0: due again at once; the second 500 exhausts the schedule
                await outbox.send_due(cc)
            for desk, bill_id in enumerate((*INVALID, SENT), start=2):
                await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
            await outbox.send_due(cc)
            states = {record.bill_id: record.state for record in await outbox.records()}
        assert states == {"BAD-1": State.MANUAL, "BAD-2": State.MANUAL, EXHAUSTED: State.MANUAL, SENT: State.SENT}

    asyncio.run(fill())
