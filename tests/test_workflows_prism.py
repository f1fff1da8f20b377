"""The workflow helpers that predate issue 12 (and the Customer API runs of those both APIs serve),
against Prism serving the vendor's spec: each request they build must be valid (an
``sl-violations`` header fails the test) and each answer must parse. Their error branches are
tested with respx in tests/test_workflows.py."""

from __future__ import annotations

import time

import pytest
from carecloud_api.models import Bill, BillItem, PluId, ProductBrand, ProductGroup
from workflow_clients import on_prism

from carecloud_async import CustomerCredentials
from carecloud_async.workflows import (
    CardNotAssignable,
    Checkout,
    assign_free_card,
    checkout,
    create_event,
    find_card,
    find_customer,
    find_customer_by_card,
    find_customers,
    search_customer,
    search_customer_records,
    search_customers,
    send_otp,
    send_password_setup_email,
    sign_up_customer,
    sign_up_for_newsletter,
    sign_up_options,
    sync_product_brands,
    sync_product_groups,
    sync_products,
    verify_customer_credentials,
    verify_otp,
)
from scripts import mock_server

pytestmark = pytest.mark.prism

EXAMPLE_CARD = "1000000000016"  # the spec's example card, held by the example customer
EXAMPLE_HOLDER = "8ea2591121e636086a4a9c0992"
SOME_ID = "8bed991c68a470e7aaeffbf048"


def a_bill() -> Bill:
    item = BillItem(
        plu_ids=[PluId(list_code="GLOBAL", code="8594000000011")],
        plu_name="Wine",
        vat_rate=21.0,
        quantity=1.0,
        paid_amount=700.0,
        price=700.0,
        bill_item_id="1",
        loyalty_off=False,
        purchase_item_type_id=SOME_ID,
    )
    return Bill(
        bill_id=f"prism-{time.time_ns()}",
        payment_time="2026-08-20 10:00:00",
        currency_id=SOME_ID,
        total_price=700.0,
        bill_items=[item],
    )


async def test_customer_identification_helpers(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        customer_id = await verify_customer_credentials(
            cc, login_type="email", login_value="happy_customer@crmcarecloud.com", password="Prism-pa55"
        )
        matches = await find_customers(cc, email="happy_customer@crmcarecloud.com", max_items=5)
        holder = await find_customer_by_card(cc, EXAMPLE_CARD)
        results = await search_customers(
            cc, first_name="John", last_name="Smith", birthdate="1985-02-12", card_number=EXAMPLE_CARD
        )
        by_name = await find_customers(
            cc, first_name="John", last_name="Smith", birthdate="1985-02-12", emails=["a@example.com", "b@example.com"]
        )
        one = await find_customer(cc, customer_ids=[EXAMPLE_HOLDER])
        records = await search_customer_records(
            cc, first_name="John", last_name="Smith", birthdate="1985-02-12", card_number=EXAMPLE_CARD
        )
        only = await search_customer(
            cc, first_name="John", last_name="Smith", birthdate="1985-02-12", card_number=EXAMPLE_CARD
        )
    assert by_name
    assert one is not None
    assert only is not None
    assert len(records) == len(results)  # Prism answers its example record whatever the id
    assert customer_id
    assert matches
    assert holder is not None
    assert holder.customer_id
    assert results[0].customer_id


async def test_customer_login_logout_and_password_setup(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism, "customer") as cc:
        assert cc.customer_id  # on_prism logged the customer in (POST /tokens/{id}/actions/login)
        await cc.logout_customer()
        assert cc.customer_id is None
        await send_password_setup_email(cc, email="happy_customer@crmcarecloud.com")
        customer_id = await cc.login_customer(
            CustomerCredentials("email", "happy_customer@crmcarecloud.com", "Prism-pa55")
        )
    assert customer_id


async def test_card_assignment_helpers(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        card = await find_card(cc, EXAMPLE_CARD)
        # Prism's example card is held by the example customer: assigning it to them again is
        # success without a request, to anyone else a refusal before anything is changed.
        again = await assign_free_card(cc, card_number=EXAMPLE_CARD, customer_id=EXAMPLE_HOLDER)
        with pytest.raises(CardNotAssignable) as taken:
            await assign_free_card(cc, card_number=EXAMPLE_CARD, customer_id="someone-else")
    assert card is not None
    assert again.already_assigned
    assert taken.value.reason == "assigned_to_other_customer"


async def test_newsletter_events_and_otp(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id=SOME_ID)
        created = await create_event(
            cc,
            event_type_id=SOME_ID,
            external_id=f"prism-{time.time_ns()}",
            customer_id=EXAMPLE_HOLDER,
            data={"campaign": "spring"},
            property_records={"p1_note": "VIP"},
        )
        request_id = await send_otp(cc, external_application_id=SOME_ID, channel="email", recipient="jane@example.com")
        valid = await verify_otp(cc, external_application_id=SOME_ID, request_id=request_id, verification_code="482913")
    assert created.event_id
    assert request_id
    assert isinstance(valid, bool)


async def test_checkout_steps_and_in_one_call(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        steps = Checkout(cc, store_id=SOME_ID, cashdesk_number=1, bill=a_bill(), card_number=EXAMPLE_CARD)
        rewards = await steps.recommend_best_rewards()
        accepted = await steps.accept_payment([str(r.code) for r in rewards[:1] if r.code])
        sent = await steps.send_purchase(purchase_type_id=SOME_ID)
        whole = await checkout(
            cc,
            store_id=SOME_ID,
            cashdesk_number=1,
            bill=a_bill(),
            purchase_type_id=SOME_ID,
            customer_id=EXAMPLE_HOLDER,
            choose_rewards=lambda found: [str(r.code) for r in found[:1] if r.code],
        )
    assert accepted is steps.accepted
    assert sent.purchase_id
    assert whole.purchase.purchase_id


async def test_catalog_sync(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        brands = await sync_product_brands(cc, [ProductBrand(name="Acme", external_id="b-1")])
        groups = await sync_product_groups(cc, [ProductGroup(name="Wine", external_id="g-1")])
        products = await sync_products(
            cc, [{"name": "Riesling", "plu_ids": [{"list_code": "GLOBAL", "code": "8594000000017"}]}]
        )
    assert (brands.items_sent, groups.items_sent, products.items_sent) == (1, 1, 1)


async def test_the_helpers_for_both_apis_on_the_customer_api(prism: mock_server.PrismServer) -> None:
    # Sign-up, newsletter and events are served by both APIs (the Enterprise runs are above and
    # in test_workflow_accounts.py); here through the Customer API's URL and token.
    async with on_prism(prism, "customer") as cc:
        options = await sign_up_options(cc, max_items=5)
        new = await sign_up_customer(
            cc,
            personal_information={"first_name": "Jane", "email": "jane@example.com", "language_id": "en"},
            customer_source_id=options.customer_sources[0].customer_source_id,
            external_id="APP-1001",
            password="Spring-2026",
            autologin=True,
        )
        await sign_up_for_newsletter(cc, contact="jane@example.com", customer_source_id=SOME_ID)
        created = await create_event(
            cc, event_type_id=SOME_ID, external_id=f"prism-{time.time_ns()}", customer_email="jane@example.com"
        )
    assert new.customer_id
    assert created.event_id
