"""Spans, metrics and hooks (issue 25), with the OpenTelemetry SDK's in-memory exporters.

The SDK is a dev dependency only: the library uses the API. Global providers can be set once per
process, so this module sets them once (the first test that needs them) and clears the exporter
before each test. The scripted CareCloud is an ``httpx.MockTransport`` (unit tests); the outbox
test uses a real SQLite file. Every secret is random per run, so a match cannot be a coincidence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from carecloud_api.api.customers import get_customer, get_customers
from carecloud_api.api.purchases import post_purchase_send
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from carecloud_async import (
    CallEvent,
    CallHooks,
    CareCloud,
    ConfigurationError,
    CustomerCredentials,
    Device,
    LoginEvent,
    NotFound,
    RetryEvent,
    RetryPolicy,
)
from carecloud_async._telemetry import METRIC_NAMES

ROOT = Path(__file__).resolve().parent.parent
HOST = "demo.example.com"
ENTERPRISE = f"https://{HOST}/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER_API = f"https://{HOST}/webservice/rest-api/customer-interface/v1.0"
NO_WAIT = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_cap=0.0)


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name == name]

    def points(self) -> list[tuple[str, dict[str, Any], Any]]:
        """(metric name, attributes, point) of every data point collected now."""
        found = []
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        found.append((metric.name, dict(point.attributes or {}), point))
        return found

    def total(self, name: str, **attributes: Any) -> float:
        """The sum of a counter's points (or a histogram's counts) whose attributes include these."""
        total = 0.0
        for metric, attrs, point in self.points():
            if metric == name and all(attrs.get(k) == v for k, v in attributes.items()):
                total += point.count if hasattr(point, "count") and hasattr(point, "bucket_counts") else point.value
        return total


_providers: list[Telemetry] = []


@pytest.fixture
def otel() -> Telemetry:
    if not _providers:
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _providers.append(Telemetry(exporter, reader))
    telemetry = _providers[0]
    telemetry.spans.clear()
    return telemetry  # metrics are cumulative: tests compare before and after


@dataclass
class Secrets:
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(8))
    bearer: str = field(default_factory=lambda: "bearer-" + secrets.token_hex(12))
    token_id: str = field(default_factory=lambda: "tok-" + secrets.token_hex(12))
    email: str = field(default_factory=lambda: f"jane.{secrets.token_hex(4)}@example.com")
    customer_password: str = field(default_factory=lambda: "cpw-" + secrets.token_hex(8))

    def all(self) -> list[str]:
        return [self.password, self.bearer, self.token_id, self.email, self.customer_password]


def customer(number: int, email: str) -> dict[str, Any]:
    information = {"first_name": "Jane", "email": email, "language_id": "en"}
    return {"customer_id": f"c{number}", "personal_information": information}


class FakeCareCloud:
    """Both APIs' token flows; customers by e-mail (3, in pages); one 503 before the first list
    page, one 401 (a re-login) on the second; 404 with an error code for an unknown customer."""

    def __init__(self, values: Secrets) -> None:
        self.values = values
        self.logins = 0
        self.unavailable_once = True
        self.refused_once = True
        self.next_status: int | None = None  # forced on the next /customers request

    def __call__(self, request: httpx.Request) -> httpx.Response:
        values, path = self.values, request.url.path
        route = path.split("/v1.0", 1)[1]
        if route == "/users/actions/login":
            assert json.loads(request.content)["password"] == values.password
            self.logins += 1
            return httpx.Response(
                200, json={"data": {"bearer_token": values.bearer, "valid_to": "2099-01-01 00:00:00"}}
            )
        if route == "/tokens":
            return httpx.Response(201, json={"data": {"token_id": values.token_id}})
        if route == f"/tokens/{values.token_id}/actions/login":
            assert json.loads(request.content)["password"] == values.customer_password
            return httpx.Response(200, json={"data": {"customer_id": "c1"}})
        if route == f"/tokens/{values.token_id}/actions/logout":
            return httpx.Response(204)
        if route == "/customers" and self.next_status is not None:
            status, self.next_status = self.next_status, None
            return httpx.Response(status, json={"error": {"title": "forced"}}, headers={"Retry-After": "0"})
        if route == "/customers":
            if self.unavailable_once:
                self.unavailable_once = False
                return httpx.Response(503, headers={"Retry-After": "0"})
            offset = int(request.url.params.get("offset", 0))
            if offset == 2 and self.refused_once and "enterprise" in path:
                self.refused_once = False
                return httpx.Response(401, json={"error": {"title": "Unauthorized"}})
            count = int(request.url.params.get("count", 100))
            everyone = [customer(n, values.email) for n in range(3)]
            return httpx.Response(
                200, json={"data": {"customers": everyone[offset : offset + count], "total_items": 3}}
            )
        if route.startswith("/customers/"):
            body = {"error": {"exception": "not_found_exception", "title": "Customer not found"}}
            return httpx.Response(404, json=body)
        return httpx.Response(404, json={"error": {"title": "no such route in the fake"}})


def enterprise(values: Secrets, fake: FakeCareCloud, **options: Any) -> CareCloud:
    options.setdefault("retry", NO_WAIT)
    return CareCloud.enterprise(
        HOST,
        user_external_application_id="app",
        login="pos@example.com",
        password=values.password,
        transport=httpx.MockTransport(fake),
        **options,
    )


def customer_client(values: Secrets, fake: FakeCareCloud, **options: Any) -> CareCloud:
    return CareCloud.customer(
        HOST,
        external_application_id="app",
        device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
        credentials=CustomerCredentials("email", values.email, values.customer_password),
        transport=httpx.MockTransport(fake),
        retry=NO_WAIT,
        **options,
    )


async def full_run(values: Secrets, **options: Any) -> None:
    """Logins, a paginated e-mail search (a 503 retried, a 401 re-login), an error, a device token,
    a customer login and logout."""
    fake = FakeCareCloud(values)
    async with enterprise(values, fake, **options) as cc:
        found = await cc.paginate(get_customers, email=values.email, page_size=2).collect()
        assert len(found) == 3
        with pytest.raises(NotFound):
            await cc.call(get_customer.call, "c404")
        await cc.call(get_customers.call, email_list=[values.email])
    async with customer_client(values, FakeCareCloud(values), **options) as mobile:
        await mobile.call(get_customers.call, email=values.email)
        await mobile.logout_customer()


def everything_recorded(telemetry: Telemetry) -> list[str]:
    """Every string a span, event, link or metric point holds."""
    texts: list[str] = []
    for span in telemetry.finished():
        texts.append(span.name)
        texts.append(str(span.status.description))
        texts.extend(f"{k}={v!r}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            texts.append(event.name)
            texts.extend(f"{k}={v!r}" for k, v in (event.attributes or {}).items())
        for link in span.links:
            texts.extend(f"{k}={v!r}" for k, v in (link.attributes or {}).items())
    for name, attributes, _point in telemetry.points():
        texts.append(name)
        texts.extend(f"{k}={v!r}" for k, v in attributes.items())
    return texts


# ---------------------------------------------------------------- spans


async def test_a_full_run_records_spans_and_metrics_without_any_secret(otel: Telemetry) -> None:
    values = Secrets()
    await full_run(values)
    texts = everything_recorded(otel)
    assert any("url.template='/tokens/{token_id}/actions/login'" in text for text in texts)  # the scan sees logins
    assert any("carecloud.retry.reason='status 503'" in text for text in texts)  # ... and retries
    for secret in values.all():
        leaks = [text for text in texts if secret in text]
        assert leaks == [], secret
    # No query value either: the e-mail was the only one, and no URL is recorded at all.
    assert not [text for text in texts if "url.full" in text or "?" in text]


async def test_an_operation_is_one_span_with_a_child_span_per_http_attempt(otel: Telemetry) -> None:
    values = Secrets()
    async with enterprise(values, FakeCareCloud(values)) as cc:
        with pytest.raises(NotFound):
            await cc.call(get_customer.call, "c404")
    (operation,) = otel.named("getCustomer")
    attributes = dict(operation.attributes or {})
    assert attributes == {
        "carecloud.operation_id": "getCustomer",
        "carecloud.api": "enterprise",
        "http.request.method": "GET",
        "url.template": "/customers/{customer_id}",
        "server.address": HOST,
        "server.port": 443,
        "http.response.status_code": 404,
        "error.type": "NotFound",
        "carecloud.error_code": "not_found_exception",
    }
    assert operation.kind == trace.SpanKind.INTERNAL
    assert operation.status.status_code == trace.StatusCode.ERROR
    attempts = [span for span in otel.finished() if span.parent and span.parent.span_id == operation.context.span_id]
    names = sorted(span.name for span in attempts)
    assert names == ["GET /customers/{customer_id}", "postUserLogin"]  # the login ran inside the call
    (attempt,) = [span for span in attempts if span.name.startswith("GET")]
    assert attempt.kind == trace.SpanKind.CLIENT
    assert dict(attempt.attributes or {})["http.response.status_code"] == 404
    assert dict(attempt.attributes or {})["error.type"] == "404"
    (login,) = otel.named("postUserLogin")
    assert dict(login.attributes or {})["carecloud.login.kind"] == "user"
    login_attempts = [span for span in otel.finished() if span.parent and span.parent.span_id == login.context.span_id]
    assert [span.name for span in login_attempts] == ["POST /users/actions/login"]


async def test_a_paginated_walk_is_one_span_with_retries_as_events(otel: Telemetry) -> None:
    values = Secrets()
    async with enterprise(values, FakeCareCloud(values)) as cc:
        await cc.authenticate()
        otel.spans.clear()
        assert len(await cc.paginate(get_customers, email=values.email, page_size=2).collect()) == 3
    (walk,) = otel.named("getCustomers")
    assert walk.status.status_code == trace.StatusCode.UNSET
    assert dict(walk.attributes or {})["http.response.status_code"] == 200
    children = [span for span in otel.finished() if span.parent and span.parent.span_id == walk.context.span_id]
    # Page 1: a 503 then a 200; page 2: a 401, the re-login, the replay.
    assert sorted(span.name for span in children) == ["GET /customers"] * 4 + ["postUserLogin"]
    resends = sorted(int(str(dict(span.attributes or {}).get("http.request.resend_count", 0))) for span in children)
    assert resends == [0, 0, 0, 1, 1]
    (retry,) = walk.events
    assert retry.name == "retry"
    assert dict(retry.attributes or {}) == {
        "carecloud.retry.attempt": 1,
        "carecloud.retry.reason": "status 503",
        "carecloud.retry.wait": 0.0,
    }


async def test_the_customer_api_logins_have_their_own_spans(otel: Telemetry) -> None:
    values = Secrets()
    async with customer_client(values, FakeCareCloud(values)) as mobile:
        await mobile.authenticate()
        await mobile.logout_customer()
    (logout,) = otel.named("postTokenLogout")  # its own span too, not a login
    assert dict(logout.attributes or {})["url.template"] == "/tokens/{token_id}/actions/logout"
    assert "carecloud.login.kind" not in dict(logout.attributes or {})
    token, login = otel.named("postToken"), otel.named("postTokenLogin")
    assert [dict(span.attributes or {})["carecloud.login.kind"] for span in token + login] == [
        "device_token",
        "customer",
    ]
    assert dict(login[0].attributes or {})["url.template"] == "/tokens/{token_id}/actions/login"
    assert dict(login[0].attributes or {})["carecloud.api"] == "customer"


async def test_tracing_false_records_nothing(otel: Telemetry) -> None:
    values = Secrets()
    before = otel.total("carecloud.client.operation.duration")
    await full_run(values, tracing=False)
    assert otel.finished() == []
    assert otel.total("carecloud.client.operation.duration") == before


# ---------------------------------------------------------------- metrics


async def test_metrics_count_durations_retries_throttling_and_logins(otel: Telemetry) -> None:
    def totals() -> dict[str, float]:
        return {
            "duration": otel.total("carecloud.client.operation.duration", **{"carecloud.operation_id": "getCustomers"}),
            "errors": otel.total("carecloud.client.operation.duration", **{"error.type": "NotFound"}),
            "retries": otel.total("carecloud.client.retries", **{"carecloud.retry.reason": "503"}),
            "throttled": otel.total("carecloud.client.throttled", **{"http.response.status_code": 503}),
            "user logins": otel.total("carecloud.client.logins", **{"carecloud.login.kind": "user"}),
            "customer logins": otel.total("carecloud.client.logins", **{"carecloud.login.kind": "customer"}),
        }

    before = totals()
    await full_run(Secrets())
    after = totals()
    # 2 pages + 1 call + the customer's call; 1 NotFound; one 503 (retried) on each API's first list call
    assert {name: after[name] - before[name] for name in after} == {
        "duration": 4,
        "errors": 1,
        "retries": 2,
        "throttled": 2,
        "user logins": 2,
        "customer logins": 1,
    }


async def test_cache_hits_and_misses_and_rate_limit_waits_are_measured(otel: Telemetry) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "b", "valid_to": "2099-01-01 00:00:00"}})
        body = {"data": {"customers": [], "total_items": 0}}
        return httpx.Response(200, json=body, headers={"Cache-Control": "max-age=60"})

    def count(result: str) -> float:
        return otel.total("carecloud.client.cache.lookups", **{"carecloud.cache.result": result})

    hits, misses, waits = count("hit"), count("miss"), otel.total("carecloud.client.rate_limit.wait")
    async with CareCloud.enterprise(
        HOST,
        user_external_application_id="app",
        login="pos",
        password="pw",
        transport=httpx.MockTransport(answer),
        cache=True,
        rate_limit=1000,
    ) as cc:
        for _ in range(3):
            await cc.call(get_customers.call, count=5)
    assert (count("hit") - hits, count("miss") - misses) == (2, 1)
    assert otel.total("carecloud.client.rate_limit.wait") - waits == 2  # the login and the one miss


async def test_dedupe_joins_are_counted(otel: Telemetry) -> None:
    release = asyncio.Event()
    sent = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": "b", "valid_to": "2099-01-01 00:00:00"}})
        sent += 1
        await release.wait()
        return httpx.Response(200, json={"data": {"customers": [], "total_items": 0}})

    joins = otel.total("carecloud.client.dedupe.joins")
    async with CareCloud.enterprise(
        HOST,
        user_external_application_id="app",
        login="pos",
        password="pw",
        transport=httpx.MockTransport(answer),
        dedupe=True,
    ) as cc:
        await cc.auth.authenticate(cc.http)
        calls = [asyncio.create_task(cc.call(get_customers.call, count=5)) for _ in range(3)]
        for _ in range(50):
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*calls)
    assert sent == 1
    assert otel.total("carecloud.client.dedupe.joins") - joins == 2


# ---------------------------------------------------------------- hooks


@dataclass
class Recorder(CallHooks):
    seen: list[Any] = field(default_factory=list)

    def before_call(self, call: CallEvent) -> None:
        self.seen.append(("before", call.operation_id))

    def after_call(self, call: CallEvent, *, result: object, error: BaseException | None, duration: float) -> None:
        assert duration >= 0
        self.seen.append(("after", call.operation_id, type(result).__name__, type(error).__name__ if error else None))

    def on_retry(self, retry: RetryEvent) -> None:
        self.seen.append(("retry", retry))

    def on_login(self, login: LoginEvent) -> None:
        self.seen.append(("login", login))


async def test_hooks_see_calls_results_errors_retries_and_logins_without_secrets() -> None:
    values = Secrets()
    hooks = Recorder()
    await full_run(values, hooks=[hooks])
    seen = hooks.seen
    assert seen[:4] == [
        ("before", "getCustomers"),
        ("login", LoginEvent("enterprise", "user", True, 200)),
        ("retry", RetryEvent("getCustomers", 1, "status 503", 0.0, 503)),
        ("after", "getCustomers", "GetCustomers200Response", None),
    ]
    assert ("after", "getCustomer", "NoneType", "NotFound") in seen
    assert ("login", LoginEvent("customer", "device_token", True, 201)) in seen
    assert ("login", LoginEvent("customer", "customer", True, 200)) in seen
    # two user logins (the first, and again after a 401), the device token, the customer: no logout
    assert len([event for event in seen if event[0] == "login"]) == 4
    text = repr(seen)
    for secret in values.all():
        assert secret not in text


async def test_hooks_work_without_opentelemetry_and_a_views_hooks_only_for_its_calls() -> None:
    values = Secrets()
    client_hooks, view_hooks = Recorder(), Recorder()
    async with enterprise(values, FakeCareCloud(values), tracing=False, hooks=[client_hooks]) as cc:
        view = cc.with_options(hooks=[view_hooks])
        await view.call(get_customers.call, count=1)
        await cc.call(get_customers.call, count=1)
    assert [event[0] for event in client_hooks.seen].count("after") == 2
    assert [event[0] for event in view_hooks.seen].count("after") == 1


async def test_a_failing_hook_is_logged_and_the_call_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CallHooks):
        def before_call(self, call: CallEvent) -> None:
            raise RuntimeError("hook bug")

    values = Secrets()
    caplog.set_level(logging.WARNING, logger="carecloud_async")
    async with enterprise(values, FakeCareCloud(values), hooks=[Broken()]) as cc:
        await cc.call(get_customers.call, count=1)
    assert "Broken.before_call raised RuntimeError; the call goes on" in caplog.text


def test_hooks_must_be_call_hooks() -> None:
    values = Secrets()
    with pytest.raises(ConfigurationError, match="hooks must be a list"):
        enterprise(values, FakeCareCloud(values), hooks=Recorder())
    with pytest.raises(ConfigurationError, match="got builtin_function_or_method"):
        enterprise(values, FakeCareCloud(values), hooks=[print])
    with pytest.raises(ConfigurationError, match="tracing must be True or False"):
        enterprise(values, FakeCareCloud(values), tracing="no")


# ---------------------------------------------------------------- outbox


async def test_an_outbox_send_has_its_own_span_linked_to_the_submit_and_gauges(otel: Telemetry, tmp_path: Path) -> None:
    from carecloud_async.outbox import Outbox
    from carecloud_async.testing import FakeCareCloud as CareCloudFake
    from carecloud_async.testing import sample_purchase

    clock = [1_000.0]
    carecloud = CareCloudFake()
    carecloud.fail("postPurchaseSend", 503, times=None, when=lambda sent: sent.json["bill"]["bill_id"] == "B-2")

    async with (
        Outbox(tmp_path / "outbox.sqlite3", clock=lambda: clock[0]) as outbox,
        carecloud.enterprise_client(HOST, retry=RetryPolicy.disabled()) as cc,
    ):
        await outbox.submit(sample_purchase("B-1", cashdesk_number=1))
        await outbox.submit(sample_purchase("B-2", cashdesk_number=2))
        clock[0] += 30
        await outbox.send_due(cc, concurrency=2)
        clock[0] += 45

        submits, sends = otel.named("carecloud.outbox submit"), otel.named("carecloud.outbox send")
        by_bill = {str(dict(span.attributes or {})["carecloud.outbox.bill_id"]): span for span in submits}
        assert sorted(by_bill) == ["B-1", "B-2"]
        for send in sends:
            attributes = dict(send.attributes or {})
            bill = str(attributes["carecloud.outbox.bill_id"])
            assert [link.context.span_id for link in send.links] == [by_bill[bill].context.span_id]
            assert attributes["carecloud.outbox.outcome"] == ("sent" if bill == "B-1" else "retry")
            calls = [span for span in otel.finished() if span.parent and span.parent.span_id == send.context.span_id]
            assert "postPurchaseSend" in [span.name for span in calls]
        assert len(sends) == 2

        points = [(attrs, point.value) for name, attrs, point in otel.points() if name.startswith("carecloud.outbox.")]
        location = outbox.store.location
        ours = [(attrs, value) for attrs, value in points if attrs["carecloud.outbox.store"] == location]
        counts = {attrs["carecloud.outbox.state"]: value for attrs, value in ours if "carecloud.outbox.state" in attrs}
        assert counts == {"pending": 1, "sending": 0, "sent": 1, "manual": 0, "discarded": 0}
        (age,) = [value for attrs, value in ours if "carecloud.outbox.state" not in attrs]
        assert age == 75.0  # B-2 was submitted at 1000, the clock says 1075: what an operator alerts on
    assert post_purchase_send.PATH.endswith("send-purchase")


GOOD_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_stored_traceparent_is_read_with_care() -> None:
    from carecloud_async._telemetry import remote_context

    context = remote_context(GOOD_TRACEPARENT)
    assert context is not None
    assert (context.trace_id, context.span_id, int(context.trace_flags), context.is_remote) == (
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        1,
        True,
    )
    good = GOOD_TRACEPARENT
    malformed: list[object] = [
        None,
        "",
        good.upper(),  # W3C: lowercase hex only
        good + "-00",  # version 00 has exactly four fields
        good + "\n",
        " " + good,
        "01" + good[2:],  # a version this library never writes
        "ff" + good[2:],
        good[:3] + "0" * 32 + good[35:],  # all-zero trace id
        good[:36] + "0" * 16 + good[52:],  # all-zero span id
        good[:-2] + "0g",
        good.replace("-", "_"),
        "00-4bf92f3577b34da6-00f067aa0ba902b7-01",
        good.encode(),
        42,
    ]
    for value in malformed:
        assert remote_context(value) is None, value


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    trace_id=st.integers(0, 2**128 - 1),
    span_id=st.integers(0, 2**64 - 1),
    flags=st.integers(0, 255),
    noise=st.text(max_size=80),
)
def test_traceparent_round_trips_and_noise_is_never_an_error(
    trace_id: int, span_id: int, flags: int, noise: str
) -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from carecloud_async._telemetry import remote_context, traceparent

    span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags)))
    text = traceparent(span)
    if trace_id == 0 or span_id == 0:
        assert text is None
    else:
        assert text is not None
        assert len(text) == 55
        back = remote_context(text)
        assert back is not None
        assert (back.trace_id, back.span_id, int(back.trace_flags), back.is_remote) == (trace_id, span_id, flags, True)
    for value in (noise, GOOD_TRACEPARENT[: len(noise) % 56] + noise, noise + GOOD_TRACEPARENT):
        found = remote_context(value)  # never raises
        assert found is None or value == traceparent(NonRecordingSpan(found))


# ---------------------------------------------------------------- docs and the example
# (that a call imports no OpenTelemetry when it is absent or off: tests/test_import_footprint.py)


def test_the_guide_names_every_metric_and_the_extra_pins_the_api() -> None:
    guide = (ROOT / "docs" / "guide" / "tracing-and-metrics.md").read_text(encoding="utf-8")
    for name in METRIC_NAMES:
        assert f"`{name}`" in guide, name
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'otel = ["opentelemetry-api' in pyproject


async def test_a_raw_request_outside_an_operation_is_named_by_its_method_only(otel: Telemetry) -> None:
    values = Secrets()
    async with enterprise(values, FakeCareCloud(values)) as cc:
        await cc.authenticate()
        otel.spans.clear()
        await cc.http.get("customers/c404", params={"email": values.email})
    (span,) = otel.finished()
    assert span.name == "GET"
    attributes = dict(span.attributes or {})
    assert "url.template" not in attributes
    assert values.email not in repr(attributes)


def test_the_tracing_example_prints_spans_and_metrics() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.tracing"], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "span op     getCustomers",
        "span client GET /customers ",
        "[retry {'carecloud.retry.attempt': 1, 'carecloud.retry.reason': 'status 503'",
        "carecloud.error_code=not_found_exception",
        "carecloud.login.kind=user",
        "metric carecloud.client.retries",
        "metric carecloud.client.operation.duration",
    ):
        assert expected in out, expected
    assert "b-123" not in out + result.stderr  # the stand-in's bearer token
    assert "not-a-real-password" not in out + result.stderr


# ---------------------------------------------------------------- the privacy invariant, searched


EMAILS = st.from_regex(r"[a-z]{2,8}(\.[a-z0-9]{1,4})?\+?[0-9]{0,3}@example\.(com|cz)", fullmatch=True)
SECRET = st.text(alphabet="0123456789abcdef", min_size=12, max_size=24)
STEPS: list[int] = []


class NoSecretRecorded(RuleBasedStateMachine):
    """Random sequences of searches by e-mail, walks, errors, 503s, 401s (re-logins) and customer
    sessions with fresh passwords; after every step, no span, event, link, metric point or hook
    record holds any secret used so far (raw or percent-encoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.telemetry = _providers[0]
        self.values = Secrets()
        self.fake = FakeCareCloud(self.values)
        self.fake.unavailable_once = self.fake.refused_once = False
        self.hooks = Recorder()
        self.cc = enterprise(self.values, self.fake, hooks=[self.hooks])
        self.used: set[str] = set(self.values.all())
        self.steps = 0

    def run(self, coroutine: Any) -> Any:
        self.steps += 1
        return asyncio.run(coroutine)

    @rule(email=EMAILS)
    def search(self, email: str) -> None:
        self.used.add(email)
        self.run(self.cc.call(get_customers.call, email=email))

    @rule(email=EMAILS, page_size=st.integers(1, 3))
    def walk(self, email: str, page_size: int) -> None:
        self.used.add(email)
        self.run(self.cc.paginate(get_customers, email=email, page_size=page_size).collect())

    @rule(customer_id=st.sampled_from(["c404", "c405"]))
    def missing(self, customer_id: str) -> None:
        async def call() -> None:
            with pytest.raises(NotFound):
                await self.cc.call(get_customer.call, customer_id)

        self.run(call())

    @rule(status=st.sampled_from([401, 503, 429]))
    def fail_next(self, status: int) -> None:
        self.fake.next_status = status

    @rule(email=EMAILS, password=SECRET)
    def customer_session(self, email: str, password: str) -> None:
        self.values.email, self.values.customer_password = email, "cpw-" + password
        self.used.update([email, self.values.customer_password])

        async def session() -> None:
            async with customer_client(self.values, FakeCareCloud(self.values), hooks=[self.hooks]) as mobile:
                await mobile.call(get_customers.call, email=email)
                await mobile.logout_customer()

        self.run(session())

    @invariant()
    def nothing_recorded_holds_a_secret(self) -> None:
        texts = "\n".join(everything_recorded(self.telemetry)) + repr(self.hooks.seen)
        for secret in self.used:
            assert secret not in texts
            assert quote(secret, safe="") not in texts

    def teardown(self) -> None:
        asyncio.run(self.cc.aclose())
        STEPS.append(self.steps)


def test_no_sequence_of_calls_records_a_secret(otel: Telemetry) -> None:
    STEPS.clear()
    run_state_machine_as_test(
        NoSecretRecorded,
        settings=settings(max_examples=25, stateful_step_count=10, deadline=None, derandomize=True, database=None),
    )
    print(f"\nprivacy invariant: {len(STEPS)} sequences, {sum(STEPS)} steps that made calls")
    assert len(STEPS) >= 25  # the search ran ...
    assert sum(STEPS) > 50  # ... and made calls
    assert otel.finished()  # and the spans it scanned were there
