"""Workflow helpers (carecloud_async.workflows): the requests they send and the errors they raise (respx)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timezone
from typing import Any, cast

import httpx
import pytest
import respx
from carecloud_api.models.accepted_payment import AcceptedPayment
from carecloud_api.models.agreement import Agreement
from carecloud_api.models.agreement_agreement_marketing_communication import AgreementAgreementMarketingCommunication
from carecloud_api.models.bill import Bill
from carecloud_api.models.bill_item import BillItem
from carecloud_api.models.plu_id import PluId
from carecloud_api.models.product_brand import ProductBrand
from carecloud_api.models.product_group import ProductGroup
from carecloud_api.models.recommended_reward import RecommendedReward
from workflow_clients import AfterRead, customer_client, enterprise_api, fake_enterprise_client, sent
from workflow_clients import customer_api as mocked_customer_api

from carecloud_async import (
    BadRequest,
    CareCloud,
    NotFound,
    RequestTimeout,
    RequestValidationError,
    RetryPolicy,
)
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows import (
    MAX_BATCH_SIZE,
    AmbiguousCustomer,
    AssignedCard,
    BatchSummary,
    BatchSyncError,
    CardNotAssignable,
    Checkout,
    CreatedEvent,
    DuplicateBill,
    IncompleteResponse,
    PropertyValue,
    SentPurchase,
    UpdateConflict,
    assign_free_card,
    checkout,
    chunked,
    create_event,
    final_bill,
    find_card,
    find_customer,
    find_customer_by_card,
    find_customers,
    make_property_records,
    payment_recap,
    search_customer,
    search_customer_records,
    search_customers,
    send_otp,
    send_password_setup_email,
    sign_up_for_newsletter,
    sync_product_brands,
    sync_product_groups,
    sync_products,
    verify_customer_credentials,
    verify_otp,
)

PASSWORD = "pa55-word-SECRET"
CUSTOMER = {
    "customer_id": "c1",
    "personal_information": {"first_name": "Jane", "last_name": "Doe", "language_id": "en"},
}
CARD_NUMBER = "1000000000016"


def bad_request(*params: dict[str, str]) -> httpx.Response:
    body = {"error": {"title": "Bad request", "error_data": {"invalid_params": list(params)}}}
    return httpx.Response(400, json=body)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The Enterprise API, logged in; unmocked requests fail the test."""
    with enterprise_api() as router:
        yield router


@pytest.fixture
async def cc(api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="app-1",
        login="pos@example.com",
        password=PASSWORD,
        retry=RetryPolicy.disabled(),
    ) as client:
        yield client


@pytest.fixture
def customer_api() -> Iterator[respx.MockRouter]:
    """The Customer API; ``POST /tokens`` creates the token ``tok-1``."""
    with mocked_customer_api() as router:
        yield router


