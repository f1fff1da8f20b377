"""Customer sign-up, finding a customer by an external id, and customer sync (respx and Prism)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from workflow_clients import (
    customer_api,
    customer_client,
    enterprise_api,
    enterprise_client,
    listing,
    on_prism,
    refusal,
    sent,
)

from carecloud_async import BadRequest, CareCloud, CustomerAuth, RequestValidationError, RetryPolicy
from carecloud_async.testing import FakeCareCloud
from carecloud_async.workflows import (
    AmbiguousExternalId,
    CustomerSyncRecord,
    SignUpIncomplete,
    SignUpOptions,
    UnknownField,
    WeakPassword,
    check_password,
    find_customer_by_external_id,
    find_customer_id_by_external_id,
    get_logged_in_customer,
    sign_up_customer,
    sign_up_options,
    sync_customer,
    sync_customers,
)
from scripts import mock_server

SOURCE = "src-eshop"
STORES = [{"store_id": "st1", "store_code": "P1", "name": "Prague", "partner_id": "p1", "system_id": "1"}]
SOURCES = [{"customer_source_id": SOURCE, "name": "E-shop"}]
PROPERTIES = [
    {"property_id": "colour", "name": "Colour", "data_type": "string", "is_required": False, "is_unique": False},
    {"property_id": "club", "name": "Club", "data_type": "string", "is_required": True, "is_unique": False},
]


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with enterprise_api() as router:
        yield router


@pytest.fixture
async def cc(api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with enterprise_client() as client:
        yield client


def options() -> SignUpOptions:
    from carecloud_api.models import CustomerSource, Property, Store

    return SignUpOptions(
        tuple(Store.from_dict(s) for s in STORES),
        tuple(CustomerSource.from_dict(s) for s in SOURCES),
        tuple(Property.from_dict(p) for p in PROPERTIES),
    )


# ------------------------------------------------------------------ sign-up


async def test_sign_up_options_reads_the_three_lists(cc: CareCloud, api: respx.MockRouter) -> None:
    api.get("/stores").mock(return_value=listing("stores", STORES))
    api.get("/customer-sources").mock(return_value=listing("customer_sources", SOURCES))
    api.get("/customer-properties").mock(return_value=listing("customer_properties", PROPERTIES))
    found = await sign_up_options(cc)
    assert [s.store_id for s in found.stores] == ["st1"]
    assert [s.customer_source_id for s in found.customer_sources] == [SOURCE]
    assert found.required_property_ids() == ("club",)


async def test_sign_up_customer_posts_the_customer_source_properties_then_interests(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    create = api.post("/customers").respond(201, json={"data": {"customer_id": "c9"}})
    interests = api.post("/customers/c9/interest-records").mock(
        side_effect=[
            httpx.Response(201, json={"data": {"interest_record_id": "ir1"}}),
            httpx.Response(201, json={"data": {"interest_record_id": "ir2"}}),
        ]
    )
    new = await sign_up_customer(
        cc,
        personal_information={
            "first_name": "Jane",
            "email": "jane@example.com",
            "language_id": "en",
            "store_id": "st1",
        },
        customer_source_id=SOURCE,
        external_id="ESHOP-1001",
        property_records={"club": "gold", "colour": "blue"},
        interest_ids=["i1", "i2"],
        password="Spring-2026",
        options=options(),
    )
    assert (new.customer_id, new.interest_record_ids) == ("c9", ("ir1", "ir2"))
    assert sent(create) == {
        "customer": {
            "personal_information": {
                "first_name": "Jane",
                "email": "jane@example.com",
                "language_id": "en",
                "store_id": "st1",
            }
        },
        "customer_source": {"customer_source_id": SOURCE, "external_id": "ESHOP-1001"},
        "autologin": False,
        "password": "Spring-2026",
        "property_records": [
            {"property_id": "club", "property_value": "gold"},
            {"property_id": "colour", "property_value": "blue"},
        ],
    }
    assert [sent(interests, i)["interest_record"] for i in range(2)] == [
        {"interest_id": "i1", "customer_id": "c9"},
        {"interest_id": "i2", "customer_id": "c9"},
    ]


async def test_sign_up_customer_refuses_bad_input_before_sending(cc: CareCloud, api: respx.MockRouter) -> None:
    create = api.post("/customers")
    good: dict[str, Any] = {"personal_information": {"language_id": "en"}, "customer_source_id": SOURCE}
    with pytest.raises(RequestValidationError, match=r"personal_information\.language_id must be a non-empty"):
        await sign_up_customer(cc, personal_information={"email": "j@x.cz"}, customer_source_id=SOURCE)
    with pytest.raises(UnknownField, match="did you mean 'email'"):
        await sign_up_customer(
            cc, personal_information={"emial": "j@x.cz", "language_id": "en"}, customer_source_id=SOURCE
        )
    with pytest.raises(RequestValidationError, match="customer_source_id must be a non-empty"):
        await sign_up_customer(cc, personal_information={"language_id": "en"}, customer_source_id="")
    with pytest.raises(RequestValidationError, match="autologin=True needs the customer's password"):
        await sign_up_customer(cc, **good, autologin=True)
    with pytest.raises(WeakPassword, match="uppercase") as weak:
        await sign_up_customer(cc, **good, password="spring-2026")
    assert "spring-2026" not in str(weak.value)
    with pytest.raises(RequestValidationError, match="store_id 'nowhere' is not one of the project's stores"):
        await sign_up_customer(
            cc, personal_information={"language_id": "en", "store_id": "nowhere"}, customer_source_id=SOURCE,
            options=options(),
        )  # fmt: skip
    with pytest.raises(RequestValidationError, match="customer_source_id 'src-x' is not one of"):
        await sign_up_customer(cc, **{**good, "customer_source_id": "src-x"}, options=options())
    with pytest.raises(RequestValidationError, match="customer property 'colur' does not exist"):
        await sign_up_customer(cc, **good, property_records={"colur": "red", "club": "x"}, options=options())
    with pytest.raises(RequestValidationError, match="requires the customer properties club"):
        await sign_up_customer(cc, **good, property_records={"colour": "red"}, options=options())
    assert not create.called


async def test_sign_up_customer_created_but_interest_refused_says_which_customer_exists(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    api.post("/customers").respond(201, json={"data": {"customer_id": "c9"}})
    api.post("/customers/c9/interest-records").mock(
        side_effect=[
            httpx.Response(201, json={"data": {"interest_record_id": "ir1"}}),
            refusal("interest_id", "not_found"),
        ]
    )  # fmt: skip
    with pytest.raises(SignUpIncomplete, match="customer c9 was created") as caught:
        await sign_up_customer(
            cc, personal_information={"language_id": "en"}, customer_source_id=SOURCE, interest_ids=["i1", "i2", "i3"]
        )
    assert caught.value.customer_id == "c9"
    assert caught.value.interest_ids == ("i2", "i3")
    assert isinstance(caught.value.__cause__, BadRequest)


NEW_CUSTOMER = {"customer_id": "c9", "personal_information": {"email": "new@x.cz", "language_id": "en"}}


async def test_sign_up_with_autologin_on_the_customer_api_logs_the_new_customer_in() -> None:
    # Issue 21, item 5: the server logs the new customer in; the client must know it.
    with customer_api() as router:
        router.post("/customers").respond(201, json={"data": {"customer_id": "c9"}})
        me = router.get("/customers").mock(return_value=listing("customers", [NEW_CUSTOMER]))
        login = router.post("/tokens/tok-1/actions/login")
        async with customer_client() as cc:
            new = await sign_up_customer(
                cc,
                personal_information={"email": "new@x.cz", "language_id": "en"},
                customer_source_id=SOURCE,
                password="Spring-2026",
                autologin=True,
            )
            assert new.customer_id == "c9"
            assert cc.customer_id == "c9"
            customer = await get_logged_in_customer(cc)
            assert customer.customer_id == "c9"
            assert me.called
            assert not login.called  # the sign-up itself logged the customer in
            assert "Spring-2026" not in repr(cc.auth)
            # The token is replaced (a 401): the new customer is logged in again on the new one.
            router.routes["tokens"].respond(201, json={"data": {"token_id": "tok-2"}})
            relogin = router.post("/tokens/tok-2/actions/login").respond(200, json={"data": {"customer_id": "c9"}})
            me.side_effect = [httpx.Response(401), listing("customers", [NEW_CUSTOMER])]
            assert (await get_logged_in_customer(cc)).customer_id == "c9"
            assert sent(relogin) == {"login_type": "email", "login_value": "new@x.cz", "password": "Spring-2026"}
            assert cc.customer_id == "c9"


async def test_sign_up_with_autologin_is_a_barrier_for_the_cache_and_dedupe() -> None:
    # The server may log the new customer in at any moment while the sign-up runs: no request
    # may have a cache or dedupe identity then, and none sent before may share one with after.
    seen: list[str | None] = []
    async with customer_client() as cc:
        assert isinstance(cc.auth, CustomerAuth)
        auth = cc.auth

        def probe() -> str | None:
            request = httpx.Request("GET", "https://x/customers", headers={"Authorization": "Bearer tok-1"})
            return auth.identity(request)

        def signed_up(request: httpx.Request) -> httpx.Response:
            seen.append(probe())
            return httpx.Response(201, json={"data": {"customer_id": "c9"}})

        with customer_api() as router:
            router.post("/customers").mock(side_effect=signed_up)
            await cc.auth.authenticate(cc.http)
            before = probe()
            await sign_up_customer(
                cc,
                personal_information={"email": "new@x.cz", "language_id": "en"},
                customer_source_id=SOURCE,
                password="Spring-2026",
                autologin=True,
            )
            after = probe()
    assert before is not None
    assert seen == [None]
    assert after is not None
    assert after != before


async def test_sign_up_without_autologin_logs_nobody_in() -> None:
    with customer_api() as router:
        router.post("/customers").respond(201, json={"data": {"customer_id": "c9"}})
        async with customer_client() as cc:
            await sign_up_customer(
                cc, personal_information={"email": "new@x.cz", "language_id": "en"}, customer_source_id=SOURCE
            )
            assert cc.customer_id is None


def test_check_password_rules() -> None:
    assert check_password("Spring-2026") == "Spring-2026"
    for weak, rule in [("Sh0rt", "8 characters"), ("NoDigitsHere", "digit"), ("lower-2026", "uppercase")]:
        with pytest.raises(WeakPassword, match=rule):
            check_password(weak)


async def test_sign_up_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as prism_cc:
        await sign_up_against(prism_cc)


async def sign_up_against(prism_cc: CareCloud) -> None:
    found = await sign_up_options(prism_cc, max_items=5)
    assert found.stores
    assert found.customer_sources
    assert found.customer_properties
    new = await sign_up_customer(
        prism_cc,
        personal_information={
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane@example.com",
            "language_id": "en",
        },
        customer_source_id=found.customer_sources[0].customer_source_id,
        external_id="ESHOP-1001",
        property_records={"colour": "blue"},
        interest_ids=["81eaeea13b8984a169c490a325"],
    )
    assert new.customer_id
    assert len(new.interest_record_ids) == 1


# ------------------------------------------------------------------ find by external id

RECORD = {"customer_source_record_id": "r1", "customer_source_id": SOURCE, "customer_id": "c1", "external_id": "E1"}
CUSTOMER = {
    "customer_id": "c1",
    "personal_information": {"language_id": "en", "email": "old@x.cz", "first_name": "Jane"},
}


async def test_find_customer_by_external_id_filters_by_source_and_external_id(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    records = api.get("/customer-source-records").mock(return_value=listing("customer_source_records", [RECORD]))
    api.get("/customers/c1").respond(200, json={"data": CUSTOMER})
    customer = await find_customer_by_external_id(cc, customer_source_id=SOURCE, external_id="E1")
    assert customer is not None
    assert customer.customer_id == "c1"
    params = records.calls[0].request.url.params
    assert params["customer_source_id"] == SOURCE
    assert params.get_list("external_ids[]") == ["E1"]


async def test_find_customer_by_external_id_none_loose_matches_and_ambiguity(
    cc: CareCloud, api: respx.MockRouter
) -> None:
    route = api.get("/customer-source-records")
    route.mock(return_value=listing("customer_source_records", []))
    assert await find_customer_by_external_id(cc, customer_source_id=SOURCE, external_id="E1") is None
    route.mock(return_value=listing("customer_source_records", [{**RECORD, "external_id": "E10"}]))
    assert await find_customer_id_by_external_id(cc, customer_source_id=SOURCE, external_id="E1") is None
    route.mock(return_value=listing("customer_source_records", [RECORD, {**RECORD, "customer_id": "c2"}]))
    with pytest.raises(AmbiguousExternalId, match="belongs to 2 customers") as caught:
        await find_customer_id_by_external_id(cc, customer_source_id=SOURCE, external_id="E1")
    assert caught.value.customer_ids == ("c1", "c2")
    calls = route.call_count
    with pytest.raises(RequestValidationError, match="external_id must be a non-empty"):
        await find_customer_id_by_external_id(cc, customer_source_id=SOURCE, external_id=" ")
    assert route.call_count == calls


async def test_find_customer_by_external_id_against_prism(prism: mock_server.PrismServer) -> None:
    async with on_prism(prism) as prism_cc:
        customer = await find_customer_by_external_id(
            prism_cc, customer_source_id="86e05affc7a7abefcd513ab400", external_id="A66854921C"
        )
    assert customer is not None
    assert customer.customer_id


# ------------------------------------------------------------------ sync


class CustomerServer:
    """A stand-in CareCloud that stores customers and their source records (respx side effects).

    Kept for one thing the shipped fake does not model: enum property records answered as lists
    of items ``{"id", "name", "state"}`` whatever ids were written (the issue 21 item 4 test; its
    twin on the fake is in test_workflow_money_privacy_fake.py). The other sync tests use the fake."""

    def __init__(self, api: respx.MockRouter) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.sources: list[dict[str, Any]] = []
        self.properties: dict[str, dict[str, Any]] = {}
        self.created = 0
        api.get("/customer-source-records").mock(side_effect=self.find)
        api.post("/customers").mock(side_effect=self.create)
        api.route(method="GET", path__regex=r"/customers/[^/]+$").mock(side_effect=self.read)
        api.route(method="PUT", path__regex=r"/customers/[^/]+$").mock(side_effect=self.replace)
        self.batch_route = api.route(method="POST", path__regex=r"/customers/[^/]+/property-records/batch$").mock(
            side_effect=self.batch
        )
        api.route(method="GET", path__regex=r"/customers/[^/]+/property-records$").mock(
            side_effect=self.read_properties
        )
        self.writes: list[str] = []  # "METHOD path" of every write after the creations

    async def find(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # a real round trip: lets concurrent syncs overlap
        wanted = request.url.params.get_list("external_ids[]")
        source = request.url.params["customer_source_id"]
        found = [r for r in self.sources if r["external_id"] in wanted and r["customer_source_id"] == source]
        return listing("customer_source_records", found)

    async def create(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        body = json.loads(request.content)
        if body["customer"]["personal_information"].get("email") == "refuse@x.cz":
            return httpx.Response(
                400, json={"error": {"error_data": {"invalid_params": [{"name": "email", "reason": "already_exists"}]}}}
            )
        self.created += 1
        customer_id = f"c{self.created}"
        self.customers[customer_id] = {"customer_id": customer_id, **body["customer"]}
        self.sources.append({**body["customer_source"], "customer_id": customer_id})
        for record in body.get("property_records", []):
            self.properties.setdefault(customer_id, {})[record["property_id"]] = record["property_value"]
        return httpx.Response(201, json={"data": {"customer_id": customer_id}})

    def read(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": copy.deepcopy(self.customers[request.url.path.rsplit("/", 1)[1]])})

    def replace(self, request: httpx.Request) -> httpx.Response:
        self.writes.append(f"PUT {request.url.path}")
        self.customers[request.url.path.rsplit("/", 1)[1]] = json.loads(request.content)["customer"]
        return httpx.Response(204)

    def read_properties(self, request: httpx.Request) -> httpx.Response:
        customer_id = request.url.path.split("/customers/", 1)[1].split("/", 1)[0]
        values = self.properties.get(customer_id, {})
        # Enum properties come back as lists of items, whatever ids were written.
        records = [
            {
                "property_id": name,
                "property_record_id": f"{name}:{customer_id}",
                "property_value": [{"id": v, "name": v.title(), "state": 1} for v in value]
                if isinstance(value, list)
                else value,
            }
            for name, value in values.items()
        ]
        return listing("property_records", records)

    def batch(self, request: httpx.Request) -> httpx.Response:
        self.writes.append(f"POST {request.url.path}")
        customer_id = request.url.path.split("/customers/", 1)[1].split("/", 1)[0]
        for record in json.loads(request.content)["property_records"]:
            self.properties.setdefault(customer_id, {})[record["property_id"]] = record["property_value"]
        return httpx.Response(204)


@pytest.fixture
def fake() -> FakeCareCloud:
    return FakeCareCloud()


@pytest.fixture
async def fake_cc(fake: FakeCareCloud) -> AsyncIterator[CareCloud]:
    async with fake.enterprise_client(retry=RetryPolicy.disabled()) as client:
        yield client


def sources(fake: FakeCareCloud) -> list[dict[str, Any]]:
    fields = ("customer_source_id", "external_id", "customer_id")
    return [{k: r[k] for k in fields} for r in fake.source_records]


def properties(fake: FakeCareCloud) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in fake.property_records:
        found.setdefault(record["customer_id"], {})[record["property_id"]] = record.get("property_value")
    return found


async def test_sync_customer_creates_then_updates_without_a_duplicate(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    record = CustomerSyncRecord("E1", {"email": "jane@x.cz", "language_id": "en", "first_name": "Jane"})
    first = await sync_customer(fake_cc, record, customer_source_id=SOURCE)
    assert first.action == "created"
    c1 = first.customer_id
    assert sources(fake) == [{"customer_source_id": SOURCE, "external_id": "E1", "customer_id": c1}]
    fake.customers[c1]["personal_information"]["phone"] = "420523828931"  # set in CareCloud meanwhile

    second = await sync_customer(
        fake_cc, CustomerSyncRecord("E1", {"email": "jane@new.cz"}, {"club": "gold"}), customer_source_id=SOURCE
    )
    assert (second.action, second.customer_id) == ("updated", c1)
    assert second.changed == ("personal_information.email", "property_records.club")
    assert len(fake.customers) == 1  # no duplicate
    info = fake.customers[c1]["personal_information"]
    assert info == {"email": "jane@new.cz", "language_id": "en", "first_name": "Jane", "phone": "420523828931"}
    assert properties(fake) == {c1: {"club": "gold"}}

    third = await sync_customer(fake_cc, CustomerSyncRecord("E1", {"email": "jane@new.cz"}), customer_source_id=SOURCE)
    assert third.action == "unchanged"
    assert fake.violations == []


async def test_a_second_sync_of_unchanged_records_writes_nothing(cc: CareCloud, api: respx.MockRouter) -> None:
    # Issue 21, item 4: a record with properties was rewritten (and reported "updated") on every sync.
    server = CustomerServer(api)
    records = [
        CustomerSyncRecord(
            f"E{n}", {"email": f"c{n}@x.cz", "language_id": "en"}, {"club": "gold", "visits": n, "colours": ["red"]}
        )
        for n in range(3)
    ]
    first = await sync_customers(cc, records, customer_source_id=SOURCE)
    assert str(first) == "3 created, 0 updated, 0 unchanged, 0 failed"
    second = await sync_customers(cc, records, customer_source_id=SOURCE)
    assert str(second) == "0 created, 0 updated, 3 unchanged, 0 failed"
    assert server.writes == []
    changed = [CustomerSyncRecord("E1", {"email": "c1@x.cz"}, {"club": "gold", "visits": 7, "colours": ["red"]})]
    third = await sync_customers(cc, changed, customer_source_id=SOURCE)
    assert [o.changed for o in third.updated] == [("property_records.visits",)]
    customer_id = next(r["customer_id"] for r in server.sources if r["external_id"] == "E1")
    assert server.writes == [
        f"POST /webservice/rest-api/enterprise-interface/v1.0/customers/{customer_id}/property-records/batch"
    ]
    assert sent(server.batch_route) == {"property_records": [{"property_id": "visits", "property_value": 7}]}
    assert server.properties[customer_id] == {"club": "gold", "visits": 7, "colours": ["red"]}


async def test_sync_customers_bulk_reports_and_never_duplicates_a_repeated_external_id(
    fake: FakeCareCloud, fake_cc: CareCloud
) -> None:
    fake.customers.create(email="refuse@x.cz")  # an e-mail is unique: the server refuses E9
    fake.slow("getCustomerSourceRecords", 0.01)  # a real round trip: lets concurrent syncs overlap

    async def records() -> AsyncIterator[CustomerSyncRecord]:
        for n in range(6):
            yield CustomerSyncRecord(f"E{n}", {"email": f"c{n}@x.cz", "language_id": "en"})
        yield CustomerSyncRecord("E0", {"email": "c0@new.cz"})  # the same customer again, changed
        yield CustomerSyncRecord("E0", {"email": "c0@new.cz"})  # and once more, unchanged
        yield CustomerSyncRecord("E9", {"email": "refuse@x.cz", "language_id": "en"})  # the server refuses
        yield CustomerSyncRecord("E8", {"emial": "typo@x.cz", "language_id": "en"})  # refused before sending

    report = await sync_customers(fake_cc, records(), customer_source_id=SOURCE, concurrency=4)
    assert str(report) == "6 created, 1 updated, 1 unchanged, 2 failed"
    assert sorted(o.external_id for o in report.created) == [f"E{n}" for n in range(6)]
    assert len(fake.customers) == 1 + 6
    external_ids = [r["external_id"] for r in sources(fake)]
    assert sorted(external_ids) == [f"E{n}" for n in range(6)]  # never a duplicate
    failures = {f.external_id: f.error for f in report.failed}
    assert isinstance(failures["E9"], BadRequest)
    assert isinstance(failures["E8"], UnknownField)
    (e0,) = fake.source_records.where(external_id="E0")
    assert fake.customers[e0["customer_id"]]["personal_information"]["email"] == "c0@new.cz"


async def test_sync_customers_bounds_its_concurrency(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    fake.slow("getCustomerSourceRecords", 0.01)
    records = [CustomerSyncRecord(f"E{n}", {"language_id": "en"}) for n in range(20)]
    report = await sync_customers(fake_cc, records, customer_source_id=SOURCE, concurrency=3)
    assert len(report.created) == 20
    assert fake.max_in_flight["getCustomerSourceRecords"] == 3


async def test_a_failing_input_stops_every_worker_and_is_raised(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    fake.slow("*", 0.01)

    async def records() -> AsyncIterator[CustomerSyncRecord]:
        for n in range(3):
            yield CustomerSyncRecord(f"E{n}", {"language_id": "en"})
        raise OSError("the export file is truncated")

    with pytest.raises(OSError, match="truncated"):
        await sync_customers(fake_cc, records(), customer_source_id=SOURCE, concurrency=4)
    requests = len(fake.requests())
    await asyncio.sleep(0.1)  # nothing goes on in the background
    assert len(fake.requests()) == requests
    assert len(fake.customers) < 3  # the workers were stopped mid-way, not left to finish


async def test_sync_customers_checks_its_arguments(fake: FakeCareCloud, fake_cc: CareCloud) -> None:
    with pytest.raises(RequestValidationError, match="concurrency must be a whole number >= 1"):
        await sync_customers(fake_cc, [], customer_source_id=SOURCE, concurrency=0)
    with pytest.raises(RequestValidationError, match="records must be an iterable"):
        await sync_customers(fake_cc, 42, customer_source_id=SOURCE)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="customer_source_id must be a non-empty"):
        await sync_customers(fake_cc, [], customer_source_id="")
    with pytest.raises(RequestValidationError, match="external_id must be a non-empty"):
        await sync_customer(fake_cc, CustomerSyncRecord("", {}), customer_source_id=SOURCE)
    assert fake.requests("getCustomerSourceRecords") == []
    report = await sync_customers(fake_cc, [CustomerSyncRecord("E1", {"email": "x@y.cz"})], customer_source_id=SOURCE)
    ((failure,),) = (report.failed,)
    assert "language_id" in str(failure.error)  # a new customer needs one: refused before the POST
    assert fake.requests("postCustomer") == []


async def test_sync_customer_against_prism(prism: mock_server.PrismServer) -> None:
    # Prism answers the spec's example: a source record exists, so the customer is updated.
    async with on_prism(prism) as prism_cc:
        outcome = await sync_customer(
            prism_cc,
            CustomerSyncRecord("A66854921C", {"first_name": "Janet"}, {"colour": "blue"}),
            customer_source_id="86e05affc7a7abefcd513ab400",
        )
    assert outcome.action == "updated"
    assert outcome.changed == ("personal_information.first_name", "property_records.colour")


@pytest.mark.parametrize("token_id", [7, "", None])
async def test_a_token_creation_answer_without_a_text_token_id_is_refused(token_id: Any) -> None:
    # A number the parser would turn into text is not a token id the server meant to give.
    from carecloud_async import AuthenticationError

    with customer_api() as router:
        router.routes["tokens"].respond(201, json={"data": {"token_id": token_id}})
        async with customer_client() as cc:
            with pytest.raises(AuthenticationError, match="without a token_id"):
                await cc.auth.authenticate(cc.http)
