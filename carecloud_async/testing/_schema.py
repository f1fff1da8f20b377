"""Validate a JSON value against a schema of the spec (the OpenAPI 3.0 subset CareCloud uses).

A small validator of our own rather than a dependency: the spec uses ``type``, ``properties``,
``required``, ``items``, ``enum``, ``nullable``, ``pattern``, ``maxItems``, ``readOnly`` and a few
``oneOf``/``allOf``, and the fake needs what a generic JSON Schema library does not give: OpenAPI's
``nullable`` and ``readOnly``/``writeOnly`` rules (a required read-only field is required in
answers only), fields not in the spec refused in requests, and each problem as a field path plus
one of CareCloud's own reason codes (``required``, ``not_allowed_value``, ``invalid_value_format``,
``not_allowed``), which the fake puts in its 400 answers. The bound keywords (minimum, maximum,
minLength, maxLength, pattern, minItems, maxItems) are checked by the client's own check
(:func:`carecloud_async._constraint_checks.value_problem`), so the fake refuses exactly the values
the client refuses before sending, in the same words.

    problems = check(schemas, {"$ref": "#/components/schemas/Card"}, {"card_number": 1}, "card", "request")
    # [Problem(field='card.card_number', reason='invalid_value_format', message='must be string, not integer'), ...]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from carecloud_async._constraint_checks import value_problem

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


class _Bounds(NamedTuple):
    """A schema's bound keywords in the client's names, for the client's own check (value_problem)."""

    minimum: float | None
    maximum: float | None
    min_length: int | None
    max_length: int | None
    pattern: str | None
    ignore_case: bool
    min_items: int | None
    max_items: int | None


_BOUND_KEYWORDS = ("minimum", "maximum", "minLength", "maxLength", "pattern", "minItems", "maxItems")
_IGNORE_CASE = "(?i)"  # how _contract.json marks a pattern applied ignoring case (scripts.request_constraints)


@functools.cache
def _bounds(minimum: Any, maximum: Any, min_length: Any, max_length: Any, pattern: Any, *items: Any) -> _Bounds:
    ignore_case = isinstance(pattern, str) and pattern.startswith(_IGNORE_CASE)
    if ignore_case:
        pattern = pattern.removeprefix(_IGNORE_CASE)
    return _Bounds(minimum, maximum, min_length, max_length, pattern, ignore_case, *items)


def _bounds_problem(schema: Mapping[str, Any], value: Any, direction: Direction) -> str | None:
    """What the spec's bounds in ``schema`` say about ``value``: the client's words and check
    (:func:`carecloud_async._constraint_checks.value_problem`), so the two cannot disagree. Patterns
    apply to requests only (CareCloud's answers are not held to them)."""
    if schema.keys().isdisjoint(_BOUND_KEYWORDS):  # most schemas: nothing to build
        return None
    found = [schema.get(keyword) for keyword in _BOUND_KEYWORDS]
    if direction != "request":
        found[4] = None
    if not any(keyword is not None for keyword in found):
        return None
    return value_problem(_bounds(*found), value)


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


def _check(  # noqa: PLR0917 (the walk carries its state as arguments)
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
    problem = _bounds_problem(schema, value, direction)
    if problem is not None:
        problems.append(Problem(field, "invalid_value_format", problem))
    if isinstance(value, list):
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
