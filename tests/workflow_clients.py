"""Clients the workflow tests share: a respx-mocked, logged-in Enterprise API; a transport over the
shipped fake CareCloud that lets another writer act between a read and a write; and Prism clients
that fail the test when Prism reports a request breaking the vendor's spec."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import respx

from carecloud_async import CareCloud, CustomerCredentials, Device, EnterpriseCareCloud, MemoryTokenStore, RetryPolicy
from carecloud_async.testing import FakeCareCloud
from scripts import mock_server

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER_BASE = "https://demo.example.com/webservice/rest-api/customer-interface/v1.0"


def sent(route: respx.Route, index: int = -1) -> Any:
    """The JSON body of a recorded request."""
    return json.loads(route.calls[index].request.content)


def listing(key: str, items: list[dict[str, Any]]) -> httpx.Response:
    """A list answer: ``{"data": {key: items, "total_items": n}}``."""
    return httpx.Response(200, json={"data": {key: items, "total_items": len(items)}})


def refusal(name: str, reason: str) -> httpx.Response:
    """A 400 naming one invalid parameter."""
    return httpx.Response(400, json={"error": {"error_data": {"invalid_params": [{"name": name, "reason": reason}]}}})


@contextlib.contextmanager
def enterprise_api() -> Iterator[respx.MockRouter]:
    """The Enterprise API under respx, its login answered."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/users/actions/login").respond(
            200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}
        )
        yield router


def enterprise_client(**options: Any) -> EnterpriseCareCloud:
    """An Enterprise client of ``demo.example.com`` without retries (``BASE``); ``options`` go to
    :meth:`CareCloud.enterprise` and win over these."""
    settings: dict[str, Any] = {
        "user_external_application_id": "app-1",
        "login": "pos@example.com",
        "password": "pw-SECRET-1",
        "retry": RetryPolicy.disabled(),
        **options,
    }
    return CareCloud.enterprise("demo.example.com", **settings)


class AfterRead(httpx.AsyncBaseTransport):
    """The fake's transport, running ``hook`` once after the first answer to ``operation``:
    another writer acting between the workflow's read and its write."""

    def __init__(self, fake: FakeCareCloud, operation: str, hook: Callable[[], Awaitable[None]]) -> None:
        self.inner, self.fake, self.operation, self.hook = fake.transport(), fake, operation, hook
        self.done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.done and self.fake.received[-1].operation_id == self.operation:
            self.done = True
            await self.hook()
        return response


def fake_enterprise_client(transport: httpx.AsyncBaseTransport) -> CareCloud:
    """An Enterprise client of the fake's default user over ``transport`` (e.g. :class:`AfterRead`)."""
    return CareCloud.enterprise(
        "fake.carecloud.test",
        user_external_application_id="fake-app",
        login="pos@example.com",
        password="fake-password",
        retry=RetryPolicy.disabled(),
        transport=transport,
    )


@contextlib.contextmanager
def customer_api() -> Iterator[respx.MockRouter]:
    """The Customer API under respx: ``POST /tokens`` (route ``tokens``) creates the token
    ``tok-1``, and a customer login with it answers ``c1``."""
    with respx.mock(base_url=CUSTOMER_BASE, assert_all_called=False) as router:
        router.post("/tokens", name="tokens").respond(201, json={"data": {"token_id": "tok-1"}})
        router.post("/tokens/tok-1/actions/login").respond(200, json={"data": {"customer_id": "c1"}})
        yield router


def customer_client() -> CareCloud:
    """A Customer API client for one kiosk, its device token kept in memory."""
    return CareCloud.customer(
        "demo.example.com",
        external_application_id="ext-app",
        device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
        token_store=MemoryTokenStore(),
        retry=RetryPolicy.disabled(),
    )


@contextlib.asynccontextmanager
async def on_prism(prism: mock_server.PrismServer, interface: str = "enterprise") -> AsyncIterator[CareCloud]:
    """A client of Prism (the Customer API one with a customer logged in). A context manager,
    not a fixture: its connections must close on the test's own event loop."""
    client = (
        CareCloud.enterprise(
            prism.root_url,
            user_external_application_id="89d1a6111b3fb6e74665d948",
            login="workflows@example.com",
            password="prism-password",
            retry=RetryPolicy.disabled(),
        )
        if interface == "enterprise"
        else CareCloud.customer(
            prism.root_url,
            external_application_id="82de12eb8b138791e678fd11c3",
            device=Device("workflows-1", "Linux", "Workflow tests", "kiosk"),
            retry=RetryPolicy.disabled(),
        )
    )
    violations: list[str] = []

    async def no_violations(response: httpx.Response) -> None:
        if "sl-violations" in response.headers:
            violations.append(f"{response.request.method} {response.request.url.path}: {response.headers}")

    async with client:
        client.http.event_hooks["response"].append(no_violations)
        if interface == "customer":
            await client.login_customer(CustomerCredentials("email", "happy_customer@crmcarecloud.com", "Prism-pa55"))
        yield client
    assert violations == []  # Prism found every request valid against the vendor's spec
