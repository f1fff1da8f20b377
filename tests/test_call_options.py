"""Per-call options (CareCloud.with_options): views never change the shared client, nor each other.

One MockTransport records what every request carried; many calls of different views (and of the
client itself) run concurrently and each request must carry exactly its own view's options.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customers
from carecloud_api.models.post_customer_verify_credentials_body import PostCustomerVerifyCredentialsBody
from carecloud_api.models.post_customer_verify_credentials_body_login_type import (
    PostCustomerVerifyCredentialsBodyLoginType,
)

from carecloud_async import CallOptions, CareCloud, ConfigurationError, RetryPolicy, ServiceUnavailable
from carecloud_async._call_options import (
    current_call_options,
    enter_call_options,
    leave_call_options,
    using_call_options,
)

DEFAULT_READ_TIMEOUT = 30.0


class Recorder:
    """The stand-in server: answers login, customer lists and verify-credentials; a list call whose
    ``email`` starts with ``flaky`` always gets 503. Records each request as sent."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.rng = random.Random(7)  # noqa: S311 (test timing, not security)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        self.seen.append(
            {
                "path": request.url.path,
                "email": request.url.params.get("email"),
                "view": request.headers.get("x-view"),
                "language": request.headers.get("accept-language"),
                "read_timeout": timeout.get("read"),
                "authorization": request.headers.get("authorization"),
            }
        )
        await asyncio.sleep(self.rng.random() / 200)  # interleave the concurrent calls
        path = request.url.path
        if path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
        if path.endswith("/customers/actions/verify-credentials"):
            return httpx.Response(200, json={"data": {"customer_id": "c42"}})
        if (request.url.params.get("email") or "").startswith("flaky"):
            return httpx.Response(503)
        offset = int(request.url.params.get("offset", 0))
        count = int(request.url.params.get("count", 100))
        items = [
            {"customer_id": f"c{i}", "personal_information": {"first_name": "N", "language_id": "en"}}
            for i in range(offset, min(offset + count, 10))
        ]
        return httpx.Response(200, json={"data": {"customers": items, "total_items": 10}})

    def calls(self, suffix: str = "/customers") -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"].endswith(suffix)]


def client(server: Recorder) -> CareCloud:
    return CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy(max_attempts=3, backoff_base=0, backoff_cap=0),
        transport=httpx.MockTransport(server),
    )


LANGUAGES = ["cs", "de", "sk", "pl", "hu", "fr"]


async def test_concurrent_calls_of_many_views_each_carry_only_their_own_options() -> None:
    server = Recorder()
    async with client(server) as cc:
        views = [
            cc.with_options(extra_headers={"X-View": str(i)}, language=LANGUAGES[i], timeout=i + 1)
            for i in range(len(LANGUAGES))
        ]
        calls = [views[i % len(views)].call(get_customers.call, email=f"v{i % len(views)}-{i}") for i in range(60)]
        calls += [cc.call(get_customers.call, email=f"plain-{i}") for i in range(20)]
        random.Random(3).shuffle(calls)  # noqa: S311
        await asyncio.gather(*calls)
        assert cc.options == CallOptions()  # the client itself never changed
        assert cc.http.timeout.read == DEFAULT_READ_TIMEOUT
        assert "x-view" not in cc.http.headers
        assert cc.http.headers["accept-language"] == "en"
    seen = server.calls()
    assert len(seen) == 80
    for request in seen:
        if request["email"].startswith("plain"):
            assert (request["view"], request["language"], request["read_timeout"]) == (None, "en", DEFAULT_READ_TIMEOUT)
        else:
            view = int(request["email"][1])
            assert (request["view"], request["language"], request["read_timeout"]) == (
                str(view),
                LANGUAGES[view],
                float(view + 1),
            ), request


async def test_retry_options_apply_to_their_view_only() -> None:
    server = Recorder()
    async with client(server) as cc:
        once = cc.with_options(max_attempts=1)
        twice = cc.with_options(retry=RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0))
        outcomes = await asyncio.gather(
            once.call(get_customers.call, email="flaky-once"),
            twice.call(get_customers.call, email="flaky-twice"),
            cc.call(get_customers.call, email="flaky-client"),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, ServiceUnavailable) for outcome in outcomes)
    attempts = {email: sum(s["email"] == email for s in server.calls()) for email in ("flaky-once", "flaky-twice")}
    assert attempts == {"flaky-once": 1, "flaky-twice": 2}
    assert sum(s["email"] == "flaky-client" for s in server.calls()) == 3  # the client's own policy


async def test_paginate_through_a_view_carries_its_options_on_every_page_even_concurrently() -> None:
    server = Recorder()
    async with client(server) as cc:
        view = cc.with_options(extra_headers={"X-View": "pages"}, language="cs")
        through_view, plain = await asyncio.gather(
            view.paginate(get_customers, page_size=2, concurrency=3, email="paged").collect(),
            cc.paginate(get_customers, page_size=3, concurrency=2, email="plain-paged").collect(),
        )
    assert len(through_view) == len(plain) == 10
    paged = [s for s in server.calls() if s["email"] == "paged"]
    assert len(paged) == 5
    assert {(s["view"], s["language"]) for s in paged} == {("pages", "cs")}
    assert {(s["view"], s["language"]) for s in server.calls() if s["email"] == "plain-paged"} == {(None, "en")}


