"""Token lifecycle of both APIs, driven through httpx.MockTransport with scripted fake servers
and a fake clock (nothing sleeps for real)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from carecloud_async._customer_auth import CustomerAuth, CustomerCredentials, Device, DeviceSetup
from carecloud_async._enterprise_auth import EnterpriseAuth, parse_valid_to, plan_refresh
from carecloud_async._errors import (
    AuthenticationError,
    ConfigurationError,
    ServiceUnavailable,
    TokenStoreError,
)
from carecloud_async._redaction import install_log_redaction
from carecloud_async._tokens import BasicTokenStore, FileTokenStore, MemoryTokenStore, TokenStore

ENTERPRISE = "https://demo.example/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER = "https://demo.example/webservice/rest-api/customer-interface/v1.0"
APP_ID = "89d1a6111b3fb6e74665d948"
LOGIN = "pos@example.com"
PASSWORD = "Pa55-w0rd-never-logged"
CUSTOMER_PASSWORD = "customer-secret-9f8e7d"
DEVICE = Device(device_id="kiosk-7", device_system="Linux", device_name="Kiosk 7", device_type="kiosk")
JANE = CustomerCredentials("email", "jane@example.com", CUSTOMER_PASSWORD)
START = datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def let_others_run(ticks: int = 5) -> None:
    # Gives every other ready task a turn (no real sleeping), so concurrency is real.
    for _ in range(ticks):
        await asyncio.sleep(0)


def error_body(code: str, title: str) -> dict[str, Any]:
    return {"error": {"type": "about:blank", "exception": code, "title": title, "detail": title}}


def snapshot(request: httpx.Request) -> httpx.Request:
    # A replay re-sends the same Request object with new headers: keep what was sent each time.
    return httpx.Request(request.method, request.url, headers=request.headers.copy(), content=request.content)


def is_path(request: httpx.Request, suffix: str) -> bool:
    return request.url.path.endswith(suffix)


# ====================================================================== Enterprise


class FakeEnterprise:
    """The Enterprise API as far as auth goes: login hands out token-1, token-2, ...; other
    requests need a currently valid bearer token."""

    def __init__(self, valid_to: object = "2030-01-01 15:00:00", *, login_status: int = 200) -> None:
        self.valid_to = valid_to
        self.login_status = login_status
        self.login_answer: dict[str, Any] | None = None
        self.logins = 0
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.always_401 = False

    def invalidate_tokens(self) -> None:
        self.valid.clear()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(snapshot(request))
        if is_path(request, "/users/actions/login"):
            self.logins += 1
            await let_others_run()
            body = json.loads(request.content)
            if self.login_status >= 500:
                return httpx.Response(self.login_status)
            if self.login_status >= 400 or body.get("password") != PASSWORD:
                status = self.login_status if self.login_status >= 400 else 401
                return httpx.Response(status, json=error_body("invalid_credentials", "Invalid credentials"))
            if self.login_answer is not None:
                return httpx.Response(self.login_status, json=self.login_answer)
            token = f"bearer-token-{self.logins:04d}"
            self.valid.add(token)
            data: dict[str, Any] = {"bearer_token": token, "user": {"user_id": "u1", "login": LOGIN}}
            if self.valid_to is not None:
                data["valid_to"] = self.valid_to
            return httpx.Response(self.login_status, json={"data": data})
        await let_others_run(1)
        header = request.headers.get("authorization", "")
        if self.always_401 or header.removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json=error_body("unauthorized_exception", "Unauthorized"))
        return httpx.Response(200, json={"data": {"echo": request.content.decode() or None}})

    def normal_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if not is_path(r, "/users/actions/login")]


def enterprise_auth(clock: FakeClock | None = None, **kwargs: Any) -> EnterpriseAuth:
    options: dict[str, Any] = {
        "user_external_application_id": APP_ID,
        "login": LOGIN,
        "password": PASSWORD,
        "clock": clock or FakeClock(),
    }
    options.update(kwargs)
    return EnterpriseAuth(ENTERPRISE, **options)


def client_for(auth: httpx.Auth, server: Any, base_url: str = ENTERPRISE) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        transport=httpx.MockTransport(server),
        headers={"User-Agent": "carecloud-async-tests", "Accept-Language": "cs"},
    )


async def test_first_request_logs_in_then_sends_bearer() -> None:
    server = FakeEnterprise()
    auth = enterprise_auth()
    assert not auth.logged_in
    async with client_for(auth, server) as client:
        response = await client.get("customers")
    assert response.status_code == 200
    login, call = server.requests
    assert login.method == "POST"
    assert str(login.url) == f"{ENTERPRISE}/users/actions/login"
    assert "authorization" not in login.headers
    assert json.loads(login.content) == {
        "user_external_application_id": APP_ID,
        "login": LOGIN,
        "password": PASSWORD,
    }
    # The login carries the triggering request's User-Agent and Accept-Language.
    assert login.headers["user-agent"] == "carecloud-async-tests"
    assert login.headers["accept-language"] == "cs"
    assert call.headers["authorization"] == "Bearer bearer-token-0001"
    assert auth.logged_in


async def test_token_is_reused_until_due() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(), server) as client:
        for _ in range(5):
            assert (await client.get("customers")).status_code == 200
    assert server.logins == 1


async def test_201_login_answer_is_accepted() -> None:
    server = FakeEnterprise(login_status=201)
    async with client_for(enterprise_auth(), server) as client:
        assert (await client.get("customers")).status_code == 200
    assert server.logins == 1


async def test_200_concurrent_first_requests_cause_one_login() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(), server) as client:
        responses = await asyncio.gather(*(client.get("customers") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert server.logins == 1


async def test_200_concurrent_requests_with_an_expired_token_cause_one_login() -> None:
    clock = FakeClock()
    server = FakeEnterprise(valid_to="2030-01-01 15:00:00")  # UTC project: 7 h from START
    async with client_for(enterprise_auth(clock), server) as client:
        await client.get("customers")
        clock.advance(hours=8)  # past valid_to
        responses = await asyncio.gather(*(client.get("customers") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert server.logins == 2
    assert {r.headers["authorization"] for r in server.normal_requests()[1:]} == {"Bearer bearer-token-0002"}


async def test_refresh_shortly_before_expiry() -> None:
    clock = FakeClock()
    server = FakeEnterprise(valid_to="2030-01-01 15:00:00")
    auth = enterprise_auth(clock, refresh_margin=60)
    async with client_for(auth, server) as client:
        await client.get("customers")
        assert auth.token_expires_at == datetime(2030, 1, 1, 15, 0, tzinfo=timezone.utc)
        clock.now = datetime(2030, 1, 1, 14, 58, 59, tzinfo=timezone.utc)  # 61 s left: not yet
        await client.get("customers")
        assert server.logins == 1
        clock.now = datetime(2030, 1, 1, 14, 59, 30, tzinfo=timezone.utc)  # 30 s left: refresh
        await client.get("customers")
        await client.get("customers")
    assert server.logins == 2
    assert server.requests[-1].headers["authorization"] == "Bearer bearer-token-0002"


async def test_project_time_zone_is_applied_to_valid_to() -> None:
    server = FakeEnterprise(valid_to="2030-01-01 10:00:00")
    auth = enterprise_auth(time_zone="Europe/Prague")
    async with client_for(auth, server) as client:
        await client.get("customers")
    assert auth.token_expires_at == datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)
    assert auth.time_zone == ZoneInfo("Europe/Prague")


@pytest.mark.parametrize("valid_to", ["2019-01-04 10:31:56", None, "soon", 1234, ""])
async def test_unusable_valid_to_does_not_loop(valid_to: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="carecloud_async")
    clock = FakeClock()
    server = FakeEnterprise(valid_to=valid_to)
    auth = enterprise_auth(clock)
    async with client_for(auth, server) as client:
        for _ in range(10):
            assert (await client.get("customers")).status_code == 200
            clock.advance(hours=3)
        server.invalidate_tokens()  # the token finally expires: one re-login, no loop
        for _ in range(10):
            assert (await client.get("customers")).status_code == 200
    assert server.logins == 2
    assert auth.token_expires_at is None
    said = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(said) == 1
    assert "valid_to" in said[0].getMessage()
    # Only past (the Prism mock's 2019 example): INFO; missing or unparseable: a WARNING.
    assert said[0].levelno == (logging.INFO if valid_to == "2019-01-04 10:31:56" else logging.WARNING)


async def test_fallback_lifetime_applies_when_valid_to_is_unusable() -> None:
    clock = FakeClock()
    server = FakeEnterprise(valid_to="2019-01-04 10:31:56")
    auth = enterprise_auth(clock, fallback_lifetime=timedelta(hours=1))
    async with client_for(auth, server) as client:
        await client.get("customers")
        assert auth.token_expires_at == START + timedelta(hours=1)
        clock.advance(minutes=30)
        await client.get("customers")
        assert server.logins == 1
        clock.advance(minutes=31)
        await client.get("customers")
    assert server.logins == 2


async def test_401_logs_in_again_once_and_replays() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(), server) as client:
        await client.get("customers")
        server.invalidate_tokens()
        response = await client.post("events", json={"event_type_id": "e1"})
    assert response.status_code == 200
    assert server.logins == 2
    first, replay = server.normal_requests()[1:]
    assert first.headers["authorization"] == "Bearer bearer-token-0001"
    assert replay.headers["authorization"] == "Bearer bearer-token-0002"
    assert json.loads(replay.content) == {"event_type_id": "e1"}  # the body is replayed too
    assert response.json()["data"]["echo"] == '{"event_type_id":"e1"}'


async def test_401_on_the_replay_is_returned_without_looping() -> None:
    server = FakeEnterprise()
    server.always_401 = True
    async with client_for(enterprise_auth(), server) as client:
        response = await client.get("customers")
    assert response.status_code == 401
    assert server.logins == 2  # first use + one re-login
    assert len(server.normal_requests()) == 2  # the request + one replay


async def test_concurrent_401s_cause_one_relogin() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(), server) as client:
        await client.get("customers")
        server.invalidate_tokens()
        responses = await asyncio.gather(*(client.get("customers") for _ in range(100)))
    assert {r.status_code for r in responses} == {200}
    assert server.logins == 2


class StreamingTransport(httpx.AsyncBaseTransport):
    """Consumes a request body the way a network transport does (iterating its stream once),
    unlike MockTransport, which buffers it and so would hide a replay that lost the body."""

    def __init__(self, server: FakeEnterprise) -> None:
        self.server = server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        content = b"".join([chunk async for chunk in request.stream])
        return await self.server(httpx.Request(request.method, request.url, headers=request.headers, content=content))


async def test_streamed_request_body_is_replayed_after_401() -> None:
    server = FakeEnterprise()

    async def body() -> Any:
        yield b'{"a": '
        yield b"1}"

    async with httpx.AsyncClient(
        base_url=ENTERPRISE, auth=enterprise_auth(), transport=StreamingTransport(server)
    ) as client:
        await client.get("customers")
        server.invalidate_tokens()
        response = await client.post("events", content=body())
    assert response.status_code == 200
    assert [r.content for r in server.normal_requests()[1:]] == [b'{"a": 1}', b'{"a": 1}']


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_refused_login_raises_authentication_error(status: int) -> None:
    server = FakeEnterprise(login_status=status)
    async with client_for(enterprise_auth(), server) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers")
    assert caught.value.status_code == status
    assert caught.value.error_code == "invalid_credentials"
    assert str(status) in str(caught.value)
    assert "Invalid credentials" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert server.normal_requests() == []


async def test_wrong_password_raises_with_status() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(password="wrong-password-xyz"), server) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers")
    assert caught.value.status_code == 401
    assert "wrong-password-xyz" not in str(caught.value)


async def test_refusal_text_never_echoes_the_password() -> None:
    async def echoing(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["password"]
        return httpx.Response(400, json=error_body("bad", f"password {sent} is wrong"))

    async with client_for(enterprise_auth(), echoing) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers")
    assert PASSWORD not in str(caught.value)
    assert "***" in str(caught.value)


async def test_bad_request_on_login_lists_invalid_params() -> None:
    body = error_body("validation_exception", "Bad request")
    body["error"]["error_data"] = {"invalid_params": [{"name": "login", "reason": "required"}]}

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=body)

    async with client_for(enterprise_auth(), handler) as client:
        with pytest.raises(AuthenticationError, match="login: required"):
            await client.get("customers")


async def test_concurrent_requests_share_one_refused_login() -> None:
    server = FakeEnterprise(login_status=403)
    async with client_for(enterprise_auth(), server) as client:
        results = await asyncio.gather(*(client.get("customers") for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, AuthenticationError) and r.status_code == 403 for r in results)
    assert server.logins == 1
    # A later request tries again (the refusal is not cached forever).
    async with client_for(enterprise_auth(), server) as client:
        with pytest.raises(AuthenticationError):
            await client.get("customers")
    assert server.logins == 2


async def test_relogin_refused_after_401_raises() -> None:
    server = FakeEnterprise()
    async with client_for(enterprise_auth(), server) as client:
        await client.get("customers")
        server.invalidate_tokens()
        server.login_status = 403
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers")
    assert caught.value.status_code == 403


async def test_server_error_on_login_is_an_api_error_not_a_refusal() -> None:
    server = FakeEnterprise(login_status=503)
    async with client_for(enterprise_auth(), server) as client:
        with pytest.raises(ServiceUnavailable):
            await client.get("customers")


@pytest.mark.parametrize(
    "answer", [{"data": {"valid_to": "2030-01-01 15:00:00"}}, {"data": []}, {}, {"data": {"bearer_token": 7}}]
)
async def test_login_answer_without_a_token_raises(answer: dict[str, Any]) -> None:
    server = FakeEnterprise()
    server.login_answer = answer
    async with client_for(enterprise_auth(), server) as client:
        with pytest.raises(AuthenticationError, match="without a bearer_token") as caught:
            await client.get("customers")
    assert caught.value.status_code == 200


async def test_malformed_user_in_login_answer_is_ignored() -> None:
    server = FakeEnterprise()
    server.login_answer = {"data": {"bearer_token": "bearer-token-0001", "user": "not-an-object"}}
    server.valid.add("bearer-token-0001")
    async with client_for(enterprise_auth(), server) as client:
        assert (await client.get("customers")).status_code == 200


async def test_authenticate_logs_in_eagerly_once() -> None:
    server = FakeEnterprise()
    auth = enterprise_auth()
    async with client_for(auth, server) as client:
        await auth.authenticate(client)
        assert auth.logged_in
        await auth.authenticate(client)  # fresh token: nothing to do
        await client.get("customers")
    assert server.logins == 1
    assert server.requests[0].headers["user-agent"] == "carecloud-async-tests"


def test_sync_client_gets_a_clear_error() -> None:
    with httpx.Client(auth=enterprise_auth(), transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        with pytest.raises(ConfigurationError, match="AsyncClient"):
            client.get(f"{ENTERPRISE}/customers")


@pytest.mark.parametrize("time_zone", ["Europe/Atlantis", "", "../etc/passwd", "not a zone"])
def test_invalid_time_zone_is_a_configuration_error(time_zone: str) -> None:
    with pytest.raises(ConfigurationError, match="time_zone"):
        enterprise_auth(time_zone=time_zone)


def test_time_zone_object_is_accepted() -> None:
    assert enterprise_auth(time_zone=ZoneInfo("Asia/Tokyo")).time_zone == ZoneInfo("Asia/Tokyo")
    assert enterprise_auth(time_zone=timezone.utc).time_zone is timezone.utc


@pytest.mark.parametrize(
    "kwargs",
    [
        {"password": ""},
        {"login": ""},
        {"user_external_application_id": ""},
        {"refresh_margin": -1},
        {"fallback_lifetime": 0},
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        enterprise_auth(**kwargs)


@pytest.mark.parametrize("base_url", ["/relative/path", "ftp://demo.example/x", "https://"])
def test_base_url_must_be_absolute_http(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        EnterpriseAuth(base_url, user_external_application_id=APP_ID, login=LOGIN, password=PASSWORD)


async def test_enterprise_repr_shows_state_but_no_secrets() -> None:
    server = FakeEnterprise()
    auth = enterprise_auth()
    async with client_for(auth, server) as client:
        await client.get("customers")
    text = repr(auth)
    assert "logged_in=True" in text
    assert LOGIN in text
    assert PASSWORD not in text
    assert "bearer-token" not in text


# ---------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2030-01-01 10:00:00", "Europe/Prague", datetime(2030, 1, 1, 9, 0)),
        ("2030-07-01 10:00:00", "Europe/Prague", datetime(2030, 7, 1, 8, 0)),  # summer time
        ("2030-01-01T10:00:00", "UTC", datetime(2030, 1, 1, 10, 0)),
        ("2021-04-16 18:22:35.052987", "UTC", datetime(2021, 4, 16, 18, 22, 35, 52987)),
        ("2021-04-16 18:22:35.1", "UTC", datetime(2021, 4, 16, 18, 22, 35, 100000)),
        ("2021-04-16 18:22:35.123456789", "UTC", datetime(2021, 4, 16, 18, 22, 35, 123456)),
        ("2030-01-01 10:00", "UTC", datetime(2030, 1, 1, 10, 0)),
        (" 2030-01-01 10:00:00 ", "UTC", datetime(2030, 1, 1, 10, 0)),
        ("2030-01-01 10:00:00+02:00", "UTC", datetime(2030, 1, 1, 8, 0)),  # an explicit offset wins
        ("2030-01-01T10:00:00Z", "Europe/Prague", datetime(2030, 1, 1, 10, 0)),
    ],
)
def test_parse_valid_to(text: str, zone: str, expected: datetime) -> None:
    assert parse_valid_to(text, ZoneInfo(zone)) == expected.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["", "tomorrow", "2030-13-01 10:00:00", "2030-01-01", "01.01.2030 10:00", None, 5])
def test_parse_valid_to_rejects_garbage(value: object) -> None:
    assert parse_valid_to(value, timezone.utc) is None


def test_plan_refresh() -> None:
    now = START
    margin = timedelta(seconds=60)
    assert plan_refresh(now=now, valid_until=now + timedelta(hours=7), margin=margin) == now + timedelta(
        hours=7, seconds=-60
    )
    # A token living less than twice the margin is refreshed halfway, not immediately.
    assert plan_refresh(now=now, valid_until=now + timedelta(seconds=30), margin=margin) == now + timedelta(seconds=15)
    assert plan_refresh(now=now, valid_until=now - timedelta(days=1), margin=margin) is None
    assert plan_refresh(now=now, valid_until=None, margin=margin) is None
    assert plan_refresh(
        now=now, valid_until=now, margin=margin, fallback_lifetime=timedelta(hours=1)
    ) == now + timedelta(hours=1)


# ====================================================================== Customer


class FakeCustomer:
    """The Customer API as far as auth goes: POST /tokens creates device-token-1, -2, ... and a
    new token for a device invalidates its previous one; customer login needs a valid token."""

    def __init__(self) -> None:
        self.created = 0
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.customers: dict[str, str] = {}  # token id -> logged-in customer id
        self.create_status = 201
        self.login_status: int | None = None
        self.logout_status = 204
        self.always_401 = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(snapshot(request))
        path = request.url.path
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if request.method == "POST" and path.endswith("/tokens"):
            self.created += 1
            await let_others_run()
            if self.create_status != 201:
                return httpx.Response(self.create_status, json=error_body("not_allowed", "Not allowed"))
            token = f"device-token-{self.created:04d}-{'ab' * 20}"
            self.valid = {token}  # a new token for the device invalidates the old one
            return httpx.Response(201, json={"data": {"token_id": token}})
        if "/actions/login" in path:
            await let_others_run()
            token_in_path = path.split("/tokens/")[1].split("/")[0]
            if token_in_path not in self.valid or bearer != token_in_path:
                return httpx.Response(401, json=error_body("unauthorized_exception", "Unauthorized"))
            if self.login_status is not None:
                return httpx.Response(self.login_status, json=error_body("invalid_credentials", "Wrong login"))
            body = json.loads(request.content)
            if body["password"] != CUSTOMER_PASSWORD:
                return httpx.Response(400, json=error_body("invalid_credentials", "Wrong login"))
            self.customers[token_in_path] = "customer-42"
            return httpx.Response(200, json={"data": {"customer_id": "customer-42"}})
        if "/actions/logout" in path:
            if bearer not in self.valid:
                return httpx.Response(401, json=error_body("unauthorized_exception", "Unauthorized"))
            if self.logout_status == 204:
                self.customers.pop(bearer, None)
                return httpx.Response(204)
            return httpx.Response(self.logout_status)
        await let_others_run(1)
        if self.always_401 or bearer not in self.valid:
            return httpx.Response(401, json=error_body("unauthorized_exception", "Unauthorized"))
        return httpx.Response(200, json={"data": {"customer_id": self.customers.get(bearer)}})

    def token_creations(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.path.endswith("/tokens")]

    def logins(self) -> list[httpx.Request]:
        return [r for r in self.requests if "/actions/login" in r.url.path]


def customer_auth(store: TokenStore | BasicTokenStore, **kwargs: Any) -> CustomerAuth:
    options: dict[str, Any] = {"external_application_id": APP_ID, "device": DEVICE, "token_store": store}
    options.update(kwargs)
    return CustomerAuth(CUSTOMER, **options)


def customer_client(auth: CustomerAuth, server: FakeCustomer) -> httpx.AsyncClient:
    return client_for(auth, server, CUSTOMER)


async def test_token_is_created_once_and_saved() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store, push_token="push-123")
    async with customer_client(auth, server) as client:
        for _ in range(3):
            assert (await client.get("customers/me")).status_code == 200
    (create,) = server.token_creations()
    assert str(create.url) == f"{CUSTOMER}/tokens"
    assert "authorization" not in create.headers
    assert json.loads(create.content) == {
        "device": {"device_id": "kiosk-7", "device_system": "Linux", "device_name": "Kiosk 7", "device_type": "kiosk"},
        "setup": {"language_id": "en", "allowed_gps": False, "allowed_notifications": False},
        "external_application_id": APP_ID,
        "push_token": "push-123",
    }
    token = await store.load(auth.store_key)
    assert token is not None
    assert token.startswith("device-token-0001")
    assert {r.headers["authorization"] for r in server.requests[1:]} == {f"Bearer {token}"}
    assert auth.store_key == f"demo.example/{APP_ID}/kiosk-7"


async def test_setup_is_sent_as_given_and_push_token_omitted_when_absent() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore(), setup=DeviceSetup("cs", allowed_gps=True, allowed_notifications=True))
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
    body = json.loads(server.token_creations()[0].content)
    assert body["setup"] == {"language_id": "cs", "allowed_gps": True, "allowed_notifications": True}
    assert "push_token" not in body


async def test_second_auth_with_the_same_store_reuses_the_token() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    async with customer_client(customer_auth(store), server) as client:
        await client.get("customers/me")
    async with customer_client(customer_auth(store), server) as client:  # "another process"
        assert (await client.get("customers/me")).status_code == 200
    assert len(server.token_creations()) == 1


async def test_another_device_gets_its_own_token() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    async with customer_client(customer_auth(store), server) as client:
        await client.get("customers/me")
    other = Device("kiosk-8", "Linux", "Kiosk 8", "kiosk")
    async with customer_client(customer_auth(store, device=other), server) as client:
        await client.get("customers/me")
    assert len(server.token_creations()) == 2


async def test_200_concurrent_first_requests_create_one_token() -> None:
    server = FakeCustomer()
    async with customer_client(customer_auth(MemoryTokenStore()), server) as client:
        responses = await asyncio.gather(*(client.get("customers/me") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert len(server.token_creations()) == 1


async def test_401_adopts_a_token_replaced_by_another_process() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        # Another process created a new token for this device and saved it.
        server.valid = {"device-token-from-elsewhere"}
        await store.save(auth.store_key, "device-token-from-elsewhere")
        response = await client.get("customers/me")
    assert response.status_code == 200
    assert len(server.token_creations()) == 1
    assert server.requests[-1].headers["authorization"] == "Bearer device-token-from-elsewhere"


async def test_401_with_the_same_stored_token_creates_one_new_token() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        server.valid.clear()  # revoked server-side
        response = await client.get("customers/me")
    assert response.status_code == 200
    assert len(server.token_creations()) == 2
    new_token = await store.load(auth.store_key)
    assert new_token is not None
    assert new_token.startswith("device-token-0002")
    assert server.requests[-1].headers["authorization"] == f"Bearer {new_token}"


async def test_customer_401_on_the_replay_is_returned_without_looping() -> None:
    server = FakeCustomer()
    server.always_401 = True
    async with customer_client(customer_auth(MemoryTokenStore()), server) as client:
        response = await client.get("customers/me")
    assert response.status_code == 401
    assert len(server.token_creations()) == 2  # first use + one replacement
    assert len([r for r in server.requests if r.url.path.endswith("/customers/me")]) == 2


async def test_concurrent_401s_create_one_new_token() -> None:
    server = FakeCustomer()
    async with customer_client(customer_auth(MemoryTokenStore()), server) as client:
        await client.get("customers/me")
        server.valid.clear()
        responses = await asyncio.gather(*(client.get("customers/me") for _ in range(100)))
    assert {r.status_code for r in responses} == {200}
    assert len(server.token_creations()) == 2


async def test_refused_token_creation_raises_authentication_error() -> None:
    server = FakeCustomer()
    server.create_status = 403
    store = MemoryTokenStore()
    async with customer_client(customer_auth(store), server) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers/me")
    assert caught.value.status_code == 403
    assert caught.value.error_code == "not_allowed"
    assert await store.load(customer_auth(store).store_key) is None


async def test_token_store_failure_surfaces_as_token_store_error() -> None:
    class BrokenStore(MemoryTokenStore):
        async def load(self, key: str) -> str | None:
            raise TokenStoreError("cannot read token store /nowhere: Permission denied")

    server = FakeCustomer()
    async with customer_client(customer_auth(BrokenStore()), server) as client:
        with pytest.raises(TokenStoreError):
            await client.get("customers/me")
    assert server.token_creations() == []  # never create a token blindly when the store is unreadable


async def test_credentials_log_the_customer_in_before_the_first_request() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore(), credentials=JANE)
    async with customer_client(auth, server) as client:
        response = await client.get("customers/me")
        await client.get("customers/me")
    assert response.json()["data"]["customer_id"] == "customer-42"
    assert auth.customer_id == "customer-42"
    create, login, call, _ = server.requests
    token = json.loads(create.content) and call.headers["authorization"].removeprefix("Bearer ")
    assert login.method == "POST"
    assert str(login.url) == f"{CUSTOMER}/tokens/{token}/actions/login"
    assert login.headers["authorization"] == f"Bearer {token}"
    assert json.loads(login.content) == {
        "login_type": "email",
        "login_value": "jane@example.com",
        "password": CUSTOMER_PASSWORD,
    }


async def test_login_customer_and_logout_customer() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore())
    async with customer_client(auth, server) as client:
        assert auth.customer_id is None
        assert await auth.login_customer(client, JANE) == "customer-42"
        assert auth.customer_id == "customer-42"
        assert (await client.get("customers/me")).json()["data"]["customer_id"] == "customer-42"
        await auth.logout_customer(client)
        assert auth.customer_id is None
        assert (await client.get("customers/me")).json()["data"]["customer_id"] is None
    logout = next(r for r in server.requests if "/actions/logout" in r.url.path)
    token = logout.headers["authorization"].removeprefix("Bearer ")
    assert logout.method == "POST"  # the pinned spec: POST /tokens/{token_id}/actions/logout
    assert str(logout.url) == f"{CUSTOMER}/tokens/{token}/actions/logout"
    assert len(server.token_creations()) == 1
    assert len(server.logins()) == 1  # logout forgot the credentials: no re-login


async def test_refused_customer_login_raises_and_keeps_the_previous_state() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore())
    wrong = CustomerCredentials("email", "jane@example.com", "wrong-password-123")
    async with customer_client(auth, server) as client:
        await auth.login_customer(client, JANE)
        with pytest.raises(AuthenticationError) as caught:
            await auth.login_customer(client, wrong)
        assert caught.value.status_code == 400
        assert caught.value.error_code == "invalid_credentials"
        assert "wrong-password-123" not in str(caught.value)
        assert auth.customer_id == "customer-42"
        await client.get("customers/me")
    assert len(server.logins()) == 2


async def test_refused_constructor_credentials_raise_on_the_request() -> None:
    server = FakeCustomer()
    server.login_status = 403
    auth = customer_auth(MemoryTokenStore(), credentials=JANE)
    async with customer_client(auth, server) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get("customers/me")
    assert caught.value.status_code == 403
    assert auth.customer_id is None
    assert [r for r in server.requests if r.url.path.endswith("/customers/me")] == []


async def test_customer_is_logged_in_again_on_a_replaced_token() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore(), credentials=JANE)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        server.valid.clear()
        response = await client.get("customers/me")
    assert response.status_code == 200
    assert response.json()["data"]["customer_id"] == "customer-42"
    assert len(server.token_creations()) == 2
    assert len(server.logins()) == 2
    assert auth.customer_id == "customer-42"


async def test_login_customer_with_a_stale_stored_token_renews_it() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store)
    await store.save(auth.store_key, "device-token-revoked-long-ago")
    async with customer_client(auth, server) as client:
        assert await auth.login_customer(client, JANE) == "customer-42"
    assert len(server.token_creations()) == 1
    assert len(server.logins()) == 2  # 401 with the stale token, then with the new one
    assert (await store.load(auth.store_key) or "").startswith("device-token-0001")


class ThreeMethodStore:
    """A store written for an earlier version (no lock()); ``after_save`` runs after each save."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.after_save: Callable[[], Awaitable[None]] | None = None

    async def load(self, key: str) -> str | None:
        await let_others_run()
        return self.tokens.get(key)

    async def save(self, key: str, token_id: str) -> None:
        self.tokens[key] = token_id
        if self.after_save is not None:
            after, self.after_save = self.after_save, None
            await after()

    async def delete(self, key: str) -> None:
        self.tokens.pop(key, None)


