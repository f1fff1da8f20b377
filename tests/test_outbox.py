"""The purchase outbox on SQLite against the fake CareCloud on loopback (tests/outbox_fake.py):
the schedule's pure decisions, submit, send, failures on demand, manual transfer, cancel, files
that are missing, read-only or corrupt. Time in schedule tests comes from a fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from carecloud_api.models import FinalBill, PostPurchaseSend200Response, PostPurchaseSendBody
from outbox_fake import SEND, OutboxFake, first_send_body, serving
from outbox_submitter import submit_until_killed
from outbox_traced import columns_sqlite, make_sqlite_schema_1

from carecloud_async import (
    CareCloud,
    ConfigurationError,
    InvalidParam,
    NetworkError,
    RateLimited,
    RequestTimeout,
    RequestValidationError,
    ResponseParseError,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from carecloud_async.outbox import (
    BillIdConflict,
    NotCancellable,
    NotInManual,
    Outbox,
    OutboxRecord,
    OutboxStoreError,
    RecordNotFound,
    Retry,
    Schedule,
    Sender,
    SendError,
    Sent,
    SQLiteStore,
    State,
    ToManual,
    after_failure,
    classify,
    pause_after,
    render_table,
)
from carecloud_async.outbox._records import NewPurchase, canonical_json
from carecloud_async.testing import sample_purchase
from carecloud_async.workflows.purchases import cancelling_bill

ROOT = Path(__file__).resolve().parents[1]
START = 1_800_000_000.0


class FakeClock:
    """The outbox's clock, moved by hand: schedule tests never sleep."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(server: OutboxFake, *, timeout: float = 5.0, login: str = "pos") -> CareCloud:
    # No retries of the client's own: the outbox's schedule is under test.
    return server.client(login=login, timeout=timeout)


def error_of(status: int, *params: dict[str, str], retry_after: str | None = None) -> Exception:
    from carecloud_async._errors import error_from_response

    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {"error": {"title": "x", "error_data": {"invalid_params": list(params)}}} if params else {}
    request = httpx.Request("POST", "https://p.example/purchases/actions/send-purchase")
    return error_from_response(httpx.Response(status, json=body, headers=headers, request=request))


# ---------------------------------------------------------------- the pure decisions


def test_classify_every_kind_of_answer() -> None:
    answer = PostPurchaseSend200Response.from_dict({"data": {"purchase_id": "p1"}})
    assert classify(answer) == Sent(purchase_id="p1")
    assert classify(error_of(400, {"name": "bill_id", "reason": "already_exists"})) == Sent(None, already_recorded=True)
    assert classify(error_of(400, {"name": "bill.bill_id", "reason": "already_exists"})).already_recorded  # type: ignore[union-attr]
    invalid = classify(error_of(400, {"name": "bill.currency_id", "reason": "not_found"}))
    assert isinstance(invalid, SendError)
    assert (invalid.kind, invalid.status_code) == ("invalid", 400)
    assert invalid.invalid_params == (InvalidParam(name="bill.currency_id", reason="not_found"),)
    limited = classify(error_of(429, retry_after="900"))
    assert isinstance(limited, SendError)
    assert (limited.kind, limited.retry_after) == ("rate_limited", 900.0)
    kinds = {
        503: "unavailable",
        500: "server",
        502: "server",
        401: "refused",
        403: "refused",
        404: "refused",
    }
    for status, kind in kinds.items():
        outcome = classify(error_of(status))
        assert isinstance(outcome, SendError)
        assert outcome.kind == kind, status
    assert isinstance(error_of(503), ServiceUnavailable)
    assert isinstance(error_of(500), ServerError)
    assert isinstance(error_of(401), Unauthorized)
    assert isinstance(error_of(429), RateLimited)
    assert classify(RequestTimeout("ReadTimeout")).kind == "timeout"  # type: ignore[union-attr]
    assert classify(NetworkError("ConnectError")).kind == "network"  # type: ignore[union-attr]
    parse = ResponseParseError(
        "bad body", status_code=201, method="POST", url="u", response=httpx.Response(201, content=b"{}")
    )
    assert classify(parse) == Sent(purchase_id=None)  # a 2xx landed, whatever its body
    secret = classify(ValueError("password=hunter2"))
    assert secret == SendError("unexpected", "ValueError")  # a foreign exception's text is not kept


def test_after_failure_follows_the_vendor_schedule_by_default() -> None:
    schedule, error = Schedule(), SendError("unavailable", "503", status_code=503)
    assert (schedule.interval, schedule.max_attempts, schedule.retry_delay) == (60.0, 5, 600.0)
    steps = [after_failure(attempts=n, error=error, now=START, schedule=schedule) for n in range(1, 6)]
    assert steps == [Retry(START + 600)] * 4 + [ToManual()]
    invalid = SendError("invalid", "400", status_code=400)
    assert after_failure(attempts=1, error=invalid, now=START, schedule=schedule) == ToManual()
    # A Retry-After longer than the delay wins; a shorter one does not shorten it; a huge one is capped.
    later = SendError("rate_limited", "429", retry_after=1800.0)
    assert after_failure(attempts=1, error=later, now=START, schedule=schedule) == Retry(START + 1800)
    sooner = SendError("rate_limited", "429", retry_after=5.0)
    assert after_failure(attempts=1, error=sooner, now=START, schedule=schedule) == Retry(START + 600)
    huge = SendError("rate_limited", "429", retry_after=10**9)
    assert after_failure(attempts=1, error=huge, now=START, schedule=schedule) == Retry(START + 6 * 3600)
    custom = Schedule(max_attempts=2, retry_delay=30)
    assert after_failure(attempts=1, error=error, now=0.0, schedule=custom) == Retry(30.0)
    assert after_failure(attempts=2, error=error, now=0.0, schedule=custom) == ToManual()