async def test_actions_through_a_view_carry_its_options() -> None:
    server = Recorder()
    body = PostCustomerVerifyCredentialsBody(
        login_type=PostCustomerVerifyCredentialsBodyLoginType.EMAIL, login_value="jane@example.com", password="pw"
    )
    async with client(server) as cc:
        view = cc.with_options(extra_headers={"X-View": "actions"})
        await asyncio.gather(
            view.actions.customers.verify_credentials(body=body), cc.actions.customers.verify_credentials(body=body)
        )
        assert view.actions is not cc.actions
    assert sorted(s["view"] or "" for s in server.calls("/verify-credentials")) == ["", "actions"]


async def test_the_login_a_view_call_causes_carries_its_headers_and_the_token_is_shared() -> None:
    server = Recorder()
    async with client(server) as cc:
        await cc.with_options(extra_headers={"X-View": "first"}).call(get_customers.call)
        await cc.call(get_customers.call)
    logins = server.calls("/users/actions/login")
    assert [s["view"] for s in logins] == ["first"]  # one login, for the view and the client
    assert {s["authorization"] for s in server.calls()} == {"Bearer t"}


async def test_an_accept_language_argument_wins_over_the_views_language() -> None:
    server = Recorder()
    async with client(server) as cc:
        await cc.with_options(language="cs").call(get_customers.call, accept_language="de")
    assert [s["language"] for s in server.calls()] == ["de"]


async def test_a_view_of_a_view_adds_up_and_later_values_win() -> None:
    server = Recorder()
    async with client(server) as cc:
        view = cc.with_options(extra_headers={"X-View": "1"}, language="cs", timeout=2).with_options(
            extra_headers={"X-Other": "2"}, timeout=3
        )
        assert view.options.extra_headers == (("X-View", "1"), ("X-Other", "2"))
        assert (view.options.language, view.options.timeout) == ("cs", httpx.Timeout(3))
        await view.call(get_customers.call)
    assert [(s["view"], s["language"], s["read_timeout"]) for s in server.calls()] == [("1", "cs", 3.0)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"extra_headers": {"Authorization": "Bearer other"}}, "cannot set Authorization"),
        ({"timeout": 0}, "timeout must be"),
        ({"timeout": "5"}, "timeout must be"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"language": ""}, "language must be"),
        ({"retry": 3}, "retry must be"),
    ],
)
async def test_bad_options_are_refused_when_the_view_is_made(options: dict[str, Any], message: str) -> None:
    async with client(Recorder()) as cc:
        with pytest.raises(ConfigurationError, match=message):
            cc.with_options(**options)


async def test_views_share_the_clients_lifecycle_and_hide_header_values() -> None:
    cc = client(Recorder())
    view = cc.with_options(extra_headers={"X-Api-Key": "secret-value-123"})
    assert "secret-value-123" not in repr(view)
    assert "X-Api-Key" in repr(view)
    await view.aclose()
    assert cc.closed
    assert view.closed


async def test_a_client_call_where_a_views_options_are_set_carries_none_of_them() -> None:
    # As in a task started by a view's call: the context holds the view's options.
    server = Recorder()
    async with client(server) as cc:
        view = cc.with_options(extra_headers={"X-View": "outer"}, language="cs", max_attempts=1)
        with using_call_options(view.options):
            await cc.call(get_customers.call, email="plain")
            await view.call(get_customers.call, email="view")
            with pytest.raises(ServiceUnavailable):
                await cc.call(get_customers.call, email="flaky-client")
            assert current_call_options() == view.options  # each call restored what it found
        assert current_call_options() is None
    seen = {s["email"]: (s["view"], s["language"]) for s in server.calls()}
    assert seen == {"plain": (None, "en"), "view": ("outer", "cs"), "flaky-client": (None, "en")}
    assert sum(s["email"] == "flaky-client" for s in server.calls()) == 3  # the client's policy, not 1


def test_entering_no_options_where_none_are_set_touches_nothing() -> None:
    assert enter_call_options(None) is None
    options = CallOptions(language="cs")
    token = enter_call_options(options)
    assert token is not None
    assert current_call_options() is options
    inner = enter_call_options(None)  # options are set: cleared for the inner block
    assert inner is not None
    assert current_call_options() is None
    leave_call_options(inner)
    assert current_call_options() is options
    leave_call_options(token)
    assert current_call_options() is None


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 1},
        {"extra_headers": {"X-A": "1"}},
        {"language": "cs"},
        {"retry": RetryPolicy()},
        {"max_attempts": 2},
    ],
)
def test_options_are_true_when_any_one_is_given(options: dict[str, Any]) -> None:
    assert CallOptions(**options)
    assert CallOptions(**options) != CallOptions()
    assert not CallOptions()


def test_the_retry_policy_of_options_follows_the_clients_policy_it_is_asked_for() -> None:
    options = CallOptions(max_attempts=2)
    patient, eager = RetryPolicy(backoff_cap=30.0), RetryPolicy(backoff_base=0.1)
    first = options.retry_policy(patient)
    assert first == RetryPolicy(max_attempts=2, backoff_cap=30.0)
    assert options.retry_policy(patient) is first  # built once for that client policy
    assert options.retry_policy(eager) == RetryPolicy(max_attempts=2, backoff_base=0.1)
    assert options.retry_policy(patient) == first
    assert options == CallOptions(max_attempts=2)  # what it remembers is not part of the options
    assert repr(options) == "CallOptions(max_attempts=2)"
