"""A local stand-in for CareCloud's send-purchase, for the outbox tests and benchmark.

A real HTTP server (aiohttp) on 127.0.0.1 and a free port, speaking the Enterprise API's login
and ``POST /purchases/actions/send-purchase``. Like CareCloud it keeps each ``bill_id`` once and
refuses a second one (400, ``already_exists`` on ``bill_id``). It fails on demand: a burst of
503s, 429s with ``Retry-After``, connection resets (before or after recording the purchase),
slow answers, 400s for chosen bills. It counts what it saw: purchases, requests per bill,
duplicates, and two requests for one bill in flight at the same time.

    server = PurchaseServer(latency=0.02)
    await server.start()
    server.fail_next(3, status=503)
    ...
    await server.stop()

As a process (the benchmark): ``python -m scripts.purchase_server --port 8123 --latency-ms 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from carecloud_api.models import BillItem, FinalBill, FinalBillPaymentType, PluId, PostPurchaseSendBody

PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"
SEND = f"{PREFIX}/purchases/actions/send-purchase"


@dataclass
class Fault:
    """One planned answer: ``status`` (with ``retry_after``), or ``reset`` the connection (after
    recording the purchase when ``record``), or a ``delay`` before answering (after recording)."""

    status: int | None = None
    retry_after: str | None = None
    reset: bool = False
    record: bool = False
    delay: float = 0.0


@dataclass
class PurchaseServer:
    """The stand-in server (see the module docs). ``latency`` is added to every send-purchase."""

    latency: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
    purchases: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: bill_ids in the order the server recorded them.
    order: list[str] = field(default_factory=list)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    duplicates: collections.Counter[str] = field(default_factory=collections.Counter)
    #: bill_ids that arrived while a request for the same bill was still being answered.
    overlaps: list[str] = field(default_factory=list)
    #: bill_ids that arrived while another purchase of the same store / cash desk was in flight.
    lane_overlaps: list[str] = field(default_factory=list)
    #: send-purchase requests per bearer token (the login name: which sender sent what).
    by_sender: collections.Counter[str] = field(default_factory=collections.Counter)
    invalid_bills: set[str] = field(default_factory=set)
    max_in_flight: int = 0
    faults: collections.deque[Fault] = field(default_factory=collections.deque)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._lanes_in_flight: collections.Counter[tuple[str, int]] = collections.Counter()
        self._runner: web.AppRunner | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def send_requests(self) -> int:
        return sum(self.requests.values())

    def fail_next(self, count: int, *, status: int = 503, retry_after: float | str | None = None) -> None:
        """Answer the next ``count`` send-purchases with ``status`` (nothing recorded)."""
        text = None if retry_after is None else str(retry_after)
        self.faults.extend(Fault(status=status, retry_after=text) for _ in range(count))

    def reset_next(self, count: int, *, after_recording: bool = False) -> None:
        """Drop the connection of the next ``count`` send-purchases without an answer; with
        ``after_recording`` the purchase is recorded first (the client cannot know it landed)."""
        self.faults.extend(Fault(reset=True, record=after_recording) for _ in range(count))

    def slow_next(self, count: int, delay: float) -> None:
        """Record the next ``count`` purchases, then wait ``delay`` seconds before answering."""
        self.faults.extend(Fault(record=True, delay=delay) for _ in range(count))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"{PREFIX}/users/actions/login", self._login)
        app.router.add_post(SEND, self._send)
        return app

    async def start(self) -> PurchaseServer:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def in_flight(self) -> int:
        """send-purchase requests being answered right now."""
        return sum(self._in_flight.values())

    async def _login(self, request: web.Request) -> web.Response:
        login = str((await request.json()).get("login", ""))
        return web.json_response({"data": {"bearer_token": f"token-{login}", "valid_to": "2099-01-01 00:00:00"}})

    def _record(self, bill_id: str, body: dict[str, Any]) -> str | None:
        """The new purchase id, or None for a duplicate bill_id."""
        if bill_id in self.purchases:
            self.duplicates[bill_id] += 1
            return None
        purchase_id = f"p{next(self._ids):06d}"
        self.purchases[bill_id] = purchase_id
        self.bodies[bill_id] = body
        self.order.append(bill_id)
        return purchase_id

    async def _send(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        bill_id = str(body["bill"]["bill_id"])
        lane = (str(body["store_id"]), int(body["cashdesk_number"]))
        self.requests[bill_id] += 1
        self.by_sender[request.headers.get("Authorization", "").removeprefix("Bearer token-")] += 1
        if self._in_flight[bill_id]:
            self.overlaps.append(bill_id)
        if self._lanes_in_flight[lane]:
            self.lane_overlaps.append(bill_id)
        self._in_flight[bill_id] += 1
        self._lanes_in_flight[lane] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, bill_id, body)
        finally:
            self._in_flight[bill_id] -= 1
            self._lanes_in_flight[lane] -= 1

    async def _answer(self, request: web.Request, bill_id: str, body: dict[str, Any]) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.faults.popleft() if self.faults else Fault()
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return web.Response(status=fault.status, headers=headers)
        if bill_id in self.invalid_bills:
            return _bad_request({"name": "bill.currency_id", "reason": "not_found", "message": "Unknown currency"})
        purchase_id = self._record(bill_id, body) if (fault.record or not fault.reset) else None
        if fault.reset:
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(0.01)
            raise asyncio.CancelledError
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if purchase_id is None:
            return _bad_request({"name": "bill_id", "reason": "already_exists", "message": "Bill already exists"})
        return web.json_response({"data": {"purchase_id": purchase_id}}, status=201)


def _bad_request(*params: dict[str, str]) -> web.Response:
    body = {
        "error": {"title": "Bad request", "exception": "bad_request", "error_data": {"invalid_params": list(params)}}
    }
    return web.json_response(body, status=400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = PurchaseServer(latency=args.latency_ms / 1000, port=args.port)
    web.run_app(server.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()


def sample_purchase(bill_id: str, *, store_id: str = "store-1", cashdesk_number: int = 1) -> PostPurchaseSendBody:
    """A small paid purchase (one item) with this ``bill_id``, for tests, the benchmark and the demo."""
    bill = FinalBill(
        purchase_type_id="8bed991c68a470e7aaeffbf048",
        canceled=False,
        payment_type=FinalBillPaymentType.S,
        bill_id=bill_id,
        payment_time="2026-11-29 10:15:00",
        currency_id="8bed991c68a470e7aaeffbf048",
        total_price=700.0,
        bill_items=[
            BillItem(
                plu_ids=[PluId(list_code="GLOBAL", code="8594000000011")],
                plu_name="Wine",
                vat_rate=21.0,
                quantity=1.0,
                paid_amount=700.0,
                price=700.0,
                bill_item_id="1",
                loyalty_off=False,
                purchase_item_type_id="8bed991c68a470e7aaeffbf048",
            )
        ],
    )
    return PostPurchaseSendBody(store_id=store_id, cashdesk_number=cashdesk_number, bill=bill)
