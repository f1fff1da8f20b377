"""The fake's request validator (carecloud_async/testing/_schema.py) against random bodies.

For the request bodies of the operations the fake keeps state for, hypothesis builds bodies the
spec allows (every required field, any optional ones, patterns, enums, nullable, oneOf) and the
validator must accept each; then one scalar field is given a value of the wrong type and the
validator must refuse the body naming exactly that field.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecloud_async.testing._contract import Contract
from carecloud_async.testing._schema import check

CONTRACT = Contract.load()
OPERATIONS = (
    "postCustomer",
    "putCustomer",
    "postCard",
    "putCard",
    "postAssignCard",
    "postPurchaseSend",
    "postPurchaseAcceptPayment",
    "postEvent",
    "postPointsAssign",
    "postToken",
    "postTokenLogin",
    "postSubCustomerSource",
)
SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = CONTRACT.schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_read_only(schema: Any) -> bool:
    return bool(resolve(schema).get("readOnly")) if isinstance(resolve(schema), dict) else False


def values(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the spec allows for ``schema`` in a request."""
    schema = resolve(schema)
    inner = _values(schema, depth)
    return st.one_of(st.none(), inner) if schema.get("nullable") else inner


def _values(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return st.one_of([values(option, depth + 1) for option in schema[key]])
    if schema.get("enum"):
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        props = schema.get("properties") or {}
        required = [name for name in schema.get("required") or () if not _is_read_only(props.get(name, {}))]
        optional = {} if depth > 3 else {n: values(p, depth + 1) for n, p in props.items() if n not in required}
        return st.fixed_dictionaries({n: values(props.get(n, {}), depth + 1) for n in required}, optional=optional)
    if kind == "array":
        return st.lists(values(schema.get("items", {}), depth + 1), max_size=min(2, schema.get("maxItems", 2)))
    if kind == "string":
        if schema.get("pattern"):
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(max_size=8)
    if kind == "integer":
        return st.integers(-1000, 1000)
    if kind == "number":
        return st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    return st.one_of(st.text(max_size=4), st.integers(), st.booleans())


def scalar_fields(schema: Any, value: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    """(field path, path of keys) of every present field whose schema is a plain scalar type."""
    schema = resolve(schema)
    if not isinstance(schema, dict) or schema.get("oneOf") or schema.get("anyOf"):
        return []
    found: list[tuple[str, list[Any]]] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name, item in value.items():
            sub = f"{path}.{name}" if path else name
            prop = resolve(props.get(name))
            scalar = isinstance(prop, dict) and prop.get("type") in ("string", "integer", "number", "boolean")
            if scalar and not prop.get("oneOf") and item is not None:
                found.append((sub, [name]))
            found += [(p, [name, *keys]) for p, keys in scalar_fields(props.get(name), item, sub)]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            sub = f"{path}[{index}]"
            found += [(p, [index, *keys]) for p, keys in scalar_fields(schema.get("items"), item, sub)]
    return found


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_bodies_the_spec_allows_are_accepted_and_one_wrong_field_is_named(operation_id: str) -> None:
    body_schema = CONTRACT.operation(operation_id).body
    assert body_schema is not None

    @SETTINGS
    @given(body=values(body_schema["schema"]), data=st.data())
    def run(body: dict[str, Any], data: st.DataObject) -> None:
        assert check(CONTRACT.schemas, body_schema["schema"], body, "", "request") == []
        fields = scalar_fields(body_schema["schema"], body)
        if not fields:
            return
        field, keys = data.draw(st.sampled_from(fields))
        target: Any = body
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = ["not", "a", "scalar"]
        problems = check(CONTRACT.schemas, body_schema["schema"], body, "", "request")
        assert [(p.field, p.reason) for p in problems] == [(field, "invalid_value_format")]

    run()
