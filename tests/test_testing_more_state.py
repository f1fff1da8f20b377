"""The fake's state behind operations integrations chain with stored records: a customer's point
records, assign-customer on a sent purchase, and the point and credit transfers (each answered
from the stored records, never the spec's example, and checked against the spec by the fake)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fake_api import Api, logged_in, reasons

from carecloud_async.testing import FakeCareCloud


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    fake = FakeCareCloud()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        yield await logged_in(fake, http)


# ---------------------------------------------------------------------- a customer's point records


async def test_a_customers_point_records_are_the_stored_movements(api: Api) -> None:
    jane, joe = api.fake.customers.create(), api.fake.customers.create()
    granted = api.fake.points.grant(jane["customer_id"], 40, type_id="birthday")
    api.fake.points.grant(jane["customer_id"], 5)
    api.fake.points.grant(joe["customer_id"], 7)
    answer = await api.send("GET", f"/customers/{jane['customer_id']}/points")
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["total_items"] == 2
    assert sorted(p["assigned_points"] for p in data["points"]) == [5.0, 40.0]
    assert {p["customer_id"] for p in data["points"]} == {jane["customer_id"]}
    # The same records GET /points?customer_id= answers, and point_type_id filters them.
    by_query = (await api.send("GET", "/points", customer_id=jane["customer_id"])).json()["data"]["points"]
    assert by_query == data["points"]
    typed = (await api.send("GET", f"/customers/{jane['customer_id']}/points", point_type_id="birthday")).json()
    assert [p["point_id"] for p in typed["data"]["points"]] == [granted["point_id"]]


async def test_a_customer_without_points_has_no_point_records_and_an_unknown_one_is_404(api: Api) -> None:
    jane = api.fake.customers.create()
    empty = await api.send("GET", f"/customers/{jane['customer_id']}/points")
    assert empty.json()["data"] == {"points": [], "total_items": 0}
    assert (await api.send("GET", "/customers/nobody/points")).status_code == 404


# ---------------------------------------------------------------------- assign-customer


def _purchase(bill_id: str, store_id: str = "store-1") -> dict[str, Any]:
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
    bill = {
        "bill_id": bill_id,
        "payment_time": "2026-12-07 10:00:00",
        "currency_id": "czk",
        "total_price": 10.0,
        "bill_items": [item],
        "purchase_type_id": "shop",
        "canceled": False,
        "payment_type": "S",
    }
    return {"store_id": store_id, "cashdesk_number": 1, "bill": bill}


async def test_assign_customer_sets_the_stored_purchases_customer(api: Api) -> None:
    jane = api.fake.customers.create()
    sent = await api.send("POST", "/purchases/actions/send-purchase", _purchase("B1"))
    purchase_id = sent.json()["data"]["purchase_id"]
    assign = {"store_id": "store-1", "external_purchase_id": "B1", "customer_id": jane["customer_id"]}
    assert (await api.send("POST", "/purchases/actions/assign-customer", assign)).status_code == 204
    read = (await api.send("GET", f"/purchases/{purchase_id}")).json()["data"]
    assert read["customer_id"] == jane["customer_id"]
    listed = (await api.send("GET", f"/customers/{jane['customer_id']}/purchases")).json()["data"]["purchases"]
    assert [p["purchase_id"] for p in listed] == [purchase_id]
    # A retry with the same customer is answered alike; another customer is refused.
    assert (await api.send("POST", "/purchases/actions/assign-customer", assign)).status_code == 204
    joe = api.fake.customers.create()
    other = await api.send("POST", "/purchases/actions/assign-customer", assign | {"customer_id": joe["customer_id"]})
    assert reasons(other) == [("customer_id", "already_exists")]


async def test_assign_customer_by_card_number_and_its_refusals(api: Api) -> None:
    jane = api.fake.customers.create()
    card = api.fake.cards.create(customer_id=jane["customer_id"])
    await api.send("POST", "/purchases/actions/send-purchase", _purchase("B2"))
    by_card = {"store_id": "store-1", "external_purchase_id": "B2", "card_number": card["card_number"]}
    assert (await api.send("POST", "/purchases/actions/assign-customer", by_card)).status_code == 204
    assert api.fake.purchase_of_bill("B2")["customer_id"] == jane["customer_id"]  # type: ignore[index]
    unknown = await api.send("POST", "/purchases/actions/assign-customer", by_card | {"external_purchase_id": "B9"})
    assert reasons(unknown) == [("external_purchase_id", "not_found")]
    other_store = await api.send("POST", "/purchases/actions/assign-customer", by_card | {"store_id": "store-2"})
    assert reasons(other_store) == [("external_purchase_id", "not_found")]
    nobody = {"store_id": "store-1", "external_purchase_id": "B2"}
    no_customer = await api.send("POST", "/purchases/actions/assign-customer", nobody)
    assert reasons(no_customer) == [("customer_id", "required")]


# ---------------------------------------------------------------------- transfers


@pytest.mark.parametrize(
    ("path", "kind", "overview"),
    [
        ("/points/actions/transfer-points", "point", "/wallet/actions/points-overview"),
        ("/credits/actions/transfer-credits", "credit", "/wallet/actions/credits-overview"),
    ],
)
async def test_a_transfer_moves_the_balance_and_refuses_more_than_it(
    api: Api, path: str, kind: str, overview: str
) -> None:
    fake = api.fake
    table = fake.points if kind == "point" else fake.credits
    old, new = fake.customers.create(), fake.customers.create()
    table.grant(old["customer_id"], 100)
    body = {
        "original_customer_id": old["customer_id"],
        "new_customer_id": new["customer_id"],
        "amount": 60.0,
        f"{kind}_type_id": "merge",
        "note": "Merging customer account",
    }
    assert (await api.send("POST", path, body)).status_code == 204
    assert (table.balance(old["customer_id"]), table.balance(new["customer_id"])) == (40.0, 60.0)
    wallet = (await api.send("GET", overview, customer_id=new["customer_id"])).json()["data"]
    assert wallet[f"available_{kind}s"] == 60.0
    # Both sides are in the history: -60 for the original holder, +60 for the new one.
    moved = [(r["customer_id"], r[f"assigned_{kind}s"]) for r in table.where(**{f"{kind}_type_id": "merge"})]
    assert moved == [(old["customer_id"], -60.0), (new["customer_id"], 60.0)]
    too_much = await api.send("POST", path, body | {"amount": 40.5})
    assert reasons(too_much) == [("amount", "not_allowed_value")]
    assert (table.balance(old["customer_id"]), table.balance(new["customer_id"])) == (40.0, 60.0)
    unknown = await api.send("POST", path, body | {"new_customer_id": "nobody"})
    assert unknown.status_code == 404
    assert table.balance(old["customer_id"]) == 40.0


# ---------------------------------------------------------------------- a purchase's sub-resources


async def test_a_purchases_items_are_the_bill_items_sent(api: Api) -> None:
    body = _purchase("B3")
    second = body["bill"]["bill_items"][0] | {
        "bill_item_id": "item-2",
        "plu_ids": [{"list_code": "EAN", "code": "8590000000002"}],
        "plu_name": "Item 2",
        "quantity": 2.0,
        "paid_amount": 6.0,
        "price": 6.0,
        "vat_rate": 12.0,
    }
    body["bill"]["bill_items"].append(second)
    body["bill"]["total_price"] = 16.0
    purchase_id = (await api.send("POST", "/purchases/actions/send-purchase", body)).json()["data"]["purchase_id"]
    answer = await api.send("GET", f"/purchases/{purchase_id}/purchase-items")
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["total_items"] == 2
    got = [
        (i["external_id"], i["product_id"], i["product_name"], i["price"], i["amount"], i["vat_rate"])
        for i in data["purchase_items"]
    ]
    assert got == [
        ("item-1", "8590000000001", "Item 1", 10.0, 1.0, 21.0),
        ("item-2", "8590000000002", "Item 2", 6.0, 2.0, 12.0),
    ]
    assert (await api.send("GET", "/purchases/nothing/purchase-items")).status_code == 404


async def test_a_purchases_payment_summary_is_its_recap_and_it_has_no_vouchers_of_its_own(api: Api) -> None:
    fake = api.fake
    jane = fake.customers.create()
    fake.points.grant(jane["customer_id"], 50)
    fake.credits.grant(jane["customer_id"], 20)
    voucher = fake.vouchers.add({"customer_id": jane["customer_id"], "code": "PTV10", "value": 1.0})
    body = _purchase("B4")
    body["customer_id"] = jane["customer_id"]
    bill = body["bill"]
    accept = {
        "store_id": "store-1",
        "cashdesk_number": 1,
        "payment_type": "S",
        "bill": {k: bill[k] for k in ("bill_id", "payment_time", "currency_id", "total_price", "bill_items")},
        "customer_id": jane["customer_id"],
        "max_points": 4,
        "max_credit": 3,
    }
    assert (await api.send("POST", "/purchases/actions/accept-payment", accept)).status_code == 200
    bill["total_price"] = 3.0
    bill["payment_recap"] = {
        "credit_points": 4.0,
        "amount_for_credit": 3.0,
        "vouchers": [{"code": "PTV10", "discount_value": 1.0}],
    }
    sent = await api.send("POST", "/purchases/actions/send-purchase", body)
    assert sent.status_code == 201, sent.text
    purchase_id = sent.json()["data"]["purchase_id"]
    summary = (await api.send("GET", f"/purchases/{purchase_id}/actions/payment-summary")).json()["data"]
    assert (summary["used_points"], summary["used_points_total"], summary["used_credits"]) == (4.0, 4.0, 3.0)
    assert summary["earned_points"] == 0.0
    assert [v["voucher_id"] for v in summary["used_vouchers"]] == [voucher["voucher_id"]]
    vouchers = (await api.send("GET", f"/purchases/{purchase_id}/vouchers")).json()["data"]
    assert vouchers == {"vouchers": [], "total_items": 0}
    assert (await api.send("GET", "/purchases/nothing/actions/payment-summary")).status_code == 404
    assert (await api.send("GET", "/purchases/nothing/vouchers")).status_code == 404


# ---------------------------------------------------------------------- create-voucher


async def test_a_voucher_created_from_a_reward_is_stored_and_read_back(api: Api) -> None:
    jane = api.fake.customers.create()
    body = {"customer_id": jane["customer_id"], "code": "W7TU7", "note": "Dessert for free"}
    created = await api.send("POST", "/rewards/reward-1/actions/create-voucher", body)
    assert created.status_code == 201, created.text
    voucher_id = created.json()["data"]["voucher_id"]
    read = (await api.send("GET", f"/vouchers/{voucher_id}")).json()["data"]
    assert (read["customer_id"], read["code"], read["note"], read["state"]) == (
        jane["customer_id"],
        "W7TU7",
        "Dessert for free",
        1,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", read["created_at"])
    listed = (await api.send("GET", f"/customers/{jane['customer_id']}/vouchers")).json()["data"]["vouchers"]
    assert [v["voucher_id"] for v in listed] == [voucher_id]
    again = await api.send("POST", "/rewards/reward-1/actions/create-voucher", body)
    assert reasons(again) == [("code", "already_exists")]
    no_code = await api.send("POST", "/rewards/reward-1/actions/create-voucher", {"customer_id": jane["customer_id"]})
    assert no_code.status_code == 201
    assert api.fake.vouchers[no_code.json()["data"]["voucher_id"]]["code"] not in ("", "W7TU7")
    unknown = await api.send("POST", "/rewards/reward-1/actions/create-voucher", {"customer_id": "nobody"})
    assert unknown.status_code == 404
    assert len(api.fake.vouchers) == 2


# ---------------------------------------------------------------------- login-test-customer

CUSTOMER = "https://fake.carecloud.test/webservice/rest-api/customer-interface/v1.0"


async def _test_login(fake: FakeCareCloud) -> tuple[str, httpx.Response, httpx.Response]:
    async with fake.customer_client() as cc:
        await cc.authenticate()
    token = next(iter(fake.sessions))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        login = await http.post(f"{CUSTOMER}/tokens/{token}/actions/login-test-customer", headers=headers)
        me = await http.get(f"{CUSTOMER}/customers/{login.json()['data']['customer_id']}", headers=headers)
    return token, login, me


async def test_login_test_customer_logs_the_configured_customer_in() -> None:
    fake = FakeCareCloud()
    fake.customers.create()
    tester = fake.customers.create(email="tester@example.com")
    fake.customers.test_customer_id = tester["customer_id"]
    token, login, me = await _test_login(fake)
    assert login.status_code == 200, login.text
    assert login.json()["data"]["customer_id"] == tester["customer_id"]
    assert fake.sessions[token].customer_id == tester["customer_id"]
    assert me.json()["data"]["personal_information"]["email"] == "tester@example.com"


async def test_login_test_customer_defaults_to_the_first_stored_customer_and_needs_one() -> None:
    fake = FakeCareCloud()
    first = fake.customers.create()
    fake.customers.create()
    token, login, _ = await _test_login(fake)
    assert login.json()["data"]["customer_id"] == first["customer_id"]
    assert fake.sessions[token].customer_id == first["customer_id"]
    empty = FakeCareCloud()
    async with empty.customer_client() as cc:
        await cc.authenticate()
    token = next(iter(empty.sessions))
    async with httpx.AsyncClient(transport=empty.transport()) as http:
        refused = await http.post(
            f"{CUSTOMER}/tokens/{token}/actions/login-test-customer", headers={"Authorization": f"Bearer {token}"}
        )
    assert refused.status_code == 404
    assert empty.sessions[token].customer_id is None
