"""Safe whole-record updates (carecloud_async.workflows.updates): read, change, put the whole record.

A stand-in server that stores records and replaces them on PUT, as CareCloud does (a field left
out of the body is deleted), shows what Prism cannot: a field the caller never touched survives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from carecloud_api.api.customers import get_customer
from carecloud_api.api.stores import put_store
from carecloud_api.models import Customer, PutStoreBody, StoreWrite
from workflow_clients import enterprise_api, enterprise_client

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from carecloud_async.workflows import (
    RecordUpdate,
    UnknownField,
    UpdateConflict,
    updatable_resources,
    update_record,
)
from scripts import mock_server, normalise, spec_source

STORE: dict[str, Any] = {
    "store_id": "s1",
    "store_code": "PRG1",
    "name": "Prague 1",
    "partner_id": "p1",
    "system_id": "2375303497",
    "description": "Our first store, since 1995",
    "store_address": {"address1": "Main 1", "city": "Prague", "zip": "11000"},
    "last_change": "2026-01-01 10:00:00",
}
CUSTOMER: dict[str, Any] = {
    "customer_id": "c1",
    "personal_information": {"first_name": "Jane", "last_name": "Doe", "language_id": "en", "email": "jane@x.cz"},
    "last_change": "2026-01-01 10:00:00",
}


class StandIn:
    """Records by path; GET answers the record, PUT replaces it whole (omitted fields are gone)
    and moves ``last_change`` on, like CareCloud."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.puts: list[dict[str, Any]] = []
        self.reads = 0
        #: runs after each read is answered: another writer, acting between our read and write
        self.after_read: Callable[[str], None] = lambda key: None
        router.route(method="GET", path__regex=r"/(stores|customers|card-types|bookings)/").mock(side_effect=self.get)
        router.route(method="PUT", path__regex=r"/(stores|customers|card-types|bookings)/").mock(side_effect=self.put)

    def key(self, request: httpx.Request) -> str:
        return request.url.path.split("/v1.0", 1)[1]

    def get(self, request: httpx.Request) -> httpx.Response:
        record = self.records.get(self.key(request))
        if record is None:
            return httpx.Response(404, json={"error": {"title": "Not found"}})
        answer = httpx.Response(200, json={"data": copy.deepcopy(record)})
        self.reads += 1
        self.after_read(self.key(request))
        return answer

    def put(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.puts.append(body)
        ((_, record),) = [(k, v) for k, v in body.items() if k not in ("password", "property_records")]
        record = dict(record)
        if "last_change" in self.records[self.key(request)]:
            record["last_change"] = "2026-01-02 08:00:00"
        self.records[self.key(request)] = record
        return httpx.Response(204)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with enterprise_api() as router:
        yield router


@pytest.fixture
def server(api: respx.MockRouter) -> StandIn:
    stand_in = StandIn(api)
    stand_in.records["/stores/s1"] = copy.deepcopy(STORE)
    stand_in.records["/customers/c1"] = copy.deepcopy(CUSTOMER)
    return stand_in


@pytest.fixture
async def cc(api: respx.MockRouter) -> AsyncIterator[CareCloud]:
    async with enterprise_client() as client:
        yield client


# ------------------------------------------------------------------------- what is updatable


def test_updatable_resources_are_every_path_with_get_and_put_in_the_spec() -> None:
    spec = normalise.normalise(normalise.load(spec_source.obtain()))
    from_spec = {path for path, item in spec["paths"].items() if "get" in item and "put" in item}
    assert set(updatable_resources()) == from_spec
    assert len(from_spec) == 10  # the pinned spec: pinned here so a spec change is noticed
    store = updatable_resources()["/stores/{store_id}"]
    assert (store.body_field, store.write_model, store.path_params) == ("store", StoreWrite, ("store_id",))
    assert updatable_resources()["/customers/{customer_id}"].write_model is Customer


# ------------------------------------------------------------------------- fields survive


async def test_a_field_the_caller_never_touched_survives_the_update(cc: CareCloud, server: StandIn) -> None:
    result = await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    stored = server.records["/stores/s1"]
    assert stored["name"] == "Prague 2"
    assert stored["description"] == STORE["description"]  # never named, still there
    assert stored["store_address"] == STORE["store_address"]
    assert result.changed == ("name",)
    assert result.sent


async def test_the_stand_in_does_delete_what_a_partial_put_leaves_out(cc: CareCloud, server: StandIn) -> None:
    # The same change sent the naive way (only the fields one means to change) loses the rest:
    # this is what update_record protects against, and shows the stand-in can tell the difference.
    partial = StoreWrite(store_code="PRG1", name="Prague 2", partner_id="p1", system_id="2375303497")
    await cc.call(put_store.call, "s1", body=PutStoreBody(store=partial))
    assert "description" not in server.records["/stores/s1"]


async def test_nested_dotted_fields_and_the_generated_endpoint_as_the_resource(cc: CareCloud, server: StandIn) -> None:
    result = await update_record(cc, get_customer, "c1", changes={"personal_information.last_name": "Smith"})
    stored = server.records["/customers/c1"]
    assert stored["personal_information"] == {**CUSTOMER["personal_information"], "last_name": "Smith"}
    assert result.changed == ("personal_information.last_name",)
    assert isinstance(result.before, Customer)


async def test_a_function_edits_the_write_model(cc: CareCloud, server: StandIn) -> None:
    def rename(store: StoreWrite) -> None:
        store.name = "Prague 3"

    await update_record(cc, put_store, "s1", changes=rename)
    assert server.records["/stores/s1"]["name"] == "Prague 3"
    assert server.records["/stores/s1"]["description"] == STORE["description"]


async def test_no_change_sends_no_put(cc: CareCloud, server: StandIn) -> None:
    result = await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 1"})
    assert result == RecordUpdate("/stores/{store_id}", result.before, result.record, (), sent=False)
    assert server.puts == []


async def test_body_extras_go_beside_the_record(cc: CareCloud, server: StandIn) -> None:
    await update_record(
        cc, "/customers/{customer_id}", "c1", changes={"personal_information.phone": "420523828931"},
        body_extras={"password": "New-pa55word"},
    )  # fmt: skip
    assert server.puts[-1]["password"] == "New-pa55word"
    assert server.puts[-1]["customer"]["personal_information"]["email"] == "jane@x.cz"


# ------------------------------------------------------------------------- refusals before the PUT


async def test_an_unknown_field_is_refused_with_a_suggestion(cc: CareCloud, server: StandIn) -> None:
    with pytest.raises(UnknownField, match=r"no field 'nmae' \(did you mean 'name'\?\); nothing was sent") as caught:
        await update_record(cc, "/stores/{store_id}", "s1", changes={"nmae": "Prague 2"})
    assert caught.value.suggestions == ("name",)
    with pytest.raises(UnknownField, match="did you mean 'email'") as nested:
        await update_record(cc, "/customers/{customer_id}", "c1", changes={"personal_information.emial": "x@y.cz"})
    assert nested.value.field == "personal_information.emial"

    def misspelt(store: StoreWrite) -> None:
        store.nmae = "Prague 2"  # type: ignore[attr-defined]

    with pytest.raises(UnknownField, match="did you mean 'name'"):
        await update_record(cc, "/stores/{store_id}", "s1", changes=misspelt)
    with pytest.raises(
        RequestValidationError, match=r"does not fit Customer .*personal_information\.language_id is missing"
    ):
        await update_record(cc, "/customers/{customer_id}", "c1", changes={"personal_information": {"email": "x@y.cz"}})
    with pytest.raises(UnknownField, match=r"PUT /customers/\{customer_id\} body has no field 'pasword'"):
        await update_record(cc, "/customers/{customer_id}", "c1", changes={}, body_extras={"pasword": "x"})
    assert server.puts == []
    assert server.records["/stores/s1"] == STORE


async def test_bad_resource_ids_and_options_are_refused_before_anything_is_sent(
    cc: CareCloud, server: StandIn, api: respx.MockRouter
) -> None:
    with pytest.raises(RequestValidationError, match="cannot be updated as a whole record; did you mean '/stores/"):
        await update_record(cc, "/store/{store_id}", "s1", changes={})
    with pytest.raises(RequestValidationError, match=r"needs 1 id\(s\) \(store_id\), got 2"):
        await update_record(cc, "/stores/{store_id}", "s1", "s2", changes={})
    with pytest.raises(RequestValidationError, match="store_id must be a non-empty string"):
        await update_record(cc, "/stores/{store_id}", " ", changes={})
    with pytest.raises(RequestValidationError, match="check must be one of"):
        await update_record(cc, "/stores/{store_id}", "s1", changes={}, check="maybe")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="changes must be a mapping"):
        await update_record(cc, "/stores/{store_id}", "s1", changes=42)  # type: ignore[arg-type]
    assert not [call for call in api.calls if call.request.method != "POST"]


