"""The spec's bounds on request values (carecloud_async._constraint_checks), checked before sending.

Issue 26, item 2: ``count=0`` went out although the spec's minimum is 1. Here: the messages, that
nothing is sent (respx), that every example value of the spec passes, and that the client refuses
exactly what the shipped fake (which validates against the same spec) refuses.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import re
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx
from carecloud_api._catalog import OPERATIONS, Operation
from carecloud_api._constraints import CONSTRAINTS, Constraint
from carecloud_api.api.customers import get_customers, post_customer
from carecloud_api.models import PostCustomerBody
from carecloud_api.types import UNSET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pinned_spec import normalised
from workflow_clients import enterprise_client

from carecloud_async import RequestValidationError
from carecloud_async._arguments import check_arguments
from carecloud_async._constraint_checks import _problem_at, constraint_problem, value_problem
from carecloud_async._plain_inputs import accept_plain_inputs
from carecloud_async.testing._contract import Contract
from carecloud_async.testing._schema import check
from scripts import catalog, fake_contract, request_constraints
from scripts.normalise import operation_parameters

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
EMAIL = next(c for c in CONSTRAINTS[post_customer.__name__] if c.path[-1] == "email")
PHONE = next(c for c in CONSTRAINTS[post_customer.__name__] if c.path[-1] == "phone")


spec = normalised  # the normalised spec the generated package, its table and the fake's contract come from


def refusal(function: Any, label: str = "GET /customers", **kwargs: Any) -> str:
    with pytest.raises(RequestValidationError) as info:
        check_arguments(function, label, (), accept_plain_inputs(function, label, kwargs))
    return str(info.value)


def customer_body(**personal: Any) -> dict[str, Any]:
    return {
        "customer_source": {"customer_source_id": "src"},
        "autologin": False,
        "customer": {"personal_information": {"language_id": "en", **personal}},
    }


# --------------------------------------------------------------------------- the messages


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"count": 0}, "GET /customers: count must be at least 1, got 0"),
        ({"count": -5}, "GET /customers: count must be at least 1, got -5"),
        ({"offset": -1}, "GET /customers: offset must be at least 0, got -1"),
        ({"email_list": ["a@example.com"] * 1001}, "GET /customers: email_list must have at most 1000 items, got 1001"),
    ],
)
def test_a_parameter_out_of_the_spec_bounds_is_refused_naming_the_bound(kwargs: dict[str, Any], expected: str) -> None:
    assert refusal(get_customers.call, **kwargs) == expected


def test_values_at_the_bounds_pass() -> None:
    check_arguments(get_customers.call, "GET /customers", (), {"count": 1, "offset": 0, "email_list": ["a"] * 1000})
    assert constraint_problem(get_customers.call, {"count": UNSET, "offset": None}) is None


def test_a_body_field_that_breaks_its_pattern_is_refused_without_quoting_it() -> None:
    message = refusal(post_customer.call, "POST /customers", body=customer_body(phone="+420 523 828 931"))
    assert message == (
        "POST /customers: body.customer.personal_information.phone must match ^[1-9][0-9]*$; "
        "the value given does not (not shown: it may be personal data)"
    )
    message = refusal(post_customer.call, "POST /customers", body=customer_body(email="jane.doe@"))
    assert message.startswith("POST /customers: body.customer.personal_information.email must match ^[-a-z0-9")
    assert message.endswith("(ignoring case); the value given does not (not shown: it may be personal data)")
    assert "jane.doe" not in message


def test_an_email_with_capitals_is_not_refused() -> None:
    # The spec's e-mail pattern lists only a-z; a valid address with capitals must still go out
    # (scripts/request_constraints.ignore_case says why). The phone pattern is applied as written.
    assert EMAIL.ignore_case
    assert not PHONE.ignore_case
    for email in ("Jane.Doe@Example.com", "JANE@EXAMPLE.CZ", "happy_customer@crmcarecloud.com"):
        body = accept_plain_inputs(post_customer.call, "POST /customers", {"body": customer_body(email=email)})
        check_arguments(post_customer.call, "POST /customers", (), body)


def test_lengths_and_a_maximum_are_worded_like_the_minimum() -> None:
    # The pinned spec states no maxLength, minLength or maximum; the generated table would carry
    # them as it carries the rest, so the wording is checked on rules made here.
    def problem(constraint: Constraint, value: Any) -> str | None:
        return _problem_at(constraint, value, 1, ())

    assert problem(Constraint(("count",), maximum=100), 500) == "count must be at most 100, got 500"
    assert problem(Constraint(("name",), min_length=1, max_length=100), "") == "name must be 1 to 100 characters, got 0"
    assert problem(Constraint(("name",), max_length=3), "abcd") == "name must be at most 3 characters, got 4"
    assert problem(Constraint(("name",), min_length=2), "a") == "name must be at least 2 characters, got 1"
    assert problem(Constraint(("ids",), min_items=1), []) == "ids must have at least 1 item, got 0"
    assert problem(Constraint(("ids",), min_items=2), []) == "ids must have at least 2 items, got 0"
    assert problem(Constraint(("ids",), max_items=1), [1, 2]) == "ids must have at most 1 item, got 2"
    assert problem(Constraint(("code",), max_length=1), "ab") == "code must be at most 1 character, got 2"
    assert problem(Constraint(("name",), min_length=1, max_length=100), "x" * 100) is None
    # A keyword applies to values of its kind only: a length bound says nothing about a number.
    assert problem(Constraint(("name",), min_length=5), 3) is None
    assert problem(Constraint(("count",), minimum=1), True) is None


def test_a_pattern_ending_in_dollar_refuses_a_final_newline_as_the_spec_means() -> None:
    # ECMA-262 (JSON Schema's regular expressions, Prism, the server): ``$`` is the end of the
    # text. Python's ``$`` also matches before a final newline, so "420...\n" passed the client.
    message = refusal(post_customer.call, "POST /customers", body=customer_body(phone="420523828931\n"))
    assert message.startswith("POST /customers: body.customer.personal_information.phone must match ^[1-9][0-9]*$;")
    message = refusal(post_customer.call, "POST /customers", body=customer_body(email="jane@example.com\n"))
    assert message.startswith("POST /customers: body.customer.personal_information.email must match")
    assert _problem_at(Constraint(("code",), pattern="^a$|^b$"), "a\n", 1, ()) is not None
    assert _problem_at(Constraint(("code",), pattern="^[$]\\$$"), "$$", 1, ()) is None  # a $ as a character
    # The fake applies the pattern the same way (the client's own check, see below).
    built = Built.of(_operation(post_customer.__name__))
    assert built.fake_problems(built.arguments(PHONE, "420523828931\n")) == [
        "customer.personal_information.phone: must match ^[1-9][0-9]*$; "
        "the value given does not (not shown: it may be personal data)"
    ]


@pytest.mark.parametrize(
    ("keywords", "value"),
    [
        ({"minimum": 1}, 0),
        ({"maximum": 10}, 11.5),
        ({"minLength": 2}, "a"),  # the fake had no minLength check
        ({"maxLength": 3}, "abcd"),
        ({"minLength": 1, "maxLength": 3}, ""),
        ({"pattern": "^[0-9]+$"}, "12a"),
        ({"pattern": "^[0-9]+$"}, "12\n"),
        ({"pattern": "(?i)^[a-z]+$"}, "ab1"),
        ({"minItems": 1}, []),
        ({"maxItems": 2}, [1, 2, 3]),
    ],
)
def test_the_fake_refuses_each_bound_in_the_clients_words(keywords: dict[str, Any], value: Any) -> None:
    # One implementation of the keywords (value_problem) for the client and the fake: the fake's
    # problem is the client's refusal, word for word, for every keyword the contract can carry.
    rule = {request_constraints.KEYWORDS[keyword]: bound for keyword, bound in keywords.items()}
    if "pattern" in rule and rule["pattern"].startswith("(?i)"):
        rule.update(pattern=rule["pattern"][4:], ignore_case=True)
    client = _problem_at(Constraint(("field",), **rule), value, 1, ())
    assert client is not None
    fake = check(Contract.load().schemas, keywords, value, "field", "request")
    assert [str(problem) for problem in fake] == [client.replace("field ", "field: ", 1)]
    assert all(problem.reason == "invalid_value_format" for problem in fake)


def test_items_of_a_list_are_reached_and_the_bad_one_named() -> None:
    rule = Constraint(("body", "cards", "[]", "customer", "personal_information", "phone"), pattern="^[0-9]+$")

    class Obj:
        def __init__(self, **fields: Any) -> None:
            self.__dict__.update(fields)

    good = Obj(customer=Obj(personal_information=Obj(phone="420")))
    bad = Obj(customer=Obj(personal_information=Obj(phone="x")))
    unset = Obj(customer=Obj(personal_information=UNSET))
    message = _problem_at(rule, Obj(cards=[good, unset, None, bad]), 1, ())
    assert message is not None
    assert message.startswith("body.cards[3].customer.personal_information.phone must match ^[0-9]+$")


def test_a_required_body_field_left_unset_is_named_like_a_missing_dict_key() -> None:
    del_key = customer_body()
    del del_key["customer"]["personal_information"]["language_id"]
    by_dict = refusal(post_customer.call, "POST /customers", body=del_key)
    model = PostCustomerBody.from_dict(customer_body())
    model.customer.personal_information.language_id = UNSET  # type: ignore[assignment]
    by_model = refusal(post_customer.call, "POST /customers", body=model)
    expected = "POST /customers: body.customer.personal_information: missing the required field 'language_id'"
    assert by_dict == expected
    assert by_model == expected  # was "... language_id must be str, not Unset"


# --------------------------------------------------------------------------- nothing is sent


@respx.mock
async def test_call_and_the_resource_tree_refuse_before_anything_is_sent() -> None:
    login = respx.post(f"{BASE}/users/actions/login").respond(
        200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}
    )
    customers = respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [], "total_items": 0}})
    created = respx.post(f"{BASE}/customers").respond(201, json={"data": {"customer_id": "c1"}})
    stores = respx.post(f"{BASE}/stores").respond(201, json={"data": {"store_id": "s1"}})
    async with enterprise_client() as cc:
        with pytest.raises(RequestValidationError, match=r"^GET /customers: count must be at least 1, got 0$"):
            await cc.call(get_customers, count=0)
        with pytest.raises(RequestValidationError, match=r"personal_information\.phone must match"):
            await cc.customers.create(customer_body(phone="00420523828931"))  # type: ignore[arg-type]  # a dict built at run time
        with pytest.raises(RequestValidationError, match=r"^POST /stores: body\.store\.phone_number must match"):
            await cc.stores.create(
                {
                    "store": {
                        "name": "Candy",
                        "store_code": "c",
                        "partner_id": "p",
                        "system_id": "s",
                        "phone_number": "+420523828931",
                    }
                }
            )
        assert not login.called  # refused before even logging in
        assert not customers.called
        assert not created.called
        assert not stores.called
        await cc.call(get_customers, count=1)  # the bound itself goes out
    assert customers.call_count == 1
    assert customers.calls[0].request.url.params["count"] == "1"


# --------------------------------------------------------------------------- the spec's own examples


def test_requests_built_from_the_spec_examples_pass_every_check() -> None:
    # Every operation, with the example values of the spec in its parameters and body (as the fake
    # builds its answers): none may be refused, or the checks would refuse what the vendor shows.
    for operation in OPERATIONS:
        built = Built.of(operation)
        check_arguments(built.module.call, built.label, (), built.arguments())


def _examples(node: Any, found: list[tuple[dict[str, Any], Any]]) -> None:
    """(schema, example) of every schema and parameter in the spec that has an example."""
    if isinstance(node, dict):
        if "example" in node and isinstance(node.get("schema"), dict):  # a parameter's own example
            found.append((node["schema"], node["example"]))
        if "example" in node:
            found.append((node, node["example"]))
        for value in node.values():
            _examples(value, found)
    elif isinstance(node, list):
        for value in node:
            _examples(value, found)


def test_every_example_of_a_constrained_value_fits_its_constraint() -> None:
    found: list[tuple[dict[str, Any], Any]] = []
    _examples(spec(), found)
    checked = 0
    for node, example in found:
        schema = catalog.deref(spec(), node)
        keywords = {
            name: schema[keyword] for keyword, name in request_constraints.KEYWORDS.items() if keyword in schema
        }
        if not keywords:
            continue
        if "pattern" in keywords:
            keywords["ignore_case"] = request_constraints.ignore_case(keywords["pattern"])
        checked += 1
        assert _problem_at(Constraint(("example",), **keywords), example, 1, ()) is None, (schema, example)
    assert checked >= 5  # the count and offset parameters, the e-mail and the two phone patterns


# --------------------------------------------------------------------------- consistency with the fake


class Built:
    """A valid request of one operation built from the spec's examples, to put one value into."""

    def __init__(self, operation: Operation, kwargs: dict[str, Any], path: dict[str, str]) -> None:
        self.operation = operation
        self.module: ModuleType = importlib.import_module(operation.module)
        self.label = f"{operation.method} {operation.path}"
        self.kwargs = kwargs
        self.path_params = path

    @classmethod
    @functools.cache
    def of(cls, operation: Operation) -> Built:
        item = spec()["paths"][operation.path]
        entry = item[operation.method.lower()]
        kwargs: dict[str, Any] = {}
        path: dict[str, str] = {}
        for parameter in operation_parameters(spec(), item, entry):
            example = parameter.get("example", (parameter.get("schema") or {}).get("example"))
            if example is None:
                if not parameter.get("required"):
                    continue
                example = fake_contract._placeholder(spec(), parameter.get("schema")) or "x"
            kwargs[catalog.python_name(parameter["name"])] = example
            if parameter["in"] == "path":
                path[parameter["name"]] = str(example)
        body = catalog.deref(spec(), entry.get("requestBody"))
        media = ((body or {}).get("content") or {}).get("application/json")
        if media:
            kwargs["body"] = fake_contract.example_of(spec(), media["schema"])
        return cls(operation, kwargs, path)

    def arguments(self, constraint: Constraint | None = None, value: Any = None) -> dict[str, Any]:
        """The checked arguments (dicts made models), with ``value`` at the constraint's path."""
        arguments = accept_plain_inputs(self.module.call, self.label, copy.deepcopy(self.kwargs))
        if constraint is None:
            return arguments
        *parents, last = constraint.path
        if not parents:
            return {**arguments, last: value}
        target: Any = arguments[parents[0]]
        for segment in parents[1:]:
            target = target[0] if segment == "[]" else getattr(target, segment)
        if last == "[]":
            target[0] = value
        else:
            setattr(target, last, value)
        return arguments

    def client_refusal(self, arguments: dict[str, Any]) -> str | None:
        try:
            check_arguments(self.module.call, self.label, (), arguments)
        except RequestValidationError as exc:
            return str(exc)
        return None

    def fake_problems(self, arguments: dict[str, Any]) -> list[str]:
        """What the shipped fake says about the request the generated code sends for ``arguments``."""
        sent = self.module._get_kwargs(**arguments)
        request = httpx.Request(
            sent["method"],
            f"https://fake.example{sent['url']}",
            params=sent.get("params"),
            json=sent.get("json"),
            headers=sent.get("headers"),
        )
        contract = Contract.load()
        operation = contract.by_id[self.operation.operation_id]
        _, problems = contract.check_request(
            operation, request.url.query.decode("ascii"), request.headers, request.content, self.path_params
        )
        return [str(problem) for problem in problems]


