"""Every model of the spec's examples survives ``from_dict(to_dict(x)) == x`` (issue 15).

The parsing code of api-spec/templates/model.py.jinja was rewritten for speed; this holds every
model to what it did before: the body built from the spec's examples parses, ``to_dict()`` gives
that body back, and parsing the output again gives an equal model.
"""

from __future__ import annotations

import copy
import pickle
import sys
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from carecloud_api import models
from carecloud_api.types import UNSET

from scripts import normalise
from scripts.spec_bodies import example_body


def test_every_model_with_a_schema_round_trips_its_example(spec: normalise.Spec) -> None:
    schemas = spec["components"]["schemas"]
    by_class = {normalise.pascal_case(str(schema.get("title") or name)): schema for name, schema in schemas.items()}
    checked: list[str] = []
    failures: list[str] = []
    for name in models.__all__:
        cls = getattr(models, name)
        if not hasattr(cls, "from_dict") or name not in by_class:
            continue
        body = example_body(spec, by_class[name])
        if not isinstance(body, dict):
            continue
        try:
            parsed = cls.from_dict(body)
        except Exception as exc:  # every failure is collected and reported
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if parsed.to_dict() != body or cls.from_dict(parsed.to_dict()) != parsed:
            failures.append(f"{name}: does not round-trip")
        checked.append(name)
    assert failures == []
    assert len(checked) > 150  # the component schemas that are objects (152 in the pinned spec, plus twins)


def test_every_response_model_round_trips_the_example_of_its_operation(spec: normalise.Spec) -> None:
    from scripts.spec_bodies import success_schemas

    checked = 0
    for _method, _path, _status, schema in success_schemas(spec):
        title = str(schema.get("title") or "")
        cls = getattr(models, normalise.pascal_case(title), None) if title else None
        if cls is None:
            continue
        body = example_body(spec, schema)
        parsed = cls.from_dict(body)
        assert parsed.to_dict() == body, title
        assert cls.from_dict(parsed.to_dict()) == parsed, title
        checked += 1
    assert checked > 250


def _unset_fields(model: Any) -> int:
    return sum(getattr(model, field.name) is UNSET for field in attrs.fields(type(model)))


def _complete_bodies(spec: normalise.Spec) -> Iterator[tuple[str, type[Any], dict[str, Any]]]:
    """(class name, model class, body with every field) for each model with the fast read."""
    from scripts.spec_bodies import VARIANTS, BodyGenerator

    complete = next(variant for variant in VARIANTS if variant.name == "complete")
    generator = BodyGenerator(spec, seed=15)
    schemas = spec["components"]["schemas"]
    for schema_name, schema in schemas.items():
        name = normalise.pascal_case(str(schema.get("title") or schema_name))
        cls = getattr(models, name, None)
        module = sys.modules.get(getattr(cls, "__module__", ""))
        if cls is None or not hasattr(module, "_READ_ALL"):
            continue
        body = generator.value({"$ref": f"#/components/schemas/{schema_name}"}, complete)
        if isinstance(body, dict) and len(body) == module._N_FIELDS:  # type: ignore[union-attr]
            yield name, cls, body


def test_the_fast_read_and_the_per_key_read_give_the_same_model(spec: normalise.Spec) -> None:
    # from_dict reads every field with one itemgetter call when the mapping has exactly the
    # model's fields (api-spec/templates/model.py.jinja), and key by key otherwise. Both must
    # build the same model: the complete body takes the fast read; the same body with one unknown
    # key added takes the per-key read and differs only by that key in unknown_fields.
    checked = 0
    for name, cls, body in _complete_bodies(spec):
        fast = cls.from_dict(body)
        slow = cls.from_dict({**body, "zz_not_in_the_spec": [1]})
        assert slow.unknown_fields == {"zz_not_in_the_spec": [1]}, name
        slow.unknown_fields.clear()
        assert fast == slow, name
        assert fast.unknown_fields == {}, name
        assert fast.to_dict() == body, name
        checked += 1
    assert checked > 100


def test_a_missing_field_and_an_unknown_one_with_the_same_count_are_both_kept(spec: normalise.Spec) -> None:
    # The case the key count alone cannot tell: one optional field left out and one unknown field
    # added keep the count of the model's fields, so the fast read fails on the missing key and
    # the per-key read takes over. The unknown field must land in unknown_fields, the missing one
    # must be UNSET, and to_dict must give the body back.
    checked = 0
    for name, cls, body in _complete_bodies(spec):
        parsed = None
        for left_out in reversed(list(body)):  # the last field whose absence from_dict accepts
            swapped = {key: value for key, value in body.items() if key != left_out}
            swapped["zz_not_in_the_spec"] = "kept"
            try:
                parsed = cls.from_dict(swapped)
            except KeyError:  # a required field
                continue
            break
        if parsed is None:
            continue
        assert _unset_fields(parsed) == _unset_fields(cls.from_dict(body)) + 1, name  # the one left out
        assert parsed.unknown_fields == {"zz_not_in_the_spec": "kept"}, name
        assert parsed.to_dict() == swapped, name
        checked += 1
    assert checked > 100


