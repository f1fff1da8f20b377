"""The retry path for real: Prism answers 429 / 503 (``Prefer: code=...``) through CareCloud."""

from __future__ import annotations

import logging

import httpx
import pytest
from carecloud_api.api.customers import get_customers

from carecloud_async import CareCloud, RateLimited, RetryPolicy, ServiceUnavailable
from scripts import mock_server

pytestmark = pytest.mark.prism


class ForceStatus(httpx.AsyncBaseTransport):
    """Asks Prism for ``status`` on every request but the login, and counts what was sent."""

    def __init__(self, status: int):
        self.inner = httpx.AsyncHTTPTransport(retries=0)
        self.status = status
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/users/actions/login"):
            request.headers["Prefer"] = f"code={self.status}"
        self.sent.append(request.url.path.rsplit("/", 1)[-1])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(("status", "error"), [(503, ServiceUnavailable), (429, RateLimited)])
async def test_forced_status_is_retried_then_raised_as_a_typed_error(
    prism: mock_server.PrismServer, status: int, error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    transport = ForceStatus(status)
    policy = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
    async with CareCloud.enterprise(
        prism.root_url,
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="demo@example.com",
        password="prism-password",
        retry=policy,
        transport=transport,
    ) as cc:
        with caplog.at_level(logging.WARNING, logger="carecloud_async.retry"), pytest.raises(error) as info:
            await cc.call(get_customers.call, count=5)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert transport.sent == ["login", "customers", "customers", "customers"]  # 3 attempts, one login
    retries = [r for r in caplog.records if r.name == "carecloud_async.retry"]
    assert len(retries) == 2
    assert all(f"status {status}" in r.getMessage() for r in retries)
    assert "prism-password" not in caplog.text
