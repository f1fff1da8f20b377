"""carecloud_async.integrations and the example apps: one CareCloud per application, closed at shutdown.

The apps under test are examples/fastapi_app.py and examples/aiohttp_app.py. Their CareCloud client
talks to respx-mocked CareCloud endpoints (or to Prism, in the ``prism`` tests); the apps are driven
in-process: FastAPI through ``httpx.ASGITransport``, its startup and shutdown sent as an ASGI server
sends them (the lifespan protocol); aiohttp through ``aiohttp.test_utils.TestServer`` / ``TestClient``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from aiohttp import web
from aiohttp.test_utils import TestClient as AiohttpTestClient
from aiohttp.test_utils import TestServer
from carecloud_api.api.customers import get_customers
from fastapi import FastAPI
from starlette.types import ASGIApp, Message
from test_resources import run_mypy

from carecloud_async import (
    AuthenticationError,
    CareCloud,
    CustomerCareCloud,
    Device,
    EnterpriseCareCloud,
    RetryPolicy,
)
from carecloud_async.integrations import ClientUnavailable, open_client
from carecloud_async.integrations import aiohttp as cc_aiohttp
from carecloud_async.integrations import fastapi as cc_fastapi
from examples import aiohttp_app, fastapi_app
from scripts import mock_server

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
LOGIN_OK = {"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}
CUSTOMERS: list[dict[str, Any]] = [
    {
        "customer_id": "c1",
        "personal_information": {"language_id": "en", "first_name": "Jane", "email": "jane@example.com"},
    },
    {
        "customer_id": "c2",
        "personal_information": {"language_id": "cs", "first_name": "Jana", "email": "jana@example.com"},
    },
]
NOT_FOUND = {"error": {"title": "Not found", "exception": "record_not_found_exception"}}
SERVER_ERROR = {"error": {"title": "Internal error"}}
#: customer id -> what the example apps answer: NotFound 404, other CareCloud failures 502, timeouts 504.
ERROR_CASES = [("missing", 404), ("broken", 502), ("unreachable", 502), ("slow", 504)]
STARTUP_TIMEOUT = 30.0  # seconds for an app to answer a lifespan message, instead of hanging

AiohttpClient = AiohttpTestClient[web.Request, web.Application]


def enterprise(project_url: str = "demo.example.com") -> CareCloud:
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="app-1",
        login="pos@example.com",
        password="secret",
        retry=RetryPolicy.disabled(),
    )


class Factory:
    """Makes the apps' clients and keeps them, to count them and look at them afterwards."""

    def __init__(self, project_url: str = "demo.example.com") -> None:
        self.project_url = project_url
        self.made: list[CareCloud] = []

    def __call__(self) -> CareCloud:
        client = enterprise(self.project_url)
        self.made.append(client)
        return client

    @property
    def only(self) -> CareCloud:
        assert len(self.made) == 1, f"{len(self.made)} clients were made; one per application expected"
        return self.made[0]