def _operation(module: str) -> Operation:
    return next(op for op in OPERATIONS if op.module == module)


def _edges(constraint: Constraint, current: Any) -> list[tuple[Any, bool]]:
    """(value, whether the spec allows it) on both sides of each bound of ``constraint``."""
    cases: list[tuple[Any, bool]] = []
    if constraint.minimum is not None:
        cases += [(constraint.minimum, True), (constraint.minimum - 1, False)]
    if constraint.maximum is not None:
        cases += [(constraint.maximum, True), (constraint.maximum + 1, False)]
    if constraint.min_length is not None:
        cases += [("x" * constraint.min_length, True)] + (
            [("x" * (constraint.min_length - 1), False)] * bool(constraint.min_length)
        )
    if constraint.max_length is not None:
        cases += [("x" * constraint.max_length, True), ("x" * (constraint.max_length + 1), False)]
    if constraint.pattern is not None:  # the spec's example of the field fits; a sentence does not
        cases += [(current, True), ("not a match !", False)]
    if constraint.max_items is not None or constraint.min_items is not None:
        item = current[0] if isinstance(current, list) and current else "v"
        if constraint.max_items is not None:
            cases += [([item] * constraint.max_items, True), ([item] * (constraint.max_items + 1), False)]
        if constraint.min_items:
            cases += [([item] * constraint.min_items, True), ([item] * (constraint.min_items - 1), False)]
    return cases


