"""The generated resource tree (``cc.customers.list()``): every operation exactly once, per API,
sent through the client's call path with its checks and per-call options."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from carecloud_api._catalog import OPERATIONS
from carecloud_api.models import PostCustomerVerifyCredentialsBody, PostCustomerVerifyCredentialsBodyLoginType
from hypothesis import given, settings
from hypothesis import strategies as st

from carecloud_async import (
    CareCloud,
    CustomerCareCloud,
    Device,
    EnterpriseCareCloud,
    MemoryTokenStore,
    RequestValidationError,
    RetryPolicy,
)
from carecloud_async import _plain_inputs as plain_inputs
from carecloud_async._resource_base import Resource
from carecloud_async._resources import CustomerResources, EnterpriseResources
from scripts import resources

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER_BASE = "https://demo.example.com/webservice/rest-api/customer-interface/v1.0"
ROOT = Path(__file__).resolve().parent.parent


def person(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "personal_information": {"first_name": "Jane", "language_id": "en"}}


class Recorder:
    """Stands in for the client while walking the tree: notes the operation each method reaches."""

    def __init__(self, interface: str) -> None:
        self.reached: list[tuple[str, str]] = []
        self.config = type("Config", (), {"interface": interface})()

    async def call(self, function: Any, /, *args: Any, **kwargs: Any) -> None:
        module = sys.modules[function.__module__]
        self.reached.append((module.METHOD, module.PATH))

    def check_operation(self, operation: Any) -> None:
        pass

    def with_options(self, **options: Any) -> Recorder:
        return self


def _dummy_arguments(method: Any) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in list(inspect.signature(method).parameters.values()):
        if parameter.default is not inspect.Parameter.empty or parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        value = None if parameter.name == "body" else "x"
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
        else:
            kwargs[parameter.name] = value
    return args, kwargs


async def walk(
    root_class: type, interface: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str]]:
    """Call every method reachable from the root (groups, sub-resources) and record the routes.

    A list method's paginator is not built (its checks would want a real body): the module it
    would page is recorded instead; the tests through a client below build real ones."""
    recorder = Recorder(interface)

    def paginate(self: Resource, module: str, kwargs: Any, options: Any, /, **pagination: Any) -> str:
        operation = importlib.import_module(module)
        recorder.reached.append((operation.METHOD, operation.PATH))
        assert set(pagination) == {"page_size", "max_items", "concurrency", "start"}
        return "paginator"

    monkeypatch.setattr(Resource, "_paginate", paginate)
    # Dummy arguments ("x" for an enum too): what the walk checks is where each method leads.
    monkeypatch.setattr(plain_inputs, "accept_plain_inputs", lambda function, route, kwargs: kwargs)
    root: Any = type("Root", (root_class,), {})()  # with a __dict__, as the client has
    names: dict[tuple[str, str], str] = {}

    async def visit(node: Any, dotted: str) -> None:
        for name in sorted(dir(type(node))):
            if name.startswith("_") or name == "raw_response":
                continue
            attribute = inspect.getattr_static(type(node), name)
            if isinstance(attribute, (property, functools.cached_property)):
                child = getattr(node, name)
                assert isinstance(child, Resource)
                child._client = recorder
                await visit(child, f"{dotted}.{name}")
            elif inspect.isfunction(attribute):
                before = len(recorder.reached)
                method = getattr(node, name)
                args, kwargs = _dummy_arguments(method)
                result = method(*args, **kwargs)
                if inspect.isawaitable(result):
                    await result
                else:
                    assert result == "paginator"
                assert len(recorder.reached) == before + 1
                names[recorder.reached[-1]] = f"{dotted}.{name}"

    await visit(root, "cc")
    return recorder.reached, names


async def test_the_tree_reaches_every_operation_exactly_once_per_api(monkeypatch: pytest.MonkeyPatch) -> None:
    reached = {}
    names = {}
    for api, root in (("enterprise", EnterpriseResources), ("customer", CustomerResources)):
        reached[api], names[api] = await walk(root, api, monkeypatch)
        expected = Counter((op.method, op.path) for op in OPERATIONS if api in op.interfaces)
        assert Counter(reached[api]) == expected, api  # each once, nothing of the other API
    assert len(set(reached["enterprise"]) | set(reached["customer"])) == len(OPERATIONS) == 322
    # One place per operation: an operation both APIs serve has the same method path in both.
    for route in set(names["enterprise"]) & set(names["customer"]):
        assert names["enterprise"][route] == names["customer"][route]
    assert names["enterprise"][("GET", "/customers")] == "cc.customers.list"
    assert names["enterprise"][("GET", "/customers/{customer_id}/cards")] == "cc.customers.cards.list"
    assert names["enterprise"][("POST", "/customers/actions/verify-credentials")] == "cc.customers.verify_credentials"
    assert names["customer"][("POST", "/purchases/actions/send-purchase")] == "cc.purchases.send_purchase"
    assert names["enterprise"][("PUT", "/customers/{customer_id}")] == "cc.customers.update"
    assert names["enterprise"][("POST", "/cards/batch")] == "cc.cards.create_batch"
    assert names["customer"][("POST", "/tokens/{token_id}/actions/logout")] == "cc.tokens.logout"
    assert names["enterprise"][("GET", "/messages/{message_id}/detail")] == "cc.messages.get_detail"  # override


def test_naming_rules_and_their_refusals() -> None:
    assert resources.place("GET", "/customers/{customer_id}", False) == (("customers",), "get")
    assert resources.place("GET", "/rewards/tags", True) == (("rewards", "tags"), "list")
    assert resources.place("POST", "/rewards/{reward_id}/actions/create-voucher", False) == (
        ("rewards",),
        "create_voucher",
    )
    ops = [op for op in OPERATIONS if op.path in ("/customers", "/agreements")]
    with pytest.raises(resources.ResourceError, match=r"both map to customers\.list"):
        resources.placements(ops, {"GET /agreements": (("customers",), "list")})
    with pytest.raises(resources.ResourceError, match="does not have"):
        resources.placements(ops, {"GET /no-such-path": (("x",), "y")}, strict=True)
    # The override file names only operations of the pinned spec.
    resources.placements(OPERATIONS, resources.load_overrides(), strict=True)


def test_generated_modules_say_they_are_generated_and_match_the_catalog() -> None:
    folder = ROOT / "carecloud_async" / "_resources"
    files = sorted(folder.glob("*.py"))
    assert len(files) > 50
    for path in files:
        assert path.read_text(encoding="utf-8").startswith(resources.HEADER), path


# --------------------------------------------------------------------------- through a client


def enterprise(**kwargs: Any) -> EnterpriseCareCloud:
    return CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy.disabled(),
        **kwargs,
    )


def login(router: respx.Router | Any) -> None:
    router.post(f"{BASE}/users/actions/login").respond(
        200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}
    )


@respx.mock
async def test_get_create_update_and_an_action_send_what_the_operation_says() -> None:
    login(respx)
    get = respx.get(f"{BASE}/customers/c1").respond(200, json={"data": person("c1")})
    verify = respx.post(f"{BASE}/customers/actions/verify-credentials").respond(
        200, json={"data": {"customer_id": "c42"}}
    )
    async with enterprise() as cc:
        assert isinstance(cc, EnterpriseCareCloud)
        customer = await cc.customers.get("c1")
        result = await cc.customers.verify_credentials(
            PostCustomerVerifyCredentialsBody(
                login_type=PostCustomerVerifyCredentialsBodyLoginType.EMAIL, login_value="j@x.cz", password="pw"
            )
        )
    assert get.call_count == 1
    assert customer.data.customer_id == "c1"  # type: ignore[union-attr]
    assert result.data.customer_id == "c42"  # type: ignore[union-attr]
    assert json.loads(verify.calls[0].request.content)["login_value"] == "j@x.cz"


@respx.mock
async def test_a_list_is_a_typed_paginator_over_every_page() -> None:
    login(respx)
    pages = [
        {"data": {"customers": [person("a"), person("b")], "total_items": 3}},
        {"data": {"customers": [person("c")], "total_items": 3}},
    ]
    route = respx.get(f"{BASE}/customers").mock(side_effect=[httpx.Response(200, json=p) for p in pages])
    async with enterprise() as cc:
        ids = [c.customer_id async for c in cc.customers.list(email="j@x.cz", page_size=2)]
    assert ids == ["a", "b", "c"]
    first = route.calls[0].request.url.params
    assert (first["email"], first["count"], first["offset"]) == ("j@x.cz", "2", "0")
    assert route.calls[1].request.url.params["offset"] == "2"


@respx.mock
async def test_one_page_and_a_sub_resource() -> None:
    login(respx)
    card = {"card_id": "k1", "card_type_id": "t", "card_number": "1", "state": 1}
    route = respx.get(f"{BASE}/customers/c1/cards").respond(200, json={"data": {"cards": [card], "total_items": 9}})
    async with enterprise() as cc:
        page = await cc.customers.cards.list("c1", page_size=1).first_page()
    assert [card.card_id for card in page.items] == ["k1"]
    assert page.total_items == 9
    assert route.call_count == 1


@respx.mock
async def test_per_call_options_apply_to_that_call_only() -> None:
    login(respx)
    route = respx.get(f"{BASE}/customers/c1").respond(200, json={"data": person("c1")})
    async with enterprise() as cc:
        await cc.customers.get("c1", extra_headers={"X-Correlation-Id": "r1"}, language="cs", timeout=3)
        await cc.customers.get("c1")
    first, second = (call.request for call in route.calls)
    assert first.headers["X-Correlation-Id"] == "r1"
    assert first.headers["Accept-Language"] == "cs"
    assert first.extensions["timeout"]["read"] == 3
    assert "X-Correlation-Id" not in second.headers
    assert second.headers["Accept-Language"] == "en"


@respx.mock
async def test_per_call_retry_settings() -> None:
    login(respx)
    route = respx.get(f"{BASE}/customers/c1").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"data": person("c1")})]
    )
    async with CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy(max_attempts=1),
    ) as cc:
        retry = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_cap=0.001)
        customer = await cc.customers.get("c1", retry=retry)
    assert customer.data.customer_id == "c1"  # type: ignore[union-attr]
    assert route.call_count == 2


@respx.mock
async def test_raw_response_from_the_tree() -> None:
    login(respx)
    respx.get(f"{BASE}/customers/c1").respond(
        200, json={"data": person("c1")}, headers={"X-Request-Id": "rq1", "Cache-Control": "max-age=30"}
    )
    async with enterprise() as cc:
        raw = await cc.raw_response(cc.customers.get, "c1")
    assert (raw.status_code, raw.request_id, raw.max_age) == (200, "rq1", 30)
    assert raw.parsed.data.customer_id == "c1"  # type: ignore[union-attr]


async def test_run_time_checks_still_apply_before_sending() -> None:
    async with enterprise(transport=httpx.MockTransport(lambda request: httpx.Response(500))) as cc:
        with pytest.raises(RequestValidationError, match="did you mean 'email'"):
            cc.customers.list(emial="j@x.cz")  # type: ignore[call-arg]
        with pytest.raises(RequestValidationError, match="customer_id must be str, not int"):
            await cc.customers.get(42)  # type: ignore[arg-type]


async def test_a_with_options_view_keeps_its_tree_and_options() -> None:
    async with enterprise() as cc:
        view = cc.with_options(max_attempts=1)
        assert isinstance(view, EnterpriseCareCloud)
        assert view.customers._client is view


def customer_client(**kwargs: Any) -> CustomerCareCloud:
    return CareCloud.customer(
        "demo.example.com",
        external_application_id="app",
        device=Device("d1", "Linux", "Kiosk", "kiosk"),
        token_store=MemoryTokenStore(),
        retry=RetryPolicy.disabled(),
        **kwargs,
    )


async def test_the_other_apis_operations_are_refused_at_run_time_for_untyped_callers() -> None:
    async with customer_client(transport=httpx.MockTransport(lambda request: httpx.Response(500))) as cc:
        assert isinstance(cc, CustomerCareCloud)
        untyped: Any = cc
        with pytest.raises(RequestValidationError, match=r"POST /cards is available only in the Enterprise API"):
            await untyped.cards.create(body=None)
        with pytest.raises(RequestValidationError, match="/users is part of the Enterprise API only"):
            untyped.users.list()
        with pytest.raises(AttributeError):
            untyped.no_such_resource  # noqa: B018
    async with enterprise() as ent:
        with pytest.raises(RequestValidationError, match="tokens is part of the Customer API only"):
            await (ent.tokens.logout)("tok")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- types (mypy)

TYPED_USER = """\
from carecloud_async import CareCloud, Device