@pytest.fixture
def carecloud() -> Iterator[respx.MockRouter]:
    """CareCloud as respx sees it: a login, a customer list, one customer, and one of each failure."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/users/actions/login", name="login").respond(200, json=LOGIN_OK)
        router.get("/customers", name="customers").respond(
            200, json={"data": {"customers": CUSTOMERS, "total_items": len(CUSTOMERS)}}
        )
        router.get("/customers/c1", name="customer").respond(200, json={"data": CUSTOMERS[0]})
        router.get("/customers/missing", name="missing").respond(404, json=NOT_FOUND)
        router.get("/customers/broken", name="broken").respond(500, json=SERVER_ERROR)
        router.get("/customers/unreachable", name="unreachable").mock(side_effect=httpx.ConnectError("refused"))
        router.get("/customers/slow", name="slow").mock(side_effect=httpx.ReadTimeout("slow"))
        yield router


@asynccontextmanager
async def asgi_lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Startup and shutdown as an ASGI server sends them (the lifespan protocol); a failed
    startup raises the application's exception."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

    async def run() -> None:
        await app(scope, to_app.get, from_app.put)

    task = asyncio.create_task(run())
    await to_app.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(from_app.get(), STARTUP_TIMEOUT)
    if started["type"] != "lifespan.startup.complete":
        await task  # raises what made the startup fail
        raise AssertionError(f"startup failed: {started}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        stopped = await asyncio.wait_for(from_app.get(), STARTUP_TIMEOUT)
        await task
        assert stopped["type"] == "lifespan.shutdown.complete", stopped


@asynccontextmanager
async def serve_fastapi(app: FastAPI, *, lifespan: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process; ``lifespan`` runs its startup and shutdown around the requests."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        if lifespan:
            async with asgi_lifespan(app):
                yield client
        else:
            yield client


@asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[AiohttpClient]:
    """The app on a local port; the server's startup and cleanup run the app's cleanup_ctx."""
    async with AiohttpTestClient(TestServer(app)) as client:
        yield client


# ---------------------------------------------------------------- the package boundary


def test_carecloud_async_never_imports_the_frameworks() -> None:
    code = (
        "import sys, carecloud_async, carecloud_async.integrations\n"
        "print(sorted(m for m in ('fastapi', 'starlette', 'aiohttp', 'carecloud_async.integrations.fastapi',"
        " 'carecloud_async.integrations.aiohttp') if m in sys.modules))"
    )
    # A fresh interpreter: this one has imported both frameworks already. Fixed argv, no shell.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert out.strip() == "[]"


async def test_a_client_instead_of_a_factory_is_refused_when_the_app_is_set_up() -> None:
    async with enterprise() as client:
        with pytest.raises(TypeError, match=r"pass a factory such as CareCloud\.from_env"):
            cc_fastapi.carecloud_lifespan(client)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"pass a factory such as CareCloud\.from_env"):
            cc_aiohttp.carecloud_context(client)  # type: ignore[arg-type]


async def test_open_client_awaits_an_async_factory_and_checks_what_it_returns() -> None:
    async def make() -> CareCloud:
        return enterprise()

    client = await open_client(make)
    assert isinstance(client, CareCloud)
    await client.aclose()
    with pytest.raises(TypeError, match="returned str, not a CareCloud client"):
        await open_client(lambda: "nope")  # type: ignore[arg-type,return-value]


# ---------------------------------------------------------------- FastAPI


async def test_fastapi_routes_share_one_client_and_shutdown_closes_it(carecloud: respx.MockRouter) -> None:
    factory = Factory()
    app = fastapi_app.create_app(factory)
    async with serve_fastapi(app) as client:
        listed = await client.get("/customers", params={"email": "jane@example.com", "limit": 5})
        assert listed.status_code == 200
        assert [c["customer_id"] for c in listed.json()["customers"]] == ["c1", "c2"]
        one = await client.get("/customers/c1")
        assert one.status_code == 200
        assert one.json()["personal_information"]["first_name"] == "Jane"
        # Concurrent requests too: still the one client, and the one login.
        answers = await asyncio.gather(*(client.get("/customers/c1") for _ in range(5)))
        assert {answer.status_code for answer in answers} == {200}
        assert cc_fastapi.carecloud_of(app) is factory.only
        assert not factory.only.closed
    assert factory.only.closed
    assert carecloud["login"].call_count == 1
    sent = carecloud["customers"].calls.last.request
    assert sent.url.params["email"] == "jane@example.com"
    assert sent.url.params["count"] == "5"  # max_items bounds what is asked for
    assert sent.headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(("customer_id", "status"), ERROR_CASES)
async def test_fastapi_maps_carecloud_errors(carecloud: respx.MockRouter, customer_id: str, status: int) -> None:
    async with serve_fastapi(fastapi_app.create_app(Factory())) as client:
        answer = await client.get(f"/customers/{customer_id}")
    assert answer.status_code == status
    assert "Internal error" not in answer.text  # upstream details go to the log, not the caller


async def test_fastapi_dependency_without_the_lifespan_says_what_is_missing(carecloud: respx.MockRouter) -> None:
    factory = Factory()
    app = fastapi_app.create_app(factory)
    async with serve_fastapi(app, lifespan=False) as client:
        with pytest.raises(ClientUnavailable, match=r"no CareCloud client.*carecloud_lifespan"):
            await client.get("/customers")
    assert factory.made == []
    assert not carecloud["login"].called


async def test_fastapi_dependency_after_shutdown_says_the_client_is_closed(carecloud: respx.MockRouter) -> None:
    app = fastapi_app.create_app(Factory())
    async with serve_fastapi(app) as client:
        pass
    async with serve_fastapi(app, lifespan=False) as client:
        with pytest.raises(ClientUnavailable, match="closed at shutdown"):
            await client.get("/customers")
    with pytest.raises(ClientUnavailable, match="closed at shutdown"):
        cc_fastapi.carecloud_of(app)


async def test_fastapi_lifespan_can_log_in_at_startup_with_an_async_factory(carecloud: respx.MockRouter) -> None:
    made: list[CareCloud] = []

    async def factory() -> CareCloud:
        made.append(enterprise())
        return made[-1]

    app = FastAPI(lifespan=cc_fastapi.carecloud_lifespan(factory, authenticate=True))

    @app.get("/whoami")
    async def whoami(cc: cc_fastapi.CareCloudDep) -> dict[str, str]:
        return {"client": repr(cc)}

    async with serve_fastapi(app) as client:
        assert carecloud["login"].call_count == 1  # before any request
        answer = await client.get("/whoami")
        assert answer.json() == {"client": repr(made[0])}
    assert carecloud["login"].call_count == 1
    assert made[0].closed


async def test_fastapi_startup_fails_and_closes_the_client_when_the_login_is_refused(
    carecloud: respx.MockRouter,
) -> None:
    carecloud["login"].respond(401, json={"error": {"title": "Invalid credentials"}})
    factory = Factory()
    app = FastAPI(lifespan=cc_fastapi.carecloud_lifespan(factory, authenticate=True))
    with pytest.raises(AuthenticationError):
        async with asgi_lifespan(app):
            pass  # pragma: no cover - startup fails
    assert factory.only.closed


# ---------------------------------------------------------------- aiohttp


async def test_aiohttp_routes_share_one_client_and_cleanup_closes_it(carecloud: respx.MockRouter) -> None:
    factory = Factory()
    app = aiohttp_app.create_app(factory)
    async with serve_aiohttp(app) as client:
        listed = await client.get("/customers", params={"email": "jane@example.com", "limit": "5"})
        assert listed.status == 200
        assert [c["customer_id"] for c in (await listed.json())["customers"]] == ["c1", "c2"]
        one = await client.get("/customers/c1")
        assert one.status == 200
        assert (await one.json())["personal_information"]["first_name"] == "Jane"
        answers = await asyncio.gather(*(client.get("/customers/c1") for _ in range(5)))
        assert {answer.status for answer in answers} == {200}
        assert app[cc_aiohttp.CARECLOUD] is factory.only
        assert cc_aiohttp.get_carecloud(app) is factory.only
        assert not factory.only.closed
    assert factory.only.closed
    assert carecloud["login"].call_count == 1
    sent = carecloud["customers"].calls.last.request
    assert sent.url.params["email"] == "jane@example.com"
    assert sent.url.params["count"] == "5"


@pytest.mark.parametrize(("customer_id", "status"), ERROR_CASES)
async def test_aiohttp_maps_carecloud_errors(carecloud: respx.MockRouter, customer_id: str, status: int) -> None:
    async with serve_aiohttp(aiohttp_app.create_app(Factory())) as client:
        answer = await client.get(f"/customers/{customer_id}")
        assert answer.status == status
        assert "Internal error" not in await answer.text()


async def test_aiohttp_rejects_a_bad_limit_before_calling_carecloud(carecloud: respx.MockRouter) -> None:
    async with serve_aiohttp(aiohttp_app.create_app(Factory())) as client:
        assert (await client.get("/customers", params={"limit": "many"})).status == 400
        assert (await client.get("/customers", params={"limit": "0"})).status == 400
    assert not carecloud["customers"].called


async def test_aiohttp_accessor_without_the_context_says_what_is_missing(
    carecloud: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ClientUnavailable, match=r"no CareCloud client.*carecloud_context"):
        cc_aiohttp.get_carecloud(web.Application())

    app = web.Application()  # the routes, but no carecloud_context
    app.router.add_get("/customers", aiohttp_app.list_customers)
    with caplog.at_level(logging.ERROR, logger="aiohttp"):
        async with serve_aiohttp(app) as client:
            assert (await client.get("/customers")).status == 500
    errors = [record.exc_info[1] for record in caplog.records if record.exc_info]
    assert any(isinstance(exc, ClientUnavailable) and "carecloud_context" in str(exc) for exc in errors)


async def test_aiohttp_accessor_after_cleanup_says_the_client_is_closed(carecloud: respx.MockRouter) -> None:
    app = aiohttp_app.create_app(Factory())
    async with serve_aiohttp(app):
        pass
    with pytest.raises(ClientUnavailable, match="closed at cleanup"):
        cc_aiohttp.get_carecloud(app)


async def test_aiohttp_sub_applications_use_their_parents_client(carecloud: respx.MockRouter) -> None:
    factory = Factory()
    app = web.Application()
    app.cleanup_ctx.append(cc_aiohttp.carecloud_context(factory, authenticate=True))
    sub = web.Application()

    async def count(request: web.Request) -> web.Response:
        page = await cc_aiohttp.get_carecloud(request).call(get_customers.call)
        return web.json_response({"total": page.data.total_items})  # type: ignore[union-attr]

    sub.router.add_get("/count", count)
    app.add_subapp("/v2", sub)
    async with serve_aiohttp(app) as client:
        assert carecloud["login"].call_count == 1  # authenticate=True: logged in at startup
        answer = await client.get("/v2/count")
        assert answer.status == 200
        assert await answer.json() == {"total": 2}
    assert factory.only.closed
    assert carecloud["login"].call_count == 1


# ---------------------------------------------------------------- through to Prism


async def check_against_prism(get: Callable[[str], Awaitable[tuple[int, Any]]]) -> str:
    """The example app's routes answer from Prism's examples; returns a customer id it listed."""
    status, body = await get("/customers?limit=3")
    assert status == 200, body
    customers = body["customers"]
    assert customers, "Prism's example list is not empty"
    customer_id = customers[0]["customer_id"]
    status, body = await get(f"/customers/{customer_id}")
    assert status == 200, body
    assert body["customer_id"]
    return str(customer_id)


@pytest.mark.prism
async def test_fastapi_app_against_prism(prism: mock_server.PrismServer) -> None:
    factory = Factory(prism.root_url)
    async with serve_fastapi(fastapi_app.create_app(factory)) as client:

        async def get(path: str) -> tuple[int, Any]:
            answer = await client.get(path)
            return answer.status_code, answer.json()

        await check_against_prism(get)
    assert factory.only.closed


@pytest.mark.prism
async def test_aiohttp_app_against_prism(prism: mock_server.PrismServer) -> None:
    factory = Factory(prism.root_url)
    async with serve_aiohttp(aiohttp_app.create_app(factory)) as client:

        async def get(path: str) -> tuple[int, Any]:
            answer = await client.get(path)
            return answer.status, json.loads(await answer.text())

        await check_against_prism(get)
    assert factory.only.closed


# ---------------------------------------------------------------- the examples' logging

#: Run in a fresh interpreter (logging is configured once per process): the aiohttp example's own
#: logging set-up, then a customer search by e-mail through the app and one CareCloud failure.
EXAMPLE_LOGGING = """
import asyncio, httpx
from aiohttp.test_utils import TestClient, TestServer
from carecloud_async import CareCloud, RetryPolicy
from examples import aiohttp_app

