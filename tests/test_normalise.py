"""The normaliser (scripts/normalise.py): every pass on small synthetic specs, then the real one.

Each pass gets a spec that has its defect (the exact fix and the Report entry are asserted) and a
spec without it (left exactly as it was, nothing reported). The pinned vendor spec then proves the
figures of DESIGN 1b: determinism, no mutation of the input, the bracketed array filters, the
resolved alias, the renamed Task enum, the hoisted login and error bodies, the dropped header
default and the single ``SortDirection``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import normalise, spec_source
from scripts.normalise import Report, Spec

REF = "#/components/schemas/"
Pass = Callable[[Spec, Report], None]


# --------------------------------------------------------------------------- helpers


def run(pass_: Pass, spec: Spec) -> tuple[Spec, dict[str, list[str]]]:
    """Run one pass on a copy of ``spec``; return the result and the report's changes."""
    result = copy.deepcopy(spec)
    report = Report()
    pass_(result, report)
    return result, dict(report.changes)


def assert_unchanged(pass_: Pass, spec: Spec) -> None:
    result, changes = run(pass_, spec)
    assert result == spec
    assert normalise.dump(result) == normalise.dump(spec)
    assert changes == {}


def op(*parameters: dict[str, Any], responses: dict[str, Any] | None = None, op_id: str = "") -> dict[str, Any]:
    operation: dict[str, Any] = {"parameters": list(parameters), "responses": responses or {"204": {}}}
    if op_id:
        operation["operationId"] = op_id
    return operation


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def spec_of(
    paths: dict[str, Any] | None = None,
    schemas: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
) -> Spec:
    components: dict[str, Any] = {"schemas": schemas or {}}
    if parameters is not None:
        components["parameters"] = parameters
    if responses is not None:
        components["responses"] = responses
    return {
        "openapi": "3.0.2",
        "info": {"title": "t", "version": "1"},
        "paths": paths or {},
        "components": components,
    }


def all_refs(node: Any) -> list[str]:
    found: list[str] = []

    def visit(mapping: dict[str, Any]) -> None:
        ref = mapping.get("$ref")
        if isinstance(ref, str):
            found.append(ref)

    normalise.walk(node, visit)
    return found


# --------------------------------------------------------------------------- fill_array_items


def test_fill_array_items_gives_bare_arrays_any_items() -> None:
    spec = spec_of(
        schemas={
            "BadRequestErrorBody": {
                "type": "object",
                "properties": {
                    "name": {"oneOf": [{"type": "string"}, {"type": "array"}]},
                    # A property *named* "items" (a name, not the keyword) that is itself a bare array.
                    "items": {"type": "array", "description": "d"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        }
    )
    result, changes = run(normalise.fill_array_items, spec)
    properties = result["components"]["schemas"]["BadRequestErrorBody"]["properties"]
    assert properties["name"] == {"oneOf": [{"type": "string"}, {"type": "array", "items": {}}]}
    assert properties["items"] == {"type": "array", "description": "d", "items": {}}
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert changes == {
        "fill_array_items": [
            "/components/schemas/BadRequestErrorBody/properties/name/oneOf/1",
            "/components/schemas/BadRequestErrorBody/properties/items",
        ]
    }


def test_fill_array_items_leaves_typed_arrays_and_data_alone() -> None:
    spec = spec_of(
        paths={"/a": {"get": op(query("ids", {"type": "array", "items": {"type": "string"}}))}},
        schemas={
            "Thing": {
                "type": "object",
                "properties": {"list": {"type": "array", "items": {}}},
                # Examples, defaults and enums are data: a {"type": "array"} in them is not a schema.
                "example": {"type": "array"},
                "default": {"type": "array"},
                "enum": [{"type": "array"}],
            }
        },
    )
    assert_unchanged(normalise.fill_array_items, spec)


# --------------------------------------------------------------------------- resolve_schema_aliases


def alias_spec() -> Spec:
    return spec_of(
        paths={"/customers": {"get": op(responses={"200": json_body({"$ref": REF + "Customer"})})}},
        schemas={
            "CustomerType": {"type": "object", "properties": {"customer_type_id": {"type": "string"}}},
            "Customer": {
                "type": "object",
                "properties": {
                    "type": {"$ref": REF + "Customer-type"},
                    "types": {"type": "array", "items": {"$ref": REF + "Customer-type"}},
                },
            },
            "Customer-type": {"$ref": REF + "CustomerType"},
        },
    )


def test_resolve_schema_aliases_points_users_at_the_target_and_drops_the_alias() -> None:
    result, changes = run(normalise.resolve_schema_aliases, alias_spec())
    schemas = result["components"]["schemas"]
    assert list(schemas) == ["CustomerType", "Customer"]
    assert schemas["Customer"]["properties"]["type"] == {"$ref": REF + "CustomerType"}
    assert schemas["Customer"]["properties"]["types"]["items"] == {"$ref": REF + "CustomerType"}
    assert REF + "Customer-type" not in all_refs(result)
    assert changes == {"resolve_schema_aliases": ["Customer-type -> CustomerType"]}


def test_resolve_schema_aliases_follows_a_chain_of_aliases() -> None:
    spec = spec_of(
        schemas={
            "Target": {"type": "object"},
            "Middle": {"$ref": REF + "Target"},
            "Outer": {"$ref": REF + "Middle"},
            "User": {
                "type": "object",
                "properties": {"a": {"$ref": REF + "Outer"}, "b": {"$ref": REF + "Middle"}},
            },
        }
    )
    result, changes = run(normalise.resolve_schema_aliases, spec)
    assert list(result["components"]["schemas"]) == ["Target", "User"]
    assert result["components"]["schemas"]["User"]["properties"] == {
        "a": {"$ref": REF + "Target"},
        "b": {"$ref": REF + "Target"},
    }
    assert changes == {"resolve_schema_aliases": ["Middle -> Target", "Outer -> Target"]}


def test_resolve_schema_aliases_follows_a_chain_declared_outer_first() -> None:
    # Regression: the alias of an alias declared *before* its target alias used to be rewritten
    # to the intermediate alias, which was then deleted (a dangling $ref).
    spec = spec_of(
        schemas={
            "Outer": {"$ref": REF + "Middle"},
            "Middle": {"$ref": REF + "Target"},
            "Target": {"type": "object"},
            "User": {"type": "object", "properties": {"a": {"$ref": REF + "Outer"}}},
        }
    )
    result, changes = run(normalise.resolve_schema_aliases, spec)
    assert list(result["components"]["schemas"]) == ["Target", "User"]
    assert result["components"]["schemas"]["User"]["properties"] == {"a": {"$ref": REF + "Target"}}
    assert changes == {"resolve_schema_aliases": ["Outer -> Target", "Middle -> Target"]}


def test_resolve_schema_aliases_leaves_a_spec_without_aliases_alone() -> None:
    spec = alias_spec()
    del spec["components"]["schemas"]["Customer-type"]
    spec["components"]["schemas"]["Customer"]["properties"] = {"type": {"$ref": REF + "CustomerType"}}
    # A schema with a $ref *and* other keys is not a bare alias.
    spec["components"]["schemas"]["Described"] = {"$ref": REF + "CustomerType", "description": "kept"}
    assert_unchanged(normalise.resolve_schema_aliases, spec)


# --------------------------------------------------------------------------- rename_clashing_schemas


def test_rename_clashing_schemas_numbers_the_later_one_and_rewrites_its_refs() -> None:
    spec = spec_of(
        schemas={
            "Foo-bar": {"type": "object", "properties": {"a": {"type": "string"}}},
            "FooBar": {"type": "object", "properties": {"b": {"type": "string"}}},
            "User": {
                "type": "object",
                "properties": {"first": {"$ref": REF + "Foo-bar"}, "second": {"$ref": REF + "FooBar"}},
            },
        }
    )
    result, changes = run(normalise.rename_clashing_schemas, spec)
    schemas = result["components"]["schemas"]
    assert list(schemas) == ["Foo-bar", "FooBar2", "User"]  # order kept, renamed in place
    assert schemas["FooBar2"] == {"type": "object", "properties": {"b": {"type": "string"}}}
    assert schemas["User"]["properties"] == {
        "first": {"$ref": REF + "Foo-bar"},
        "second": {"$ref": REF + "FooBar2"},
    }
    assert changes == {"rename_clashing_schemas": ["FooBar -> FooBar2"]}


def test_rename_clashing_schemas_leaves_distinct_names_alone() -> None:
    spec = spec_of(
        schemas={
            "Foo": {"type": "object"},
            "FooBar": {"type": "object"},
            "User": {"type": "object", "properties": {"a": {"$ref": REF + "FooBar"}}},
        }
    )
    assert_unchanged(normalise.rename_clashing_schemas, spec)


# --------------------------------------------------------------------------- hoist_response_schemas

UNAUTHORIZED_BODY = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"message": {"type": "string"}}}},
}


