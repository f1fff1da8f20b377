"""Contract: every operation of the generated package, called against Prism serving the vendor's spec.

One test per operation of ``carecloud_api._catalog.OPERATIONS`` (322). Each builds its
arguments from the spec's own examples and schemas (path parameters, every query and header
parameter, the JSON body through the body model's ``from_dict``), calls ``asyncio_detailed`` with
the generated client of a logged-in ``CareCloud`` for the interface that serves the operation
(its auth flow and headers, as users get them), and asserts that Prism found nothing to object to
(no ``sl-violations``, no 400/422), that the answer is 2xx, that a declared JSON success body
parses into the generated success model, and that the model gives back what it parsed
(``to_dict()`` round trip). Prism cannot check bracket array parameters (see
scripts/mock_server.py), so the URL the client sent is checked here instead.

Each of the 111 list operations is also walked through ``CareCloud.paginate`` (small pages,
bounded): the items it yields must be the example's list, parsed, which shows the list key the
catalog derived is the one the answers use.

Operations that cannot pass because of a generator or spec defect are listed in
``KNOWN_DEFECTS`` and run as strict xfails: fixing the defect turns them into failures until
they leave the list, so every listed reason stays real.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import functools
import importlib
import inspect
import json
import re
import types
import typing
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import carecloud_api
import carecloud_api.models
import httpx
import pytest
from carecloud_api._catalog import OPERATIONS, Operation
from carecloud_api.types import Response, Unset

from carecloud_async import CareCloud, Device, RetryPolicy
from carecloud_async._pagination import item_type_of
from scripts import catalog, mock_server, normalise, spec_source

pytestmark = pytest.mark.prism

TOKEN = "contract-test-token"  #: for raw httpx calls that bypass the client
SCHEMA_REF = "#/components/schemas/"

#: operation_id -> why it cannot pass today (each runs as a strict xfail, so it must still fail).
KNOWN_DEFECTS: dict[str, str] = {}

Json = Any


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends to Prism and shows each response, body read, to ``on_response`` once it is set."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.on_response: Callable[[httpx.Response], Any] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.on_response is not None:
            self.on_response(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def logged_in(
    prism: mock_server.PrismServer, interface: str, on_response: Callable[[httpx.Response], Any]
) -> AsyncIterator[CareCloud]:
    """A ``CareCloud`` for ``interface`` of the Prism mock, already authenticated (Enterprise
    login or Customer device token), retries off.

    ``on_response`` sees every ``httpx.Response`` after authentication (the suite checks what the
    client sent); the login itself is not shown.
    """
    recorder = RecordingTransport()
    cc = (
        CareCloud.enterprise(
            prism.root_url,
            user_external_application_id="89d1a6111b3fb6e74665d948",
            login="contract@example.com",
            password="prism-password",
            retry=RetryPolicy.disabled(),
            transport=recorder,
        )
        if interface == "enterprise"
        else CareCloud.customer(
            prism.root_url,
            external_application_id="82de12eb8b138791e678fd11c3",
            device=Device("contract-1", "Linux", "Contract suite", "kiosk"),
            retry=RetryPolicy.disabled(),
            transport=recorder,
        )
    )
    async with cc:
        await cc.authenticate()
        recorder.on_response = on_response
        yield cc


@contextlib.asynccontextmanager
async def make_client(
    prism: mock_server.PrismServer, interface: str, on_response: Callable[[httpx.Response], Any]
) -> AsyncIterator[carecloud_api.Client]:
    """The generated client of :func:`logged_in`: its auth flow and headers, as users get them."""
    async with logged_in(prism, interface, on_response) as cc:
        yield cc.api_client


# --------------------------------------------------------------------------- the spec


@functools.cache
def spec() -> normalise.Spec:
    """The normalised spec: the document the generated package was made from (its parameter
    names and types are the ones the generated functions take)."""
    return normalise.normalise(normalise.load(spec_source.obtain()))


def deref(node: Json) -> Json:
    return catalog.deref(spec(), node)


@functools.cache
def error_models() -> tuple[type, ...]:
    """The models of the shared error responses (``components/responses``)."""
    found = []
    for response in spec().get("components", {}).get("responses", {}).values():
        for media in response.get("content", {}).values():
            ref = media.get("schema", {}).get("$ref", "")
            if ref.startswith(SCHEMA_REF):
                found.append(getattr(carecloud_api.models, normalise.pascal_case(ref.removeprefix(SCHEMA_REF))))
    return tuple(found)


# --------------------------------------------------------------------------- sample values


def sample(schema: Json, *, depth: int = 0) -> Json:
    """A value for ``schema``: its example where the spec gives one, else synthesised.

    Objects get every property that is not ``readOnly`` (a request should not send those, and the
    request models do not demand them: see ``test_request_models_do_not_demand_read_only_fields``).
    """
    schema = deref(schema)
    if not isinstance(schema, dict):
        return "string"
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "allOf" in schema:
        merged: dict[str, Json] = {}
        for part in schema["allOf"]:
            value = sample(part, depth=depth)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return sample(schema[key][0], depth=depth)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 8:
            return {}
        return {
            name: sample(prop, depth=depth + 1)
            for name, prop in (schema.get("properties") or {}).items()
            if not deref(prop).get("readOnly")
        }
    if kind == "array":
        return [sample(schema.get("items", {}), depth=depth + 1)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    formats = {"date": "2024-01-31", "date-time": "2024-01-31T10:00:00Z", "email": "john@example.com"}
    return formats.get(schema.get("format", ""), "x" * max(1, schema.get("minLength", 6)))


def parameter_value(parameter: dict[str, Json]) -> Json:
    schema = deref(parameter.get("schema", {}))
    if "example" in parameter:
        value = copy.deepcopy(parameter["example"])
        if schema.get("type") == "array" and not isinstance(value, list):
            value = [value]
    else:
        value = sample(schema)
    free_text = "enum" not in deref(schema.get("items", {}))
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str) and free_text:
        # Two values, so the bracket syntax (`name[]=a&name[]=b`) is visible in the URL.
        value = [value[0], value[0] + "2"]
    return value


def snake_name(name: str) -> str:
    """The Python argument openapi-python-client makes of a parameter name."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.removesuffix("[]"))
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def concrete(annotation: Json) -> Json:
    """``X | Unset`` -> ``X``."""
    origin: Any = typing.get_origin(annotation)
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        options = [arg for arg in typing.get_args(annotation) if arg is not Unset]
        return options[0] if len(options) == 1 else annotation
    return annotation


