"""Personal data: the logged-in customer (Customer API), safe updates on both APIs, and the
Enterprise forgotten-password flow (respx for the branches, Prism for the contract)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from workflow_clients import customer_api as mocked_customer_api
from workflow_clients import customer_client, enterprise_client, listing, on_prism
from workflow_clients import enterprise_api as mocked_enterprise_api

from carecloud_async import (
    CareCloud,
    CustomerCredentials,
    RequestValidationError,
)
from carecloud_async.workflows import (
    AmbiguousEmail,
    CustomerNotLoggedIn,
    UnknownField,
    WeakPassword,
    find_customer_for_password_reset,
    get_logged_in_customer,
    get_logged_in_property_records,
    set_customer_password,
    update_customer,
    update_customer_property,
)
from scripts import mock_server

NEW_PASSWORD = "Brand-New-2026"
JANE: dict[str, Any] = {
    "customer_id": "c1",
    "personal_information": {"first_name": "Jane", "language_id": "en", "email": "jane@x.cz", "phone": "420111"},
    "last_change": "2026-01-01 10:00:00",
}
PROPERTIES = [
    {"property_record_id": "colour:c1", "property_id": "colour", "property_value": "blue"},
    {"property_record_id": "club:c1", "property_id": "club", "property_value": "gold"},
]


class Customers:
    """Stores customers; GET answers, PUT replaces the whole record (as CareCloud does)."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.records = {"c1": copy.deepcopy(JANE)}
        self.bodies: list[dict[str, Any]] = []
        router.get("/customers/c1").mock(side_effect=lambda r: httpx.Response(200, json={"data": self.records["c1"]}))
        router.put("/customers/c1").mock(side_effect=self.put)

    def put(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.records["c1"] = body["customer"]
        return httpx.Response(204)


@pytest.fixture
def enterprise_api() -> Iterator[respx.MockRouter]:
    with mocked_enterprise_api() as router:
        yield router


@pytest.fixture
async def cc(enterprise_api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with enterprise_client() as client:
        yield client


@pytest.fixture
def customer_api() -> Iterator[respx.MockRouter]:
    with mocked_customer_api() as router:
        yield router


@pytest.fixture
async def customer_cc(customer_api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with customer_client() as client:
        yield client


async def log_in(cc: CareCloud) -> None:
    await cc.login_customer(CustomerCredentials("email", "jane@x.cz", "Jane-Pa55word"))


# ------------------------------------------------------------------ Customer API: reading


async def test_get_logged_in_customer_and_property_records(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    customers = customer_api.get("/customers").mock(return_value=listing("customers", [JANE]))
    properties = customer_api.get("/customers/c1/property-records").mock(
        return_value=listing("property_records", PROPERTIES)
    )
    await log_in(customer_cc)
    me = await get_logged_in_customer(customer_cc)
    assert me.customer_id == "c1"
    assert "customer_ids" not in str(customers.calls[0].request.url)  # the server knows who is logged in
    records = await get_logged_in_property_records(customer_cc)
    assert [(r.property_id, r.property_value) for r in records] == [("colour", "blue"), ("club", "gold")]
    assert properties.called


async def test_reading_needs_a_logged_in_customer_on_the_customer_api(
    customer_cc: CareCloud, customer_api: respx.MockRouter, cc: CareCloud
) -> None:
    route = customer_api.get("/customers")
    with pytest.raises(CustomerNotLoggedIn, match=r"call await cc\.login_customer"):
        await get_logged_in_customer(customer_cc)
    with pytest.raises(CustomerNotLoggedIn):
        await get_logged_in_property_records(customer_cc)
    with pytest.raises(RequestValidationError, match=r"on the Enterprise API use GET /customers/\{customer_id\}"):
        await get_logged_in_customer(cc)
    assert not route.called


# ------------------------------------------------------------------ updates, both APIs


async def test_update_customer_on_the_customer_api_keeps_untouched_fields(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    store = Customers(customer_api)
    await log_in(customer_cc)
    result = await update_customer(customer_cc, changes={"personal_information.phone": "420523828931"})
    assert result.changed == ("personal_information.phone",)
    info = store.records["c1"]["personal_information"]
    assert info == {**JANE["personal_information"], "phone": "420523828931"}  # e-mail, name kept
    with pytest.raises(RequestValidationError, match=r"only the logged-in customer \(c1\), not c2"):
        await update_customer(customer_cc, "c2", changes={"personal_information.phone": "1"})


async def test_update_customer_on_the_enterprise_api_needs_the_id(
    cc: CareCloud, enterprise_api: respx.MockRouter
) -> None:
    store = Customers(enterprise_api)
    with pytest.raises(RequestValidationError, match="customer_id is required on the Enterprise API"):
        await update_customer(cc, changes={"personal_information.phone": "1"})
    with pytest.raises(UnknownField, match="did you mean 'last_name'"):
        await update_customer(cc, "c1", changes={"personal_information.lastname": "Smith"})
    assert store.bodies == []
    await update_customer(cc, "c1", changes={"personal_information.last_name": "Smith"})
    assert store.records["c1"]["personal_information"]["email"] == "jane@x.cz"
    assert store.records["c1"]["personal_information"]["last_name"] == "Smith"


async def test_update_customer_property_puts_the_found_record(
    customer_cc: CareCloud, customer_api: respx.MockRouter
) -> None:
    customer_api.get("/customers/c1/property-records").mock(return_value=listing("property_records", PROPERTIES))
    put = customer_api.put("/customers/c1/property-records/club:c1").respond(204)
    post = customer_api.post("/customers/c1/property-records").respond(201, json={"data": {}})
    await log_in(customer_cc)
    await update_customer_property(customer_cc, "club", "platinum")
    assert json.loads(put.calls[0].request.content) == {
        "property_record": {"property_id": "club", "property_value": "platinum"}
    }
    with pytest.raises(UnknownField, match=r"no field 'colur' \(did you mean 'colour' or 'club'\?\)"):
        await update_customer_property(customer_cc, "colur", "red")
    assert put.call_count == 1
    assert not post.called
    await update_customer_property(customer_cc, "size", "M", create_missing=True)
    assert json.loads(post.calls[0].request.content) == {
        "property_record": {"property_id": "size", "property_value": "M"}
    }


# ------------------------------------------------------------------ forgotten password (Enterprise)


async def test_forgotten_password_finds_the_customer_then_puts_the_whole_record_with_the_password(
    cc: CareCloud, enterprise_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    search = enterprise_api.get("/customers").mock(return_value=listing("customers", [JANE]))
    store = Customers(enterprise_api)
    customer = await find_customer_for_password_reset(cc, "Jane@X.cz")
    assert customer is not None
    assert customer.customer_id == "c1"
    assert search.calls[0].request.url.params["email"] == "Jane@X.cz"
    result = await set_customer_password(cc, "c1", NEW_PASSWORD)
    assert result.sent
    assert store.bodies == [{"customer": JANE, "password": NEW_PASSWORD}]  # the whole record, and the password
    assert NEW_PASSWORD not in caplog.text


async def test_forgotten_password_refusals(cc: CareCloud, enterprise_api: respx.MockRouter) -> None:
    search = enterprise_api.get("/customers")
    store = Customers(enterprise_api)
    search.mock(
        return_value=listing(
            "customers", [{**JANE, "personal_information": {"language_id": "en", "email": "janet@x.cz"}}]
        )
    )
    assert await find_customer_for_password_reset(cc, "jane@x.cz") is None  # a loose match is no match
    search.mock(return_value=listing("customers", [JANE, {**JANE, "customer_id": "c2"}]))
    with pytest.raises(AmbiguousEmail, match="2 customers have the e-mail") as caught:
        await find_customer_for_password_reset(cc, "jane@x.cz")
    assert caught.value.customer_ids == ("c1", "c2")
    calls = search.call_count
    with pytest.raises(RequestValidationError, match="has no '@'"):
        await find_customer_for_password_reset(cc, "jane")
    assert search.call_count == calls
    with pytest.raises(WeakPassword, match="digit") as weak:
        await set_customer_password(cc, "c1", "NoDigitsAtAll")
    assert "NoDigitsAtAll" not in str(weak.value)
    with pytest.raises(RequestValidationError, match="customer_id must be a non-empty"):
        await set_customer_password(cc, "", NEW_PASSWORD)
    assert store.bodies == []


# ------------------------------------------------------------------ against Prism


async def test_customer_api_personal_data_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism, "customer") as cc:  # the example customer logged in
        me = await get_logged_in_customer(cc)
        assert me.customer_id
        records = await get_logged_in_property_records(cc)
        assert records
        result = await update_customer(cc, changes={"personal_information.first_name": "Janet"})
        assert result.sent
        assert records[0].property_id is not None
        await update_customer_property(cc, records[0].property_id, "new value")


async def test_enterprise_password_reset_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as cc:
        customer = await find_customer_for_password_reset(cc, "happy_customer@crmcarecloud.com")
        assert customer is not None
        assert isinstance(customer.customer_id, str)
        result = await set_customer_password(cc, customer.customer_id, NEW_PASSWORD)
        assert result.sent
        await update_customer(cc, customer.customer_id, changes={"personal_information.last_name": "Smithson"})
