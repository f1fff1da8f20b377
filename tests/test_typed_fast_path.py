"""The typed fast path gives what the tolerant path gives, or nothing (issue 27).

With msgspec installed, ``parsing.parse`` first decodes a body in C into msgspec Structs that take
exactly what the spec describes, and the generated ``_from_wire`` copies them into the models;
anything else falls back to ``from_dict``. These tests hold the fast path to the tolerant one:
for every example model of the spec and every fuzzed (and wrong-typed) body of every operation,
a fast result has the same models, field by field and type by type, the same ``unknown_fields``,
``raw_values`` and ``to_dict()``; and a body parses or fails the same way with the fast path on
and off. They also check that the fast path is taken at all, and that it costs no import time.
"""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
from carecloud_api import models, parsing

from scripts import normalise
from scripts.spec_bodies import VARIANTS, BodyGenerator, example_body, mutate, success_schemas

ROOT = Path(__file__).resolve().parent.parent
BODIES_PER_OPERATION = 12  # 2 of each variant
MUTATIONS_PER_OPERATION = 4


@pytest.fixture(autouse=True)
def _fast_path_restored() -> Iterator[None]:
    previous = parsing.set_fast_path(True)
    yield
    parsing.set_fast_path(previous)


def shape(value: Any) -> Any:
    """``value`` with every type spelled out: models field by field, with their unknown fields and
    raw values; an enum member is not its int, 660 is not 660.0."""
    if attrs.has(type(value)):
        fields = tuple((field.name, shape(getattr(value, field.name))) for field in attrs.fields(type(value)))
        return (type(value).__name__, fields, shape(dict(value.raw_values)))
    if isinstance(value, list):
        return ("list", [shape(item) for item in value])
    if isinstance(value, dict):
        return ("dict", {key: shape(item) for key, item in value.items()})
    return (type(value).__qualname__, repr(value))


def outcome(parse: Any, content: bytes) -> Any:
    """The shape of what ``parse(content)`` gives, or the type and text of what it raises."""
    try:
        result = parse(content)
    except Exception as exc:  # the outcome compared, whatever it is
        return ("raised", type(exc).__name__, str(exc))
    return ("parsed", shape(result), shape(result.to_dict()))


def _tolerant(model: type[Any]) -> Any:
    return lambda content: model.from_dict(json.loads(content))


def _parse_response(module: ModuleType, response: httpx.Response, _content: bytes) -> Any:
    return module._parse_success(response)


def _model_of(module: ModuleType) -> Any:
    return typing.get_type_hints(module._parse_success)["return"]


def test_every_example_model_decodes_by_the_fast_path_to_what_from_dict_gives(spec: normalise.Spec) -> None:
    schemas = spec["components"]["schemas"]
    by_class = {normalise.pascal_case(str(schema.get("title") or name)): schema for name, schema in schemas.items()}
    taken = 0
    differences: list[str] = []
    for name in models.__all__:
        cls = getattr(models, name)
        if not hasattr(cls, "_from_wire") or name not in by_class:
            continue
        body = example_body(spec, by_class[name])
        if not isinstance(body, dict):
            continue
        content = json.dumps(body).encode()
        fast = parsing.typed_decode(cls, content)
        if fast is None:
            continue
        taken += 1
        expected = outcome(_tolerant(cls), content)
        if ("parsed", shape(fast), shape(fast.to_dict())) != expected:
            differences.append(name)
    assert differences == []
    # the examples are what the spec describes: they take the fast path (162 models here)
    assert taken > 150


def test_fuzzed_bodies_parse_the_same_with_and_without_the_fast_path(
    spec: normalise.Spec, modules: dict[tuple[str, str], ModuleType]
) -> None:
    generator = BodyGenerator(spec, seed=20261207)
    rng = random.Random(27)  # noqa: S311 (reproducible test data)
    taken: dict[str, int] = {variant.name: 0 for variant in VARIANTS}
    differences: list[str] = []
    bodies = 0
    for method, path, status, schema in success_schemas(spec):
        module = modules[(method, path)]
        model = _model_of(module)
        candidates = [
            (VARIANTS[i % len(VARIANTS)].name, generator.value(schema, VARIANTS[i % len(VARIANTS)]))
            for i in range(BODIES_PER_OPERATION)
        ]
        candidates += [
            ("mutated", mutate(generator.value(schema, VARIANTS[i % len(VARIANTS)]), rng))
            for i in range(MUTATIONS_PER_OPERATION)
        ]
        for variant, body in candidates:
            bodies += 1
            content = json.dumps(body).encode()
            response = httpx.Response(status, content=content, request=httpx.Request(method, "https://x.test/"))
            parse_success = functools.partial(_parse_response, module, response)
            parsing.set_fast_path(False)
            expected = outcome(parse_success, content)
            parsing.set_fast_path(True)
            found = outcome(parse_success, content)
            fast = parsing.typed_decode(model, content)
            if fast is not None:
                taken[variant] = taken.get(variant, 0) + 1
                found_fast = ("parsed", shape(fast), shape(fast.to_dict()))
                if found_fast != expected:
                    differences.append(f"{method} {path} [{variant}] typed_decode differs <- {body!r:.300}")
            if found != expected:
                differences.append(f"{method} {path} [{variant}] parse differs <- {body!r:.300}")
    assert differences == [], f"{len(differences)} of {bodies} bodies:\n" + "\n".join(differences[:10])
    operations = bodies // (BODIES_PER_OPERATION + MUTATIONS_PER_OPERATION)
    # the bodies the spec describes exactly take the fast path (2 of each variant per operation);
    # stray nulls, unknown fields and unknown enum values of the wrong type mostly fall back
    assert taken["minimal"] == taken["complete"] == taken["empty-arrays"] == 2 * operations
    assert taken["nulls"] < operations
    assert taken["forward"] < operations


