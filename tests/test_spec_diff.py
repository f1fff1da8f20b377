"""scripts/spec_diff.py: every kind of change on small synthetic specs, the breaking rules, the
semver suggestion and the renderers; then the two real spec versions (pinned and 2026-03-21),
and (slow) the normaliser + generator on both with zero warnings."""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from scripts import generate, normalise, spec_diff, spec_source
from scripts.spec_diff import Change

# --------------------------------------------------------------------------- synthetic specs


def make_spec(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.0.2",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def operation(
    operation_id: str,
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": operation_id, **extra}
    if parameters is not None:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, **json_body(body)}
    op["responses"] = {"200": {"description": "ok", **(json_body(response) if response else {})}}
    return op


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}


def query(name: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def one_op(method: str = "get", path: str = "/things", **kwargs: Any) -> dict[str, Any]:
    return make_spec({path: {method: operation("getThings", **kwargs)}})


def C(  # noqa: PLR0917 (reads like the record it builds)
    section: spec_diff.Section,
    kind: spec_diff.Kind,
    where: str,
    name: str,
    detail: str,
    breaking: bool,
    *,
    method: str = "GET",
    path: str = "/things",
    operation_id: str = "getThings",
) -> Change:
    return Change(section, method, path, kind, where, name, detail, breaking, operation_id)


# --------------------------------------------------------------------------- operations


def test_identical_specs_have_no_changes() -> None:
    spec = one_op(parameters=[query("count", INTEGER)], response=obj({"data": obj({"id": STRING})}))
    assert spec_diff.diff(spec, copy.deepcopy(spec)) == []


def test_operation_added_is_not_breaking_and_removed_is() -> None:
    old = make_spec({"/a": {"get": operation("getA")}})
    new = make_spec({"/b": {"post": operation("postB")}})
    changes = spec_diff.diff(old, new)
    assert changes == [
        C("operations", "removed", "", "", "", True, path="/a", operation_id="getA"),
        C("operations", "added", "", "", "", False, method="POST", path="/b", operation_id="postB"),
    ]


def test_operation_id_change_is_breaking_deprecation_is_not() -> None:
    old = make_spec({"/a": {"get": operation("getA")}})
    new = make_spec({"/a": {"get": operation("getAllA", deprecated=True)}})
    changes = spec_diff.diff(old, new)
    assert (
        C("operations", "changed", "", "", "operationId: getA -> getAllA", True, path="/a", operation_id="getAllA")
        in changes
    )
    assert (
        C("operations", "changed", "", "", "deprecated: no -> yes", False, path="/a", operation_id="getAllA") in changes
    )


# --------------------------------------------------------------------------- parameters


def test_parameters_added_removed_and_changed() -> None:
    old = one_op(
        parameters=[
            query("gone", STRING),
            query("retyped", STRING),
            query("tightened", STRING),
            query("loosened", STRING, required=True),
            {"name": "moved", "in": "query", "schema": STRING},
        ]
    )
    new = one_op(
        parameters=[
            query("retyped", INTEGER),
            query("tightened", STRING, required=True),
            query("loosened", STRING),
            {"name": "moved", "in": "header", "schema": STRING},
            query("new_optional", STRING),
            query("new_required", STRING, required=True),
        ]
    )
    assert spec_diff.diff(old, new) == [
        C("parameters", "removed", "query", "gone", "", True),
        C("parameters", "changed", "query", "loosened", "required: yes -> no", False),
        C("parameters", "changed", "header", "moved", "in: query -> header", True),
        C("parameters", "added", "query", "new_optional", "optional", False),
        C("parameters", "added", "query", "new_required", "required", True),
        C("parameters", "changed", "query", "retyped", "type: string -> integer", True),
        C("parameters", "changed", "query", "tightened", "required: no -> yes", True),
    ]


def test_array_filters_are_compared_under_their_normalised_bracket_name() -> None:
    array = {"type": "array", "items": STRING}
    old = one_op(parameters=[query("email_list", array), query("tag_ids", array)])
    new = one_op(parameters=[query("email_list", array)])
    # email_list is renamed email_list[] in both: no change; the removed one shows its wire name
    assert spec_diff.diff(old, new) == [C("parameters", "removed", "query", "tag_ids[]", "", True)]


def test_parameter_from_components_is_resolved() -> None:
    old = one_op(parameters=[{"$ref": "#/components/parameters/Count"}])
    old["components"]["parameters"] = {"Count": query("count", INTEGER)}
    new = one_op(parameters=[query("count", INTEGER)])
    assert spec_diff.diff(old, new) == []


# --------------------------------------------------------------------------- request bodies


def test_request_fields_added_removed_changed_with_dotted_paths() -> None:
    item_old = obj({"price": {"type": "number"}, "code": STRING}, ["price"])
    item_new = obj({"price": STRING, "qty": INTEGER, "note": STRING}, ["price", "qty"])
    old = one_op("post", body=obj({"bill": obj({"items": {"type": "array", "items": item_old}, "id": STRING})}))
    new = one_op("post", body=obj({"bill": obj({"items": {"type": "array", "items": item_new}, "id": STRING}, ["id"])}))
    post = {"method": "POST"}
    assert spec_diff.diff(old, new) == [
        C("request", "changed", "body", "bill.id", "required: no -> yes", True, **post),
        C("request", "removed", "body", "bill.items[].code", "", True, **post),
        C("request", "added", "body", "bill.items[].note", "optional", False, **post),
        C("request", "changed", "body", "bill.items[].price", "type: number -> string", True, **post),
        C("request", "added", "body", "bill.items[].qty", "required", True, **post),
    ]


def test_request_body_added_removed_and_required() -> None:
    with_body = one_op("post", body=obj({"a": STRING}))
    without = one_op("post")
    post = {"method": "POST"}
    assert spec_diff.diff(with_body, without) == [C("request", "removed", "body", "", "", True, **post)]
    assert spec_diff.diff(without, with_body) == [C("request", "added", "body", "", "required", True, **post)]
    optional = copy.deepcopy(with_body)
    optional["paths"]["/things"]["post"]["requestBody"]["required"] = False
    assert spec_diff.diff(with_body, optional) == [
        C("request", "changed", "body", "", "required: yes -> no", False, **post)
    ]


def test_removed_object_is_reported_once_not_field_by_field() -> None:
    old = one_op(response=obj({"data": obj({"customer": obj({"a": STRING, "b": STRING}), "x": STRING})}))
    new = one_op(response=obj({"data": obj({"x": STRING})}))
    assert spec_diff.diff(old, new) == [C("responses", "removed", "200", "data.customer", "", True)]


# --------------------------------------------------------------------------- responses


def test_response_fields_through_refs_and_arrays() -> None:
    schemas_old = {"Customer": obj({"email": STRING, "name": STRING, "age": INTEGER}, ["email"])}
    schemas_new = {"Customer": obj({"email": STRING, "phone": STRING, "age": STRING}, ["phone"])}
    body = obj(
        {
            "data": obj(
                {
                    "customers": {"type": "array", "items": {"$ref": "#/components/schemas/Customer"}},
                    "total_items": INTEGER,
                }
            )
        }
    )
    old = make_spec({"/customers": {"get": operation("getCustomers", response=body)}}, schemas_old)
    new = make_spec({"/customers": {"get": operation("getCustomers", response=body)}}, schemas_new)
    where = {"path": "/customers", "operation_id": "getCustomers"}
    assert spec_diff.diff(old, new) == [
        C("responses", "changed", "200", "data.customers[].age", "type: integer -> string", True, **where),
        C("responses", "changed", "200", "data.customers[].email", "required: yes -> no", True, **where),
        C("responses", "removed", "200", "data.customers[].name", "", True, **where),
        # a new field in a response is never breaking, required or not
        C("responses", "added", "200", "data.customers[].phone", "required", False, **where),
    ]


def test_response_status_added_and_removed() -> None:
    old = one_op()
    new = copy.deepcopy(old)
    new["paths"]["/things"]["get"]["responses"] = {"201": {"description": "created"}}
    assert spec_diff.diff(old, new) == [
        C("responses", "removed", "200", "", "", True),
        C("responses", "added", "201", "", "", False),
    ]


def test_optional_becoming_required_in_a_response_is_not_breaking() -> None:
    old = one_op(response=obj({"a": STRING}))
    new = one_op(response=obj({"a": STRING}, ["a"]))
    assert spec_diff.diff(old, new) == [C("responses", "changed", "200", "a", "required: no -> yes", False)]


def test_nullable_is_breaking_in_a_response_and_not_in_a_request() -> None:
    old = one_op("post", body=obj({"a": STRING}), response=obj({"a": STRING}))
    nullable = {"type": "string", "nullable": True}
    new = one_op("post", body=obj({"a": nullable}), response=obj({"a": nullable}))
    post = {"method": "POST"}
    assert spec_diff.diff(old, new) == [
        C("request", "changed", "body", "a", "nullable: no -> yes", False, **post),
        C("responses", "changed", "200", "a", "nullable: no -> yes", True, **post),
    ]


def test_moving_a_schema_into_components_or_all_of_is_not_a_change() -> None:
    customer = obj({"email": STRING, "id": INTEGER}, ["id"])
    inline = one_op(response=obj({"data": customer}))
    by_ref = make_spec(
        {"/things": {"get": operation("getThings", response=obj({"data": {"$ref": "#/components/schemas/C"}}))}},
        {
            "C": {"allOf": [{"$ref": "#/components/schemas/Base"}, obj({"email": STRING})]},
            "Base": obj({"id": INTEGER}, ["id"]),
        },
    )
    assert spec_diff.diff(inline, by_ref) == []


def test_recursive_schemas_terminate() -> None:
    node = obj({"name": STRING, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}})
    spec = make_spec(
        {"/tree": {"get": operation("getTree", response={"$ref": "#/components/schemas/Node"})}}, {"Node": node}
    )
    fields = spec_diff.flatten(spec, {"$ref": "#/components/schemas/Node"})
    assert fields["children[]"].type == spec_diff.RECURSIVE
    changed = copy.deepcopy(spec)
    changed["components"]["schemas"]["Node"]["properties"]["size"] = INTEGER
    assert spec_diff.diff(spec, changed) == [
        C("responses", "added", "200", "size", "optional", False, path="/tree", operation_id="getTree")
    ]