@pytest.mark.parametrize("kind", ["memory", "file", "basic"])
async def test_two_clients_in_one_process_on_one_store_create_one_token(kind: str, tmp_path: Path) -> None:
    server = FakeCustomer()
    shared: Any = MemoryTokenStore() if kind == "memory" else ThreeMethodStore()

    def store() -> Any:  # file: one FileTokenStore each on one path, as two processes would have
        return FileTokenStore(tmp_path / "tokens.json") if kind == "file" else shared

    async with (
        customer_client(customer_auth(store()), server) as first,
        customer_client(customer_auth(store()), server) as second,
    ):
        responses = await asyncio.gather(*(client.get("customers/me") for client in (first, second) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert len(server.token_creations()) == 1


async def test_customer_login_401_right_after_creating_adopts_the_token_another_process_saved() -> None:
    # A process on the same store without a lock of its own replaced our fresh token before
    # our customer login: the 401 must send us back to the store, not fail as refused credentials.
    server, store = FakeCustomer(), ThreeMethodStore()
    auth = customer_auth(store, credentials=JANE)

    async def another_process_replaces_it() -> None:
        server.created += 1
        elsewhere = f"device-token-{server.created:04d}-elsewhere"
        server.valid = {elsewhere}
        store.tokens[auth.store_key] = elsewhere

    store.after_save = another_process_replaces_it
    async with customer_client(auth, server) as client:
        response = await client.get("customers/me")
    assert response.status_code == 200
    assert auth.customer_id == "customer-42"
    assert auth.token_id is not None
    assert auth.token_id.endswith("-elsewhere")
    assert len(server.token_creations()) == 1  # ours; the other process's came from elsewhere
    assert len(server.logins()) == 2  # refused with ours, accepted with the stored one


async def test_customer_login_401_with_a_stale_token_rereads_the_store_before_creating() -> None:
    server, store = FakeCustomer(), ThreeMethodStore()
    auth = customer_auth(store, credentials=JANE)
    store.tokens[auth.store_key] = "device-token-stale"
    reads: list[str | None] = []
    real_load = store.load

    async def counting_load(key: str) -> str | None:
        value = await real_load(key)
        reads.append(value)
        return value

    store.load = counting_load  # type: ignore[method-assign]
    async with customer_client(auth, server) as client:
        assert (await client.get("customers/me")).status_code == 200
    assert reads == ["device-token-stale", "device-token-stale"]  # first use, then on the 401
    assert len(server.token_creations()) == 1


async def test_login_401_right_after_creating_a_token_is_a_refusal() -> None:
    server = FakeCustomer()
    server.login_status = 401
    async with customer_client(customer_auth(MemoryTokenStore()), server) as client:
        auth = client.auth
        assert isinstance(auth, CustomerAuth)
        with pytest.raises(AuthenticationError) as caught:
            await auth.login_customer(client, JANE)
    assert caught.value.status_code == 401
    assert len(server.token_creations()) == 1  # the fresh token is not replaced again


async def test_logout_with_an_invalid_token_counts_as_logged_out() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore(), credentials=JANE)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        server.valid.clear()
        await auth.logout_customer(client)
    assert auth.customer_id is None


async def test_logout_failure_raises_api_error() -> None:
    server = FakeCustomer()
    server.logout_status = 503
    auth = customer_auth(MemoryTokenStore())
    async with customer_client(auth, server) as client:
        await auth.login_customer(client, JANE)
        with pytest.raises(ServiceUnavailable):
            await auth.logout_customer(client)


async def test_logout_without_any_token_sends_nothing() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore())
    async with customer_client(auth, server) as client:
        await auth.logout_customer(client)
    assert server.requests == []


