"""CareCloud: construction, configuration errors, typed calls and error mapping (respx)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.tokens import post_token
from carecloud_api.models import GetCustomers200Response
from workflow_clients import enterprise_client

from carecloud_async import (
    BadRequest,
    CareCloud,
    ConfigurationError,
    Device,
    Forbidden,
    NetworkError,
    NotFound,
    RateLimited,
    RequestValidationError,
    ResponseParseError,
    RetryPolicy,
    ServiceUnavailable,
    build_base_url,
)
from carecloud_async._operations import call_target

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
PASSWORD = "pa55-word-SECRET"
TOKEN = "bearer-SECRET-0123456789"
CUSTOMER = {
    "customer_id": "c1",
    "personal_information": {"first_name": "Jane", "last_name": "Doe", "language_id": "en"},
}


def enterprise(**kwargs: Any) -> CareCloud:
    return enterprise_client(password=PASSWORD, **kwargs)


def mock_login(router: respx.MockRouter) -> respx.Route:
    return router.post(f"{BASE}/users/actions/login").respond(
        200, json={"data": {"bearer_token": TOKEN, "valid_to": "2099-01-01 00:00:00"}}
    )


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("project", "interface", "expected"),
    [
        ("demo.example.com", "enterprise", BASE),
        ("https://demo.example.com/", "enterprise", BASE),
        (
            "http://127.0.0.1:4010",
            "customer",
            "http://127.0.0.1:4010/webservice/rest-api/customer-interface/v1.0",
        ),
        ("http://localhost:8080", "enterprise", "http://localhost:8080/webservice/rest-api/enterprise-interface/v1.0"),
        (
            "https://proxy.example.com/cc",
            "enterprise",
            "https://proxy.example.com/cc/webservice/rest-api/enterprise-interface/v1.0",
        ),
    ],
)
def test_base_url_is_built_from_project_interface_and_version(project: str, interface: Any, expected: str) -> None:
    assert str(build_base_url(project, interface)) == expected


@pytest.mark.parametrize(
    ("project", "message"),
    [
        ("http://demo.example.com", "refusing plain http://"),
        ("http://10.0.0.5", "refusing plain http://"),
        ("", "project_url is empty"),
        ("ftp://demo.example.com", "must use https"),
        ("https://user:pw@demo.example.com", "must not contain credentials"),
        ("https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0", "domain only"),
    ],
)
def test_bad_project_url_fails_at_construction(project: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CareCloud.enterprise(project, user_external_application_id="a", login="l", password="p")


def test_bad_settings_fail_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="timeouts must be finite"):
        enterprise(timeout=httpx.Timeout(None))
    with pytest.raises(ConfigurationError, match="language"):
        enterprise(language="english please")
    with pytest.raises(ConfigurationError, match="version"):
        enterprise(version="1")
    with pytest.raises(ConfigurationError, match="password is required"):
        CareCloud.enterprise("demo.example.com", user_external_application_id="a", login="l", password="")
    with pytest.raises(ConfigurationError, match="either http_client or transport"):
        enterprise(http_client=httpx.AsyncClient(), transport=httpx.MockTransport(lambda r: httpx.Response(200)))


def test_default_timeouts_are_never_none() -> None:
    cc = enterprise()
    timeout = cc.http.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10.0, 30.0, 30.0, 30.0)


def test_from_env_enterprise_and_customer() -> None:
    cc = CareCloud.from_env(
        {
            "CARECLOUD_PROJECT_URL": "demo.example.com",
            "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "app",
            "CARECLOUD_LOGIN": "pos@example.com",
            "CARECLOUD_PASSWORD": PASSWORD,
            "CARECLOUD_TIME_ZONE": "Europe/Prague",
            "CARECLOUD_LANGUAGE": "cs",
        }
    )
    assert cc.config.interface == "enterprise"
    assert str(cc.config.base_url) == BASE
    assert cc.http.headers["Accept-Language"] == "cs"
    customer = CareCloud.from_env(
        {
            "CARECLOUD_PROJECT_URL": "demo.example.com",
            "CARECLOUD_INTERFACE": "customer",
            "CARECLOUD_EXTERNAL_APPLICATION_ID": "ext",
            "CARECLOUD_DEVICE_ID": "kiosk-7",
        }
    )
    assert customer.config.interface == "customer"
    assert str(customer.config.base_url).endswith("/customer-interface/v1.0")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "CARECLOUD_PROJECT_URL is not set"),
        ({"CARECLOUD_PROJECT_URL": "d.example.com", "CARECLOUD_LOGIN": "x"}, "CARECLOUD_USER_EXTERNAL_APPLICATION_ID"),
        ({"CARECLOUD_PROJECT_URL": "d.example.com", "CARECLOUD_INTERFACE": "customer"}, "CARECLOUD_DEVICE_ID"),
        ({"CARECLOUD_PROJECT_URL": "d.example.com", "CARECLOUD_INTERFACE": "pos"}, "must be 'enterprise' or"),
    ],
)
def test_from_env_reports_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CareCloud.from_env(env)


# ---------------------------------------------------------------- calls


@respx.mock
async def test_call_logs_in_sends_bearer_and_returns_the_typed_model() -> None:
    login = mock_login(respx.mock)
    route = respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [CUSTOMER], "total_items": 1}})
    async with enterprise() as cc:
        page = await cc.call(get_customers.call, count=10, email="jane@example.com")
    assert isinstance(page, GetCustomers200Response)
    assert page.data.customers[0].customer_id == "c1"  # type: ignore[union-attr,index]
    assert login.call_count == 1
    assert json.loads(login.calls[0].request.content) == {
        "user_external_application_id": "app-1",
        "login": "pos@example.com",
        "password": PASSWORD,
    }
    sent = route.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept-Language"] == "en"
    assert sent.url.params["count"] == "10"
    assert sent.url.params["email"] == "jane@example.com"
    assert cc.closed


@respx.mock
async def test_call_accepts_the_endpoint_module_and_path_arguments() -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers/c1").respond(200, json={"data": CUSTOMER})
    async with enterprise() as cc:
        result = await cc.call(get_customer, "c1")
    assert result.data.customer_id == "c1"


@respx.mock
async def test_per_call_language_overrides_the_client_default() -> None:
    mock_login(respx.mock)
    route = respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [], "total_items": 0}})
    async with enterprise(language="cs") as cc:
        await cc.call(get_customers.call, accept_language="de")
        await cc.call(get_customers.call)
    assert [c.request.headers["Accept-Language"] for c in route.calls] == ["de", "cs"]


@respx.mock
async def test_unknown_or_missing_arguments_fail_before_anything_is_sent() -> None:
    login = mock_login(respx.mock)
    async with enterprise() as cc:
        with pytest.raises(RequestValidationError, match="unexpected keyword argument 'emial'") as info:
            await cc.call(get_customers.call, emial="x")  # type: ignore[call-overload]
        assert "email" in str(info.value)  # the accepted parameters are listed
        with pytest.raises(RequestValidationError, match="missing a required argument"):
            await cc.call(get_customer)
    assert login.call_count == 0


@respx.mock
async def test_an_operation_of_the_other_api_is_refused_before_sending() -> None:
    login = mock_login(respx.mock)
    async with enterprise() as cc:
        with pytest.raises(RequestValidationError, match="only in the Customer API"):
            await cc.call(post_token, body=None)
    assert login.call_count == 0


async def test_something_that_is_not_an_operation_is_refused() -> None:
    async with enterprise() as cc:
        with pytest.raises(RequestValidationError, match="not a generated CareCloud operation"):
            await cc.call(print)  # type: ignore[call-overload]
        for _ in range(2):  # refused every time: a refusal is not remembered as an operation
            with pytest.raises(RequestValidationError, match="not a generated CareCloud operation"):
                await cc.call([get_customers.call])  # type: ignore[call-overload]  # unhashable too
            with pytest.raises(RequestValidationError, match=r"pass get_customers\.call"):
                await cc.call(get_customers.asyncio)  # type: ignore[call-overload]


def test_call_target_resolves_a_module_or_its_call_once() -> None:
    function, entry = call_target(get_customers)
    assert function is get_customers.call
    assert (entry.method, entry.path) == ("GET", "/customers")
    assert call_target(get_customers.call) == (get_customers.call, entry)
    assert call_target(get_customers) is call_target(get_customers)  # cached, not looked up again
    assert call_target(get_customer)[1].path == "/customers/{customer_id}"


@respx.mock
async def test_bad_request_carries_status_code_and_invalid_params() -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers").respond(
        400,
        json={
            "error": {
                "type": "about:blank",
                "exception": "invalid_params_exception",
                "title": "Invalid parameters",
                "detail": "Some parameters are invalid",
                "error_data": {
                    "invalid_params": [
                        {"name": "email", "reason": "invalid_value_format", "value": "x@"},
                        {"name": "password", "reason": "empty", "value": PASSWORD},
                    ]
                },
            }
        },
    )
    async with enterprise() as cc:
        with pytest.raises(BadRequest) as info:
            await cc.call(get_customers.call, email="x@")
    error = info.value
    assert error.status_code == 400
    assert error.error_code == "invalid_params_exception"
    assert [(p.name, p.reason) for p in error.invalid_params] == [
        ("email", "invalid_value_format"),
        ("password", "empty"),
    ]
    assert error.invalid_params[0].value == "x@"
    assert error.invalid_params[1].value is None  # a secret-looking field's value is dropped
    text = str(error) + repr(error)
    assert "email: invalid_value_format" in text
    assert PASSWORD not in text
    assert "GET https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0/customers" in str(error)
    assert "x%40" not in str(error)  # no query string in the message


@pytest.mark.parametrize(
    ("status", "error_type", "body"),
    [
        (404, NotFound, {"error": {"title": "Not found", "error_data": {"resource_name": "customers"}}}),
        (
            403,
            Forbidden,
            {"error": {"type": "interface_not_allowed_exception", "title": "Enterprise API is not allowed"}},
        ),
        (503, ServiceUnavailable, None),
        (429, RateLimited, None),
    ],
)
@respx.mock
async def test_error_statuses_map_to_typed_exceptions(status: int, error_type: type[Exception], body: Any) -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers/c9").respond(status, json=body, headers={"Retry-After": "120"})
    async with enterprise() as cc:
        with pytest.raises(error_type) as info:
            await cc.call(get_customer.call, "c9")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    if status == 403:
        assert info.value.error_code == "interface_not_allowed_exception"  # type: ignore[attr-defined]
    if status == 429:
        assert info.value.retry_after == 120.0  # type: ignore[attr-defined]


async def test_connection_failures_become_network_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with enterprise(transport=httpx.MockTransport(refuse)) as cc:
        with pytest.raises(NetworkError, match=r"ConnectError on POST https://demo\.example\.com"):
            await cc.call(get_customers.call)


async def test_a_users_own_transport_and_client_are_used() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": TOKEN, "valid_to": "2099-01-01 00:00:00"}})
        return httpx.Response(200, json={"data": {"customers": [], "total_items": 0}})

    async with enterprise(transport=httpx.MockTransport(handler)) as cc:
        await cc.call(get_customers.call)
    assert seen == [
        "POST /webservice/rest-api/enterprise-interface/v1.0/users/actions/login",
        "GET /webservice/rest-api/enterprise-interface/v1.0/customers",
    ]

    hooked: list[int] = []

    async def hook(response: httpx.Response) -> None:
        hooked.append(response.status_code)

    user_client = httpx.AsyncClient(transport=httpx.MockTransport(handler), event_hooks={"response": [hook]})
    async with enterprise(http_client=user_client) as cc:
        await cc.call(get_customers.call)
    assert hooked == [200, 200]
    assert not user_client.is_closed  # the user's client is theirs to close
    await user_client.aclose()


async def test_closed_client_refuses_calls() -> None:
    cc = enterprise()
    await cc.aclose()
    await cc.aclose()  # idempotent
    with pytest.raises(Exception, match="closed"):
        await cc.call(get_customers.call)


def test_repr_holds_no_secrets() -> None:
    cc = enterprise()
    text = repr(cc) + repr(cc.auth) + repr(cc.config)
    assert PASSWORD not in text
    assert "demo.example.com" in text


@respx.mock
async def test_customer_client_refuses_enterprise_only_operations_and_exposes_customer_id() -> None:
    base = "https://demo.example.com/webservice/rest-api/customer-interface/v1.0"
    respx.post(f"{base}/tokens").respond(201, json={"data": {"token_id": "tok-SECRET"}})
    cc = CareCloud.customer(
        "demo.example.com",
        external_application_id="ext",
        device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
        retry=RetryPolicy.disabled(),
    )
    async with cc:
        assert cc.customer_id is None
        from carecloud_api.api.users import post_user_login

        with pytest.raises(RequestValidationError, match="only in the Enterprise API"):
            await cc.call(post_user_login, body=None)


@respx.mock
async def test_debug_log_of_a_call_holds_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [], "total_items": 0}})
    with caplog.at_level(logging.DEBUG):
        async with enterprise() as cc:
            await cc.call(get_customers.call, email="jane@example.com")
    assert "-> 200" in caplog.text
    for secret in (PASSWORD, TOKEN, "jane@example.com"):
        assert secret not in caplog.text


@respx.mock
async def test_a_body_missing_a_required_field_raises_a_typed_parse_error() -> None:
    mock_login(respx.mock)
    broken = {"customer_id": "c1", "personal_information": {"first_name": "Jane"}}
    respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [broken], "total_items": 1}})
    async with enterprise() as cc:
        missing = r"customers\[0\]\.personal_information\.language_id is missing"
        with pytest.raises(ResponseParseError, match=missing) as info:
            await cc.call(get_customers.call)
    assert info.value.status_code == 200
    assert info.value.method == "GET"
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.response.json()["data"]["customers"][0]["customer_id"] == "c1"


@respx.mock
async def test_authenticate_logs_in_up_front_and_maps_network_failures() -> None:
    login = mock_login(respx.mock)
    async with enterprise() as cc:
        await cc.authenticate()
    assert login.call_count == 1

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with enterprise(transport=httpx.MockTransport(refuse)) as cc:
        with pytest.raises(NetworkError, match="users/actions/login"):
            await cc.authenticate()
