"""Safe whole-record updates (carecloud_async.workflows.updates): read, change, put the whole record.

The shipped fake CareCloud (``carecloud_async.testing``) stores records and replaces them on PUT,
as CareCloud does (a field left out of the body is deleted), with a one-second ``last_change``: it
shows what Prism cannot, that a field the caller never touched survives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customer
from carecloud_api.api.stores import put_store
from carecloud_api.models import Customer, PutStoreBody, StoreWrite
from workflow_clients import enterprise_api, enterprise_client

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from carecloud_async.testing import FakeCareCloud
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


NOW = 1_797_000_000.0  # the fake's clock stands still (fake.advance moves it): writes share a second


class Server(httpx.AsyncBaseTransport):
    """The fake's transport, seeded with the store ``s1`` and the customer ``c1``; counts the
    record reads and runs ``after_read`` after each (another writer, acting between our read and
    our write)."""

    def __init__(self) -> None:
        self.fake = FakeCareCloud(clock=lambda: NOW)
        self.inner = self.fake.transport()
        self.fake.stores.add({k: v for k, v in STORE.items() if k != "last_change"})
        self.fake.customers.add({k: v for k, v in CUSTOMER.items() if k != "last_change"} | {"state": 1})
        self.reads = 0
        self.after_read: Callable[[str], None] = lambda operation: None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        operation = self.fake.received[-1].operation_id
        if operation in ("getStore", "getCustomer", "getCardType"):
            self.reads += 1
            self.after_read(operation)
        return response

    @property
    def puts(self) -> list[dict[str, Any]]:
        return [r.json for r in self.fake.requests() if r.method == "PUT"]

    def store(self) -> dict[str, Any]:
        return self.fake.stores["s1"]

    def write_store(self, **fields: Any) -> None:
        """Another writer's whole-record write of ``s1`` (in the fake's current second)."""
        self.fake.stores.replace("s1", {**copy.deepcopy(self.store()), **fields})


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def cc(server: Server) -> AsyncIterator[CareCloud]:
    async with CareCloud.enterprise(
        "fake.carecloud.test",
        user_external_application_id="fake-app",
        login="pos@example.com",
        password="fake-password",
        retry=RetryPolicy.disabled(),
        transport=server,
    ) as client:
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


async def test_a_field_the_caller_never_touched_survives_the_update(cc: CareCloud, server: Server) -> None:
    result = await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    stored = server.store()
    assert stored["name"] == "Prague 2"
    assert stored["description"] == STORE["description"]  # never named, still there
    assert stored["store_address"] == STORE["store_address"]
    assert result.changed == ("name",)
    assert result.sent


async def test_the_stand_in_does_delete_what_a_partial_put_leaves_out(cc: CareCloud, server: Server) -> None:
    # The same change sent the naive way (only the fields one means to change) loses the rest:
    # this is what update_record protects against, and shows the stand-in can tell the difference.
    partial = StoreWrite(store_code="PRG1", name="Prague 2", partner_id="p1", system_id="2375303497")
    await cc.call(put_store.call, "s1", body=PutStoreBody(store=partial))
    assert "description" not in server.store()


async def test_nested_dotted_fields_and_the_generated_endpoint_as_the_resource(cc: CareCloud, server: Server) -> None:
    result = await update_record(cc, get_customer, "c1", changes={"personal_information.last_name": "Smith"})
    stored = server.fake.customers["c1"]
    assert stored["personal_information"] == {**CUSTOMER["personal_information"], "last_name": "Smith"}
    assert result.changed == ("personal_information.last_name",)
    assert isinstance(result.before, Customer)


async def test_a_function_edits_the_write_model(cc: CareCloud, server: Server) -> None:
    def rename(store: StoreWrite) -> None:
        store.name = "Prague 3"

    await update_record(cc, put_store, "s1", changes=rename)
    assert server.store()["name"] == "Prague 3"
    assert server.store()["description"] == STORE["description"]


async def test_no_change_sends_no_put(cc: CareCloud, server: Server) -> None:
    result = await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 1"})
    assert result == RecordUpdate("/stores/{store_id}", result.before, result.record, (), sent=False)
    assert server.puts == []


async def test_body_extras_go_beside_the_record(cc: CareCloud, server: Server) -> None:
    await update_record(
        cc, "/customers/{customer_id}", "c1", changes={"personal_information.phone": "420523828931"},
        body_extras={"password": "New-pa55word"},
    )  # fmt: skip
    assert server.puts[-1]["password"] == "New-pa55word"
    assert server.puts[-1]["customer"]["personal_information"]["email"] == "jane@x.cz"


# ------------------------------------------------------------------------- refusals before the PUT


async def test_an_unknown_field_is_refused_with_a_suggestion(cc: CareCloud, server: Server) -> None:
    before = copy.deepcopy(server.store())
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
    assert server.store() == before


async def test_bad_resource_ids_and_options_are_refused_before_anything_is_sent(cc: CareCloud, server: Server) -> None:
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
    assert [r.operation_id for r in server.fake.requests()] == []  # not even the login


# ------------------------------------------------------------------------- conflicts


async def test_a_record_changed_between_read_and_write_is_a_conflict(cc: CareCloud, server: Server) -> None:
    def someone_else_writes_after_our_read(operation: str) -> None:
        if server.reads == 1:  # between our read and our re-read, another writer changes the store
            server.fake.advance(1)  # a second later: last_change moves on
            server.write_store(manager_name="Andrew")

    server.after_read = someone_else_writes_after_our_read
    with pytest.raises(UpdateConflict, match="changed on the server since it was read") as caught:
        await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    assert caught.value.changed == ("last_change", "manager_name")
    assert server.puts == []
    assert server.store()["manager_name"] == "Andrew"  # the other writer's change is kept


async def test_a_write_in_the_same_second_is_a_conflict_too(cc: CareCloud, server: Server) -> None:
    # Issue 21, item 3: last_change has one-second resolution; another write within the second
    # leaves it as it was, and comparing it alone would overwrite that write.
    def someone_else_writes_in_the_same_second(operation: str) -> None:
        if server.reads == 1:
            seen = server.store()["last_change"]
            server.write_store(description="Renovated in 2026")
            assert server.store()["last_change"] == seen  # one-second resolution: unchanged

    server.after_read = someone_else_writes_in_the_same_second
    with pytest.raises(UpdateConflict) as caught:
        await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"})
    assert caught.value.changed == ("description",)
    assert server.puts == []
    assert server.store()["description"] == "Renovated in 2026"
    # check="last_change" is the timestamp alone, as documented: it lets this one through
    await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "Prague 2"}, check="last_change")
    assert len(server.puts) == 1


async def test_unknown_fields_are_refused_before_the_record_is_read(cc: CareCloud, server: Server) -> None:
    # Issue 21, item 3: UnknownField before the GET (as the workflows guide says), and a misspelt parent
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


async def test_without_last_change_the_whole_record_is_compared(cc: CareCloud, server: Server) -> None:
    card_type = server.fake.cards.types.add({"card_type_id": "t1", "name": "Gold", "prefix": "092"})

    def changes_prefix(operation: str) -> None:
        server.fake.cards.types.replace("t1", {**card_type, "prefix": str(int(card_type["prefix"]) + 1)})

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
    assert server.fake.cards.types["t1"]["name"] == "Platinum"


async def test_expected_last_change_refuses_a_record_changed_since_the_caller_saw_it(
    cc: CareCloud, server: Server
) -> None:
    with pytest.raises(UpdateConflict):
        await update_record(
            cc, "/stores/{store_id}", "s1", changes={"name": "X"}, expected_last_change="2025-12-31 09:00:00"
        )
    assert server.puts == []
    seen = server.store()["last_change"]
    await update_record(cc, "/stores/{store_id}", "s1", changes={"name": "X"}, expected_last_change=seen)
    assert server.store()["name"] == "X"


async def test_a_put_body_narrower_than_the_record_gets_only_its_fields() -> None:
    # PUT /bookings/{id} takes customer_id, booking_status and data: the booking's items, created_at
    # and state are the server's, and are not sent back as unknown fields. (One scripted exchange:
    # the exact body sent; the fake keeps no bookings.)
    booking = {
        "booking_id": "b1",
        "customer_id": "c1",
        "booking_status": "new",
        "booking_items": [{"time_slot_id": "ts1", "created_at": "2026-01-01 10:00:00"}],
        "created_at": "2026-01-01 10:00:00",
        "last_change": "2026-01-01 10:00:00",
        "state": 1,
    }
    with enterprise_api() as api:
        api.get("/bookings/b1").respond(200, json={"data": booking})
        put = api.put("/bookings/b1").respond(204)
        async with enterprise_client() as cc:
            await update_record(cc, "/bookings/{booking_id}", "b1", changes={"booking_status": "confirmed"})
    assert put.call_count == 1
    assert json.loads(put.calls[0].request.content) == {"booking": {"customer_id": "c1", "booking_status": "confirmed"}}


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