def as_argument(value: Json, annotation: Json) -> Json:
    """A JSON value converted to what the generated function takes (enums, models)."""
    annotation = concrete(annotation)
    origin: Any = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return [as_argument(v, item) for v in value]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    if isinstance(annotation, type) and hasattr(annotation, "from_dict"):
        return annotation.from_dict(value)
    return value


# --------------------------------------------------------------------------- one operation


@dataclass
class Call:
    """Everything one contract call needs, derived from the catalog entry and the spec."""

    operation: Operation
    function: Callable[..., Any]
    kwargs: dict[str, Any]
    sent_arrays: dict[str, list[str]]  #: query parameter name as sent (``x[]``) -> values
    success_models: tuple[type[Any], ...]
    json_success: bool

    @property
    def interface(self) -> str:
        return "enterprise" if "enterprise" in self.operation.interfaces else "customer"


def spec_operation(operation: Operation) -> tuple[list[dict[str, Json]], dict[str, Json]]:
    item = spec()["paths"][operation.path]
    found: dict[str, Json] = item[operation.method.lower()]
    parameters = [normalise.resolve_parameter(spec(), p) for p in item.get("parameters", [])]
    parameters += [normalise.resolve_parameter(spec(), p) for p in found.get("parameters", [])]
    return parameters, found


def prepare(operation: Operation) -> Call:
    module = importlib.import_module(operation.module)
    function = module.asyncio_detailed
    hints = typing.get_type_hints(function)
    accepted = set(inspect.signature(function).parameters) - {"client"}
    parameters, found = spec_operation(operation)

    kwargs: dict[str, Any] = {}
    sent_arrays: dict[str, list[str]] = {}
    for parameter in parameters:
        # Deprecated optional parameters are not sent: Prism warns about them in sl-violations.
        if parameter.get("in") == "cookie" or (parameter.get("deprecated") and not parameter.get("required")):
            continue
        name = snake_name(parameter["name"])
        assert name in accepted, f"spec parameter {parameter['name']!r} has no argument in {operation.module}"
        value = parameter_value(parameter)
        kwargs[name] = as_argument(value, hints[name])
        if parameter["in"] == "query" and isinstance(value, list):
            sent_arrays[parameter["name"]] = [str(v) for v in value]

    body = (found.get("requestBody") or {}).get("content", {}).get("application/json")
    if body is not None:
        assert "body" in accepted, f"{operation.module} takes no body"
        kwargs["body"] = as_argument(sample(body["schema"]), hints["body"])

    missing = {
        name
        for name, p in inspect.signature(function).parameters.items()
        if p.default is inspect.Parameter.empty and name != "client" and name not in kwargs
    }
    assert not missing, f"required arguments without a spec parameter: {missing}"

    (returned,) = typing.get_args(hints["return"])  # Response[A | B | ...]
    members = typing.get_args(returned) or (returned,)
    success = tuple(m for m in members if isinstance(m, type) and hasattr(m, "from_dict") and m not in error_models())
    json_success = any(
        "application/json" in (deref(response).get("content") or {})
        for status, response in found["responses"].items()
        if str(status).startswith("2")
    )
    return Call(operation, function, kwargs, sent_arrays, success, json_success)


