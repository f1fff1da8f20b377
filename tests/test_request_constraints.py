"""scripts/request_constraints.py: the table of the spec's bounds the client checks before sending."""

from __future__ import annotations

import copy
import importlib
import types
import typing
from pathlib import Path
from typing import Any

import attrs
from carecloud_api._constraints import CONSTRAINTS

from carecloud_async._type_hints import type_hints
from scripts import fake_contract, request_constraints

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
                    # Forms without the keyword take values it would refuse: it is not checked.
                    "when": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "format": "date-time"}]},
                    "any": {"anyOf": [{"type": "string", "maxLength": 5}, {}]},
                    "nested": {
                        "oneOf": [
                            {"type": "object", "properties": {"code": {"type": "string", "maxLength": 4}}},
                            {"type": "object"},
                        ]
                    },
                    # ... unless they admit no value of the keyword's kind there.
                    "kinds": {
                        "oneOf": [
                            {"type": "object", "properties": {"code": {"type": "string", "maxLength": 4}}},
                            {"type": "string", "minLength": 2},
                            {"type": "integer", "minimum": 0},
                            {"type": "number", "minimum": 0},
                        ]
                    },
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
    # A keyword one form has and another form of the same kind lacks: left out (the other form
    # takes any length), as the client must not refuse what the spec allows.
    assert ("body", "things", "[]", "when") not in found
    assert ("body", "things", "[]", "any") not in found
    assert ("body", "things", "[]", "nested", "code") not in found
    assert found[("body", "things", "[]", "kinds")] == {"min_length": 2, "minimum": 0}
    assert found[("body", "things", "[]", "kinds", "code")] == {"max_length": 4}
    # A schema containing itself is walked once more under its own name, then stops.
    assert ("body", "things", "[]", "parent", "email") not in found


def test_an_operations_parameter_replaces_the_paths_of_the_same_name_and_location() -> None:
    # OpenAPI: a path-level parameter "can be overridden at the operation level". The operation's
    # count has no minimum, so none is checked, and the fake's contract keeps only its definition.
    spec = copy.deepcopy(SPEC)
    item = spec["paths"]["/things"]
    item["parameters"] = [
        {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "count", "in": "header", "schema": {"type": "integer", "maximum": 9}},  # another location
    ]
    item["get"]["parameters"][0] = {"name": "count", "in": "query", "schema": {"type": "integer"}}
    found = request_constraints.operation_rules(spec, item, item["get"])
    assert found == {("count",): {"maximum": 9}, ("ids",): {"max_items": 50}}
    operation = next(op for op in fake_contract.build(spec)["operations"] if op["operation_id"] == "getThings")
    assert [(p["name"], p["in"], p["schema"]) for p in operation["parameters"]] == [
        ("count", "header", {"type": "integer", "maximum": 9}),
        ("count", "query", {"type": "integer"}),
        ("ids[]", "query", {"type": "array", "maxItems": 50, "items": {}}),
    ]
    # Without the operation's own definition, the path's applies.
    del item["get"]["parameters"][0]
    assert request_constraints.operation_rules(spec, item, item["get"])[("count",)] == {"minimum": 1, "maximum": 9}


def test_the_rendered_table_is_python_stable_and_shares_repeated_rules() -> None:
    table: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
        "m.get": rules("get"),
        "m.post": rules("post"),
        "m.other": {("count",): {"minimum": 1}},
    }
    text = request_constraints.render(table)
    # Stable: the order rules are found in does not change the text (their names are sorted).
    reordered = {module: dict(reversed(rules.items())) for module, rules in table.items()}
    assert request_constraints.render(reordered) == text
    assert text.count("Constraint(('count',), minimum=1)") == 1  # written once, used twice
    namespace: dict[str, Any] = {}
    exec(compile(text, "_constraints.py", "exec"), namespace)  # noqa: S102 (our own generated text)
    loaded = namespace["CONSTRAINTS"]
    assert loaded["m.get"] == loaded["m.other"][:1] + loaded["m.get"][1:]
    email = next(c for c in loaded["m.post"] if c.path[-1] == "email")
    assert (email.pattern, email.ignore_case) == (EMAIL, True)


def test_the_committed_table_is_what_the_pinned_spec_gives(spec: dict[str, Any]) -> None:
    # (`make generate` formats the text and puts a note on top: the tables are compared.)
    package = Path(request_constraints.__file__).resolve().parents[1] / "generated" / "carecloud_api"
    namespace: dict[str, Any] = {}
    text = request_constraints.render(request_constraints.build(spec, package))
    exec(compile(text, "_constraints.py", "exec"), namespace)  # noqa: S102 (our own generated text)
    assert namespace["CONSTRAINTS"] == CONSTRAINTS
    assert list(namespace["CONSTRAINTS"]) == list(CONSTRAINTS)  # spec order


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