def error_responses_spec() -> Spec:
    return spec_of(
        paths={
            "/a": {"get": op(responses={"401": {"$ref": "#/components/responses/Unauthorized"}})},
            "/b": {"get": op(responses={"500": {"$ref": "#/components/responses/InternalServerError"}})},
        },
        schemas={"BadRequestErrorBody": {"type": "object"}},
        responses={
            "BadRequest": json_body({"$ref": REF + "BadRequestErrorBody"}, "Bad request"),
            "Unauthorized": json_body(copy.deepcopy(UNAUTHORIZED_BODY), "Unauthorized"),
            "InternalServerError": json_body({"type": "object", "properties": {"code": {"type": "integer"}}}),
            "TooManyRequests": {"description": "Too many requests"},
        },
    )


def test_hoist_response_schemas_moves_inline_error_bodies_to_named_schemas() -> None:
    result, changes = run(normalise.hoist_response_schemas, error_responses_spec())
    schemas = result["components"]["schemas"]
    responses = result["components"]["responses"]
    assert list(schemas) == ["BadRequestErrorBody", "UnauthorizedErrorBody", "InternalServerErrorBody"]
    assert schemas["UnauthorizedErrorBody"] == UNAUTHORIZED_BODY
    assert schemas["InternalServerErrorBody"] == {
        "type": "object",
        "properties": {"code": {"type": "integer"}},
    }
    assert responses["Unauthorized"]["content"]["application/json"]["schema"] == {"$ref": REF + "UnauthorizedErrorBody"}
    assert responses["InternalServerError"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "InternalServerErrorBody"
    }
    assert responses["BadRequest"] == error_responses_spec()["components"]["responses"]["BadRequest"]
    assert responses["TooManyRequests"] == {"description": "Too many requests"}
    assert result["paths"] == error_responses_spec()["paths"]  # operations still use the responses
    assert changes == {
        "hoist_response_schemas": [
            "responses/Unauthorized -> schemas/UnauthorizedErrorBody",
            "responses/InternalServerError -> schemas/InternalServerErrorBody",
        ]
    }


def test_hoist_response_schemas_does_not_overwrite_an_existing_schema() -> None:
    spec = error_responses_spec()
    spec["components"]["schemas"]["UnauthorizedErrorBody"] = {"type": "string"}
    result, changes = run(normalise.hoist_response_schemas, spec)
    schemas = result["components"]["schemas"]
    assert schemas["UnauthorizedErrorBody"] == {"type": "string"}
    assert schemas["UnauthorizedErrorBody2"] == UNAUTHORIZED_BODY
    assert changes["hoist_response_schemas"][0] == "responses/Unauthorized -> schemas/UnauthorizedErrorBody2"


def test_hoist_response_schemas_leaves_referenced_bodies_alone() -> None:
    spec = error_responses_spec()
    responses = spec["components"]["responses"]
    del responses["Unauthorized"], responses["InternalServerError"]
    assert_unchanged(normalise.hoist_response_schemas, spec)


# --------------------------------------------------------------------------- retype_array_syntax_params

HINT = "The unique IDs of rewards. Use array syntax: `reward_id[]=a&reward_id[]=b`."


