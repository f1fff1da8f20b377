"""The helpers of ``make bench-percall``'s breakdown table (issue 27): what they count and compare."""

from __future__ import annotations

import json

import pytest

from scripts import bench_percall
from scripts.bench_percall import (
    FLOOR_DECODE,
    FLOOR_WITH_GC,
    OURS_WITH_GC,
    Step,
    body_counts,
    print_breakdown,
    small_page,
)


def test_body_counts_counts_every_object_and_key_at_any_depth() -> None:
    body = {"data": {"customers": [{"a": 1, "b": {"c": [{"d": None}]}}, {"a": 2}], "total_items": 2}}
    # objects: the page, data, two customers, b, the item of c; keys: 1 + 2 + 2 + 1 + 1 + 1
    assert body_counts(json.dumps(body).encode()) == (6, 8)


def test_body_counts_on_the_benchmark_pages_counts_one_model_per_object() -> None:
    pages = bench_percall.pages()
    customers = json.loads(pages["100 customers"][1])["data"]["customers"]
    objects, keys = body_counts(pages["100 customers"][1])
    assert len(customers) == 100
    assert objects > 2 + 100  # the page, its data, every customer and what each holds
    assert keys > objects


def test_small_page_keeps_the_first_items_and_the_rest_of_the_page() -> None:
    body = json.dumps({"data": {"purchases": [{"n": n} for n in range(5)], "total_items": 5}}).encode()
    small = json.loads(small_page(body, 2))
    assert small == {"data": {"purchases": [{"n": 0}, {"n": 1}], "total_items": 5}}


def test_the_breakdown_compares_each_step_with_the_floor_of_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    print_breakdown(
        [
            Step("p", FLOOR_DECODE, 200.0),
            Step("p", "ours: the copy", 100.0, 6, 8),
            Step("p", FLOOR_WITH_GC, 400.0),
            Step("p", OURS_WITH_GC, 600.0),
            Step("unit", "create and free", 0.11),
        ]
    )
    rows = {line.split(" | ")[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("| p |")}
    assert "| 0.50x | 6 | 8 |" in rows["ours: the copy"]
    assert "| 1.50x |" in rows[OURS_WITH_GC]  # against the floor with the collector on, not 3.00x
    assert "| 1.00x |" in rows[FLOOR_DECODE]


def test_no_breakdown_without_msgspec_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    print_breakdown([])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("page", ["100 customers", "100 purchases x 5 items"])
def test_the_attrs_twins_of_the_floor_decode_the_pages_into_slotted_attrs_objects_with_the_same_values(
    page: str,
) -> None:
    import attrs
    import msgspec

    path, body, _ = bench_percall.pages()[page]
    floor = msgspec.json.decode(body, type=bench_percall.floor_types()[path])
    twin = msgspec.json.decode(body, type=bench_percall.attrs_types()[path])
    assert attrs.has(type(twin))
    assert not isinstance(twin, msgspec.Struct)
    first = twin.data.customers[0] if path == "/customers" else twin.data.purchases[0].purchase_items[0]
    assert attrs.has(type(first))
    assert not hasattr(first, "__dict__")
    assert msgspec.to_builtins(twin) == msgspec.to_builtins(floor)