# ------------------------------------------------------------------------- conflicts


async def test_a_record_changed_between_read_and_write_is_a_conflict(cc: CareCloud, server: StandIn) -> None:
    def someone_else_writes_after_our_read(key: str) -> None:
        if server.reads == 1:  # between our read and our re-read, another writer changes the store
            server.records[key] = {**STORE, "manager_name": "Andrew", "last_change": "2026-01-01 11:00:00"}

    server.after_read = someone_else_writes_after_our_read
    with pytest.raises(UpdateConflict, match="changed on the server since it was read") as caught:
        await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    assert caught.value.changed == ("last_change", "manager_name")
    assert server.puts == []
    assert server.records["/stores/s1"]["manager_name"] == "Andrew"  # the other writer's change is kept


async def test_a_write_in_the_same_second_is_a_conflict_too(cc: CareCloud, server: StandIn) -> None:
    # Issue 21, item 3: last_change has one-second resolution; another write within the second
    # leaves it as it was, and comparing it alone would overwrite that write.
    def someone_else_writes_in_the_same_second(key: str) -> None:
        if server.reads == 1:
            server.records[key] = {**STORE, "description": "Renovated in 2026"}  # same last_change

    server.after_read = someone_else_writes_in_the_same_second
    with pytest.raises(UpdateConflict) as caught:
        await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    assert caught.value.changed == ("description",)
    assert server.puts == []
    assert server.records["/stores/s1"]["description"] == "Renovated in 2026"
    # check="last_change" is the timestamp alone, as documented: it lets this one through
    await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"}, check="last_change")
    assert len(server.puts) == 1