async def main() -> None:
    async with CareCloud.enterprise("x", user_external_application_id="a", login="l", password="p") as cc:
        reveal_type(cc)
        reveal_type(await cc.customers.get("c1"))
        async for customer in cc.customers.list(email="j@x.cz"):
            reveal_type(customer)
        reveal_type(cc.customers.cards.list("c1"))
        reveal_type(await cc.raw_response(cc.customers.get, "c1"))
        reveal_type(cc.with_options(timeout=5).customers)
        print(cc.cards.create_batch)  # Enterprise only: fine here
        await cc.customers.verify_credentials({"login_type": "email", "login_value": "j", "password": "p"})
        cc.customers.list(sort_direction="DESC")
        await cc.customers.verify_credentials({"login_type": "email", "login_valeu": "j", "password": "p"})
        cc.customers.list(sort_direction="DSC")
    async with CareCloud.customer("x", external_application_id="a", device=Device("d", "s", "n", "t")) as cu:
        await cu.cards.create_batch(body=None)  # Enterprise only: an error here
"""


def run_mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``source`` as a user's ``user.py``, outside the tree (the installed package)."""
    (tmp_path / "user.py").write_text(source, encoding="utf-8")
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "user.py"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": ""},
    )


def test_types_are_inferred_per_api_without_annotations(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, TYPED_USER)
    revealed = [line.split("Revealed type is ", 1)[1] for line in result.stdout.splitlines() if "Revealed" in line]
    assert revealed == [
        '"carecloud_async._client.EnterpriseCareCloud"',
        '"carecloud_api.models.get_customer_200_response.GetCustomer200Response"',
        '"carecloud_api.models.customer.Customer"',
        '"carecloud_async._pagination.Paginator[carecloud_api.models.card.Card]"',
        '"carecloud_async._raw_responses.RawResponse[carecloud_api.models.get_customer_200_response.GetCustomer200Response]"',
        '"carecloud_async._resources.customers.EnterpriseCustomersResource"',
    ], result.stdout
    errors = [line.split("  [")[0] for line in result.stdout.splitlines() if "error:" in line]
    # Misspelt: a dict key (the body's TypedDict) and an enum's plain value (its Literal).
    assert errors[0].startswith('user.py:16: error: Argument 1 to "verify_credentials"'), result.stdout
    assert "PostCustomerVerifyCredentialsBodyDict" in errors[0]
    assert errors[1].startswith('user.py:17: error: Argument "sort_direction" to "list"'), result.stdout
    assert errors[2] == 'user.py:19: error: "CustomerCardsResource" has no attribute "create_batch"', result.stdout
    assert len(errors) == 3, result.stdout