@pytest.fixture
async def customer_cc(customer_api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with customer_client() as client:
        yield client


# ---------------------------------------------------------------- 1. verify credentials


async def test_verify_customer_credentials_sends_the_credentials_and_returns_the_customer_id(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.post("/customers/actions/verify-credentials").respond(200, json={"data": {"customer_id": "c1"}})
    customer_id = await verify_customer_credentials(
        cc, login_type="email", login_value="jane@example.com", password=PASSWORD
    )
    assert customer_id == "c1"
    assert sent(route) == {"login_type": "email", "login_value": "jane@example.com", "password": PASSWORD}


async def test_verify_customer_credentials_refused_raises_bad_request_without_the_password(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    api.post("/customers/actions/verify-credentials").mock(
        return_value=bad_request({"name": "password", "reason": "not_allowed_value", "value": PASSWORD})
    )
    with pytest.raises(BadRequest) as caught:
        await verify_customer_credentials(cc, login_type="card", login_value=CARD_NUMBER, password=PASSWORD)
    assert caught.value.invalid_params[0].reason == "not_allowed_value"
    assert PASSWORD not in str(caught.value) + repr(caught.value)


async def test_verify_customer_credentials_checks_input_before_sending(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/customers/actions/verify-credentials")
    with pytest.raises(RequestValidationError, match="login_type must be one of 'email', 'card'"):
        await verify_customer_credentials(cc, login_type="phone", login_value="x", password=PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="password must be a non-empty string") as caught:
        await verify_customer_credentials(cc, login_type="email", login_value="jane@example.com", password="  ")
    with pytest.raises(RequestValidationError, match="password must be a non-empty string, not a bytes"):
        await verify_customer_credentials(cc, login_type="email", login_value="j", password=b"s3cr3t")  # type: ignore[arg-type]
    assert "s3cr3t" not in str(caught.value)
    assert not route.called


async def test_verify_customer_credentials_answer_without_customer_id_is_an_incomplete_response(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    api.post("/customers/actions/verify-credentials").respond(200, json={"data": {}})
    with pytest.raises(IncompleteResponse, match="verify-credentials answered without customer_id") as caught:
        await verify_customer_credentials(cc, login_type="email", login_value="jane@example.com", password=PASSWORD)
    assert caught.value.field == "customer_id"


async def test_verify_customer_credentials_is_refused_on_the_customer_api(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    with pytest.raises(RequestValidationError, match="only in the Enterprise API"):
        await verify_customer_credentials(
            customer_cc, login_type="email", login_value="jane@example.com", password=PASSWORD
        )
    assert not customer_api["tokens"].called


# ---------------------------------------------------------------- 2. find customers


async def test_find_customers_filters_by_email_and_phone_over_every_page(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.get("/customers").mock(
        side_effect=[
            httpx.Response(
                200, json={"data": {"customers": [CUSTOMER, {**CUSTOMER, "customer_id": "c2"}], "total_items": 3}}
            ),
            httpx.Response(200, json={"data": {"customers": [{**CUSTOMER, "customer_id": "c3"}], "total_items": 3}}),
        ]
    )
    customers = await find_customers(cc, email="jane@example.com", phone="420523828931", max_items=2)
    assert [c.customer_id for c in customers] == ["c1", "c2"]
    assert dict(route.calls[0].request.url.params) == {
        "email": "jane@example.com",
        "phone": "420523828931",
        "count": "2",
        "offset": "0",
    }
    assert route.call_count == 1  # max_items=2 reached on the first page

    route.side_effect = [
        httpx.Response(
            200, json={"data": {"customers": [CUSTOMER, {**CUSTOMER, "customer_id": "c2"}], "total_items": 3}}
        ),
        httpx.Response(200, json={"data": {"customers": [{**CUSTOMER, "customer_id": "c3"}], "total_items": 3}}),
    ]
    customers = await find_customers(cc, email="jane@example.com", max_items=100)
    assert [c.customer_id for c in customers] == ["c1", "c2", "c3"]
    assert route.calls[-1].request.url.params["offset"] == "2"
    assert "phone" not in route.calls[-1].request.url.params


async def test_find_customers_needs_an_identifier(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.get("/customers")
    with pytest.raises(RequestValidationError, match="give at least one of email, phone, first_name"):
        await find_customers(cc)
    with pytest.raises(RequestValidationError, match="give at least one of"):
        await find_customers(cc, short_salutation=True)  # an option, not a filter
    with pytest.raises(RequestValidationError, match="emails must be a list of strings"):
        await find_customers(cc, emails="jane@example.com")
    with pytest.raises(RequestValidationError, match="email must be a non-empty string"):
        await find_customers(cc, email="")
    with pytest.raises(RequestValidationError, match="max_items must be a whole number >= 1"):
        await find_customers(cc, email="jane@example.com", max_items=0)
    assert not route.called


async def test_find_customers_by_name_birth_date_and_every_other_filter(cc: CareCloud, api: respx.MockRouter) -> None:
    # Issue 21, item 7: the vendor's "Search customers" use case searches by name and birth date too.
    route = api.get("/customers").mock(return_value=httpx.Response(200, json={"data": {"customers": [CUSTOMER]}}))
    customers = await find_customers(
        cc,
        first_name="Jane",
        last_name="Doe",
        birthdate=date(1985, 2, 12),
        customer_source_id="src-1",
        emails=["jane@example.com", "j@example.com"],
        customer_ids=["c1", "c7"],
        short_salutation=True,
    )
    assert [c.customer_id for c in customers] == ["c1"]
    params = route.calls[0].request.url.params
    assert {name: params.get_list(name) for name in params} == {
        "first_name": ["Jane"],
        "last_name": ["Doe"],
        "birthdate": ["1985-02-12"],
        "customer_source_id": ["src-1"],
        "email_list[]": ["jane@example.com", "j@example.com"],
        "customer_ids[]": ["c1", "c7"],
        "customer_short_salutation": ["true"],
        "count": ["100"],
        "offset": ["0"],
    }


async def test_find_customer_is_exactly_one_or_none_and_several_raise(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.get("/customers").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"customers": [CUSTOMER], "total_items": 1}}),
            httpx.Response(200, json={"data": {"customers": [], "total_items": 0}}),
            httpx.Response(
                200, json={"data": {"customers": [CUSTOMER, {**CUSTOMER, "customer_id": "c2"}], "total_items": 5}}
            ),
        ]
    )
    jane = await find_customer(cc, last_name="Doe", birthdate="1985-02-12")
    assert jane is not None
    assert jane.customer_id == "c1"
    assert await find_customer(cc, last_name="Nobody") is None
    with pytest.raises(AmbiguousCustomer, match="customers match first_name: c1, c2") as caught:
        await find_customer(cc, first_name="Jane")
    assert caught.value.customer_ids == ("c1", "c2")
    assert "Jane" not in str(caught.value)  # the filters' values are personal data
    assert route.calls[0].request.url.params["count"] == "2"  # two are enough to know it is not one


async def test_search_customer_records_and_the_exactly_one_search(cc: CareCloud, api: respx.MockRouter) -> None:
    # Issue 21, item 7: search-customers answers ids only; the use case goes on to read the records.
    search = api.get("/customers/actions/search-customers").mock(
        side_effect=[
            httpx.Response(
                200,
                json={"data": {"strict": [{"customer_id": "c2", "match": 80}, {"customer_id": "c1", "match": 100}]}},
            ),
            httpx.Response(200, json={"data": {"strict": [{"customer_id": "c1", "match": 100}]}}),
            httpx.Response(
                200,
                json={"data": {"strict": [{"customer_id": "c1", "match": 100}, {"customer_id": "c2", "match": 90}]}},
            ),
        ]
    )
    api.get("/customers/c1").respond(200, json={"data": CUSTOMER})
    api.get("/customers/c2").respond(200, json={"data": {**CUSTOMER, "customer_id": "c2"}})
    details: dict[str, Any] = {
        "first_name": "Jane",
        "last_name": "Doe",
        "birthdate": date(1985, 2, 12),
        "card_number": CARD_NUMBER,
    }
    records = await search_customer_records(cc, **details)
    assert [r.customer_id for r in records] == ["c1", "c2"]  # best match first
    assert records[0].personal_information.first_name == "Jane"
    one = await search_customer(cc, **details)
    assert one is not None
    assert one.customer_id == "c1"
    with pytest.raises(AmbiguousCustomer):
        await search_customer(cc, **details)
    assert search.call_count == 3


async def test_find_customer_by_card_reads_the_card_then_its_holder(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    jane = fake.customers.create()
    fake.customers.create()  # someone else
    fake.cards.create(card_number="1000000000009")  # another card, free
    fake.cards.create(card_number=CARD_NUMBER, customer_id=jane["customer_id"])
    found = await find_customer_by_card(fake_cc, CARD_NUMBER)
    assert found is not None
    assert found.customer_id == jane["customer_id"]
    assert fake.requests("getCards")[0].query["card_number"] == CARD_NUMBER
    assert [r.path for r in fake.requests("getCustomer")] == [f"/customers/{jane['customer_id']}"]


async def test_find_customer_by_card_is_none_for_a_free_or_unknown_card(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    assert await find_customer_by_card(fake_cc, CARD_NUMBER) is None  # no such card
    fake.cards.create(card_number=CARD_NUMBER)  # a free card
    assert await find_customer_by_card(fake_cc, CARD_NUMBER) is None
    assert fake.requests("getCustomer") == []
    with pytest.raises(RequestValidationError, match="card_number must be a non-empty string"):
        await find_card(fake_cc, "")
    assert len(fake.requests("getCards")) == 2


async def test_search_customers_strict_sends_all_four_details_and_returns_data_strict(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.get("/customers/actions/search-customers").respond(
        200, json={"data": {"strict": [{"customer_id": "c1", "match": 100}]}}
    )
    results = await search_customers(
        cc, first_name="Jane", last_name="Doe", birthdate=date(1985, 2, 12), card_number=CARD_NUMBER
    )
    assert [(r.customer_id, r.match) for r in results] == [("c1", 100)]
    assert dict(route.calls[0].request.url.params) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "birthdate": "1985-02-12",
        "card_number": CARD_NUMBER,
        "mode": "strict",
    }


async def test_search_customers_strict_needs_every_detail_and_none_mode_one(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.get("/customers/actions/search-customers").respond(200, json={"data": {}})
    with pytest.raises(RequestValidationError, match="strict mode needs birthdate, card_number as well"):
        await search_customers(cc, first_name="Jane", last_name="Doe")
    with pytest.raises(RequestValidationError, match="at least one of first_name"):
        await search_customers(cc, mode="none")
    assert not route.called
    assert await search_customers(cc, last_name="Doe", mode="none") == []
    assert dict(route.calls[0].request.url.params) == {"last_name": "Doe", "mode": "none"}


# ---------------------------------------------------------------- 3. password setup (Customer API)


async def test_send_password_setup_email_uses_the_device_token_in_the_path(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    route = customer_api.post("/tokens/tok-1/actions/send-password-setup-email").respond(204)
    await send_password_setup_email(customer_cc, email="jane@example.com")
    assert sent(route) == {"email": "jane@example.com"}
    assert route.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert customer_api["tokens"].call_count == 1

    await send_password_setup_email(customer_cc, communication_channel_id="ch-sms", recipient="420523828931")
    assert sent(route) == {"communication_channel_id": "ch-sms", "recipient": "420523828931"}
    assert customer_api["tokens"].call_count == 1  # the token is kept, not re-created


async def test_send_password_setup_email_follows_a_token_renewed_during_the_call(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    auth = customer_cc.auth
    await auth.token_store.save(auth.store_key, "tok-old")  # type: ignore[union-attr]
    old = customer_api.post("/tokens/tok-old/actions/send-password-setup-email").respond(
        401, json={"error": {"title": "Unauthorized"}}
    )
    new = customer_api.post("/tokens/tok-1/actions/send-password-setup-email").respond(204)
    await send_password_setup_email(customer_cc, email="jane@example.com")
    # 401 → the auth flow creates tok-1 and replays the request on the new token's path.
    assert old.call_count == 1
    assert new.call_count == 1
    assert new.calls[0].request.headers["Authorization"] == "Bearer tok-1"


async def test_send_password_setup_email_refusals_and_wrong_input(
    customer_cc: CareCloud, customer_api: respx.MockRouter, cc: CareCloud
) -> None:
    route = customer_api.post("/tokens/tok-1/actions/send-password-setup-email").mock(
        side_effect=[bad_request({"name": "email", "reason": "not_found"}), httpx.Response(404, json={})]
    )
    with pytest.raises(BadRequest):
        await send_password_setup_email(customer_cc, email="nobody@example.com")
    with pytest.raises(NotFound):  # the token did not change: the 404 is the answer
        await send_password_setup_email(customer_cc, email="nobody@example.com")
    assert route.call_count == 2
    with pytest.raises(RequestValidationError, match="not both"):
        await send_password_setup_email(customer_cc, email="a@example.com", recipient="b")
    with pytest.raises(RequestValidationError, match="needs email, or communication_channel_id and recipient"):
        await send_password_setup_email(customer_cc, communication_channel_id="ch-sms")
    with pytest.raises(RequestValidationError, match="part of the Customer API"):
        await send_password_setup_email(cc, email="jane@example.com")
    assert route.call_count == 2


# ---------------------------------------------------------------- 4. assign a free card
# Against the shipped fake CareCloud: it keeps cards (GET /cards?card_number=, GET, a PUT that
# replaces the whole card) and refuses assign-free-card to a customer holding a card of the type.


@pytest.fixture
def fake() -> FakeCareCloud:
    return FakeCareCloud()


@pytest.fixture
async def fake_cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.enterprise_client(retry=RetryPolicy.disabled()) as client:
        yield client


def card_fields(card: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in card.items() if k not in ("card_id", "last_change")}


@pytest.mark.parametrize("holds_one_already", [False, True])
async def test_assign_free_card_puts_the_whole_card_with_the_customer(
    fake: FakeCareCloud, fake_cc: CareCloud, *, holds_one_already: bool
) -> None:
    # Issue 21, item 6: the vendor's flow (read the card, check it is free, PUT the whole card with
    # customer_id) also serves a customer who already holds a card of this type; the
    # assign-free-card action refuses that customer.
    jane = fake.customers.create()["customer_id"]
    card_type = fake.cards.create_type()["card_type_id"]
    free = fake.cards.create(
        card_type_id=card_type, card_number=CARD_NUMBER, valid_to="2030-12-31 00:00:00", store_id="st1"
    )
    before = card_fields(free)
    if holds_one_already:
        fake.cards.create(card_type_id=card_type, card_number="1000000000009", customer_id=jane)
    assigned = await assign_free_card(fake_cc, card_number=CARD_NUMBER, customer_id=jane)
    assert assigned == AssignedCard(
        card_id=free["card_id"], card_number=CARD_NUMBER, card_type_id=card_type, customer_id=jane
    )
    (put,) = fake.requests("putCard")
    assert card_fields(put.json["card"]) == {**before, "customer_id": jane}  # nothing else lost
    assert card_fields(fake.cards[free["card_id"]]) == {**before, "customer_id": jane}
    assert fake.requests("postAssignCard") == []
    assert fake.violations == []


async def test_assign_free_card_refuses_a_card_taken_between_look_up_and_write(fake: FakeCareCloud) -> None:
    jane, john = (fake.customers.create()["customer_id"] for _ in range(2))
    card = fake.cards.create(card_number=CARD_NUMBER)

    async def someone_else_takes_it() -> None:  # through the API, after our first read of the card
        async with fake.enterprise_client() as other:
            await assign_free_card(other, card_number=CARD_NUMBER, customer_id=john)

    transport = AfterRead(fake, "getCard", someone_else_takes_it)
    async with fake_enterprise_client(transport) as cc:
        with pytest.raises((CardNotAssignable, UpdateConflict)):
            await assign_free_card(cc, card_number=CARD_NUMBER, customer_id=jane)
    assert len(fake.requests("putCard")) == 1  # the other writer's only
    assert fake.cards[card["card_id"]]["customer_id"] == john


@pytest.mark.parametrize(
    ("card", "card_type_id", "reason"),
    [
        (None, None, "not_found"),
        ({"customer_id": "other"}, None, "assigned_to_other_customer"),
        ({"state": 0}, None, "blocked"),
        ({}, "ct-other", "card_type_mismatch"),
    ],
)
async def test_assign_free_card_refuses_a_card_that_cannot_be_assigned(
    fake: FakeCareCloud,
    fake_cc: CareCloud,
    *,
    card: dict[str, Any] | None,
    card_type_id: str | None,
    reason: str,
) -> None:
    jane = fake.customers.create()["customer_id"]
    if card is not None:
        fields = dict(card)
        if "customer_id" in fields:
            fields["customer_id"] = fake.customers.create()["customer_id"]
        fake.cards.create(card_number=CARD_NUMBER, **fields)
    with pytest.raises(CardNotAssignable) as caught:
        await assign_free_card(fake_cc, card_number=CARD_NUMBER, customer_id=jane, card_type_id=card_type_id)
    assert caught.value.reason == reason
    assert caught.value.card_number == CARD_NUMBER
    assert (caught.value.card is None) == (reason == "not_found")
    assert fake.requests("putCard") == []


async def test_assign_free_card_already_held_by_the_customer_sends_nothing(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    jane = fake.customers.create()["customer_id"]
    card = fake.cards.create(card_number=CARD_NUMBER, customer_id=jane)
    assigned = await assign_free_card(fake_cc, card_number=CARD_NUMBER, customer_id=jane)
    assert assigned.already_assigned
    assert assigned.card_id == card["card_id"]
    assert fake.requests("putCard") == []


async def test_assign_free_card_server_refusal_and_bad_input(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    jane = fake.customers.create()["customer_id"]
    card = fake.cards.create(card_number=CARD_NUMBER)
    refusal = {
        "error": {
            "title": "Bad request",
            "error_data": {"invalid_params": [{"name": "valid_to", "reason": "invalid_value_format"}]},
        }
    }
    fake.fail("putCard", status=400, body=refusal)
    with pytest.raises(BadRequest) as caught:
        await assign_free_card(fake_cc, card_number=CARD_NUMBER, customer_id=jane)
    assert caught.value.invalid_params[0].name == "valid_to"
    with pytest.raises(RequestValidationError, match="customer_id must be a non-empty string"):
        await assign_free_card(fake_cc, card_number=CARD_NUMBER, customer_id="")
    assert fake.cards[card["card_id"]].get("customer_id") is None
    assert len(fake.requests("putCard")) == 1


# ---------------------------------------------------------------- 5. POS checkout


def a_bill(bill_id: str = "B-1") -> Bill:
    item = BillItem(
        plu_ids=[PluId(list_code="GLOBAL", code="abc")],
        plu_name="Wine",
        vat_rate=20.0,
        quantity=1.0,
        paid_amount=700.0,
        price=700.0,
        bill_item_id="i1",
        loyalty_off=False,
        purchase_item_type_id="pit-1",
    )
    return Bill(
        bill_id=bill_id, payment_time="2026-08-20 10:00:00", currency_id="czk", total_price=700.0, bill_items=[item]
    )


ACCEPTED = {
    "credit_points": 7,
    "price_of_credit_points": 7,
    "credit": 4.2,
    "vouchers": [{"code": "PTV1", "name": "Wine -10 %", "discount_value": 70, "bill_item_id": "i1"}],
    "recommended_discounts": [{"bill_item_id": "i1", "discount_code": "LSD", "discount_value": 10}],
    "credit_points_of_this_transaction": 12,
    "messages": [],
}


async def test_checkout_recommends_accepts_the_chosen_codes_and_sends_the_payment_recap(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    recommend = api.post("/purchases/actions/recommended-best-rewards").respond(
        200, json={"data": {"recommended_best_rewards": [{"code": "PTV1"}, {"code": "PTV2"}], "total_items": 2}}
    )
    accept = api.post("/purchases/actions/accept-payment").respond(200, json={"data": ACCEPTED})
    send = api.post("/purchases/actions/send-purchase").respond(201, json={"data": {"purchase_id": "p1"}})
    offered: list[list[str | None]] = []

    async def choose(rewards: list[RecommendedReward]) -> list[str]:
        offered.append([reward.code if isinstance(reward.code, str) else None for reward in rewards])
        return ["PTV1"]

    bill = a_bill()
    result = await checkout(
        cc,
        store_id="s1",
        cashdesk_number=3,
        bill=bill,
        customer_id="c1",
        purchase_type_id="pt-1",
        choose_rewards=choose,
        max_points=100,
    )

    assert offered == [["PTV1", "PTV2"]]
    assert result.chosen_codes == ("PTV1",)
    assert result.purchase == SentPurchase(bill_id="B-1", purchase_id="p1", already_recorded=False)
    assert result.accepted.credit_points_of_this_transaction == 12
    bill_json = bill.to_dict()
    assert sent(recommend) == {
        "store_id": "s1",
        "cashdesk_number": 3,
        "reward_list_type": "C",
        "bill": bill_json,
        "customer_id": "c1",
    }
    assert sent(accept) == {
        "store_id": "s1",
        "cashdesk_number": 3,
        "payment_type": "S",
        "bill": bill_json,
        "customer_id": "c1",
        "max_points": 100,
        "benefit_codes": ["PTV1"],
    }
    assert sent(send) == {
        "store_id": "s1",
        "cashdesk_number": 3,
        "customer_id": "c1",
        "bill": {
            **bill_json,
            "total_price": 688.8,  # 700 less the 7 the points paid and the 4.2 of credit
            "purchase_type_id": "pt-1",
            "canceled": False,
            "payment_type": "S",
            "payment_recap": {
                "credit_points": 7,
                "amount_for_credit": 4.2,
                "vouchers": ACCEPTED["vouchers"],
                "recommended_discounts": ACCEPTED["recommended_discounts"],
            },
        },
    }


async def test_checkout_steps_without_accept_payment_send_no_recap(cc: CareCloud, api: respx.MockRouter) -> None:
    recommend = api.post("/purchases/actions/recommended-best-rewards").respond(200, json={"data": {}})
    send = api.post("/purchases/actions/send-purchase").respond(201, json={"data": {"purchase_id": "p9"}})
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), card_number=CARD_NUMBER, payment_type="A")
    assert await steps.recommend_best_rewards(reward_list_type="F") == []
    assert sent(recommend)["reward_list_type"] == "F"
    assert sent(recommend)["card_number"] == CARD_NUMBER
    purchase = await steps.send_purchase(purchase_type_id="pt-1", fiscal=True)
    assert purchase.purchase_id == "p9"
    body = sent(send)
    assert "payment_recap" not in body["bill"]
    assert body["bill"]["payment_type"] == "A"
    assert body["bill"]["fiscal"] is True
    assert body["card_number"] == CARD_NUMBER
    assert "customer_id" not in body


async def test_send_purchase_already_exists_for_a_bill_never_sent_is_not_success(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    # Issue 21, item 1: a bill_id the server holds, which this checkout never sent (a reused id),
    # is not "already recorded": nothing was recorded by this call.
    send = api.post("/purchases/actions/send-purchase").mock(
        return_value=bad_request({"name": "bill_id", "reason": "already_exists", "message": "Bill already sent"})
    )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-7"), customer_id="c1")
    with pytest.raises(DuplicateBill, match="already has a purchase with bill_id 'B-7'") as caught:
        await steps.send_purchase(purchase_type_id="pt-1")
    assert caught.value.bill_id == "B-7"
    assert isinstance(caught.value.__cause__, BadRequest)
    assert send.call_count == 1


async def test_send_purchase_again_after_a_lost_answer_takes_the_duplicate_as_success(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    send = api.post("/purchases/actions/send-purchase").mock(
        side_effect=[httpx.ReadTimeout("slow"), bad_request({"name": "bill_id", "reason": "already_exists"})]
    )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-7"), customer_id="c1")
    with pytest.raises(RequestTimeout):
        await steps.send_purchase(purchase_type_id="pt-1")
    purchase = await steps.send_purchase(purchase_type_id="pt-1")  # the very bill, sent again
    assert purchase == SentPurchase(bill_id="B-7", purchase_id=None, already_recorded=True)
    assert sent(send, 0) == sent(send, 1)
    steps.bill.bill_items[0].quantity = 2.0  # another bill under the same id: refused before sending
    with pytest.raises(RequestValidationError, match="already sent bill 'B-7' with other content"):
        await steps.send_purchase(purchase_type_id="pt-1")
    assert send.call_count == 2


async def test_cancel_through_checkout_follows_the_cancel_rule(cc: CareCloud, api: respx.MockRouter) -> None:
    # Issue 21, item 1: a cancel is the original bill with canceled true, a new bill_id and
    # bill_number = the original bill_id (not the original bill_id resent).
    send = api.post("/purchases/actions/send-purchase").mock(
        side_effect=[
            httpx.Response(201, json={"data": {"purchase_id": "p1"}}),
            httpx.Response(201, json={"data": {"purchase_id": "p2"}}),
        ]
    )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill("B-8"), customer_id="c1")
    with pytest.raises(RequestValidationError, match="cannot be cancelled: this checkout has not recorded it"):
        await steps.send_purchase(purchase_type_id="pt-1", canceled=True)
    assert not send.called
    sale = await steps.send_purchase(purchase_type_id="pt-1")
    cancel = await steps.send_purchase(purchase_type_id="pt-1", canceled=True)
    assert cancel == SentPurchase(bill_id="CB-8", purchase_id="p2", already_recorded=False, cancels="B-8")
    original, cancelling = sent(send, 0), sent(send, 1)
    assert (cancelling["bill"]["canceled"], cancelling["bill"]["bill_id"], cancelling["bill"]["bill_number"]) == (
        True,
        "CB-8",
        "B-8",
    )
    for body in (original, cancelling):  # everything else as in the original
        del body["bill"]["canceled"], body["bill"]["bill_id"]
        body["bill"].pop("bill_number", None)
    assert cancelling == original
    assert sale.purchase_id == "p1"
    with pytest.raises(RequestValidationError, match="already cancelled by bill 'CB-8'"):
        await steps.cancel_purchase(new_bill_id="X-9")
    with pytest.raises(RequestValidationError, match="keeps the original's purchase_type_id"):
        await steps.send_purchase(purchase_type_id="pt-2", canceled=True)
    with pytest.raises(RequestValidationError, match="needs a new bill_id and bill_number"):
        final_bill(a_bill("B-8"), purchase_type_id="pt-1", payment_type="S", canceled=True)
    assert send.call_count == 2


async def test_send_purchase_resends_after_a_timeout_and_takes_the_duplicate_as_success(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    send = api.post("/purchases/actions/send-purchase").mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            bad_request({"name": "bill.bill_id", "reason": "already_exists"}),
        ]
    )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1")
    purchase = await steps.send_purchase(purchase_type_id="pt-1", resend_on_network_error=1)
    assert purchase.already_recorded
    assert send.call_count == 2
    assert sent(send, 0) == sent(send, 1)  # the same bill, same bill_id

    send.side_effect = [httpx.ReadTimeout("slow")]
    with pytest.raises(RequestTimeout):  # not resent by default
        await steps.send_purchase(purchase_type_id="pt-1")
    assert send.call_count == 3


async def test_checkout_other_refusals_are_raised(cc: CareCloud, api: respx.MockRouter) -> None:
    api.post("/purchases/actions/accept-payment").mock(
        return_value=bad_request({"name": "benefit_codes", "reason": "voucher_expired"})
    )
    send = api.post("/purchases/actions/send-purchase").mock(
        return_value=bad_request({"name": "currency_id", "reason": "already_exists"})
    )
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), customer_id="c1")
    with pytest.raises(BadRequest, match="voucher_expired"):
        await steps.accept_payment(["OLD1"])
    assert steps.accepted is None
    with pytest.raises(BadRequest, match="currency_id: already_exists"):  # not the natural key
        await steps.send_purchase(purchase_type_id="pt-1")
    assert send.call_count == 1


async def test_checkout_checks_its_input_before_sending(cc: CareCloud, api: respx.MockRouter) -> None:
    recommend = api.post("/purchases/actions/recommended-best-rewards").respond(
        200, json={"data": {"recommended_best_rewards": [{"code": "PTV1"}]}}
    )
    accept = api.post("/purchases/actions/accept-payment")
    empty = a_bill()
    empty.bill_items = []
    with pytest.raises(RequestValidationError, match=r"bill\.bill_items must not be empty"):
        Checkout(cc, store_id="s1", cashdesk_number=1, bill=empty)
    with pytest.raises(RequestValidationError, match="payment_type must be one of"):
        Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill(), payment_type="X")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="cashdesk_number must be a whole number"):
        Checkout(cc, store_id="s1", cashdesk_number=-1, bill=a_bill())
    steps = Checkout(cc, store_id="s1", cashdesk_number=1, bill=a_bill())
    with pytest.raises(RequestValidationError, match="max_points must be a number >= 0"):
        await steps.accept_payment(max_points=-5)
    with pytest.raises(RequestValidationError, match=r"benefit_codes\[1\] must be a non-empty string"):
        await steps.accept_payment(["PTV1", ""])
    with pytest.raises(RequestValidationError, match="must be a list of strings, not a single string"):
        await checkout(
            cc,
            store_id="s1",
            cashdesk_number=1,
            bill=a_bill(),
            purchase_type_id="pt-1",
            choose_rewards=lambda rewards: "PTV1",
        )
    assert recommend.call_count == 1
    assert not accept.called


def test_payment_recap_copies_only_what_accept_payment_answered() -> None:
    recap = payment_recap(AcceptedPayment.from_dict({"credit": 3.5, "vouchers": [], "total_credit": 960}))
    assert recap.to_dict() == {"amount_for_credit": 3.5, "vouchers": []}
    full = payment_recap(AcceptedPayment.from_dict(ACCEPTED)).to_dict()
    assert full == {
        "credit_points": 7,
        "amount_for_credit": 4.2,
        "vouchers": ACCEPTED["vouchers"],
        "recommended_discounts": ACCEPTED["recommended_discounts"],
    }


# ---------------------------------------------------------------- 6. OTP


async def test_send_otp_sends_the_channel_and_type_codes_and_returns_the_request_id(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.post("/one-time-password/actions/send").respond(200, json={"data": {"request_id": "r-1"}})
    request_id = await send_otp(
        cc, external_application_id="app-9", channel="sms", recipient="420523828931", otp_type="numeric"
    )
    assert request_id == "r-1"
    assert sent(route) == {
        "external_application_id": "app-9",
        "communication_channel_id": 2,
        "recipient": "420523828931",
        "otp_type": 2,
    }
    await send_otp(
        cc, external_application_id="app-9", channel="email", recipient="j@example.com", message_template_id="m1"
    )
    assert sent(route) == {
        "external_application_id": "app-9",
        "communication_channel_id": 1,
        "recipient": "j@example.com",
        "otp_type": 1,
        "message_template_id": "m1",
    }


async def test_send_otp_bad_input_and_incomplete_answer(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/one-time-password/actions/send").respond(200, json={"data": {}})
    with pytest.raises(RequestValidationError, match="channel must be one of 'email', 'sms', 'push', 'internal'"):
        await send_otp(cc, external_application_id="app-9", channel="pigeon", recipient="x")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="recipient must be a non-empty string"):
        await send_otp(cc, external_application_id="app-9", channel="sms", recipient="")
    assert not route.called
    with pytest.raises(IncompleteResponse, match="without request_id"):
        await send_otp(cc, external_application_id="app-9", channel="sms", recipient="420523828931")


async def test_verify_otp_answers_is_valid(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/one-time-password/actions/verify").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"is_valid": True}}),
            httpx.Response(200, json={"data": {"is_valid": False}}),
            bad_request({"name": "request_id", "reason": "not_found"}),
        ]
    )
    assert await verify_otp(cc, external_application_id="app-9", request_id="r-1", verification_code="482913") is True
    assert sent(route) == {"verification_code": "482913", "request_id": "r-1", "external_application_id": "app-9"}
    assert await verify_otp(cc, external_application_id="app-9", request_id="r-1", verification_code="000000") is False
    with pytest.raises(BadRequest, match="request_id: not_found"):
        await verify_otp(cc, external_application_id="app-9", request_id="r-gone", verification_code="482913")
    with pytest.raises(RequestValidationError, match="verification_code must be a non-empty string"):
        await verify_otp(cc, external_application_id="app-9", request_id="r-1", verification_code="")
    assert route.call_count == 3


# ---------------------------------------------------------------- 7. newsletter


async def test_sign_up_for_newsletter_sends_contact_source_agreements_and_partners(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.post("/customers/actions/newsletters-sign-up").respond(204)
    result = await sign_up_for_newsletter(  # type: ignore[func-returns-value]
        cc,
        contact="jane@example.com",
        customer_source_id="src-1",
        agreements=Agreement(agreement_marketing_communication=AgreementAgreementMarketingCommunication.VALUE_1),
        language_id="cs",
        partner_ids=["p1", "p2"],
    )
    assert result is None
    assert sent(route) == {
        "contact": "jane@example.com",
        "customer_source_id": "src-1",
        "agreements": {"agreement_marketing_communication": 1},
        "language_id": "cs",
        "partner_records": [{"partner_id": "p1"}, {"partner_id": "p2"}],
    }
    await sign_up_for_newsletter(cc, contact="420523828931", customer_source_id="src-1")
    assert sent(route) == {"contact": "420523828931", "customer_source_id": "src-1"}


async def test_sign_up_for_newsletter_refusal_and_bad_input(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/customers/actions/newsletters-sign-up").mock(
        return_value=bad_request({"name": "customer_source_id", "reason": "not_found"})
    )
    with pytest.raises(BadRequest, match="customer_source_id: not_found"):
        await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id="src-x")
    with pytest.raises(RequestValidationError, match="contact must be a non-empty string"):
        await sign_up_for_newsletter(cc, contact=" ", customer_source_id="src-1")
    with pytest.raises(RequestValidationError, match="partner_ids must be a list of strings"):
        await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id="src-1", partner_ids="p1")
    assert route.call_count == 1


# ---------------------------------------------------------------- 8. events


async def test_create_event_sends_the_event_and_its_property_records(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/events").respond(201, json={"data": {"event_id": "e1"}})
    records: dict[str, PropertyValue] = {"p1_note": "VIP", "p1_visit_count": 3}
    created = await create_event(
        cc,
        event_type_id="et-1",
        external_id="order-1234",
        customer_email="jane@example.com",
        data={"campaign": "spring", "clicks": 2},
        created_at=datetime(2026, 8, 20, 10, 0, 5),
        property_records=records,
    )
    assert created == CreatedEvent(external_id="order-1234", event_id="e1", already_recorded=False)
    assert sent(route) == {
        "event": {
            "event_type_id": "et-1",
            "external_id": "order-1234",
            "customer_identifier_type": "email",
            "customer_identifier_value": "jane@example.com",
            "data": {"campaign": "spring", "clicks": 2},
            "created_at": "2026-08-20 10:00:05",
        },
        "property_records": [
            {"property_id": "p1_note", "property_value": "VIP"},
            {"property_id": "p1_visit_count", "property_value": 3},
        ],
    }

    await create_event(cc, event_type_id="et-1", external_id="x-2", customer_source_record=("src-1", "7ACFY3R"))
    assert sent(route) == {
        "event": {
            "event_type_id": "et-1",
            "external_id": "x-2",
            "customer_identifier_type": "external_id",
            "customer_identifier_value": {"customer_source_id": "src-1", "external_id": "7ACFY3R"},
        }
    }
    await create_event(
        cc, event_type_id="et-1", external_id="x-3", customer_id="c1", property_records=make_property_records({})
    )
    assert sent(route) == {"event": {"event_type_id": "et-1", "external_id": "x-3", "customer_id": "c1"}}


async def test_create_event_relation_already_exists_after_a_resend_means_it_landed(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    jane = fake.customers.create()["customer_id"]
    fake.reset_connection("postEvent", after_record=True)  # recorded, then the answer is lost
    created = await create_event(
        fake_cc, event_type_id="et-1", external_id="order-1234", customer_id=jane, resend_on_network_error=2
    )
    assert created == CreatedEvent(external_id="order-1234", event_id=None, already_recorded=True)
    assert [r.status for r in fake.requests("postEvent")] == [None, 400]  # the resend met its own event
    assert [(e["external_id"], e["customer_id"]) for e in fake.events] == [("order-1234", jane)]  # one event


async def test_create_event_other_refusals_and_bad_input(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/events").mock(
        return_value=bad_request({"name": "event_type_id", "reason": "relation_already_exists"})
    )
    with pytest.raises(BadRequest, match="event_type_id: relation_already_exists"):
        await create_event(cc, event_type_id="et-1", external_id="order-1", customer_id="c1")
    with pytest.raises(RequestValidationError, match=r"exactly one of .*; got customer_id, customer_email"):
        await create_event(cc, event_type_id="et-1", external_id="o", customer_id="c1", customer_email="j@example.com")
    with pytest.raises(RequestValidationError, match="exactly one of"):
        await create_event(cc, event_type_id="et-1", external_id="o")
    with pytest.raises(RequestValidationError, match="external_id must be a non-empty string"):
        await create_event(cc, event_type_id="et-1", external_id="", customer_id="c1")
    with pytest.raises(RequestValidationError, match="naive project-local time"):
        await create_event(
            cc,
            event_type_id="et-1",
            external_id="o",
            customer_id="c1",
            created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        )
    with pytest.raises(RequestValidationError, match="property id must be a non-empty string"):
        await create_event(cc, event_type_id="et-1", external_id="o", customer_id="c1", property_records={"": 1})
    assert route.call_count == 1


# ---------------------------------------------------------------- 9. batch catalog sync


async def test_sync_product_brands_sends_2500_items_lazily_in_batches_of_1000(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    pulled = 0

    def brands() -> Iterator[ProductBrand]:
        nonlocal pulled
        for index in range(2500):
            pulled += 1
            yield ProductBrand(name=f"Brand {index}", external_id=f"b-{index}")

    pulled_at_request: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pulled_at_request.append(pulled)
        return httpx.Response(204)

    route = api.post("/product-brands/batch").mock(side_effect=answer)
    summary = await sync_product_brands(cc, brands())
    assert summary == BatchSummary(batches_sent=3, items_sent=2500)
    assert route.call_count == 3
    bodies = [sent(route, index) for index in range(3)]
    assert [len(body["product_brands"]) for body in bodies] == [1000, 1000, 500]
    assert all(body["error_processing"] == 1 for body in bodies)
    assert bodies[0]["product_brands"][0] == {"name": "Brand 0", "external_id": "b-0"}
    assert bodies[1]["product_brands"][0] == {"name": "Brand 1000", "external_id": "b-1000"}
    assert bodies[2]["product_brands"][-1] == {"name": "Brand 2499", "external_id": "b-2499"}
    assert pulled_at_request == [1000, 2000, 2500]  # never more than one batch read ahead


async def test_sync_products_takes_mappings_and_keep_valid(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/products/batch").respond(204)
    rows = [{"name": f"P{i}", "plu_ids": [{"list_code": "GLOBAL", "code": f"sku-{i}"}]} for i in range(3)]
    summary = await sync_products(cc, rows, error_processing="keep_valid", batch_size=2)
    assert summary == BatchSummary(batches_sent=2, items_sent=3)
    assert sent(route, 0) == {"products": rows[:2], "error_processing": 2}
    assert sent(route, 1) == {"products": rows[2:], "error_processing": 2}


async def test_sync_product_groups_with_bounded_concurrency(cc: CareCloud, api: respx.MockRouter) -> None:
    active = peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(204)

    route = api.post("/product-groups/batch").mock(side_effect=answer)

    async def groups() -> AsyncIterator[ProductGroup]:
        for index in range(2500):
            yield ProductGroup(name=f"G{index}", external_id=str(index))

    summary = await sync_product_groups(cc, groups(), concurrency=2)
    assert summary == BatchSummary(batches_sent=3, items_sent=2500)
    assert peak == 2
    firsts = sorted(sent(route, index)["product_groups"][0]["external_id"] for index in range(3))
    assert firsts == ["0", "1000", "2000"]


async def test_sync_stops_at_a_refused_batch_and_says_what_was_stored(cc: CareCloud, api: respx.MockRouter) -> None:
    route = api.post("/product-brands/batch").mock(
        side_effect=[httpx.Response(204), bad_request({"name": "product_brands[3].name", "reason": "empty"})]
    )
    items = (ProductBrand(name=f"B{i}", external_id=f"b-{i}") for i in range(2500))
    with pytest.raises(BatchSyncError, match=r"batch 1 .*1 batches \(1000 items\) were stored") as caught:
        await sync_product_brands(cc, items)
    error = caught.value
    assert (error.batch_index, error.first_item_index, error.stored_batches) == (1, 1000, (0,))
    assert error.summary == BatchSummary(batches_sent=1, items_sent=1000)
    assert isinstance(error.__cause__, BadRequest)
    assert route.call_count == 2  # the third batch is not sent


async def test_sync_reports_an_invalid_item_after_the_batches_already_stored(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.post("/products/batch").respond(204)
    rows: list[Any] = [{"name": "P0", "plu_ids": []}, {"name": "P1", "plu_ids": []}, {"plu_ids": []}]
    with pytest.raises(BatchSyncError, match="an item is invalid") as caught:
        await sync_products(cc, rows, batch_size=2)
    assert isinstance(caught.value.__cause__, RequestValidationError)
    assert "item 2 is not a valid ProductBatch: ProductBatch.name is missing" in str(caught.value)
    assert caught.value.summary == BatchSummary(batches_sent=1, items_sent=2)
    assert route.call_count == 1


async def test_sync_checks_its_options_before_sending(
    cc: CareCloud, api: respx.MockRouter, customer_cc: CareCloud
) -> None:
    route = api.post("/product-brands/batch").respond(204)
    brand = ProductBrand(name="B", external_id="b")
    with pytest.raises(RequestValidationError, match=f"batch_size must be at most {MAX_BATCH_SIZE}"):
        await sync_product_brands(cc, [brand], batch_size=1001)
    with pytest.raises(RequestValidationError, match="error_processing must be one of"):
        await sync_product_brands(cc, [brand], error_processing="best_effort")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="concurrency must be a whole number >= 1"):
        await sync_product_brands(cc, [brand], concurrency=0)
    with pytest.raises(RequestValidationError, match="not a single string or mapping"):
        await sync_product_brands(cc, cast(Any, {"name": "B", "external_id": "b"}))
    with pytest.raises(RequestValidationError, match="only in the Enterprise API"):
        await sync_product_brands(customer_cc, [brand])
    assert not route.called
    assert await sync_product_brands(cc, []) == BatchSummary(batches_sent=0, items_sent=0)
    assert not route.called


async def test_chunked_reads_sync_and_async_iterables_lazily() -> None:
    assert [len(batch) async for batch in chunked(range(2500), 1000)] == [1000, 1000, 500]

    async def numbers() -> AsyncIterator[int]:
        for number in range(5):
            yield number

    assert [batch async for batch in chunked(numbers(), 2)] == [[0, 1], [2, 3], [4]]
    assert [batch async for batch in chunked(list[int](), 2)] == []


def test_workflows_surface_is_exported() -> None:
    from carecloud_async import workflows

    assert workflows.__all__ == sorted(workflows.__all__, key=lambda name: (not name.isupper(), name))
    missing = [name for name in workflows.__all__ if not hasattr(workflows, name)]
    assert missing == []
