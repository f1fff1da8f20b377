"""The fake's state: records, accounts, tokens and its clock, and what a stateful handler gets.

One floor below :mod:`._fake` (the engine: validation, control, the transport), so that the
handlers (:mod:`._resources`) depend on the state only:

    state = FakeState(time_zone="Europe/Prague")
    state.customers.create(email="jane@example.com")
    state.advance(3600)
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

from ._contract import ContractOperation, RequestParts
from ._records import BalanceRecords, CardRecords, CustomerRecords, Records, StoreRecords

__all__ = ["DEFAULT_ENTERPRISE_USER", "Call", "DeviceSession", "FakeState", "Refusal", "bad_request", "not_found"]

#: The Enterprise user every fake knows (``login``, ``password``, ``user_external_application_id``).
DEFAULT_ENTERPRISE_USER = ("pos@example.com", "fake-password", "fake-app")

#: The Customer API application and device the fake's own clients use (``customer_client``, the
#: loopback server's printed settings); the fake gives a device token to any.
CUSTOMER_APPLICATION_ID = "fake-app"
CUSTOMER_DEVICE_ID = "fake-device-1"


@dataclass
class DeviceSession:
    """A Customer API device token."""

    token_id: str
    device_id: str
    external_application_id: str
    customer_id: str | None = None
    logout_at: float | None = None


class Refusal(Exception):
    """Raised by a handler: answer ``status`` with ``body`` (a CareCloud error body)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def bad_request(name: str, reason: str, message: str = "") -> Refusal:
    """A 400 naming one invalid parameter, as CareCloud words them."""
    param = {"name": name, "reason": reason}
    if message:
        param["message"] = message
    return Refusal(400, error_body("Bad Request", "Invalid parameters", {"invalid_params": [param]}))


def not_found(resource_name: str, resource_id: str) -> Refusal:
    """A 404 for a record the fake does not hold."""
    return Refusal(
        404,
        error_body(
            "Not Found", f"{resource_name} not found", {"resource_name": resource_name, "resource_id": resource_id}
        ),
    )


def error_body(title: str, detail: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "about:blank", "exception": "FakeCareCloud", "title": title, "detail": detail}
    if data is not None:
        error["error_data"] = data
    return {"error": error}


@dataclass
class Call:
    """What a stateful handler gets: the operation, the typed request parts and who is calling."""

    fake: FakeState
    operation: ContractOperation
    parts: RequestParts
    interface: str
    customer_id: str | None  # the logged-in customer of a Customer API token (None if none)
    token_id: str | None

    @property
    def body(self) -> Any:
        return self.parts.body

    @property
    def query(self) -> dict[str, Any]:
        return self.parts.query

    @property
    def path(self) -> dict[str, str]:
        return self.parts.path


