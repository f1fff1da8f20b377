"""The fake's point and credit history and expiration overviews answer from the stored movements
(never the spec's example): what was granted, reduced, transferred or spent on a purchase, and
what of the balance expires when (each answer checked against the spec by the fake)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from fake_api import Api, logged_in

from carecloud_async.testing import FakeCareCloud

# 2026-12-07 12:00:00 UTC: the fake's clock in these tests (moved on with fake.advance).
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc).timestamp()


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    fake = FakeCareCloud(clock=lambda: NOON, token_lifetime=30 * 86400)  # outlives the advances
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        yield await logged_in(fake, http)


async def _history(api: Api, kind: str, customer_id: str, **params: Any) -> list[dict[str, Any]]:
    answer = await api.send("GET", f"/{kind}-history", customer_id=customer_id, **params)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    records: list[dict[str, Any]] = data[f"{kind}_history"]
    assert data["total_items"] == len(records)
    return records


async def test_point_history_is_the_customers_movements_in_order_and_its_filters_apply(api: Api) -> None:
    jane, joe = api.fake.customers.create(), api.fake.customers.create()
    jid = jane["customer_id"]
    grant = {"customer_id": jid, "partner_id": "p-1", "point_type_id": "birthday", "amount": 70.0}
    assert (await api.send("POST", "/points/actions/assign-points", grant)).status_code == 201
    api.fake.advance(3600)
    reduce = {"customer_id": jid, "partner_id": "p-2", "amount": 30.0}
    assert (await api.send("POST", "/points/actions/reduce-points", reduce)).status_code == 201
    api.fake.advance(3600)
    move = {
        "original_customer_id": jid,
        "new_customer_id": joe["customer_id"],
        "point_type_id": "birthday",
        "amount": 15.0,
        "note": "Gift to Joe",
    }
    assert (await api.send("POST", "/points/actions/transfer-points", move)).status_code == 204
    api.fake.points.grant(joe["customer_id"], 99)

    records = await _history(api, "point", jid)
    assert [(r["point_amount"], r["point_operation_type"]) for r in records] == [
        (70.0, "Points addition"),
        (-30.0, "Points redemption"),
        (-15.0, "Points redemption"),
    ]
    assert [r["point_history_record_time"] for r in records] == [
        "2026-12-07 12:00:00",
        "2026-12-07 13:00:00",
        "2026-12-07 14:00:00",
    ]
    assert {r["customer_id"] for r in records} == {jid}
    assert [r["partner_id"] for r in records[:2]] == ["p-1", "p-2"]
    assert records[2]["point_operation_note"] == "Gift to Joe"
    # The history adds up to the balance the wallet shows.
    assert sum(r["point_amount"] for r in records) == api.fake.points.balance(jid) == 25.0
    joes = await _history(api, "point", joe["customer_id"])
    assert [(r["point_amount"], r["point_operation_note"]) for r in joes] == [(15.0, "Gift to Joe"), (99.0, "")]

    amounts = [r["point_amount"] for r in await _history(api, "point", jid, partner_id="p-2")]
    assert amounts == [-30.0]
    amounts = [r["point_amount"] for r in await _history(api, "point", jid, point_type_id="birthday")]
    assert amounts == [70.0, -15.0]
    amounts = [r["point_amount"] for r in await _history(api, "point", jid, point_operation_type="REDEMP")]
    assert amounts == [-30.0, -15.0]
    amounts = [r["point_amount"] for r in await _history(api, "point", jid, point_operation_note="joe")]
    assert amounts == [-15.0]
    window = {"time_from": "2026-12-07T12:30:00", "time_to": "2026-12-07 13:00:00"}
    assert [r["point_amount"] for r in await _history(api, "point", jid, **window)] == [-30.0]
    paged = await api.send("GET", "/point-history", customer_id=jid, count=1, offset=1)
    assert paged.json()["data"]["total_items"] == 3
    assert [r["point_amount"] for r in paged.json()["data"]["point_history"]] == [-30.0]
    assert (await api.send("GET", "/point-history", customer_id="nobody")).status_code == 404


async def test_credit_history_is_the_customers_deposits_and_reductions(api: Api) -> None:
    jane = api.fake.customers.create()
    jid = jane["customer_id"]
    assert await _history(api, "credit", jid) == []
    deposit = {"customer_id": jid, "partner_id": "p-1", "amount": 40.0}
    assert (await api.send("POST", "/credits/actions/deposit-credits", deposit)).status_code == 201
    reduce = {"customer_id": jid, "partner_id": "p-1", "amount": 12.5}
    assert (await api.send("POST", "/credits/actions/reduce-credits", reduce)).status_code == 201
    records = await _history(api, "credit", jid)
    assert [(r["amount"], r["credit_operation_type"], r["partner_id"]) for r in records] == [
        (40.0, "Credit deposit", "p-1"),
        (-12.5, "Credit reduction", "p-1"),
    ]
    assert [r["amount"] for r in await _history(api, "credit", jid, credit_operation_type="deposit")] == [40.0]
    assert (await api.send("GET", "/credit-history", customer_id="nobody")).status_code == 404


async def test_a_purchase_paid_with_points_and_credit_is_in_the_history_but_adds_no_point_record(api: Api) -> None:
    fake = api.fake
    jane = fake.customers.create()
    jid = jane["customer_id"]
    fake.points.grant(jid, 50)
    fake.credits.grant(jid, 20)
    item = {
        "bill_item_id": "item-1",
        "plu_ids": [{"list_code": "EAN", "code": "8590000000001"}],
        "plu_name": "Item 1",
        "vat_rate": 21.0,
        "quantity": 1.0,
        "paid_amount": 10.0,
        "price": 10.0,
        "loyalty_off": False,
        "purchase_item_type_id": "goods",
    }
    bill: dict[str, Any] = {
        "bill_id": "B-7",
        "payment_time": "2026-12-07 12:00:00",
        "currency_id": "czk",
        "total_price": 10.0,
        "bill_items": [item],
    }
    accept = {"store_id": "store-9", "cashdesk_number": 1, "payment_type": "S", "bill": dict(bill)}
    accept |= {"customer_id": jid, "max_points": 4, "max_credit": 3}
    assert (await api.send("POST", "/purchases/actions/accept-payment", accept)).status_code == 200
    point_records = (await api.send("GET", "/points", customer_id=jid)).json()["data"]
    bill |= {"total_price": 3.0, "purchase_type_id": "shop", "canceled": False, "payment_type": "S"}
    bill["payment_recap"] = {"credit_points": 4.0, "amount_for_credit": 3.0}
    body = {"store_id": "store-9", "cashdesk_number": 1, "customer_id": jid, "bill": bill}
    sent = await api.send("POST", "/purchases/actions/send-purchase", body)
    assert sent.status_code == 201, sent.text

    points = await _history(api, "point", jid)
    assert [(r["point_amount"], r.get("store_id")) for r in points] == [(50.0, None), (-4.0, "store-9")]
    assert points[1]["point_operation_type"] == "Points redemption"
    assert json.loads(points[1]["extended_data"]) == {"external_purchase_id": "B-7", "purchase_value": 10.0}
    assert sum(r["point_amount"] for r in points) == fake.points.balance(jid) == 46.0
    credits_ = await _history(api, "credit", jid)
    assert [(r["amount"], r.get("store_id")) for r in credits_] == [(20.0, None), (-3.0, "store-9")]
    assert [r["amount"] for r in await _history(api, "credit", jid, store_id="store-9")] == [-3.0]
    # GET /points lists the same movements as before the purchase (its spending is not one).
    after = (await api.send("GET", "/points", customer_id=jid)).json()["data"]
    assert [p["point_id"] for p in after["points"]] == [p["point_id"] for p in point_records["points"]]
    assert after["points"][0]["available_points"] == 46.0


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("point", "/wallet/actions/points-expiration-overview"),
        ("credit", "/wallet/actions/credits-expiration-overview"),
    ],
)
async def test_the_expiration_overview_is_what_is_left_of_movements_with_a_valid_to(
    api: Api, kind: str, path: str
) -> None:
    fake = api.fake
    table = fake.points if kind == "point" else fake.credits
    jane, joe = fake.customers.create(), fake.customers.create()
    jid = jane["customer_id"]

    async def overview(customer_id: str) -> dict[str, Any]:
        answer = await api.send("GET", path, customer_id=customer_id)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    table.grant(jid, 100)  # never expires
    assert await overview(jid) == {"next_amount": 0.0, "current_month_amount": 0.0}
    table.grant(jid, 30, valid_to="2026-12-20 23:59:59")
    table.grant(jid, 12, valid_to="2026-12-20 10:00:00")
    table.grant(jid, 50, valid_to="2027-01-31 23:59:59")
    table.grant(jid, 9, valid_to="2026-12-01 00:00:00")  # expired already
    table.grant(joe["customer_id"], 77, valid_to="2026-12-10 00:00:00")
    assert await overview(jid) == {"next_amount": 42.0, "next_date": "2026-12-20", "current_month_amount": 42.0}
    # Spending takes the oldest movements first (100, then 10 of the 30): what is left counts.
    assert table.spend(jid, 110)
    assert await overview(jid) == {"next_amount": 32.0, "next_date": "2026-12-20", "current_month_amount": 32.0}
    fake.advance(14 * 86400)  # 2026-12-21: December's are gone, January's is next
    assert await overview(jid) == {"next_amount": 50.0, "next_date": "2027-01-31", "current_month_amount": 0.0}
    assert (await api.send("GET", path, customer_id="nobody")).status_code == 404
