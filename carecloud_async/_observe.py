"""How a client observes its work: your hooks (:mod:`._hooks`) and OpenTelemetry (:mod:`._telemetry`).

A :class:`Observer` belongs to each client (and to a view with hooks of its own). It is composed in
the way httpx composes: a transport on top of the client's stack (logins, the final status of each
request, cache hits and misses) and one at the bottom (one span per HTTP attempt, 429/503 counts).
``CareCloud.call`` and the paginator run their operations through :meth:`Observer.call` and
:func:`observed_walk`; the retry transport reports each retry with :func:`note_retry`, the rate
limit its waits with :func:`note_rate_wait`. The operation running in a task lives in a
``ContextVar``, so the layers below find it without being handed it.

With no hooks and OpenTelemetry absent or off (``tracing=False``), none of it is installed:
``CareCloud.call`` checks one attribute and the stack is the one it always was. With the
OpenTelemetry API installed but no tracer or meter provider configured, the spans are skipped too.

    observer = Observer.for_client(config, tracing=True, hooks=[MyHooks()])
    result = await observer.call(entry, send_call, get_customers.call, count=10)
"""

from __future__ import annotations

import contextlib
import copy
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._errors import ConfigurationError

if TYPE_CHECKING:  # _hooks is imported by the first observer that has work (its dataclasses cost ~1 ms)
    from carecloud_api._catalog import Operation

    from ._config import ClientConfig
    from ._hooks import CallEvent, CallHooks, LoginKind
    from ._telemetry import OTel

