"""Derive what the shipped fake CareCloud needs from the normalised spec (``carecloud_api/_contract.json``).

:mod:`carecloud_async.testing` validates every request against the spec and answers the operations
it keeps no state for with the spec's examples. The package never holds a copy of the spec, so the
pipeline derives, next to the catalog, a reduced contract: per operation its parameters (where,
required, schema), its request body schema, its answer schemas per status and one example answer
built from the spec's ``example`` values; and the component schemas those refer to. Descriptions,
code samples and examples of fields are left out (the example answers keep the values).

    python -m scripts.fake_contract build/openapi.normalised.json out/_contract.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from scripts.normalise import HTTP_METHODS, Spec, resolve_parameter

FILE_NAME = "_contract.json"
SUCCESS = ("200", "201", "202", "204")
SCHEMA_REF = "#/components/schemas/"
#: The schema keywords validation uses; everything else (descriptions, examples, titles) is dropped.
KEEP = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "required",
        "items",
        "enum",
        "nullable",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "readOnly",
        "writeOnly",
        "allOf",
        "oneOf",
        "anyOf",
        "additionalProperties",
    }
)
MAX_DEPTH = 12  # example building stops here (self-referencing schemas)


def _deref(spec: Spec, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        node_ref = node["$ref"]
        node = spec
        for part in node_ref.removeprefix("#/").split("/"):
            node = node[part]
        seen += 1
    return node


def reduce_schema(node: Any) -> Any:
    """``node`` with only the keywords validation needs (refs to component schemas kept)."""
    if isinstance(node, list):
        return [reduce_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    reduced: dict[str, Any] = {}
    for key, value in node.items():
        if key not in KEEP:
            continue
        if key == "properties":
            reduced[key] = {name: reduce_schema(prop) for name, prop in value.items()}
        elif key in ("items", "allOf", "oneOf", "anyOf") or (key == "additionalProperties" and isinstance(value, dict)):
            reduced[key] = reduce_schema(value)
        else:
            reduced[key] = value
    return reduced


def example_of(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """An answer built from the spec's ``example`` values, as Prism builds one (objects get every
    property that has or contains an example, arrays one item)."""
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return example_of(spec, _deref(spec, schema), depth + 1)
    if "example" in schema:
        return schema["example"]
    for key in ("allOf",):
        if key in schema:
            merged: dict[str, Any] = {}
            for part in schema[key]:
                value = example_of(spec, part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example_of(spec, schema[key][0], depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        result: dict[str, Any] = {}
        for name, prop in (schema.get("properties") or {}).items():
            value = example_of(spec, prop, depth + 1)
            if value is not None or name in (schema.get("required") or ()):
                result[name] = value if value is not None else _placeholder(spec, prop)
        return result
    if kind == "array":
        item = example_of(spec, schema.get("items"), depth + 1)
        return [] if item is None else [item]
    if schema.get("enum"):
        return schema["enum"][0]
    return None


def _placeholder(spec: Spec, schema: Any) -> Any:
    """A value of the right type for a required field the spec gives no example for."""
    schema = _deref(spec, schema)
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}.get(
        schema.get("type", "object")
    )


def _response(spec: Spec, response: Any) -> tuple[Any, Any]:
    """(reduced schema, example) of a response's JSON body, or (None, None) without one."""
    response = _deref(spec, response)
    media = ((response or {}).get("content") or {}).get("application/json")
    if not isinstance(media, dict) or "schema" not in media:
        return None, None
    if "example" in media:
        example = media["example"]
    elif media.get("examples"):
        example = _deref(spec, next(iter(media["examples"].values()))).get("value")
    else:
        example = example_of(spec, media["schema"])
    return reduce_schema(media["schema"]), example


def build(spec: Spec) -> dict[str, Any]:
    """The contract: ``{"operations": [...], "schemas": {...}}`` (JSON-ready, deterministic)."""
    operations: list[dict[str, Any]] = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            parameters = [
                resolve_parameter(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]
            ]
            body = _deref(spec, operation.get("requestBody"))
            body_media = ((body or {}).get("content") or {}).get("application/json")
            responses: dict[str, Any] = {}
            example: dict[str, Any] | None = None
            for status, response in sorted(operation.get("responses", {}).items()):
                schema, value = _response(spec, response)
                responses[status] = schema
                if example is None and status in SUCCESS:
                    example = {"status": int(status), "body": value}
            operations.append(
                {
                    "operation_id": operation.get("operationId", ""),
                    "method": method.upper(),
                    "path": path,
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": bool(p.get("required")),
                            "schema": reduce_schema(p.get("schema") or {}),
                        }
                        for p in parameters
                    ],
                    "body": None
                    if not isinstance(body_media, dict)
                    else {"required": bool(body.get("required")), "schema": reduce_schema(body_media.get("schema"))},
                    "responses": responses,
                    "example": example or {"status": 200, "body": None},
                }
            )
    schemas = {name: reduce_schema(schema) for name, schema in sorted(spec["components"]["schemas"].items())}
    return {"operations": operations, "schemas": schemas}


def render(contract: dict[str, Any]) -> str:
    # One key per line keeps `make check-generated` diffs readable; sorted keys keep it stable.
    return json.dumps(contract, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def write(spec: Spec, package_dir: Path) -> None:
    (package_dir / FILE_NAME).write_text(render(build(spec)), encoding="utf-8")


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    spec = json.loads(source.read_text(encoding="utf-8"))
    target.write_text(render(build(spec)), encoding="utf-8")
    print(f"{target}: {len(build(spec)['operations'])} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