# unknown_fields of a parsed model with no unknown field is created on first read: from_dict stores
# None in the slot and carecloud_api.parsing.UnknownFields, the attribute, turns it into a new {}.
# Everything a user can do with the attribute must behave as when from_dict stored an empty dict.

_CUSTOMER = {"customer_id": "c1", "personal_information": {"language_id": "en", "first_name": "Jane"}, "state": 1}


def test_unknown_fields_of_a_parsed_model_is_an_empty_dict_that_keeps_what_is_written() -> None:
    customer = models.Customer.from_dict(_CUSTOMER)
    assert customer.unknown_fields == {}
    assert customer.unknown_fields is customer.unknown_fields  # one dict, created once
    customer.unknown_fields["x_added"] = 1
    customer["y_added"] = [2]
    assert "y_added" in customer
    assert customer.additional_keys == ["x_added", "y_added"]
    assert customer.to_dict() == {**_CUSTOMER, "x_added": 1, "y_added": [2]}
    del customer["x_added"]
    assert customer.unknown_fields == {"y_added": [2]}
    info = models.Customer.from_dict(_CUSTOMER).personal_information
    assert isinstance(info, models.PersonalInformation)
    info["z_added"] = True  # __setitem__ before any read
    assert info.to_dict()["z_added"] is True


def test_to_dict_does_not_create_the_empty_unknown_fields() -> None:
    # The memory saved by leaving it out would come back with every to_dict() of a parsed page.
    customer = models.Customer.from_dict(_CUSTOMER)
    assert customer.to_dict() == _CUSTOMER
    assert customer._unknown_fields_raw is None  # type: ignore[attr-defined]
    assert customer.unknown_fields == {}
    assert customer._unknown_fields_raw == {}  # type: ignore[attr-defined]  # now created, and kept
    with_extra = models.Customer.from_dict({**_CUSTOMER, "x_new": 1})
    assert with_extra._unknown_fields_raw == {"x_new": 1}  # type: ignore[attr-defined]


def test_a_parsed_model_equals_and_reprs_like_the_same_model_built_by_init() -> None:
    parsed = models.Customer.from_dict(_CUSTOMER)
    built = models.Customer(
        customer_id="c1",
        personal_information=models.PersonalInformation(language_id="en", first_name="Jane"),
        state=models.CustomerState(1),
    )
    assert parsed == built
    assert repr(parsed) == repr(built)
    assert "unknown_fields={}" in repr(parsed)
    assert attrs.asdict(parsed) == attrs.asdict(built)
    assert models.Customer.from_dict({**_CUSTOMER, "x_new": 1}) != built


def test_unset_stays_the_one_unset_through_copies_and_pickles() -> None:
    # Generated code tests `value is UNSET`: a copied model whose fields held a new Unset object
    # wrote it into to_dict() (or failed there). api-spec/templates/types.py.jinja fixes Unset.
    assert copy.copy(UNSET) is UNSET
    assert copy.deepcopy(UNSET) is UNSET
    assert pickle.loads(pickle.dumps(UNSET)) is UNSET  # noqa: S301 (our own bytes)
    info = copy.deepcopy(models.PersonalInformation.from_dict({"language_id": "en"}))
    assert info.gender is UNSET
    assert info.to_dict() == {"language_id": "en"}


@pytest.mark.parametrize("extra", [{}, {"x_new": {"nested": [1]}}])
def test_copies_and_pickles_keep_unknown_fields(extra: dict[str, Any]) -> None:
    original = models.Customer.from_dict({**_CUSTOMER, **extra})
    for copied in (
        copy.copy(original),
        copy.deepcopy(models.Customer.from_dict({**_CUSTOMER, **extra})),
        pickle.loads(pickle.dumps(models.Customer.from_dict({**_CUSTOMER, **extra}))),  # noqa: S301 (our own bytes)
    ):
        assert copied == original
        assert copied.unknown_fields == extra
        assert copied.to_dict() == {**_CUSTOMER, **extra}


def test_a_misspelt_attribute_still_raises_attribute_error() -> None:
    customer = models.Customer.from_dict(_CUSTOMER)
    with pytest.raises(AttributeError, match="'Customer' object has no attribute 'custmer_id'") as caught:
        customer.custmer_id  # type: ignore[attr-defined]  # noqa: B018 (the read is the test)
    assert caught.value.name == "custmer_id"
    assert caught.value.obj is customer
    assert not hasattr(customer, "no_such_field")


def test_threads_reading_unknown_fields_first_share_one_dict() -> None:
    # The first read creates the dict under a lock: threads racing to it must all get the one
    # that is kept, so a write through any of them is not lost.
    for _ in range(50):
        customer = models.Customer.from_dict(_CUSTOMER)
        barrier = threading.Barrier(4)
        seen: list[dict[str, Any]] = []

        def read(
            customer: models.Customer = customer,
            barrier: threading.Barrier = barrier,
            seen: list[dict[str, Any]] = seen,
        ) -> None:
            barrier.wait()
            seen.append(customer.unknown_fields)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({id(fields) for fields in seen}) == 1
        assert seen[0] is customer.unknown_fields