def test_retype_array_syntax_params_makes_hinted_strings_arrays() -> None:
    spec = spec_of(
        paths={
            "/rewards": {
                "get": op(
                    query("reward_id", {"type": "string"}, HINT),
                    query("code", {"type": "string"}, "Code of the reward."),
                    {"name": "X-Note", "in": "header", "schema": {"type": "string"}, "description": HINT},
                )
            }
        },
        parameters={"text_id": query("text_id", {"type": "string", "example": "a"}, "Use ARRAY SYNTAX here.")},
    )
    result, changes = run(normalise.retype_array_syntax_params, spec)
    parameters = result["paths"]["/rewards"]["get"]["parameters"]
    # One value or several: a string (sent as reward_id=x, the spec's type) or a list (reward_id[]=...)
    assert parameters[0]["schema"]["oneOf"] == [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    note = "One value (a string) is sent as `reward_id=x`"
    assert parameters[0]["description"].startswith(HINT + "\n\n" + note)
    assert parameters[0]["schema"]["description"].startswith(note)  # the generator's docstrings read it there
    assert parameters[1] == spec["paths"]["/rewards"]["get"]["parameters"][1]
    assert parameters[2] == spec["paths"]["/rewards"]["get"]["parameters"][2]  # a header: left alone
    assert result["components"]["parameters"]["text_id"]["schema"]["oneOf"] == [
        {"type": "string", "example": "a"},
        {"type": "array", "items": {"type": "string", "example": "a"}},
    ]
    assert "`text_id[]=a&text_id[]=b`" in result["components"]["parameters"]["text_id"]["description"]
    # Shared components come first (iter_parameters), then inline ones.
    assert changes == {"retype_array_syntax_params": ["text_id", "reward_id"]}


def test_retype_array_syntax_params_leaves_other_params_alone() -> None:
    spec = spec_of(
        paths={
            "/rewards": {
                "get": op(
                    query("code", {"type": "string"}, "Code of the reward."),
                    query("reward_ids", {"type": "array", "items": {"type": "string"}}, HINT),  # already one
                    query("count", {"type": "integer"}, "Mentions array syntax but is an integer."),
                )
            }
        }
    )
    assert_unchanged(normalise.retype_array_syntax_params, spec)


# --------------------------------------------------------------------------- hoist_parameter_enums

SORT = {"type": "string", "enum": ["ASC", "DESC"]}


def enum_paths(*, reverse: bool = False) -> dict[str, Any]:
    paths = {
        "/customers": {
            "get": op(
                query("sort_direction", dict(SORT)),
                query("state", {"type": "integer", "enum": [0, 1]}),
                op_id="getCustomers",
            )
        },
        "/rewards": {
            "get": op(
                query("sort_direction", dict(SORT)),
                query("state", {"type": "integer", "enum": [0, 1, 2]}),
                query("states", {"type": "array", "items": {"type": "integer", "enum": [0, 1]}}),
                op_id="getRewards",
            )
        },
        "/vouchers": {"get": op(query("state", {"type": "integer", "enum": [0, 1]}), op_id="getVouchers")},
    }
    return dict(reversed(paths.items())) if reverse else paths


def test_hoist_parameter_enums_shares_identical_enums_of_one_name() -> None:
    result, changes = run(normalise.hoist_parameter_enums, spec_of(paths=enum_paths()))
    schemas = result["components"]["schemas"]
    assert schemas == {
        "SortDirection": SORT,
        # One name, two enums: each is named after the first operation (alphabetically) using it.
        "GetCustomersState": {"type": "integer", "enum": [0, 1]},
        "GetRewardsState": {"type": "integer", "enum": [0, 1, 2]},
        "States": {"type": "integer", "enum": [0, 1]},
    }
    customers = result["paths"]["/customers"]["get"]["parameters"]
    rewards = result["paths"]["/rewards"]["get"]["parameters"]
    vouchers = result["paths"]["/vouchers"]["get"]["parameters"]
    assert customers[0]["schema"] == rewards[0]["schema"] == {"$ref": REF + "SortDirection"}
    assert customers[1]["schema"] == vouchers[0]["schema"] == {"$ref": REF + "GetCustomersState"}
    assert rewards[1]["schema"] == {"$ref": REF + "GetRewardsState"}
    assert rewards[2]["schema"] == {"type": "array", "items": {"$ref": REF + "States"}}
    assert changes == {
        "hoist_parameter_enums": [
            "sort_direction -> schemas/SortDirection",
            "state -> schemas/GetCustomersState",
            "state -> schemas/GetRewardsState",
            "states -> schemas/States",
        ]
    }


def test_hoist_parameter_enums_names_do_not_depend_on_document_order() -> None:
    forward, _ = run(normalise.hoist_parameter_enums, spec_of(paths=enum_paths()))
    backward, _ = run(normalise.hoist_parameter_enums, spec_of(paths=enum_paths(reverse=True)))
    assert forward["components"]["schemas"] == backward["components"]["schemas"]
    assert list(forward["components"]["schemas"]) == list(backward["components"]["schemas"])
    for path in ("/customers", "/rewards", "/vouchers"):
        assert forward["paths"][path] == backward["paths"][path]


def test_hoist_parameter_enums_follows_shared_parameters_to_their_operations() -> None:
    shared = query("state", {"type": "integer", "enum": [0, 1]})
    spec = spec_of(
        paths={
            "/cards": {"get": {"parameters": [{"$ref": "#/components/parameters/State"}], "responses": {}}},
            "/orders": {"get": op(query("state", {"type": "integer", "enum": [0, 1, 2]}), op_id="getOrders")},
        },
        parameters={"State": shared},
    )
    result, _ = run(normalise.hoist_parameter_enums, spec)
    assert result["components"]["parameters"]["State"]["schema"] == {"$ref": REF + "GetCardsState"}
    assert result["paths"]["/orders"]["get"]["parameters"][0]["schema"] == {"$ref": REF + "GetOrdersState"}


def test_hoist_parameter_enums_avoids_existing_schema_names() -> None:
    spec = spec_of(
        paths={"/customers": {"get": op(query("sort_direction", dict(SORT)))}},
        schemas={"SortDirection": {"type": "object"}},
    )
    result, changes = run(normalise.hoist_parameter_enums, spec)
    assert result["components"]["schemas"] == {"SortDirection": {"type": "object"}, "SortDirection2": SORT}
    assert result["paths"]["/customers"]["get"]["parameters"][0]["schema"] == {"$ref": REF + "SortDirection2"}
    assert changes == {"hoist_parameter_enums": ["sort_direction -> schemas/SortDirection2"]}


def test_hoist_parameter_enums_leaves_params_without_inline_enums_alone() -> None:
    spec = spec_of(
        paths={
            "/customers": {
                "get": op(
                    query("sort_direction", {"$ref": REF + "SortDirection"}),
                    query("tag_ids", {"type": "array", "items": {"type": "string"}}),
                    query("count", {"type": "integer", "default": 100}),
                )
            }
        },
        schemas={"SortDirection": dict(SORT)},
    )
    assert_unchanged(normalise.hoist_parameter_enums, spec)


# --------------------------------------------------------------------------- bracket_array_params

ARRAY = {"type": "array", "items": {"type": "string"}}


def test_bracket_array_params_renames_array_query_params() -> None:
    spec = spec_of(
        paths={
            "/customers": {
                "get": op(
                    {"$ref": "#/components/parameters/tag_id_arr"},
                    query("email_list", dict(ARRAY)),
                    query("email", {"type": "string"}),
                )
            },
            "/rewards": {"get": op({"$ref": "#/components/parameters/tag_id_arr"})},
        },
        parameters={"tag_id_arr": query("tag_ids", dict(ARRAY), "Tag IDs.")},
    )
    result, changes = run(normalise.bracket_array_params, spec)
    assert result["components"]["parameters"]["tag_id_arr"] == {
        "name": "tag_ids[]",
        "in": "query",
        "schema": ARRAY,
        "description": "Tag IDs.",
        "explode": True,
        "style": "form",
    }
    parameters = result["paths"]["/customers"]["get"]["parameters"]
    assert parameters[0] == {"$ref": "#/components/parameters/tag_id_arr"}  # the component is renamed once
    assert parameters[1] == {
        "name": "email_list[]",
        "in": "query",
        "schema": ARRAY,
        "explode": True,
        "style": "form",
    }
    assert parameters[2] == query("email", {"type": "string"})
    assert changes == {"bracket_array_params": ["tag_ids -> tag_ids[]", "email_list -> email_list[]"]}


def test_bracket_array_params_leaves_bracketed_and_non_query_arrays_alone() -> None:
    spec = spec_of(
        paths={
            "/customers/{ids}": {
                "get": op(
                    query("tag_ids[]", dict(ARRAY)),
                    {"name": "ids", "in": "path", "required": True, "schema": dict(ARRAY)},
                    {"name": "X-Ids", "in": "header", "schema": dict(ARRAY)},
                    query("email", {"type": "string"}),
                )
            }
        }
    )
    assert_unchanged(normalise.bracket_array_params, spec)


# --------------------------------------------------------------------------- drop_header_defaults

ACCEPT_LANGUAGE: dict[str, Any] = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "default": "cs, en-gb;q=0.8"},
}