def carecloud(request):
    if request.url.path.endswith("/users/actions/login"):
        return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
    if request.url.params.get("email") == "fail@example.com":
        return httpx.Response(500, json={"error": {"title": "Internal error"}})
    customer = {"customer_id": "c1", "personal_information": {"language_id": "en", "email": "jane@example.com"}}
    return httpx.Response(200, json={"data": {"customers": [customer], "total_items": 1}})

def factory():
    return CareCloud.enterprise("demo.example.com", user_external_application_id="app-1", login="pos",
                                password="pw", retry=RetryPolicy.disabled(), transport=httpx.MockTransport(carecloud))

async def main():
    async with TestClient(TestServer(aiohttp_app.create_app(factory))) as client:
        assert (await client.get("/customers", params={"email": "jane@example.com"})).status == 200
        assert (await client.get("/customers", params={"email": "fail@example.com"})).status == 502

aiohttp_app.setup_logging()
asyncio.run(main())
"""


def test_the_aiohttp_example_logs_no_customer_e_mail() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed argv)
        [sys.executable, "-c", EXAMPLE_LOGGING], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "CareCloud failed on GET /customers" in result.stderr  # the example's own WARNING is shown
    for email in ("jane@example.com", "jane%40example.com", "fail@example.com", "fail%40example.com"):
        assert email not in result.stderr, result.stderr
        assert email not in result.stdout, result.stdout


# ---------------------------------------------------------------- typed per API (the resource tree)


def customer_api_client() -> CareCloud:
    return CareCloud.customer(
        "demo.example.com", external_application_id="app-2", device=Device("d1", "Linux", "Kiosk", "kiosk")
    )


async def test_the_per_api_accessors_hand_out_the_client_and_refuse_the_other_apis(
    carecloud: respx.MockRouter,
) -> None:
    factory = Factory()
    app = fastapi_app.create_app(factory)
    async with serve_fastapi(app):
        assert cc_fastapi.carecloud_of(app, EnterpriseCareCloud) is factory.only
        with pytest.raises(ClientUnavailable, match=r"other API \(EnterpriseCareCloud, not CustomerCareCloud\)"):
            cc_fastapi.carecloud_of(app, CustomerCareCloud)
    web_app = aiohttp_app.create_app(factory)
    async with serve_aiohttp(web_app):
        assert cc_aiohttp.get_carecloud(web_app, EnterpriseCareCloud) is factory.made[1]
        with pytest.raises(ClientUnavailable, match=r"CareCloud\.enterprise\(\.\.\.\) or CareCloud\.customer"):
            cc_aiohttp.get_carecloud(web_app, CustomerCareCloud)


async def test_the_example_apps_refuse_a_customer_api_client_before_calling_carecloud(
    carecloud: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # The examples list customers, an Enterprise API operation: their routes ask for that API's tree.
    async with serve_fastapi(fastapi_app.create_app(customer_api_client)) as client:
        with pytest.raises(ClientUnavailable, match=r"CustomerCareCloud, not EnterpriseCareCloud"):
            await client.get("/customers/c1")
    with caplog.at_level(logging.ERROR, logger="aiohttp"):
        async with serve_aiohttp(aiohttp_app.create_app(customer_api_client)) as web_client:
            assert (await web_client.get("/customers/c1")).status == 500
    errors = [record.exc_info[1] for record in caplog.records if record.exc_info]
    assert any(isinstance(exc, ClientUnavailable) and "not EnterpriseCareCloud" in str(exc) for exc in errors)
    assert not carecloud["customer"].called


TYPED_ROUTES = """\
from typing import Any