def test_module_of_every_operation_is_importable_from_the_tree() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "carecloud_async" / "_resources").glob("*.py"))
    for op in OPERATIONS:
        assert f'"{op.module}"' in text
        importlib.import_module(op.module)


# --------------------------------------------------------------------------- plain inputs

NEW_CUSTOMER: Any = {  # Any: the refusals below are for callers without a type checker
    "customer": {"personal_information": {"language_id": "en", "first_name": "Jane", "gender": 2}},
    "customer_source": {"customer_source_id": "s1"},
    "autologin": False,
}


@respx.mock
async def test_a_body_may_be_a_dict_with_plain_enum_values() -> None:
    login(respx)
    route = respx.post(f"{BASE}/customers").respond(201, json={"data": {"customer_id": "c9"}})
    verify = respx.post(f"{BASE}/customers/actions/verify-credentials").respond(
        200, json={"data": {"customer_id": "c42"}}
    )
    async with enterprise() as cc:
        created = await cc.customers.create(
            {
                "customer": {"personal_information": {"language_id": "en", "first_name": "Jane", "gender": 2}},
                "customer_source": {"customer_source_id": "s1"},
                "autologin": False,
            }
        )
        await cc.customers.verify_credentials({"login_type": "email", "login_value": "j@x.cz", "password": "pw"})
    assert created.data.customer_id == "c9"  # type: ignore[union-attr]
    assert json.loads(route.calls[0].request.content) == NEW_CUSTOMER
    assert json.loads(verify.calls[0].request.content)["login_type"] == "email"


