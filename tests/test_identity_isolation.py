"""The identity-isolation invariant of the cache and in-flight dedupe (issue 21), searched by
hypothesis over random sequences of logins, logouts, re-logins, token replacement, Enterprise
token refresh and re-login, GETs in two languages, writes, concurrent identical GETs, GETs racing
an identity change or a write, and (Redis variant) a Redis outage and its return with its data.

The project is a stateful stand-in (``Project``, an httpx transport): it applies a customer login
or logout a moment after the request arrives, reads a GET's session and record a moment after it
arrives, and answers each GET with data tagged by the token, customer, language and record
version it used, with ``Cache-Control: max-age=600``. One Customer API client (a kiosk) and one
Enterprise API client share one cache (memory, or Redis in the Redis variant).

After every GET the machine checks what the caller was served:

- the language it asked for;
- a GET that no identity change overlapped: the token and customer of the session the server
  held for this device (the Enterprise user for the Enterprise client), never another's;
- a GET that raced an identity change: a session that existed on the server during it;
- the record version is never older than the caller's own last successful write to it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test
from redis_server import RedisServer, RedisServerError

from carecloud_async import (
    CareCloud,
    CustomerAuth,
    CustomerCredentials,
    Device,
    EnterpriseAuth,
    HTTPCache,
    RedisState,
    RetryPolicy,
)
from carecloud_async._cache import from_cache

RESOURCES = ("stores", "customers")
LANGUAGES = ("en", "cs")
CUSTOMERS = ("jane", "john")
DELAYS = (0.0, 0.002, 0.01)
ENTERPRISE_USER = "enterprise:pos"

#: Totals over every run of the machines, for the report (pytest -s prints them).
TOTALS: Counter[str] = Counter()


@dataclass
class Project:
    """The stand-in CareCloud project (see the module docs)."""

    apply_delay: float = 0.0
    tokens: int = 0
    current_token: str | None = None  # the device's valid token; older ones answer 401
    sessions: dict[str, str | None] = field(default_factory=dict)  # token -> customer
    bearers: set[str] = field(default_factory=set)  # valid Enterprise bearer tokens
    logins: int = 0
    versions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESOURCES, 0))
    gets: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if path.endswith("/users/actions/login"):
            self.logins += 1
            token = f"ent-{self.logins}"
            self.bearers.add(token)
            return httpx.Response(200, json={"data": {"bearer_token": token, "valid_to": "2099-01-01 00:00:00"}})
        if path.endswith("/tokens") and request.method == "POST":
            self.tokens += 1
            self.current_token = f"tok-{self.tokens}"  # a new token for the device invalidates the old
            self.sessions = {self.current_token: None}
            return httpx.Response(201, json={"data": {"token_id": self.current_token}})
        customer_api = "/customer-interface/" in path
        if (customer_api and bearer != self.current_token) or (not customer_api and bearer not in self.bearers):
            return httpx.Response(401, json={"error": {"exception": "unauthorized"}})
        if "/actions/login" in path or "/actions/logout" in path:
            await asyncio.sleep(self.apply_delay)  # applied a moment after it arrived
            if bearer != self.current_token:  # replaced meanwhile
                return httpx.Response(401, json={"error": {"exception": "unauthorized"}})
            if path.endswith("/login"):
                customer = json.loads(request.content)["login_value"]
                self.sessions[bearer] = customer
                return httpx.Response(200, json={"data": {"customer_id": customer}})
            self.sessions[bearer] = None
            return httpx.Response(204)
        resource = path.rstrip("/").split("/v1.0/", 1)[1].split("/", 1)[0]
        if request.method != "GET":
            self.versions[resource] += 1
            return httpx.Response(200, json={"data": {"version": self.versions[resource]}})
        await asyncio.sleep(float(request.headers.get("x-delay", "0")))  # read a moment after arrival
        if (customer_api and bearer != self.current_token) or (not customer_api and bearer not in self.bearers):
            return httpx.Response(401, json={"error": {"exception": "unauthorized"}})
        self.gets += 1
        tag = {
            "token": bearer,
            "customer": self.sessions.get(bearer) if customer_api else ENTERPRISE_USER,
            "language": request.headers.get("accept-language"),
            "version": self.versions[resource],
        }
        return httpx.Response(200, json={"data": tag}, headers={"Cache-Control": "max-age=600"})


@dataclass(frozen=True)
class Before:
    """What the machine knew when a GET was issued."""

    changes: int  # identity changes started so far
    token: str | None  # the device token the client sends (it learns of a revocation by a 401)
    customer: str | None
    last_write: int  # the caller's own last successful write to the resource (version)


class IdentityIsolation(RuleBasedStateMachine):
    """The machine (see the module docs). ``redis``: the server of the Redis variant, or None."""

    redis: RedisServer | None = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.project = Project()
        self.state: RedisState | None = None
        self.redis_down = False
        if self.redis is not None:
            self.state = RedisState(
                self.redis.url, prefix=f"i{uuid.uuid4().hex[:12]}", timeout=0.3, retry_interval=0.05
            )
            cache = self.state.http_cache()
        else:
            cache = HTTPCache()
        transport = httpx.MockTransport(self.project)
        self.kiosk = CareCloud.customer(
            "https://p.example",
            external_application_id="app",
            device=Device("kiosk-1", "Linux", "Kiosk", "kiosk"),
            transport=transport,
            retry=RetryPolicy.disabled(),
            cache=cache,
        )
        self.office = CareCloud.enterprise(
            "https://p.example",
            user_external_application_id="app",
            login="pos",
            password="pw",
            transport=transport,
            retry=RetryPolicy.disabled(),
            cache=cache,
        )
        self.customer: str | None = None  # who the machine logged in (None: nobody)
        self.changes = 0  # identity changes started (login, logout, token replacement)
        self.kiosk_writes = dict.fromkeys(RESOURCES, 0)
        self.office_writes = dict.fromkeys(RESOURCES, 0)
        TOTALS["sequences"] += 1

    def run(self, coroutine: Any) -> Any:
        TOTALS["steps"] += 1
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        async def close() -> None:
            await self.kiosk.aclose()
            await self.office.aclose()
            if self.state is not None:
                await self.state.aclose()

        try:
            self.loop.run_until_complete(close())
        finally:
            self.loop.close()
            if self.redis is not None and self.redis_down:
                self.redis.start()

    # ------------------------------------------------------------------ checks

    def kiosk_token(self) -> str | None:
        auth = self.kiosk.auth
        assert isinstance(auth, CustomerAuth)
        return auth.token_id

    def before(self, resource: str, *, office: bool = False) -> Before:
        writes = self.office_writes if office else self.kiosk_writes
        return Before(self.changes, self.kiosk_token(), self.customer, writes[resource])

    async def get(self, client: CareCloud, resource: str, language: str, delay: float) -> tuple[dict[str, Any], bool]:
        path = "customers/me" if resource == "customers" else resource
        response = await client.http.get(path, headers={"Accept-Language": language, "X-Delay": str(delay)})
        assert response.status_code == 200, response.text
        cached = from_cache(response)
        TOTALS["cache hits" if cached else "answers from the server"] += 1
        data = response.json()["data"]
        assert isinstance(data, dict)
        return data, cached

    def check(self, data: dict[str, Any], language: str, before: Before, *, office: bool = False) -> None:
        assert data["language"] == language, data
        assert data["version"] >= before.last_write, (data, before)  # never older than one's own write
        if office:
            assert data["customer"] == ENTERPRISE_USER, data
            return
        assert data["customer"] != ENTERPRISE_USER, data
        token = self.kiosk_token()
        if before.changes == self.changes and before.token == token:
            # No identity change overlapped the GET: exactly the identity it was sent as.
            assert (data["token"], data["customer"]) == (token, self.customer), (data, before)
        else:
            TOTALS["GETs racing an identity change"] += 1
            assert data["token"] in {before.token, token}, (data, before)
            assert data["customer"] in {before.customer, self.customer}, (data, before)

    # ------------------------------------------------------------------ rules

    @initialize()
    def start(self) -> None:
        self.run(self.kiosk.auth.authenticate(self.kiosk.http))

    @rule(customer=st.sampled_from(CUSTOMERS), apply_delay=st.sampled_from(DELAYS))
    def login(self, customer: str, apply_delay: float) -> None:
        self.project.apply_delay = apply_delay
        self.changes += 1
        self.run(self.kiosk.login_customer(CustomerCredentials("email", customer, "pw")))
        self.customer = customer

    @rule(apply_delay=st.sampled_from(DELAYS))
    def logout(self, apply_delay: float) -> None:
        self.project.apply_delay = apply_delay
        self.changes += 1
        self.run(self.kiosk.logout_customer())
        self.customer = None

    @rule()
    def replace_device_token(self) -> None:
        """The server revokes the device token: the next request gets 401, the client makes a new
        token (and logs the customer in again on it)."""
        self.project.current_token = None
        self.project.sessions = {}
        self.changes += 1

    @rule()
    def enterprise_token_expires(self) -> None:
        """The Enterprise bearer token stops working: a 401, a new login, a replay."""
        self.project.bearers.clear()

    @rule()
    def enterprise_token_due_for_refresh(self) -> None:
        """The Enterprise token reaches its refresh time: the next request logs in first."""
        auth = self.office.auth
        assert isinstance(auth, EnterpriseAuth)
        auth._refresh_at = datetime.now(timezone.utc) - timedelta(seconds=1)

    @rule(resource=st.sampled_from(RESOURCES), language=st.sampled_from(LANGUAGES), delay=st.sampled_from(DELAYS))
    def kiosk_get(self, resource: str, language: str, delay: float) -> None:
        before = self.before(resource)
        data, _ = self.run(self.get(self.kiosk, resource, language, delay))
        self.check(data, language, before)

    @rule(resource=st.sampled_from(RESOURCES), language=st.sampled_from(LANGUAGES), delay=st.sampled_from(DELAYS))
    def office_get(self, resource: str, language: str, delay: float) -> None:
        before = self.before(resource, office=True)
        data, _ = self.run(self.get(self.office, resource, language, delay))
        self.check(data, language, before, office=True)

    @rule(resource=st.sampled_from(RESOURCES), office=st.booleans())
    def write(self, resource: str, office: bool) -> None:
        client = self.office if office else self.kiosk

        async def put() -> int:
            response = await client.http.put(f"{resource}/1", json={})
            assert response.status_code == 200, response.text
            version = response.json()["data"]["version"]
            assert isinstance(version, int)
            return version

        version = self.run(put())
        (self.office_writes if office else self.kiosk_writes)[resource] = version

    @rule(
        resource=st.sampled_from(RESOURCES),
        language=st.sampled_from(LANGUAGES),
        count=st.integers(2, 4),
        delay=st.sampled_from(DELAYS[1:]),
    )
    def concurrent_gets(self, resource: str, language: str, count: int, delay: float) -> None:
        before = self.before(resource)
        gets_before = self.project.gets

        async def together() -> list[tuple[dict[str, Any], bool]]:
            return list(await asyncio.gather(*(self.get(self.kiosk, resource, language, delay) for _ in range(count))))

        answers = self.run(together())
        merged = count - (self.project.gets - gets_before) - sum(cached for _, cached in answers)
        TOTALS["GETs merged by dedupe"] += max(0, merged)
        for data, _ in answers:
            self.check(data, language, before)

    @rule(
        change=st.sampled_from(("login", "logout", "write")),
        customer=st.sampled_from(CUSTOMERS),
        resource=st.sampled_from(RESOURCES),
        language=st.sampled_from(LANGUAGES),
        delay=st.sampled_from(DELAYS),
        apply_delay=st.sampled_from(DELAYS[1:]),
    )
    def get_racing(
        self, *, change: str, customer: str, resource: str, language: str, delay: float, apply_delay: float
    ) -> None:
        """A GET sent together with a login, a logout or a write (the answer may straddle it)."""
        self.project.apply_delay = apply_delay
        before = self.before(resource)
        if change != "write":
            self.changes += 1

        async def changing() -> None:
            if change == "login":
                await self.kiosk.login_customer(CustomerCredentials("email", customer, "pw"))
            elif change == "logout":
                await self.kiosk.logout_customer()
            else:
                response = await self.kiosk.http.put(f"{resource}/1", json={})
                assert response.status_code == 200, response.text
                self.kiosk_writes[resource] = response.json()["data"]["version"]

        async def racing() -> dict[str, Any]:
            results = await asyncio.gather(self.get(self.kiosk, resource, language, delay), changing())
            return results[0][0]  # type: ignore[no-any-return]

        data = self.run(racing())
        if change == "login":
            self.customer = customer
        elif change == "logout":
            self.customer = None
        self.check(data, language, before)

    # ------------------------------------------------------------------ Redis variant

    @precondition(lambda self: self.redis is not None and not self.redis_down)
    @rule()
    def redis_goes_away(self) -> None:
        assert self.redis is not None
        self.redis.shutdown_save()  # its data (entries, generations) saved for its return
        self.redis_down = True
        TOTALS["Redis outages"] += 1

    @precondition(lambda self: self.redis is not None and self.redis_down)
    @rule()
    def redis_comes_back(self) -> None:
        assert self.redis is not None
        self.redis.start()
        self.redis_down = False
        self.run(asyncio.sleep(0.06))  # past retry_interval: the clients try Redis again


def test_nobody_is_served_another_identitys_answer_or_one_older_than_their_own_write() -> None:
    TOTALS.clear()
    IdentityIsolation.redis = None
    run_state_machine_as_test(
        IdentityIsolation,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    print(dict(TOTALS))  # the report's figures (pytest -s)
    # The search reached what it is about: cache hits, merged GETs, GETs racing a change.
    assert TOTALS["cache hits"] > 0
    assert TOTALS["GETs merged by dedupe"] > 0
    assert TOTALS["GETs racing an identity change"] > 0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path / "redis").start()
    except RedisServerError as exc:
        pytest.fail(f"a real redis-server is needed and could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def test_the_invariant_holds_on_redis_across_an_outage_and_its_return(redis_server: RedisServer) -> None:
    TOTALS.clear()
    IdentityIsolation.redis = redis_server
    try:
        run_state_machine_as_test(
            IdentityIsolation,
            settings=settings(
                max_examples=12,
                stateful_step_count=15,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        IdentityIsolation.redis = None
    print(dict(TOTALS))  # the report's figures (pytest -s)
    assert TOTALS["Redis outages"] > 0
    assert TOTALS["cache hits"] > 0
