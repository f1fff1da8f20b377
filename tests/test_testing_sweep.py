"""Every one of the spec's 322 operations, sent to the fake with a minimal valid request: the
request passes the fake's validation (the validator and the spec agree on what is valid), and the
answer, stateful or the spec's example, fits the spec (the fake checks each answer it builds and
raises FakeAnswerInvalid otherwise). Ids in paths and bodies name records seeded beforehand, so
the stateful operations answer from state (success), not just 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from carecloud_async.testing import FakeCareCloud
from carecloud_async.testing._contract import Contract, ContractOperation

BASE = "https://fake.carecloud.test/webservice/rest-api/{interface}-interface/v1.0"
CONTRACT = Contract.load()


def minimal(schema: Any, depth: int = 0, ids: dict[str, str] | None = None, name: str = "") -> Any:
    """The smallest value that fits ``schema`` in a request (required, writable fields only); a
    string field named like a seeded record's id gets that id."""
    ids = ids or {}
    while isinstance(schema, dict) and "$ref" in schema:
        schema = CONTRACT.schemas[schema["$ref"].rsplit("/", 1)[1]]
    if not isinstance(schema, dict) or depth > 20:
        return None
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return minimal(schema[key][0], depth + 1, ids, name)
    if schema.get("enum"):
        return schema["enum"][0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(minimal(part, depth + 1, ids) or {})
        return merged
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        props = schema.get("properties") or {}
        value = {}
        for field in schema.get("required") or ():
            prop = props.get(field, {})
            while isinstance(prop, dict) and "$ref" in prop:
                prop = CONTRACT.schemas[prop["$ref"].rsplit("/", 1)[1]]
            if not (isinstance(prop, dict) and prop.get("readOnly")):
                value[field] = minimal(prop, depth + 1, ids, field)
        return value
    if kind == "array":
        return [minimal(schema.get("items"), depth + 1, ids) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if name in ids:
            return ids[name]
        pattern = schema.get("pattern", "")
        return "jane@example.com" if "@" in pattern else "1" if pattern else "x"
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return None


def request_for(op: ContractOperation, ids: dict[str, str]) -> tuple[str, str, dict[str, Any], Any]:
    interface = "enterprise" if "enterprise" in op.interfaces else "customer"
    path = op.path
    params: dict[str, Any] = {}
    for param in op.parameters:
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", ids.get(param["name"], "x"))
        elif param["in"] == "query" and param["required"]:
            params[param["name"]] = minimal(param["schema"], ids=ids, name=param["name"])
    body = minimal(op.body["schema"], ids=ids) if op.body and op.body["required"] else None
    return interface, path, params, body


def seeded() -> tuple[FakeCareCloud, dict[str, str]]:
    """A fake holding one record of each stateful resource, and their ids by field name."""
    fake = FakeCareCloud()
    customer = fake.customers.create(email="jane@example.com", password="pw")
    cid = customer["customer_id"]
    card_type = fake.cards.create_type()
    fake.cards.create(card_type_id=card_type["card_type_id"], card_number="1")  # a free card
    card = fake.cards.create(card_type_id=fake.cards.create_type("Other", "2")["card_type_id"], customer_id=cid)
    ids = {
        "customer_id": cid,
        "card_id": card["card_id"],
        "card_type_id": card_type["card_type_id"],
        "store_id": fake.stores.create()["store_id"],
        "voucher_id": fake.vouchers.add({"customer_id": cid, "code": "V1"})["voucher_id"],
        "point_id": fake.points.grant(cid, 10)["point_id"],
        "credit_id": fake.credits.grant(cid, 10)["credit_id"],
        "event_id": fake.events.add({"event_type_id": "t", "external_id": "e", "customer_id": cid})["event_id"],
        "property_record_id": fake.property_records.add({"property_id": "p", "customer_id": cid})["property_record_id"],
        "interest_record_id": fake.interest_records.add({"interest_id": "i", "customer_id": cid})["interest_record_id"],
    }
    return fake, ids


async def _token(http: httpx.AsyncClient, interface: str, ids: dict[str, str]) -> str:
    if interface == "enterprise":
        login = {"user_external_application_id": "fake-app", "login": "pos@example.com", "password": "fake-password"}
        answer = await http.post(f"{BASE.format(interface='enterprise')}/users/actions/login", json=login)
        return str(answer.json()["data"]["bearer_token"])
    device = {"device_id": "sweep", "device_system": "x", "device_name": "x", "device_type": "x"}
    setup = {"language_id": "en", "allowed_gps": False, "allowed_notifications": False}
    answer = await http.post(
        f"{BASE.format(interface='customer')}/tokens",
        json={"device": device, "setup": setup, "external_application_id": "sweep"},
    )
    token_id = str(answer.json()["data"]["token_id"])
    login = {"login_type": "email", "login_value": "jane@example.com", "password": "pw"}
    logged_in = await http.post(
        f"{BASE.format(interface='customer')}/tokens/{token_id}/actions/login",
        json=login,
        headers={"Authorization": f"Bearer {token_id}"},
    )
    assert logged_in.json()["data"]["customer_id"] == ids["customer_id"]
    ids["token_id"] = token_id
    return token_id


@pytest.mark.parametrize("operation_id", [op.operation_id for op in CONTRACT.operations])
async def test_the_operation_answers_a_minimal_valid_request_within_the_spec(operation_id: str) -> None:
    op = CONTRACT.operation(operation_id)
    fake, ids = seeded()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        interface = "enterprise" if "enterprise" in op.interfaces else "customer"
        headers = {"Authorization": f"Bearer {await _token(http, interface, ids)}"}
        interface, path, params, body = request_for(op, ids)
        answer = await http.request(
            op.method, BASE.format(interface=interface) + path, params=params or None, json=body, headers=headers
        )
    assert str(answer.status_code) in op.responses, answer.text
    assert answer.status_code < 500
    assert fake.violations == []
    assert fake.requests(operation_id)[-1].status == answer.status_code