__all__ = [
    "AttemptTransport",
    "ObservedTransport",
    "Observer",
    "Walk",
    "load_otel",
    "note_dedupe_join",
    "note_rate_wait",
    "note_retry",
    "observed_send",
    "observed_send_pass",
    "observed_submit",
    "observed_walk",
]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: A request extension counting the attempts made of that request (the bottom transport's).
ATTEMPT_EXTENSION = "carecloud_async.attempt"

# [OTel | None] once probed: the import is tried once per process.
_probed: list[OTel | None] = []


def load_otel() -> OTel | None:
    """The OpenTelemetry side, importing it on first use; None when opentelemetry-api is absent."""
    if not _probed:
        try:
            from ._telemetry import otel
        except ImportError:
            _probed.append(None)
        else:
            _probed.append(otel())
    return _probed[0]


def _live_otel() -> OTel | None:
    found = load_otel()
    return found if found is not None and found.live() else None


class Scope:
    """The operation (or login) running in this task: what the layers below report against."""

    __slots__ = ("event", "observer", "status_code")

    def __init__(self, observer: Observer, event: CallEvent) -> None:
        self.observer = observer
        self.event = event
        self.status_code: int | None = None


_scope: ContextVar[Scope | None] = ContextVar("carecloud_async_operation", default=None)


def _each(hooks: Iterable[CallHooks], method: str, *args: Any, **kwargs: Any) -> None:
    from ._hooks import hook_failed

    for one in hooks:
        try:
            getattr(one, method)(*args, **kwargs)
        except Exception as exc:  # a hook's bug must not fail the call
            hook_failed(one, method, exc)


def _checked_hooks(hooks: Iterable[CallHooks]) -> tuple[CallHooks, ...]:
    if isinstance(hooks, (tuple, list)) and not hooks:
        return ()
    from ._hooks import CallHooks

    if isinstance(hooks, CallHooks):
        raise ConfigurationError("hooks must be a list of carecloud_async.CallHooks, e.g. hooks=[MyHooks()]")
    checked = tuple(hooks)
    for one in checked:
        if not isinstance(one, CallHooks):
            raise ConfigurationError(f"hooks must be carecloud_async.CallHooks instances, got {type(one).__name__}")
    return checked


class Observer:
    """Hooks and OpenTelemetry for one client or view (see the module docs).

    ``otel`` is None when tracing is off or OpenTelemetry is not installed; ``active`` is False
    when there is nothing to do at all (no hooks either).
    """

    def __init__(
        self,
        api: str,
        server: dict[str, str | int],
        base_path: str,
        *,
        tracing: bool,
        hooks: tuple[CallHooks, ...],
    ) -> None:
        self.api = api
        self.server = server
        self.base_path = base_path
        self.hooks = hooks
        self.otel = load_otel() if tracing else None
        self.active = bool(hooks) or self.otel is not None

    @classmethod
    def for_client(cls, config: ClientConfig, *, tracing: bool, hooks: Iterable[CallHooks]) -> Observer:
        """The observer of a client of ``config``; ``tracing=False`` never imports OpenTelemetry."""
        if not isinstance(tracing, bool):
            raise ConfigurationError(f"tracing must be True or False, got {tracing!r}")
        url = config.base_url
        server: dict[str, str | int] = {"server.address": url.host}
        server["server.port"] = url.port or (443 if url.scheme == "https" else 80)
        base_path = url.path.rstrip("/")
        return cls(config.interface, server, base_path, tracing=tracing, hooks=_checked_hooks(hooks))

    def with_hooks(self, hooks: Iterable[CallHooks]) -> Observer:
        """This observer with ``hooks`` run after its own (for a view)."""
        more = _checked_hooks(hooks)
        if not more:
            return self
        view = copy.copy(self)
        view.hooks = self.hooks + more
        view.active = True
        return view

    # -------------------------------------------------------------- composing the stack

    def network(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """``transport`` (the one that does the I/O) with a span per attempt, when tracing."""
        return transport if self.otel is None else AttemptTransport(transport, self)

    def outer(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """``transport`` (the whole stack below auth) seen from above: logins, statuses, cache."""
        return transport if not self.active else ObservedTransport(transport, self)

    # -------------------------------------------------------------- operations

    def event(self, entry: Operation) -> CallEvent:
        from ._hooks import CallEvent

        return CallEvent(entry.operation_id, entry.method, entry.path, self.api)

    async def call(
        self, entry: Operation, send: Callable[..., Awaitable[Any]], function: Any, /, *args: Any, **kwargs: Any
    ) -> Any:
        """``await send(function, *args, **kwargs)`` as the operation ``entry``: its span, hooks and
        duration."""
        otel = None if self.otel is None else _live_otel()
        if otel is None and not self.hooks:
            return await send(function, *args, **kwargs)
        return await self.run(self.event(entry), otel, None, send, function, *args, **kwargs)

    async def run(
        self,
        event: CallEvent,
        otel: OTel | None,
        walk: Any,
        send: Callable[..., Awaitable[Any]],
        function: Any,
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run one operation (or one page of ``walk``, a walk's span) with its hooks and span."""
        _each(self.hooks, "before_call", event)
        span = token = None
        if otel is not None:
            if walk is None:
                span, token = otel.start(event.operation_id, self.attributes(event))
            else:
                token = otel.attach(walk)
        scope = Scope(self, event)
        scope_token = _scope.set(scope)
        started = time.perf_counter()
        result: Any = None
        error: BaseException | None = None
        try:
            result = await send(function, *args, **kwargs)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            _scope.reset(scope_token)
            duration = time.perf_counter() - started
            if otel is not None:
                status = getattr(error, "status_code", None) if error is not None else scope.status_code
                if span is not None:
                    otel.finish(span, token, status_code=status, error=error)
                else:  # a page: the walk's span shows the latest status
                    otel.detach(token)
                    if status is not None:
                        walk.set_attribute("http.response.status_code", status)
                metric: dict[str, str | int | float | bool] = {
                    "carecloud.operation_id": event.operation_id,
                    "carecloud.api": event.api,
                }
                if error is not None:
                    metric["error.type"] = type(error).__name__
                otel.duration.record(duration, metric)
            if self.hooks:
                _each(self.hooks, "after_call", event, result=result, error=error, duration=duration)

    def attributes(self, event: CallEvent) -> dict[str, str | int | float | bool]:
        return {
            "carecloud.operation_id": event.operation_id,
            "carecloud.api": event.api,
            "http.request.method": event.method,
            "url.template": event.url_template,
            **self.server,
        }


# ------------------------------------------------------------------ pagination


class Walk:
    """One paginated walk: its span (None when not traced); :meth:`send` runs one page in it."""

    def __init__(self, observer: Observer, event: CallEvent, send: Callable[..., Awaitable[Any]]) -> None:
        self.observer = observer
        self.event = event
        self._send = send
        self.otel = None if observer.otel is None else _live_otel()
        self.span: Any = None
        if self.otel is not None:
            self.span, _ = self.otel.start(event.operation_id, observer.attributes(event), current=False)

    async def send(self, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await self.observer.run(self.event, self.otel, self.span, self._send, function, *args, **kwargs)


@contextlib.asynccontextmanager
async def observed_walk(client: Any, entry: Operation) -> AsyncIterator[Walk | None]:
    """A :class:`Walk` for the paginator of ``client`` over ``entry``, or None when nothing observes.

    The walk's span is never made current across the paginator's ``yield``s (the consumer's code
    runs there, possibly in another context): each page makes it current while it is fetched.
    """
    observer = getattr(client, "_observer", None)
    if observer is None or not observer.active:
        yield None
        return
    walk = Walk(observer, observer.event(entry), client.send_call)
    if walk.otel is None and not observer.hooks:
        yield None
        return
    error: BaseException | None = None
    try:
        yield walk
    except GeneratorExit:  # the consumer stopped early: not an error of the walk
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        if walk.otel is not None:
            walk.otel.finish(walk.span, None, status_code=getattr(error, "status_code", None), error=error)


# ------------------------------------------------------------------ transports


def _login_kind(path: str, base_path: str) -> tuple[LoginKind | None, str] | None:
    """(kind, spec path) of a POST to ``path`` if it is one of the APIs' logins; kind None for the
    customer logout (its own span too, but no login)."""
    if not path.startswith(base_path):
        return None
    route = path[len(base_path) :]
    if route == "/users/actions/login":
        return "user", route
    if route == "/tokens":
        return "device_token", route
    if route.startswith("/tokens/") and route.count("/") == 4:
        if route.endswith("/actions/login"):
            return "customer", "/tokens/{token_id}/actions/login"
        if route.endswith("/actions/logout"):
            return None, "/tokens/{token_id}/actions/logout"
    return None


class ObservedTransport(httpx.AsyncBaseTransport):
    """On top of a client's stack (below auth): each login (and the customer logout) in its own
    span, ``on_login`` hooks and the login counter; the final status of an operation's request;
    cache hits and misses."""

    def __init__(self, transport: httpx.AsyncBaseTransport, observer: Observer) -> None:
        self._transport = transport
        self._observer = observer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            login = _login_kind(request.url.path, self._observer.base_path)
            if login is not None:
                return await self._login(request, *login)
        response = await self._transport.handle_async_request(request)
        scope = _scope.get()
        if scope is not None:
            scope.status_code = response.status_code
        if "caching" in request.extensions:  # the HTTP cache looked this request up
            otel = _live_otel() if self._observer.otel is not None else None
            if otel is not None:
                from ._cache import from_cache  # loaded already: the cache set the extension

                result = "hit" if from_cache(response) else "miss"
                operation = scope.event.operation_id if scope is not None else ""
                otel.cache.add(1, {"carecloud.cache.result": result, "carecloud.operation_id": operation})
        return response

    async def _login(self, request: httpx.Request, kind: LoginKind | None, route: str) -> httpx.Response:
        from ._hooks import CallEvent
        from ._operations import operation_at

        outer = _scope.get()
        observer = outer.observer if outer is not None else self._observer
        entry = operation_at("POST", route)
        event = CallEvent(entry.operation_id if entry is not None else f"POST {route}", "POST", route, observer.api)
        otel = None if observer.otel is None else _live_otel()
        span = token = None
        if otel is not None:
            attributes = observer.attributes(event)
            if kind is not None:
                attributes["carecloud.login.kind"] = kind
            span, token = otel.start(event.operation_id, attributes)
        scope_token = _scope.set(Scope(observer, event))
        status: int | None = None
        error: str | None = None
        try:
            response = await self._transport.handle_async_request(request)
            status = response.status_code
            return response
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            _scope.reset(scope_token)
            ok = error is None and status is not None and status < 400
            error_type = error if error is not None else (None if ok else str(status))
            if otel is not None and span is not None:
                otel.finish(span, token, status_code=status, error=error_type)
            if kind is not None:  # None: the logout, a span only
                if otel is not None:
                    outcome = {"carecloud.login.kind": kind, "carecloud.api": observer.api}
                    otel.logins.add(1, outcome if ok else {**outcome, "error.type": error_type or ""})
                if observer.hooks:
                    from ._hooks import LoginEvent

                    _each(observer.hooks, "on_login", LoginEvent(observer.api, kind, ok, status, error))

    async def aclose(self) -> None:
        await self._transport.aclose()


class AttemptTransport(httpx.AsyncBaseTransport):
    """At the bottom of the stack: one CLIENT span per HTTP attempt (a child of the operation's or
    login's span) and the count of 429/503 answers."""

    def __init__(self, transport: httpx.AsyncBaseTransport, observer: Observer) -> None:
        assert observer.otel is not None
        self._transport = transport
        self._otel = observer.otel
        self._server = observer.server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        otel = self._otel
        if not otel.live():
            return await self._transport.handle_async_request(request)
        attempt = int(request.extensions.get(ATTEMPT_EXTENSION, 0)) + 1
        request.extensions[ATTEMPT_EXTENSION] = attempt
        scope = _scope.get()
        attributes: dict[str, str | int | float | bool] = {"http.request.method": request.method, **self._server}
        name = request.method
        operation = ""
        if scope is not None:
            operation = scope.event.operation_id
            attributes["url.template"] = scope.event.url_template
            attributes["carecloud.operation_id"] = operation
            name = f"{request.method} {scope.event.url_template}"
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        span, _ = otel.start(name, attributes, client=True, current=False)
        try:
            response = await self._transport.handle_async_request(request)
        except BaseException as exc:
            otel.finish(span, None, status_code=None, error=exc)
            raise
        status = response.status_code
        if status in (429, 503):
            otel.throttled.add(1, {"http.response.status_code": status, "carecloud.operation_id": operation})
        otel.finish(span, None, status_code=status, error=str(status) if status >= 400 else None)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


# ------------------------------------------------------------------ events from the layers below


def note_retry(attempt: int, outcome: httpx.Response | BaseException, reason: str, wait: float) -> None:
    """The retry transport is about to wait ``wait`` seconds and send again after ``attempt``
    failed for ``reason``: a span event, the retry counter and ``on_retry`` hooks."""
    scope = _scope.get()
    if scope is None:
        return
    status = outcome.status_code if isinstance(outcome, httpx.Response) else None
    observer = scope.observer
    if observer.hooks:
        from ._hooks import RetryEvent

        _each(observer.hooks, "on_retry", RetryEvent(scope.event.operation_id, attempt, reason, wait, status))
    otel = None if observer.otel is None else _live_otel()
    if otel is not None:
        otel.retry(attempt, reason, wait, scope.event.operation_id, status)


def note_rate_wait(seconds: float) -> None:
    """A request waited ``seconds`` for the client's rate limit (:class:`RateLimitTransport`)."""
    scope = _scope.get()
    otel = None if scope is None or scope.observer.otel is None else _live_otel()
    if otel is not None and scope is not None:
        otel.rate_wait.record(seconds, {"carecloud.operation_id": scope.event.operation_id})


def note_dedupe_join() -> None:
    """A GET joined an identical one in flight (for :mod:`._dedupe` to call; see the guide)."""
    scope = _scope.get()
    otel = None if scope is None or scope.observer.otel is None else _live_otel()
    if otel is not None and scope is not None:
        otel.dedupe_joins.add(1, {"carecloud.operation_id": scope.event.operation_id})


# ------------------------------------------------------------------ the outbox


def observed_submit(method: F) -> F:
    """Decorates ``Outbox._submit``: a span per submit (when OpenTelemetry is configured), whose
    W3C ``traceparent`` is stored with the purchase for the link of the send (from any process),
    and the outbox's pending count. Without a configured provider nothing is stored."""

    @functools.wraps(method)
    async def submit(outbox: Any, body: Any, **kwargs: Any) -> Any:
        otel = _live_otel()
        if otel is None:
            return await method(outbox, body, **kwargs)
        location = outbox.store.location
        bill_id = str(body.bill.bill_id)
        span, token = otel.start(
            "carecloud.outbox submit", {"carecloud.outbox.store": location, "carecloud.outbox.bill_id": bill_id}
        )
        from ._telemetry import traceparent  # loaded already: otel is live

        error: BaseException | None = None
        try:
            record = await method(outbox, body, traceparent=traceparent(span), **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            otel.finish(span, token, status_code=None, error=error)
        snapshot = otel.outboxes.get(outbox)
        if snapshot is not None and record.attempts == 0 and record.state.value == "pending":
            snapshot.counts["pending"] = snapshot.counts.get("pending", 0) + 1
            if snapshot.oldest_open_at is None:
                snapshot.oldest_open_at = record.submitted_at
        return record

    return submit  # type: ignore[return-value]


def observed_send(method: F) -> F:
    """Decorates ``Outbox._send_one``: a span per send, linked to the bill's submit span (from the
    ``traceparent`` stored with the purchase, whichever process submitted it; no link when the
    submit was not traced or the stored value is malformed), with the outcome (``sent``, ``retry``
    or ``manual``)."""

    @functools.wraps(method)
    async def send(outbox: Any, cc: Any, record: Any, summary: Any) -> Any:
        observer = getattr(cc, "_observer", None)
        otel = None if observer is None or observer.otel is None else _live_otel()
        if otel is None:
            return await method(outbox, cc, record, summary)
        from ._telemetry import remote_context  # loaded already: otel is live

        location = outbox.store.location
        submitted = remote_context(record.traceparent)
        span, token = otel.start(
            "carecloud.outbox send",
            {
                "carecloud.outbox.store": location,
                "carecloud.outbox.bill_id": record.bill_id,
                "carecloud.outbox.attempt": record.attempts,
            },
            links=[submitted] if submitted is not None else (),
        )
        error: BaseException | None = None
        try:
            return await method(outbox, cc, record, summary)
        except BaseException as exc:
            error = exc
            raise
        finally:
            for outcome, bills in (("sent", summary.sent), ("retry", summary.retried), ("manual", summary.manual)):
                if record.bill_id in bills:
                    span.set_attribute("carecloud.outbox.outcome", outcome)
            otel.finish(span, token, status_code=None, error=error)

    return send  # type: ignore[return-value]


def observed_send_pass(method: F) -> F:
    """Decorates ``Outbox._send_due``: after each pass, the counts per state and the oldest open
    purchase for the outbox gauges (two store reads, only when a meter provider is configured)."""

    @functools.wraps(method)
    async def send_pass(outbox: Any, *args: Any, **kwargs: Any) -> Any:
        summary = await method(outbox, *args, **kwargs)
        otel = _live_otel()
        if otel is not None:
            from ._telemetry import OutboxSnapshot

            snapshot = otel.outboxes.get(outbox)
            if snapshot is None:
                snapshot = otel.outboxes[outbox] = OutboxSnapshot(outbox.store.location, outbox.clock)
            counts = await outbox.counts()
            oldest = await outbox.records(["pending", "sending"], limit=1)
            snapshot.counts = {state.value: count for state, count in counts.items()}
            snapshot.oldest_open_at = oldest[0].submitted_at if oldest else None
        return summary

    return send_pass  # type: ignore[return-value]
