"""scripts/request_constraints.py: the table of the spec's bounds the client checks before sending."""

from __future__ import annotations

import importlib
import types
import typing
from typing import Any

import attrs
from carecloud_api._constraints import CONSTRAINTS

from carecloud_async._type_hints import type_hints
from scripts import request_constraints

EMAIL = "^[-a-z0-9]+@[a-z0-9]+\\.[a-z]+$"
SPEC: dict[str, Any] = {
    "paths": {
        "/things": {
            "get": {
                "operationId": "getThings",
                "parameters": [
                    {"$ref": "#/components/parameters/count"},
                    {"name": "ids[]", "in": "query", "schema": {"type": "array", "maxItems": 50, "items": {}}},
                ],
            },
            "post": {
                "operationId": "postThings",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "things": {
                                        "type": "array",
                                        "maxItems": 1000,
                                        "items": {"$ref": "#/components/schemas/Thing"},
                                    }
                                },
                            }
                        }
                    }
                },
            },
        }
    },
    "components": {
        "parameters": {"count": {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1}}},
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {
                    "email": {"type": "string", "pattern": EMAIL},
                    "phone": {"type": "string", "pattern": "^[0-9]+$", "maxLength": 15},
                    "type": {"type": "string", "minLength": 1},  # a keyword: ``type_`` in Python
                    "value": {"oneOf": [{"type": "string", "maxLength": 9}, {"type": "array", "maxItems": 3}]},
                    "either": {"oneOf": [{"type": "string", "maxLength": 9}, {"type": "string", "maxLength": 5}]},
                    "parent": {"$ref": "#/components/schemas/Thing"},  # contains itself
                },
            }
        },
    },
}


def rules(method: str) -> dict[tuple[str, ...], dict[str, Any]]:
    item = SPEC["paths"]["/things"]
    return request_constraints.operation_rules(SPEC, item, item[method])


def test_parameters_take_their_python_names_and_keep_their_bounds() -> None:
    assert rules("get") == {("count",): {"minimum": 1}, ("ids",): {"max_items": 50}}


def test_a_body_is_walked_through_refs_lists_and_one_of() -> None:
    found = rules("post")
    assert found[("body", "things")] == {"max_items": 1000}
    assert found[("body", "things", "[]", "email")] == {"pattern": EMAIL, "ignore_case": True}
    assert found[("body", "things", "[]", "phone")] == {"pattern": "^[0-9]+$", "max_length": 15}
    assert found[("body", "things", "[]", "type_")] == {"min_length": 1}
    # A oneOf of a string and a list: one rule, each keyword applying to its own kind of value.
    assert found[("body", "things", "[]", "value")] == {"max_length": 9, "max_items": 3}
    # Two forms disagreeing on a keyword: it is left out (the server decides), not the stricter kept.
    assert ("body", "things", "[]", "either") not in found
    # A schema containing itself is walked once more under its own name, then stops.
    assert ("body", "things", "[]", "parent", "email") not in found


def test_the_rendered_table_is_python_stable_and_shares_repeated_rules() -> None:
    table: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
        "m.get": rules("get"),
        "m.post": rules("post"),
        "m.other": {("count",): {"minimum": 1}},
    }
    text = request_constraints.render(table)
    assert text == request_constraints.render(table)
    assert text.count("Constraint(('count',), minimum=1)") == 1  # written once, used twice
    namespace: dict[str, Any] = {}
    exec(compile(text, "_constraints.py", "exec"), namespace)  # noqa: S102 (our own generated text)
    loaded = namespace["CONSTRAINTS"]
    assert loaded["m.get"] == loaded["m.other"][:1] + loaded["m.get"][1:]
    email = next(c for c in loaded["m.post"] if c.path[-1] == "email")
    assert (email.pattern, email.ignore_case) == (EMAIL, True)


def test_only_the_email_pattern_is_applied_ignoring_case() -> None:
    assert request_constraints.applied_pattern(EMAIL) == f"(?i){EMAIL}"
    assert request_constraints.applied_pattern("^[1-9][0-9]*$") == "^[1-9][0-9]*$"


def _resolves(annotation: Any, rest: tuple[str, ...]) -> bool:
    if not rest:
        return True
    segment, tail = rest[0], rest[1:]
    union = isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
    for member in typing.get_args(annotation) if union else (annotation,):
        if segment == "[]":
            if typing.get_origin(member) is list and _resolves(typing.get_args(member)[0], tail):
                return True
        elif isinstance(member, type) and attrs.has(member):
            fields = {field.name for field in attrs.fields(member)}
            if segment in fields and _resolves(type_hints(member)[segment], tail):
                return True
    return False


def test_every_path_of_the_generated_table_reaches_a_generated_parameter_or_field() -> None:
    # The names come from the spec through python_name(); the generated code must agree, or the
    # check would look for an attribute that is not there and pass everything.
    unresolved = []
    for module, constraints in CONSTRAINTS.items():
        function = importlib.import_module(module).call
        hints = typing.get_type_hints(function)
        for constraint in constraints:
            first, rest = constraint.path[0], constraint.path[1:]
            if first not in hints or not _resolves(hints[first], rest):
                unresolved.append((module, constraint.path))
    assert unresolved == []
    assert sum(len(constraints) for constraints in CONSTRAINTS.values()) > 300
