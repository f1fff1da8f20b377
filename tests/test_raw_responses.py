"""Raw responses (CareCloud.call_raw): status, headers and the parsed model from one request."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.models import GetCustomer200Response

from carecloud_async import CareCloud, NotFound, RawResponse, RetryPolicy
from carecloud_async._raw_responses import max_age_of

CUSTOMER = {"customer_id": "c1", "personal_information": {"first_name": "Jane", "language_id": "en"}}


class Server:
    """Login, then 401 once (so the call is replayed), then 503 once (retried), then the answer."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
        self.requests.append(request)
        if self.script:
            return httpx.Response(self.script.pop(0), json={"error": {"exception": "scripted"}})
        customer_id = request.url.path.rsplit("/", 1)[-1]
        if customer_id == "missing":
            return httpx.Response(404, json={"error": {"exception": "not_found"}}, headers={"X-Request-Id": "req-404"})
        await asyncio.sleep(0.001)
        return httpx.Response(
            200,
            json={"data": {**CUSTOMER, "customer_id": customer_id}},
            headers={"Cache-Control": "private, max-age=120", "X-Request-Id": f"req-{customer_id}"},
        )


def client(server: Server) -> CareCloud:
    return CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy(max_attempts=3, backoff_base=0, backoff_cap=0),
        transport=httpx.MockTransport(server),
    )


async def test_call_raw_gives_status_headers_and_the_typed_model_of_one_request() -> None:
    server = Server()
    async with client(server) as cc:
        raw: RawResponse[GetCustomer200Response] = await cc.call_raw(get_customer.call, "c7")
    assert raw.status_code == 200
    assert raw.headers["cache-control"] == raw.cache_control == "private, max-age=120"
    assert raw.max_age == 120
    assert raw.request_id == "req-c7"
    assert isinstance(raw.parsed, GetCustomer200Response)
    assert raw.parsed.data.customer_id == "c7"  # type: ignore[union-attr]
    assert len(server.requests) == 1  # no second request
    assert repr(raw) == "RawResponse(status_code=200, parsed=GetCustomer200Response)"


async def test_the_raw_response_is_the_operations_final_answer_after_replay_and_retry() -> None:
    server = Server(script=[401, 503])
    async with client(server) as cc:
        raw = await cc.call_raw(get_customer, "c9")  # the module works too (RawResponse[Any])
    assert raw.status_code == 200
    assert raw.request_id == "req-c9"
    assert len(server.requests) == 3  # 401, replay answered 503, retried: 200


async def test_concurrent_raw_calls_each_get_their_own_response() -> None:
    server = Server()
    async with client(server) as cc:
        raws = await asyncio.gather(*(cc.call_raw(get_customer.call, f"c{i}") for i in range(30)))
        plain = await cc.call(get_customer.call, "c100")  # call itself is unchanged
    assert [raw.request_id for raw in raws] == [f"req-c{i}" for i in range(30)]
    assert [raw.parsed.data.customer_id for raw in raws] == [f"c{i}" for i in range(30)]  # type: ignore[union-attr]
    assert isinstance(plain, GetCustomer200Response)


async def test_errors_are_raised_as_by_call_with_their_response() -> None:
    async with client(Server()) as cc:
        with pytest.raises(NotFound) as caught:
            await cc.call_raw(get_customer.call, "missing")
    assert caught.value.request_id == "req-404"


async def test_call_raw_through_a_view_carries_its_options() -> None:
    server = Server()
    async with client(server) as cc:
        raw = await cc.with_options(language="cs").call_raw(get_customers.call, count=1)
    assert raw.http_response.request.headers["accept-language"] == "cs"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=60", 60),
        ("public, max-age=0", 0),
        ('max-age="30", must-revalidate', 30),
        ("no-store", 0),
        ("private, no-cache", 0),
        ("s-maxage=10", None),
        ("max-age=", None),
        ("", None),
        (None, None),
    ],
)
def test_max_age_of_cache_control(header: Any, expected: int | None) -> None:
    assert max_age_of(header) == expected