def test_what_the_spec_does_not_describe_falls_back_and_keeps_the_tolerant_reading() -> None:
    customer = {"customer_id": "c1", "personal_information": {"language_id": "en", "birthdate": "1985-02-12"}}
    page = {"data": {"customers": [customer], "total_items": 1}}
    fits = json.dumps(page).encode()
    assert parsing.typed_decode(models.GetCustomers200Response, fits) is not None
    odd = [
        {**customer, "new_field": 1},  # an unknown field: kept in unknown_fields
        {**customer, "customer_id": 7},  # a number in a string field: its text, raw_values
        {**customer, "state": None},  # a stray null
        {**customer, "state": "1"},  # a numeric string in an int enum
        {**customer, "personal_information": {"language_id": "en", "birthdate": "0000-00-00"}},
        {**customer, "personal_information": {"language_id": "en", "consents": {}}},  # PHP's empty array
    ]
    for variant in odd:
        content = json.dumps({"data": {"customers": [variant], "total_items": 1}}).encode()
        assert parsing.typed_decode(models.GetCustomers200Response, content) is None, variant
        parsed = parsing.parse(models.GetCustomers200Response.from_dict, content)
        assert shape(parsed) == shape(models.GetCustomers200Response.from_dict(json.loads(content)))
    kept = parsing.parse(
        models.GetCustomers200Response.from_dict, json.dumps({"data": {"customers": [odd[0]]}}).encode()
    )
    assert kept.data.customers[0].unknown_fields == {"new_field": 1}
    text = parsing.parse(
        models.GetCustomers200Response.from_dict, json.dumps({"data": {"customers": [odd[1]]}}).encode()
    )
    assert text.data.customers[0].customer_id == "7"
    assert text.data.customers[0].raw_values == {"customer_id": 7}


def test_an_unknown_enum_value_is_kept_by_the_fast_path_as_by_from_dict() -> None:
    content = json.dumps(
        {"customer_id": "c1", "state": 9, "personal_information": {"language_id": "en", "gender": 7}}
    ).encode()
    fast = parsing.typed_decode(models.Customer, content)
    assert fast is not None
    assert fast.state.is_unknown
    assert fast.state == 9
    assert fast.personal_information.gender.is_unknown
    assert shape(fast) == shape(models.Customer.from_dict(json.loads(content)))
    assert fast.to_dict() == json.loads(content)


def test_strict_mode_does_not_take_the_fast_path() -> None:
    # the fast path would take this body (gender is nullable in the spec); strict mode refuses the
    # stray null in last_change through from_dict, with the field named
    content = json.dumps(
        {"customer_id": "c1", "last_change": None, "personal_information": {"language_id": "en"}}
    ).encode()
    with parsing.strict(), pytest.raises(parsing.NullNotAllowed, match=r"Customer\.last_change"):
        parsing.parse(models.Customer.from_dict, content)
    assert parsing.parse(models.Customer.from_dict, content).last_change is None


def test_a_body_that_is_not_json_is_the_same_parse_error_with_the_fast_path() -> None:
    with pytest.raises(parsing.ResponseParseError, match="body is not JSON"):
        parsing.parse(models.Customer.from_dict, b"<html>")


def _run(code: str, **env: str) -> str:
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, **env}
    )
    return result.stdout.strip()


def test_msgspec_is_imported_on_the_first_parse_only_and_the_environment_turns_the_fast_path_off() -> None:
    code = (
        "import sys, carecloud_async\n"
        "from carecloud_api import parsing\n"
        "from carecloud_api.models import Customer\n"
        "before = 'msgspec' in sys.modules\n"
        'parsing.parse(Customer.from_dict, b\'{"personal_information": {"language_id": "en"}}\')\n'
        "print(before, 'msgspec' in sys.modules, parsing.fast_path)\n"
    )
    assert _run(code) == "False True True"
    assert _run(code, CARECLOUD_FAST_PARSE="0") == "False False False"


