"""scripts/fake_contract.py: what the pipeline derives from the spec for the shipped fake."""

from __future__ import annotations

import json
from typing import Any

from scripts import fake_contract

SPEC: dict[str, Any] = {
    "paths": {
        "/things/{thing_id}": {
            "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": {
                "operationId": "putThing",
                "parameters": [{"$ref": "#/components/parameters/lang"}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                },
                "responses": {"204": {"description": "done"}},
            },
            "get": {
                "operationId": "getThing",
                "responses": {
                    "200": {
                        "description": "one",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"data": {"$ref": "#/components/schemas/Thing"}},
                                }
                            }
                        },
                    },
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            },
        }
    },
    "components": {
        "parameters": {"lang": {"name": "Accept-Language", "in": "header", "schema": {"type": "string"}}},
        "responses": {"NotFound": {"description": "missing"}},
        "schemas": {
            "Thing": {
                "type": "object",
                "description": "dropped",
                "required": ["name", "kind"],
                "properties": {
                    "name": {"type": "string", "example": "Widget", "description": "dropped"},
                    "kind": {"type": "integer", "enum": [3, 4]},
                    "size": {"type": "number"},
                    "tags": {"type": "array", "items": {"type": "string", "example": "red"}},
                },
            }
        },
    },
}


def test_operations_carry_parameters_body_answers_and_an_example() -> None:
    contract = fake_contract.build(SPEC)
    by_id = {op["operation_id"]: op for op in contract["operations"]}
    put = by_id["putThing"]
    assert [(p["name"], p["in"], p["required"]) for p in put["parameters"]] == [
        ("thing_id", "path", True),  # the path item's parameters come first
        ("Accept-Language", "header", False),
    ]
    assert put["body"] == {"required": True, "schema": {"$ref": "#/components/schemas/Thing"}}
    assert put["example"] == {"status": 204, "body": None}
    get = by_id["getThing"]
    assert get["responses"]["404"] is None
    # The example answer: property examples, one array item, a placeholder for a required field
    # without example; a property with nothing to show is left out.
    assert get["example"] == {"status": 200, "body": {"data": {"name": "Widget", "kind": 3, "tags": ["red"]}}}


def test_schemas_keep_only_what_validation_reads() -> None:
    thing = fake_contract.build(SPEC)["schemas"]["Thing"]
    assert "description" not in thing
    assert thing["properties"]["name"] == {"type": "string"}
    assert thing["required"] == ["name", "kind"]


def test_the_file_is_stable_and_says_it_is_generated() -> None:
    text = fake_contract.render(fake_contract.build(SPEC))
    assert text == fake_contract.render(fake_contract.build(SPEC))
    assert "make generate" in json.loads(text)["_generated"]
