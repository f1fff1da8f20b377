"""What the purchase outbox's tests need of the shipped fake CareCloud (carecloud_async.testing):
each bill_id recorded once and a repeat answered ``already_exists``, faults planned in order and
limited to chosen requests, late answers after recording, what reached the server (per login,
overlapping sends), the received path and its spec route, and a server stopped mid-answer.

The outbox suites themselves (tests/test_outbox*.py) run against the fake through tests/outbox_fake.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customer
from carecloud_api.api.purchases import post_purchase_send

from carecloud_async import (
    BadRequest,
    CareCloud,
    NetworkError,
    RateLimited,
    RequestTimeout,
    RetryPolicy,
    ServiceUnavailable,
)
from carecloud_async.testing import FakeCareCloud, FakeServer, ReceivedRequest, sample_purchase
from scripts import server_process

SEND = "postPurchaseSend"
NO_RETRY = RetryPolicy.disabled()


def bill_of(request: ReceivedRequest) -> str:
    return str(request.json["bill"]["bill_id"])


async def send(cc: Any, bill_id: str, **options: Any) -> str:
    answer = await cc.call(post_purchase_send, body=sample_purchase(bill_id, **options))
    return str(answer.data.purchase_id)


async def test_each_bill_id_is_recorded_once_and_a_repeat_is_answered_already_exists() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        first = await send(cc, "B-1")
        second = await send(cc, "B-2", cashdesk_number=2)
        with pytest.raises(BadRequest) as repeated:
            await send(cc, "B-1", cashdesk_number=3)  # another body, the same bill_id
    assert fake.sent_purchases() == {"B-1": first, "B-2": second}  # in the order recorded
    assert [(p.name, p.reason) for p in repeated.value.invalid_params] == [("bill_id", "already_exists")]
    answers = [(bill_of(r), r.status, r.invalid_params) for r in fake.requests(SEND)]
    assert answers == [("B-1", 201, []), ("B-2", 201, []), ("B-1", 400, [("bill_id", "already_exists")])]
    recorded = fake.purchase_of_bill("B-1")
    assert recorded is not None
    assert (recorded["purchase_id"], recorded["cashdesk_number"], recorded["bill"]["bill_id"]) == (first, "1", "B-1")
    assert recorded["bill"] == sample_purchase("B-1").to_dict()["bill"]  # the bill as sent
    assert fake.purchase_of_bill("B-3") is None
    assert len(fake.purchases) == 2


async def test_a_sample_purchase_whose_total_is_not_its_items_is_refused() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        with pytest.raises(BadRequest) as refused:
            await send(cc, "B-1", total_price=650.0)
    assert [(p.name, p.reason) for p in refused.value.invalid_params] == [("bill.total_price", "not_allowed_value")]
    assert fake.sent_purchases() == {}


async def test_planned_faults_are_used_in_the_order_planned_one_per_request() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        await cc.authenticate()
        fake.reset_connection(SEND, after_record=True)
        fake.fail(SEND, 429, retry_after=30)
        fake.reset_connection(SEND)
        fake.fail("*", 503)  # any operation: after the faults planned for this one
        with pytest.raises(NetworkError):
            await send(cc, "LANDED")  # recorded, then the connection dropped
        with pytest.raises(RateLimited):  # the next fault planned, not the one after
            await send(cc, "LANDED")
        with pytest.raises(NetworkError):
            await send(cc, "LOST")
        with pytest.raises(ServiceUnavailable):
            await send(cc, "LOST")
        await send(cc, "LOST")
    statuses = [(bill_of(r), r.status) for r in fake.requests(SEND)]
    assert statuses == [("LANDED", None), ("LANDED", 429), ("LOST", None), ("LOST", 503), ("LOST", 201)]
    assert list(fake.sent_purchases()) == ["LANDED", "LOST"]


async def test_a_fault_limited_by_when_passes_other_requests_by_until_cleared() -> None:
    fake = FakeCareCloud()
    refusal = {"error": {"error_data": {"invalid_params": [{"name": "bill.currency_id", "reason": "not_found"}]}}}
    invalid = {"BAD"}
    fake.fail(SEND, 400, times=None, body=refusal, when=lambda r: bill_of(r) in invalid)
    fake.fail(SEND, 503, times=1)
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        for _ in range(2):
            with pytest.raises(BadRequest) as refused:
                await send(cc, "BAD")  # every time, and the 503 stays for another bill
        assert refused.value.invalid_params[0].name == "bill.currency_id"
        with pytest.raises(ServiceUnavailable):
            await send(cc, "GOOD")
        await send(cc, "GOOD")
        invalid.clear()  # the predicate is read per request
        await send(cc, "BAD")
        fake.fail(SEND, 503, times=None)
        fake.clear_faults()
        await send(cc, "LATER")
    assert list(fake.sent_purchases()) == ["GOOD", "BAD", "LATER"]
    assert fake.requests(SEND)[0].invalid_params == [("bill.currency_id", "not_found")]
    with pytest.raises(ValueError, match="times must be a whole number >= 1 or None, not 0"):
        fake.fail(SEND, times=0)


async def test_a_late_answer_after_recording_times_the_client_out_and_the_repeat_meets_it() -> None:
    fake = FakeCareCloud()
    fake.slow(SEND, 0.5, times=1, after_record=True)
    async with (
        FakeServer(fake) as server,
        CareCloud.enterprise(  # on loopback: the client's timeout applies
            server.url,
            user_external_application_id="fake-app",
            login="pos@example.com",
            password="fake-password",
            retry=NO_RETRY,
            timeout=0.2,
        ) as cc,
    ):
        with pytest.raises(RequestTimeout):
            await send(cc, "SLOW")
        assert list(fake.sent_purchases()) == ["SLOW"]  # it landed; the client cannot know
        assert fake.in_flight(SEND) == 1  # the fake is still answering it
        with pytest.raises(BadRequest) as repeated:
            await send(cc, "SLOW")  # the one-off delay is used up: at once
    assert repeated.value.invalid_params[0].reason == "already_exists"
    assert [bill_of(r) for r in fake.overlapping(SEND, bill_of)] == ["SLOW"]  # sent again while in flight


async def test_a_late_answer_before_recording_records_nothing_until_it_ends() -> None:
    fake = FakeCareCloud()
    fake.slow(SEND, 0.3, times=1)
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        task = asyncio.ensure_future(send(cc, "LATE"))
        for _ in range(500):  # bounded: 5 s
            if fake.in_flight():
                break
            await asyncio.sleep(0.01)
        assert fake.sent_purchases() == {}
        assert fake.requests(SEND)[0].answered is None
        await task
    assert list(fake.sent_purchases()) == ["LATE"]
    request = fake.requests(SEND)[0]
    assert request.answered is not None
    assert request.answered - request.arrived >= 0.3


async def test_overlapping_tells_concurrent_sends_of_one_key_from_sequential_ones() -> None:
    fake = FakeCareCloud()
    fake.slow(SEND, 0.05)
    async with fake.enterprise_client(retry=NO_RETRY) as cc:
        # Desk 1 twice at once, desk 2 once; then desk 2 again after its first was answered.
        await asyncio.gather(*(send(cc, bill, cashdesk_number=desk) for bill, desk in (("A", 1), ("B", 1), ("C", 2))))
        await send(cc, "D", cashdesk_number=2)

    def desk(request: ReceivedRequest) -> int:
        return int(request.json["cashdesk_number"])

    assert [bill_of(r) for r in fake.overlapping(SEND, desk)] == ["B"]
    assert fake.overlapping(SEND, bill_of) == []
    assert fake.max_in_flight[SEND] == 3
    assert fake.in_flight() == 0


async def test_received_requests_name_their_path_route_and_login() -> None:
    fake = FakeCareCloud()
    fake.add_user("desk-7", "pw", "fake-app")
    jane = fake.customers.create()
    async with fake.enterprise_client(login="desk-7", password="pw", retry=NO_RETRY) as cc:
        await cc.call(get_customer, customer_id=jane["customer_id"])
    (read,) = fake.requests("getCustomer")
    assert read.path == f"/customers/{jane['customer_id']}"  # the request's own path
    assert read.route == "/customers/{customer_id}"  # the spec path it matched
    assert read.login == "desk-7"
    assert read.status == 200
    assert read.answer["data"]["customer_id"] == jane["customer_id"]
    (login,) = fake.requests("postUserLogin")
    assert (login.route, login.login) == ("/users/actions/login", None)  # no token sent yet
    fake.raise_on_violation = False
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        await http.get("https://fake.carecloud.test/not/carecloud")
    (stray,) = [r for r in fake.received if r.operation_id is None]
    assert (stray.path, stray.route, stray.status) == ("/not/carecloud", None, 400)


async def test_the_loopback_server_gives_up_an_answer_still_delayed_when_it_stops() -> None:
    fake = FakeCareCloud()
    fake.slow(SEND, 30.0, times=1)
    server = FakeServer(fake)
    await server.start()
    try:
        cc = CareCloud.enterprise(
            server.url, user_external_application_id="fake-app", login="pos@example.com", password="fake-password"
        )
        async with cc:
            await cc.authenticate()
            task = asyncio.ensure_future(send(cc, "STUCK"))
            for _ in range(500):  # bounded: 5 s
                if fake.in_flight(SEND):
                    break
                await asyncio.sleep(0.01)
            await server.stop()  # within the 5 s it waits at most, though the answer is 30 s away
            assert fake.in_flight(SEND) == 0
            assert fake.sent_purchases() == {}
            with pytest.raises(NetworkError):
                await task
    finally:
        await server.stop()
    assert fake.requests(SEND)[0].status is None


def test_python_m_slow_delays_every_answer() -> None:
    process, port = server_process.start_server_process(
        lambda port: [sys.executable, "-m", "carecloud_async.testing", "--port", str(port), "--slow", "0.3"],
        "the fake CareCloud",
    )
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/webservice/rest-api/enterprise-interface/v1.0/languages")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answer.status_code == 200
    assert answer.elapsed.total_seconds() >= 0.3  # the delay asked for, at the least


def test_the_guide_describes_every_field_of_a_received_request() -> None:
    # The guide once called `path` the spec path while it held the request's own path.
    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "testing.md").read_text(encoding="utf-8")
    rows = {
        name.strip("` ")
        for line in guide.splitlines()
        if line.startswith("| `")
        for name in line.split("|")[1].split(",")
    }
    fields = {field.name for field in dataclasses.fields(ReceivedRequest)} | {"invalid_params"}
    assert fields <= rows, fields - rows
    (path_row,) = [line for line in guide.splitlines() if line.startswith("| `path` |")]
    (route_row,) = [line for line in guide.splitlines() if line.startswith("| `route` |")]
    assert "the request's own path" in path_row
    assert "`/customers/{customer_id}`" in route_row