def test_without_msgspec_every_body_is_parsed_by_from_dict() -> None:
    code = (
        "import sys\n"
        "sys.modules['msgspec'] = None  # as if the fast extra were not installed\n"
        "from carecloud_api import parsing\n"
        "from carecloud_api.models import Customer\n"
        'body = b\'{"customer_id": "c1", "personal_information": {"language_id": "en"}}\'\n'
        "print(parsing.typed_decode(Customer, body), parsing.parse(Customer.from_dict, body).customer_id)\n"
    )
    assert _run(code) == "None c1"


def test_a_repeated_key_and_a_lone_surrogate_read_as_the_tolerant_path_reads_them() -> None:
    # a key twice: the last value, as json and orjson give it; a lone surrogate: msgspec refuses
    # it and the body goes to the JSON decoder, which decides as before
    repeated = b'{"consent_id": "a", "consent_value": 1, "consent_id": "b"}'
    fast = parsing.typed_decode(models.Consents, repeated)
    assert fast is not None
    assert shape(fast) == shape(models.Consents.from_dict(json.loads(repeated)))
    assert fast.consent_id == "b"
    surrogate = b'{"consent_id": "a\\ud800", "consent_value": 1}'
    assert parsing.typed_decode(models.Consents, surrogate) is None
    with_fast_path = outcome(functools.partial(parsing.parse, models.Consents.from_dict), surrogate)
    parsing.set_fast_path(False)
    assert outcome(functools.partial(parsing.parse, models.Consents.from_dict), surrogate) == with_fast_path


def test_a_union_two_levels_down_is_read_by_the_fast_path_as_from_dict_reads_it(spec: normalise.Spec) -> None:
    # A purchase page's _from_wire builds its purchases, their items and the items' property
    # records in place, without calling the records' own _from_wire: the record's property_value
    # (a string, number, boolean, list or object) must still read as from_dict reads it, an object
    # becoming the union's model.
    purchase = example_body(spec, spec["components"]["schemas"]["Purchase"])
    assert purchase["purchase_items"][0]["additional_properties"], "the example has no item property records"
    values: list[Any] = ["VIP", 42, 149.9, True, ["a", 1], [], {"street": "Main St", "city": "Prague"}, {}]
    for value in values:
        purchase["purchase_items"][0]["additional_properties"][0]["property_value"] = value
        purchase["property_records"][0]["property_value"] = value
        content = json.dumps({"data": {"purchases": [purchase], "total_items": 1}}).encode()
        fast = parsing.typed_decode(models.GetPurchases200Response, content)
        assert fast is not None, value
        expected = outcome(_tolerant(models.GetPurchases200Response), content)
        assert ("parsed", shape(fast), shape(fast.to_dict())) == expected, value
        read = fast.data.purchases[0].purchase_items[0].additional_properties[0].property_value
        if isinstance(value, dict):
            assert isinstance(read, models.PropertyRecordPropertyValueType5)
            assert read.unknown_fields == value
        else:
            assert read == value
            assert type(read) is type(value)
    # null is not a member: the fast path leaves the body to from_dict, which keeps it as None
    purchase["purchase_items"][0]["additional_properties"][0]["property_value"] = None
    content = json.dumps({"data": {"purchases": [purchase], "total_items": 1}}).encode()
    assert parsing.typed_decode(models.GetPurchases200Response, content) is None
    parsed = parsing.parse(models.GetPurchases200Response.from_dict, content)
    assert parsed.data.purchases[0].purchase_items[0].additional_properties[0].property_value is None


def test_a_json_decoder_of_the_applications_own_is_used_for_every_body() -> None:
    # The fast path ignored set_json_decoder: with parse_float=Decimal, parse() gave floats
    # where from_dict(parsing.loads(...)) gave Decimals.
    import decimal

    body = b'{"credit": 0.1, "credit_points": 2.5}'
    parsing.set_json_decoder(functools.partial(json.loads, parse_float=decimal.Decimal))
    try:
        parsed = parsing.parse(models.AcceptedPayment.from_dict, body)
    finally:
        parsing.set_json_decoder(None)
    assert parsed.credit == decimal.Decimal("0.1")
    assert isinstance(parsed.credit_points, decimal.Decimal)
    # Back on a standard decoder, the fast path is taken again.
    assert parsing.typed_decode(models.AcceptedPayment, body) is not None


def test_a_subclass_of_a_model_is_built_as_the_subclass() -> None:
    # _from_wire is inherited and builds the generated class: a subclass got its base class back.
    @attrs.define
    class Mine(models.AcceptedPayment):
        pass

    parsed = parsing.parse(Mine.from_dict, b'{"credit": 0.1, "credit_points": 2.5}')
    assert type(parsed) is Mine
    assert parsed.credit == 0.1
