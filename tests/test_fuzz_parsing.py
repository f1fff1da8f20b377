"""Fuzzed parsing of every operation's success response (issue 10, item 9).

Bodies come from scripts/spec_bodies.py, a seeded generator fed by the normalised spec (the same
bodies on every run): for each operation with a JSON success body, BODIES_PER_OPERATION bodies
over the variants (typical, minimal, complete, forward-compatible extras and unknown enum values,
nulls, empty arrays). Each one is sent through the operation's own ``_parse_success`` as the bytes
of an ``httpx.Response``, the path ``call()`` takes. A schema-valid body must parse, and its
``to_dict()`` must give the body back; a body with one value of the wrong type must parse or raise
one of ``errors.PARSE_ERRORS`` (what ``call()`` turns into ``UnparseableResponse`` and
carecloud_async into ``ResponseParseError``), never anything else.
"""

from __future__ import annotations

import importlib
import json
import random
import time
import typing
from types import ModuleType
from typing import Any

import httpx
from carecloud_api import errors, parsing
from carecloud_api._catalog import OPERATIONS

from scripts import normalise
from scripts.spec_bodies import VARIANTS, BodyGenerator, mutate, success_schemas

BODIES_PER_OPERATION = 24  # 4 of each variant
MUTATIONS_PER_OPERATION = 6


def _catalog_operations_with_a_body() -> list[str]:
    """The catalog's operations whose ``call`` returns a model (not None: no body)."""
    found = []
    for operation in OPERATIONS:
        returns = typing.get_type_hints(importlib.import_module(operation.module).call)["return"]
        if returns is not type(None):
            found.append(operation.module)
    return found


def _response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), request=httpx.Request("GET", "https://x.test/"))


def test_every_success_schema_parses_fuzzed_bodies_and_round_trips(
    spec: normalise.Spec, modules: dict[tuple[str, str], ModuleType]
) -> None:
    started = time.perf_counter()
    generator = BodyGenerator(spec, seed=20261129)
    failures: list[str] = []
    bodies = operations = 0
    for method, path, status, schema in success_schemas(spec):
        module = modules[(method, path)]
        operations += 1
        for index in range(BODIES_PER_OPERATION):
            variant = VARIANTS[index % len(VARIANTS)]
            body = generator.value(schema, variant)
            bodies += 1
            try:
                parsed = module._parse_success(_response(status, body))
            except Exception as exc:  # every failure is collected and reported
                failures.append(f"{method} {path} [{variant.name}]: {type(exc).__name__}: {exc} <- {body!r:.300}")
                continue
            if parsed.to_dict() != body:
                failures.append(f"{method} {path} [{variant.name}]: to_dict differs <- {body!r:.300}")
    elapsed = time.perf_counter() - started
    print(f"\nfuzzed parsing: {bodies} bodies over {operations} operations in {elapsed:.1f} s")
    assert failures == [], f"{len(failures)} of {bodies} bodies failed:\n" + "\n".join(failures[:20])
    # every operation with a JSON success body (the others answer 204), counted in the catalog: a
    # newer spec with more operations fuzzes more, it does not fail here
    assert operations == len(_catalog_operations_with_a_body())
    assert bodies == operations * BODIES_PER_OPERATION


def test_every_success_schema_refuses_wrong_types_only_with_parse_errors(
    spec: normalise.Spec, modules: dict[tuple[str, str], ModuleType]
) -> None:
    generator = BodyGenerator(spec, seed=7)
    rng = random.Random(7)  # noqa: S311 (reproducible test data)
    outcomes = {"parsed": 0, "refused": 0}
    others: list[str] = []
    for method, path, status, schema in success_schemas(spec):
        module = modules[(method, path)]
        for index in range(MUTATIONS_PER_OPERATION):
            body = mutate(generator.value(schema, VARIANTS[index % len(VARIANTS)]), rng)
            try:
                module._parse_success(_response(status, body))
            except errors.PARSE_ERRORS:
                outcomes["refused"] += 1
            except Exception as exc:  # the point: nothing else may escape
                others.append(f"{method} {path}: {type(exc).__name__}: {exc} <- {body!r:.300}")
            else:
                outcomes["parsed"] += 1
    print(f"\nwrong-type bodies: {outcomes}")
    assert others == []
    assert outcomes["refused"] > 100  # the mutations do reach typed fields


def test_strict_mode_refuses_only_stray_nulls(spec: normalise.Spec, modules: dict[tuple[str, str], ModuleType]) -> None:
    # The "nulls" variant puts null in fields the spec does not mark nullable: strict mode must
    # refuse those bodies with NullNotAllowed, and accept every body of the null-free variants.
    generator = BodyGenerator(spec, seed=11)
    strict_variants = [v for v in VARIANTS if v.stray_nulls == 0 and v.nulls == 0]
    refused = 0
    with parsing.strict():
        for method, path, status, schema in success_schemas(spec):
            module = modules[(method, path)]
            for variant in strict_variants:
                module._parse_success(_response(status, generator.value(schema, variant)))
            body = generator.value(schema, VARIANTS[4])
            try:
                module._parse_success(_response(status, body))
            except parsing.NullNotAllowed:
                refused += 1
    assert refused > 50