def operation_id(operation: Operation) -> str:
    return operation.operation_id or f"{operation.method} {operation.path}"


def cases() -> list[Any]:
    return [
        pytest.param(
            operation,
            id=operation_id(operation),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[operation_id(operation)])]
            if operation_id(operation) in KNOWN_DEFECTS
            else [],
        )
        for operation in OPERATIONS
    ]


# --------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Counts what happened to the operations; prints one summary line when the module ends."""
    counts: Counter[str] = Counter()
    yield counts
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not counts:
        return
    failed = counts["run"] - counts["passed"] - counts["xfailed"]
    known = "; ".join(f"{op}: {reason}" for op, reason in KNOWN_DEFECTS.items()) or "none"
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\ncontract: {counts['passed']} passed, {failed} failed, {counts['xfailed']} known defects "
            f"(strict xfail) of {counts['run']} run / {len(OPERATIONS)} operations; known defects: {known}"
        )


@pytest.mark.parametrize("operation", cases())
async def test_operation(operation: Operation, prism: mock_server.PrismServer, outcomes: Counter[str]) -> None:
    outcomes["run"] += 1
    if operation_id(operation) in KNOWN_DEFECTS:
        outcomes["xfailed"] += 1  # counted before it fails, as it must
    call = prepare(operation)
    seen: list[httpx.Response] = []
    try:
        async with make_client(prism, call.interface, seen.append) as client:
            response: Response[Any] = await call.function(client=client, **call.kwargs)
    except httpx.TransportError:
        prism.raise_if_exited()  # say so when Prism died, rather than fail every later test obscurely
        raise

    violations = response.headers.get("sl-violations")
    assert violations is None, f"Prism found the request invalid: {violations}"
    assert 200 <= response.status_code < 300, f"{response.status_code}: {response.content[:500]!r}"

    (sent,) = seen
    if operation.auth:  # CareCloud's auth flow put the token it obtained from Prism on the request
        assert sent.request.headers.get("Authorization", "").startswith("Bearer "), operation.path
    query = parse_qs(sent.request.url.query.decode(), keep_blank_values=True)
    for name, values in call.sent_arrays.items():
        assert query.get(name) == values, f"array parameter {name!r} sent as {sent.request.url.query!r}"

    if call.json_success:
        assert len(call.success_models) == 1, f"success models of {operation.module}: {call.success_models}"
        parsed: Any = response.parsed
        assert isinstance(parsed, call.success_models), f"parsed {type(parsed).__name__}"
        assert parsed.to_dict() == json.loads(response.content), "to_dict() differs from the body"
    outcomes["passed"] += 1


def test_known_defects_are_few_and_named() -> None:
    ids = {operation_id(operation) for operation in OPERATIONS}
    assert len(KNOWN_DEFECTS) <= 5, "the contract suite must cover (nearly) every operation"
    for name, reason in KNOWN_DEFECTS.items():
        assert name in ids, f"{name} is not an operation of the generated package"
        assert len(reason) > 20, f"{name}: give the defect, not a label"


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) == 322
    assert len({operation_id(op) for op in OPERATIONS}) == len(OPERATIONS)


async def test_bracket_arrays_reach_prism_and_plain_arrays_are_validated(prism: mock_server.PrismServer) -> None:
    """What the mock can and cannot check about array filters, pinned.

    The client sends ``email_list[]=a&email_list[]=b``; Prism (stoplightio/prism#2443) ignores
    bracketed keys, so only the URL proves the syntax. A plain repeated key against a parameter
    the vendor types ``string`` is what Prism does validate.
    """
    from carecloud_api.api.customers import get_customers

    seen: list[httpx.Response] = []
    async with make_client(prism, "enterprise", seen.append) as client:
        response = await get_customers.asyncio_detailed(client=client, email_list=["a@x.cz", "b@x.cz"])
    assert response.status_code == 200
    assert "sl-violations" not in response.headers
    assert parse_qs(seen[0].request.url.query.decode()) == {
        "email_list[]": ["a@x.cz", "b@x.cz"],
        "count": ["100"],
        "offset": ["0"],
    }

    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=prism.enterprise_url, headers=headers) as http:
        plain = await http.get("/vouchers", params={"reward_id": ["a", "b"]})
    assert plain.status_code == 400
    assert (
        json.loads(plain.headers["sl-violations"])[0]["message"] == "Request query parameter reward_id must be string"
    )


