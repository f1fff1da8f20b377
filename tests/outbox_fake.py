"""The fake CareCloud (carecloud_async.testing) on loopback, as the outbox tests' CareCloud.

Everything CareCloud does here is the fake's: its send-purchase records each ``bill_id`` once and
answers a second send of it 400 ``already_exists`` on ``bill_id``; failures, resets and late
answers come from its control (``fake.fail``, ``fake.reset_connection``, ``fake.slow``). This
module only starts it (``FakeServer``, in the test's loop or in a thread of its own) and names what
the outbox tests read, each computed from what the fake received:

    async with serving(latency=0.01) as server:          # an OutboxFake
        server.fake.fail(SEND, 503, times=3)
        ...
        server.purchases      # bill_id -> purchase_id, in the order CareCloud recorded them
        server.duplicates     # bill_id -> sends refused as already recorded
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async.testing import FakeCareCloud, FakeServer, ReceivedRequest

SEND = "postPurchaseSend"
PASSWORD = "pw"
APPLICATION = "app"
#: The Enterprise users the outbox tests log in as (one per sender, to tell senders apart).
LOGINS = ("pos", "first", "second", "one", "two", "once", "drain", "traced", "migrated", "bench")

#: CareCloud's refusal of a bill with a currency it does not know: what ``invalid_bills`` answer.
UNKNOWN_CURRENCY = {
    "error": {
        "type": "about:blank",
        "title": "Bad Request",
        "detail": "Invalid parameters",
        "error_data": {
            "invalid_params": [{"name": "bill.currency_id", "reason": "not_found", "message": "Unknown currency"}]
        },
    }
}


def bill_of(request: ReceivedRequest) -> str:
    return str(request.json["bill"]["bill_id"])


def lane_of(request: ReceivedRequest) -> tuple[str, int]:
    """A purchase's cash desk: the outbox sends one purchase per cash desk at a time."""
    return str(request.json["store_id"]), int(request.json["cashdesk_number"])


class OutboxFake:
    """A :class:`FakeCareCloud` served on 127.0.0.1 and a free port, with the views the tests read.

    ``latency`` delays every send-purchase answer (``fake.slow``), so that concurrent sends overlap.
    Bills in ``invalid_bills`` (a set the test may change at any time) are refused 400
    (:data:`UNKNOWN_CURRENCY`) by a standing ``fake.fail`` limited to them.
    """

    def __init__(self, *, latency: float = 0.0) -> None:
        self.fake = FakeCareCloud(time_zone="Europe/Prague")
        for login in LOGINS:
            self.fake.add_user(login, PASSWORD, APPLICATION)
        if latency:
            self.fake.slow(SEND, latency)
        self.invalid_bills: set[str] = set()
        self.fake.fail(SEND, 400, times=None, body=UNKNOWN_CURRENCY, when=lambda r: bill_of(r) in self.invalid_bills)
        self.server = FakeServer(self.fake)

    async def start(self) -> OutboxFake:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    @property
    def root_url(self) -> str:
        return self.server.url

    def client(self, *, login: str = "pos", timeout: float = 5.0, retry: RetryPolicy | None = None) -> CareCloud:
        """An Enterprise client of this fake; no retries of its own (the outbox's schedule retries)."""
        return CareCloud.enterprise(
            self.root_url,
            user_external_application_id=APPLICATION,
            login=login,
            password=PASSWORD,
            retry=retry or RetryPolicy.disabled(),
            timeout=timeout,
        )

    def settings(self, login: str = "pos") -> dict[str, str]:
        """CARECLOUD_* variables for a process that sends to this fake as ``login``."""
        return {
            "CARECLOUD_PROJECT_URL": self.root_url,
            "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": APPLICATION,
            "CARECLOUD_LOGIN": login,
            "CARECLOUD_PASSWORD": PASSWORD,
            "CARECLOUD_MAX_ATTEMPTS": "1",
        }

    # ------------------------------------------------------------ what CareCloud saw

    def sends(self) -> list[ReceivedRequest]:
        """Every send-purchase that reached the fake, oldest first."""
        return self.fake.requests(SEND)

    @property
    def purchases(self) -> dict[str, str]:
        """bill_id -> purchase_id of each purchase recorded, in the order recorded."""
        return self.fake.sent_purchases()

    @property
    def order(self) -> list[str]:
        return list(self.purchases)

    @property
    def requests(self) -> collections.Counter[str]:
        """Send-purchase requests per bill_id (answered, refused, failed or reset)."""
        return collections.Counter(bill_of(r) for r in self.sends())

    @property
    def send_requests(self) -> int:
        return len(self.sends())

    @property
    def duplicates(self) -> collections.Counter[str]:
        """Sends refused because the bill_id was recorded before (400 already_exists on bill_id)."""
        return collections.Counter(
            bill_of(r) for r in self.sends() if ("bill_id", "already_exists") in r.invalid_params
        )

    @property
    def overlaps(self) -> list[str]:
        """Bills that arrived while a send of the same bill was still being answered."""
        return [bill_of(r) for r in self.fake.overlapping(SEND, bill_of)]

    @property
    def lane_overlaps(self) -> list[str]:
        """Bills that arrived while another purchase of the same store / cash desk was being answered."""
        return [bill_of(r) for r in self.fake.overlapping(SEND, lane_of)]

    @property
    def by_sender(self) -> collections.Counter[str | None]:
        """Send-purchase requests per Enterprise login."""
        return collections.Counter(r.login for r in self.sends())

    @property
    def in_flight(self) -> int:
        return self.fake.in_flight(SEND)

    @property
    def max_in_flight(self) -> int:
        return self.fake.max_in_flight[SEND]


@contextlib.asynccontextmanager
async def serving(latency: float = 0.0) -> AsyncIterator[OutboxFake]:
    """An :class:`OutboxFake` served from the test's own event loop."""
    server = await OutboxFake(latency=latency).start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def served_in_a_thread(latency: float = 0.0) -> Iterator[OutboxFake]:
    """An :class:`OutboxFake` served by a thread with its own event loop, so that a test can both
    fill an outbox (asyncio.run) and run a command (CliRunner, its own loop) against it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-carecloud", daemon=True)
    thread.start()
    try:
        server = asyncio.run_coroutine_threadsafe(OutboxFake(latency=latency).start(), loop).result(timeout=30)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def first_send_body(server: OutboxFake, bill_id: str) -> dict[str, Any]:
    """The send-purchase body CareCloud recorded for ``bill_id`` (as sent)."""
    purchase = server.fake.purchase_of_bill(bill_id)
    assert purchase is not None, f"CareCloud holds no purchase {bill_id!r}"
    return {"store_id": purchase["store_id"], "bill": purchase["bill"]}