async def test_unknown_fields_are_refused_before_the_record_is_read(cc: CareCloud, server: StandIn) -> None:
    # Issue 21, item 3: UnknownField before the GET (as the README says), and a misspelt parent
    # of a dotted name gets its own "did you mean".
    with pytest.raises(UnknownField, match="did you mean 'name'"):
        await update_record(cc, "/stores/{store_id}", "s1", changes={"nmae": "Prague 2"})
    with pytest.raises(
        UnknownField, match=r"no field 'personal_informaton.email' \(did you mean 'personal_information'"
    ) as parent:
        await update_record(cc, "/customers/{customer_id}", "c1", changes={"personal_informaton.email": "x@y.cz"})
    assert parent.value.suggestions == ("personal_information",)
    with pytest.raises(UnknownField, match="did you mean 'city'"):
        await update_record(cc, "/stores/{store_id}", "s1", changes={"store_address.ctiy": "Brno"})
    assert server.reads == 0
    assert server.puts == []


async def test_without_last_change_the_whole_record_is_compared(cc: CareCloud, server: StandIn) -> None:
    server.records["/card-types/t1"] = {"card_type_id": "t1", "name": "Gold", "prefix": "092"}

    def changes_prefix(key: str) -> None:
        server.records[key] = {**server.records[key], "prefix": str(int(server.records[key]["prefix"]) + 1)}

    server.after_read = changes_prefix
    with pytest.raises(UpdateConflict) as caught:
        await update_record(cc, "/card-types/{card_type_id}", "t1", changes={"name": "Platinum"})
    assert caught.value.changed == ("prefix",)
    assert server.reads == 2
    with pytest.raises(RequestValidationError, match="answered no last_change; drop expected_last_change"):
        await update_record(cc, "/card-types/{card_type_id}", "t1", changes={"name": "X"}, expected_last_change="t")
    with pytest.raises(RequestValidationError, match="no last_change to compare; use check='reread'"):
        await update_record(cc, "/card-types/{card_type_id}", "t1", changes={"name": "Platinum"}, check="last_change")
    # check="none" trusts the first read
    await update_record(cc, "/card-types/{card_type_id}", "t1", changes={"name": "Platinum"}, check="none")
    assert server.records["/card-types/t1"]["name"] == "Platinum"


