"""Schema-valid response bodies generated from the normalised spec (the fuzzed parsing test).

A seeded, deterministic generator: the same spec and seed give the same bodies on every machine,
so a failure names a body that can be regenerated. Each body follows its schema (required fields
always, optional ones sometimes, enum values, array items, ``oneOf`` branches, merged ``allOf``)
and exercises what the server may send within it: nulls where the spec allows them (and, in one
variant, where it does not: the models parse those as None), empty arrays, unknown extra fields,
unknown enum values, odd but valid strings for date-like fields.

    >>> from scripts.spec_bodies import BodyGenerator, VARIANTS
    >>> spec = {"components": {"schemas": {"Item": {"type": "object", "required": ["id"],
    ...     "properties": {"id": {"type": "string"}, "state": {"type": "integer", "enum": [0, 1]}}}}}}
    >>> body = BodyGenerator(spec, seed=1).value({"$ref": "#/components/schemas/Item"}, VARIANTS[0])
    >>> sorted(body)[:1]
    ['id']
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]
SCHEMA_REF = "#/components/schemas/"
RESPONSE_REF = "#/components/responses/"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Strings a date-like field (``YYYY-MM-DD HH:MM:SS`` in its description, no ``format``) may hold:
# all valid for a ``type: string`` schema, several of them odd.
DATE_LIKE = (
    "2019-06-23 11:47:22",
    "2021-04-16 18:22:35.052987",
    "2021-04-16T18:22:35",
    "2021-04-16T18:22:35+02:00",
    "2021-04-16",
    "0000-00-00 00:00:00",
    "9999-12-31 23:59:59",
    "",
)
FULL_DATES = ("2021-04-16", "0001-01-01", "2024-02-29", "9999-12-31")
TEXT_ALPHABET = string.ascii_letters + string.digits + " -_.,:;/\\\"'{}[]" + "čřžýáíé€😀\u0000\n\t"
DATE_HINT = re.compile(r"YYYY-MM-DD|date|time|_change$|valid_(from|to)$", re.IGNORECASE)


@dataclass(frozen=True)
class Variant:
    """How a body is drawn: which optional content it has and how odd it may be."""

    name: str
    optional: float  #: chance that an optional property is present
    nulls: float  #: chance of null in a field the spec marks nullable
    stray_nulls: float  #: chance of null in a field the spec does not mark nullable
    extra_fields: float  #: chance that an object carries an unknown extra field
    unknown_enums: float  #: chance that an enum holds a value the spec does not list
    max_items: int  #: arrays hold 0..max_items items


VARIANTS: tuple[Variant, ...] = (
    Variant("typical", optional=0.7, nulls=0.2, stray_nulls=0.0, extra_fields=0.0, unknown_enums=0.0, max_items=3),
    Variant("minimal", optional=0.0, nulls=0.0, stray_nulls=0.0, extra_fields=0.0, unknown_enums=0.0, max_items=0),
    Variant("complete", optional=1.0, nulls=0.0, stray_nulls=0.0, extra_fields=0.0, unknown_enums=0.0, max_items=2),
    Variant("forward", optional=0.8, nulls=0.3, stray_nulls=0.0, extra_fields=0.5, unknown_enums=0.5, max_items=2),
    Variant("nulls", optional=0.9, nulls=1.0, stray_nulls=0.25, extra_fields=0.1, unknown_enums=0.1, max_items=2),
    Variant("empty-arrays", optional=1.0, nulls=0.0, stray_nulls=0.0, extra_fields=0.0, unknown_enums=0.0, max_items=0),
)


def _resolve(spec: Spec, ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def success_schemas(spec: Spec) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    """(METHOD, path, status, schema) for every operation's first 2xx response with a JSON body."""
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for code, response in sorted(operation.get("responses", {}).items()):
                if not code.startswith("2"):
                    continue
                resolved = _resolve(spec, response["$ref"]) if "$ref" in response else response
                schema = resolved.get("content", {}).get("application/json", {}).get("schema")
                if isinstance(schema, dict):
                    yield method.upper(), path, int(code), schema
                    break


