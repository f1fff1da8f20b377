"""The shipped fake CareCloud (carecloud_async.testing): transport, auth, validation, control.

The rules it enforces for money and privacy are in tests/test_testing_rules.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.languages import get_languages

from carecloud_async import (
    AuthenticationError,
    CareCloud,
    CustomerCredentials,
    Device,
    MemoryTokenStore,
    NetworkError,
    RetryPolicy,
    ServiceUnavailable,
    Unauthorized,
)
from carecloud_async.testing import FakeCareCloud, FakeServer, RequestCounts, SpecViolation
from carecloud_async.testing._contract import Contract
from scripts import server_process

pytest_plugins = ["pytester"]

ENTERPRISE = "https://fake.carecloud.test/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER = "https://fake.carecloud.test/webservice/rest-api/customer-interface/v1.0"


async def _bearer(fake: FakeCareCloud) -> dict[str, str]:
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.post(
            f"{ENTERPRISE}/users/actions/login",
            json={"user_external_application_id": "fake-app", "login": "pos@example.com", "password": "fake-password"},
        )
    return {"Authorization": f"Bearer {answer.json()['data']['bearer_token']}"}


# ---------------------------------------------------------------------- transport and auth


async def test_the_client_logs_in_and_reads_stored_customers_through_the_transport() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com")
    fake.customers.create(email="joe@example.com")
    async with fake.enterprise_client() as cc:
        page = await cc.call(get_customers, email="jane@example.com")
        one = await cc.call(get_customer, jane["customer_id"])
    assert [c.customer_id for c in page.data.customers] == [jane["customer_id"]]
    assert page.data.total_items == 1
    assert one.data.personal_information.email == "jane@example.com"
    assert [r.operation_id for r in fake.requests()] == ["postUserLogin", "getCustomers", "getCustomer"]


async def test_the_paginator_walks_the_fakes_pages() -> None:
    fake = FakeCareCloud()
    made = [fake.customers.create()["customer_id"] for _ in range(250)]
    async with fake.enterprise_client() as cc:
        walked = [c.customer_id async for c in cc.paginate(get_customers, page_size=100, concurrency=2)]
    assert walked == made
    offsets = sorted(r.query["offset"] for r in fake.requests("getCustomers"))
    assert offsets == [0, 100, 200]


async def test_an_expired_enterprise_token_is_answered_401_and_the_client_logs_in_again() -> None:
    fake = FakeCareCloud(token_lifetime=3600)
    async with fake.enterprise_client() as cc:
        await cc.call(get_customers)
        fake.advance(3601)  # the server's clock passes valid_to; the client's does not know
        await cc.call(get_customers)
    statuses = [(r.operation_id, r.status) for r in fake.requests()]
    assert statuses == [
        ("postUserLogin", 200),
        ("getCustomers", 200),
        ("getCustomers", 401),
        ("postUserLogin", 200),
        ("getCustomers", 200),
    ]


async def test_expire_tokens_ends_every_enterprise_token_now() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client() as cc:
        await cc.call(get_customers)
        fake.expire_tokens()
        await cc.call(get_customers)
    assert [r.status for r in fake.requests("getCustomers")] == [200, 401, 200]
    assert len(fake.requests("postUserLogin")) == 2


async def test_valid_to_is_project_local_time_without_offset() -> None:
    fake = FakeCareCloud(time_zone="Asia/Tokyo", token_lifetime=7 * 3600, clock=lambda: 0.0)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.post(
            f"{ENTERPRISE}/users/actions/login",
            json={"user_external_application_id": "fake-app", "login": "pos@example.com", "password": "fake-password"},
        )
    assert answer.json()["data"]["valid_to"] == "1970-01-01 16:00:00"  # 07:00 UTC is 16:00 in Tokyo


async def test_a_wrong_password_is_refused() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client(password="wrong") as cc:
        with pytest.raises((AuthenticationError, Unauthorized)):
            await cc.call(get_customers)
    assert fake.requests("postUserLogin")[0].status == 400
    assert fake.requests("getCustomers") == []


async def test_a_request_without_a_token_is_answered_401() -> None:
    fake = FakeCareCloud()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.get(f"{ENTERPRISE}/customers")
    assert answer.status_code == 401
    assert answer.json()["error"]["title"] == "Unauthorized"


async def test_a_new_device_token_ends_the_old_one() -> None:
    fake = FakeCareCloud()
    device = Device("phone-1", "iOS", "Jane's phone", "iPhone")
    first, second = MemoryTokenStore(), MemoryTokenStore()
    async with fake.customer_client(device=device, token_store=first) as cc:
        await cc.authenticate()
    old_token = next(iter(fake.sessions))
    async with fake.customer_client(device=device, token_store=second) as cc:
        await cc.authenticate()
    assert old_token not in fake.sessions
    assert len(fake.sessions) == 1
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.get(f"{CUSTOMER}/languages", headers={"Authorization": f"Bearer {old_token}"})
    assert answer.status_code == 200  # languages need no token at all
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.put(
            f"{CUSTOMER}/tokens/{old_token}",
            json={"setup": {"language_id": "en", "allowed_gps": False, "allowed_notifications": False}},
            headers={"Authorization": f"Bearer {old_token}"},
        )
    assert answer.status_code == 401


async def test_customer_login_binds_the_customer_to_the_token_and_logout_unbinds_it() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw")
    credentials = CustomerCredentials("email", "jane@example.com", "pw")
    async with fake.customer_client(credentials=credentials) as cc:
        own = await cc.call(get_customer, jane["customer_id"])
        assert own.data.customer_id == jane["customer_id"]
        await cc.logout_customer()
        assert fake.session(next(iter(fake.sessions))).customer_id is None  # type: ignore[union-attr]


async def test_a_wrong_customer_password_is_refused() -> None:
    fake = FakeCareCloud()
    fake.customers.create(email="jane@example.com", password="pw")
    async with fake.customer_client(credentials=CustomerCredentials("email", "jane@example.com", "nope")) as cc:
        with pytest.raises(Exception, match="login_value"):
            await cc.authenticate()
    assert fake.requests("postTokenLogin")[0].status == 400


# ---------------------------------------------------------------------- validation


async def test_a_missing_required_body_field_fails_naming_the_operation_and_field() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(SpecViolation, match=r"postCard: .*card\.card_number: is required") as caught:
            await http.post(f"{ENTERPRISE}/cards", json={"card": {"card_type_id": "x", "state": 1}}, headers=headers)
    assert [(p.field, p.reason) for p in caught.value.problems] == [("card.card_number", "required")]
    assert fake.violations == [caught.value]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"card": {"card_type_id": "x", "card_number": "1", "state": 7}}, "card.state", "not_allowed_value"),
        ({"card": {"card_type_id": "x", "card_number": 1, "state": 1}}, "card.card_number", "invalid_value_format"),
        (
            {"card": {"card_type_id": "x", "card_number": "1", "state": 1, "colour": "red"}},
            "card.colour",
            "not_allowed",
        ),
        ({}, "card", "required"),
    ],
)
async def test_bodies_are_checked_for_enums_types_and_unknown_fields(body: object, field: str, reason: str) -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(SpecViolation) as caught:
            await http.post(f"{ENTERPRISE}/cards", json=body, headers=headers)
    assert (field, reason) in [(p.field, p.reason) for p in caught.value.problems]


async def test_a_read_only_required_field_is_not_required_in_a_request() -> None:
    fake = FakeCareCloud()
    card_type = fake.cards.create_type()
    headers = await _bearer(fake)
    body = {"card": {"card_type_id": card_type["card_type_id"], "card_number": "77", "state": 1}}
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.post(f"{ENTERPRISE}/cards", json=body, headers=headers)
    assert answer.status_code == 201
    assert fake.cards[answer.json()["data"]["card_id"]]["card_number"] == "77"


async def test_an_array_filter_sent_as_repeated_keys_is_refused_with_the_bracket_hint() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(SpecViolation, match=r"email_list: is not a query parameter.*email_list\[\]=a"):
            await http.get(
                f"{ENTERPRISE}/customers", params=[("email_list", "a"), ("email_list", "b")], headers=headers
            )
        answer = await http.get(f"{ENTERPRISE}/customers", params=[("email_list[]", "a")], headers=headers)
    assert answer.status_code == 200
    assert fake.requests("getCustomers")[-1].query == {"email_list[]": ["a"]}


async def test_a_violation_reaches_the_test_through_the_whole_client_stack() -> None:
    # Auth, retries, cache and dedupe sit between the caller and the transport: none may turn the
    # violation into something a test could miss.
    fake = FakeCareCloud()
    async with fake.enterprise_client(cache=True) as cc:
        with pytest.raises(SpecViolation, match=r"getCustomers: .*email_list\[\]=a"):
            await cc.http.get("customers", params={"email_list": ["a", "b"]})
    assert len(fake.violations) == 1


async def test_query_parameters_are_typed_and_checked() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(SpecViolation, match=r"getCustomers: .*count: must be integer"):
            await http.get(f"{ENTERPRISE}/customers", params={"count": "many"}, headers=headers)
        with pytest.raises(SpecViolation, match="email: sent 2 times"):
            await http.get(f"{ENTERPRISE}/customers", params=[("email", "a"), ("email", "b")], headers=headers)


async def test_an_unknown_route_and_a_wrong_interface_are_violations() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(SpecViolation, match="no such path in the spec"):
            await http.get(f"{ENTERPRISE}/customerz", headers=headers)
        with pytest.raises(SpecViolation, match="exists, but not for this method"):
            await http.delete(f"{ENTERPRISE}/customers", headers=headers)
        with pytest.raises(SpecViolation, match=r"postUserLogin: .*available only in the Enterprise API"):
            await http.post(f"{CUSTOMER}/users/actions/login", json={})


async def test_without_raising_the_fake_answers_400_naming_each_field() -> None:
    fake = FakeCareCloud(raise_on_violation=False)
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        answer = await http.post(f"{ENTERPRISE}/cards", json={"card": {"state": 1}}, headers=headers)
    assert answer.status_code == 400
    assert answer.headers["x-fake-violation"] == "postCard"
    params = answer.json()["error"]["error_data"]["invalid_params"]
    assert {(p["name"], p["reason"]) for p in params} == {
        ("card.card_type_id", "required"),
        ("card.card_number", "required"),
    }


def test_every_example_answer_fits_the_spec() -> None:
    contract = Contract.load()
    assert len(contract.operations) == 322
    broken = {
        op.operation_id: problems
        for op in contract.operations
        if (problems := contract.check_answer(op, op.example["status"], op.example["body"]))
    }
    assert broken == {}


def test_the_answer_check_finds_a_broken_answer() -> None:
    # The check above would pass on a checker that finds nothing.
    contract = Contract.load()
    op = contract.operation("getCustomer")
    problems = contract.check_answer(op, 200, {"data": {"customer_id": 5, "personal_information": {}}})
    assert {(p.field, p.reason) for p in problems} == {
        ("answer.data.customer_id", "invalid_value_format"),
        ("answer.data.personal_information.language_id", "required"),
    }
    assert contract.check_answer(op, 418, None)[0].reason == "not_allowed_value"


async def test_an_operation_without_state_answers_the_spec_example() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client() as cc:
        languages = await cc.call(get_languages)
    example = Contract.load().operation("getLanguages").example["body"]
    assert [language.to_dict() for language in languages.data.languages] == example["data"]["languages"]


# ---------------------------------------------------------------------- control and inspection


async def test_fail_answers_the_status_times_with_retry_after_then_the_real_answer() -> None:
    fake = FakeCareCloud()
    fake.fail("getCustomers", status=503, times=2, retry_after=0)
    async with fake.enterprise_client(retry=RetryPolicy(max_attempts=3, backoff_base=0, backoff_cap=0)) as cc:
        await cc.call(get_customers)
    assert [r.status for r in fake.requests("getCustomers")] == [503, 503, 200]


async def test_fail_more_times_than_the_client_retries_surfaces_the_error() -> None:
    fake = FakeCareCloud()
    fake.fail("getCustomers", status=503, times=5)
    async with fake.enterprise_client(retry=RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0)) as cc:
        with pytest.raises(ServiceUnavailable):
            await cc.call(get_customers)
    assert len(fake.requests("getCustomers")) == 2


async def test_fail_sends_retry_after() -> None:
    fake = FakeCareCloud()
    fake.fail("getLanguages", status=429, retry_after=7)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        first = await http.get(f"{ENTERPRISE}/languages")
        second = await http.get(f"{ENTERPRISE}/languages")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 200


def test_control_refuses_an_unknown_operation_naming_close_ones() -> None:
    fake = FakeCareCloud()
    with pytest.raises(KeyError, match="getCustomers"):
        fake.fail("getCustomer5")


async def test_a_reset_before_recording_leaves_no_state_and_after_recording_does() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    card_type = fake.cards.create_type()
    body = {"card": {"card_type_id": card_type["card_type_id"], "card_number": "55", "state": 1}}
    fake.reset_connection("postCard")
    fake.reset_connection("postCard", after_record=True)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(f"{ENTERPRISE}/cards", json=body, headers=headers)
        assert len(fake.cards) == 0
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(f"{ENTERPRISE}/cards", json=body, headers=headers)
        assert [c["card_number"] for c in fake.cards] == ["55"]
        again = await http.post(f"{ENTERPRISE}/cards", json=body, headers=headers)
    assert again.status_code == 400
    assert again.json()["error"]["error_data"]["invalid_params"][0]["reason"] == "already_exists"


async def test_a_reset_reaches_the_client_as_a_network_error() -> None:
    fake = FakeCareCloud()
    fake.reset_connection("getCustomers", times=5)
    async with fake.enterprise_client(retry=RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0)) as cc:
        with pytest.raises(NetworkError):
            await cc.call(get_customers)


async def test_slow_delays_the_answer() -> None:
    fake = FakeCareCloud()
    fake.slow("getLanguages", 0.2)
    async with httpx.AsyncClient(transport=fake.transport(), timeout=0.05) as http:
        task = asyncio.ensure_future(http.get(f"{ENTERPRISE}/languages"))
        await asyncio.sleep(0.1)
        assert not task.done()
        assert (await task).status_code == 200
        fake.slow("getLanguages", 0)
        assert (await http.get(f"{ENTERPRISE}/languages")).status_code == 200


async def test_rate_limit_answers_429_beyond_the_budget_until_a_second_passes() -> None:
    fake = FakeCareCloud()
    fake.rate_limit(3, retry_after=2)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        statuses = [(await http.get(f"{ENTERPRISE}/languages")).status_code for _ in range(5)]
        refused = await http.get(f"{ENTERPRISE}/languages")
        fake.rate_limit(None)
        after = await http.get(f"{ENTERPRISE}/languages")
    assert statuses == [200, 200, 200, 429, 429]
    assert refused.headers["Retry-After"] == "2"
    assert after.status_code == 200


async def test_max_in_flight_counts_overlapping_requests_of_an_operation() -> None:
    fake = FakeCareCloud()
    fake.slow("getLanguages", 0.1)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        await asyncio.gather(*(http.get(f"{ENTERPRISE}/languages") for _ in range(3)))
        await http.get(f"{ENTERPRISE}/languages")
    assert fake.max_in_flight["getLanguages"] == 3
    assert fake.max_in_flight["getCustomers"] == 0


async def test_cache_control_per_route() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create()
    fake.cache_control("getCustomer", "max-age=60")
    fake.cache_control("/customers", "no-store")
    headers = await _bearer(fake)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        one = await http.get(f"{ENTERPRISE}/customers/{jane['customer_id']}", headers=headers)
        many = await http.get(f"{ENTERPRISE}/customers", headers=headers)
        other = await http.get(f"{ENTERPRISE}/languages")
        missing = await http.get(f"{ENTERPRISE}/customers/nobody", headers=headers)
    assert one.headers["Cache-Control"] == "max-age=60"
    assert many.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in other.headers
    assert missing.status_code == 404
    assert "Cache-Control" not in missing.headers


async def test_requests_keep_what_was_sent_without_the_token() -> None:
    fake = FakeCareCloud()
    async with fake.enterprise_client() as cc:
        await cc.call(get_customers, email="jane@example.com")
    received = fake.requests("getCustomers")[0]
    assert received.query["email"] == "jane@example.com"
    assert "authorization" not in received.headers
    assert "fake-password" not in repr(fake.requests("postUserLogin"))


async def test_counts_name_the_logins_device_tokens_methods_and_statuses_until_cleared() -> None:
    fake = FakeCareCloud()
    fake.users["pos@example.com"] = ("fake-password", "fake-app")
    async with fake.enterprise_client() as cc:
        await cc.call(get_customers)
        await cc.call(get_languages)
    async with fake.customer_client() as kiosk:
        await kiosk.call(get_languages)
    async with fake.enterprise_client(password="wrong", retry=RetryPolicy.disabled()) as refused:
        with pytest.raises(AuthenticationError):
            await refused.call(get_customers)
    fake.rate_limit(0)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        limited = await http.get(f"{ENTERPRISE}/languages")
    assert limited.status_code == 429

    counts = fake.counts()
    assert (counts.enterprise_logins, counts.device_tokens) == (1, 1)  # the refused login issued none
    assert counts.operations == {"postUserLogin": 2, "getCustomers": 1, "getLanguages": 3, "postToken": 1}
    assert counts.methods == {"POST": 3, "GET": 4}
    assert counts.statuses == {200: 4, 201: 1, 400: 1, 429: 1}
    assert RequestCounts.from_json(json.loads(json.dumps(counts.as_json()))) == counts

    fake.clear_requests()
    assert fake.counts() == RequestCounts({}, {}, {}, 0, 0)
    assert fake.requests() == []
    assert len(fake.sessions) == 1  # the state stays


async def test_hold_stops_the_next_request_of_an_operation_until_released() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw")
    held = fake.hold("postTokenLogout")
    async with fake.customer_client() as kiosk:
        await kiosk.login_customer(CustomerCredentials("email", "jane@example.com", "pw"))
        logout = asyncio.create_task(kiosk.logout_customer())
        await held.arrived.wait()
        session = fake.session(kiosk.auth.token_id or "")  # type: ignore[union-attr]
        assert session is not None
        assert session.customer_id == jane["customer_id"]  # arrived, not applied
        assert not logout.done()
        held.release()
        await logout
        assert session.customer_id is None
        await kiosk.logout_customer()  # the hold was for one request only
    with pytest.raises(KeyError, match="postTokenLogout"):
        fake.hold("postTokenLogut")


async def test_request_for_names_whom_a_cached_answer_was_made_for() -> None:
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw")
    fake.cache_control("getCustomer", "max-age=60")
    async with fake.customer_client(cache=True) as kiosk:
        await kiosk.login_customer(CustomerCredentials("email", "jane@example.com", "pw"))
        first = await kiosk.http.get(f"customers/{jane['customer_id']}")
        again = await kiosk.http.get(f"customers/{jane['customer_id']}")
        token = kiosk.auth.token_id  # type: ignore[union-attr]
    assert isinstance(token, str)
    made_for = fake.request_for(first)
    assert made_for is not None
    assert fake.request_for(again) == made_for  # the cache hit names the request it was made for
    assert len(fake.requests("getCustomer")) == 1
    assert (made_for.operation_id, made_for.status, made_for.customer_id) == ("getCustomer", 200, jane["customer_id"])
    assert made_for.token_id == token
    assert token not in repr(made_for)
    # Nor in the repr of the login on /tokens/{token_id}/actions/login, whose path holds it.
    (login,) = fake.requests("postTokenLogin")
    assert token in login.path
    assert token not in repr(login)
    assert "/tokens/{token_id}/actions/login" in repr(login)
    assert fake.request_for(httpx.Response(200)) is None
    fake.clear_requests()
    assert fake.request_for(first) is None


async def test_every_answer_names_its_request_faults_refusals_and_violations_too() -> None:
    fake = FakeCareCloud(raise_on_violation=False)
    headers = await _bearer(fake)
    fake.fail("getLanguages", 503, times=1)
    async with httpx.AsyncClient(transport=fake.transport(), headers=headers) as http:
        failed = await http.get(f"{ENTERPRISE}/languages")
        answered = await http.get(f"{ENTERPRISE}/languages")
        refused = await http.get(f"{ENTERPRISE}/customers", params={"count": "many"})
        unknown = await http.get(f"{ENTERPRISE}/no-such-path")
        fake.rate_limit(0)
        limited = await http.get(f"{ENTERPRISE}/languages")
    found = [fake.request_for(r) for r in (failed, answered, refused, unknown, limited)]
    assert [(r.status, r.number) for r in found if r is not None] == [(503, 2), (200, 3), (400, 4), (400, 5), (429, 6)]
    assert [r.number for r in fake.requests()] == [1, 2, 3, 4, 5, 6]
    assert found[2] is not None
    assert ("count", "invalid_value_format") in found[2].invalid_params  # main's answer, beside the number


async def test_a_request_cleared_while_in_flight_stays_cleared_and_a_hold_comes_before_planned_faults() -> None:
    fake = FakeCareCloud()
    headers = await _bearer(fake)
    held = fake.hold("getLanguages")
    fake.fail("getLanguages", 503, times=1)
    async with httpx.AsyncClient(transport=fake.transport(), headers=headers) as http:
        first = asyncio.create_task(http.get(f"{ENTERPRISE}/languages"))
        await held.arrived.wait()
        fake.clear_requests()
        fake.clear_faults()  # the held request has not met the planned fault yet
        second = await http.get(f"{ENTERPRISE}/languages")
        held.release()
        answer = await first
    assert answer.status_code == 200
    assert fake.request_for(answer) is None  # cleared while it was held
    assert [r.number for r in fake.requests()] == [3]
    assert fake.request_for(second) == fake.requests()[0]
    assert fake.counts().operations == {"getLanguages": 1}


def test_python_m_takes_the_latency_in_seconds_or_milliseconds_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    from carecloud_async.testing.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["--slow", "0.02", "--latency-ms", "20"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# ---------------------------------------------------------------------- loopback server


async def test_the_loopback_servers_control_routes_read_and_clear_the_counts() -> None:
    fake = FakeCareCloud()
    async with FakeServer(fake) as server, httpx.AsyncClient() as http:
        await http.get(f"{server.url}/webservice/rest-api/enterprise-interface/v1.0/languages")
        counts = await http.get(f"{server.url}/__fake/counts")
        cleared = await http.post(f"{server.url}/__fake/clear-requests")
        after = await http.get(f"{server.url}/__fake/counts")
        unknown = await http.get(f"{server.url}/__fake/nothing")
    assert RequestCounts.from_json(counts.json()).operations == {"getLanguages": 1}
    assert cleared.status_code == 200
    assert RequestCounts.from_json(after.json()) == RequestCounts({}, {}, {}, 0, 0)  # control routes not counted
    assert unknown.status_code == 404
    assert "/__fake/counts" in unknown.text


def test_python_m_takes_latency_rate_limit_and_cache_control_and_serves_the_counts() -> None:
    process, port = server_process.start_server_process(
        lambda port: [
            sys.executable,
            "-m",
            "carecloud_async.testing",
            "--port",
            str(port),
            "--latency-ms",
            "100",
            "--rate-limit",
            "2",
            "--cache-control",
            "getLanguages=max-age=60",
        ],
        "the fake CareCloud",
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            started = time.monotonic()
            answers = [http.get("/webservice/rest-api/enterprise-interface/v1.0/languages") for _ in range(3)]
            elapsed = time.monotonic() - started
            counts = RequestCounts.from_json(http.get("/__fake/counts").json())
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["Cache-Control"] == "max-age=60"
    assert answers[2].headers["Retry-After"] == "1"
    assert elapsed >= 0.3  # 100 ms on each answer
    assert counts.statuses == {200: 2, 429: 1}


async def test_the_loopback_server_serves_the_client_and_reports_violations_as_400() -> None:
    fake = FakeCareCloud()
    fake.customers.create(email="jane@example.com")
    async with FakeServer(fake) as server:
        assert server.url.startswith("http://127.0.0.1:")
        async with CareCloud.enterprise(
            server.url, user_external_application_id="fake-app", login="pos@example.com", password="fake-password"
        ) as cc:
            page = await cc.call(get_customers, email="jane@example.com")
        async with httpx.AsyncClient() as http:
            base = f"{server.url}/webservice/rest-api/enterprise-interface/v1.0"
            refused = await http.post(f"{base}/cards", json={"card": {}})
            fake.reset_connection("getLanguages")
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(f"{base}/languages")
    assert page.data.total_items == 1
    assert refused.status_code == 400
    assert refused.headers["x-fake-violation"] == "postCard"
    names = {p["name"] for p in json.loads(refused.content)["error"]["error_data"]["invalid_params"]}
    assert names == {"card.card_type_id", "card.card_number", "card.state"}
    assert len(fake.violations) == 1


# ---------------------------------------------------------------------- pytest plugin


async def test_the_plugin_fixtures_share_one_fake(
    carecloud_fake: FakeCareCloud, carecloud_enterprise: CareCloud
) -> None:
    jane = carecloud_fake.customers.create()
    found = await carecloud_enterprise.call(get_customer, jane["customer_id"])
    assert found.data.customer_id == jane["customer_id"]


async def test_the_customer_fixture_is_a_device_token_client(
    carecloud_fake: FakeCareCloud, carecloud_customer: CareCloud
) -> None:
    await carecloud_customer.authenticate()
    assert len(carecloud_fake.sessions) == 1
    assert carecloud_customer.customer_id is None


def test_the_plugin_fails_a_test_whose_violation_was_swallowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        async def test_swallowed(carecloud_fake):
            async with httpx.AsyncClient(transport=carecloud_fake.transport()) as http:
                try:
                    await http.post("https://x.test/webservice/rest-api/enterprise-interface/v1.0/users/actions/login",
                                    json={"login": 5})
                except AssertionError:
                    pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*requests broke the CareCloud spec:",
            "postUserLogin: request breaks the CareCloud spec: login: must be string*",
        ]
    )


async def test_the_loopback_server_reads_a_chunked_body() -> None:
    fake = FakeCareCloud()
    login = json.dumps(
        {"user_external_application_id": "fake-app", "login": "pos@example.com", "password": "fake-password"}
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield login[:10].encode()
        yield login[10:].encode()

    async with FakeServer(fake) as server, httpx.AsyncClient() as http:
        url = f"{server.url}/webservice/rest-api/enterprise-interface/v1.0/users/actions/login"
        answer = await http.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert fake.requests("postUserLogin")[0].json["login"] == "pos@example.com"


def test_python_m_serves_the_fake_to_the_carecloud_command(tmp_path: Path) -> None:
    # The loopback server for callers that are not Python tests: `carecloud call` against it.
    process, port = server_process.start_server_process(
        lambda port: [sys.executable, "-m", "carecloud_async.testing", "--port", str(port), "--seed-customers", "3"],
        "the fake CareCloud",
    )
    try:
        env = {
            **os.environ,
            "HOME": str(tmp_path),
            "CARECLOUD_PROJECT_URL": f"http://127.0.0.1:{port}",
            "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "fake-app",
            "CARECLOUD_LOGIN": "pos@example.com",
            "CARECLOUD_PASSWORD": "fake-password",
        }
        result = subprocess.run(  # noqa: S603 (our own command)
            [str(Path(sys.executable).parent / "carecloud"), "call", "getCustomers", "--compact"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["data"]["total_items"] == 3
    assert len({c["customer_id"] for c in answer["data"]["customers"]}) == 3


# ---------------------------------------------------------------------- the guide's examples

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "testing.md"


def guide_block(section: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return part.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_guides_pytest_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guide=guide_block("With pytest"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    result.assert_outcomes(passed=1)


def test_the_guides_script_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(guide_block("Without pytest"), encoding="utf-8")
    result = subprocess.run(  # noqa: S603 (our own interpreter and guide)
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["jane@example.com", "True"]


@pytest.mark.parametrize("section", ["Control", "Inspection and seeding"])
def test_the_guides_control_and_seeding_examples_run(section: str) -> None:
    fake = FakeCareCloud(clock=lambda: 0.0)
    namespace: dict[str, object] = {"fake": fake}
    exec(compile(guide_block(section), f"{GUIDE}:{section}", "exec"), namespace)  # noqa: S102 (our own guide)
    if section == "Control":
        assert fake.now() == 7 * 3600  # it ran to the end: the clock was advanced
    else:
        jane = namespace["jane"]
        assert isinstance(jane, dict)
        assert fake.points.balance(jane["customer_id"]) == 120
        assert len(fake.cards) == 2
