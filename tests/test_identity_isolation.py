"""The identity-isolation invariant of the cache and in-flight dedupe (issue 21), searched by
hypothesis over random sequences of logins, logouts, re-logins, token replacement, Enterprise
token refresh and re-login, GETs in two languages, writes, concurrent identical GETs, GETs racing
an identity change or a write, and (Redis variant) a Redis outage and its return with its data.

The project is the fake CareCloud (``carecloud_async.testing``, in-process): it keeps the Customer
API sessions (a login binds a customer to the device token, a logout unbinds it, a new token ends
the old one), serves a customer's record only to that customer's session (403 otherwise), and
sends ``Cache-Control: max-age=600`` with the stores list and a customer's record. A login,
logout or write is applied, and a GET reads its session and records, a moment after it arrives
(:meth:`FakeCareCloud.slow`). One Customer API client (a kiosk) and one Enterprise API client
share one cache (memory, or Redis in the Redis variant).

Every answer names the request the fake made it for (:meth:`FakeCareCloud.request_for`, which a
cached answer keeps), with the session's device token and customer when the fake answered. After
every GET the machine checks what the caller was served:

- an answer made for a request in the language it asked for;
- a GET that no identity change overlapped: made for the token and customer of the session the
  server held for this device (an Enterprise request for the Enterprise client), never another's;
  a customer's record only when that session was this customer's (403 otherwise);
- a GET that raced an identity change: made for a session that existed on the server during it;
- never made for a request older than the caller's own last successful write to the resource.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
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
from carecloud_async.testing import FakeCareCloud, ReceivedRequest

RESOURCES = ("stores", "customers")
LANGUAGES = ("en", "cs")
CUSTOMERS = ("jane", "john")
#: Whose record a GET of customers reads: "own" is the customer logged in (jane while nobody is),
#: so that a GET after a logout or a switch asks for the record a GET before it was answered.
WHOSE = ("own", *CUSTOMERS)
DELAYS = (0.0, 0.002, 0.01)
GET_OPERATION = {"stores": "getStores", "customers": "getCustomer"}
CHANGE_OPERATIONS = ("postTokenLogin", "postTokenLogout")

#: Totals over every run of the machines, for the report (pytest -s prints them).
TOTALS: Counter[str] = Counter()


def new_project() -> tuple[FakeCareCloud, dict[str, str]]:
    """The fake with the two customers (password ``pw``; their ids by name), one store, and the
    cacheable routes."""
    fake = FakeCareCloud()
    ids = {name: fake.customers.create(email=f"{name}@example.com", password="pw")["customer_id"] for name in CUSTOMERS}
    fake.stores.create(name="Prague 1")
    for operation in GET_OPERATION.values():
        fake.cache_control(operation, "max-age=600")
    return fake, ids


@dataclass(frozen=True)
class Before:
    """What the machine knew when a GET was issued."""

    changes: int  # identity changes started so far
    token: str | None  # the device token the client sends (it learns of a revocation by a 401)
    customer: str | None  # the customer id logged in (None: nobody)
    last_write: int  # the number of the fake's request of the caller's own last write to the resource


class IdentityIsolation(RuleBasedStateMachine):
    """The machine (see the module docs). ``redis``: the server of the Redis variant, or None."""

    redis: RedisServer | None = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.fake, self.ids = new_project()
        (self.store_id,) = (store["store_id"] for store in self.fake.stores)
        self.state: RedisState | None = None
        self.redis_down = False
        if self.redis is not None:
            self.state = RedisState(
                self.redis.url, prefix=f"i{uuid.uuid4().hex[:12]}", timeout=0.3, retry_interval=0.05
            )
            cache = self.state.http_cache()
        else:
            cache = HTTPCache()
        self.kiosk = self.fake.customer_client(
            external_application_id="app",
            device=Device("kiosk-1", "Linux", "Kiosk", "kiosk"),
            retry=RetryPolicy.disabled(),
            cache=cache,
        )
        self.office = self.fake.enterprise_client(retry=RetryPolicy.disabled(), cache=cache)
        self.customer: str | None = None  # the customer id the machine logged in (None: nobody)
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
        assert self.fake.violations == []  # every request the clients sent fits the spec

    # ------------------------------------------------------------------ the project's pace

    def apply_after(self, seconds: float) -> None:
        """Logins and logouts take effect ``seconds`` after they arrive."""
        for operation in CHANGE_OPERATIONS:
            self.fake.slow(operation, seconds)

    def read_after(self, resource: str, seconds: float) -> None:
        """GETs of ``resource`` read their session and records ``seconds`` after they arrive."""
        self.fake.slow(GET_OPERATION[resource], seconds)

    # ------------------------------------------------------------------ checks

    def kiosk_token(self) -> str | None:
        auth = self.kiosk.auth
        assert isinstance(auth, CustomerAuth)
        return auth.token_id

    def before(self, resource: str, *, office: bool = False) -> Before:
        writes = self.office_writes if office else self.kiosk_writes
        return Before(self.changes, self.kiosk_token(), self.customer, writes[resource])

    def path_of(self, resource: str, whose: str) -> str:
        if resource == "stores":
            return "stores"
        if whose == "own":
            return f"customers/{self.customer or self.ids[CUSTOMERS[0]]}"
        return f"customers/{self.ids[whose]}"

    async def get(self, client: CareCloud, path: str, language: str) -> tuple[httpx.Response, ReceivedRequest, bool]:
        response = await client.http.get(path, headers={"Accept-Language": language})
        assert response.status_code in (200, 403), response.text
        made_for = self.fake.request_for(response)
        assert made_for is not None, response.headers
        cached = from_cache(response)
        TOTALS["cache hits" if cached else "answers from the server"] += 1
        return response, made_for, cached

    def check(
        self,
        response: httpx.Response,
        made_for: ReceivedRequest,
        language: str,
        before: Before,
        *,
        office: bool = False,
    ) -> None:
        seen = (made_for.number, made_for.interface, made_for.token_id, made_for.customer_id, response.status_code)
        assert made_for.headers.get("accept-language") == language, seen
        assert made_for.number > before.last_write, (seen, before)  # never older than one's own write
        record_of = made_for.path.removeprefix("/customers/") if made_for.path.startswith("/customers/") else None
        if response.status_code == 200 and record_of is not None:
            assert response.json()["data"]["customer_id"] == record_of, seen
        if office:
            assert made_for.interface == "enterprise", seen
            assert response.status_code == 200, seen
            return
        assert made_for.interface == "customer", seen
        # The fake's privacy rule: a customer's record only to that customer's session.
        assert (response.status_code == 403) == (record_of is not None and made_for.customer_id != record_of), seen
        token = self.kiosk_token()
        if before.changes == self.changes and before.token == token:
            # No identity change overlapped the GET: exactly the identity it was sent as.
            assert (made_for.token_id, made_for.customer_id) == (token, self.customer), (seen, before)
        else:
            TOTALS["GETs racing an identity change"] += 1
            assert made_for.token_id in {before.token, token}, (seen, before)
            assert made_for.customer_id in {before.customer, self.customer}, (seen, before)

    # ------------------------------------------------------------------ rules

    @initialize()
    def start(self) -> None:
        self.run(self.kiosk.auth.authenticate(self.kiosk.http))

    @rule(customer=st.sampled_from(CUSTOMERS), apply_delay=st.sampled_from(DELAYS))
    def login(self, customer: str, apply_delay: float) -> None:
        self.apply_after(apply_delay)
        self.changes += 1
        self.run(self.kiosk.login_customer(CustomerCredentials("email", f"{customer}@example.com", "pw")))
        self.customer = self.ids[customer]

    @rule(apply_delay=st.sampled_from(DELAYS))
    def logout(self, apply_delay: float) -> None:
        self.apply_after(apply_delay)
        self.changes += 1
        self.run(self.kiosk.logout_customer())
        self.customer = None

    @rule()
    def replace_device_token(self) -> None:
        """The server revokes the device token: the next request gets 401, the client makes a new
        token (and logs the customer in again on it)."""
        self.fake.sessions.clear()
        self.changes += 1

    @rule()
    def enterprise_token_expires(self) -> None:
        """The Enterprise bearer token stops working: a 401, a new login, a replay."""
        self.fake.expire_tokens()

    @rule()
    def enterprise_token_due_for_refresh(self) -> None:
        """The Enterprise token reaches its refresh time: the next request logs in first."""
        auth = self.office.auth
        assert isinstance(auth, EnterpriseAuth)
        auth._refresh_at = datetime.now(timezone.utc) - timedelta(seconds=1)

    @rule(
        resource=st.sampled_from(RESOURCES),
        whose=st.sampled_from(WHOSE),
        language=st.sampled_from(LANGUAGES),
        delay=st.sampled_from(DELAYS),
    )
    def kiosk_get(self, resource: str, whose: str, language: str, delay: float) -> None:
        self.read_after(resource, delay)
        before = self.before(resource)
        response, made_for, _ = self.run(self.get(self.kiosk, self.path_of(resource, whose), language))
        self.check(response, made_for, language, before)

    @rule(
        resource=st.sampled_from(RESOURCES),
        whose=st.sampled_from(WHOSE),
        language=st.sampled_from(LANGUAGES),
        delay=st.sampled_from(DELAYS),
    )
    def office_get(self, resource: str, whose: str, language: str, delay: float) -> None:
        self.read_after(resource, delay)
        before = self.before(resource, office=True)
        response, made_for, _ = self.run(self.get(self.office, self.path_of(resource, whose), language))
        self.check(response, made_for, language, before, office=True)

    async def put(self, client: CareCloud, resource: str, customer_id: str | None) -> int:
        """A whole-record PUT of the store, or of the customer ``customer_id``; its request number."""
        if resource == "stores":
            path, record = f"stores/{self.store_id}", self.fake.stores[self.store_id]
            body = {"store": {k: v for k, v in record.items() if k not in ("store_id", "last_change")}}
        else:
            assert customer_id is not None
            path, record = f"customers/{customer_id}", self.fake.customers[customer_id]
            body = {"customer": {k: v for k, v in record.items() if k not in ("customer_id", "last_change")}}
        response = await client.http.put(path, json=body)
        assert response.status_code == 204, response.text
        made_for = self.fake.request_for(response)
        assert made_for is not None
        return made_for.number

    @rule(resource=st.sampled_from(RESOURCES), office=st.booleans(), whose=st.sampled_from(CUSTOMERS))
    def write(self, resource: str, office: bool, whose: str) -> None:
        """A write by either client (the kiosk writes only the customer logged in on it)."""
        if not office and resource == "customers" and self.customer is None:
            return
        customer_id = self.ids[whose] if office else self.customer
        number = self.run(self.put(self.office if office else self.kiosk, resource, customer_id))
        (self.office_writes if office else self.kiosk_writes)[resource] = number

    @rule(
        resource=st.sampled_from(RESOURCES),
        whose=st.sampled_from(WHOSE),
        language=st.sampled_from(LANGUAGES),
        count=st.integers(2, 4),
        delay=st.sampled_from(DELAYS[1:]),
    )
    def concurrent_gets(self, resource: str, whose: str, language: str, count: int, delay: float) -> None:
        self.read_after(resource, delay)
        before = self.before(resource)
        operation = GET_OPERATION[resource]
        gets_before = len(self.fake.requests(operation))
        path = self.path_of(resource, whose)

        async def together() -> list[tuple[httpx.Response, ReceivedRequest, bool]]:
            return list(await asyncio.gather(*(self.get(self.kiosk, path, language) for _ in range(count))))

        answers = self.run(together())
        reached = len(self.fake.requests(operation)) - gets_before
        merged = count - reached - sum(cached for _, _, cached in answers)
        TOTALS["GETs merged by dedupe"] += max(0, merged)
        for response, made_for, _ in answers:
            self.check(response, made_for, language, before)

    @rule(
        change=st.sampled_from(("login", "logout", "write")),
        customer=st.sampled_from(CUSTOMERS),
        resource=st.sampled_from(RESOURCES),
        whose=st.sampled_from(WHOSE),
        language=st.sampled_from(LANGUAGES),
        delay=st.sampled_from(DELAYS),
        apply_delay=st.sampled_from(DELAYS[1:]),
    )
    def get_racing(
        self,
        *,
        change: str,
        customer: str,
        resource: str,
        whose: str,
        language: str,
        delay: float,
        apply_delay: float,
    ) -> None:
        """A GET sent together with a login, a logout or a write (the answer may straddle it)."""
        self.apply_after(apply_delay)
        self.read_after(resource, delay)
        before = self.before(resource)
        written = "stores" if self.customer is None else resource  # the kiosk writes its own customer
        if change != "write":
            self.changes += 1

        async def changing() -> None:
            if change == "login":
                await self.kiosk.login_customer(CustomerCredentials("email", f"{customer}@example.com", "pw"))
            elif change == "logout":
                await self.kiosk.logout_customer()
            else:
                self.kiosk_writes[written] = await self.put(self.kiosk, written, self.customer)

        path = self.path_of(resource, whose)

        async def racing() -> tuple[httpx.Response, ReceivedRequest]:
            results = await asyncio.gather(self.get(self.kiosk, path, language), changing())
            response, made_for, _ = results[0]
            return response, made_for

        response, made_for = self.run(racing())
        if change == "login":
            self.customer = self.ids[customer]
        elif change == "logout":
            self.customer = None
        self.check(response, made_for, language, before)
        # The same GET once the change has settled: whatever the race left in the cache or in
        # flight, it is answered for the identity the kiosk has now.
        settled = self.before(resource)
        response, made_for, _ = self.run(self.get(self.kiosk, path, language))
        self.check(response, made_for, language, settled)

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