def test_depth_is_bounded() -> None:
    deep: dict[str, Any] = STRING
    for level in range(30):
        deep = obj({f"l{level}": deep})
    fields = spec_diff.flatten(make_spec({}), deep)
    assert max(path.count(".") for path in fields) < spec_diff.MAX_DEPTH


# --------------------------------------------------------------------------- enums


def enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def test_enum_values_in_responses_requests_and_parameters() -> None:
    old = one_op(
        "post",
        parameters=[query("sort_direction", enum("asc", "desc"))],
        body=obj({"type": enum("email", "phone")}),
        response=obj({"state": enum("new", "done")}),
    )
    new = one_op(
        "post",
        parameters=[query("sort_direction", enum("asc"))],
        body=obj({"type": enum("email", "card")}),
        response=obj({"state": enum("new", "done", "archived")}),
    )
    post = {"method": "POST"}
    assert spec_diff.diff(old, new) == [
        # removed from a parameter or a request field: the server rejects it
        C("enums", "removed", "query", "sort_direction", "value `desc`", True, **post),
        C("enums", "removed", "body", "type", "value `phone`", True, **post),
        C("enums", "added", "body", "type", "value `card`", False, **post),
        # added to a response: not breaking, the generated enums keep unknown values
        C("enums", "added", "200", "state", "value `archived`", False, **post),
    ]