def test_pause_after_and_schedule_validation() -> None:
    assert pause_after(SendError("unavailable", "503"), Schedule()) == 60.0
    assert pause_after(SendError("rate_limited", "429", retry_after=300.0), Schedule()) == 300.0
    assert pause_after(SendError("network", "x"), Schedule()) is None
    for bad in ({"interval": -1}, {"max_attempts": 0}, {"retry_delay": float("nan")}, {"lease": 0}):
        with pytest.raises(ConfigurationError):
            Schedule(**bad)


def test_send_error_round_trips_without_values() -> None:
    error = SendError(
        "invalid",
        "400 Bad request",
        status_code=400,
        error_code="bad_request",
        invalid_params=(InvalidParam("bill.currency_id", "not_found", "Unknown", value="secret-ish"),),
    )
    text = error.to_json()
    assert "secret-ish" not in text  # what was sent is not stored
    back = SendError.from_json(text)
    assert back.invalid_params == (InvalidParam("bill.currency_id", "not_found", "Unknown"),)
    assert dataclasses.replace(back, invalid_params=error.invalid_params) == error
    classified = classify(error_of(400, {"name": "bill.total_price", "reason": "invalid", "value": "12"}))
    assert isinstance(classified, SendError)
    assert classified.invalid_params[0].value is None


# ---------------------------------------------------------------- the cancelling bill


def test_cancelling_bill_changes_three_fields_and_leaves_the_original() -> None:
    original = sample_purchase("B-100", store_id="s9", cashdesk_number=3)
    before = original.to_dict()
    cancel = cancelling_bill(original)
    assert original.to_dict() == before
    after = cancel.to_dict()
    assert after["bill"].pop("canceled") is True
    assert after["bill"].pop("bill_id") == "CB-100"
    assert after["bill"].pop("bill_number") == "B-100"
    before["bill"].pop("canceled")
    before["bill"].pop("bill_id")
    before["bill"].pop("bill_number", None)
    assert after == before  # everything else, amounts included, is the original's
    assert cancelling_bill(original, new_bill_id="X-1").bill.bill_id == "X-1"
    only_bill = cancelling_bill(original.bill)
    assert isinstance(only_bill, FinalBill)
    assert (only_bill.canceled, only_bill.bill_number) == (True, "B-100")
    with pytest.raises(RequestValidationError, match="itself a cancellation"):
        cancelling_bill(cancel)
    with pytest.raises(RequestValidationError, match="of its own"):
        cancelling_bill(original, new_bill_id="B-100")
    with pytest.raises(RequestValidationError):
        cancelling_bill({"bill": {}})  # type: ignore[call-overload]


# ---------------------------------------------------------------- submit


async def test_submit_stores_once_per_bill_id_and_refuses_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    async with Outbox(path, clock=FakeClock()) as outbox:
        first = await outbox.submit(sample_purchase("B-1"))
        assert (first.state, first.attempts, first.next_attempt_at) == (State.PENDING, 0, START)
        again = await outbox.submit(sample_purchase("B-1"))
        assert again.seq == first.seq
        as_dict = await outbox.submit(sample_purchase("B-1").to_dict())
        assert as_dict.seq == first.seq
        with pytest.raises(BillIdConflict, match="B-1"):
            await outbox.submit(sample_purchase("B-1", cashdesk_number=2))
        with pytest.raises(RequestValidationError):
            await outbox.submit("not a body")  # type: ignore[arg-type]
        with pytest.raises(RequestValidationError):
            await outbox.submit({"store_id": "s"})
        with pytest.raises(RequestValidationError, match=r"bill\.bill_id"):
            await outbox.submit(sample_purchase(" "))
        assert [r.bill_id for r in await outbox.records()] == ["B-1"]
        assert (await outbox.counts())[State.PENDING] == 1
    # WAL, schema version 2, and the body is the send-purchase body as JSON.
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        (body,) = db.execute("SELECT body FROM carecloud_outbox_purchases").fetchone()
    assert json.loads(body) == sample_purchase("B-1").to_dict()