@respx.mock
async def test_an_enum_parameter_takes_its_plain_value() -> None:
    login(respx)
    route = respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [], "total_items": 0}})
    async with enterprise() as cc:
        assert await cc.customers.list(sort_direction="DESC").collect() == []
    assert route.calls[0].request.url.params["sort_direction"] == "DESC"


async def test_a_misspelt_key_or_enum_value_in_a_dict_is_refused_with_the_closest_name() -> None:
    async with enterprise(transport=httpx.MockTransport(lambda request: httpx.Response(500))) as cc:
        misspelt: Any = {**NEW_CUSTOMER, "customer": {"personal_information": {"language_id": "en", "frist_name": "J"}}}
        with pytest.raises(
            RequestValidationError,
            match=r"POST /customers: body\.customer\.personal_information: PersonalInformation has no field "
            r"'frist_name'; did you mean 'first_name'\?",
        ):
            await cc.customers.create(misspelt)
        with pytest.raises(
            RequestValidationError,
            match=r"body\.login_type: 'emial' is not a PostCustomerVerifyCredentialsBodyLoginType value; "
            r"did you mean 'email'\?",
        ):
            await cc.customers.verify_credentials(
                {"login_type": "emial", "login_value": "j", "password": "p"}  # type: ignore[arg-type]
            )
        with pytest.raises(RequestValidationError, match="sort_direction: 'DSC' is not a SortDirection value; did you"):
            cc.customers.list(sort_direction="DSC")  # type: ignore[arg-type]
        with pytest.raises(RequestValidationError, match=r"body: missing the required field 'autologin'"):
            await cc.customers.create({"customer": NEW_CUSTOMER["customer"], "customer_source": {}})  # type: ignore[arg-type]
        bad_gender: Any = {"language_id": "en", "gender": 9}
        with pytest.raises(RequestValidationError, match=r"body\.customer\.personal_information\.gender: 9 is not a"):
            await cc.customers.create({**NEW_CUSTOMER, "customer": {"personal_information": bad_gender}})  # type: ignore[arg-type]


