"""Personal data: the logged-in customer (Customer API) and safe updates on both APIs against the
shipped fake CareCloud; the Enterprise forgotten-password flow (respx for its scripted branches:
the e-mail search's loose and case-blind matches, which the fake does not model), Prism for the contract."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from workflow_clients import enterprise_api as mocked_enterprise_api
from workflow_clients import enterprise_client, listing, on_prism

from carecloud_async import (
    CareCloud,
    CustomerCredentials,
    RequestValidationError,
    RetryPolicy,
)
from carecloud_async.testing import FakeCareCloud
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


async def log_in(cc: CareCloud) -> None:
    await cc.login_customer(CustomerCredentials("email", "jane@x.cz", "Jane-Pa55word"))


# ------------------------------------------------------------------ Customer API: reading
# Against the shipped fake CareCloud: it logs the customer in on the device token, serves only that
# customer's data on the Customer API, and replaces the whole record on PUT.


@pytest.fixture
def fake() -> FakeCareCloud:
    fake = FakeCareCloud()
    info = JANE["personal_information"]
    jane = fake.customers.create(password="Jane-Pa55word", **info)
    for record in PROPERTIES:
        fake.property_records.add(
            {
                "customer_id": jane["customer_id"],
                "property_id": record["property_id"],
                "property_value": record["property_value"],
            }
        )
    other = fake.customers.create(email="john@x.cz")  # another customer's data never shows
    fake.property_records.add({"customer_id": other["customer_id"], "property_id": "colour", "property_value": "red"})
    return fake


def jane_id(fake: FakeCareCloud) -> str:
    return str(fake.customers.where()[0]["customer_id"])


@pytest.fixture
async def fake_customer_cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.customer_client(retry=RetryPolicy.disabled()) as client:
        yield client


@pytest.fixture
async def fake_cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.enterprise_client(retry=RetryPolicy.disabled()) as client:
        yield client


async def test_get_logged_in_customer_and_property_records(fake: FakeCareCloud, fake_customer_cc: CareCloud) -> None:
    await log_in(fake_customer_cc)
    me = await get_logged_in_customer(fake_customer_cc)
    assert me.customer_id == jane_id(fake)
    assert "customer_ids[]" not in fake.requests("getCustomers")[0].query  # the server knows who is logged in
    records = await get_logged_in_property_records(fake_customer_cc)
    assert [(r.property_id, r.property_value) for r in records] == [("colour", "blue"), ("club", "gold")]
    assert fake.requests("getSubCustomerProperties")
    assert fake.violations == []


async def test_reading_needs_a_logged_in_customer_on_the_customer_api(
    fake: FakeCareCloud, fake_customer_cc: CareCloud, fake_cc: CareCloud
) -> None:
    with pytest.raises(CustomerNotLoggedIn, match=r"call await cc\.login_customer"):
        await get_logged_in_customer(fake_customer_cc)
    with pytest.raises(CustomerNotLoggedIn):
        await get_logged_in_property_records(fake_customer_cc)
    with pytest.raises(RequestValidationError, match=r"on the Enterprise API use GET /customers/\{customer_id\}"):
        await get_logged_in_customer(fake_cc)
    assert fake.requests("getCustomers") == []


# ------------------------------------------------------------------ updates, both APIs


async def test_update_customer_on_the_customer_api_keeps_untouched_fields(
    fake: FakeCareCloud, fake_customer_cc: CareCloud
) -> None:
    await log_in(fake_customer_cc)
    jane = jane_id(fake)
    result = await update_customer(fake_customer_cc, changes={"personal_information.phone": "420523828931"})
    assert result.changed == ("personal_information.phone",)
    info = fake.customers[jane]["personal_information"]
    assert info == {**JANE["personal_information"], "last_name": "Doe", "phone": "420523828931"}  # e-mail, name kept
    other = fake.customers.where()[1]["customer_id"]
    with pytest.raises(RequestValidationError, match=rf"only the logged-in customer \({jane}\), not {other}"):
        await update_customer(fake_customer_cc, other, changes={"personal_information.phone": "1"})
    assert len(fake.requests("putCustomer")) == 1


async def test_update_customer_on_the_enterprise_api_needs_the_id(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    jane = jane_id(fake)
    with pytest.raises(RequestValidationError, match="customer_id is required on the Enterprise API"):
        await update_customer(fake_cc, changes={"personal_information.phone": "1"})
    with pytest.raises(UnknownField, match="did you mean 'last_name'"):
        await update_customer(fake_cc, jane, changes={"personal_information.lastname": "Smith"})
    assert fake.requests("putCustomer") == []
    await update_customer(fake_cc, jane, changes={"personal_information.last_name": "Smith"})
    assert fake.customers[jane]["personal_information"]["email"] == "jane@x.cz"
    assert fake.customers[jane]["personal_information"]["last_name"] == "Smith"


async def test_update_customer_property_puts_the_found_record(fake: FakeCareCloud, fake_customer_cc: CareCloud) -> None:
    await log_in(fake_customer_cc)
    jane = jane_id(fake)
    await update_customer_property(fake_customer_cc, "club", "platinum")
    (put,) = fake.requests("putSubCustomerProperty")
    assert put.json == {"property_record": {"property_id": "club", "property_value": "platinum"}}
    club = fake.property_records.where(customer_id=jane, property_id="club")
    assert [r["property_value"] for r in club] == ["platinum"]  # the found record, replaced
    with pytest.raises(UnknownField, match=r"no field 'colur' \(did you mean 'colour' or 'club'\?\)"):
        await update_customer_property(fake_customer_cc, "colur", "red")
    assert len(fake.requests("putSubCustomerProperty")) == 1
    assert fake.requests("postSubCustomerProperties") == []
    await update_customer_property(fake_customer_cc, "size", "M", create_missing=True)
    (post,) = fake.requests("postSubCustomerProperties")
    assert post.json == {"property_record": {"property_id": "size", "property_value": "M"}}
    assert [r["property_value"] for r in fake.property_records.where(customer_id=jane, property_id="size")] == ["M"]
    assert fake.violations == []


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
