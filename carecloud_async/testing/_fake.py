"""The fake CareCloud: state, control, request validation and the in-process transport.

:class:`FakeCareCloud` answers both APIs (Enterprise and Customer) of any project URL. Every
request is checked against the spec first: a violation raises :class:`SpecViolation` in the test
(in-process) or answers 400 naming the operation and field (loopback server), and is kept in
:attr:`FakeCareCloud.violations`. Operations that integrations depend on keep state (see
``_resources.py``); every other operation answers the spec's example. Every answer the fake builds
is checked against the spec too (a failure there is a bug of the fake: :class:`FakeAnswerInvalid`).

    fake = FakeCareCloud()
    async with fake.enterprise_client() as cc:           # a CareCloud bound to the fake
        ...
    fake.fail("getCustomers", status=503, times=2, retry_after=1)
    fake.requests("postPurchaseSend")                    # what reached the server
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import httpx

from ._contract import Contract, ContractOperation, RequestParts
from ._schema import Problem
from ._state import (
    CUSTOMER_APPLICATION_ID,
    CUSTOMER_DEVICE_ID,
    DEFAULT_ENTERPRISE_USER,
    Call,
    FakeState,
    Refusal,
    error_body,
)

if TYPE_CHECKING:
    from .._client import CustomerCareCloud, EnterpriseCareCloud

__all__ = [
    "DEFAULT_ENTERPRISE_USER",
    "FakeAnswerInvalid",
    "FakeCareCloud",
    "FakeTransport",
    "Hold",
    "ReceivedRequest",
    "RequestCounts",
    "RequestFilter",
    "SpecViolation",
]

_BASE = re.compile(r"^(?:.*?)/webservice/rest-api/(enterprise|customer)-interface/(v[0-9.]+)(/.*)?$")


class SpecViolation(AssertionError):
    """A request broke the spec: the operation (or route) and every field at fault are named.

    An ``AssertionError``, so that pytest reports it as the test's failure wherever it is raised.
    """

    def __init__(self, operation: str, problems: list[Problem]) -> None:
        self.operation = operation
        self.problems = problems
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"{operation}: request breaks the CareCloud spec: {listed}")


class FakeAnswerInvalid(AssertionError):
    """An answer the fake built does not fit the spec (a bug of the fake, not of the caller)."""


class ConnectionReset(Exception):
    """Raised by :meth:`FakeCareCloud.handle` to drop the connection without an answer."""


@dataclass(frozen=True)
class ReceivedRequest:
    """One request that reached the fake: its operation, parts and what was answered.

    ``path`` is the request's own path after the API's base (``/customers/8bed99...``), ``route``
    the spec path it matched (``/customers/{customer_id}``; None when no operation matched, and
    then ``path`` is the whole URL path). ``json`` is the decoded body (None without one);
    ``query`` holds the query parameters as the spec types them. Headers are kept without
    ``Authorization`` (tokens stay out of test output); ``login`` names the Enterprise user whose
    bearer token was sent (None otherwise). ``status`` and ``answer`` (the JSON body answered) are
    None until the fake answers, and stay None for a connection it reset. ``arrived`` and
    ``answered`` are ``time.monotonic()`` readings: when the request reached the fake and when
    it was answered or reset (None while it is being answered).

    ``number`` counts the fake's requests from 1; every answer names it in its ``x-fake-request``
    header, so :meth:`FakeCareCloud.request_for` finds the request an answer (cached or not) was
    made for. Once answered, ``customer_id`` is the customer the Customer API session was logged in
    as when the fake answered (None: nobody, or the Enterprise API) and ``token_id`` that session's
    device token (kept out of the repr, and so is ``path``, which holds it on the Customer API's
    ``/tokens/{token_id}/...`` routes: ``route`` shows the template).
    """

    operation_id: str | None
    method: str
    path: str = field(repr=False)
    interface: str
    query: dict[str, Any]
    json: Any = field(repr=False)  # may hold passwords
    headers: dict[str, str] = field(repr=False)
    status: int | None = None
    route: str | None = None
    login: str | None = None
    answer: Any = field(default=None, repr=False)
    arrived: float = field(default=0.0, repr=False)
    answered: float | None = field(default=None, repr=False)
    number: int = 0
    customer_id: str | None = None
    token_id: str | None = field(default=None, repr=False)

    @property
    def invalid_params(self) -> list[tuple[str, str]]:
        """``(name, reason)`` of each parameter a 400 answer named (``[("bill_id", "already_exists")]``)."""
        if not isinstance(self.answer, dict):
            return []
        error = self.answer.get("error")
        data = error.get("error_data") if isinstance(error, dict) else None
        params = data.get("invalid_params") if isinstance(data, dict) else None
        return [(str(p.get("name")), str(p.get("reason"))) for p in params or () if isinstance(p, dict)]


@dataclass(frozen=True)
class RequestCounts:
    """What reached the fake since it started or since :meth:`FakeCareCloud.clear_requests`.

    ``operations`` counts requests by operation id and ``methods`` by HTTP method, whatever the
    answer; ``statuses`` counts the answers by status (a 429 of :meth:`FakeCareCloud.rate_limit`
    too). ``enterprise_logins`` and ``device_tokens`` count the Enterprise bearer tokens and the
    Customer API device tokens the fake issued (a refused login is not one).

        counts = fake.counts()
        assert counts.enterprise_logins == 1 and counts.methods["GET"] == 3
    """

    operations: dict[str, int]
    methods: dict[str, int]
    statuses: dict[int, int]
    enterprise_logins: int
    device_tokens: int

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON-ready data (the loopback server's ``GET /__fake/counts`` answers it)."""
        return {
            "operations": dict(self.operations),
            "methods": dict(self.methods),
            "statuses": {str(status): n for status, n in self.statuses.items()},
            "enterprise_logins": self.enterprise_logins,
            "device_tokens": self.device_tokens,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestCounts:
        """The counts back from :meth:`as_json` (another process reading the loopback server's)."""
        return cls(
            operations={str(k): int(v) for k, v in data["operations"].items()},
            methods={str(k): int(v) for k, v in data["methods"].items()},
            statuses={int(k): int(v) for k, v in data["statuses"].items()},
            enterprise_logins=int(data["enterprise_logins"]),
            device_tokens=int(data["device_tokens"]),
        )


class Hold:
    """The next request of an operation, stopped once it has arrived (:meth:`FakeCareCloud.hold`):
    the server has it and has applied nothing yet, until :meth:`release`.

        held = fake.hold("postTokenLogout")
        logout = asyncio.create_task(kiosk.logout_customer())
        await held.arrived.wait()      # the logout is at the server, not applied
        ...                            # what a request sent now is answered
        held.release()
        await logout
    """

    def __init__(self) -> None:
        #: set once the request has arrived and is held
        self.arrived = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        """Let the held request (or the next one, if none arrived yet) be applied and answered."""
        self._released.set()

    async def _wait(self) -> None:
        self.arrived.set()
        await self._released.wait()


#: A predicate choosing the requests a planned fault applies to (see :meth:`FakeCareCloud.fail`).
RequestFilter = Callable[[ReceivedRequest], bool]


@dataclass(eq=False)  # a plan is used up by identity: two alike are two
class _Plan:
    """One planned fault: an answer (``status``), a reset, or a delay (``seconds``)."""

    kind: str  # "fail", "reset" or "slow"
    times: int | None  # None: until clear_faults()
    status: int = 0
    retry_after: float | str | None = None
    body: Any = None
    after_record: bool = False
    seconds: float = 0.0
    when: RequestFilter | None = None


class FakeCareCloud(FakeState):
    """A stateful, spec-validating CareCloud for tests (both APIs, any project URL).

    ``time_zone``: the project's zone (``valid_to`` and ``last_change`` are local, no offset).
    ``token_lifetime``: how long an Enterprise bearer token lives (CareCloud's default 7 hours).
    ``logout_delay``: seconds after a Customer API logout arrives before the server applies it.
    ``point_value``: money value of one loyalty point (accept-payment's ``price_of_credit_points``).
    ``raise_on_violation``: raise :class:`SpecViolation` in the caller (in-process only); off, the
    fake answers 400 as a strict server would. ``seed`` makes generated ids repeatable.

        fake = FakeCareCloud(time_zone="Europe/Prague", logout_delay=0.5)
    """

    def __init__(
        self,
        *,
        time_zone: str | tzinfo = "UTC",
        token_lifetime: float = 7 * 3600,
        logout_delay: float = 0.0,
        point_value: float = 1.0,
        raise_on_violation: bool = True,
        check_answers: bool = True,
        seed: int | None = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            time_zone=time_zone,
            token_lifetime=token_lifetime,
            logout_delay=logout_delay,
            point_value=point_value,
            seed=seed,
            clock=clock,
        )
        self.contract = Contract.load()
        self.raise_on_violation = raise_on_violation
        self.check_answers = check_answers
        self.violations: list[SpecViolation] = []
        self.received: list[ReceivedRequest] = []
        self._numbers = itertools.count(1)
        self._plans: dict[str, list[_Plan]] = {}
        self._slow: dict[str, float] = {}
        self._holds: dict[str, Hold] = {}
        self._rate: tuple[int, float] | None = None
        self._recent: collections.deque[float] = collections.deque()
        self._in_flight: collections.Counter[str] = collections.Counter()
        #: the most requests of each operation the fake was handling at once (answers overlap
        #: only while one is slowed down: :meth:`slow`)
        self.max_in_flight: collections.Counter[str] = collections.Counter()
        self._cache_control: dict[str, str] = {}

    # ------------------------------------------------------------------ control

    def fail(
        self,
        operation: str,
        status: int = 503,
        *,
        times: int | None = 1,
        retry_after: float | str | None = None,
        body: Any = None,
        when: RequestFilter | None = None,
    ) -> None:
        """Answer the next ``times`` requests of ``operation`` (an operation id, or ``"*"`` for
        any) with ``status`` before anything is recorded, with ``Retry-After`` if given and
        ``body`` (JSON) if given. ``when`` limits it to the requests it returns True for (the
        others pass by); ``times=None`` keeps it until :meth:`clear_faults`.

            fake.fail("getCustomers", status=503, times=2, retry_after=1)
            fake.fail("postPurchaseSend", 400, times=None, body=refusal,
                      when=lambda request: request.json["bill"]["bill_id"] == "BAD-1")
        """
        plan = _Plan("fail", _times(times), status=status, retry_after=retry_after, body=body, when=when)
        self._plan(operation, plan)

    def reset_connection(
        self, operation: str, *, after_record: bool = False, times: int | None = 1, when: RequestFilter | None = None
    ) -> None:
        """Drop the connection of the next ``times`` requests of ``operation`` without an answer:
        before the server applies the request, or (``after_record=True``) after it did, so that a
        retry meets its own first attempt. ``when`` and ``times=None`` as for :meth:`fail`.

            fake.reset_connection("postPurchaseSend", after_record=True)
        """
        self._plan(operation, _Plan("reset", _times(times), after_record=after_record, when=when))

    def slow(
        self,
        operation: str = "*",
        seconds: float = 0.1,
        *,
        times: int | None = None,
        after_record: bool = False,
        when: RequestFilter | None = None,
    ) -> None:
        """Delay every answer to ``operation`` (``"*"``: all) by ``seconds``; 0 removes the delay.

        With ``times``, only the next ``times`` requests are delayed, once each, on top of any
        standing delay: before the server applies the request, or (``after_record=True``) after
        it did, so that a client that stops waiting does not know the request landed.

            fake.slow("postPurchaseSend", 0.02)                                 # every answer
            fake.slow("postPurchaseSend", 3.0, times=1, after_record=True)     # one late answer
        """
        if times is not None or when is not None:
            self._plan(operation, _Plan("slow", _times(times), seconds=seconds, after_record=after_record, when=when))
        elif seconds <= 0:
            self._slow.pop(self._known(operation), None)
        else:
            self._slow[self._known(operation)] = seconds

    def clear_faults(self) -> None:
        """Forget every planned :meth:`fail`, :meth:`reset_connection` and one-off :meth:`slow`
        not used up yet (standing delays and the rate limit stay)."""
        self._plans.clear()

    def hold(self, operation: str) -> Hold:
        """Stop the next request of ``operation`` once it has arrived (after any standing
        :meth:`slow` delay, before any planned fault), before the server applies or reads
        anything, until the returned :class:`Hold` is released; for tests of what races a login,
        a logout or a write.
        In-process or on the loopback server of this event loop.

            held = fake.hold("postTokenLogout")
        """
        hold = Hold()
        self._holds[self._known(operation)] = hold
        return hold

    def _plan(self, operation: str, plan: _Plan) -> None:
        self._plans.setdefault(self._known(operation), []).append(plan)

    def rate_limit(self, requests_per_second: int | None, *, retry_after: float = 1) -> None:
        """Answer 429 with ``Retry-After`` to requests beyond ``requests_per_second`` in the last
        second (real time, all operations together); None lifts the limit.

            fake.rate_limit(100)
        """
        self._rate = None if requests_per_second is None else (requests_per_second, retry_after)
        self._recent.clear()

    def cache_control(self, route: str, value: str | None) -> None:
        """Send ``Cache-Control: value`` with every successful answer of ``route``: an operation
        id, a spec path (``/customers/{customer_id}``, any method) or ``"*"``. None removes it.

            fake.cache_control("getCustomer", "max-age=60")
        """
        if route != "*" and not route.startswith("/"):
            self._known(route)
        if value is None:
            self._cache_control.pop(route, None)
        else:
            self._cache_control[route] = value

    def requests(self, operation: str | None = None) -> list[ReceivedRequest]:
        """The requests received (of ``operation`` only, if given), oldest first.

        sent = fake.requests("postPurchaseSend")
        sent[-1].status, sent[-1].json
        """
        if operation is None:
            return list(self.received)
        self._known(operation)
        return [r for r in self.received if r.operation_id == operation]

    def request_for(self, response: httpx.Response) -> ReceivedRequest | None:
        """The request ``response`` answers (by its ``x-fake-request`` header): for an answer
        served from a cache too, the request the fake made it for, with whom it answered as.
        None if the answer is not the fake's or its request was cleared.

            made_for = fake.request_for(response)
            assert made_for.customer_id == jane["customer_id"]
        """
        number = response.headers.get("x-fake-request")
        if number is None or not number.isdigit():
            return None
        return next((r for r in self.received if r.number == int(number)), None)

    def counts(self) -> RequestCounts:
        """How many requests reached the fake, by operation, method and answer status, and the
        Enterprise logins and device tokens it issued (see :class:`RequestCounts`)."""
        operations: collections.Counter[str] = collections.Counter()
        methods: collections.Counter[str] = collections.Counter()
        statuses: collections.Counter[int] = collections.Counter()
        issued: collections.Counter[str | None] = collections.Counter()  # successful answers, by operation
        for record in self.received:
            methods[record.method] += 1
            if record.operation_id is not None:
                operations[record.operation_id] += 1
            if record.status is not None:
                statuses[record.status] += 1
                if record.status < 300:
                    issued[record.operation_id] += 1
        return RequestCounts(
            dict(operations), dict(methods), dict(statuses), issued["postUserLogin"], issued["postToken"]
        )

    def clear_requests(self) -> None:
        """Forget the requests received (:meth:`requests`, :meth:`counts`), e.g. between rounds of
        a benchmark; records, tokens and sessions stay. A request being answered meanwhile is not
        counted afterwards."""
        self.received = []
        self._recent.clear()

    def in_flight(self, operation: str | None = None) -> int:
        """Requests (of ``operation`` only, if given) that reached the fake and are not answered yet."""
        if operation is None:
            return sum(self._in_flight.values())
        return self._in_flight[self._known(operation)]

    def overlapping(self, operation: str, key: Callable[[ReceivedRequest], Hashable]) -> list[ReceivedRequest]:
        """The requests of ``operation`` that arrived while another one with the same ``key`` was
        still being answered, oldest first (requests overlap only while one is slowed down).

            fake.overlapping("postPurchaseSend", lambda r: r.json["bill"]["bill_id"])   # one bill twice at once
        """
        busy_until: dict[Hashable, float] = {}
        found = []
        for request in self.requests(operation):
            mark = key(request)
            if mark in busy_until and busy_until[mark] > request.arrived:
                found.append(request)
            end = math.inf if request.answered is None else request.answered
            busy_until[mark] = max(busy_until.get(mark, -math.inf), end)
        return found

    def _known(self, operation: str) -> str:
        if operation != "*":
            self.contract.operation(operation)  # KeyError naming close ids for a typo
        return operation

    # ------------------------------------------------------------------ clients

    def transport(self) -> FakeTransport:
        """An ``httpx.AsyncBaseTransport`` answering from this fake (no sockets)."""
        return FakeTransport(self)

    def enterprise_client(self, project_url: str = "fake.carecloud.test", **options: Any) -> EnterpriseCareCloud:
        """A :class:`~carecloud_async.CareCloud` for the Enterprise API, logged in as the default
        user and bound to this fake in-process (``options`` go to ``CareCloud.enterprise``)."""
        from .._client import CareCloud

        login, password, app = DEFAULT_ENTERPRISE_USER
        options.setdefault("user_external_application_id", app)
        options.setdefault("login", login)
        options.setdefault("password", password)
        options.setdefault("time_zone", self.time_zone)
        return CareCloud.enterprise(project_url, transport=self.transport(), **options)

    def customer_client(self, project_url: str = "fake.carecloud.test", **options: Any) -> CustomerCareCloud:
        """A :class:`~carecloud_async.CareCloud` for the Customer API as one device, bound to this
        fake in-process; pass ``credentials=CustomerCredentials(...)`` to log a customer in."""
        from .._client import CareCloud
        from .._customer_auth import Device

        options.setdefault("external_application_id", CUSTOMER_APPLICATION_ID)
        options.setdefault("device", Device(CUSTOMER_DEVICE_ID, "Linux", "Fake device", "test"))
        return CareCloud.customer(project_url, transport=self.transport(), **options)

    # ------------------------------------------------------------------ serving

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (the transport and the loopback server both call this).

        Raises :class:`SpecViolation` for a request that breaks the spec (when
        ``raise_on_violation``) and :class:`ConnectionReset` where a reset was asked for.
        """
        url = request.url
        matched = _BASE.match(url.path)
        content = await request.aread()
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
        if matched is None:
            return self._violation(
                None, request, "", headers, [Problem("url", "not_found", f"{url.path} is not a CareCloud API path")]
            )
        interface, _, spec_path = matched.group(1), matched.group(2), matched.group(3) or "/"
        operation, path_params, other_method = self.contract.route(request.method, spec_path)
        if operation is None:
            reason = "the path exists, but not for this method" if other_method else "no such path in the spec"
            return self._violation(
                None,
                request,
                interface,
                headers,
                [Problem("url", "not_found", f"{request.method} {spec_path}: {reason}")],
            )
        op_id = operation.operation_id
        parts, problems = self.contract.check_request(
            operation, url.query.decode("ascii"), request.headers, content, dict(path_params)
        )
        record = ReceivedRequest(
            op_id,
            request.method,
            spec_path,
            interface,
            parts.query,
            parts.body,
            headers,
            route=operation.path,
            login=self._login_of(request, interface),
            arrived=time.monotonic(),
            number=next(self._numbers),
        )
        self.received.append(record)
        return await self._respond(operation, parts, problems, request, record)

    async def _respond(
        self,
        operation: ContractOperation,
        parts: RequestParts,
        problems: list[Problem],
        request: httpx.Request,
        record: ReceivedRequest,
    ) -> httpx.Response:
        """Answer a request that names an operation (kept in ``received`` as ``record``)."""
        op_id, interface, headers = operation.operation_id, record.interface, record.headers
        index = len(self.received) - 1
        self._in_flight[op_id] += 1
        self.max_in_flight[op_id] = max(self.max_in_flight[op_id], self._in_flight[op_id])
        status: int | None = None
        answer: Any = None
        customer_id: str | None = None
        token_id: str | None = None
        try:
            delay = self._slow.get(op_id, self._slow.get("*", 0.0))
            if delay:
                await asyncio.sleep(delay)
            hold = self._holds.pop(op_id, None)
            if hold is not None:
                await hold._wait()
            plan = self._take_plan(op_id, record)
            response = self._rate_limited() if plan is None else None
            if plan is not None and plan.kind == "fail":
                response, answer = _failure_response(plan)
            if response is None:
                if plan is not None and not plan.after_record:
                    if plan.kind == "reset":
                        raise ConnectionReset(op_id)
                    await asyncio.sleep(plan.seconds)
                if interface not in operation.interfaces:
                    only = " and ".join(f"{name.capitalize()} API" for name in operation.interfaces)
                    problems.append(Problem("interface", "not_allowed", f"available only in the {only}"))
                if problems:
                    status = 400
                    response = self._violation(
                        operation, request, interface, headers, problems, recorded=True, number=record.number
                    )
                    answer = _json_of(response)
                else:
                    response, answer, customer_id, token_id = self._answer(operation, parts, interface, request)
                if plan is not None and plan.after_record:
                    if plan.kind == "reset":
                        raise ConnectionReset(op_id)
                    await asyncio.sleep(plan.seconds)
            status = response.status_code
            response.headers["x-fake-request"] = str(record.number)
            return response
        finally:
            self._in_flight[op_id] -= 1
            # cleared meanwhile (clear_requests): the record is gone, and stays so
            if index < len(self.received) and self.received[index] is record:
                self.received[index] = dataclasses.replace(
                    record,
                    status=status,
                    answer=answer,
                    answered=time.monotonic(),
                    customer_id=customer_id,
                    token_id=token_id,
                )

    def _login_of(self, request: httpx.Request, interface: str) -> str | None:
        if interface != "enterprise":
            return None
        header = request.headers.get("authorization", "")
        found = self.bearer_tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        return None if found is None else found[0]

    def _violation(
        self,
        operation: ContractOperation | None,
        request: httpx.Request,
        interface: str,
        headers: dict[str, str],
        problems: list[Problem],
        *,
        recorded: bool = False,
        number: int | None = None,
    ) -> httpx.Response:
        label = operation.operation_id if operation else f"{request.method} {request.url.path}"
        violation = SpecViolation(label, problems)
        self.violations.append(violation)
        if number is None:
            number = next(self._numbers)
        if not recorded:
            now = time.monotonic()
            self.received.append(
                ReceivedRequest(
                    None,
                    request.method,
                    request.url.path,
                    interface,
                    {},
                    None,
                    headers,
                    400,
                    arrived=now,
                    answered=now,
                    number=number,
                )
            )
        if self.raise_on_violation:
            raise violation
        params = [{"name": p.field, "reason": p.reason, "message": p.message} for p in problems]
        body = error_body("Bad Request", str(violation), {"invalid_params": params})
        return httpx.Response(400, json=body, headers={"x-fake-violation": label, "x-fake-request": str(number)})

    def _rate_limited(self) -> httpx.Response | None:
        if self._rate is None:
            return None
        limit, retry_after = self._rate
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1:
            self._recent.popleft()
        if len(self._recent) >= limit:
            return httpx.Response(429, headers={"Retry-After": f"{retry_after:g}"})
        self._recent.append(now)
        return None

    def _take_plan(self, op_id: str, record: ReceivedRequest) -> _Plan | None:
        """The oldest planned fault for this request (its operation's first, then ``"*"``), used up."""
        for key in (op_id, "*"):
            queue = self._plans.get(key)
            for plan in queue or ():
                if plan.when is not None and not plan.when(record):
                    continue
                if plan.times is not None:
                    plan.times -= 1
                    if plan.times <= 0:
                        queue.remove(plan)  # type: ignore[union-attr]
                return plan
        return None

    def _answer(
        self, operation: ContractOperation, parts: RequestParts, interface: str, request: httpx.Request
    ) -> tuple[httpx.Response, Any, str | None, str | None]:
        """The answer and its JSON body, and whom it was made for (customer and device token)."""
        from ._resources import HANDLERS

        customer_id: str | None = None
        token_id: str | None = None
        try:
            if operation.auth:
                customer_id, token_id = self._authorize(request, interface)
            if interface == "customer":
                self._guard_customer(parts, customer_id)
            handler = HANDLERS.get(operation.operation_id)
            if handler is None:
                status, body = operation.example["status"], operation.example["body"]
            else:
                status, body = handler(Call(self, operation, parts, interface, customer_id, token_id))
        except Refusal as refusal:
            status, body = refusal.status, refusal.body
        if self.check_answers:
            problems = self.contract.check_answer(operation, status, body)
            if problems:
                raise FakeAnswerInvalid(
                    f"{operation.operation_id}: the fake's {status} answer breaks the spec: "
                    + "; ".join(map(str, problems))
                )
        headers: dict[str, str] = {}
        if status < 300:
            for route in (operation.operation_id, operation.path, "*"):
                if route in self._cache_control:
                    headers["Cache-Control"] = self._cache_control[route]
                    break
        if body is None:
            return httpx.Response(status, headers=headers), None, customer_id, token_id
        return httpx.Response(status, json=body, headers=headers), body, customer_id, token_id

    def _authorize(self, request: httpx.Request, interface: str) -> tuple[str | None, str | None]:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        unauthorized = Refusal(401, error_body("Unauthorized", "Missing, invalid or expired token", {}))
        if interface == "enterprise":
            found = self.bearer_tokens.get(token)
            if found is None or self.now() >= found[1]:
                raise unauthorized
            return None, None
        session = self.session(token)
        if session is None:
            raise unauthorized
        return session.customer_id, session.token_id

    def _guard_customer(self, parts: RequestParts, customer_id: str | None) -> None:
        # The Customer API serves one customer's data: another customer's id is refused.
        named = parts.path.get("customer_id") or parts.query.get("customer_id")
        if named is not None and named != customer_id:
            raise Refusal(
                403,
                {
                    "error": {
                        "type": "about:blank",
                        "title": "Forbidden",
                        "detail": "The token is not logged in as this customer",
                        "error_data": {"interface": "customer-interface", "invalid_resource_name": "customers"},
                    }
                },
            )


def _times(times: int | None) -> int | None:
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise ValueError(f"times must be a whole number >= 1 or None, not {times!r}")
    return times


def _failure_response(plan: _Plan) -> tuple[httpx.Response, Any]:
    headers = {} if plan.retry_after is None else {"Retry-After": str(plan.retry_after)}
    if plan.body is None:
        return httpx.Response(plan.status, headers=headers), None
    return httpx.Response(plan.status, json=plan.body, headers=headers), plan.body


def _json_of(response: httpx.Response) -> Any:
    return json.loads(response.content) if response.content else None


class FakeTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` answering from a :class:`FakeCareCloud` in-process.

    async with httpx.AsyncClient(transport=fake.transport()) as http: ...
    CareCloud.enterprise(..., transport=fake.transport())
    """

    def __init__(self, fake: FakeCareCloud) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.fake.handle(request)
        except ConnectionReset:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