def test_enum_value_removed_from_a_response_is_breaking() -> None:
    old = one_op(response=obj({"state": enum("new", "done")}))
    new = one_op(response=obj({"state": enum("new")}))
    assert spec_diff.diff(old, new) == [C("enums", "removed", "200", "state", "value `done`", True)]


def test_inputs_are_not_modified() -> None:
    old = one_op(parameters=[query("ids", {"type": "array", "items": STRING})])
    new = one_op()
    before = copy.deepcopy((old, new))
    spec_diff.diff(old, new)
    assert (old, new) == before


# --------------------------------------------------------------------------- semver and rendering


def test_semver_rule() -> None:
    breaking = C("operations", "removed", "", "", "", True)
    added = C("operations", "added", "", "", "", False)
    loosened = C("parameters", "changed", "query", "a", "required: yes -> no", False)
    assert spec_diff.suggest_bump([], "0.1.0").level == "none"
    assert spec_diff.suggest_bump([breaking, added], "0.1.0").suggested == "0.2.0"
    assert spec_diff.suggest_bump([added], "0.1.0").suggested == "0.1.1"
    assert spec_diff.suggest_bump([loosened], "0.3.4").suggested == "0.3.5"
    assert spec_diff.suggest_bump([breaking], "1.4.2").suggested == "2.0.0"
    assert spec_diff.suggest_bump([added], "1.4.2").suggested == "1.5.0"
    assert spec_diff.suggest_bump([loosened], "1.4.2").suggested == "1.4.3"
    assert spec_diff.suggest_bump([breaking], "1.4.2").level == "major"