async def test_customer_authenticate_obtains_the_token_eagerly() -> None:
    server = FakeCustomer()
    auth = customer_auth(MemoryTokenStore())
    async with customer_client(auth, server) as client:
        assert not auth.has_token
        await auth.authenticate(client)
        assert auth.has_token
        await client.get("customers/me")
    assert len(server.token_creations()) == 1


async def test_concurrent_first_requests_with_credentials_log_in_once() -> None:
    server = FakeCustomer()
    async with customer_client(customer_auth(MemoryTokenStore(), credentials=JANE), server) as client:
        responses = await asyncio.gather(*(client.get("customers/me") for _ in range(50)))
    assert {r.json()["data"]["customer_id"] for r in responses} == {"customer-42"}
    assert len(server.token_creations()) == 1
    assert len(server.logins()) == 1


def test_device_and_credentials_are_validated_frozen_and_private() -> None:
    with pytest.raises(ConfigurationError):
        Device(device_id="", device_system="iOS", device_name="n", device_type="t")
    with pytest.raises(ConfigurationError):
        CustomerCredentials("email", "jane@example.com", "")
    with pytest.raises(AttributeError):
        DEVICE.device_id = "other"  # type: ignore[misc]
    assert CUSTOMER_PASSWORD not in repr(JANE)
    assert "jane@example.com" in repr(JANE)


