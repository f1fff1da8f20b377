"""Issue 21's money and privacy regression tests, against the shipped fake CareCloud
(``carecloud_async.testing``): the fake enforces the rule behind each defect (bill_id unique, the
cancel rule, the recap arithmetic, balances, PUT replaces the record with a one-second
``last_change``, autologin on sign-up, card assignment by a PUT of the whole card, the customer
list's filters), so each test fails where the workflow breaks the rule, not where a hand-written
answer says so. Their respx twins (test_workflows.py, test_workflow_*.py) pin the exact bytes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from carecloud_api.models import Bill, BillItem, PluId
from workflow_clients import AfterRead, fake_enterprise_client

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows import (
    AssignedCard,
    Checkout,
    CustomerSyncRecord,
    DuplicateBill,
    SentPurchase,
    UpdateConflict,
    assign_free_card,
    checkout,
    find_customers,
    get_logged_in_customer,
    sign_up_customer,
    sync_customers,
    update_record,
)

NOW = 1_797_000_000.0  # the fake's clock stands still: every write lands in the same second
CARD_NUMBER = "1000000000016"


@pytest.fixture
def fake() -> FakeCareCloud:
    return FakeCareCloud(clock=lambda: NOW)


@pytest.fixture
async def cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.enterprise_client(retry=RetryPolicy.disabled()) as client:
        yield client


def a_bill(bill_id: str, paid: float = 700.0) -> Bill:
    item = BillItem(
        plu_ids=[PluId(list_code="GLOBAL", code="abc")],
        plu_name="Wine",
        vat_rate=20.0,
        quantity=1.0,
        paid_amount=paid,
        price=paid,
        bill_item_id="i1",
        loyalty_off=False,
        purchase_item_type_id="pit-1",
    )
    return Bill(
        bill_id=bill_id, payment_time="2026-08-20 10:00:00", currency_id="czk", total_price=paid, bill_items=[item]
    )


def recorded_bills(fake: FakeCareCloud) -> dict[str, dict[str, Any]]:
    return {p["_bill"]["bill_id"]: p for p in fake.purchases}


# ---------------------------------------------------------------- item 1: bill ids and the cancel rule


async def test_cancel_follows_the_cancel_rule_the_server_keeps(fake: FakeCareCloud, cc: CareCloud) -> None:
    jane = fake.customers.create()["customer_id"]
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-8"), customer_id=jane)
    with pytest.raises(RequestValidationError, match="cannot be cancelled: this checkout has not recorded it"):
        await steps.send_purchase(purchase_type_id="pt-1", canceled=True)
    assert fake.requests("postPurchaseSend") == []
    sale = await steps.send_purchase(purchase_type_id="pt-1")
    cancel = await steps.send_purchase(purchase_type_id="pt-1", canceled=True)
    bills = recorded_bills(fake)
    assert cancel == SentPurchase(
        bill_id="CB-8", purchase_id=bills["CB-8"]["purchase_id"], already_recorded=False, cancels="B-8"
    )
    assert sale.purchase_id == bills["B-8"]["purchase_id"]
    original, cancelling = (r.json for r in fake.requests("postPurchaseSend"))
    assert (cancelling["bill"]["canceled"], cancelling["bill"]["bill_number"]) == (True, "B-8")
    for body in (original, cancelling):  # everything else as in the original
        del body["bill"]["canceled"], body["bill"]["bill_id"]
        body["bill"].pop("bill_number", None)
    assert cancelling == original
    with pytest.raises(RequestValidationError, match="already cancelled by bill 'CB-8'"):
        await steps.cancel_purchase(new_bill_id="X-9")
    assert [r.status for r in fake.requests("postPurchaseSend")] == [201, 201]
    assert fake.violations == []


async def test_already_exists_for_a_bill_this_checkout_never_sent_is_not_success(
    fake: FakeCareCloud, cc: CareCloud
) -> None:
    jane = fake.customers.create()["customer_id"]
    other_pos = Checkout(cc, store_id="s1", cashdesk_number=2, bill=a_bill("B-7", 120.0), customer_id=jane)
    await other_pos.send_purchase(purchase_type_id="pt-1")
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-7"), customer_id=jane)
    with pytest.raises(DuplicateBill, match="already has a purchase with bill_id 'B-7'") as caught:
        await steps.send_purchase(purchase_type_id="pt-1")
    assert caught.value.bill_id == "B-7"
    assert [p["total_price"] for p in fake.purchases] == [120.0]  # the other till's bill, only
    assert [r.status for r in fake.requests("postPurchaseSend")] == [201, 400]


async def test_a_resend_after_the_answer_was_lost_meets_its_own_bill(fake: FakeCareCloud, cc: CareCloud) -> None:
    jane = fake.customers.create()["customer_id"]
    fake.reset_connection("postPurchaseSend", after_record=True)  # recorded, answer lost
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-9"), customer_id=jane)
    purchase = await steps.send_purchase(purchase_type_id="pt-1", resend_on_network_error=1)
    assert purchase == SentPurchase(bill_id="B-9", purchase_id=None, already_recorded=True)
    first, second = fake.requests("postPurchaseSend")
    assert first.json == second.json
    assert (first.status, second.status) == (None, 400)
    assert len(fake.purchases) == 1


# ---------------------------------------------------------------- item 2: the price after points and credit


@pytest.mark.parametrize(
    ("payment_type", "options", "expected_total"),
    [
        ("S", {}, 700.0),
        ("S", {"max_points": 7}, 693.0),
        ("C", {"max_credit": 4.2}, 695.8),
        ("C", {"max_points": 7, "max_credit": 4.2}, 688.8),
    ],
)
async def test_checkout_sends_the_price_after_points_and_credit(
    fake: FakeCareCloud, cc: CareCloud, *, payment_type: Any, options: dict[str, float], expected_total: float
) -> None:
    jane = fake.customers.create()["customer_id"]
    fake.points.grant(jane, 100)
    fake.credits.grant(jane, 50)
    fake.vouchers.add({"customer_id": jane, "code": "PTV1", "value": 70.0})

    def choose(rewards: Any) -> list[str]:
        return ["PTV1"]

    result = await checkout(
        cc,
        store_id="s1",
        cashdesk_number=1,
        bill=a_bill("B-1"),
        customer_id=jane,
        purchase_type_id="pt1",
        payment_type=payment_type,
        choose_rewards=choose,
        **options,  # type: ignore[arg-type]
    )
    (recorded,) = fake.purchases  # the fake refuses a total_price that breaks the arithmetic
    assert result.purchase.purchase_id == recorded["purchase_id"]
    assert recorded["total_price"] == pytest.approx(expected_total, abs=0.005)
    recap = recorded["_bill"].get("payment_recap", {})
    points, credit = options.get("max_points", 0), options.get("max_credit", 0)
    assert (recap.get("credit_points", 0), recap.get("amount_for_credit", 0)) == (points, credit)
    assert [v["code"] for v in recap["vouchers"]] == ["PTV1"]  # the voucher goes into the recap only
    assert fake.points.balance(jane) == pytest.approx(100 - points)
    assert fake.credits.balance(jane) == pytest.approx(50 - credit)


# ---------------------------------------------------------------- item 3: update_record within one second


async def test_a_write_in_the_same_second_is_a_conflict(fake: FakeCareCloud) -> None:
    store = fake.stores.create(name="Prague 1", description="Old Town")
    store_id = store["store_id"]

    async def someone_else_writes() -> None:  # through the API, in the same second
        async with fake.enterprise_client() as other:
            await update_record(other, "/stores/{store_id}", store_id, changes={"description": "Renovated in 2026"})

    transport = AfterRead(fake, "getStore", someone_else_writes)
    async with fake_enterprise_client(transport) as cc:
        with pytest.raises(UpdateConflict) as caught:
            await update_record(cc, "/stores/{store_id}", store_id, changes={"name": "Prague 2"})
        assert caught.value.changed == ("description",)
        assert fake.stores[store_id]["last_change"] == store["last_change"]  # one-second resolution
        assert len(fake.requests("putStore")) == 1  # the other writer's only
        assert (fake.stores[store_id]["name"], fake.stores[store_id]["description"]) == (
            "Prague 1",
            "Renovated in 2026",
        )
        await update_record(cc, "/stores/{store_id}", store_id, changes={"name": "Prague 2"})
    assert (fake.stores[store_id]["name"], fake.stores[store_id]["description"]) == ("Prague 2", "Renovated in 2026")


# ---------------------------------------------------------------- item 4: customer sync writes only changes


async def test_a_second_sync_of_unchanged_records_writes_nothing(fake: FakeCareCloud, cc: CareCloud) -> None:
    def writes() -> list[Any]:
        return [r for r in fake.received if r.method in ("POST", "PUT", "DELETE") and r.operation_id != "postUserLogin"]

    records = [
        CustomerSyncRecord(
            f"E{n}", {"email": f"c{n}@x.cz", "language_id": "en"}, {"club": "gold", "visits": n, "colours": ["red"]}
        )
        for n in range(3)
    ]
    first = await sync_customers(cc, records, customer_source_id="src-eshop")
    assert str(first) == "3 created, 0 updated, 0 unchanged, 0 failed"
    assert len(fake.customers) == 3
    created = len(writes())
    second = await sync_customers(cc, records, customer_source_id="src-eshop")
    assert str(second) == "0 created, 0 updated, 3 unchanged, 0 failed"
    assert len(writes()) == created  # nothing written
    changed = [CustomerSyncRecord("E1", {"email": "c1@x.cz"}, {"club": "gold", "visits": 7, "colours": ["red"]})]
    third = await sync_customers(cc, changed, customer_source_id="src-eshop")
    assert [o.changed for o in third.updated] == [("property_records.visits",)]
    (batch,) = writes()[created:]
    assert batch.operation_id == "postSubCustomerPropertiesBatch"
    assert batch.json == {"property_records": [{"property_id": "visits", "property_value": 7}]}
    (source,) = fake.source_records.where(external_id="E1")
    kept = {
        r["property_id"]: r.get("property_value")
        for r in fake.property_records.where(customer_id=source["customer_id"])
    }
    assert kept == {"club": "gold", "visits": 7, "colours": ["red"]}
    assert len(fake.customers) == 3  # never a duplicate
    assert fake.violations == []


# ---------------------------------------------------------------- item 5: sign-up with autologin


async def test_sign_up_with_autologin_logs_the_new_customer_in(fake: FakeCareCloud) -> None:
    async with fake.customer_client(retry=RetryPolicy.disabled()) as cc:
        new = await sign_up_customer(
            cc,
            personal_information={"email": "new@x.cz", "language_id": "en"},
            customer_source_id="src-eshop",
            password="Spring-2026",
            autologin=True,
        )
        assert fake.customers[new.customer_id]["personal_information"]["email"] == "new@x.cz"
        assert cc.customer_id == new.customer_id
        assert (await get_logged_in_customer(cc)).customer_id == new.customer_id
        assert fake.requests("postTokenLogin") == []  # the sign-up itself logged the customer in
        assert "Spring-2026" not in repr(cc.auth)
        # The device gets a new token elsewhere (the old one ends): the client logs in again.
        async with fake.customer_client() as same_device:
            await same_device.authenticate()
        assert (await get_logged_in_customer(cc)).customer_id == new.customer_id
        (relogin,) = fake.requests("postTokenLogin")
        assert relogin.json == {"login_type": "email", "login_value": "new@x.cz", "password": "Spring-2026"}
        assert cc.customer_id == new.customer_id


# ---------------------------------------------------------------- item 6: card assignment by PUT


@pytest.mark.parametrize("holds_one_already", [False, True])
async def test_assign_free_card_puts_the_whole_card(
    fake: FakeCareCloud, cc: CareCloud, *, holds_one_already: bool
) -> None:
    jane = fake.customers.create()["customer_id"]
    card_type = fake.cards.create_type()["card_type_id"]
    free = fake.cards.create(
        card_type_id=card_type, card_number=CARD_NUMBER, valid_to="2030-12-31 00:00:00", store_id="st1"
    )
    before = copy.deepcopy(free)
    if holds_one_already:
        fake.cards.create(card_type_id=card_type, card_number="1000000000009", customer_id=jane)
    assigned = await assign_free_card(cc, card_number=CARD_NUMBER, customer_id=jane)
    assert assigned == AssignedCard(
        card_id=free["card_id"], card_number=CARD_NUMBER, card_type_id=card_type, customer_id=jane
    )
    card = fake.cards[free["card_id"]]
    kept = {k: v for k, v in before.items() if k not in ("card_id", "last_change")}
    assert {k: v for k, v in card.items() if k not in ("card_id", "last_change")} == {**kept, "customer_id": jane}
    assert len(fake.requests("putCard")) == 1
    assert fake.requests("postAssignCard") == []


# ---------------------------------------------------------------- item 7: the customer search's filters


async def test_find_customers_by_name_birth_date_and_every_other_filter(fake: FakeCareCloud, cc: CareCloud) -> None:
    def person(email: str, **info: Any) -> str:
        record = fake.customers.create(email=email, **{"birthdate": "1985-02-12", **info})
        fake.source_records.add({"customer_id": record["customer_id"], "customer_source_id": "src-1"})
        return str(record["customer_id"])

    jane = person("jane@example.com")
    other_birthday = person("j@example.com", birthdate="1990-01-01")
    other_name = person("x@example.com", first_name="Janet")
    person("y@example.com", last_name="Dee")
    not_listed = person("z@example.com")
    other_source = fake.customers.create(email="w@example.com", birthdate="1985-02-12")["customer_id"]
    customers = await find_customers(
        cc,
        first_name="Jane",
        last_name="Doe",
        birthdate=date(1985, 2, 12),
        customer_source_id="src-1",
        emails=["jane@example.com", "j@example.com", "x@example.com", "w@example.com"],
        customer_ids=[jane, other_birthday, other_name, other_source],
        short_salutation=True,
    )
    assert [c.customer_id for c in customers] == [jane]
    assert not_listed not in fake.requests("getCustomers")[0].query["customer_ids[]"]
    assert fake.violations == []
