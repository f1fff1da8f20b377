"""The CareCloud rules the fake enforces, one test each, so the suites that encode their own idea
of CareCloud (workflows, outbox, cache) can move onto it (issue 23 point 4), and a hypothesis
state machine over purchases, points and credit (money: the balance, the bill arithmetic and the
cancel rule hold over any sequence).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from carecloud_api.api.purchases import post_purchase_send
from carecloud_api.models import PostPurchaseSendBody
from fake_api import CUSTOMER, Api, logged_in, reasons
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from carecloud_async import BadRequest, CustomerCredentials
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows.purchases import cancelling_bill


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    fake = FakeCareCloud()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        yield await logged_in(fake, http)


def item(paid: float, number: int = 1) -> dict[str, Any]:
    return {
        "bill_item_id": f"item-{number}",
        "plu_ids": [{"list_code": "EAN", "code": f"859{number:010d}"}],
        "plu_name": f"Item {number}",
        "vat_rate": 21.0,
        "quantity": 1.0,
        "paid_amount": paid,
        "price": paid,
        "loyalty_off": False,
        "purchase_item_type_id": "goods",
    }


def final_bill(bill_id: str, prices: list[float], *, total: float | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "bill_id": bill_id,
        "payment_time": "2026-12-07 10:00:00",
        "currency_id": "czk",
        "total_price": sum(prices) if total is None else total,
        "bill_items": [item(price, n) for n, price in enumerate(prices, 1)],
        "purchase_type_id": "shop",
        "canceled": False,
        "payment_type": "S",
        **fields,
    }


def purchase(bill: dict[str, Any], customer_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"store_id": "store-1", "cashdesk_number": 1, "bill": bill}
    if customer_id:
        body["customer_id"] = customer_id
    return body


def accept(bill: dict[str, Any], customer_id: str, *, points: float = 0, credit: float = 0) -> dict[str, Any]:
    plain = {k: bill[k] for k in ("bill_id", "payment_time", "currency_id", "total_price", "bill_items")}
    body: dict[str, Any] = {
        "store_id": "store-1",
        "cashdesk_number": 1,
        "payment_type": "S",
        "bill": plain,
        "customer_id": customer_id,
    }
    if points:
        body["max_points"] = points
    if credit:
        body["max_credit"] = credit
    return body


# ---------------------------------------------------------------------- send-purchase


async def test_a_second_purchase_with_one_bill_id_is_refused_already_exists(api: Api) -> None:
    first = await api.send("POST", "/purchases/actions/send-purchase", purchase(final_bill("B1", [100.0])))
    again = await api.send("POST", "/purchases/actions/send-purchase", purchase(final_bill("B1", [100.0])))
    assert first.status_code == 201
    assert reasons(again) == [("bill_id", "already_exists")]
    assert len(api.fake.purchases) == 1


async def test_the_client_sees_the_duplicate_as_a_typed_bad_request() -> None:
    fake = FakeCareCloud()
    body = PostPurchaseSendBody.from_dict(purchase(final_bill("B7", [10.0])))
    async with fake.enterprise_client() as cc:
        await cc.call(post_purchase_send.call, body=body)
        with pytest.raises(BadRequest) as caught:
            await cc.call(post_purchase_send.call, body=body)
    assert [(p.name, p.reason) for p in caught.value.invalid_params] == [("bill_id", "already_exists")]


async def test_the_cancel_rule(api: Api) -> None:
    original = final_bill("B2", [40.0, 60.0])
    assert (await api.send("POST", "/purchases/actions/send-purchase", purchase(original))).status_code == 201
    cancel = cancelling_bill(PostPurchaseSendBody.from_dict(purchase(original))).to_dict()
    assert (await api.send("POST", "/purchases/actions/send-purchase", cancel)).status_code == 201
    stored = [p["_bill"] for p in api.fake.purchases]
    assert [(b["bill_id"], b["canceled"], b.get("bill_number")) for b in stored] == [
        ("B2", False, None),
        ("CB2", True, "B2"),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"bill_id": "B3"}, ("bill_id", "already_exists")),  # the original's bill_id again
        ({"bill_id": "CB3"}, ("bill.bill_number", "required")),  # no bill_number
        ({"bill_id": "CB3", "bill_number": "nope"}, ("bill.bill_number", "not_found")),
        ({"bill_id": "CB3", "bill_number": "CB3"}, ("bill.bill_id", "already_exists")),
    ],
)
async def test_a_cancellation_breaking_the_rule_is_refused(
    api: Api, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    await api.send("POST", "/purchases/actions/send-purchase", purchase(final_bill("B3", [10.0])))
    cancel = final_bill("B3", [10.0], canceled=True)
    cancel.update(changes)
    answer = await api.send("POST", "/purchases/actions/send-purchase", purchase(cancel))
    assert reasons(answer) == [expected]
    assert len(api.fake.purchases) == 1


async def test_a_purchase_is_cancelled_once_and_a_cancellation_never(api: Api) -> None:
    await api.send("POST", "/purchases/actions/send-purchase", purchase(final_bill("B4", [10.0])))
    first = final_bill("C1", [10.0], canceled=True, bill_number="B4")
    second = final_bill("C2", [10.0], canceled=True, bill_number="B4")
    of_cancel = final_bill("C3", [10.0], canceled=True, bill_number="C1")
    assert (await api.send("POST", "/purchases/actions/send-purchase", purchase(first))).status_code == 201
    assert reasons(await api.send("POST", "/purchases/actions/send-purchase", purchase(second))) == [
        ("bill.bill_number", "already_exists")
    ]
    assert reasons(await api.send("POST", "/purchases/actions/send-purchase", purchase(of_cancel))) == [
        ("bill.bill_number", "not_allowed_value")
    ]


async def test_the_recap_arithmetic_after_accept_payment(api: Api) -> None:
    jane = api.fake.customers.create()
    api.fake.points.grant(jane["customer_id"], 30)
    api.fake.credits.grant(jane["customer_id"], 50)
    bill = final_bill("B5", [70.0, 30.0])
    accepted = await api.send(
        "POST", "/purchases/actions/accept-payment", accept(bill, jane["customer_id"], points=20, credit=15)
    )
    data = accepted.json()["data"]
    assert (data["credit_points"], data["price_of_credit_points"], data["credit"]) == (20.0, 20.0, 15.0)
    wrong = final_bill(
        "B5", [70.0, 30.0], total=100.0, payment_recap={"credit_points": 20.0, "amount_for_credit": 15.0}
    )
    refused = await api.send("POST", "/purchases/actions/send-purchase", purchase(wrong, jane["customer_id"]))
    assert reasons(refused) == [("bill.total_price", "not_allowed_value")]
    no_recap = final_bill("B5", [70.0, 30.0], total=65.0)
    refused = await api.send("POST", "/purchases/actions/send-purchase", purchase(no_recap, jane["customer_id"]))
    assert reasons(refused) == [("bill.payment_recap.credit_points", "not_allowed_value")]
    right = final_bill("B5", [70.0, 30.0], total=65.0, payment_recap={"credit_points": 20.0, "amount_for_credit": 15.0})
    sent = await api.send("POST", "/purchases/actions/send-purchase", purchase(right, jane["customer_id"]))
    assert sent.status_code == 201
    assert api.fake.points.balance(jane["customer_id"]) == 10.0  # 30 - 20 used
    assert api.fake.credits.balance(jane["customer_id"]) == 35.0  # 50 - 15 used


async def test_without_accept_payment_total_price_is_the_items_paid_amounts(api: Api) -> None:
    refused = await api.send("POST", "/purchases/actions/send-purchase", purchase(final_bill("B6", [5.0], total=4.0)))
    assert reasons(refused) == [("bill.total_price", "not_allowed_value")]


# ---------------------------------------------------------------------- customers


def new_customer(email: str, **info: Any) -> dict[str, Any]:
    return {
        "customer": {"personal_information": {"email": email, "language_id": "en", **info}},
        "customer_source": {"customer_source_id": "eshop", "external_id": f"ext-{email}"},
        "autologin": False,
    }


async def test_a_put_replaces_the_whole_customer(api: Api) -> None:
    created = await api.send("POST", "/customers", new_customer("jane@example.com", first_name="Jane", phone="420777"))
    customer_id = created.json()["data"]["customer_id"]
    put = {"customer": {"personal_information": {"email": "jane@example.com", "language_id": "cs"}}}
    assert (await api.send("PUT", f"/customers/{customer_id}", put)).status_code == 204
    info = (await api.send("GET", f"/customers/{customer_id}")).json()["data"]["personal_information"]
    assert info == {"email": "jane@example.com", "language_id": "cs"}  # first_name and phone are gone


async def test_every_write_sets_last_change_to_the_second() -> None:
    clock = [1_800_000_000.75]
    fake = FakeCareCloud(clock=lambda: clock[0])
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        api = await logged_in(fake, http)
        created = await api.send("POST", "/customers", new_customer("jane@example.com"))
        customer_id = created.json()["data"]["customer_id"]
        first = fake.customers[customer_id]["last_change"]
        clock[0] += 0.2  # same second: same stamp (one-second resolution)
        await api.send("PUT", f"/customers/{customer_id}", {"customer": new_customer("jane@example.com")["customer"]})
        same = fake.customers[customer_id]["last_change"]
        clock[0] += 1
        await api.send("PUT", f"/customers/{customer_id}", {"customer": new_customer("j@example.com")["customer"]})
        later = fake.customers[customer_id]["last_change"]
    assert first == "2027-01-15 08:00:00"
    assert same == first
    assert later == "2027-01-15 08:00:01"


async def test_source_records_and_external_ids(api: Api) -> None:
    created = await api.send("POST", "/customers", new_customer("jane@example.com"))
    customer_id = created.json()["data"]["customer_id"]
    other = api.fake.customers.create()
    records = await api.send("GET", f"/customers/{customer_id}/customer-source-records")
    assert [(r["customer_source_id"], r["external_id"]) for r in records.json()["data"]["customer_source_records"]] == [
        ("eshop", "ext-jane@example.com")
    ]
    taken = {"customer_source_record": {"customer_source_id": "eshop", "external_id": "ext-jane@example.com"}}
    refused = await api.send("POST", f"/customers/{other['customer_id']}/customer-source-records", taken)
    assert reasons(refused) == [("external_id", "already_exists")]
    found = await api.send("GET", "/customers", customer_source_id="eshop")
    assert [c["customer_id"] for c in found.json()["data"]["customers"]] == [customer_id]


async def test_property_and_interest_records(api: Api) -> None:
    jane = api.fake.customers.create()
    base = f"/customers/{jane['customer_id']}"
    added = await api.send(
        "POST", f"{base}/property-records", {"property_record": {"property_id": "size", "property_value": "M"}}
    )
    record_id = added.json()["data"]["property_record_id"]
    dup = await api.send("POST", f"{base}/property-records", {"property_record": {"property_id": "size"}})
    assert reasons(dup) == [("property_id", "already_exists")]
    await api.send("PUT", f"{base}/property-records/{record_id}", {"property_record": {"property_id": "size"}})
    listed = (await api.send("GET", f"{base}/property-records")).json()["data"]["property_records"]
    assert [(r["property_id"], "property_value" in r) for r in listed] == [("size", False)]  # PUT replaced it
    interest = await api.send(
        "POST",
        f"{base}/interest-records",
        {"interest_record": {"interest_id": "golf", "customer_id": jane["customer_id"]}},
    )
    interest_id = interest.json()["data"]["interest_record_id"]
    assert (await api.send("DELETE", f"{base}/interest-records/{interest_id}")).status_code == 204
    assert (await api.send("GET", f"{base}/interest-records")).json()["data"]["total_items"] == 0


# ---------------------------------------------------------------------- customer logout


async def test_a_logout_applies_after_the_configured_delay() -> None:
    fake = FakeCareCloud(logout_delay=5)
    jane = fake.customers.create(email="jane@example.com", password="pw")
    async with fake.customer_client(credentials=CustomerCredentials("email", "jane@example.com", "pw")) as cc:
        await cc.authenticate()
        token = next(iter(fake.sessions))
        await cc.logout_customer()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        during = await http.get(f"{CUSTOMER}/customers/{jane['customer_id']}", headers=headers)
        fake.advance(5)
        after = await http.get(f"{CUSTOMER}/customers/{jane['customer_id']}", headers=headers)
    assert during.status_code == 200  # the server has not applied the logout yet
    assert after.status_code == 403


async def test_the_customer_api_serves_only_the_logged_in_customers_data() -> None:
    fake = FakeCareCloud()
    fake.customers.create(email="jane@example.com", password="pw")
    joe = fake.customers.create(email="joe@example.com")
    async with fake.customer_client(credentials=CustomerCredentials("email", "jane@example.com", "pw")) as cc:
        await cc.authenticate()
    headers = {"Authorization": f"Bearer {next(iter(fake.sessions))}"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        other = await http.get(f"{CUSTOMER}/customers/{joe['customer_id']}", headers=headers)
        cards = await http.get(f"{CUSTOMER}/cards", params={"customer_id": joe["customer_id"]}, headers=headers)
    assert (other.status_code, cards.status_code) == (403, 403)


async def test_customer_api_lists_and_reads_hold_only_the_logged_in_customers_records() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw")
    joe = fake.customers.create(email="joe@example.com")
    mine = fake.cards.create(customer_id=jane["customer_id"])
    theirs = fake.cards.create(customer_id=joe["customer_id"])
    fake.stores.create()
    async with fake.customer_client(credentials=CustomerCredentials("email", "jane@example.com", "pw")) as cc:
        await cc.authenticate()
    headers = {"Authorization": f"Bearer {next(iter(fake.sessions))}"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        customers = (await http.get(f"{CUSTOMER}/customers", headers=headers)).json()["data"]
        cards = (await http.get(f"{CUSTOMER}/cards", headers=headers)).json()["data"]
        stores = (await http.get(f"{CUSTOMER}/stores", headers=headers)).json()["data"]
        own = await http.get(f"{CUSTOMER}/cards/{mine['card_id']}", headers=headers)
        other = await http.get(f"{CUSTOMER}/cards/{theirs['card_id']}", headers=headers)
    assert [c["customer_id"] for c in customers["customers"]] == [jane["customer_id"]]
    assert [c["card_id"] for c in cards["cards"]] == [mine["card_id"]]
    assert stores["total_items"] == 1
    assert (own.status_code, other.status_code) == (200, 404)


# ---------------------------------------------------------------------- cards


async def test_a_card_is_assigned_by_a_put_of_the_whole_card(api: Api) -> None:
    jane = api.fake.customers.create()
    free = api.fake.cards.create(card_number="1000000000099")
    whole = {k: free[k] for k in ("card_type_id", "card_number", "state")} | {"customer_id": jane["customer_id"]}
    assert (await api.send("PUT", f"/cards/{free['card_id']}", {"card": whole})).status_code == 204
    assert api.fake.cards[free["card_id"]]["customer_id"] == jane["customer_id"]
    partial = {"card_type_id": free["card_type_id"], "card_number": free["card_number"], "state": 1}
    await api.send("PUT", f"/cards/{free['card_id']}", {"card": partial})  # customer_id left out
    assert "customer_id" not in api.fake.cards[free["card_id"]]  # ...is gone: the card is free again


async def test_assign_and_validate_free_card_refuse_a_customer_who_has_that_card_type(api: Api) -> None:
    jane = api.fake.customers.create()
    card_type = api.fake.cards.create_type()
    api.fake.cards.create(card_type_id=card_type["card_type_id"], card_number="111")
    api.fake.cards.create(card_type_id=card_type["card_type_id"], card_number="222")
    body = {"card_type_id": card_type["card_type_id"], "customer_id": jane["customer_id"], "card_number": "111"}
    first = await api.send("POST", "/cards/actions/assign-free-card", body)
    assert first.status_code == 200
    second = await api.send("POST", "/cards/actions/assign-free-card", body | {"card_number": "222"})
    assert reasons(second) == [("customer_id", "already_exists")]
    put = {
        "card_type_id": card_type["card_type_id"],
        "card_number": "222",
        "state": 1,
        "customer_id": jane["customer_id"],
    }
    validated = await api.send("POST", "/cards/actions/validate-free-card", {"card_number": "111"})
    assert validated.json()["data"]["is_free_to_use"] is False  # assigned now
    # The spec limits only assign-free-card to one card of a type, and names PUT /cards/{card_id}
    # for projects that allow several: a PUT assigns a second card of the type.
    card_222 = api.fake.cards.where(card_number="222")[0]
    assert (await api.send("PUT", f"/cards/{card_222['card_id']}", {"card": put})).status_code == 204
    assert api.fake.cards[card_222["card_id"]]["customer_id"] == jane["customer_id"]


async def test_validate_free_card_on_the_customer_api_knows_the_customers_cards() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw")
    card_type = fake.cards.create_type()
    fake.cards.create(card_type_id=card_type["card_type_id"], customer_id=jane["customer_id"])
    fake.cards.create(card_type_id=card_type["card_type_id"], card_number="333")
    async with fake.customer_client(credentials=CustomerCredentials("email", "jane@example.com", "pw")) as cc:
        await cc.authenticate()
    headers = {"Authorization": f"Bearer {next(iter(fake.sessions))}"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.post(
            f"{CUSTOMER}/cards/actions/validate-free-card", json={"card_number": "333"}, headers=headers
        )
    assert answer.json()["data"]["is_free_to_use"] is False


async def test_stores_and_card_types_written_through_the_api_are_read_back(api: Api) -> None:
    store = {"name": "Prague 1", "store_code": "P1", "partner_id": "p", "system_id": "s"}
    created = await api.send("POST", "/stores", {"store": store | {"manager_name": "Eva"}})
    store_id = created.json()["data"]["store_id"]
    await api.send("PUT", f"/stores/{store_id}", {"store": store | {"name": "Prague 2"}})
    assert api.fake.stores[store_id]["name"] == "Prague 2"
    assert "manager_name" not in api.fake.stores[store_id]  # the whole record was replaced
    typed = await api.send("POST", "/card-types", {"card_type": {"name": "Gold", "prefix": "9"}})
    listed = (await api.send("GET", "/card-types")).json()["data"]["card_types"]
    assert [t["card_type_id"] for t in listed] == [typed.json()["data"]["card_type_id"]]


# ---------------------------------------------------------------------- points, credits, events


async def test_points_and_credits_balances(api: Api) -> None:
    jane = api.fake.customers.create()
    grant = {"amount": 100.0, "customer_id": jane["customer_id"], "partner_id": "p"}
    assert (await api.send("POST", "/points/actions/assign-points", grant)).status_code == 201
    assert (await api.send("POST", "/points/actions/reduce-points", grant | {"amount": 30.0})).status_code == 201
    too_much = await api.send("POST", "/points/actions/reduce-points", grant | {"amount": 71.0})
    assert reasons(too_much) == [("amount", "not_allowed_value")]
    overview = (await api.send("GET", "/wallet/actions/points-overview", customer_id=jane["customer_id"])).json()[
        "data"
    ]
    assert (overview["available_points"], overview["earned_points"], overview["redeemed_points"]) == (70.0, 100.0, 30.0)
    await api.send("POST", "/credits/actions/deposit-credits", grant | {"amount": 12.5})
    credits_ = (await api.send("GET", "/wallet/actions/credits-overview", customer_id=jane["customer_id"])).json()[
        "data"
    ]
    assert credits_["available_credits"] == 12.5


async def test_an_event_external_id_is_unique(api: Api) -> None:
    jane = api.fake.customers.create()
    event = {"event": {"event_type_id": "visit", "external_id": "e-1", "customer_id": jane["customer_id"]}}
    assert (await api.send("POST", "/events", event)).status_code == 201
    again = await api.send("POST", "/events", event)
    assert reasons(again) == [
        ("event_id_event_type_id_customer_id_external_id_secondary_external_id", "relation_already_exists")
    ]
    listed = (await api.send("GET", "/events", customer_id=jane["customer_id"])).json()["data"]
    assert listed["total_items"] == 1


async def test_an_event_finds_its_customer_by_email_or_source_external_id(api: Api) -> None:
    created = await api.send("POST", "/customers", new_customer("jane@example.com"))
    customer_id = created.json()["data"]["customer_id"]
    by_email = {"event_type_id": "visit", "external_id": "e-1", "customer_identifier_type": "email"}
    by_source = {"event_type_id": "visit", "external_id": "e-2", "customer_identifier_type": "external_id"}
    await api.send("POST", "/events", {"event": by_email | {"customer_identifier_value": "jane@example.com"}})
    source = {"customer_source_id": "eshop", "external_id": "ext-jane@example.com"}
    await api.send("POST", "/events", {"event": by_source | {"customer_identifier_value": source}})
    unknown = await api.send(
        "POST", "/events", {"event": by_email | {"external_id": "e-3", "customer_identifier_value": "x@y.z"}}
    )
    assert [e["customer_id"] for e in api.fake.events] == [customer_id, customer_id]
    assert reasons(unknown) == [("customer_id", "required")]


async def test_a_registration_from_the_app_with_autologin_logs_the_customer_in() -> None:
    fake = FakeCareCloud()
    async with fake.customer_client() as cc:
        await cc.authenticate()
    token = next(iter(fake.sessions))
    body = new_customer("new@example.com") | {"autologin": True, "password": "pw"}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        created = await http.post(f"{CUSTOMER}/customers", json=body, headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201
    assert fake.sessions[token].customer_id == created.json()["data"]["customer_id"]


async def test_a_voucher_is_applied_once(api: Api) -> None:
    jane = api.fake.customers.create()
    voucher = api.fake.vouchers.add({"customer_id": jane["customer_id"], "code": "WELCOME"})
    path = f"/vouchers/{voucher['voucher_id']}/actions/apply-voucher"
    assert (await api.send("POST", path, {"date_applied": "2026-12-07 10:00:00"})).status_code == 204
    assert reasons(await api.send("POST", path, {"date_applied": "2026-12-07 10:05:00"})) == [
        ("voucher_id", "already_exists")
    ]
    applied = await api.send("GET", "/vouchers", customer_id=jane["customer_id"], is_applied="true")
    assert [v["applied_date"] for v in applied.json()["data"]["vouchers"]] == ["2026-12-07 10:00:00"]
    unused = await api.send("GET", "/vouchers", customer_id=jane["customer_id"], is_applied="false")
    assert unused.json()["data"]["total_items"] == 0


# ---------------------------------------------------------------------- money over any sequence


class PurchaseMachine(RuleBasedStateMachine):
    """Random grants, accept-payments, sends (right or wrong arithmetic, duplicates) and cancels.

    Invariants: the balance never goes below zero and equals grants less the points of the
    purchases recorded; a bill_id is recorded at most once; every cancellation recorded names an
    original recorded before it, that is no cancellation, and is cancelled at most once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.fake = FakeCareCloud(seed=1)
        self.http = httpx.AsyncClient(transport=self.fake.transport())
        self.api = self.loop.run_until_complete(logged_in(self.fake, self.http))
        self.customer_id = self.fake.customers.create()["customer_id"]
        self.granted = 0.0
        self.spent = 0.0
        self.sent: list[str] = []
        self.numbers = iter(range(10_000))

    def run(self, method: str, path: str, body: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.api.send(method, path, body))

    @rule(amount=st.integers(min_value=1, max_value=50))
    def grant(self, amount: int) -> None:
        self.fake.points.grant(self.customer_id, amount)
        self.granted += amount

    @rule(
        prices=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=3),
        points=st.integers(min_value=0, max_value=60),
        honest=st.booleans(),
    )
    def pay(self, prices: list[int], points: int, honest: bool) -> None:
        bill_id = f"B{next(self.numbers)}"
        amounts = [float(p) for p in prices]
        bill = final_bill(bill_id, amounts)
        used = 0.0
        if points:
            answer = self.run(
                "POST", "/purchases/actions/accept-payment", accept(bill, self.customer_id, points=points)
            )
            used = answer.json()["data"]["credit_points"]
        total = sum(amounts) - used if honest else sum(amounts)
        sent_bill = final_bill(
            bill_id, amounts, total=total, payment_recap={"credit_points": used, "amount_for_credit": 0}
        )
        answer = self.run("POST", "/purchases/actions/send-purchase", purchase(sent_bill, self.customer_id))
        if honest or not used:
            assert answer.status_code == 201, answer.text
            self.sent.append(bill_id)
            self.spent += used
        else:
            assert reasons(answer) == [("bill.total_price", "not_allowed_value")]

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        bill_id = data.draw(st.sampled_from(self.sent))
        answer = self.run("POST", "/purchases/actions/send-purchase", purchase(final_bill(bill_id, [1.0])))
        assert reasons(answer) == [("bill_id", "already_exists")]

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(self.sent))
        cancel = final_bill(f"C{next(self.numbers)}", [1.0], canceled=True, bill_number=original)
        answer = self.run("POST", "/purchases/actions/send-purchase", purchase(cancel))
        if answer.status_code == 201:
            self.sent.append(cancel["bill_id"])

    @invariant()
    def balance_matches_the_recorded_purchases(self) -> None:
        balance = self.fake.points.balance(self.customer_id)
        assert balance >= 0
        assert balance == pytest.approx(self.granted - self.spent)

    @invariant()
    def bills_and_cancellations_follow_the_rules(self) -> None:
        bills = [p["_bill"] for p in self.fake.purchases]
        ids = [b["bill_id"] for b in bills]
        assert len(ids) == len(set(ids))
        cancelled: set[str] = set()
        for index, bill in enumerate(bills):
            if bill["canceled"]:
                earlier = {b["bill_id"]: b for b in bills[:index]}
                assert bill["bill_number"] in earlier
                assert not earlier[bill["bill_number"]]["canceled"]
                assert bill["bill_number"] not in cancelled
                cancelled.add(bill["bill_number"])

    def teardown(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


PurchaseMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_purchases_points_and_cancellations_over_random_sequences = PurchaseMachine.TestCase


async def test_the_points_and_credit_workflows_keep_the_fakes_money_rules() -> None:
    # The shipped workflows against the rules: accept-payment, then send-purchase with the price
    # less what points and credit paid and both in the recap; the balances are spent once.
    from carecloud_api.models import Bill

    from carecloud_async.workflows.wallet_payments import pay_with_credit, pay_with_points

    fake = FakeCareCloud()
    jane = fake.customers.create()
    fake.points.grant(jane["customer_id"], 30)
    fake.credits.grant(jane["customer_id"], 50)
    plain = final_bill("W1", [70.0, 30.0])
    bill = Bill.from_dict(
        {k: plain[k] for k in ("bill_id", "payment_time", "currency_id", "total_price", "bill_items")}
    )
    async with fake.enterprise_client() as cc:
        points = await pay_with_points(
            cc,
            store_id="s1",
            cashdesk_number=1,
            bill=bill,
            customer_id=jane["customer_id"],
            points=20,
            purchase_type_id="shop",
        )
        bill.bill_id = "W2"
        credit = await pay_with_credit(
            cc,
            store_id="s1",
            cashdesk_number=1,
            bill=bill,
            customer_id=jane["customer_id"],
            amount=15,
            purchase_type_id="shop",
        )
    assert (points.accepted.credit_points, credit.accepted.credit) == (20.0, 15.0)
    assert [p["total_price"] for p in fake.purchases] == [80.0, 85.0]
    assert (fake.points.balance(jane["customer_id"]), fake.credits.balance(jane["customer_id"])) == (10.0, 35.0)
    assert fake.violations == []


# ---------------------------------------------------------------------- identity over any sequence


class CustomerSessionMachine(RuleBasedStateMachine):
    """Random logins, logouts (applied after a delay), clock moves and reads on two device tokens.

    Invariant: the Customer API answers a token with the data of the customer logged in on it at
    that moment (a logout counts from ``logout_delay`` after it arrived), never another's; before
    a login, or once the logout applied, a customer's data is refused.
    """

    DELAY = 5.0

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.fake = FakeCareCloud(logout_delay=self.DELAY, clock=lambda: 1_800_000_000.0)
        self.http = httpx.AsyncClient(transport=self.fake.transport())
        self.customers = []
        for name in ("jane", "joe"):
            customer = self.fake.customers.create(email=f"{name}@example.com", password="pw")
            self.fake.cards.create(customer_id=customer["customer_id"])
            self.customers.append(customer["customer_id"])
        self.tokens = [self.loop.run_until_complete(self._token(f"device-{n}")) for n in range(2)]
        # the model: who is logged in on each token, and when a pending logout applies
        self.logged_in: dict[str, str | None] = dict.fromkeys(self.tokens)
        self.logout_at: dict[str, float | None] = dict.fromkeys(self.tokens)

    async def _token(self, device_id: str) -> str:
        device = {"device_id": device_id, "device_system": "x", "device_name": "x", "device_type": "x"}
        setup = {"language_id": "en", "allowed_gps": False, "allowed_notifications": False}
        body = {"device": device, "setup": setup, "external_application_id": "app"}
        answer = await self.http.post(f"{CUSTOMER}/tokens", json=body)
        return str(answer.json()["data"]["token_id"])

    def send(self, method: str, token: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.loop.run_until_complete(self.http.request(method, f"{CUSTOMER}{path}", json=body, headers=headers))

    def expected(self, token: str) -> str | None:
        due = self.logout_at[token]
        if due is not None and self.fake.now() >= due:
            self.logged_in[token], self.logout_at[token] = None, None
        return self.logged_in[token]

    @rule(token=st.integers(0, 1), customer=st.integers(0, 1))
    def login(self, token: int, customer: int) -> None:
        email = ("jane", "joe")[customer] + "@example.com"
        body = {"login_type": "email", "login_value": email, "password": "pw"}
        answer = self.send("POST", self.tokens[token], f"/tokens/{self.tokens[token]}/actions/login", body)
        assert answer.status_code == 200
        self.logged_in[self.tokens[token]] = self.customers[customer]
        self.logout_at[self.tokens[token]] = None

    @rule(token=st.integers(0, 1))
    def logout(self, token: int) -> None:
        answer = self.send("POST", self.tokens[token], f"/tokens/{self.tokens[token]}/actions/logout")
        assert answer.status_code == 204
        if self.expected(self.tokens[token]) is not None:
            self.logout_at[self.tokens[token]] = self.fake.now() + self.DELAY

    @rule(seconds=st.sampled_from([0.5, 2.0, 5.0]))
    def wait(self, seconds: float) -> None:
        self.fake.advance(seconds)

    @rule(token=st.integers(0, 1), customer=st.integers(0, 1))
    def read(self, token: int, customer: int) -> None:
        token_id, customer_id = self.tokens[token], self.customers[customer]
        own = self.expected(token_id)
        record = self.send("GET", token_id, f"/customers/{customer_id}")
        cards = self.send("GET", token_id, "/cards").json()["data"]["cards"]
        assert record.status_code == (200 if own == customer_id else 403)
        assert {card["customer_id"] for card in cards} == ({own} if own else set())

    def teardown(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


CustomerSessionMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_customer_api_answers_only_the_logged_in_customer_over_random_sequences = CustomerSessionMachine.TestCase