from aiohttp import web
from fastapi import FastAPI

from carecloud_async import CustomerCareCloud, EnterpriseCareCloud
from carecloud_async.integrations import aiohttp as cc_aiohttp
from carecloud_async.integrations import fastapi as cc_fastapi

app = FastAPI()


@app.get("/customers/{customer_id}")
async def read(customer_id: str, cc: cc_fastapi.EnterpriseCareCloudDep) -> dict[str, Any]:
    reveal_type(cc)
    reveal_type(await cc.customers.get(customer_id))
    return {}


@app.get("/me")
async def me(cc: cc_fastapi.CustomerCareCloudDep) -> None:
    reveal_type(cc)
    reveal_type(cc_fastapi.carecloud_of(app))
    reveal_type(cc_fastapi.carecloud_of(app, EnterpriseCareCloud))


async def handler(request: web.Request) -> None:
    reveal_type(cc_aiohttp.get_carecloud(request, EnterpriseCareCloud).customers)
    reveal_type(cc_aiohttp.get_carecloud(request, CustomerCareCloud))
    print(cc_aiohttp.get_carecloud(request).customers)
"""


def test_the_integrations_type_the_resource_tree_per_api(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, TYPED_ROUTES)
    revealed = [line.split("Revealed type is ", 1)[1] for line in result.stdout.splitlines() if "Revealed" in line]
    assert revealed == [
        '"carecloud_async._client.EnterpriseCareCloud"',
        '"carecloud_api.models.get_customer_200_response.GetCustomer200Response"',
        '"carecloud_async._client.CustomerCareCloud"',
        '"carecloud_async._client.CareCloud"',
        '"carecloud_async._client.EnterpriseCareCloud"',
        '"carecloud_async._resources.customers.EnterpriseCustomersResource"',
        '"carecloud_async._client.CustomerCareCloud"',
    ], result.stdout
    errors = [line.split("  [")[0] for line in result.stdout.splitlines() if "error:" in line]
    # The untyped accessor is any CareCloud: the tree needs the API named.
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith('user.py:30: error: "CareCloud" has no attribute "customers"'), result.stdout