def test_drop_header_defaults_removes_only_header_defaults() -> None:
    spec = spec_of(
        paths={
            "/customers": {
                "get": op(
                    {"$ref": "#/components/parameters/Accept-Language"},
                    query("count", {"type": "integer", "default": 100}),
                    {"name": "X-Mode", "in": "header", "schema": {"type": "string", "default": "fast"}},
                )
            }
        },
        parameters={"Accept-Language": copy.deepcopy(ACCEPT_LANGUAGE)},
    )
    result, changes = run(normalise.drop_header_defaults, spec)
    assert result["components"]["parameters"]["Accept-Language"]["schema"] == {"type": "string"}
    parameters = result["paths"]["/customers"]["get"]["parameters"]
    assert parameters[1] == query("count", {"type": "integer", "default": 100})
    assert parameters[2] == {"name": "X-Mode", "in": "header", "schema": {"type": "string"}}
    assert changes == {"drop_header_defaults": ["Accept-Language", "X-Mode"]}


def test_drop_header_defaults_leaves_headers_without_defaults_alone() -> None:
    header = copy.deepcopy(ACCEPT_LANGUAGE)
    del header["schema"]["default"]
    spec = spec_of(paths={"/customers": {"get": op(header, query("count", {"type": "integer", "default": 100}))}})
    assert_unchanged(normalise.drop_header_defaults, spec)


# --------------------------------------------------------------------------- dedupe_titled_schemas


def login_body(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "properties": {"data": {"type": "object", "properties": {"bearer_token": {"type": "string"}}}},
    }


def test_dedupe_titled_schemas_hoists_identical_bodies_under_one_title() -> None:
    spec = spec_of(
        paths={
            "/users/actions/login": {
                "post": op(
                    op_id="postUserLogin",
                    responses={
                        "200": json_body(login_body("PostUserLogin200Response")),
                        "201": json_body(login_body("PostUserLogin200Response"), "Created"),
                    },
                )
            }
        }
    )
    result, changes = run(normalise.dedupe_titled_schemas, spec)
    assert result["components"]["schemas"] == {"PostUserLogin200Response": login_body("PostUserLogin200Response")}
    responses = result["paths"]["/users/actions/login"]["post"]["responses"]
    assert responses["200"] == json_body({"$ref": REF + "PostUserLogin200Response"})
    assert responses["201"] == json_body({"$ref": REF + "PostUserLogin200Response"}, "Created")
    assert changes == {
        "dedupe_titled_schemas": ["PostUserLogin200Response: 2 identical bodies -> schemas/PostUserLogin200Response"]
    }


def test_dedupe_titled_schemas_retitles_a_copy_pasted_title() -> None:
    own = login_body("PostRewardCreateVoucher201Response")
    other = copy.deepcopy(own)
    other["properties"]["extra"] = {"type": "string"}
    spec = spec_of(
        paths={
            "/rewards/{id}/actions/create-voucher": {
                "post": op(op_id="postRewardCreateVoucher", responses={"201": json_body(own)})
            },
            "/rewards/{id}/actions/create-custom-voucher": {
                "post": op(op_id="postRewardCreateCustomVoucher", responses={"201": json_body(other)})
            },
        }
    )
    result, changes = run(normalise.dedupe_titled_schemas, spec)
    assert result["components"]["schemas"] == {}
    paths = result["paths"]
    owner = paths["/rewards/{id}/actions/create-voucher"]["post"]["responses"]["201"]
    copied = paths["/rewards/{id}/actions/create-custom-voucher"]["post"]["responses"]["201"]
    assert owner == json_body(own)
    expected = copy.deepcopy(other)
    expected["title"] = "PostRewardCreateCustomVoucher201Response"
    assert copied == json_body(expected)
    assert changes == {
        "dedupe_titled_schemas": [
            "PostRewardCreateVoucher201Response in postRewardCreateCustomVoucher 201 "
            "-> PostRewardCreateCustomVoucher201Response"
        ]
    }


def test_dedupe_titled_schemas_leaves_unique_titles_alone() -> None:
    spec = spec_of(
        paths={
            "/a": {"get": op(op_id="getA", responses={"200": json_body(login_body("GetA200Response"))})},
            "/b": {"get": op(op_id="getB", responses={"200": json_body(login_body("GetB200Response"))})},
            "/c": {"get": op(op_id="getC", responses={"200": json_body({"$ref": REF + "Thing"})})},
        },
        schemas={"Thing": {"type": "object"}},
    )
    assert_unchanged(normalise.dedupe_titled_schemas, spec)


# --------------------------------------------------------------------------- rename_clashing_enums


def task_spec(state: dict[str, Any]) -> Spec:
    return spec_of(
        schemas={
            "Task": {"type": "object", "properties": {"name": {"type": "string"}, "state": state}},
            "TaskState": {"type": "object", "properties": {"name": {"type": "string"}}},
        }
    )