def test_customer_auth_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigurationError):
        customer_auth(MemoryTokenStore(), external_application_id="")
    with pytest.raises(ConfigurationError):
        customer_auth(MemoryTokenStore(), device={"device_id": "x"})


def test_customer_auth_defaults_to_a_memory_store() -> None:
    auth = CustomerAuth(CUSTOMER, external_application_id=APP_ID, device=DEVICE)
    assert isinstance(auth.token_store, MemoryTokenStore)


# ====================================================================== secrets


def test_httpx_log_redaction_hides_token_ids_in_urls(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"', "POST", f"{CUSTOMER}/tokens/abc123secret/actions/login", "HTTP/1.1", 200, "OK"
    )
    assert "abc123secret" not in caplog.text
    assert "/tokens/***/actions/login" in caplog.text
    assert sum(type(f).__name__ == "_TokenPathRedactor" for f in logging.getLogger("httpx").filters) == 1


async def test_no_secret_reaches_logs_exceptions_or_reprs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Start without any redaction filter on httpx's logger: CustomerAuth must install it.
    monkeypatch.setattr(logging.getLogger("httpx"), "filters", [])
    caplog.set_level(logging.DEBUG, logger="carecloud_async")
    caplog.set_level(logging.DEBUG, logger="httpx")
    texts: list[str] = []

    # Enterprise: login, calls, a 401 with re-login, then a refused login.
    clock = FakeClock()
    enterprise = FakeEnterprise(valid_to="2019-01-04 10:31:56")
    auth = enterprise_auth(clock)
    async with client_for(auth, enterprise) as client:
        await client.get("customers")
        enterprise.invalidate_tokens()
        await client.post("events", json={"a": 1})
        texts.append(repr(auth))
        enterprise.invalidate_tokens()
        enterprise.login_status = 401
        with pytest.raises(AuthenticationError) as refused:
            await client.get("customers")
        texts += [str(refused.value), repr(refused.value)]
    bearer_tokens = [f"bearer-token-{i:04d}" for i in range(1, enterprise.logins + 1)]

    # Customer: token creation, login, calls, a 401 with a new token, logout, a refused login.
    customer, store = FakeCustomer(), MemoryTokenStore()
    cauth = customer_auth(store, credentials=JANE)
    async with customer_client(cauth, customer) as client:
        await client.get("customers/me")
        customer.valid.clear()
        await client.get("customers/me")
        await cauth.logout_customer(client)
        await cauth.login_customer(client, JANE)
        texts += [repr(cauth), repr(store), repr(JANE)]
        customer.login_status = 401
        customer.valid.clear()
        with pytest.raises(AuthenticationError) as customer_refused:
            await cauth.login_customer(client, JANE)
        texts += [str(customer_refused.value), repr(customer_refused.value)]
    token_ids = {r.headers["authorization"].removeprefix("Bearer ") for r in customer.logins()}

    assert len(bearer_tokens) >= 2
    assert len(token_ids) >= 2
    haystack = caplog.text + "\n".join(texts) + "".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in caplog.text
    assert "logging in" in caplog.text
    for secret in [PASSWORD, CUSTOMER_PASSWORD, *bearer_tokens, *token_ids]:
        assert secret not in haystack, secret


async def test_replay_after_renewal_names_the_new_token_in_a_tokens_path() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        old = auth.token_id
        assert old is not None
        server.valid.clear()  # revoked server-side: the next call gets a 401, then a new token
        response = await client.post(f"tokens/{old}/actions/send-password-setup-email", json={})
    new = auth.token_id
    assert new is not None
    assert new != old
    assert response.status_code == 200
    replay = server.requests[-1]
    assert replay.url.path.endswith(f"/tokens/{new}/actions/send-password-setup-email")
    assert replay.headers["authorization"] == f"Bearer {new}"


async def test_a_tokens_path_naming_another_token_is_left_alone() -> None:
    server, store = FakeCustomer(), MemoryTokenStore()
    auth = customer_auth(store)
    async with customer_client(auth, server) as client:
        await client.get("customers/me")
        server.valid.clear()
        await client.get("tokens/someone-elses-token")
    assert server.requests[-1].url.path.endswith("/tokens/someone-elses-token")