def test_request_models_do_not_demand_read_only_fields() -> None:
    """OAS 3.0: ``readOnly`` + ``required`` binds responses only. Every request body, built without
    any readOnly property, must be accepted by its model (scripts/normalise.py split_write_schemas:
    ``Store.store_id`` is required on ``Store``, optional on ``StoreWrite``)."""
    failures = []
    for operation in OPERATIONS:
        _, found = spec_operation(operation)
        body = (found.get("requestBody") or {}).get("content", {}).get("application/json")
        if body is None:
            continue
        hints = typing.get_type_hints(importlib.import_module(operation.module).asyncio_detailed)
        try:
            as_argument(sample(body["schema"]), hints["body"])
        except KeyError as exc:
            failures.append(f"{operation_id(operation)}: missing {exc}")
    assert not failures, failures


# --------------------------------------------------------------------------- every list, through paginate

LIST_OPERATIONS = [operation for operation in OPERATIONS if operation.paginated]
#: Pages are small and the walk bounded: Prism answers every page with the same example.
WALK_PAGE_SIZE, WALK_MAX_ITEMS = 2, 5


def as_json(value: Any) -> Json:
    """A parsed list item back in its JSON form (models, enums, dates)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def test_list_operations_are_counted() -> None:
    # The figure the README and the pagination guide give; a spec update that changes it shows here.
    print(f"\n{len(LIST_OPERATIONS)} list operations (count/offset and data.total_items)")
    assert len(LIST_OPERATIONS) == 111
    assert all("enterprise" in operation.interfaces for operation in LIST_OPERATIONS)


@pytest.mark.parametrize("operation", [pytest.param(op, id=operation_id(op)) for op in LIST_OPERATIONS])
async def test_paginate_walks_every_list_operation(operation: Operation, prism: mock_server.PrismServer) -> None:
    """``CareCloud.paginate`` finds each list's key: the items it yields are the example's list,
    parsed, and ``total_items`` is the example's; every page request is one Prism accepts."""
    kwargs = {k: v for k, v in prepare(operation).kwargs.items() if k not in {"count", "offset"}}
    walked: list[httpx.Response] = []
    async with logged_in(prism, "enterprise", walked.append) as cc:
        module = importlib.import_module(operation.module)
        item_type = item_type_of(operation)
        walk = cc.paginate(module, item_type=item_type, page_size=WALK_PAGE_SIZE, max_items=WALK_MAX_ITEMS, **kwargs)
        pages = [page async for page in walk.pages()]

    path = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(operation.path)) + "$")
    assert walked, "paginate sent no request"
    assert len(walked) == len(pages), [str(r.request.url) for r in walked]
    for response in walked:
        assert response.status_code == 200, response.content[:300]
        assert "sl-violations" not in response.headers, response.headers["sl-violations"]
        assert parse_qs(response.request.url.query.decode())["count"] == [str(WALK_PAGE_SIZE)]
        assert path.search(response.request.url.path), f"{response.request.url.path} is not {operation.path}"

    data = json.loads(walked[0].content)["data"]
    assert operation.list_key in data, f"{operation.list_key!r} is not a key of the answer: {sorted(data)}"
    first = pages[0]
    assert first.offset == 0
    assert first.total_items == data.get("total_items")
    expected = data[operation.list_key][:WALK_MAX_ITEMS]
    assert expected, "the example list is empty, so nothing shows the items were found"
    assert [as_json(item) for item in first.items] == expected
    assert all(isinstance(item, item_type) for page in pages for item in page.items)
    offsets = [page.offset for page in pages]
    assert offsets == sorted(set(offsets)), offsets
    assert sum(len(page.items) for page in pages) <= WALK_MAX_ITEMS


async def test_a_read_record_goes_back_whole_through_its_write_twin(prism: mock_server.PrismServer) -> None:
    """PUT replaces the whole record (an omitted field is deleted server-side), so an update is
    read, change, put: a ``Store`` read becomes a ``StoreWrite`` with every field, and Prism
    accepts it as the body of ``PUT /stores/{id}`` (docs/guide/models.md, "Updating records")."""
    from carecloud_api.api.stores import get_store, put_store
    from carecloud_api.models import PutStoreBody, Store, StoreWrite

    seen: list[httpx.Response] = []
    async with make_client(prism, "enterprise", seen.append) as client:
        read = await get_store.call(client, "8bed991c68a470e7aaeffbf048")
        assert isinstance(read.data, Store)
        changed = StoreWrite.from_dict(read.data.to_dict())
        changed.name = "Prague 2"
        await put_store.call(client, "8bed991c68a470e7aaeffbf048", body=PutStoreBody(store=changed))
    sent = json.loads(seen[-1].request.content)["store"]
    assert sent == {**read.data.to_dict(), "name": "Prague 2"}
    assert "sl-violations" not in seen[-1].headers
    assert seen[-1].status_code < 300
