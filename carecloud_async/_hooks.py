"""Hooks: what a client tells code of yours about its operations, without OpenTelemetry.

Subclass :class:`CallHooks`, override the methods you need, and register an instance on a client
(``hooks=[...]`` when creating it) or on a view (``cc.with_options(hooks=[...])``: only the calls of
that view run them, after the client's). Each method gets a small frozen record:

- :meth:`CallHooks.before_call` / :meth:`CallHooks.after_call`: one operation (``cc.call``, one
  page of ``cc.paginate``), with its operation id, HTTP method, spec path and API; ``after_call``
  also gets the parsed result or the error, and the duration;
- :meth:`CallHooks.on_retry`: a retry about to wait (attempt number, reason, wait);
- :meth:`CallHooks.on_login`: a login, device token creation or customer login, and its outcome.

No record ever holds a password, bearer token, token id or a request's argument values (the spec
path is the template, ``/tokens/{token_id}/actions/login``, never the filled one). Hooks run in the
task that makes the call, so they must be quick; an exception a hook raises is logged
(``carecloud_async``) and the call goes on.

    class Timings(CallHooks):
        def after_call(self, call: CallEvent, *, result: object, error: BaseException | None,
                       duration: float) -> None:
            statsd.timing(f"carecloud.{call.operation_id}", duration * 1000)

    async with CareCloud.from_env(hooks=[Timings()]) as cc:
        ...
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

__all__ = ["CallEvent", "CallHooks", "LoginEvent", "RetryEvent"]

logger = logging.getLogger("carecloud_async")

#: Which kind of login: an Enterprise user login, Customer API device token creation, a customer login.
LoginKind = Literal["user", "device_token", "customer"]


@dataclass(frozen=True)
class CallEvent:
    """One operation of the API, as a hook sees it (no argument values, no secrets).

    >>> CallEvent("getCustomer", "GET", "/customers/{customer_id}", "enterprise")
    CallEvent(operation_id='getCustomer', method='GET', url_template='/customers/{customer_id}', api='enterprise')
    """

    #: The spec's ``operationId`` (``getCustomers``).
    operation_id: str
    #: The HTTP method (``GET``).
    method: str
    #: The spec path, with its parameters unfilled (``/customers/{customer_id}``).
    url_template: str
    #: ``"enterprise"`` or ``"customer"``.
    api: str


@dataclass(frozen=True)
class RetryEvent:
    """A request about to be sent again: after ``attempt`` failed for ``reason`` (``status 429``,
    ``ConnectError``), the client waits ``wait`` seconds. ``operation_id`` is None for a request
    made outside an operation (``cc.http``).

    >>> RetryEvent("getCustomers", 1, "status 503", 0.5).attempt
    1
    """

    operation_id: str | None
    attempt: int
    reason: str
    wait: float
    status_code: int | None = None


@dataclass(frozen=True)
class LoginEvent:
    """A login finished: ``kind`` says which (``user``: Enterprise user login, ``device_token``:
    Customer API token creation, ``customer``: a customer's login on the device token). ``ok``
    tells the outcome; ``status_code`` is the answer's status (None when none came) and ``error``
    the error's class name (``ConnectError``) when the request failed without an answer.

    >>> LoginEvent("enterprise", "user", True, 200).ok
    True
    """

    api: str
    kind: LoginKind
    ok: bool
    status_code: int | None = None
    error: str | None = None


class CallHooks:
    """Override the methods you need; the others do nothing.

    class Printer(CallHooks):
        def before_call(self, call: CallEvent) -> None:
            print("->", call.operation_id)

        def on_retry(self, retry: RetryEvent) -> None:
            print("retry", retry.attempt, retry.reason, f"{retry.wait:.2f} s")

    cc = CareCloud.enterprise(..., hooks=[Printer()])
    quiet = cc.with_options(hooks=[Printer()])      # only this view's calls
    """

    def before_call(self, call: CallEvent) -> None:
        """Before the operation's first request is built."""

    def after_call(self, call: CallEvent, *, result: object, error: BaseException | None, duration: float) -> None:
        """After the operation: ``result`` is the parsed success model (None on error), ``error``
        the exception the call raises (None on success), ``duration`` seconds (retries and a login
        on the way included)."""

    def on_retry(self, retry: RetryEvent) -> None:
        """Before the wait of a retry (the retry transport's decision, see :class:`RetryPolicy`)."""

    def on_login(self, login: LoginEvent) -> None:
        """After a login request (user login, device token, customer login) got its answer or failed."""


def hook_failed(hooks: CallHooks, method: str, exc: Exception) -> None:
    """Log a hook's exception (its class only: the message is the hook's own text) and go on."""
    logger.warning("%s.%s raised %s; the call goes on", type(hooks).__name__, method, type(exc).__name__)