def test_report_has_counts_sections_and_flags() -> None:
    changes = [
        C("operations", "removed", "", "", "", True, path="/a", operation_id="getA"),
        C("operations", "added", "", "", "", False, path="/b", operation_id="getB"),
        C("parameters", "added", "query", "q", "optional", False),
        *[
            C("responses", "removed", "400", "error.code", "", True, path=f"/p{i}", operation_id=f"op{i}")
            for i in range(12)
        ],
    ]
    label = spec_diff.SpecLabel("ab" * 32, "c" * 40, "2026-01-02", "https://example.test/spec.yaml")
    text = spec_diff.render_report(changes, old=label, new=label)
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Operations", "## Parameters", "## Request bodies", "## Responses", "## Enums"]
    assert "**15 changes, 13 breaking.** Suggested version bump: **minor** (0.1.0 -> 0.2.0" in text
    assert "| Operations | 1 | 1 | 0 | 1 |" in text
    assert "| Responses | 0 | 12 | 0 | 12 |" in text
    assert "- **BREAKING** `GET /a` (getA) removed" in text
    assert "- `GET /b` (getB) added" in text
    assert "  - added query parameter `q`: optional" in text
    # one shared change on many operations is one line
    assert "- **BREAKING** removed response 400 field `error.code` — in 12 operations: `GET /p0`" in text
    assert "and 4 more" in text
    assert "No changes." in text.split("## Enums")[1]


def test_report_is_cut_to_fit_a_pull_request_body() -> None:
    changes = [
        C("responses", "removed", "200", f"data.field_{i}", "", True, path=f"/p{i}", operation_id=f"op{i}")
        for i in range(2000)
    ]
    full = spec_diff.render_report(changes)
    cut = spec_diff.render_report(changes, max_chars=20_000)
    assert len(full) > 20_000 >= len(cut)
    assert "report cut at 20000 characters" in cut
    assert cut.rstrip().endswith("</details>")
    assert "| Responses | 0 | 2000 | 0 | 2000 |" in cut


def test_changelog_entry() -> None:
    changes = [
        C("operations", "removed", "", "", "", True, path="/a", operation_id="getA"),
        C("operations", "added", "", "", "", False, path="/b", operation_id="getB"),
        C("responses", "added", "200", "data.x", "optional", False),
    ]
    entry = spec_diff.render_changelog(changes, new=spec_diff.SpecLabel("ab" * 32, "c" * 40, "2026-01-02"))
    assert entry.startswith("## Unreleased: CareCloud API spec cccccccccccc, 2026-01-02, sha256 abababababab\n")
    assert "Suggested version bump: minor (0.1.0 -> 0.2.0" in entry
    assert "### Breaking\n\n- **BREAKING** `GET /a` (getA) removed\n" in entry
    assert "### Added operations\n\n- `GET /b` (getB) added\n" in entry
    assert "1 changes (responses: 1)" in entry


# --------------------------------------------------------------------------- shared components, directions

ERROR_REF = "#/components/schemas/Error"
THING_REF = "#/components/schemas/Thing"