async def test_a_model_built_with_a_plain_enum_value_is_refused_naming_the_member() -> None:
    # Plain values are for the tree's parameters and dict bodies; a model's constructor wants the
    # member (resources.md says so): it does not check, so the tree refuses the model before sending.
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    body = PostCustomerVerifyCredentialsBody(login_type="email", login_value="j", password="p")  # type: ignore[arg-type]
    async with enterprise(transport=httpx.MockTransport(answer)) as cc:
        with pytest.raises(
            RequestValidationError,
            match=r"body\.login_type must be PostCustomerVerifyCredentialsBodyLoginType, not str; "
            r"pass PostCustomerVerifyCredentialsBodyLoginType\.EMAIL",
        ):
            await cc.customers.verify_credentials(body)
    assert sent == []


async def test_every_required_field_a_dict_body_leaves_out_is_named_in_one_message() -> None:
    """Issue: the required fields of a body were refused one per try (customer_source, then autologin)."""
    async with enterprise(transport=httpx.MockTransport(lambda request: httpx.Response(500))) as cc:
        with pytest.raises(RequestValidationError) as refused:
            await cc.customers.create({"customer": NEW_CUSTOMER["customer"]})  # type: ignore[arg-type]
        assert str(refused.value) == "POST /customers: body: missing the required fields 'customer_source', 'autologin'"
        with pytest.raises(RequestValidationError) as refused:
            await cc.cards.create({})  # type: ignore[arg-type]
        assert str(refused.value) == "POST /cards: body: missing the required field 'card'"
        # Inside a list item too, with the path to it; the fields given are not named.
        records: Any = {**NEW_CUSTOMER, "property_records": [{"property_id": "p1", "value": "v"}, {"value": "v"}]}
        with pytest.raises(RequestValidationError) as refused:
            await cc.customers.create(records)
        assert (
            str(refused.value) == "POST /customers: body.property_records[1]: missing the required field 'property_id'"
        )


def test_each_operation_page_of_the_docs_shows_its_method_path() -> None:
    from carecloud_async._resources._method_paths import METHOD_PATHS
    from scripts import docs_reference

    assert len(METHOD_PATHS) == len(OPERATIONS)
    by_route = {(op.method, op.path): op for op in OPERATIONS}
    listing = docs_reference.operation_doc(by_route[("GET", "/customers")], {}, METHOD_PATHS)
    page = docs_reference.render_operation(listing, {})
    assert "| Method path | `cc.customers.list` |" in page
    assert "async for item in cc.customers.list():" in page
    update = docs_reference.operation_doc(by_route[("PUT", "/customers/{customer_id}")], {}, METHOD_PATHS)
    assert "result = await cc.customers.update(customer_id, body)" in docs_reference.render_operation(update, {})