def test_rename_clashing_enums_titles_an_enum_that_would_shadow_a_schema() -> None:
    state = {"type": "integer", "enum": [0, 1, 2], "description": "State of the task."}
    result, changes = run(normalise.rename_clashing_enums, task_spec(state))
    assert result["components"]["schemas"]["Task"]["properties"]["state"] == {**state, "title": "state_value"}
    assert result["components"]["schemas"]["TaskState"] == task_spec(state)["components"]["schemas"]["TaskState"]
    assert changes == {"rename_clashing_enums": ["Task.state -> TaskStateValue"]}


def test_rename_clashing_enums_handles_arrays_of_enums() -> None:
    states = {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
    result, changes = run(normalise.rename_clashing_enums, task_spec(states))
    assert result["components"]["schemas"]["Task"]["properties"]["state"] == {
        "type": "array",
        "items": {"type": "string", "enum": ["a", "b"], "title": "state_value"},
    }
    assert changes == {"rename_clashing_enums": ["Task.state -> TaskStateValue"]}


def test_rename_clashing_enums_picks_a_free_name() -> None:
    spec = task_spec({"type": "integer", "enum": [0, 1, 2]})
    spec["components"]["schemas"]["TaskStateValue"] = {"type": "object"}
    _, changes = run(normalise.rename_clashing_enums, spec)
    assert changes["rename_clashing_enums"] != ["Task.state -> TaskStateValue"]


def test_rename_clashing_enums_leaves_other_enums_alone() -> None:
    spec = task_spec({"type": "integer", "enum": [0, 1, 2]})
    schemas = spec["components"]["schemas"]
    schemas["TaskStatus"] = schemas.pop("TaskState")  # no TaskState class: Task.state cannot clash
    schemas["Booking"] = {"type": "object", "properties": {"state": {"$ref": REF + "TaskStatus"}}}
    assert_unchanged(normalise.rename_clashing_enums, spec)


# --------------------------------------------------------------------------- split_write_schemas


def write_spec() -> Spec:
    """``Store`` (required readOnly ``store_id``, an inline enum) written by POST /stores inside an
    inline body and read by GET /stores/{id}; ``Chain`` refers to ``Store`` and is written too;
    ``Tag`` has no readOnly field and ``Log`` (readOnly + required) is only ever read."""
    store = {
        "title": "Store",
        "type": "object",
        "required": ["store_id", "name"],
        "properties": {
            "store_id": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
            "state": {"type": "integer", "enum": [0, 1]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "tag": {"$ref": REF + "Tag"},
        },
    }
    body = {"type": "object", "required": ["store"], "properties": {"store": {"$ref": REF + "Store"}}}
    post = {"requestBody": {"content": {"application/json": {"schema": body}}}, "responses": {"201": {}}}
    chain_body = {"$ref": REF + "Chain"}
    put = {"requestBody": {"content": {"application/json": {"schema": chain_body}}}, "responses": {"204": {}}}
    read = op(responses={"200": json_body({"$ref": REF + "Store"})})
    log = op(responses={"200": json_body({"$ref": REF + "Log"})})
    return spec_of(
        paths={
            "/stores": {"post": post},
            "/stores/{id}": {"get": read},
            "/chains": {"put": put},
            "/logs": {"get": log},
        },
        schemas={
            "Store": store,
            "Chain": {"type": "object", "properties": {"stores": {"type": "array", "items": {"$ref": REF + "Store"}}}},
            "Tag": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            "Log": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "readOnly": True}}},
        },
    )


