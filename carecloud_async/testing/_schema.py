"""Validate a JSON value against a schema of the spec (the OpenAPI 3.0 subset CareCloud uses).

A small validator of our own rather than a dependency: the spec uses ``type``, ``properties``,
``required``, ``items``, ``enum``, ``nullable``, ``pattern``, ``maxItems``, ``readOnly`` and a few
``oneOf``/``allOf``, and the fake needs what a generic JSON Schema library does not give: OpenAPI's
``nullable`` and ``readOnly``/``writeOnly`` rules (a required read-only field is required in
answers only), fields not in the spec refused in requests, and each problem as a field path plus
one of CareCloud's own reason codes (``required``, ``not_allowed_value``, ``invalid_value_format``,
``not_allowed``), which the fake puts in its 400 answers.

    problems = check(schemas, {"$ref": "#/components/schemas/Card"}, {"card_number": 1}, "card", "request")
    # [Problem(field='card.card_number', reason='invalid_value_format', message='must be string, not integer'), ...]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Problem", "check"]

SCHEMA_REF = "#/components/schemas/"
Direction = Literal["request", "response"]


@dataclass(frozen=True)
class Problem:
    """One way a value breaks its schema: the field (``bill.bill_items[0].price``), CareCloud's
    reason code and a sentence that never quotes the value (it may be a secret)."""

    field: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _fits_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(text: str) -> re.Pattern[str]:
    compiled = _patterns.get(text)
    if compiled is None:
        compiled = _patterns[text] = re.compile(text)
    return compiled


def check(schemas: Mapping[str, Any], schema: Any, value: Any, field: str, direction: Direction) -> list[Problem]:
    """Every way ``value`` breaks ``schema`` (empty when it fits). ``field`` names the value in the
    problems; ``direction`` applies OpenAPI's ``readOnly`` (not required in a request) and
    ``writeOnly`` (not required in an answer) rules; fields the schema does not list are refused in
    requests only."""
    problems: list[Problem] = []
    _check(schemas, schema, value, field, direction, problems, 0)
    return problems


def _resolve(schemas: Mapping[str, Any], schema: Any) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        schema = schemas[schema["$ref"].removeprefix(SCHEMA_REF)]
        seen += 1
    return schema


def _properties(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Properties of an object schema including those of its ``allOf`` parts."""
    found = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or ():
        found.update(_properties(schemas, _resolve(schemas, part)))
    return found


def _required(schemas: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    names = list(schema.get("required") or ())
    for part in schema.get("allOf") or ():
        names += _required(schemas, _resolve(schemas, part))
    return names


def _check(  # noqa: PLR0915, PLR0917 (one walk over the keywords reads best in one place)
    schemas: Mapping[str, Any],
    schema: Any,
    value: Any,
    field: str,
    direction: Direction,
    problems: list[Problem],
    depth: int,
) -> None:
    schema = _resolve(schemas, schema)
    if not isinstance(schema, dict) or depth > 40:
        return
    if value is None:
        if schema.get("nullable") or direction == "response":
            # CareCloud answers null for many fields the spec does not mark nullable; the client
            # parses a null as None everywhere, so answers may carry it. Requests must not.
            return
        if "type" in schema or "enum" in schema or "properties" in schema:
            problems.append(
                Problem(field, "invalid_value_format", f"must be {schema.get('type', 'a value')}, not null")
            )
        return
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if options:
            if not any(not check(schemas, option, value, field, direction) for option in options):
                problems.append(
                    Problem(field, "invalid_value_format", f"fits none of the {len(options)} allowed forms")
                )
            return
    kind = schema.get("type")
    if kind is None and ("properties" in schema or "allOf" in schema):
        kind = "object"
    if isinstance(kind, str) and not _fits_type(value, kind):
        problems.append(Problem(field, "invalid_value_format", f"must be {kind}, not {_json_type(value)}"))
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        allowed = ", ".join(repr(member) for member in enum)
        shown = f" {value!r}" if isinstance(value, (int, float, bool)) or len(str(value)) < 40 else ""
        problems.append(Problem(field, "not_allowed_value", f"value{shown} is not one of {allowed}"))
        return
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if pattern and direction == "request" and not _pattern(pattern).search(value):
            problems.append(Problem(field, "invalid_value_format", f"does not match the pattern {pattern}"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(Problem(field, "invalid_value_format", f"is longer than {schema['maxLength']} characters"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(Problem(field, "invalid_value_format", f"is below the minimum {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(Problem(field, "invalid_value_format", f"is above the maximum {schema['maximum']}"))
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(Problem(field, "invalid_value_format", f"has more than {schema['maxItems']} items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(Problem(field, "invalid_value_format", f"has fewer than {schema['minItems']} items"))
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                _check(schemas, items, item, f"{field}[{index}]", direction, problems, depth + 1)
    elif isinstance(value, dict):
        properties = _properties(schemas, schema)
        for name in _required(schemas, schema):
            if name in value:
                continue
            prop = _resolve(schemas, properties.get(name))
            skip = "readOnly" if direction == "request" else "writeOnly"
            if isinstance(prop, dict) and prop.get(skip):
                continue
            problems.append(Problem(_join(field, name), "required", "is required"))
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            prop = properties.get(name)
            if prop is not None:
                _check(schemas, prop, item, _join(field, name), direction, problems, depth + 1)
            elif isinstance(extra, dict):
                _check(schemas, extra, item, _join(field, name), direction, problems, depth + 1)
            elif direction == "request" and properties and extra is not True:
                problems.append(Problem(_join(field, name), "not_allowed", "is not a field of this object in the spec"))


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name