def test_no_resource_shadows_an_attribute_of_the_client() -> None:
    groups = {name for root in (EnterpriseResources, CustomerResources) for name in vars(root) if name[0] != "_"}
    assert "customers" in groups
    client = CareCloud.enterprise("demo.example.com", user_external_application_id="a", login="l", password="p")
    assert groups.isdisjoint(set(dir(CareCloud)) | set(vars(client)))


# --------------------------------------------------------------------------- a property of dict bodies

ADDRESS_KEYS = ["address1", "address2", "address3", "zip", "city", "country_code"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    known=st.dictionaries(st.sampled_from(ADDRESS_KEYS), st.text(max_size=8), max_size=6),
    extra=st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_123", min_size=1, max_size=12).filter(
            lambda key: key not in {*ADDRESS_KEYS, "address4", "address5", "address6", "address7"}
        ),
        st.text(max_size=4),
        max_size=2,
    ),
)
def test_a_dict_body_is_sent_as_written_or_refused_naming_the_unknown_key(
    known: dict[str, str], extra: dict[str, str]
) -> None:
    """What a dict says is what goes out (nothing dropped, renamed or added: `zip` stays `zip`),
    and a key the model does not declare is refused before sending, by name (300 examples)."""
    from carecloud_api.api.customers import post_sub_customer_address

    address = {**known, **extra}
    body = {"additional_address": {"address_type": "home", "address": address}}

    def convert() -> dict[str, Any]:
        route = "POST /customers/{customer_id}/addresses"
        return plain_inputs.accept_plain_inputs(post_sub_customer_address.call, route, {"body": body})

    if extra:
        named = re.escape(f"body.additional_address.address: Address has no field {next(iter(extra))!r}")
        with pytest.raises(RequestValidationError, match=named):
            convert()
    else:
        assert convert()["body"].to_dict() == body


def test_the_closest_name_is_the_json_key_not_the_python_attribute() -> None:
    from carecloud_api.api.customers import post_sub_customer_address

    body: Any = {"additional_address": {"address_type": "home", "address": {"zpi": "110 00"}}}
    with pytest.raises(RequestValidationError, match=r"has no field 'zpi'; did you mean 'zip'\?"):
        plain_inputs.accept_plain_inputs(post_sub_customer_address.call, "POST", {"body": body})


def test_a_missing_nested_field_in_a_dict_body_is_named_with_its_path() -> None:
    # The parse error names the field's path from the body (the typed parse errors meet the tree here).
    from carecloud_api.models import PostCustomerBody

    from carecloud_async._plain_inputs import _model_from

    body = {"customer": {"personal_information": {}}, "customer_source": {}, "autologin": False}
    message = r"OP: body\.customer\.personal_information: missing the required field 'language_id'"
    with pytest.raises(RequestValidationError, match=message):
        _model_from(PostCustomerBody, body, "body", "OP")


def test_the_fakes_clients_and_fixtures_are_typed_per_api(tmp_path: Path) -> None:
    # Users' tests on the shipped fake reach the tree with the right types.
    source = """
from collections.abc import AsyncIterator
from carecloud_async.testing import FakeCareCloud
from carecloud_async.testing.pytest_plugin import carecloud_customer, carecloud_enterprise

fake = FakeCareCloud()
reveal_type(fake.enterprise_client().customers)
reveal_type(fake.customer_client())
reveal_type(carecloud_enterprise)
fake.customer_client().cards.create_batch
"""
    result = run_mypy(tmp_path, source)
    revealed = [line.split("Revealed type is ", 1)[1] for line in result.stdout.splitlines() if "Revealed" in line]
    assert revealed[:2] == [
        '"carecloud_async._resources.customers.EnterpriseCustomersResource"',
        '"carecloud_async._client.CustomerCareCloud"',
    ], result.stdout
    assert "EnterpriseCareCloud" in revealed[2], result.stdout
    assert 'has no attribute "create_batch"' in result.stdout, result.stdout