def shared_spec(error: dict[str, Any], thing: dict[str, Any], *, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Three operations answer 400 with the shared ``Error``; ``GET /things`` alone answers 200 with
    ``Thing`` (under ``data``, beside the fields of ``data``)."""
    error_response = json_body({"$ref": ERROR_REF})
    paths: dict[str, Any] = {}
    for name in ("a", "b", "c"):
        op = operation(f"get{name.upper()}")
        op["responses"]["400"] = {"description": "bad", **error_response}
        paths[f"/{name}"] = {"get": op}
    paths["/things"] = {
        "get": operation("getThings", response=obj({"data": obj({"thing": {"$ref": THING_REF}, **(data or {})})}))
    }
    return make_spec(paths, {"Error": error, "Thing": thing})


def error_schema(name_type: dict[str, Any]) -> dict[str, Any]:
    return obj({"error": obj({"invalid_params": {"type": "array", "items": obj({"name": name_type})}})})


ONE_OF_ANY = {"oneOf": [STRING, {"type": "array", "items": {}}, INTEGER]}
ONE_OF_STRINGS = {"oneOf": [STRING, {"type": "array", "items": STRING}, INTEGER]}


def test_a_change_to_a_shared_component_counts_once_and_lists_where_it_appears() -> None:
    thing = obj({"id": STRING})
    old = shared_spec(error_schema(ONE_OF_ANY), thing)
    new = shared_spec(error_schema(ONE_OF_STRINGS), obj({"id": STRING, "size": INTEGER}))
    changes = spec_diff.diff(old, new)
    detail = "type: oneOf(string | array<any> | integer) -> oneOf(string | array<string> | integer) (narrower)"
    name = "error.invalid_params[].name"
    # one record per operation (CHANGES.json keeps them all), each saying which component it is in
    assert [(c.path, c.name, c.detail, c.breaking, c.component, c.component_field) for c in changes] == [
        ("/a", name, detail, False, ERROR_REF, name),
        ("/b", name, detail, False, ERROR_REF, name),
        ("/c", name, detail, False, ERROR_REF, name),
        ("/things", "data.thing.size", "optional", False, THING_REF, "size"),
    ]
    assert [len(group) for group in spec_diff.group_changes(changes)] == [3, 1]
    assert spec_diff.counts(changes)["responses"] == {"added": 1, "removed": 0, "changed": 1, "breaking": 0}
    assert spec_diff.headline(changes) == (
        "2 changes, 0 breaking (a change to a shared component counts once; per operation: 4 changes, 0 breaking)"
    )
    text = spec_diff.render_report(changes)
    assert "**2 changes, 0 breaking (a change to a shared component counts once;" in text
    assert (
        f"- changed `{ERROR_REF}` field `{name}`: {detail} — in 3 operations (response 400): "
        "`GET /a`, `GET /b`, `GET /c`\n"
    ) in text
    # seen in one operation only: the usual line under that operation
    assert "- `GET /things` (getThings)\n  - added response 200 field `data.thing.size`: optional" in text
    assert spec_diff.suggest_bump(changes, "1.0.0").reason == "no breaking change, 1 addition"


def test_a_breaking_change_to_a_shared_component_is_one_breaking_change() -> None:
    thing = obj({"id": STRING})
    old = shared_spec(error_schema(STRING), thing)
    new = shared_spec(error_schema(ONE_OF_STRINGS), thing)  # wider: a client reading a str breaks
    changes = spec_diff.diff(old, new)
    assert len(changes) == 3
    assert all(c.breaking for c in changes)
    assert spec_diff.headline(changes).startswith("1 changes, 1 breaking (")
    assert spec_diff.suggest_bump(changes, "1.0.0").reason == "1 breaking change"
    entry = spec_diff.render_changelog(changes, new=spec_diff.SpecLabel("ab" * 32))
    assert f"- **BREAKING** changed `{ERROR_REF}` field `error.invalid_params[].name`: type: string -> " in entry
    assert "— in 3 operations (response 400): `GET /a`, `GET /b`, `GET /c`" in entry


def test_what_is_added_beside_a_shared_component_belongs_to_the_operation() -> None:
    # `data.extra` is added to each operation's own `data`, not to Thing: one change per operation.
    thing = obj({"id": STRING})
    old = shared_spec(error_schema(STRING), thing)
    new = shared_spec(error_schema(STRING), thing, data={"extra": {"$ref": THING_REF}})
    changes = spec_diff.diff(old, new)
    assert [(c.path, c.name, c.component) for c in changes] == [("/things", "data.extra", "")]


def test_a_shared_parameter_changed_once_counts_once() -> None:
    def spec(values: list[str]) -> dict[str, Any]:
        paths = {
            f"/{name}": {"get": operation(f"get{name}", parameters=[{"$ref": "#/components/parameters/Lang"}])}
            for name in ("a", "b", "c")
        }
        result = make_spec(paths)
        result["components"]["parameters"] = {
            "Lang": {"name": "Accept-Language", "in": "header", "schema": {"type": "string", "enum": values}}
        }
        return result

    changes = spec_diff.diff(spec(["cs", "en", "de"]), spec(["cs", "en"]))
    assert [(c.section, c.kind, c.detail, c.component) for c in changes] == [
        ("enums", "removed", "value `de`", "#/components/parameters/Lang")
    ] * 3
    assert spec_diff.counts(changes)["enums"] == {"added": 0, "removed": 1, "changed": 0, "breaking": 1}
    text = spec_diff.render_report(changes)
    assert "**1 changes, 1 breaking (" in text
    assert "in 3 operations (header parameter `Accept-Language`): `GET /a`, `GET /b`, `GET /c`" in text


def test_a_response_field_narrowed_is_not_breaking_widened_is() -> None:
    number = {"type": "number"}
    old = one_op(response=obj({"narrowed": number, "widened": INTEGER, "items": {"type": "array", "items": {}}}))
    new = one_op(response=obj({"narrowed": INTEGER, "widened": number, "items": {"type": "array", "items": STRING}}))
    assert spec_diff.diff(old, new) == [
        C("responses", "changed", "200", "items", "type: array<any> -> array<string> (narrower)", False),
        C("responses", "changed", "200", "narrowed", "type: number -> integer (narrower)", False),
        C("responses", "changed", "200", "widened", "type: integer -> number (wider)", True),
    ]


def test_a_request_parameter_or_field_widened_is_not_breaking_narrowed_is() -> None:
    number = {"type": "number"}
    either = {"oneOf": [STRING, INTEGER]}
    old = one_op(
        "post",
        parameters=[query("narrowed", number), query("widened", STRING)],
        body=obj({"narrowed": either, "widened": INTEGER}),
    )
    new = one_op(
        "post",
        parameters=[query("narrowed", INTEGER), query("widened", either)],
        body=obj({"narrowed": STRING, "widened": number}),
    )
    post = {"method": "POST"}
    assert spec_diff.diff(old, new) == [
        C("parameters", "changed", "query", "narrowed", "type: number -> integer (narrower)", True, **post),
        C(
            "parameters",
            "changed",
            "query",
            "widened",
            "type: string -> oneOf(string | integer) (wider)",
            False,
            **post,
        ),
        C("request", "changed", "body", "narrowed", "type: oneOf(string | integer) -> string (narrower)", True, **post),
        C("request", "changed", "body", "widened", "type: integer -> number (wider)", False, **post),
    ]


@pytest.mark.parametrize(
    ("old", "new", "direction"),
    [
        ("number", "integer", "narrower"),
        ("integer", "number", "wider"),
        ("number(float)", "number(double)", "equivalent"),
        ("integer(int32)", "number", "wider"),
        ("string", "integer", "different"),
        ("string", "string(date)", "different"),  # a date is another Python type in the client
        ("any", "object", "narrower"),
        ("array<any>", "array<string>", "narrower"),
        ("array<string>", "array<integer>", "different"),
        ("oneOf(string | integer)", "string", "narrower"),
        ("string", "oneOf(string | integer)", "wider"),
        ("oneOf(string | array<any>)", "oneOf(string | array<string>)", "narrower"),
        ("oneOf(string | integer)", "oneOf(string | boolean)", "different"),
        ("object", "recursive", "different"),
    ],
)
def test_type_direction(old: str, new: str, direction: str) -> None:
    assert spec_diff.type_direction(old, new) == direction


# --------------------------------------------------------------------------- the real specs

SHARED = spec_source.SHARED_SPEC.parent
PINNED = spec_source.SHARED_SPEC
OLDER = SHARED / "openapi-2026-03-21.yaml"
OLDER_SHA256 = "21bc0c12f2a8b58457620e9c08e168e622b1d9bc51ecba9a46eec5a03627f0fd"


def real_spec(path: Path, sha256: str) -> Path:
    if not path.is_file():
        if os.environ.get("CI"):  # CI always has the shared spec folder: its absence is a failure
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"{path} is not available here (the shared spec folder is beside the checkout)")
    assert spec_source.sha256_of(path) == sha256, f"{path} is not the expected version"
    return path


@pytest.fixture(scope="module")
def pinned_path() -> Path:
    return real_spec(PINNED, spec_source.SpecSource.load().sha256)


@pytest.fixture(scope="module")
def older_path() -> Path:
    return real_spec(OLDER, OLDER_SHA256)


@pytest.fixture(scope="module")
def pinned_to_older(pinned_path: Path, older_path: Path) -> list[Change]:
    return spec_diff.diff(normalise.load(pinned_path), normalise.load(older_path))


def test_real_audiences_exist_only_in_the_pinned_spec(pinned_to_older: list[Change]) -> None:
    audiences = [c for c in pinned_to_older if c.path.startswith("/audiences")]
    assert audiences == [
        Change("operations", "GET", "/audiences", "removed", "", "", "", True, "getAudiences"),
        Change("operations", "GET", "/audiences/{audience_id}", "removed", "", "", "", True, "getAudience"),
    ]


def test_real_field_changes(pinned_to_older: list[Change]) -> None:
    expected = [
        Change("request", "POST", "/customers", "removed", "body", "referral_code", "", True, "postCustomer"),
        Change(
            "responses",
            "GET",
            "/message-templates",
            "removed",
            "200",
            "data.message_templates[].icon_url",
            "",
            True,
            "getMessageTemplates",
        ),
        Change(
            "request",
            "PUT",
            "/purchases/{purchase_id}",
            "added",
            "body",
            "purchase.purchase_property_records",
            "optional",
            False,
            "putPurchase",
        ),
        Change(
            "parameters",
            "GET",
            "/customer-external-applications",
            "removed",
            "query",
            "text_id",  # a string or a list since issue 22 (no brackets in its name)
            "",
            True,
            "getCustomerExternalApps",
        ),
        Change(
            "enums",
            "POST",
            "/customers/actions/validate-customer-data",
            "removed",
            "body",
            "type",
            "value `referral_code`",
            True,
            "postCustomersValidateCustomerData",
        ),
        Change("operations", "GET", "/target-groups", "added", "", "", "", False, "getTargetGroups"),
    ]
    for change in expected:
        assert change in pinned_to_older, change.describe()


def test_real_report_counts(pinned_to_older: list[Change]) -> None:
    table = spec_diff.counts(pinned_to_older)
    assert table["operations"] == {"added": 2, "removed": 3, "changed": 0, "breaking": 3}
    assert table["parameters"] == {"added": 0, "removed": 3, "changed": 0, "breaking": 3}
    bump = spec_diff.suggest_bump(pinned_to_older, "0.1.0")
    assert (bump.level, bump.suggested) == ("minor", "0.2.0")
    text = spec_diff.render_report(pinned_to_older)
    assert "- **BREAKING** `GET /audiences` (getAudiences) removed" in text


def test_real_headline_counts_the_shared_400_body_once(pinned_path: Path, older_path: Path) -> None:
    # 2026-03-21 -> pinned: 319 of the 352 records are one change to the shared 400 body, whose
    # invalid_params[].name became narrower (array<any> -> array<string>): it breaks no reader.
    changes = spec_diff.diff(normalise.load(older_path), normalise.load(pinned_path))
    assert spec_diff.headline(changes) == (
        "20 changes, 4 breaking (a change to a shared component counts once; per operation: 352 changes, 8 breaking)"
    )
    text = spec_diff.render_report(changes)
    assert (
        "- changed `#/components/schemas/BadRequestErrorBody` field `error.error_data.invalid_params[].name`: "
        "type: oneOf(string | array<any> | number | integer | boolean | object) -> "
        "oneOf(string | array<string> | number | integer | boolean | object) (narrower) — in 319 operations "
        "(response 400): "
    ) in text
    assert "- **BREAKING** removed `#/components/schemas/Purchase` field `purchase_property_records` — in 5" in text


def test_real_headline_the_other_way_round(pinned_to_older: list[Change]) -> None:
    # Back to the older spec the same field becomes wider: one breaking change, not 319.
    assert spec_diff.headline(pinned_to_older).startswith("20 changes, 16 breaking (")
    name = "error.error_data.invalid_params[].name"
    widened = [c for c in pinned_to_older if c.name == name]
    assert len(widened) == 319
    assert all(c.breaking and c.detail.endswith("(wider)") for c in widened)
    assert [len(g) for g in spec_diff.group_changes(pinned_to_older) if g[0].name == name] == [319]


def test_real_diff_is_symmetric(pinned_path: Path, older_path: Path, pinned_to_older: list[Change]) -> None:
    back = spec_diff.diff(normalise.load(older_path), normalise.load(pinned_path))
    flip = {"added": "removed", "removed": "added", "changed": "changed"}
    assert sorted((c.section, flip[c.kind], c.method, c.path, c.where, c.name) for c in back) == sorted(
        (c.section, c.kind, c.method, c.path, c.where, c.name) for c in pinned_to_older
    )


# --------------------------------------------------------------------------- normaliser robustness


def test_normaliser_fills_arrays_without_items() -> None:
    spec = one_op(response=obj({"name": {"oneOf": [STRING, {"type": "array"}]}, "example": {"type": "array"}}))
    spec["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["example"] = {"type": "array"}
    report = normalise.Report()
    out = normalise.normalise(spec, report)
    schema = out["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"]["properties"]["name"]["oneOf"][1] == {"type": "array", "items": {}}
    assert schema["schema"]["properties"]["example"] == {"type": "array", "items": {}}  # a property
    assert schema["example"] == {"type": "array"}  # data, left alone
    assert len(report.changes["fill_array_items"]) == 2


def test_normaliser_fills_the_bare_array_of_the_older_spec(older_path: Path) -> None:
    report = normalise.Report()
    normalise.normalise(normalise.load(older_path), report)
    assert report.changes["fill_array_items"] == [
        "/components/responses/BadRequest/content/application/json/schema/properties/error/allOf/1"
        "/properties/error_data/properties/invalid_params/items/properties/name/oneOf/1"
    ]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="openapi-python-client 0.29.1 needs Python 3.11")
@pytest.mark.parametrize("which", ["pinned", "2026-03-21"])
def test_slow_normalise_and_generate_real_spec_without_warnings(which: str, request: pytest.FixtureRequest) -> None:
    """The whole pipeline on each real spec; build() raises GenerationError on any generator
    warning. The older spec is not the pinned one: build() takes a path and does not verify.
    (A temporary directory of our own: pytest prunes its basetemp when other sessions start.)"""
    path: Path = request.getfixturevalue("pinned_path" if which == "pinned" else "older_path")
    with tempfile.TemporaryDirectory(prefix="carecloud-build-test-") as tmp:
        try:
            package = generate.build(path, Path(tmp), verbose=False)
        except generate.GenerationError as exc:
            pytest.fail(f"the {which} spec does not generate cleanly:\n{str(exc)[:4000]}")
        assert (package / "api" / "customers").is_dir()
        assert (package / "api" / "audiences").is_dir() == (which == "pinned")
        assert (package / "models" / "bad_request_error_body.py").is_file()


def test_the_module_examples_run() -> None:
    import doctest

    from carecloud_async import _spec_diff

    result = doctest.testmod(_spec_diff)
    assert result.attempted > 0
    assert result.failed == 0
