"""Faults Prism can stage for the client's resilience layers: 429, 503, 401, an expired login.

Today these tests use a plain ``httpx.AsyncClient`` and pin what Prism answers. The follow-up
routes the same requests through the client's retry layer: swap it in :func:`client_under_test`
and turn the expectations of :func:`test_forced_status_comes_back` into "retried, then raised".
"""

from __future__ import annotations

import json

import carecloud_api
import httpx
import pytest
from carecloud_api.api.customers import get_customers

from scripts import mock_server

pytestmark = pytest.mark.prism

TOKEN = "fault-test-token"
RETRYABLE = (429, 503)


def forced_status(status: int) -> dict[str, str]:
    """Headers that make Prism answer ``status`` (the operation must declare it)."""
    return {"Prefer": f"code={status}"}


def client_under_test(base_url: str) -> httpx.AsyncClient:
    """The client the fault tests drive. Plain httpx for now, so no retries happen.

    Follow-up: build it with the retry layer (``RetryTransport`` below ``EnterpriseAuth``) and
    assert that a forced 429/503 is retried and finally raised as ``RateLimited``/``ServerError``.
    """
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10.0)


@pytest.mark.parametrize("status", RETRYABLE)
async def test_forced_status_comes_back(prism: mock_server.PrismServer, status: int) -> None:
    async with client_under_test(prism.enterprise_url) as client:
        response = await client.get("/customers", headers=forced_status(status))
    assert response.status_code == status
    # The spec declares no body and no headers for 429/503: no Retry-After to honour.
    assert response.content == b""
    assert "retry-after" not in response.headers
    assert "sl-violations" not in response.headers


@pytest.mark.parametrize("status", RETRYABLE)
async def test_generated_function_returns_forced_status_unparsed(prism: mock_server.PrismServer, status: int) -> None:
    client = carecloud_api.AuthenticatedClient(
        base_url=prism.enterprise_url, token=TOKEN, headers=forced_status(status)
    )
    async with client:
        response = await get_customers.asyncio_detailed(client=client)
    assert response.status_code == status
    assert response.parsed is None


async def test_security_is_checked_before_a_forced_status(prism: mock_server.PrismServer) -> None:
    async with httpx.AsyncClient(base_url=prism.enterprise_url) as anonymous:
        response = await anonymous.get("/customers", headers=forced_status(429))
    assert response.status_code == 401
    violations = json.loads(response.headers["sl-violations"])
    assert violations[0]["message"] == "Invalid security scheme used"
    assert response.json()["error"]["exception"] == "error_exception"


async def test_undeclared_status_cannot_be_forced(prism: mock_server.PrismServer) -> None:
    async with client_under_test(prism.enterprise_url) as client:
        response = await client.get("/customers", headers=forced_status(418))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_example_login_is_already_expired(prism: mock_server.PrismServer) -> None:
    """The auth layer must use this token once and not loop on re-login: it expired in 2019."""
    async with httpx.AsyncClient(base_url=prism.enterprise_url) as anonymous:
        response = await anonymous.post("/users/actions/login", json={"login": "u", "password": "p"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["bearer_token"]
    assert data["valid_to"] < "2020"


async def test_enterprise_only_operation_is_not_on_the_customer_url(prism: mock_server.PrismServer) -> None:
    async with client_under_test(prism.customer_url) as client:
        login = await client.post("/users/actions/login", json={})
        tokens = await client.post("/tokens", json={})
    assert login.status_code == 404
    assert tokens.status_code == 400  # served on the customer URL, and the empty body is invalid
