"""In-flight dedupe: identical concurrent GETs send one request and share the answer or the failure.

The mechanism tests use a scripted slow server (httpx.MockTransport) that answers once released;
read-your-writes (a GET after a write does not join a GET sent before it) runs on the fake
CareCloud, whose request_for() shows which request an answer was made for.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from carecloud_api.api.stores import get_stores

from carecloud_async import CareCloud, RequestTimeout, RetryPolicy, ServerError, bypass_cache
from carecloud_async._dedupe import DedupeTransport, dedupe_key
from carecloud_async.testing import FakeCareCloud


class SlowServer:
    """Answers after a pause (so that calls overlap), counting requests; fails when told to."""

    def __init__(self, *, status: int = 200, raise_timeout: bool = False) -> None:
        self.requests = 0
        self.status = status
        self.raise_timeout = raise_timeout
        self.release = asyncio.Event()
        self.reached = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.reached.set()
        await self.release.wait()
        if self.raise_timeout:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(
            self.status,
            json={"data": {"stores": [], "total_items": 0, "path": request.url.path, "n": self.requests}},
            headers={"Content-Type": "application/json", "Cache-Control": "max-age=60"},
        )


def client(server: SlowServer, **kwargs: object) -> CareCloud:
    cc = CareCloud.enterprise(
        "https://p.example",
        user_external_application_id="app",
        login="pos@example.com",
        password="secret",
        transport=httpx.MockTransport(server),
        retry=RetryPolicy.disabled(),
        **kwargs,  # type: ignore[arg-type]
    )
    cc.auth._token = "bearer"  # type: ignore[union-attr]  # logged in: only the GETs reach the server
    return cc


async def run_together(server: SlowServer, calls: list[asyncio.Task[object]]) -> list[object]:
    await server.reached.wait()
    for _ in range(20):  # let every call reach the transport before the answer comes
        await asyncio.sleep(0)
    server.release.set()
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_100_concurrent_identical_gets_send_one_request() -> None:
    server = SlowServer()
    async with client(server, dedupe=True) as cc:
        calls = [asyncio.create_task(cc.http.get("stores")) for _ in range(100)]
        responses = await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 1
    assert all(isinstance(r, httpx.Response) and r.json()["data"]["n"] == 1 for r in responses)
    assert len({id(r) for r in responses}) == 100  # each caller has its own response object


async def test_100_concurrent_generated_calls_send_one_request() -> None:
    server = SlowServer()
    async with client(server, dedupe=True) as cc:
        calls = [asyncio.create_task(cc.call(get_stores.call)) for _ in range(100)]
        results = await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 1
    assert not [r for r in results if isinstance(r, BaseException)]


async def test_without_dedupe_each_call_is_sent() -> None:
    server = SlowServer()
    async with client(server) as cc:
        calls = [asyncio.create_task(cc.http.get("stores")) for _ in range(10)]
        await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 10


async def test_a_raised_failure_reaches_every_waiter() -> None:
    server = SlowServer(raise_timeout=True)
    async with client(server, dedupe=True) as cc:
        calls = [asyncio.create_task(cc.call(get_stores.call)) for _ in range(100)]
        results = await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 1
    assert all(isinstance(r, RequestTimeout) for r in results)
    assert len({id(r) for r in results}) == 100


async def test_an_error_answer_reaches_every_waiter() -> None:
    server = SlowServer(status=500)
    async with client(server, dedupe=True) as cc:
        calls = [asyncio.create_task(cc.call(get_stores.call)) for _ in range(100)]
        results = await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 1
    assert all(isinstance(r, ServerError) and r.status_code == 500 for r in results)


async def test_different_urls_languages_and_bypassed_calls_are_not_merged() -> None:
    server = SlowServer()
    async with client(server, dedupe=True) as cc:

        async def bypassed() -> httpx.Response:
            with bypass_cache():
                return await cc.http.get("stores")

        calls = [
            asyncio.create_task(cc.http.get("stores")),
            asyncio.create_task(cc.http.get("stores?count=1")),
            asyncio.create_task(cc.http.get("stores", headers={"Accept-Language": "cs"})),
            asyncio.create_task(bypassed()),
            asyncio.create_task(cc.http.post("stores", json={})),
            asyncio.create_task(cc.http.post("stores", json={})),
        ]
        await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 6


async def test_a_cancelled_caller_does_not_cancel_the_request_for_the_others() -> None:
    server = SlowServer()
    transport = DedupeTransport(httpx.MockTransport(server), identity=lambda request: "me")
    async with httpx.AsyncClient(transport=transport, base_url="https://p.example") as http:
        first = asyncio.create_task(http.get("stores"))
        second = asyncio.create_task(http.get("stores"))
        await server.reached.wait()
        await asyncio.sleep(0)
        first.cancel()
        server.release.set()
        response = await second
        with pytest.raises(asyncio.CancelledError):
            await first
    assert response.status_code == 200
    assert server.requests == 1
    assert transport.in_flight == 0


async def test_different_identities_are_not_merged() -> None:
    server = SlowServer()
    transport = DedupeTransport(httpx.MockTransport(server), identity=lambda request: request.headers["x-who"])
    async with httpx.AsyncClient(transport=transport, base_url="https://p.example") as http:
        calls = [asyncio.create_task(http.get("stores", headers={"x-who": who})) for who in ("a", "b", "a")]
        await run_together(server, calls)  # type: ignore[arg-type]
    assert server.requests == 2


async def test_a_gzip_answer_is_decoded_by_every_waiter() -> None:
    import gzip

    body = b'{"data": {"ok": true}}'

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    transport = DedupeTransport(httpx.MockTransport(handler), identity=lambda request: "me")
    async with httpx.AsyncClient(transport=transport, base_url="https://p.example") as http:
        responses = await asyncio.gather(*(http.get("stores") for _ in range(5)))
    assert [r.content for r in responses] == [body] * 5


def test_only_gets_have_a_key() -> None:
    assert dedupe_key("me", httpx.Request("GET", "https://p.example/stores")) is not None
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert dedupe_key("me", httpx.Request(method, "https://p.example/stores")) is None


async def test_with_the_cache_on_100_concurrent_calls_send_one_request_and_later_ones_none() -> None:
    server = SlowServer()
    async with client(server, cache=True) as cc:  # dedupe comes with the cache
        calls = [asyncio.create_task(cc.call(get_stores.call)) for _ in range(100)]
        results = await run_together(server, calls)  # type: ignore[arg-type]
        assert not [r for r in results if isinstance(r, BaseException)]
        await cc.call(get_stores.call)
    assert server.requests == 1


async def test_a_get_issued_after_a_successful_write_does_not_join_a_get_sent_before_it() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(first_name="v1")
    held = fake.hold("getCustomer")  # the first GET of the record is slow to be answered
    async with fake.enterprise_client(retry=RetryPolicy.disabled(), dedupe=True) as cc:
        await cc.authenticate()
        path = f"customers/{jane['customer_id']}"
        before = asyncio.create_task(cc.http.get(path))
        await held.arrived.wait()
        record = {
            k: v for k, v in fake.customers[jane["customer_id"]].items() if k not in ("customer_id", "last_change")
        }
        record["personal_information"] = {**record["personal_information"], "first_name": "v2"}
        written = await cc.http.put(path, json={"customer": record})
        written.raise_for_status()
        after = asyncio.create_task(cc.http.get(path))
        for _ in range(20):
            await asyncio.sleep(0)
        held.release()
        before_answer, after_answer = await before, await after
    write, read = fake.request_for(written), fake.request_for(after_answer)
    assert write is not None
    assert read is not None
    assert fake.request_for(before_answer) != read
    assert read.number > write.number  # read-your-writes: its own request, sent after the write
    assert after_answer.json()["data"]["personal_information"]["first_name"] == "v2"
    assert len(fake.requests("getCustomer")) == 2
