"""The HTTP cache: Cache-Control, identity in the key, invalidation by writes, per-call opt-out.

The mechanism tests (which Cache-Control is honoured, what a key holds, what a write
invalidates, storage bounds) use a scripted server (httpx.MockTransport) that sends whatever
Cache-Control a test names on any path; whose answer is served to whom (identities, customer
logins and logouts, the barriers of issue 21) is tested against the fake CareCloud, which keeps the
logins and sessions and names the session each answer was made for. The stack is the real one a
CareCloud client builds (auth → dedupe → cache → retries).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from carecloud_api.api.stores import get_stores

from carecloud_async import CareCloud, CustomerCredentials, Device, HTTPCache, RetryPolicy, ServerError, bypass_cache
from carecloud_async._cache import CacheTransport, MemoryCacheStorage, cache_key, from_cache, resource_scope
from carecloud_async._identity import BYPASS_EXTENSION, customer_identity, enterprise_identity
from carecloud_async.testing import FakeCareCloud, ReceivedRequest

ENTERPRISE = "https://p.example/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER = "https://p.example/webservice/rest-api/customer-interface/v1.0"


class Server:
    """Answers any GET with a counter and the Cache-Control it is told to send, any write with
    200 (400 on a path with ``bad``), and a login with a bearer token (for the mechanism tests)."""

    def __init__(self, cache_control: str | None = "max-age=60") -> None:
        self.cache_control = cache_control
        self.gets = 0
        self.writes = 0
        self.logins = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/users/actions/login"):
            self.logins += 1
            return httpx.Response(200, json={"data": {"bearer_token": f"bearer-{self.logins}"}})
        if request.method != "GET":
            self.writes += 1
            return httpx.Response(200 if "bad" not in path else 400, json={"data": {}})
        self.gets += 1
        body = {"data": {"stores": [], "total_items": 0, "n": self.gets}}
        headers = {"Cache-Control": self.cache_control} if self.cache_control else {}
        return httpx.Response(200, json=body, headers=headers)


def enterprise(server: Server, cache: HTTPCache | bool = True, **kwargs: object) -> CareCloud:
    return CareCloud.enterprise(
        "https://p.example",
        user_external_application_id="app",
        login=str(kwargs.pop("login", "pos@example.com")),
        password="secret",
        transport=httpx.MockTransport(server),
        cache=cache,
        **kwargs,  # type: ignore[arg-type]
    )


async def get_data(cc: CareCloud, path: str = "/stores", **headers: str) -> dict[str, object]:
    response = await cc.http.get(path.lstrip("/"), headers=headers)
    response.raise_for_status()
    data = response.json()["data"]
    assert isinstance(data, dict)
    data["from_cache"] = from_cache(response)
    return data


# --------------------------------------------------------------------------- Cache-Control


async def test_max_age_answers_the_second_get_from_the_cache() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        first = await get_data(cc)
        second = await get_data(cc)
    assert server.gets == 1
    assert (first["from_cache"], second["from_cache"]) == (False, True)
    assert second["n"] == first["n"] == 1


@pytest.mark.parametrize("cache_control", ["no-store", "max-age=0", "no-cache", None])
async def test_answers_the_server_does_not_allow_to_reuse_go_to_the_server_each_time(
    cache_control: str | None,
) -> None:
    server = Server(cache_control)
    async with enterprise(server) as cc:
        await get_data(cc)
        second = await get_data(cc)
    assert server.gets == 2
    assert second["from_cache"] is False


async def test_no_store_answers_are_never_written_to_the_storage() -> None:
    server = Server("no-store")
    cache = HTTPCache()
    async with enterprise(server, cache) as cc:
        await get_data(cc)
    assert isinstance(cache.storage, MemoryCacheStorage)
    assert cache.storage.entry_count == 0


async def test_the_cache_is_off_by_default() -> None:
    server = Server("max-age=60")
    async with enterprise(server, cache=False) as cc:
        await get_data(cc)
        await get_data(cc)
    assert cc.cache is None
    assert server.gets == 2


# --------------------------------------------------------------------------- identity


async def test_the_query_string_is_part_of_the_key() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await get_data(cc, "/stores?count=5")
        await get_data(cc, "/stores?count=6")
        await get_data(cc, "/stores?count=5")
    assert server.gets == 2


async def test_a_request_with_an_unknown_identity_is_not_cached() -> None:
    server = Server("max-age=60")
    transport = CacheTransport(httpx.MockTransport(server), HTTPCache(), identity=lambda request: None)
    async with httpx.AsyncClient(transport=transport, base_url=ENTERPRISE) as client:
        await client.get("stores")
        await client.get("stores")
    assert server.gets == 2


# --------------------------------------------------------------------------- invalidation


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/stores"),
        ("PUT", "/stores/7"),
        ("DELETE", "/stores/7"),
        ("POST", "/stores/7/actions/close"),
    ],
)
async def test_a_write_to_a_resource_invalidates_its_cached_gets(method: str, path: str) -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await get_data(cc, "/stores")
        await get_data(cc, "/stores/7")
        await get_data(cc, "/currencies")
        (await cc.http.request(method, path.lstrip("/"))).raise_for_status()
        assert (await get_data(cc, "/stores"))["from_cache"] is False
        assert (await get_data(cc, "/stores/7"))["from_cache"] is False
        assert (await get_data(cc, "/currencies"))["from_cache"] is True
    assert server.gets == 5


async def test_a_write_by_one_identity_invalidates_what_every_identity_cached() -> None:
    server = Server("max-age=60")
    cache = HTTPCache()
    async with enterprise(server, cache) as pos, enterprise(server, cache, login="bi@example.com") as bi:
        await get_data(bi, "/stores")
        await pos.http.post("stores", json={})
        assert (await get_data(bi, "/stores"))["from_cache"] is False


async def test_a_refused_write_invalidates_nothing() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await get_data(cc, "/stores")
        assert (await cc.http.post("stores/bad")).status_code == 400
        assert (await get_data(cc, "/stores"))["from_cache"] is True


def test_resource_scope_is_the_first_segment_after_the_base_path() -> None:
    assert resource_scope(httpx.URL(ENTERPRISE + "/stores/7/actions/close")) == "p.example/stores"
    assert resource_scope(httpx.URL(CUSTOMER + "/stores")) == "p.example/stores"
    assert resource_scope(httpx.URL("https://q.example/other/path")) == "q.example/other"


def test_the_key_changes_with_every_part() -> None:
    url = httpx.URL(ENTERPRISE + "/stores")
    base = {"identity": "i", "language": "en", "generation": 0, "method": "GET", "url": url}
    keys = {
        cache_key(**base),  # type: ignore[arg-type]
        cache_key(**{**base, "identity": "j"}),  # type: ignore[arg-type]
        cache_key(**{**base, "language": "cs"}),  # type: ignore[arg-type]
        cache_key(**{**base, "generation": 1}),  # type: ignore[arg-type]
        cache_key(**{**base, "url": httpx.URL(ENTERPRISE + "/stores?count=1")}),  # type: ignore[arg-type]
    }
    assert len(keys) == 5


def test_identities_hash_their_parts() -> None:
    assert "pos@example.com" not in enterprise_identity("p.example", "app", "pos@example.com")
    assert "token-1" not in customer_identity("token-1", None)


# --------------------------------------------------------------------------- opt-out


async def test_bypass_cache_sends_to_the_server_and_leaves_the_entry() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await get_data(cc)
        with bypass_cache():
            bypassed = await get_data(cc)
        after = await get_data(cc)
    assert bypassed["from_cache"] is False
    assert after["from_cache"] is True
    assert server.gets == 2


async def test_the_request_extension_opts_one_request_out() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await get_data(cc)
        response = await cc.http.get("stores", extensions={BYPASS_EXTENSION: False})
    assert from_cache(response) is False
    assert server.gets == 2


async def test_generated_operations_are_cached_through_call() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        await cc.call(get_stores.call)
        await cc.call(get_stores.call)
        with bypass_cache():
            await cc.call(get_stores.call)
    assert server.gets == 2


# --------------------------------------------------------------------------- storage


async def test_memory_storage_keeps_at_most_max_entries() -> None:
    server = Server("max-age=60")
    cache = HTTPCache(storage=MemoryCacheStorage(max_entries=2))
    async with enterprise(server, cache) as cc:
        for path in ("/stores", "/currencies", "/card-types", "/stores"):
            await get_data(cc, path)
    assert isinstance(cache.storage, MemoryCacheStorage)
    assert cache.storage.entry_count == 2
    assert server.gets == 4  # /stores was pushed out by the two after it


async def test_memory_storage_entries_expire_after_the_ttl() -> None:
    now = [1000.0]
    server = Server("max-age=600")
    cache = HTTPCache(storage=MemoryCacheStorage(default_ttl=10, clock=lambda: now[0]))
    async with enterprise(server, cache) as cc:
        await get_data(cc)
        now[0] += 11
        assert (await get_data(cc))["from_cache"] is False
    assert server.gets == 2


def test_cache_must_be_a_cache_object() -> None:
    from carecloud_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="cache must be"):
        enterprise(Server(), cache="yes")  # type: ignore[arg-type]


async def test_a_view_with_cache_false_always_asks_the_server() -> None:
    server = Server("max-age=60")
    async with enterprise(server) as cc:
        live = cc.with_options(cache=False)
        await cc.call(get_stores.call)
        await live.call(get_stores.call)
        await live.call(get_stores.call)
        await cc.call(get_stores.call)  # the client itself still uses the cache
        assert server.gets == 3
        # A view of that view keeps the opt-out unless it says otherwise.
        await live.with_options(timeout=5).call(get_stores.call)
        assert server.gets == 4
        await live.with_options(cache=True).call(get_stores.call)
        assert server.gets == 4


async def test_an_answer_is_fresh_for_max_age_seconds_only() -> None:
    server = Server("max-age=1")
    async with enterprise(server) as cc:
        await get_data(cc)
        assert (await get_data(cc))["from_cache"] is True
        await asyncio.sleep(1.5)  # hishel reads the age from the wall clock
        assert (await get_data(cc))["from_cache"] is False
    assert server.gets == 2


async def test_retries_run_below_the_cache_and_only_the_final_answer_is_stored() -> None:
    server = Server("max-age=60")
    answers = iter([httpx.Response(503, headers={"Retry-After": "0", "Cache-Control": "max-age=60"})])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return next(answers, None) or server(request)
        return server(request)

    cc = CareCloud.enterprise(
        "https://p.example",
        user_external_application_id="app",
        login="pos",
        password="pw",
        transport=httpx.MockTransport(flaky),
        cache=True,
    )
    async with cc:
        first = await get_data(cc)
        second = await get_data(cc)
    assert first["from_cache"] is False
    assert second["from_cache"] is True
    assert server.gets == 1


# --------------------------------------------------------------------------- identity, on the fake CareCloud
# The fake keeps the logins and sessions; fake.request_for(response) names the session (customer,
# device token) and the language an answer was made for, a cached one too.


def fake_project(cache_control: str = "max-age=60") -> FakeCareCloud:
    """The fake CareCloud with Jane and John (password ``pw``), a second Enterprise user
    ``bi@example.com`` and the stores list sent with ``cache_control``."""
    fake = FakeCareCloud()
    for name in ("jane", "john"):
        fake.customers.create(email=f"{name}@example.com", password="pw")
    fake.add_user("bi@example.com", "fake-password", "fake-app")
    fake.cache_control("getStores", cache_control)
    return fake


def credentials(name: str) -> CustomerCredentials:
    return CustomerCredentials("email", f"{name}@example.com", "pw")


def customer_id_of(fake: FakeCareCloud, name: str) -> str:
    found = fake.customers.find_login("email", f"{name}@example.com", fake.cards)
    assert found is not None
    return str(found["customer_id"])


async def made_for(fake: FakeCareCloud, cc: CareCloud, **headers: str) -> tuple[ReceivedRequest, bool]:
    """A GET of the stores: the request the answer was made for, and whether it came from the cache."""
    response = await cc.http.get("stores", headers=headers)
    response.raise_for_status()
    request = fake.request_for(response)
    assert request is not None
    return request, from_cache(response)


async def test_private_answers_are_cached_for_their_own_identity_only() -> None:
    fake, cache = fake_project("private, max-age=60"), HTTPCache()
    async with (
        fake.enterprise_client(cache=cache) as pos,
        fake.enterprise_client(cache=cache, login="bi@example.com") as bi,
    ):
        assert (await made_for(fake, pos))[1] is False
        assert (await made_for(fake, pos))[1] is True
        assert (await made_for(fake, bi))[1] is False
    assert len(fake.requests("getStores")) == 2


async def test_two_customers_on_one_cache_never_see_each_others_answers() -> None:
    fake, cache = fake_project(), HTTPCache()
    jane, john = customer_id_of(fake, "jane"), customer_id_of(fake, "john")
    async with (
        fake.customer_client(
            device=Device("phone-jane", "Linux", "Till", "till"), cache=cache, credentials=credentials("jane")
        ) as a,
        fake.customer_client(
            device=Device("phone-john", "Linux", "Till", "till"), cache=cache, credentials=credentials("john")
        ) as b,
    ):
        for _ in range(3):
            (seen_a, _), (seen_b, _) = await made_for(fake, a), await made_for(fake, b)
            assert seen_a.customer_id == jane
            assert seen_b.customer_id == john
    assert len(fake.requests("getStores")) == 2  # one per customer, the rest from the cache


async def test_another_customer_logged_in_on_the_same_device_token_is_not_served_the_first_ones_answer() -> None:
    fake = fake_project()
    async with fake.customer_client(device=Device("shared-kiosk", "Linux", "Till", "till"), cache=HTTPCache()) as kiosk:
        jane = await kiosk.login_customer(credentials("jane"))
        assert (await made_for(fake, kiosk))[0].customer_id == jane
        assert (await made_for(fake, kiosk))[1] is True
        await kiosk.logout_customer()
        john = await kiosk.login_customer(credentials("john"))
        after, cached = await made_for(fake, kiosk)
        assert (after.customer_id, cached) == (john, False)
        await kiosk.logout_customer()
        anonymous, cached = await made_for(fake, kiosk)
        assert (anonymous.customer_id, cached) == (None, False)


async def test_accept_language_is_part_of_the_key() -> None:
    fake = fake_project()
    async with fake.enterprise_client(cache=True) as cc:
        english, _ = await made_for(fake, cc, **{"Accept-Language": "en"})
        czech, _ = await made_for(fake, cc, **{"Accept-Language": "cs"})
        czech_again, cached = await made_for(fake, cc, **{"Accept-Language": "cs"})
    assert (english.headers["accept-language"], czech.headers["accept-language"]) == ("en", "cs")
    assert (czech_again, cached) == (czech, True)
    assert len(fake.requests("getStores")) == 2


async def test_tokens_are_neither_stored_nor_keyed_in_clear(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake, cache = fake_project(), HTTPCache()
    async with fake.customer_client(device=Device("kiosk", "Linux", "Till", "till"), cache=cache) as kiosk:
        await kiosk.login_customer(credentials("jane"))
        sent, _ = await made_for(fake, kiosk)
        token = kiosk.auth.token_id  # type: ignore[union-attr]
    assert token is not None
    storage = cache.storage
    assert isinstance(storage, MemoryCacheStorage)
    assert storage.entry_count == 1
    # What is kept besides the body (the server's own answer): the request and the key.
    stored = repr([entry.request for entry in storage._entries.values()]) + repr(storage._by_key)
    assert token not in stored
    assert "authorization" not in stored.lower()
    assert token not in caplog.text
    # The server still got the token on the request that the cache sent on.
    assert sent.token_id == token


async def test_a_401_under_the_cache_still_means_one_relogin_and_a_replay() -> None:
    fake = fake_project()
    async with fake.enterprise_client(cache=True) as cc:
        await cc.authenticate()
        fake.expire_tokens()
        first, first_cached = await made_for(fake, cc)  # the token refused: log in again, replay
        second, second_cached = await made_for(fake, cc)
    assert fake.counts().enterprise_logins == 2
    assert [r.status for r in fake.requests("getStores")] == [401, 200]
    assert (first.status, first_cached) == (200, False)
    assert (second, second_cached) == (first, True)


# --------------------------------------------------------------------------- identity barriers (issue 21, item 8)


def sessions_project() -> FakeCareCloud:
    """The fake CareCloud with Jane (password ``pw``) and the stores list cacheable for 10 minutes;
    every answer names the session it was made for (``request_for``)."""
    fake = FakeCareCloud()
    fake.customers.create(email="jane@example.com", password="pw")
    fake.cache_control("getStores", "max-age=600")
    return fake


JANE = CustomerCredentials("email", "jane@example.com", "pw")


def kiosk_client(fake: FakeCareCloud, cache: HTTPCache | bool, **kwargs: Any) -> CareCloud:
    return fake.customer_client(device=Device("kiosk-1", "Linux", "Kiosk", "kiosk"), cache=cache, **kwargs)


async def served(fake: FakeCareCloud, kiosk: CareCloud) -> tuple[str | None, bool]:
    """A GET of the stores: the customer of the session the answer was made for, and whether it
    came from the cache."""
    response = await kiosk.http.get("stores")
    response.raise_for_status()
    made_for = fake.request_for(response)
    assert made_for is not None
    return made_for.customer_id, from_cache(response)


async def test_a_get_sent_while_the_logout_is_applied_is_never_served_to_the_next_person() -> None:
    fake, cache = sessions_project(), HTTPCache()
    held = fake.hold("postTokenLogout")
    async with kiosk_client(fake, cache) as kiosk:
        jane = await kiosk.login_customer(JANE)
        logout = asyncio.create_task(kiosk.logout_customer())
        await held.arrived.wait()  # the logout has reached the server, which has not applied it yet
        assert await served(fake, kiosk) == (jane, False)  # the server answered from Jane's session
        held.release()
        await logout
        for _ in range(2):  # the next person at the kiosk
            assert (await served(fake, kiosk))[0] is None
    assert len(fake.requests("getStores")) == 2  # the straddling answer was not stored; the anonymous one was
    storage = cache.storage
    assert isinstance(storage, MemoryCacheStorage)
    stored = [fake.request_for(httpx.Response(200, headers=dict(e.headers))) for e in storage._entries.values()]
    assert [r.customer_id if r else "?" for r in stored] == [None]  # Jane's answer is stored under no key at all


async def test_a_get_answered_after_a_login_is_never_stored_under_the_identity_it_was_sent_as() -> None:
    fake = sessions_project()
    held = fake.hold("getStores")
    async with kiosk_client(fake, HTTPCache()) as kiosk:
        await kiosk.auth.authenticate(kiosk.http)
        anonymous = asyncio.create_task(served(fake, kiosk))  # sent as nobody
        await held.arrived.wait()
        jane = await kiosk.login_customer(JANE)
        held.release()
        assert await anonymous == (jane, False)  # the server read Jane's session
        await kiosk.logout_customer()
        assert (await served(fake, kiosk))[0] is None


async def test_a_get_during_a_relogin_is_not_served_what_was_cached_for_nobody() -> None:
    # Found by tests/test_identity_isolation.py on the code before the fix: while Jane logged in
    # again, a GET was keyed as anonymous and served the anonymous entry, though the server held
    # Jane's session the whole time.
    fake = sessions_project()
    async with kiosk_client(fake, HTTPCache()) as kiosk:
        await kiosk.auth.authenticate(kiosk.http)
        assert (await served(fake, kiosk))[0] is None  # cached for nobody
        jane = await kiosk.login_customer(JANE)
        fake.slow("postTokenLogin", 0.2)  # the login again is applied a moment after it arrives
        during, _ = await asyncio.gather(served(fake, kiosk), kiosk.login_customer(JANE))
    assert during == (jane, False)


async def test_after_a_failed_logout_nothing_is_cached_until_the_session_is_known_again() -> None:
    fake = sessions_project()
    async with kiosk_client(fake, True, retry=RetryPolicy.disabled()) as cc:
        jane = await cc.login_customer(JANE)
        fake.fail("postTokenLogout", status=500)  # answered before the server applies it
        with pytest.raises(ServerError):
            await cc.logout_customer()
        # The server kept Jane's session: what it answers now must not be kept for anyone.
        assert await served(fake, cc) == (jane, False)
        assert await served(fake, cc) == (jane, False)
        await cc.logout_customer()
        assert await served(fake, cc) == (None, False)
        assert await served(fake, cc) == (None, True)
    assert fake.violations == []


# --------------------------------------------------------------------------- never cached (item 9)


async def test_token_bearing_paths_and_authentication_answers_are_never_cached() -> None:
    fake, cache = fake_project(), HTTPCache()
    fake.cache_control("getTokenAuthentication", "max-age=600")  # the server would allow it
    async with fake.customer_client(device=Device("kiosk", "Linux", "Till", "till"), cache=cache) as kiosk:
        await kiosk.login_customer(credentials("jane"))
        token = kiosk.auth.token_id  # type: ignore[union-attr]
        assert token is not None
        for _ in range(2):
            response = await kiosk.http.get(
                f"tokens/{token}/actions/auth-token", params={"external_application_id": "x", "token_type": 1}
            )
            assert (response.status_code, response.headers["Cache-Control"]) == (200, "max-age=600")
            assert from_cache(response) is False
    assert len(fake.requests("getTokenAuthentication")) == 2
    storage = cache.storage
    assert isinstance(storage, MemoryCacheStorage)
    assert storage.entry_count == 0
    assert token not in repr([entry.request for entry in storage._entries.values()])


# --------------------------------------------------------------------------- explicit Cache-Control only (item 12)


@pytest.mark.parametrize(
    "headers",
    [
        {"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
        {"Expires": "Fri, 01 Jan 2100 00:00:00 GMT"},
        {"Cache-Control": "private"},
        {},
    ],
)
async def test_an_answer_without_an_explicit_max_age_is_neither_stored_nor_served(headers: dict[str, str]) -> None:
    gets = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal gets
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "b"}})
        gets += 1
        return httpx.Response(200, json={"data": {"n": gets}}, headers=headers)

    cache = HTTPCache()
    cc = CareCloud.enterprise(
        "https://p.example",
        user_external_application_id="app",
        login="pos",
        password="pw",
        transport=httpx.MockTransport(handler),
        cache=cache,
    )
    async with cc:
        first, second = await get_data(cc, "/customers/1"), await get_data(cc, "/customers/1")
    assert (first["n"], second["n"]) == (1, 2)
    assert second["from_cache"] is False
    assert isinstance(cache.storage, MemoryCacheStorage)
    assert cache.storage.entry_count == 0


async def test_an_entry_is_kept_no_longer_than_its_max_age() -> None:
    now = [1000.0]
    server = Server("max-age=5")
    cache = HTTPCache(storage=MemoryCacheStorage(default_ttl=3600, clock=lambda: now[0]))
    async with enterprise(server, cache) as cc:
        await get_data(cc)
    assert isinstance(cache.storage, MemoryCacheStorage)
    assert cache.storage.entry_count == 1
    now[0] += 6
    assert await cache.storage.get_entries(next(iter(cache.storage._by_key))) == []
    assert cache.storage.entry_count == 0