async def test_expected_last_change_refuses_a_record_changed_since_the_caller_saw_it(
    cc: CareCloud, server: StandIn
) -> None:
    with pytest.raises(UpdateConflict):
        await update_record(
            cc, "/stores/{store_id}", "s1", changes={"name": "X"}, expected_last_change="2025-12-31 09:00:00"
        )
    assert server.puts == []
    seen = STORE["last_change"]
    await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "X"}, expected_last_change=seen)
    assert server.records["/stores/s1"]["name"] == "X"


async def test_a_put_body_narrower_than_the_record_gets_only_its_fields(cc: CareCloud, server: StandIn) -> None:
    # PUT /bookings/{id} takes customer_id, booking_status and data: the booking's items, created_at
    # and state are the server's, and are not sent back as unknown fields.
    server.records["/bookings/b1"] = {
        "booking_id": "b1",
        "customer_id": "c1",
        "booking_status": "new",
        "booking_items": [{"time_slot_id": "ts1", "created_at": "2026-01-01 10:00:00"}],
        "created_at": "2026-01-01 10:00:00",
        "last_change": "2026-01-01 10:00:00",
        "state": 1,
    }
    await update_record(cc, "/bookings/{booking_id}", "b1", changes={"booking_status": "confirmed"})
    assert server.puts[-1] == {"booking": {"customer_id": "c1", "booking_status": "confirmed"}}


# ------------------------------------------------------------------------- against Prism


#: A field of each updatable record whose example value can change without breaking the spec.
PRISM_CHANGES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "/bookings/{booking_id}": (("b1",), {"booking_status": "86e05affc7a7abefcd513ab400"}),
    "/cards/{card_id}": (("c1",), {"secondary_card_number": "NEW-2"}),
    "/card-types/{card_type_id}": (("t1",), {"name": "Gold"}),
    "/entrances/{entrance_id}": (("e1",), {"name": "Aquapark"}),
    "/customers/{customer_id}": (("c1",), {"personal_information.last_name": "Johnson"}),
    "/customers/{customer_id}/addresses/{additional_customer_address_id_path}": (
        ("c1", "a1"),
        {"address.city": "Brno"},
    ),
    "/purchases/{purchase_id}": (("p1",), {"external_purchase_id": "B-2"}),
    "/stores/{store_id}": (("s1",), {"name": "Prague 2"}),
    "/tasks/{task_id}": (("t1",), {"task_title": "Call Jane"}),
    "/vouchers/{voucher_id}": (("v1",), {"note": "Spring voucher"}),
}


def test_the_prism_table_covers_every_updatable_resource() -> None:
    assert set(PRISM_CHANGES) == set(updatable_resources())


@pytest.mark.parametrize("path", sorted(PRISM_CHANGES))
async def test_update_record_against_prism(path: str, prism: mock_server.PrismServer) -> None:
    ids, changes = PRISM_CHANGES[path]
    seen: list[httpx.Response] = []

    async def record(response: httpx.Response) -> None:
        seen.append(response)

    async with CareCloud.enterprise(
        prism.root_url,
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="updates@example.com",
        password="prism-password",
        retry=RetryPolicy.disabled(),
    ) as cc:
        cc.http.event_hooks["response"].append(record)
        result = await update_record(cc, path, *ids, changes=changes)
    assert result.sent
    assert result.changed == tuple(changes)
    methods = [(r.request.method, r.status_code) for r in seen if "/actions/login" not in r.request.url.path]
    assert methods == [("GET", 200), ("GET", 200), ("PUT", methods[-1][1])]
    assert 200 <= methods[-1][1] < 300
    assert all("sl-violations" not in r.headers for r in seen), [r.headers.get("sl-violations") for r in seen]