def _current(built: Built, constraint: Constraint) -> Any:
    value: Any = built.arguments()
    value = value.get(constraint.path[0])
    for segment in constraint.path[1:]:
        if isinstance(value, list):
            value = value[0] if value else None
        if segment != "[]":
            value = getattr(value, segment, None)
    return value


def test_every_bound_is_refused_by_the_client_exactly_when_the_fake_refuses_it() -> None:
    checked = 0
    for module, constraints in CONSTRAINTS.items():
        built = Built.of(_operation(module))
        assert built.client_refusal(built.arguments()) is None
        assert built.fake_problems(built.arguments()) == []  # so any problem below is the value's
        for constraint in constraints:
            for value, allowed in _edges(constraint, _current(built, constraint)):
                arguments = built.arguments(constraint, value)
                refusal, problems = built.client_refusal(arguments), built.fake_problems(arguments)
                where = (module, constraint.path, value if not isinstance(value, list) else len(value))
                assert (refusal is None) == allowed, (where, refusal)
                assert (problems == []) == allowed, (where, problems)
                if refusal is not None:  # the whole path, the value put at the first item of each list
                    field = ".".join(constraint.path).replace(".[]", "[0]")
                    assert refusal.startswith(f"{built.label}: {field} must "), refusal
                checked += 1
    assert checked >= 2 * sum(len(c) for c in CONSTRAINTS.values())


SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)


def _same_verdict(module: str, path_end: str, value: Any) -> None:
    built = Built.of(_operation(module))
    constraint = next(c for c in CONSTRAINTS[module] if c.path[-1] == path_end)
    arguments = built.arguments(constraint, value)
    refusal, problems = built.client_refusal(arguments), built.fake_problems(arguments)
    assert (refusal is None) == (problems == []), (value, refusal, problems)


@SETTINGS
@given(st.integers(min_value=-(2**40), max_value=2**40) | st.integers(min_value=-3, max_value=3))
def test_generated_counts_and_offsets_get_the_same_verdict_from_client_and_fake(number: int) -> None:
    _same_verdict(get_customers.__name__, "count", number)
    _same_verdict(get_customers.__name__, "offset", number)


@SETTINGS
@given(
    TEXT
    | st.from_regex(PHONE.pattern or "", fullmatch=True)
    | st.from_regex(EMAIL.pattern or "", fullmatch=True)
    | st.from_regex(EMAIL.pattern or "", fullmatch=True).map(str.swapcase)
)
def test_generated_phones_and_emails_get_the_same_verdict_from_client_and_fake(text: str) -> None:
    _same_verdict(post_customer.__name__, "phone", text)
    _same_verdict(post_customer.__name__, "email", text)
    _same_verdict("carecloud_api.api.stores.post_store", "phone_number", text)


