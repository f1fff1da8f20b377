"""Spans and metrics on the OpenTelemetry API (``pip install carecloud-async[otel]``; no SDK at run time).

Imported only by a client created with ``tracing=True`` (the default) when ``opentelemetry-api`` is
installed; without it, or with ``tracing=False``, nothing of OpenTelemetry is imported and nothing
is recorded (:mod:`._observe` decides). Spans and metrics go to whatever tracer and meter providers
the application configures (the SDK, an exporter); until it configures one, nothing is made.

Spans (tracer ``carecloud_async``), named as in the "Tracing and metrics" guide:

- one per operation (``cc.call``; one for a whole ``cc.paginate`` walk), named by its operation
  id (``getCustomers``), kind INTERNAL;
- one per HTTP attempt below it, named ``{method} {url.template}``, kind CLIENT;
- one per login (user login, device token, customer login), named by its operation id, with its
  own attempts below it;
- an outbox submit (``carecloud.outbox submit``) and each send (``carecloud.outbox send``), the
  send linked to the submit of the same bill: the submit's W3C ``traceparent`` is stored with the
  purchase, so the link holds whichever process sends it, after a restart too.

Attributes: ``http.request.method``, ``url.template`` (the spec path, never the filled one: the
Customer API's token id is in it), ``server.address``, ``server.port``, ``http.response.status_code``,
``http.request.resend_count``, ``error.type``, ``carecloud.operation_id``, ``carecloud.api``,
``carecloud.error_code``, ``carecloud.login.kind``; retries are ``retry`` events (attributes
``carecloud.retry.attempt``, ``carecloud.retry.reason``, ``carecloud.retry.wait``) on the span of
the operation or login. No argument value, query string, token or password is ever recorded.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Callable, Iterable

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ._version import __version__

__all__ = ["INSTRUMENTATION_NAME", "METRIC_NAMES", "OTel", "OutboxSnapshot", "otel", "remote_context", "traceparent"]

INSTRUMENTATION_NAME = "carecloud_async"

#: Every metric this module records (the guide lists them; a test checks both against this).
METRIC_NAMES = (
    "carecloud.client.operation.duration",
    "carecloud.client.retries",
    "carecloud.client.throttled",
    "carecloud.client.logins",
    "carecloud.client.cache.lookups",
    "carecloud.client.dedupe.joins",
    "carecloud.client.rate_limit.wait",
    "carecloud.outbox.purchases",
    "carecloud.outbox.oldest_pending_age",
)

Attributes = dict[str, str | int | float | bool]

# W3C Trace Context, version 00: exactly this and nothing more (no tracestate, no baggage).
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def traceparent(span: Span) -> str | None:
    """The W3C ``traceparent`` of ``span`` (``00-<trace id>-<span id>-<flags>``); None for a
    span that is not recorded anywhere (an invalid context)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags) & 0xFF:02x}"


def remote_context(value: object) -> SpanContext | None:
    """The span context a stored ``traceparent`` names (remote: another process may have made it),
    or None when ``value`` is None or not a valid version-00 traceparent: a bad value loses the
    link, never the send."""
    if not isinstance(value, str) or len(value) != 55:
        return None
    found = _TRACEPARENT.fullmatch(value)
    if found is None:
        return None
    trace_id, span_id, flags = (int(part, 16) for part in found.groups())
    context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))
    return context if context.is_valid else None


class OutboxSnapshot:
    """What the outbox gauges report for one outbox: its counts per state and when its oldest
    open (pending or sending) purchase was submitted, as of its sender's last pass."""

    def __init__(self, location: str, clock: Callable[[], float]) -> None:
        self.location = location
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.oldest_open_at: float | None = None