class FakeState:
    """The records, accounts and clock of a fake CareCloud (:class:`FakeCareCloud` adds the rest).

    ``time_zone``: the project's zone (``valid_to`` and ``last_change`` are local, no offset).
    ``token_lifetime``: how long an Enterprise bearer token lives (CareCloud's default 7 hours).
    ``logout_delay``: seconds after a Customer API logout arrives before the server applies it.
    ``point_value``: money value of one loyalty point (accept-payment's ``price_of_credit_points``).
    ``seed`` makes generated ids repeatable; ``clock`` is the time source (:meth:`advance` moves it).
    """

    def __init__(
        self,
        *,
        time_zone: str | tzinfo = "UTC",
        token_lifetime: float = 7 * 3600,
        logout_delay: float = 0.0,
        point_value: float = 1.0,
        seed: int | None = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.time_zone = _zone(time_zone)
        self.token_lifetime = token_lifetime
        self.logout_delay = logout_delay
        self.point_value = point_value
        self._clock = clock
        self._clock_offset = 0.0
        self._random = random.Random(seed)  # noqa: S311 (ids for tests, not secrets)
        stamp = self.last_change_now
        self.customers = CustomerRecords(self.new_id, stamp)
        self.cards = CardRecords(self.new_id, stamp)
        self.stores = StoreRecords("store_id", self.new_id, stamp)
        self.points = BalanceRecords("point", self.new_id, stamp)
        self.credits = BalanceRecords("credit", self.new_id, stamp)
        self.vouchers = Records("voucher_id", self.new_id, stamp)
        self.purchases = Records("purchase_id", self.new_id, stamp)
        self.events = Records("event_id", self.new_id, stamp)
        self.source_records = Records("customer_source_record_id", self.new_id, stamp)
        self.property_records = Records("property_record_id", self.new_id, stamp)
        self.interest_records = Records("interest_record_id", self.new_id, stamp)
        self._purchase_of_bill: dict[str, str] = {}
        #: accept-payment answers by ``bill_id`` (send-purchase checks its recap against them)
        self.accepted_payments: dict[str, dict[str, Any]] = {}
        self.users: dict[str, tuple[str, str]] = {DEFAULT_ENTERPRISE_USER[0]: DEFAULT_ENTERPRISE_USER[1:]}
        self.bearer_tokens: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, DeviceSession] = {}

    # ------------------------------------------------------------------ time and ids

    def now(self) -> float:
        """The fake's clock (epoch seconds): the real one plus :meth:`advance`."""
        return self._clock() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (tokens expire, delayed logouts apply) without waiting."""
        self._clock_offset += seconds

    def local_time(self, epoch: float | None = None) -> str:
        """``YYYY-MM-DD HH:MM:SS`` in the project's zone (CareCloud's format: one-second resolution)."""
        moment = datetime.fromtimestamp(self.now() if epoch is None else epoch, self.time_zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def last_change_now(self) -> str:
        """The ``last_change`` a write made now gets."""
        return self.local_time()

    def new_id(self) -> str:
        """A new record id (26 hex digits, like CareCloud's)."""
        return f"{self._random.getrandbits(104):026x}"

    # ------------------------------------------------------------------ purchases

    def sent_purchases(self) -> dict[str, str]:
        """``bill_id`` -> ``purchase_id`` of every purchase send-purchase recorded (each ``bill_id``
        once: a second send of it is refused ``already_exists``), in the order recorded.

            assert list(fake.sent_purchases()) == ["B-1", "B-2"]
        """
        return {bill: pid for bill, pid in self._purchase_of_bill.items() if pid in self.purchases}

    def purchase_of_bill(self, bill_id: str) -> dict[str, Any] | None:
        """The purchase send-purchase recorded for ``bill_id`` (as ``GET /purchases/{id}`` answers
        it, with the ``bill`` as sent), or None."""
        purchase_id = self._purchase_of_bill.get(bill_id)
        found = None if purchase_id is None else self.purchases.get(purchase_id)
        if found is None:
            return None
        record = {k: v for k, v in found.items() if not k.startswith("_")}
        record["bill"] = copy.deepcopy(found["_bill"])
        return record

    def record_purchase(self, bill_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``record`` as the purchase of ``bill_id`` and return it; None if ``bill_id`` was
        recorded before (send-purchase's uniqueness rule)."""
        if self._purchase_of_bill.get(bill_id) in self.purchases:
            return None
        purchase = self.purchases.add(record)
        self._purchase_of_bill[bill_id] = purchase["purchase_id"]
        return purchase

    # ------------------------------------------------------------------ accounts

    def add_user(self, login: str, password: str, user_external_application_id: str = "fake-app") -> None:
        """An Enterprise API user who can log in (``POST /users/actions/login``)."""
        self.users[login] = (password, user_external_application_id)

    def expire_tokens(self) -> None:
        """End every Enterprise bearer token now: the next request with one is answered 401."""
        for token, (login, _) in list(self.bearer_tokens.items()):
            self.bearer_tokens[token] = (login, self.now() - 1)

    def session(self, token_id: str) -> DeviceSession | None:
        """The Customer API device token ``token_id`` (with its logged-in customer), or None."""
        found = self.sessions.get(token_id)
        if found is not None and found.logout_at is not None and self.now() >= found.logout_at:
            found.customer_id, found.logout_at = None, None
        return found


def _zone(value: str | tzinfo) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    if value.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(value)
