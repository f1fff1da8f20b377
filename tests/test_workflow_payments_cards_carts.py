"""New cards, abandoned-cart events and points / credit payments (respx for every branch, Prism
for the contract)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
import respx
from carecloud_api.models import Bill, BillItem, PluId
from workflow_clients import enterprise_api, enterprise_client, listing, on_prism, refusal, sent

from carecloud_async import BadRequest, CareCloud, RequestValidationError, RetryPolicy
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows import (
    CardNotCreatable,
    Cart,
    CartItem,
    Checkout,
    InsufficientBalance,
    apply_credit,
    apply_points,
    cart_event_data,
    checkout,
    create_card,
    credit_balance,
    find_card_type,
    pay_with_credit,
    pay_with_points,
    points_balance,
    price_after,
    send_abandoned_cart_event,
    send_cart_updated_event,
)
from scripts import mock_server

CARD_TYPES = [
    {"card_type_id": "ct-gold", "text_id": "gold_card", "name": "Gold", "prefix": "092"},
    {"card_type_id": "ct-web", "text_id": "web_card", "name": "Web", "prefix": ""},
]


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with enterprise_api() as router:
        yield router


@pytest.fixture
async def cc(api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with enterprise_client() as client:
        yield client


# ------------------------------------------------------------------ create a card


async def test_create_card_looks_the_type_up_checks_the_number_then_posts(cc: CareCloud, api: respx.MockRouter) -> None:
    api.get("/card-types").mock(return_value=listing("card_types", CARD_TYPES))
    cards = api.get("/cards").mock(return_value=listing("cards", []))
    post = api.post("/cards").respond(201, json={"data": {"card_id": "card-9"}})
    created = await create_card(cc, card_number="0921000000017", card_type_text_id="gold_card", customer_id="c1")
    assert (created.card_id, created.card_type_id, created.customer_id) == ("card-9", "ct-gold", "c1")
    assert cards.calls[0].request.url.params["card_number"] == "0921000000017"
    assert sent(post) == {
        "card": {"card_type_id": "ct-gold", "card_number": "0921000000017", "state": 1, "customer_id": "c1"}
    }


async def test_create_card_refusals_before_the_post(cc: CareCloud, api: respx.MockRouter) -> None:
    api.get("/card-types").mock(return_value=listing("card_types", CARD_TYPES))
    existing = {"card_id": "k1", "card_type_id": "ct-gold", "card_number": "0921000000017", "state": 1}
    api.get("/cards").mock(return_value=listing("cards", [existing]))
    post = api.post("/cards")
    with pytest.raises(CardNotCreatable, match="card 0921000000017 exists already; assign it") as exists:
        await create_card(cc, card_number="0921000000017", card_type_id="ct-gold", customer_id="c1")
    assert exists.value.reason == "exists"
    assert exists.value.card is not None
    with pytest.raises(CardNotCreatable, match="does not start with the prefix '092'") as prefix:
        await create_card(cc, card_number="1000000000016", card_type_id="ct-gold", customer_id="c1")
    assert prefix.value.reason == "prefix_mismatch"
    with pytest.raises(CardNotCreatable, match=r"no card type has text_id 'silver'.*Gold \(gold_card\)") as unknown:
        await create_card(cc, card_number="0921", card_type_text_id="silver", customer_id="c1")
    assert len(unknown.value.card_types) == 2
    with pytest.raises(RequestValidationError, match="exactly one of card_type_id or card_type_text_id"):
        await create_card(cc, card_number="0921", customer_id="c1")
    with pytest.raises(RequestValidationError, match="customer_id must be a non-empty"):
        await create_card(cc, card_number="0921", card_type_id="ct-gold", customer_id="")
    assert not post.called


async def test_create_card_server_refusal_is_typed(cc: CareCloud, api: respx.MockRouter) -> None:
    api.get("/card-types").mock(return_value=listing("card_types", CARD_TYPES))
    api.get("/cards").mock(return_value=listing("cards", []))
    api.post("/cards").mock(return_value=refusal("customer_id", "not_found"))
    with pytest.raises(BadRequest) as caught:
        await create_card(cc, card_number="W-1", card_type_id="ct-web", customer_id="nobody")
    assert caught.value.invalid_params[0].reason == "not_found"
    with pytest.raises(RequestValidationError, match="exactly one of card_type_id, text_id, name"):
        await find_card_type(cc)


async def test_create_card_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        card_type = await find_card_type(cc, text_id="isic_card")
        created = await create_card(
            cc,
            card_number=f"{card_type.prefix}5550001",
            card_type_text_id="isic_card",
            customer_id="8ea2591121e636086a4a9c0992",
        )
    assert created.card_id
    assert created.card_type_id == card_type.card_type_id


# ------------------------------------------------------------------ abandoned cart

CART = Cart(
    "cart-77",
    revision=5,
    items=[CartItem("8594000000017", "Riesling", quantity=2, unit_price=239.0)],
    currency_id="CZK",
    url="https://shop.example.com/cart/77",
)


async def test_abandoned_cart_event_carries_the_cart_and_a_key_per_revision(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    events = api.post("/events").respond(201, json={"data": {"event_id": "ev1"}})
    created = await send_abandoned_cart_event(cc, CART, event_type_id="et-abandoned", customer_email="jane@x.cz")
    assert created.event_id == "ev1"
    event = sent(events)["event"]
    assert event["external_id"] == "abandoned-cart:cart-77:5"
    assert event["customer_identifier_type"] == "email"
    assert event["data"] == {
        "cart_id": "cart-77",
        "revision": "5",
        "items": [{"code": "8594000000017", "name": "Riesling", "quantity": 2, "unit_price": 239.0}],
        "total": 478.0,
        "currency_id": "CZK",
        "url": "https://shop.example.com/cart/77",
        "variant": "abandoned",
    }


async def test_cart_updated_events_include_an_emptied_cart_and_a_resend_is_one_event(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    events = api.post("/events").mock(
        side_effect=[
            httpx.Response(201, json={"data": {"event_id": "ev1"}}),
            refusal("event_type_id_customer_id_external_id", "relation_already_exists"),
            httpx.Response(201, json={"data": {"event_id": "ev2"}}),
        ]
    )
    first = await send_cart_updated_event(cc, CART, event_type_id="et-cart", customer_id="c1")
    again = await send_cart_updated_event(cc, CART, event_type_id="et-cart", customer_id="c1")
    assert (first.event_id, again.already_recorded) == ("ev1", True)  # the same revision: one event
    emptied = Cart("cart-77", revision=6, items=[], currency_id="CZK")
    await send_cart_updated_event(cc, emptied, event_type_id="et-cart", customer_id="c1")
    last = sent(events)["event"]
    assert last["external_id"] == "cart-updated:cart-77:6"
    assert (last["data"]["items"], last["data"]["total"], last["data"]["variant"]) == ([], 0, "updated")


async def test_cart_events_refuse_bad_carts_before_sending(cc: CareCloud, api: respx.MockRouter) -> None:
    events = api.post("/events")
    empty = Cart("cart-1", revision=1, items=[], currency_id="CZK")
    with pytest.raises(RequestValidationError, match="an abandoned cart must have items"):
        await send_abandoned_cart_event(cc, empty, event_type_id="et", customer_id="c1")
    with pytest.raises(RequestValidationError, match=r"items\[0\] needs a quantity > 0"):
        cart_event_data(Cart("c", 1, [CartItem("P", "x", quantity=0)], "CZK"))
    with pytest.raises(RequestValidationError, match=r"cart\.revision must be a counter"):
        cart_event_data(Cart("c", " ", [], "CZK"))
    with pytest.raises(RequestValidationError, match="exactly one of customer_id, customer_email"):
        await send_cart_updated_event(cc, CART, event_type_id="et", customer_id="c1", customer_email="j@x.cz")
    with pytest.raises(RequestValidationError, match="event_type_id must be a non-empty"):
        await send_abandoned_cart_event(cc, CART, event_type_id="", customer_id="c1")
    assert not events.called


async def test_cart_events_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        abandoned = await send_abandoned_cart_event(
            cc, CART, event_type_id="8bda8a4854394325e2748a5005", customer_id="8ea2591121e636086a4a9c0992"
        )
    async with on_prism(prism, "customer") as customer_cc:
        updated = await send_cart_updated_event(
            customer_cc,
            CART,
            event_type_id="8bda8a4854394325e2748a5005",
            customer_email="happy_customer@crmcarecloud.com",
        )
    assert abandoned.event_id
    assert updated.event_id


# ------------------------------------------------------------------ points and credit


def a_bill(total: float = 700.0, currency_id: str = "CZK") -> Bill:
    item = BillItem(
        plu_ids=[PluId(list_code="GLOBAL", code="abc")],
        plu_name="Wine",
        vat_rate=20.0,
        quantity=1.0,
        paid_amount=total,
        price=total,
        bill_item_id="i1",
        loyalty_off=False,
        purchase_item_type_id="pit-1",
    )
    return Bill(
        bill_id="B-1", payment_time="2026-08-20 10:00:00", currency_id=currency_id, total_price=total, bill_items=[item]
    )


def checkout_routes(api: respx.MockRouter, accepted: dict[str, Any]) -> tuple[respx.Route, respx.Route]:
    accept = api.post("/purchases/actions/accept-payment").respond(200, json={"data": accepted})
    send = api.post("/purchases/actions/send-purchase").respond(201, json={"data": {"purchase_id": "pu-1"}})
    return accept, send


@pytest.fixture
def fake() -> FakeCareCloud:
    return FakeCareCloud(point_value=0.5)  # a point pays half a crown


@pytest.fixture
async def fake_cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.enterprise_client(retry=RetryPolicy.disabled()) as client:
        yield client


async def test_pay_with_points_checks_the_balance_accepts_then_sends_the_reduced_price(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    jane = fake.customers.create()["customer_id"]
    fake.points.grant(jane, 120)
    result = await pay_with_points(
        fake_cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id=jane, points=100, purchase_type_id="pt1"
    )
    assert fake.requests("getWalletPoints")[0].query["customer_id"] == jane
    (accept,) = fake.requests("postPurchaseAcceptPayment")
    assert (accept.json["max_points"], accept.json["payment_type"]) == (100, "S")
    (recorded,) = fake.purchases  # the fake refuses a total that breaks the recap arithmetic
    assert recorded["total_price"] == 650.0  # 700 less the 50 the points paid
    assert recorded["_bill"]["payment_recap"]["credit_points"] == 100
    assert result.purchase.purchase_id == recorded["purchase_id"]
    assert fake.points.balance(jane) == 20


async def test_points_above_the_balance_are_refused_before_accept_payment(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    jane = fake.customers.create()["customer_id"]
    fake.points.grant(jane, 79.5)
    with pytest.raises(InsufficientBalance, match=r"has 79\.5 points available, not the 100 asked for") as caught:
        await pay_with_points(
            fake_cc,
            store_id="s1",
            cashdesk_number=1,
            bill=a_bill(),
            customer_id=jane,
            points=100,
            purchase_type_id="pt1",
        )
    assert caught.value.available == 79.5
    steps = Checkout(fake_cc, store_id="s1", cashdesk_number=1, bill=a_bill(), card_number="1000000000016")
    with pytest.raises(RequestValidationError, match="needs the customer's id"):
        await apply_points(steps, 10)
    steps = Checkout(fake_cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id=jane)
    with pytest.raises(RequestValidationError, match="points must be a number > 0"):
        await apply_points(steps, -5)
    assert fake.requests("postPurchaseAcceptPayment") == []
    assert fake.requests("postPurchaseSend") == []
    assert fake.points.balance(jane) == 79.5


async def test_pay_with_credit_uses_payment_type_c_and_the_balance_in_the_bill_currency(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    overview = api.get("/wallet/actions/credits-overview").respond(
        200,
        json={
            "data": {
                "available_credits": 500,
                "split_by_currency": [
                    {"currency_id": "CZK", "available_credits": 150},
                    {"currency_id": "EUR", "available_credits": 350},
                ],
            }
        },
    )
    accept, send = checkout_routes(api, {"credit": 120, "total_credit": 30})
    result = await pay_with_credit(
        cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1", amount=120, purchase_type_id="pt1"
    )
    assert overview.called
    assert (sent(accept)["payment_type"], sent(accept)["max_credit"]) == ("C", 120)
    final = sent(send)["bill"]
    assert (final["payment_type"], final["total_price"], final["payment_recap"]["amount_for_credit"]) == ("C", 580, 120)
    assert result.accepted.credit == 120
    with pytest.raises(InsufficientBalance, match="150 credit available, not the 200"):
        await pay_with_credit(
            cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1", amount=200, purchase_type_id="pt1"
        )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1")
    with pytest.raises(RequestValidationError, match="needs payment_type 'C'"):
        await apply_credit(steps, 10)
    assert accept.call_count == 1


async def test_balances_and_price_after(cc: CareCloud, api: respx.MockRouter) -> None:
    api.get("/wallet/actions/credits-overview").respond(200, json={"data": {"available_credits": 42}})
    balance = await credit_balance(cc, "c1")
    assert balance.available_in("CZK") == 42  # nothing split by currency: the total
    api.get("/wallet/actions/points-overview").respond(200, json={"data": {}})
    with pytest.raises(Exception, match="answered without available_points"):
        await points_balance(cc, "c1")
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(100), customer_id="c1")
    assert price_after(steps) == 100
    api.post("/purchases/actions/accept-payment").respond(
        200, json={"data": {"price_of_credit_points": 30, "credit": 90}}
    )
    await steps.accept_payment()
    with pytest.raises(RequestValidationError, match="paid 120, more than the bill's total 100"):
        price_after(steps)  # not clamped to 0: the recap would then say more was paid than the bill


def voucher(code: str, value: float) -> dict[str, Any]:
    return {"code": code, "name": code, "discount_value": value, "bill_item_id": "i1"}


@pytest.mark.parametrize(
    ("kind", "payment_type", "options", "accepted", "expected_total"),
    [
        ("cash", "S", {}, {"credit_points_of_this_transaction": 7}, 700.0),
        ("points", "S", {"max_points": 100}, {"credit_points": 100, "price_of_credit_points": 50}, 650.0),
        ("credit", "C", {"max_credit": 120.5}, {"credit": 120.5}, 579.5),
        ("vouchers", "A", {}, {"vouchers": [voucher("PTV1", 70)]}, 700.0),
        (
            "points+credit",
            "C",
            {"max_points": 30, "max_credit": 99.9},
            {"credit_points": 30, "price_of_credit_points": 15, "credit": 99.9},
            585.1,
        ),
        (
            "points+credit+vouchers",
            "C",
            {"max_points": 1400, "max_credit": 10},
            {"credit_points": 1380, "price_of_credit_points": 690, "credit": 10, "vouchers": [voucher("PTV2", 35)]},
            0.0,
        ),
    ],
)
async def test_checkout_sends_the_price_after_points_and_credit(
    cc: CareCloud,
    api: respx.MockRouter,
    *,
    kind: str,
    payment_type: Literal["S", "A", "C"],
    options: dict[str, float],
    accepted: dict[str, Any],
    expected_total: float,
) -> None:
    # Issue 21, item 2: items - points value - credit = the total_price sent; vouchers only go
    # into the recap.
    accept, send = checkout_routes(api, accepted)
    result = await checkout(
        cc,
        store_id="s1",
        cashdesk_number=1,
        bill=a_bill(),
        customer_id="c1",
        purchase_type_id="pt1",
        payment_type=payment_type,
        **options,  # type: ignore[arg-type]
    )
    final = sent(send)["bill"]
    items = sum(item["paid_amount"] for item in final["bill_items"])
    points_value = accepted.get("price_of_credit_points", 0)
    credit = accepted.get("credit", 0)
    assert final["total_price"] == pytest.approx(items - points_value - credit, abs=0.005), kind
    assert final["total_price"] == pytest.approx(expected_total, abs=0.005), kind
    recap = final.get("payment_recap", {})
    assert (recap.get("credit_points", 0), recap.get("amount_for_credit", 0)) == (
        accepted.get("credit_points", 0),
        credit,
    )
    assert recap.get("vouchers", []) == accepted.get("vouchers", [])
    assert sent(accept).get("max_points") == options.get("max_points")
    assert sent(accept).get("max_credit") == options.get("max_credit")
    assert result.purchase.purchase_id == "pu-1"
    # The same price whichever way the bill is sent: steps, or pay_with_points' explicit price.
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1", payment_type=payment_type)
    await steps.accept_payment(max_points=options.get("max_points"), max_credit=options.get("max_credit"))
    assert steps.final_bill(purchase_type_id="pt1").total_price == final["total_price"]
    assert price_after(steps) == final["total_price"]
    with pytest.raises(RequestValidationError, match="is not the price after payment"):
        await steps.send_purchase(purchase_type_id="pt1", total_price=final["total_price"] + 1)
    assert send.call_count == 1


async def test_points_and_credit_payments_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        customer_id = "8ea2591121e636086a4a9c0992"
        points = await points_balance(cc, customer_id)
        credit = await credit_balance(cc, customer_id)
        by_points = await pay_with_points(
            cc,
            store_id="s1",
            cashdesk_number=1,
            bill=a_bill(),
            customer_id=customer_id,
            points=points.available_points,
            purchase_type_id="pt1",
        )
        currency = next(iter(credit.by_currency), "CZK")  # the example's currency
        by_credit = await pay_with_credit(
            cc,
            store_id="s1",
            cashdesk_number=1,
            bill=a_bill(currency_id=currency),
            customer_id=customer_id,
            amount=credit.available_in(currency),
            purchase_type_id="pt1",
        )
    assert points.available_points > 0
    assert by_points.purchase.purchase_id
    assert by_credit.purchase.purchase_id
