"""Run-time argument checks (carecloud_async._arguments): pure checks of the generated signatures."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.customers_actions import get_customer_search, post_customer_verify_credentials
from carecloud_api.api.purchases import post_purchase_send
from carecloud_api.models import (
    PostCustomerVerifyCredentialsBody,
    PostCustomerVerifyCredentialsBodyLoginType,
    SortDirection,
)
from carecloud_api.types import UNSET, Unset

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from carecloud_async._arguments import (
    check_arguments,
    check_operation_function,
    describe_mismatch,
    expected_name,
)


def refusal(function: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(RequestValidationError) as info:
        check_arguments(function, "OP", args, kwargs)
    return str(info.value)


def test_a_list_for_a_string_filter_is_refused_and_the_list_filter_named() -> None:
    message = refusal(get_customers.call, email=["a@example.com", "b@example.com"])
    assert message.startswith("OP: email must be str, not list")
    assert "email=a&email=b" in message
    assert "use email_list" in message
    # The addresses themselves are not echoed (values may be personal data or secrets).
    assert "a@example.com" not in message


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"count": "10"}, "OP: count must be int, not str"),
        ({"count": True}, "OP: count must be int, not bool"),
        ({"customer_short_salutation": 1}, "OP: customer_short_salutation must be bool, not int"),
        ({"email_list": "a@example.com"}, "OP: email_list must be list[str], not str"),
        ({"email_list": ["a@example.com", 7]}, "OP: email_list[1] must be str, not int"),
        ({"accept_language": None}, "OP: accept_language must be str, not None; leave it out to send nothing"),
        ({"sort_direction": 1}, "OP: sort_direction must be SortDirection (one of 'ASC', 'DESC'), not int 1"),
    ],
)
def test_values_of_the_wrong_type_name_parameter_and_expected_type(kwargs: dict[str, Any], expected: str) -> None:
    assert refusal(get_customers.call, **kwargs) == expected


def test_an_int_id_is_refused_positionally_and_by_keyword() -> None:
    assert refusal(get_customer.call, 42).startswith("OP: customer_id must be str, not int")
    assert refusal(get_customer.call, customer_id=42).startswith("OP: customer_id must be str, not int")


def test_a_misspelt_name_gets_did_you_mean_and_the_accepted_names() -> None:
    message = refusal(get_customers.call, emial="x")
    assert "unexpected keyword argument 'emial'; did you mean 'email'?" in message
    assert "Parameters are: count, offset," in message
    assert "did you mean" not in refusal(get_customers.call, zzzzzz="x")


def test_missing_and_surplus_arguments() -> None:
    assert "missing a required argument: 'customer_id'" in refusal(get_customer.call)
    assert "too many positional arguments" in refusal(get_customer.call, "a", "b")


def test_an_unknown_enum_value_is_refused_in_a_request() -> None:
    # Responses keep unknown values (UNKNOWN pseudo-member); requests must not send one.
    unknown = SortDirection("ascending")
    assert unknown.is_unknown
    assert refusal(get_customers.call, sort_direction=unknown) == (
        "OP: sort_direction: 'ascending' is not a SortDirection value; expected one of 'ASC', 'DESC'"
    )


def test_a_plain_string_for_an_enum_names_the_member_to_use() -> None:
    assert refusal(get_customers.call, sort_direction="ASC") == (
        "OP: sort_direction must be SortDirection, not str; pass SortDirection.ASC"
    )
    assert "one of 'ASC', 'DESC'" in refusal(get_customers.call, sort_direction="up")


def test_a_body_must_be_the_model_and_its_fields_are_checked() -> None:
    assert refusal(post_purchase_send.call, body={"bill": {}}) == (
        "OP: body must be PostPurchaseSendBody, not dict; build it with PostPurchaseSendBody.from_dict(...)"
    )
    unknown_type = PostCustomerVerifyCredentialsBody.from_dict(
        {"login_type": "e-mail", "login_value": "jane@example.com", "password": "pw-SECRET"}
    )
    message = refusal(post_customer_verify_credentials.call, body=unknown_type)
    assert message.startswith("OP: body.login_type: 'e-mail' is not a PostCustomerVerifyCredentialsBodyLoginType")
    wrong_field = PostCustomerVerifyCredentialsBody(
        login_type=PostCustomerVerifyCredentialsBodyLoginType.EMAIL,
        login_value=12345,  # type: ignore[arg-type]
        password="pw-SECRET",
    )
    message = refusal(post_customer_verify_credentials.call, body=wrong_field)
    assert message == "OP: body.login_value must be str, not int"
    assert "pw-SECRET" not in message


def test_valid_arguments_pass() -> None:
    check_arguments(
        get_customers.call,
        "OP",
        (),
        {"count": 10, "email": "a@example.com", "sort_direction": SortDirection.DESC, "email_list": ["x"]},
    )
    check_arguments(get_customer.call, "OP", ("c1",), {"accept_language": UNSET})
    body = PostCustomerVerifyCredentialsBody(
        login_type=PostCustomerVerifyCredentialsBodyLoginType.CARD, login_value="123", password="pw"
    )
    check_arguments(post_customer_verify_credentials.call, "OP", (), {"body": body})


def test_other_generated_functions_are_refused_with_what_to_pass() -> None:
    for function in (get_customers.asyncio, get_customers.asyncio_detailed, get_customers.sync):
        with pytest.raises(RequestValidationError, match=r"pass get_customers\.call or the module get_customers"):
            check_operation_function(function, get_customers)
    check_operation_function(get_customers.call, get_customers)
    check_operation_function(get_customers, get_customers)


def test_expected_names_hide_unset() -> None:
    assert expected_name(SortDirection | Unset) == "SortDirection"
    assert expected_name(list[str] | None | Unset) == "list[str] or None"
    assert describe_mismatch("x", 1.5, float | Unset) is None
    assert describe_mismatch("x", 2, float | Unset) is None
    assert describe_mismatch("x", "2", float | Unset) == "x must be float, not str"


# ---------------------------------------------------------------- through CareCloud: nothing is sent

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"


def refused_by_handler(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    return httpx.MockTransport(handler)


async def refused(call: Awaitable[Any]) -> str:
    with pytest.raises(RequestValidationError) as info:
        await call
    return str(info.value)


async def test_call_paginate_and_actions_give_the_same_messages_before_sending() -> None:
    sent: list[httpx.Request] = []
    async with CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="app",
        login="pos@example.com",
        password="pw-SECRET",
        retry=RetryPolicy.disabled(),
        transport=refused_by_handler(sent),
    ) as cc:
        by_call = await refused(cc.call(get_customers.call, email=["a@example.com", "b@example.com"]))  # type: ignore[call-overload]
        with pytest.raises(RequestValidationError) as info:
            cc.paginate(get_customers, email=["a@example.com", "b@example.com"])
        assert str(info.value) == by_call
        assert by_call.startswith("GET /customers: email must be str, not list")
        view = cc.with_options(timeout=5.0)  # a view with per-call options checks the same way
        assert await refused(view.call(get_customers.call, email=["a@example.com"])) == by_call  # type: ignore[call-overload]
        assert await refused(cc.call_raw(get_customers.call, email=["a@example.com"])) == by_call  # type: ignore[call-overload]

        typo_call = await refused(cc.call(get_customers, emial="a@example.com"))
        with pytest.raises(RequestValidationError) as info:
            cc.paginate(get_customers, emial="a@example.com")
        # The same message, except that a paginator does not offer count and offset: it sets them.
        assert str(info.value) == typo_call.replace("count, offset, ", "")
        assert "did you mean 'email'? Parameters are: count, offset, sort_field" in typo_call

        by_action = await refused(cc.actions.customers.search_customers(mode="exact"))  # type: ignore[arg-type]
        by_call = await refused(cc.call(get_customer_search.call, mode="exact"))  # type: ignore[call-overload]
        assert by_action == by_call
        assert by_action.startswith("GET /customers/actions/search-customers: mode must be Mode")

        body = await refused(cc.actions.customers.verify_credentials(body={"login_type": "email"}))  # type: ignore[arg-type]
        assert "body must be PostCustomerVerifyCredentialsBody, not dict" in body

        assert (await refused(cc.call(get_customer.call, 42))).startswith(  # type: ignore[call-overload]
            "GET /customers/{customer_id}: customer_id must be str, not int"
        )
        assert (await refused(cc.call(get_customers.call, count="10"))) == (  # type: ignore[call-overload]
            "GET /customers: count must be int, not str"
        )
        unknown = await refused(cc.call(get_customers.call, sort_direction=SortDirection("ascending")))
        assert "'ascending' is not a SortDirection value" in unknown
    assert sent == []  # neither a login nor the call went out


async def test_call_with_the_asyncio_function_says_to_pass_call_or_the_module() -> None:
    async with CareCloud.enterprise(
        "demo.example.com", user_external_application_id="app", login="l", password="p"
    ) as cc:
        message = await refused(cc.call(get_customers.asyncio))  # type: ignore[call-overload]
        assert message.startswith("pass get_customers.call or the module get_customers, not get_customers.asyncio")
        with pytest.raises(RequestValidationError, match=r"pass get_customers\.call or the module"):
            cc.paginate(get_customers.asyncio_detailed)


def test_items_of_a_batch_body_are_walked_and_the_bad_one_named() -> None:
    from carecloud_api.api.products import post_bulk_products
    from carecloud_api.models import PostBulkProductsBody, ProductBatch, ProductBatchState

    def product(i: int) -> ProductBatch:
        return ProductBatch.from_dict({"name": f"p{i}", "plu_ids": [{"list_code": "EAN", "code": f"{i}"}]})

    products = [product(i) for i in range(5)]
    check_arguments(post_bulk_products.call, "OP", (), {"body": PostBulkProductsBody(products=products)})
    products[3].plu_ids[0].code = 1234  # type: ignore[assignment]
    assert refusal(post_bulk_products.call, body=PostBulkProductsBody(products=products)) == (
        "OP: body.products[3].plu_ids[0].code must be str, not int"
    )
    products[3].plu_ids[0].code = "1234"
    products[1].state = 1  # type: ignore[assignment]  # an int enum given as a plain int
    member = ProductBatchState(1).name
    assert refusal(post_bulk_products.call, body=PostBulkProductsBody(products=products)) == (
        f"OP: body.products[1].state must be ProductBatchState, not int; pass ProductBatchState.{member}"
    )


def test_an_array_syntax_filter_takes_one_string_or_a_list_of_strings() -> None:
    # reward_id: the spec types a string, its description asks for array syntax (issue 22, item 4)
    from carecloud_api.api.vouchers import get_vouchers

    check_arguments(get_vouchers.call, "GET /vouchers", (), {"reward_id": "r1"})
    check_arguments(get_vouchers.call, "GET /vouchers", (), {"reward_id": ["r1", "r2"]})
    assert "reward_id must be list[str] or str, not int" in refusal(get_vouchers.call, reward_id=5)
    assert "reward_id[1] must be str, not int" in refusal(get_vouchers.call, reward_id=["r1", 5])


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_carry_is_refused_before_sending(amount: float) -> None:
    # httpx would raise a bare ValueError while encoding the body (JSON has no NaN or infinity).
    from carecloud_async.testing import sample_purchase

    body = sample_purchase("B-nan")
    body.bill.total_price = amount
    assert (
        refusal(post_purchase_send.call, body=body)
        == f"OP: body.bill.total_price must be a finite number, not {amount!r}"
    )
    body.bill.total_price = 12.5
    check_arguments(post_purchase_send.call, "OP", (), {"body": body})
    body.bill.bill_items[0].price = amount
    assert "body.bill.bill_items[0].price must be a finite number" in refusal(post_purchase_send.call, body=body)