@SETTINGS
@given(st.integers(min_value=0, max_value=1010) | st.integers(min_value=995, max_value=1005))
def test_generated_list_sizes_get_the_same_verdict_from_client_and_fake(size: int) -> None:
    _same_verdict(get_customers.__name__, "email_list", ["a@example.com"] * size)


def test_the_email_pattern_is_the_specs_and_the_fake_applies_it_ignoring_case_too() -> None:
    schema = spec()["components"]["schemas"]["PersonalInformation"]["properties"]["email"]
    assert schema["pattern"] == EMAIL.pattern
    fake = Contract.load().schemas["PersonalInformation"]["properties"]["email"]["pattern"]
    assert re.compile(fake).search("Jane.Doe@Example.com")
    assert json.dumps(fake).startswith('"(?i)')


def test_every_operation_with_a_bound_in_the_fakes_contract_is_in_the_table() -> None:
    # Independently of scripts.request_constraints: every operation whose parameters or body carry
    # a bound keyword anywhere in _contract.json (the fake's rules) has constraints in the table.
    contract = Contract.load()
    keywords = set(request_constraints.KEYWORDS)

    def bounded(node: Any, seen: frozenset[str]) -> bool:
        if isinstance(node, list):
            return any(bounded(item, seen) for item in node)
        if not isinstance(node, dict):
            return False
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return name not in seen and bounded(contract.schemas[name], seen | {name})
        return bool(keywords & node.keys()) or any(bounded(value, seen) for value in node.values())

    expected = {
        (op.method, op.path)
        for op in contract.operations
        if bounded([p["schema"] for p in op.parameters], frozenset())
        or (op.body is not None and bounded(op.body["schema"], frozenset()))
    }
    assert {(op.method, op.path) for op in OPERATIONS if op.module in CONSTRAINTS} == expected
    assert len(expected) > 100  # count and offset alone are on every list operation


def test_a_pattern_ignoring_case_folds_ascii_letters_only_as_ecma_262_does() -> None:
    # Python's IGNORECASE folds the long s (U+017F) to 's' and the Kelvin sign (U+212A) to 'k'; the
    # spec's e-mail pattern, applied ignoring case, let both through where Prism refuses them.
    bounds = next(
        c for rules in CONSTRAINTS.values() for c in rules if c.path[-1] == "email" and c.pattern and c.ignore_case
    )
    assert value_problem(bounds, "Jane.Doe@Example.COM") is None
    for odd in ("\u017f@example.com", "a@\u212aexample.com"):
        assert value_problem(bounds, odd) is not None, ascii(odd)
