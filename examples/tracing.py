"""Tracing and metrics on the console: ``python -m examples.tracing`` (needs opentelemetry-sdk).

The client uses the OpenTelemetry API only; the application configures the SDK. Here the SDK
prints each finished span on one line and, at the end, the metrics it collected. The calls go to
a small in-process stand-in for CareCloud (an ``httpx.MockTransport``: no network), which answers
one 503 first so that a retry shows up, and a 404 for an unknown customer.

``make demo`` uses :func:`configure_console_tracing` and :func:`print_metrics` when
``CARECLOUD_DEMO_TRACING=1`` is set.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from carecloud_async import CareCloud, NotFound, RetryPolicy

#: The attributes a span line shows (all of them are on the span; these tell the story).
SHOWN = (
    "url.template",
    "http.response.status_code",
    "http.request.resend_count",
    "error.type",
    "carecloud.error_code",
    "carecloud.login.kind",
)


def one_line(span: ReadableSpan) -> str:
    """A span as one console line: name, duration, the telling attributes and its events."""
    attributes = dict(span.attributes or {})
    took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    details = "  ".join(f"{name}={attributes[name]}" for name in SHOWN if name in attributes)
    for event in span.events:
        details += f"  [{event.name} {dict(event.attributes or {})}]"
    kind = "client" if span.kind is trace.SpanKind.CLIENT else "op"
    return f"  span {kind:<6} {span.name:<32} {took:7.1f} ms  {details}\n"


_reader: list[InMemoryMetricReader] = []


def configure_console_tracing() -> None:
    """Global tracer and meter providers: spans printed as they end, metrics kept for
    :func:`print_metrics`. An application would export both to its collector instead."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    _reader.append(reader)


def print_metrics() -> None:
    """Every metric point collected so far, one line each."""
    data = _reader[0].get_metrics_data() if _reader else None
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    labels = ", ".join(f"{k}={v!s}" for k, v in (point.attributes or {}).items())
                    if isinstance(point, HistogramDataPoint):
                        value = f"count={point.count} sum={point.sum:.4f}"
                    else:
                        value = f"value={getattr(point, 'value', '?')}"
                    print(f"  metric {metric.name:<38} {value:<24} {labels}", flush=True)


def stand_in(request: httpx.Request) -> httpx.Response:
    """A few answers of CareCloud's: a login, a 503 then a list of two pages, a 404."""
    route = request.url.path.split("/v1.0", 1)[1]
    if route == "/users/actions/login":
        return httpx.Response(200, json={"data": {"bearer_token": "b-123", "valid_to": "2099-01-01 00:00:00"}})
    if route == "/customers":
        if not stand_in.__dict__.setdefault("failed", False):
            stand_in.__dict__["failed"] = True
            return httpx.Response(503, headers={"Retry-After": "0"})
        offset = int(request.url.params.get("offset", 0))
        people = [
            {"customer_id": f"c{n}", "personal_information": {"first_name": "Jane", "language_id": "en"}}
            for n in range(3)
        ]
        page = people[offset : offset + int(request.url.params.get("count", 100))]
        return httpx.Response(200, json={"data": {"customers": page, "total_items": 3}})
    body = {"error": {"exception": "not_found_exception", "title": "Customer not found"}}
    return httpx.Response(404, content=json.dumps(body), headers={"Content-Type": "application/json"})


async def main() -> None:
    configure_console_tracing()
    async with CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="app",
        login="pos@example.com",
        password="not-a-real-password",  # noqa: S106 (the stand-in accepts any)
        transport=httpx.MockTransport(stand_in),
        retry=RetryPolicy(backoff_base=0.0, backoff_cap=0.0),
    ) as cc:
        print("a paginated walk (one span; the 503 is a retry event, each attempt a client span):")
        customers = await cc.customers.list(page_size=2).collect()
        print(f"  -> {len(customers)} customers")
        print("an error (error.type and CareCloud's error code on the span):")
        try:
            await cc.customers.get("c404")
        except NotFound as exc:
            print(f"  -> {type(exc).__name__} [{exc.error_code}]")
    print("metrics:")
    print_metrics()


if __name__ == "__main__":
    asyncio.run(main())