class OTel:
    """The tracer, the meter's instruments and the span helpers (one per process: :func:`otel`)."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(INSTRUMENTATION_NAME, __version__)
        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__)
        self.duration = meter.create_histogram(
            METRIC_NAMES[0], unit="s", description="Duration of CareCloud operations (retries and logins included)"
        )
        self.retries = meter.create_counter(METRIC_NAMES[1], unit="{retry}", description="Requests sent again")
        self.throttled = meter.create_counter(
            METRIC_NAMES[2], unit="{response}", description="429 and 503 answers (each attempt)"
        )
        self.logins = meter.create_counter(
            METRIC_NAMES[3], unit="{login}", description="User logins, device tokens and customer logins"
        )
        self.cache = meter.create_counter(
            METRIC_NAMES[4], unit="{lookup}", description="HTTP cache lookups (carecloud.cache.result: hit or miss)"
        )
        self.dedupe_joins = meter.create_counter(
            METRIC_NAMES[5], unit="{request}", description="GETs that joined an identical one in flight"
        )
        self.rate_wait = meter.create_histogram(
            METRIC_NAMES[6], unit="s", description="Time a request waited for the client's rate limit"
        )
        # Outbox -> its snapshot, while the outbox lives.
        self.outboxes: weakref.WeakKeyDictionary[object, OutboxSnapshot] = weakref.WeakKeyDictionary()
        meter.create_observable_gauge(
            METRIC_NAMES[7], [self._outbox_counts], unit="{purchase}", description="Outbox purchases per state"
        )
        meter.create_observable_gauge(
            METRIC_NAMES[8],
            [self._outbox_ages],
            unit="s",
            description="Age of the oldest purchase not yet sent (pending or sending)",
        )
        self._live = False
        # A provider named in the environment is loaded by the first get_*_provider() call.
        self._from_env = any(os.environ.get(f"OTEL_PYTHON_{kind}_PROVIDER") for kind in ("TRACER", "METER"))

    def live(self) -> bool:
        """Whether the application configured a tracer or meter provider (else every span and
        instrument is a no-op, and the client skips them). Once true, true for good: a global
        provider cannot be unset."""
        if not self._live:
            # Asked on every call: the API's own globals say "nothing set" in 0.1 µs where the
            # public getters take 2.7 µs (a missing global, in another API version, means "ask").
            internal = getattr(metrics, "_internal", None)
            unset = getattr(trace, "_TRACER_PROVIDER", True) is None
            if unset and not self._from_env and getattr(internal, "_METER_PROVIDER", True) is None:
                return False
            tracing = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            self._live = tracing or type(metrics.get_meter_provider()).__name__ != "_ProxyMeterProvider"
        return self._live

    # -------------------------------------------------------------- spans

    def start(
        self,
        name: str,
        attributes: Attributes,
        *,
        client: bool = False,
        links: Iterable[SpanContext] = (),
        current: bool = True,
    ) -> tuple[Span, object | None]:
        """A new span (child of the current one; kind CLIENT for an HTTP attempt, else INTERNAL),
        made current unless ``current`` is False, linked to the spans of ``links``; returns it and
        the token :meth:`finish` detaches."""
        span = self.tracer.start_span(
            name,
            kind=SpanKind.CLIENT if client else SpanKind.INTERNAL,
            attributes=attributes,
            links=[Link(context) for context in links],
        )
        token = otel_context.attach(trace.set_span_in_context(span)) if current else None
        return span, token

    def attach(self, span: Span) -> object:
        """Make ``span`` current (a page of a walk); :meth:`detach` with what this returns."""
        return otel_context.attach(trace.set_span_in_context(span))

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def finish(
        self, span: Span, token: object | None, *, status_code: int | None, error: BaseException | str | None
    ) -> str | None:
        """Set the outcome on ``span`` and end it; returns the ``error.type`` set (None: success)."""
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]
        if status_code is not None:
            span.set_attribute("http.response.status_code", status_code)
        error_type = None
        if error is not None:
            error_type = error if isinstance(error, str) else type(error).__name__
            span.set_attribute("error.type", error_type)
            code = getattr(error, "error_code", None)
            if isinstance(code, str) and code:
                span.set_attribute("carecloud.error_code", code)
            # The class only: an exception's text is the caller's to show, not the trace's.
            span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()
        return error_type

    def retry(self, attempt: int, reason: str, wait: float, operation_id: str, status_code: int | None) -> None:
        """A ``retry`` event on the current span (the operation's or login's) and the counter."""
        trace.get_current_span().add_event(
            "retry",
            {"carecloud.retry.attempt": attempt, "carecloud.retry.reason": reason, "carecloud.retry.wait": wait},
        )
        cause = str(status_code) if status_code is not None else reason.split(":", 1)[0]
        self.retries.add(1, {"carecloud.operation_id": operation_id, "carecloud.retry.reason": cause})

    # -------------------------------------------------------------- outbox gauges

    def _outbox_counts(self, options: CallbackOptions) -> Iterable[Observation]:
        for snapshot in list(self.outboxes.values()):
            for state, count in snapshot.counts.items():
                yield Observation(count, {"carecloud.outbox.store": snapshot.location, "carecloud.outbox.state": state})

    def _outbox_ages(self, options: CallbackOptions) -> Iterable[Observation]:
        for snapshot in list(self.outboxes.values()):
            oldest = snapshot.oldest_open_at
            age = 0.0 if oldest is None else max(0.0, snapshot.clock() - oldest)
            yield Observation(age, {"carecloud.outbox.store": snapshot.location})


_otel: list[OTel] = []


def otel() -> OTel:
    """The process's :class:`OTel` (made on first use)."""
    if not _otel:
        _otel.append(OTel())
    return _otel[0]