async def test_many_concurrent_submits_all_land(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3") as outbox:

        async def desk(number: int) -> None:
            for n in range(25):
                await outbox.submit(sample_purchase(f"D{number}-{n}", cashdesk_number=number))

        await asyncio.gather(*(desk(number) for number in range(8)))
        records = await outbox.records()
    assert len(records) == 200
    assert len({r.bill_id for r in records}) == 200
    for number in range(8):  # submission order is kept per cash desk
        mine = [r.bill_id for r in records if r.cashdesk_number == number]
        assert mine == [f"D{number}-{n}" for n in range(25)]


# ---------------------------------------------------------------- sending


async def test_send_due_sends_in_order_per_cash_desk(tmp_path: Path) -> None:
    async with serving(latency=0.01) as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
            for n in range(12):
                await outbox.submit(sample_purchase(f"B{n}", cashdesk_number=n % 3))
            summary = await outbox.send_due(cc, concurrency=3)
            records = await outbox.records()
    assert len(summary.sent) == 12
    assert {r.state for r in records} == {State.SENT}
    assert all(r.purchase_id == server.purchases[r.bill_id] and r.attempts == 1 for r in records)
    for desk in range(3):
        at_server = [b for b in server.order if int(b[1:]) % 3 == desk]
        assert at_server == [f"B{n}" for n in range(12) if n % 3 == desk]
    assert server.max_in_flight > 1  # three cash desks were sent in parallel...
    assert server.lane_overlaps == []  # ...never two purchases of one cash desk at once
    assert sum(server.requests.values()) == 12


async def test_server_down_for_several_attempts_nothing_lost_nothing_twice(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=clock) as outbox:
            for n in range(4):
                await outbox.submit(sample_purchase(f"B{n}", cashdesk_number=n))
            server.fake.fail(SEND, 503, times=3)
            for _attempt in range(3):  # each pass: one 503, then the sender pauses for an interval
                summary = await outbox.send_due(cc, concurrency=1)
                assert summary.retried
                assert summary.paused_until == clock.now + 60
                clock.advance(60)
            stuck = await outbox.records(State.PENDING)
            assert len(stuck) == 4
            assert {r.last_error.kind for r in stuck if r.last_error} == {"unavailable"}
            assert await outbox.send_due(cc) is not None
            assert len(await outbox.records(State.SENT)) == 1  # B3 was never tried, so due; B0-B2 wait
            clock.advance(600)
            await outbox.send_due(cc, concurrency=4)
            records = await outbox.records()
    assert {r.state for r in records} == {State.SENT}
    assert sorted(server.purchases) == ["B0", "B1", "B2", "B3"]
    assert not server.duplicates
    assert [r.attempts for r in records] == [2, 2, 2, 1]


async def test_server_unreachable_then_overloaded_then_back_sends_once(tmp_path: Path) -> None:
    clock = FakeClock()
    server = await OutboxFake().start()
    try:
        async with client(server) as cc, Outbox(tmp_path / "o.sqlite3", clock=clock) as outbox:
            await outbox.submit(sample_purchase("B-1"))
            await server.stop()  # nothing listens on the port: connection refused
            for _ in range(2):
                assert (await outbox.send_due(cc)).retried == ["B-1"]
                clock.advance(600)
            record = await outbox.get("B-1")
            assert record is not None
            assert record.last_error is not None
            assert (record.state, record.attempts, record.last_error.kind) == (State.PENDING, 2, "network")
            await server.start()  # back on the same port, but overloaded for two more attempts
            server.fake.fail(SEND, 503, times=2)
            for _ in range(2):
                assert (await outbox.send_due(cc)).retried == ["B-1"]
                clock.advance(600)
            assert (await outbox.send_due(cc)).sent == ["B-1"]  # the fifth and last attempt
            record = await outbox.get("B-1")
    finally:
        await server.stop()
    assert record is not None
    assert (record.state, record.attempts, record.purchase_id) == (State.SENT, 5, server.purchases["B-1"])
    assert server.requests["B-1"] == 3  # two 503s and the success; recorded once
    assert list(server.purchases) == ["B-1"]


async def test_exhausted_schedule_goes_to_manual_with_its_error_then_retry_and_discard(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=clock) as outbox:
            await outbox.submit(sample_purchase("B-1"))
            await outbox.submit(sample_purchase("B-2", cashdesk_number=2))
            server.fake.fail(SEND, 500, times=10)
            for _ in range(5):
                await outbox.send_due(cc)
                clock.advance(600)
            manual = await outbox.records(State.MANUAL)
            assert [r.bill_id for r in manual] == ["B-1", "B-2"]
            assert all(r.attempts == 5 and r.last_error and r.last_error.status_code == 500 for r in manual)
            assert server.send_requests == 10
            clock.advance(10 * 3600)
            assert (await outbox.send_due(cc)).attempts == 0  # manual records are not sent again
            table = render_table(manual)
            assert "B-1" in table
            assert "manual" in table
            assert "server 500" in table

            retried = await outbox.retry_now("B-1")
            assert (retried.state, retried.attempts, retried.next_attempt_at) == (State.PENDING, 0, clock.now)
            discarded = await outbox.discard("B-2", reason="entered by hand")
            assert (discarded.state, discarded.discard_reason) == (State.DISCARDED, "entered by hand")
            await outbox.send_due(cc)
            assert (await outbox.get("B-1")).state is State.SENT  # type: ignore[union-attr]
            assert (await outbox.get("B-2")).state is State.DISCARDED  # type: ignore[union-attr]
            with pytest.raises(NotInManual, match="it is sent"):
                await outbox.retry_now("B-1")
            with pytest.raises(NotInManual):
                await outbox.discard("B-1", reason="no")
            with pytest.raises(RecordNotFound):
                await outbox.retry_now("nope")
            with pytest.raises(RequestValidationError):
                await outbox.discard("B-2", reason=" ")
    assert list(server.purchases) == ["B-1"]


async def test_invalid_bill_goes_to_manual_at_once_with_invalid_params(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
            # CareCloud's recap arithmetic: total_price must be the items' paid amounts (700 here).
            await outbox.submit(sample_purchase("BAD", total_price=650.0))
            await outbox.submit(sample_purchase("GOOD"))
            summary = await outbox.send_due(cc)
            bad = await outbox.get("BAD")
    assert summary.manual == ["BAD"]
    assert summary.sent == ["GOOD"]
    assert list(server.purchases) == ["GOOD"]
    assert bad is not None
    assert bad.state is State.MANUAL
    assert bad.attempts == 1
    assert bad.last_error is not None
    assert bad.last_error.kind == "invalid"
    assert [(p.name, p.reason) for p in bad.last_error.invalid_params] == [("bill.total_price", "not_allowed_value")]
    assert "(700.0)" in bad.last_error.message  # CareCloud's message, with the total it expected
    assert server.fake.bearer_tokens  # the client logged in ...
    assert not any(token in bad.last_error.message for token in server.fake.bearer_tokens)  # ... not shown


def unsendable_bodies() -> dict[str, dict[str, Any]]:
    """Send-purchase bodies that fail inside the client on every attempt, by what is wrong."""
    bodies: dict[str, dict[str, Any]] = {}

    def body(name: str, change: Callable[[dict[str, Any]], None]) -> None:
        data = sample_purchase(f"U-{len(bodies)}", cashdesk_number=1).to_dict()
        change(data)
        bodies[name] = data

    body("total_price as text", lambda d: d["bill"].update(total_price="700"))
    body("unknown payment_type", lambda d: d["bill"].update(payment_type="X"))
    body("bill_items None", lambda d: d["bill"].update(bill_items=None))
    body("NaN total_price", lambda d: d["bill"].update(total_price=math.nan))
    body("infinite item price", lambda d: d["bill"]["bill_items"][0].update(price=math.inf))
    body("-inf paid amount", lambda d: d["bill"]["bill_items"][0].update(paid_amount=-math.inf))
    body("quantity as text", lambda d: d["bill"]["bill_items"][0].update(quantity="1"))
    body("lone surrogate", lambda d: d["bill"]["bill_items"][0].update(plu_name="Wine \ud800"))
    body(  # the spec's maxItems: 1000 (issue 26, item 2): the same check as CareCloud.call's
        "1,001 property values",
        lambda d: d["bill"]["bill_items"][0].update(
            purchase_item_property_records=[{"property_id": "p", "property_value": ["v"] * 1001}]
        ),
    )
    return bodies


#: The field each of unsendable_bodies() names in its error.
UNSENDABLE_FIELDS = {
    "total_price as text": r"bill\.total_price must be float, not str",
    "unknown payment_type": r"bill\.payment_type: 'X' is not a FinalBillPaymentType value",
    "bill_items None": r"bill\.bill_items must be list\[BillItem\], not NoneType",
    "NaN total_price": r"bill\.total_price must be a finite number, not nan",
    "infinite item price": r"bill\.bill_items\[0\]\.price must be a finite number, not inf",
    "-inf paid amount": r"bill\.bill_items\[0\]\.paid_amount must be a finite number, not -inf",
    "quantity as text": r"bill\.bill_items\[0\]\.quantity must be float, not str",
    "lone surrogate": r"bill\.bill_items\[0\]\.plu_name is not valid text",
    "1,001 property values": (
        r"bill\.bill_items\[0\]\.purchase_item_property_records\[0\]\.property_value "
        r"must have at most 1000 items, got 1001"
    ),
}


async def test_submit_refuses_a_body_the_sender_could_never_send(tmp_path: Path) -> None:
    # Issue 21, item 15: these were stored, failed inside the client on every attempt (the NaN ones
    # as a bare "ValueError") and held back their cash desk for the whole schedule.
    async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
        for name, data in unsendable_bodies().items():
            with pytest.raises(RequestValidationError, match=UNSENDABLE_FIELDS[name]):
                await outbox.submit(data)
            with pytest.raises(RequestValidationError, match=UNSENDABLE_FIELDS[name]):
                await outbox.submit(PostPurchaseSendBody.from_dict(data))  # the model form too
        bill_none = {"store_id": "s", "cashdesk_number": 1, "bill": None}
        with pytest.raises(RequestValidationError, match=r"body\.bill must be FinalBill, not NoneType"):
            await outbox.submit(bill_none)  # was a bare AttributeError
        with pytest.raises(RequestValidationError, match="not a send-purchase body"):
            await outbox.submit({"store_id": "s", "cashdesk_number": 1, "bill": ["not", "a", "bill"]})
        assert await outbox.records() == []  # nothing stored
        assert (await outbox.submit(sample_purchase("OK"))).state is State.PENDING


async def test_a_stored_body_that_can_never_be_sent_goes_to_manual_at_once_unsent(tmp_path: Path) -> None:
    # Bodies stored before submit checked them: the first attempt puts each into manual with the
    # field named (not "ValueError" after 40 minutes), sends nothing, and the cash desk goes on.
    bodies = unsendable_bodies()
    del bodies["lone surrogate"]  # no store can hold that text: it never got stored
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
            for data in bodies.values():
                stored = NewPurchase(data["bill"]["bill_id"], "store-1", 1, canonical_json(data))
                await outbox.store.add(stored, now=START)
            await outbox.submit(sample_purchase("AFTER", cashdesk_number=1))
            summary = await outbox.send_due(cc)
            records = {record.bill_id: record for record in await outbox.records()}
    assert summary.manual == [data["bill"]["bill_id"] for data in bodies.values()]
    assert summary.sent == ["AFTER"]  # the same pass: its cash desk is not held back
    assert list(server.requests) == ["AFTER"]  # none of the others was sent
    for name, data in bodies.items():
        record = records[data["bill"]["bill_id"]]
        assert (record.state, record.attempts) == (State.MANUAL, 1), name
        assert record.last_error is not None
        assert record.last_error.kind == "invalid", name
        assert re.search(UNSENDABLE_FIELDS[name], record.last_error.message), (name, record.last_error.message)
        assert "resending cannot help" in record.last_error.message


async def test_retry_after_longer_than_the_interval_is_honoured(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=clock) as outbox:
            await outbox.submit(sample_purchase("A", cashdesk_number=1))
            await outbox.submit(sample_purchase("B", cashdesk_number=2))
            server.fake.fail(SEND, 429, retry_after=1800)
            summary = await outbox.send_due(cc, concurrency=1)
            assert summary.paused_until == START + 1800
            assert summary.retried == ["A"]
            assert not summary.sent
            record = await outbox.get("A")
            assert record is not None
            assert record.next_attempt_at == START + 1800
            clock.advance(600)  # the usual delay is over, the server's is not
            await outbox.send_due(cc)
            assert (await outbox.get("A")).state is State.PENDING  # type: ignore[union-attr]
            clock.advance(1200)
            await outbox.send_due(cc)
            assert (await outbox.get("A")).state is State.SENT  # type: ignore[union-attr]
    assert server.requests["A"] == 2


async def test_unknown_outcomes_are_resent_and_already_exists_counts_as_sent(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server, timeout=1.0) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=clock) as outbox:
            for bill_id, desk in (("RESET-LANDED", 1), ("RESET-LOST", 2), ("SLOW", 3)):
                await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
            server.fake.reset_connection(SEND, after_record=True)
            server.fake.reset_connection(SEND)
            server.fake.slow(SEND, 3.0, times=1, after_record=True)
            await outbox.send_due(cc, concurrency=1)
            first = {r.bill_id: r for r in await outbox.records()}
            assert {b: r.last_error.kind for b, r in first.items() if r.last_error} == {
                "RESET-LANDED": "network",
                "RESET-LOST": "network",
                "SLOW": "timeout",
            }
            assert all(r.state is State.PENDING for r in first.values())
            clock.advance(600)
            await asyncio.sleep(2.2)  # let the slow answer finish on the server side
            await outbox.send_due(cc)
            records = {r.bill_id: r for r in await outbox.records()}
    assert all(r.state is State.SENT for r in records.values())
    assert records["RESET-LANDED"].already_recorded
    assert records["RESET-LANDED"].purchase_id is None
    assert records["SLOW"].already_recorded
    assert not records["RESET-LOST"].already_recorded
    assert records["RESET-LOST"].purchase_id
    assert sorted(server.purchases) == ["RESET-LANDED", "RESET-LOST", "SLOW"]  # each recorded once
    assert server.duplicates == {"RESET-LANDED": 1, "SLOW": 1}


async def test_a_dead_senders_lease_runs_out_and_the_purchase_is_resent(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        store = SQLiteStore(tmp_path / "o.sqlite3")
        async with Outbox(store, clock=clock, schedule=Schedule(lease=120)) as outbox:
            await outbox.submit(sample_purchase("B-1"))
            await outbox.submit(sample_purchase("B-2"))
            # A sender claims B-1 and dies before answering: its claim is all that is left.
            (claimed,) = await store.claim(now=clock.now, lease_until=clock.now + 120, token="dead", limit=5)
            assert claimed.bill_id == "B-1"
            assert claimed.state is State.SENDING
            assert (await outbox.send_due(cc)).attempts == 0  # B-1 is leased; B-2 waits behind it
            clock.advance(121)
            summary = await outbox.send_due(cc)
            assert summary.sent == ["B-1", "B-2"]
            record = await outbox.get("B-1")
            assert record is not None
            assert record.attempts == 2
            # The dead sender's late failure report does not overwrite the outcome.
            late = await store.mark_failed(
                "B-1", token="dead", state=State.PENDING, next_attempt_at=0.0, error=SendError("network", ""), now=0.0
            )
            assert late is False
            assert (await outbox.get("B-1")).state is State.SENT  # type: ignore[union-attr]


async def test_a_purchase_whose_senders_keep_dying_goes_to_manual_as_lost(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        store = SQLiteStore(tmp_path / "o.sqlite3")
        async with Outbox(store, clock=clock, schedule=Schedule(max_attempts=2, lease=10)) as outbox:
            await outbox.submit(sample_purchase("B-1"))
            for _ in range(2):
                await store.claim(now=clock.now, lease_until=clock.now + 10, token="dead", limit=1)
                clock.advance(11)
            summary = await outbox.send_due(cc)
            record = await outbox.get("B-1")
    assert summary.manual == ["B-1"]
    assert server.send_requests == 0
    assert record is not None
    assert record.last_error is not None
    assert record.last_error.kind == "lost"


# ---------------------------------------------------------------- the running sender


async def test_running_sends_a_submit_at_once_and_stops_cleanly(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3") as outbox:
            async with outbox.running(cc, concurrency=2) as sender:
                for n in range(5):
                    await outbox.submit(sample_purchase(f"B{n}", cashdesk_number=n))
                # The default interval is 60 s: only the wake-up on submit can send them this soon.
                last = await outbox.wait_sent("B4", timeout=5)
                assert last.state is State.SENT
                assert last.purchase_id == server.purchases["B4"]
                server.fake.fail(SEND, 503, times=100)
                await outbox.submit(sample_purchase("LATER"))
                waited = await outbox.wait_sent("LATER", timeout=0.3)
                assert waited.state is State.PENDING  # the timeout returns the record as it is
                with pytest.raises(RecordNotFound):
                    await outbox.wait_sent("nope", timeout=1)
            assert sender.passes >= 1
            assert len(await outbox.records(State.SENT)) == 5
        assert cc.closed is False  # the sender stopped; the client is the application's


async def test_cancelling_the_task_that_runs_the_sender_stops_it(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3") as outbox:
            started: asyncio.Future[Sender] = asyncio.get_running_loop().create_future()

            async def application() -> None:
                async with outbox.running(cc) as sender:
                    started.set_result(sender)
                    await asyncio.sleep(3600)

            task = asyncio.create_task(application())
            sender = await started
            await outbox.submit(sample_purchase("B-1"))
            assert (await outbox.wait_sent("B-1", timeout=5)).state is State.SENT
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert sender._task is not None
            assert sender._task.done()  # no sender left running behind the application's back
            await outbox.submit(sample_purchase("B-2"))
            await asyncio.sleep(0.2)
            assert (await outbox.get("B-2")).state is State.PENDING  # type: ignore[union-attr]
    assert list(server.purchases) == ["B-1"]


async def test_stopping_during_a_slow_send_gives_the_purchase_back(tmp_path: Path) -> None:
    async with serving() as server, client(server, timeout=10) as cc:
        async with Outbox(tmp_path / "o.sqlite3") as outbox:
            server.fake.slow(SEND, 3.0, times=1)
            async with outbox.running(cc, shutdown_timeout=0.2):
                await outbox.submit(sample_purchase("SLOW"))
                for _ in range(250):
                    if server.in_flight:
                        break
                    await asyncio.sleep(0.02)
                assert server.in_flight == 1  # stopped in the middle of the send
            record = await outbox.get("SLOW")
    assert record is not None
    assert (record.state, record.attempts, record.next_attempt_at is not None) == (State.PENDING, 0, True)


async def test_a_running_sender_survives_store_errors_and_reports_them(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        outbox = Outbox(tmp_path / "o.sqlite3", schedule=Schedule(interval=0.05))
        async with outbox, outbox.running(cc) as sender:
            await outbox.submit(sample_purchase("B-1"))
            await outbox.store.close()  # the database goes away under the running sender
            for _ in range(100):
                if sender.last_error is not None:
                    break
                await asyncio.sleep(0.02)
            assert isinstance(sender.last_error, OutboxStoreError)
            assert str(tmp_path / "o.sqlite3") in str(sender.last_error)
            await outbox.store.open()
            for _ in range(100):
                if sender.last_error is None and server.purchases:
                    break
                await asyncio.sleep(0.02)
    assert list(server.purchases) == ["B-1"]


# ---------------------------------------------------------------- cancel


async def test_cancel_only_what_was_sent(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
            with pytest.raises(NotCancellable, match=r"does not know it.*cancelling_bill"):
                await outbox.cancel("NEVER")
            await outbox.submit(sample_purchase("B-1"))
            with pytest.raises(NotCancellable, match=r"pending.*wait until it is sent"):
                await outbox.cancel("B-1")
            await outbox.send_due(cc)
            cancel = await outbox.cancel("B-1")
            assert (cancel.bill_id, cancel.cancels_bill_id, cancel.state) == ("CB-1", "B-1", State.PENDING)
            assert (await outbox.cancel("B-1")).seq == cancel.seq  # cancelling twice stores one cancellation
            assert (await outbox.cancel("B-1", new_bill_id="CB-1")).seq == cancel.seq
            with pytest.raises(NotCancellable, match="already cancelled by bill 'CB-1'"):
                await outbox.cancel("B-1", new_bill_id="OTHER")
            with pytest.raises(NotCancellable, match="itself a cancellation"):
                await outbox.cancel("CB-1")
            await outbox.send_due(cc)
            assert "cancels B-1" in render_table(await outbox.records())
    sent = first_send_body(server, "CB-1")
    assert (sent["bill"]["canceled"], sent["bill"]["bill_number"]) == (True, "B-1")
    assert sent["bill"]["total_price"] == first_send_body(server, "B-1")["bill"]["total_price"]


async def test_cancel_refuses_manual_and_discarded_bills(tmp_path: Path) -> None:
    async with serving() as server, client(server) as cc:
        async with Outbox(tmp_path / "o.sqlite3", clock=FakeClock()) as outbox:
            server.invalid_bills.add("BAD")
            await outbox.submit(sample_purchase("BAD"))
            await outbox.send_due(cc)
            with pytest.raises(NotCancellable, match="discard it instead"):
                await outbox.cancel("BAD")
            await outbox.discard("BAD", reason="test")
            with pytest.raises(NotCancellable, match="nothing to cancel"):
                await outbox.cancel("BAD")


# ---------------------------------------------------------------- files that are missing, read-only, corrupt


async def test_missing_directory_and_missing_file_name_the_path(tmp_path: Path) -> None:
    nowhere = tmp_path / "not-mounted" / "outbox.sqlite3"
    with pytest.raises(OutboxStoreError, match="not-mounted") as caught:
        await Outbox(nowhere).submit(sample_purchase("B-1"))
    assert caught.value.location == str(nowhere)
    missing = tmp_path / "typo.sqlite3"
    with pytest.raises(OutboxStoreError, match=r"typo\.sqlite3 does not exist"):
        await SQLiteStore(missing, create=False).open()
    assert not missing.exists()


async def test_corrupt_or_foreign_or_newer_files_are_refused_by_name(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    with pytest.raises(OutboxStoreError, match=r"garbage\.sqlite3.*not a database"):
        await Outbox(garbage).submit(sample_purchase("B-1"))
    assert garbage.read_bytes().startswith(b"this is not a database")  # left as it was

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(OutboxStoreError, match=r"foreign\.sqlite3 is an SQLite database but not .* outbox"):
        await Outbox(foreign).open()

    newer = tmp_path / "newer.sqlite3"
    async with Outbox(newer) as outbox:
        await outbox.submit(sample_purchase("B-1"))
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(OutboxStoreError, match=r"schema version 99.*upgrade carecloud-async"):
        await Outbox(newer).open()


async def test_a_schema_1_file_is_migrated_when_opened_and_keeps_its_purchases(tmp_path: Path) -> None:
    # Written by the previous release: no traceparent column, user_version 1, one purchase pending.
    path = tmp_path / "old.sqlite3"
    make_sqlite_schema_1(path, "OLD-1")
    async with Outbox(path) as outbox:
        (old,) = await outbox.records()
        assert (old.bill_id, old.state, old.cashdesk_number, old.traceparent) == ("OLD-1", State.PENDING, 9, None)
        assert old.send_body().to_dict() == sample_purchase("OLD-1", cashdesk_number=9).to_dict()
        await outbox.submit(sample_purchase("NEW-1"))
    assert "traceparent" in columns_sqlite(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    async with Outbox(path) as outbox:  # opened again: nothing left to migrate
        assert [record.bill_id for record in await outbox.records()] == ["OLD-1", "NEW-1"]
        assert (await outbox.store.claim(now=1e12, lease_until=1e12 + 60, token="t", limit=5))[0].bill_id == "OLD-1"


async def test_corrupted_pages_are_an_error_naming_the_file_not_an_empty_outbox(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path) as outbox:
        for n in range(300):
            await outbox.submit(sample_purchase(f"B{n}"))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : len(data)] = b"\xff" * (len(data) - 2 * page)  # every page past the schema is garbage
    path.write_bytes(bytes(data))
    outbox = Outbox(path)

    async def open_and_list() -> None:
        await outbox.open()
        await outbox.records()

    with pytest.raises(OutboxStoreError, match=r"o\.sqlite3.*malformed"):
        await open_and_list()
    await outbox.close()


async def test_file_deleted_while_open_refuses_new_submits(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    async with Outbox(path) as outbox:
        await outbox.submit(sample_purchase("B-1"))
        path.unlink()
        with pytest.raises(OutboxStoreError, match=r"o\.sqlite3 was deleted or replaced.*NOT stored"):
            await outbox.submit(sample_purchase("B-2"))


def test_read_only_database_is_an_error_naming_the_file(tmp_path: Path) -> None:
    # Root ignores file modes, so under root the submit runs in a forked child that gave up root
    # (setuid to nobody) first: the file and its folder are then really read-only for it.
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="outbox-ro-"))
    path = folder / "outbox.sqlite3"

    async def submit(bill_id: str) -> None:
        async with Outbox(path) as outbox:
            await outbox.submit(sample_purchase(bill_id))

    try:
        asyncio.run(submit("B-1"))
        for name in os.listdir(folder):
            os.chmod(folder / name, 0o444)
        os.chmod(folder, 0o555)  # noqa: S103 (read-only on purpose)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            os.close(read_end)
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                asyncio.run(submit("B-2"))
                report = "stored"
            except BaseException as exc:
                report = f"{type(exc).__name__}: {exc}"
            os.write(write_end, report.encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read().decode()
        os.waitpid(child, 0)
        assert report.startswith("OutboxStoreError"), report
        assert str(path) in report, report
        os.chmod(folder, 0o755)  # noqa: S103 (back to writable to clean up)
        for name in os.listdir(folder):
            os.chmod(folder / name, 0o644)
        with sqlite3.connect(path) as db:  # what was stored before is still there, and nothing else
            assert db.execute("SELECT bill_id FROM carecloud_outbox_purchases").fetchall() == [("B-1",)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- kill -9 right after submit returns


def test_kill_9_right_after_submit_returns_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    confirmed, returncode = submit_until_killed(str(path), after=150, desks=4)
    assert returncode == -9
    with sqlite3.connect(path) as db:
        stored = {row[0] for row in db.execute("SELECT bill_id FROM carecloud_outbox_purchases")}
    assert len(confirmed) == 150
    assert set(confirmed) <= stored


# ---------------------------------------------------------------- the command line


def outbox_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "carecloud_async.outbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")},
    )


async def test_command_line_lists_retries_and_discards(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    clock = FakeClock()
    async with serving() as server, client(server) as cc:
        async with Outbox(path, clock=clock) as outbox:
            server.invalid_bills.update({"BAD-1", "BAD-2"})
            for bill_id, desk in (("BAD-1", 1), ("BAD-2", 2), ("OK-1", 3), ("WAIT-1", 4)):
                await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
            await outbox.send_due(cc, concurrency=3)
    listing = outbox_cli("--db", str(path), "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["bill_id", "store", "/"]
    assert any(line.startswith("BAD-1") and " manual " in line and "not_found" in line for line in lines)
    assert not any(line.startswith("OK-1") for line in lines)  # sent ones only with --all
    assert "manual 2" in listing.stdout
    assert "sent" in listing.stdout
    everything = outbox_cli("--db", str(path), "list", "--all")
    assert any(line.startswith("OK-1") and " sent " in line for line in everything.stdout.splitlines())
    show = outbox_cli("--db", str(path), "show", "BAD-1")
    assert "invalid: bill.currency_id: not_found (Unknown currency)" in show.stdout

    retry = outbox_cli("--db", str(path), "retry", "BAD-1")
    assert retry.returncode == 0
    assert "pending" in retry.stdout
    discard = outbox_cli("--db", str(path), "discard", "BAD-2", "--reason", "keyed in by hand")
    assert discard.returncode == 0
    assert "discarded: keyed in by hand" in discard.stdout
    again = outbox_cli("--db", str(path), "discard", "BAD-2", "--reason", "twice")
    assert again.returncode == 1
    assert "it is discarded, not manual" in again.stderr
    no_reason = outbox_cli("--db", str(path), "discard", "BAD-1")
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr

    async with Outbox(path) as outbox:
        states = {r.bill_id: r.state for r in await outbox.records()}
    assert states == {
        "BAD-1": State.PENDING,
        "BAD-2": State.DISCARDED,
        "OK-1": State.SENT,
        "WAIT-1": State.SENT,
    }

    missing = outbox_cli("--db", str(tmp_path / "typo.sqlite3"), "list")
    assert missing.returncode == 1
    assert "typo.sqlite3 does not exist" in missing.stderr
    assert not (tmp_path / "typo.sqlite3").exists()
    assert outbox_cli("list").returncode == 2  # no --db and no CARECLOUD_OUTBOX


def test_records_read_back_as_the_bodies_that_were_submitted() -> None:
    record = OutboxRecord(
        seq=1,
        bill_id="B-1",
        store_id="store-1",
        cashdesk_number=1,
        state=State.PENDING,
        attempts=0,
        submitted_at=START,
        updated_at=START,
        body=json.dumps(sample_purchase("B-1").to_dict()),
    )
    assert record.send_body().to_dict() == sample_purchase("B-1").to_dict()
    assert "body" not in repr(record)
    assert "lease_token" not in repr(record)


@pytest.mark.parametrize(
    "name",
    [
        "carecloud_async.outbox._schedule",
        "carecloud_async.outbox._records",
        "carecloud_async.outbox._table",
        "carecloud_async.outbox._commands",
        "carecloud_async.outbox._sendable",
        "carecloud_async.workflows.purchases",
    ],
)
def test_docstring_examples_of_the_outbox(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0


def test_the_outbox_guide_has_a_tested_quick_start() -> None:
    # tests/test_readme.py runs every marked block of the docs pages against Prism; this keeps one
    # in the outbox guide's quick start, and the manual-transfer commands on that page.
    text = (ROOT / "docs" / "guide" / "outbox.md").read_text(encoding="utf-8")
    section = text.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert "<!-- tested: enterprise -->\n```python\n" in section
    assert "outbox.submit(" in section
    assert "outbox.running(" in section
    for command in ("list", "show", "retry", "discard"):
        assert f"python -m carecloud_async.outbox --db outbox.sqlite3 {command}" in text


async def test_opening_a_new_file_waits_for_another_process_holding_its_lock(tmp_path: Path) -> None:
    # A submitter and a sender starting together on a new outbox: while one holds the file's write
    # lock (creating the schema), the other's switch to WAL answered "database is locked" at once
    # (SQLite calls no busy handler there), and its open failed.
    path = tmp_path / "new.sqlite3"
    other = subprocess.Popen(  # noqa: S603, ASYNC220 (our own interpreter; a lock holder beside the loop)
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.5)\n"
            "c.execute('ROLLBACK')\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "locked"
        store = SQLiteStore(path, busy_timeout=10)
        await store.open()
        await store.close()
    finally:
        other.wait(timeout=30)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