def test_split_write_schemas_gives_request_bodies_a_twin_without_required_read_only_fields() -> None:
    result, changes = run(normalise.split_write_schemas, write_spec())
    schemas = result["components"]["schemas"]
    assert schemas["StoreWrite"]["required"] == ["name"]
    assert schemas["StoreWrite"]["title"] == "StoreWrite"
    assert schemas["StoreWrite"]["properties"]["store_id"] == {"type": "string", "readOnly": True}  # still allowed
    assert schemas["Store"]["required"] == ["store_id", "name"]  # responses keep the original
    post_body = result["paths"]["/stores"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert post_body["properties"]["store"] == {"$ref": REF + "StoreWrite"}
    read = result["paths"]["/stores/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert read == {"$ref": REF + "Store"}
    # A schema that refers to one with a twin gets a twin too, and the body refers to it.
    put_body = result["paths"]["/chains"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert put_body == {"$ref": REF + "ChainWrite"}
    assert schemas["ChainWrite"]["properties"]["stores"]["items"] == {"$ref": REF + "StoreWrite"}
    assert schemas["Chain"]["properties"]["stores"]["items"] == {"$ref": REF + "Store"}
    # Only what needs it: Tag has no readOnly field, Log is never written.
    assert sorted(schemas) == [
        "Chain",
        "ChainWrite",
        "Log",
        "Store",
        "StoreState",
        "StoreTagsItem",
        "StoreWrite",
        "Tag",
    ]
    assert "StoreWrite.store_id optional" in changes["split_write_schemas"]


def test_split_write_schemas_shares_the_enums_under_the_names_the_generator_gave_them() -> None:
    result, changes = run(normalise.split_write_schemas, write_spec())
    schemas = result["components"]["schemas"]
    assert schemas["StoreState"] == {"type": "integer", "enum": [0, 1], "title": "StoreState"}
    assert schemas["StoreTagsItem"] == {"type": "string", "enum": ["a", "b"], "title": "StoreTagsItem"}
    for name in ("Store", "StoreWrite"):
        assert schemas[name]["properties"]["state"] == {"$ref": REF + "StoreState"}
        assert schemas[name]["properties"]["tags"]["items"] == {"$ref": REF + "StoreTagsItem"}
    assert "Store.state enum -> schemas/StoreState" in changes["split_write_schemas"]


def test_split_write_schemas_leaves_an_enum_inline_when_its_name_is_taken() -> None:
    spec = write_spec()
    spec["components"]["schemas"]["StoreState"] = {"type": "object", "properties": {"x": {"type": "string"}}}
    result, changes = run(normalise.split_write_schemas, spec)
    schemas = result["components"]["schemas"]
    assert schemas["StoreState"] == {"type": "object", "properties": {"x": {"type": "string"}}}
    assert schemas["Store"]["properties"]["state"] == {"type": "integer", "enum": [0, 1]}
    assert schemas["StoreWrite"]["properties"]["state"] == {"type": "integer", "enum": [0, 1]}
    assert "Store.state enum -> schemas/StoreState" not in changes["split_write_schemas"]


def test_split_write_schemas_fixes_an_inline_body_in_place() -> None:
    body = {
        "type": "object",
        "required": ["id", "note"],
        "properties": {"id": {"type": "string", "readOnly": True}, "note": {"type": "string"}},
    }
    spec = spec_of(paths={"/notes": {"post": {"requestBody": {"content": {"application/json": {"schema": body}}}}}})
    result, changes = run(normalise.split_write_schemas, spec)
    schema = result["paths"]["/notes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["note"]
    assert result["components"]["schemas"] == {}
    assert changes == {"split_write_schemas": ["request body.id optional"]}


def test_split_write_schemas_leaves_a_spec_without_required_read_only_fields_alone() -> None:
    spec = write_spec()
    spec["components"]["schemas"]["Store"]["required"] = ["name"]
    assert_unchanged(normalise.split_write_schemas, spec)


def test_real_spec_write_twins(normalised: tuple[Spec, Report]) -> None:
    spec, _ = normalised
    schemas = spec["components"]["schemas"]
    twins = sorted(name for name in schemas if name.endswith("Write"))
    assert twins == ["EntranceWrite", "PurchaseWrite", "RewardWrite", "StoreWrite", "TaskCommentWrite", "VoucherWrite"]
    assert "store_id" in schemas["Store"]["required"]
    assert "store_id" not in schemas["StoreWrite"].get("required", [])


def test_nullable_inline_enum_is_hoisted_and_referenced_as_nullable() -> None:
    gender = {"type": "integer", "nullable": True, "enum": [1, 2], "description": "Gender", "example": 1}
    spec = spec_of(schemas={"personal_information": {"type": "object", "properties": {"gender": gender}}})
    result, changes = run(normalise.nullable_enums_accept_null, spec)
    schemas = result["components"]["schemas"]
    assert schemas["PersonalInformationGender"] == {
        "type": "integer",
        "enum": [1, 2],
        "title": "PersonalInformationGender",
    }
    assert schemas["personal_information"]["properties"]["gender"] == {
        "description": "Gender",
        "example": 1,
        "nullable": True,
        "oneOf": [{"$ref": "#/components/schemas/PersonalInformationGender"}],
    }
    assert changes == {
        "nullable_enums_accept_null": ["personal_information.gender -> schemas/PersonalInformationGender | None"]
    }


def test_nullable_enum_pass_leaves_other_enums_and_taken_names_alone() -> None:
    plain = {"type": "object", "properties": {"state": {"type": "integer", "enum": [0, 1]}}}
    assert_unchanged(normalise.nullable_enums_accept_null, spec_of(schemas={"Store": plain}))
    nullable = {"type": "object", "properties": {"state": {"type": "integer", "nullable": True, "enum": [0, 1]}}}
    taken = spec_of(schemas={"Store": nullable, "StoreState": {"type": "string"}})
    assert_unchanged(normalise.nullable_enums_accept_null, taken)


def test_real_spec_nullable_gender_is_an_optional_enum(normalised: tuple[Spec, Report]) -> None:
    spec, _ = normalised
    schemas = spec["components"]["schemas"]
    gender = schemas["PersonalInformation"]["properties"]["gender"]
    assert gender["nullable"] is True
    assert gender["oneOf"] == [{"$ref": "#/components/schemas/PersonalInformationGender"}]
    assert schemas["PersonalInformationGender"]["enum"] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- document_constraints


def test_document_constraints_appends_each_kind_of_constraint() -> None:
    spec = spec_of(
        paths={
            "/r": {
                "get": op(
                    query("count", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "How many."),
                    query("above", {"type": "number", "minimum": 0, "exclusiveMinimum": True}, "Above."),
                    query("code", {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[A-Z]+$"}),
                    query("sort", {"$ref": REF + "Sort"}, "Sort direction."),
                    query("tags[]", {"type": "array", "maxItems": 5, "items": {"enum": ["a", "b, c"]}}, "Tags."),
                    query("plain", {"type": "string"}, "No constraint."),
                )
            }
        },
        schemas={
            "Sort": {"type": "string", "enum": ["ASC", "DESC"]},
            "Store": {
                "type": "object",
                "properties": {
                    "phone": {"type": "string", "description": "Phone.", "pattern": "^[1-9][0-9]*$"},
                    "flag": {"type": "boolean", "default": False},
                    "sort": {"$ref": REF + "Sort"},  # a $ref has no description of its own: left alone
                    "state": {"description": "State.", "nullable": True, "oneOf": [{"$ref": REF + "Sort"}]},
                    "address": {
                        "type": "object",
                        "properties": {"zip": {"type": "string", "description": "ZIP.", "maxLength": 5}},
                    },
                },
                "example": {"properties": {"zip": {"maxLength": 1}}},  # data, not a schema
            },
        },
    )
    result, changes = run(normalise.document_constraints, spec)
    texts = normalise.parameter_texts(result, "/r", "get")
    assert texts == {
        "count": "How many. (1 to 100; default: 10)",
        "above": "Above. (more than 0)",
        "code": "1 to 8 characters; matches ``^[A-Z]+$``",
        "sort": "Sort direction. (one of: ASC, DESC)",
        "tags[]": 'Tags. (at most 5 items; each one of: a, "b, c")',
        "plain": "No constraint.",
        "body": "the request body",
    }
    store = result["components"]["schemas"]["Store"]
    assert store["properties"]["phone"]["description"] == "Phone. (matches ``^[1-9][0-9]*$``)"
    assert store["properties"]["flag"]["description"] == "default: False"
    assert store["properties"]["sort"] == {"$ref": REF + "Sort"}
    assert store["properties"]["state"]["description"] == "State. (one of: ASC, DESC)"
    assert store["properties"]["address"]["properties"]["zip"]["description"] == "ZIP. (at most 5 characters)"
    assert store["example"] == spec["components"]["schemas"]["Store"]["example"]
    assert result["components"]["schemas"]["Sort"]["description"] == "one of: ASC, DESC"
    assert changes["document_constraints"] == [
        "parameter count",
        "parameter above",
        "parameter code",
        "parameter sort",
        "parameter tags[]",
        "enum schemas/Sort",
        "4 schema properties",
    ]
    again, more = run(normalise.document_constraints, result)
    assert again == result  # a normalised spec normalised again: nothing appended twice
    assert more == {}


def test_document_constraints_documents_a_shared_node_once_and_leaves_plain_specs_alone() -> None:
    shared = {"type": "integer", "minimum": 1, "description": "N."}
    spec = spec_of(schemas={"A": {"type": "object", "properties": {"n": shared, "m": shared}}})
    normalise.document_constraints(spec, Report())  # in place, as normalise() runs it: the node stays shared
    assert shared["description"] == "N. (at least 1)"
    plain = spec_of(
        paths={"/r": {"get": op(query("q", {"type": "string"}, "Q."))}},
        schemas={"A": {"type": "object", "properties": {"n": {"type": "string", "description": "N."}}}},
    )
    assert_unchanged(normalise.document_constraints, plain)


# --------------------------------------------------------------------------- the whole run


def test_normalise_runs_every_pass_in_order_on_a_copy() -> None:
    assert [p.__name__ for p in normalise.PASSES] == [
        "fill_array_items",
        "nullable_enums_accept_null",
        "resolve_schema_aliases",
        "rename_clashing_schemas",
        "hoist_response_schemas",
        "retype_array_syntax_params",
        "hoist_parameter_enums",
        "bracket_array_params",
        "drop_header_defaults",
        "dedupe_titled_schemas",
        "rename_clashing_enums",
        "split_write_schemas",
        "document_constraints",
    ]
    tags = query("tag_ids", {"type": "array", "items": {"type": "string"}})
    spec = spec_of(paths={"/r": {"get": op(query("reward_id", {"type": "string"}, HINT), tags)}})
    before = copy.deepcopy(spec)
    report = Report()
    result = normalise.normalise(spec, report)
    assert spec == before
    parameters = result["paths"]["/r"]["get"]["parameters"]
    # retyped to a string or a list (its name stays: one value goes out as reward_id=x), and
    # the array filter bracketed
    assert [parameter["name"] for parameter in parameters] == ["reward_id", "tag_ids[]"]
    assert "oneOf" in parameters[0]["schema"]
    assert dict(report.changes) == {
        "retype_array_syntax_params": ["reward_id"],
        "bracket_array_params": ["tag_ids -> tag_ids[]"],
    }
    assert report.summary().splitlines() == [
        "retype_array_syntax_params: 1",
        "  - reward_id",
        "bracket_array_params: 1",
        "  - tag_ids -> tag_ids[]",
    ]


def test_report_summary_truncates_long_lists() -> None:
    report = Report()
    for i in range(15):
        report.add("p", f"item {i}")
    lines = report.summary().splitlines()
    assert lines[0] == "p: 15"
    assert lines[1:13] == [f"  - item {i}" for i in range(12)]
    assert lines[13:] == ["  ... and 3 more"]


def test_load_rejects_a_document_without_paths(tmp_path: Path) -> None:
    path = tmp_path / "not-openapi.yaml"
    path.write_text("openapi: 3.0.2\ninfo: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an OpenAPI document"):
        normalise.load(path)


def test_main_writes_the_normalised_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.json"
    target = tmp_path / "out.json"
    source.write_text(json.dumps(alias_spec()), encoding="utf-8")
    assert normalise.main(["normalise", str(source), str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == normalise.normalise(alias_spec())
    assert "resolve_schema_aliases: 1" in capsys.readouterr().out
    assert normalise.main(["normalise"]) == 2


# --------------------------------------------------------------------------- the pinned vendor spec

BRACKETED_FILTERS = {
    "booking_statuses",
    "card_number_list",
    "customer_ids",
    "customer_type_id",
    "email_list",
    "event_type_ids",
    "external_ids",
    "segment_group_ids",
    "tag_ids",
    "type_id",
}
# Typed ``string`` by the vendor, but the description asks for array syntax (report order).
RETYPED = [
    "text_id",
    "credit_type_id",
    "reward_id",
    "text_id",
    "event_group_text_id",
    "reservable_product_id",
    "stamper_campaign_id",
    "stamper_card_id",
]


@pytest.fixture(scope="module")
def vendor() -> Spec:
    return normalise.load(spec_source.obtain())


@pytest.fixture(scope="module")
def normalised(vendor: Spec) -> tuple[Spec, Report]:
    report = Report()
    return normalise.normalise(vendor, report), report


def operation_parameters(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, resolved parameter) for every parameter of every operation."""
    for path, method, operation in normalise.iter_operations(spec):
        for parameter in operation.get("parameters", []):
            yield method, path, normalise.resolve_parameter(spec, parameter)


def query_uses(spec: Spec, *, array: bool) -> Counter[str]:
    uses: Counter[str] = Counter()
    for _, _, parameter in operation_parameters(spec):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and (schema.get("type") == "array") == array:
            uses[parameter["name"]] += 1
    return uses


def test_real_spec_normalises_deterministically(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    first = normalise.dump(normalised[0])
    second_report = Report()
    second = normalise.dump(normalise.normalise(vendor, second_report))
    assert first == second
    assert normalised[1].summary() == second_report.summary()
    # Normalising the output again changes nothing (every pass is idempotent on its own output).
    again_report = Report()
    assert normalise.dump(normalise.normalise(normalised[0], again_report)) == first
    assert dict(again_report.changes) == {}


def test_real_spec_has_no_bare_arrays(normalised: tuple[Spec, Report]) -> None:
    # fill_array_items exists for the older (2026-03-21) spec; the pinned one needs nothing.
    assert "fill_array_items" not in normalised[1].changes


def test_real_spec_input_is_not_mutated(vendor: Spec) -> None:
    before = json.dumps(vendor, sort_keys=True)
    normalise.normalise(vendor)
    assert json.dumps(vendor, sort_keys=True) == before


def test_real_spec_figures(vendor: Spec) -> None:
    operations = list(normalise.iter_operations(vendor))
    assert len(vendor["paths"]) == 282
    assert len(operations) == 322
    assert Counter(method for _, method, _ in operations) == {"get": 206, "post": 93, "put": 14, "delete": 9}
    assert len(vendor["components"]["schemas"]) == 152


def test_real_spec_array_filters_become_bracketed(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    arrays = query_uses(vendor, array=True)
    assert set(arrays) == BRACKETED_FILTERS
    assert sum(arrays.values()) == 23
    hinted = Counter(
        parameter["name"]
        for _, _, parameter in operation_parameters(vendor)
        if parameter.get("in") == "query"
        and parameter.get("schema", {}).get("type") == "string"
        and "array syntax" in (parameter.get("description") or "").lower()
    )
    assert sorted(hinted) == sorted(set(RETYPED))
    assert sum(hinted.values()) == 10
    assert report.changes["retype_array_syntax_params"] == RETYPED

    after = query_uses(spec, array=True)
    expected = {f"{name}[]": count for name, count in arrays.items()}
    assert dict(after) == expected  # the array filters, all bracketed
    assert sum(after.values()) == 23
    for method, path, parameter in operation_parameters(spec):
        if parameter.get("in") == "query" and parameter["schema"].get("type") == "array":
            assert parameter["explode"] is True, (method, path)
            assert parameter["style"] == "form", (method, path)
    # The hinted ones take a string (sent as name=x) or a list (name[]=...): their name stays.
    either = Counter(
        parameter["name"]
        for _, _, parameter in operation_parameters(spec)
        if parameter.get("in") == "query" and "oneOf" in parameter.get("schema", {})
    )
    assert either == hinted
    bracketed = report.changes["bracket_array_params"]
    assert {entry.split(" -> ")[0] for entry in bracketed} == BRACKETED_FILTERS
    assert all(entry == f"{entry.split(' -> ')[0]} -> {entry.split(' -> ')[0]}[]" for entry in bracketed)


def test_real_spec_customer_type_alias_resolved(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    assert vendor["components"]["schemas"]["Customer-type"] == {"$ref": REF + "CustomerType"}
    # Nothing refers to the alias: it only makes the generator build CustomerType twice.
    assert "Customer-type" not in spec["components"]["schemas"]
    assert "CustomerType" in spec["components"]["schemas"]
    assert REF + "Customer-type" not in all_refs(spec)
    assert report.changes["resolve_schema_aliases"] == ["Customer-type -> CustomerType"]
    assert "rename_clashing_schemas" not in report.changes


def test_real_spec_every_ref_resolves(normalised: tuple[Spec, Report]) -> None:
    spec = normalised[0]
    for ref in set(all_refs(spec)):
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict), ref
            assert part in node, ref
            node = node[part]


def test_real_spec_task_state_enum_renamed(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    assert "title" not in vendor["components"]["schemas"]["Task"]["properties"]["state"]
    assert "TaskState" in spec["components"]["schemas"]
    state = spec["components"]["schemas"]["Task"]["properties"]["state"]
    assert state["title"] == "state_value"
    assert state["enum"] == [0, 1, 2]
    assert report.changes["rename_clashing_enums"] == ["Task.state -> TaskStateValue"]


def test_real_spec_login_responses_hoisted_to_one_schema(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    before = vendor["paths"]["/users/actions/login"]["post"]["responses"]
    body_200 = before["200"]["content"]["application/json"]["schema"]
    body_201 = before["201"]["content"]["application/json"]["schema"]
    assert body_200 == body_201
    assert body_200["title"] == "PostUserLogin200Response"

    responses = spec["paths"]["/users/actions/login"]["post"]["responses"]
    for status in ("200", "201"):
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": REF + "PostUserLogin200Response"}
    assert spec["components"]["schemas"]["PostUserLogin200Response"] == body_200
    assert report.changes["dedupe_titled_schemas"] == [
        "PostRewardCreateVoucher201Response in postRewardCreateCustomVoucher 201 "
        "-> PostRewardCreateCustomVoucher201Response",
        "PostUserLogin200Response: 2 identical bodies -> schemas/PostUserLogin200Response",
    ]


def test_real_spec_inline_error_bodies_hoisted(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    inline = [
        name
        for name, response in vendor["components"]["responses"].items()
        for media in response.get("content", {}).values()
        if "$ref" not in media["schema"]
    ]
    assert inline == ["Unauthorized", "Forbidden", "NotFound", "NotAllowed", "InternalServerError"]
    assert report.changes["hoist_response_schemas"] == [
        "responses/Unauthorized -> schemas/UnauthorizedErrorBody",
        "responses/Forbidden -> schemas/ForbiddenErrorBody",
        "responses/NotFound -> schemas/NotFoundErrorBody",
        "responses/NotAllowed -> schemas/NotAllowedErrorBody",
        "responses/InternalServerError -> schemas/InternalServerErrorBody",
    ]
    for name, response in spec["components"]["responses"].items():
        for media in response.get("content", {}).values():
            assert set(media["schema"]) == {"$ref"}, name
    for name in inline:
        hoisted = spec["components"]["schemas"][name.removesuffix("Error") + "ErrorBody"]
        assert hoisted == vendor["components"]["responses"][name]["content"]["application/json"]["schema"]


def test_real_spec_accept_language_default_dropped(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    vendor_uses = [p for _, _, p in operation_parameters(vendor) if p["name"] == "Accept-Language"]
    assert len(vendor_uses) == 310
    assert all(p["schema"].get("default") == "cs, en-gb;q=0.8" for p in vendor_uses)
    uses = [p for _, _, p in operation_parameters(spec) if p["name"] == "Accept-Language"]
    assert len(uses) == 310
    assert all(p["schema"] == {"type": "string"} for p in uses)
    assert not [p for _, _, p in operation_parameters(spec) if p.get("in") == "header" and "default" in p["schema"]]
    assert report.changes["drop_header_defaults"] == ["Accept-Language"]


def test_real_spec_sort_direction_hoisted_once(vendor: Spec, normalised: tuple[Spec, Report]) -> None:
    spec, report = normalised
    vendor_schemas = [p["schema"] for _, _, p in operation_parameters(vendor) if p["name"] == "sort_direction"]
    assert len(vendor_schemas) == 109
    assert all(schema == SORT for schema in vendor_schemas)
    schemas = [p["schema"] for _, _, p in operation_parameters(spec) if p["name"] == "sort_direction"]
    assert schemas == [{"$ref": REF + "SortDirection"}] * 109
    # the schema as the vendor wrote it, and its values in words (document_constraints)
    assert spec["components"]["schemas"]["SortDirection"] == {**SORT, "description": "one of: ASC, DESC"}
    assert not [
        name for name in spec["components"]["schemas"] if name.startswith("SortDirection") and name != "SortDirection"
    ]
    hoisted = report.changes["hoist_parameter_enums"]
    assert [entry for entry in hoisted if entry.startswith("sort_direction ")] == [
        "sort_direction -> schemas/SortDirection"
    ]


def test_real_spec_state_enums_named_after_their_operations(normalised: tuple[Spec, Report]) -> None:
    # `state` is 0-1 on cards, entrances and stamper cards, 0-2 on orders: two enums, two owners.
    spec, _ = normalised
    schemas = spec["components"]["schemas"]
    assert schemas["GetCardsState"]["enum"] == [0, 1]
    assert schemas["GetOrdersState"]["enum"] == [0, 1, 2]
    assert "State" not in schemas
    assert "State2" not in schemas


def test_real_spec_no_duplicate_class_names(normalised: tuple[Spec, Report]) -> None:
    spec = normalised[0]
    classes = Counter(normalise.pascal_case(name) for name in spec["components"]["schemas"])
    assert [name for name, n in classes.items() if n > 1] == []
    titles = Counter(
        media["schema"]["title"]
        for _, _, operation in normalise.iter_operations(spec)
        for response in operation.get("responses", {}).values()
        for media in response.get("content", {}).values()
        if isinstance(media.get("schema"), dict) and "title" in media["schema"]
    )
    assert [title for title, n in titles.items() if n > 1] == []