class BodyGenerator:
    """Draws JSON values that satisfy a schema of ``spec`` (``$ref``s into its components)."""

    def __init__(self, spec: Spec, *, seed: int = 0, max_depth: int = 7):
        self.spec = spec
        self.random = random.Random(seed)  # noqa: S311 (test data, reproducible on purpose)
        self.max_depth = max_depth

    # ------------------------------------------------------------------ schema helpers

    def _deref(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            schema = _resolve(self.spec, schema["$ref"])
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _merge_all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for node in [schema, *schema.get("allOf", [])]:
            part = self._deref(node)
            if "allOf" in part and part is not schema:
                part = self._merge_all_of(part)
            merged["properties"].update(part.get("properties") or {})
            merged["required"] += [name for name in part.get("required") or () if name not in merged["required"]]
            if part.get("additionalProperties") is False:
                merged["additionalProperties"] = False
        return merged

    # ------------------------------------------------------------------ values

    def value(self, schema: Any, variant: Variant, *, depth: int = 0, name: str = "", description: str = "") -> Any:
        """A value for ``schema`` drawn the ``variant`` way."""
        rng = self.random
        schema = self._deref(schema)
        description = description or str(schema.get("description") or "")
        if "allOf" in schema:
            return self.value(self._merge_all_of(schema), variant, depth=depth, name=name, description=description)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branch = rng.choice(schema[key])
                return self.value(branch, variant, depth=depth, name=name, description=description)
        if "enum" in schema:
            return self._enum(schema, variant)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._object(schema, variant, depth)
        if kind == "array":
            return self._array(schema, variant, depth, name)
        if kind == "string":
            return self._string(schema, name, description)
        if kind == "integer":
            return rng.choice((0, 1, -1, 7, 2**31, -(2**53), rng.randint(-(10**9), 10**9)))
        if kind == "number":
            return rng.choice((0, 0.5, -1.25, 3, 1e-7, 1.5e12, round(rng.uniform(-1000, 1000), 2)))
        if kind == "boolean":
            return rng.random() < 0.5
        return self._anything(depth)

    def _enum(self, schema: dict[str, Any], variant: Variant) -> Any:
        values = [value for value in schema["enum"] if value is not None]
        if self.random.random() < variant.unknown_enums and values:
            if isinstance(values[0], bool):
                return self.random.choice(values)
            if isinstance(values[0], int):
                return 9000 + self.random.randint(0, 99)  # an integer the spec does not list
            return f"new-value-{self.random.randint(0, 99)}"
        return self.random.choice(values) if values else None

    def _object(self, schema: dict[str, Any], variant: Variant, depth: int) -> dict[str, Any]:
        rng = self.random
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        result: dict[str, Any] = {}
        for prop_name, prop_schema in properties.items():
            is_required = prop_name in required
            if not is_required and (depth >= self.max_depth or rng.random() >= variant.optional):
                continue
            resolved = self._deref(prop_schema)
            nullable = bool(prop_schema.get("nullable") or resolved.get("nullable"))
            if (nullable and rng.random() < variant.nulls) or rng.random() < variant.stray_nulls:
                result[prop_name] = None
                continue
            description = str(prop_schema.get("description") or "")
            result[prop_name] = self.value(
                prop_schema, variant, depth=depth + 1, name=prop_name, description=description
            )
        additional = schema.get("additionalProperties")
        if not properties and additional is None and not required:
            return self._anything(depth) if depth < self.max_depth and rng.random() < 0.5 else {}
        if isinstance(additional, dict) and additional:
            for index in range(rng.randint(0, 2)):
                result[f"key_{index}"] = self.value(additional, variant, depth=depth + 1)
        elif additional is not False and rng.random() < variant.extra_fields:
            result[f"x_unknown_{rng.randint(0, 9)}"] = self._anything(depth + 1)
        return result

    def _array(self, schema: dict[str, Any], variant: Variant, depth: int, name: str) -> list[Any]:
        if depth >= self.max_depth:
            return []
        count = self.random.randint(0, variant.max_items)
        items = schema.get("items") or {}
        return [self.value(items, variant, depth=depth + 1, name=name) for _ in range(count)]

    def _string(self, schema: dict[str, Any], name: str, description: str) -> str:
        rng = self.random
        fmt = schema.get("format")
        if fmt == "date":
            return rng.choice(FULL_DATES)
        if fmt == "byte":
            return rng.choice(("", "aGVsbG8=", "AAAA"))
        if DATE_HINT.search(name) or "YYYY-MM-DD" in description:
            return rng.choice(DATE_LIKE)
        length = rng.choice((0, 1, 8, 24))
        return "".join(rng.choice(TEXT_ALPHABET) for _ in range(length))

    def _anything(self, depth: int) -> Any:
        rng = self.random
        choice = rng.randint(0, 5)
        if choice == 0:
            return ""  # not null: OpenAPI 3.0 allows null only where a schema says nullable
        if choice == 1:
            return rng.randint(-5, 5)
        if choice == 2:
            return "free-form"
        if choice == 3 and depth < self.max_depth:
            return {"nested": [1, "two", None], "flag": True}
        if choice == 4:
            return [rng.random() < 0.5, 1.5]
        return {}


def mutate(body: Any, rng: random.Random) -> Any:
    """A copy of ``body`` with one value replaced by a value of another JSON type (not schema-valid)."""
    if not isinstance(body, dict) or not body:
        return ["not", "an", "object"]
    result = dict(body)
    key = rng.choice(sorted(result))
    current = result[key]
    if isinstance(current, dict) and current and rng.random() < 0.6:
        result[key] = mutate(current, rng)
    else:
        replacements = [
            value for value in ("text", 12, 1.5, True, [1, "x"], {"odd": 1}, []) if type(value) is not type(current)
        ]
        result[key] = rng.choice(replacements)
    return result


def example_body(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """A value for ``schema`` built from the spec's own ``example`` of every property (recursively;
    a property without one gets a plain value of its type, a list gets one item)."""
    while isinstance(schema, dict) and "$ref" in schema:
        schema = _resolve(spec, schema["$ref"])
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "example" in schema and schema.get("type") not in ("object", "array") and "properties" not in schema:
        return schema["example"]
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return example_body(spec, schema[key][0], depth + 1)
    if schema.get("type") == "array":
        item = example_body(spec, schema.get("items", {}), depth + 1)
        return [] if item is None else [item]
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    if schema.get("properties"):
        result = {}
        for name, prop in schema["properties"].items():
            value = example_body(spec, prop, depth + 1)
            if value is not None:
                result[name] = value
        return result
    return {"string": "text", "integer": 1, "number": 1.5, "boolean": True, "object": {}}.get(str(schema.get("type")))
