"""The records an outbox keeps: one per bill, its state, attempts and last error.

A record moves ``pending`` → ``sending`` → ``sent``; a failed attempt puts it back to ``pending``
with a later ``next_attempt_at``, or to ``manual`` when resending cannot help (the schedule is
exhausted, or the server refused the bill itself). A manual record is retried (back to
``pending``) or discarded (``discarded``, with a reason) by a person.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from carecloud_api.models.post_purchase_send_body import PostPurchaseSendBody

from .._errors import InvalidParam


class State(str, Enum):
    """Where a purchase is on its way to CareCloud."""

    #: Stored, waiting for its next attempt (``next_attempt_at``).
    PENDING = "pending"
    #: Claimed by a sender, which holds a lease until ``lease_until``.
    SENDING = "sending"
    #: CareCloud has it (``purchase_id``; None when it answered ``already_exists`` on ``bill_id``).
    SENT = "sent"
    #: Resending cannot help without a person: retry it now or discard it.
    MANUAL = "manual"
    #: A person discarded it from manual transfer (``discard_reason``); kept for the record.
    DISCARDED = "discarded"


#: States a sender still has work for.
OPEN_STATES: tuple[State, ...] = (State.PENDING, State.SENDING)

ErrorKind = Literal[
    "invalid", "rate_limited", "unavailable", "server", "refused", "network", "timeout", "lost", "unexpected"
]


@dataclass(frozen=True)
class SendError:
    """Why the last attempt failed (typed; never a secret: no token, no header, no value sent).

    ``kind``: ``invalid`` (400 about the bill: goes to manual at once), ``rate_limited`` (429),
    ``unavailable`` (503), ``server`` (other 5xx), ``refused`` (other 4xx, e.g. 401/403),
    ``network`` (no answer), ``timeout`` (the outcome is unknown: resent), ``lost`` (the sender
    stopped during the attempt: outcome unknown, resent), ``unexpected`` (any other exception).

    >>> SendError("unavailable", "503 Service Unavailable", status_code=503).summary()
    'unavailable 503'
    """

    kind: ErrorKind
    message: str
    status_code: int | None = None
    error_code: str | None = None
    invalid_params: tuple[InvalidParam, ...] = ()
    retry_after: float | None = None

    def summary(self) -> str:
        """A short form for tables: kind, status and the first invalid param."""
        text = self.kind if self.status_code is None else f"{self.kind} {self.status_code}"
        if self.invalid_params:
            text += f" {self.invalid_params[0]}"
        return text

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "message": self.message,
                "status_code": self.status_code,
                "error_code": self.error_code,
                "invalid_params": [
                    {"name": p.name, "reason": p.reason, "message": p.message} for p in self.invalid_params
                ],
                "retry_after": self.retry_after,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SendError:
        data = json.loads(text)
        return cls(
            kind=data["kind"],
            message=data["message"],
            status_code=data.get("status_code"),
            error_code=data.get("error_code"),
            invalid_params=tuple(InvalidParam(**param) for param in data.get("invalid_params") or ()),
            retry_after=data.get("retry_after"),
        )


@dataclass(frozen=True)
class NewPurchase:
    """What :meth:`OutboxStore.add` stores: the send-purchase body as canonical JSON and its keys.

    ``traceparent`` is the W3C trace context of the submit's span (``00-<trace id>-<span id>-<flags>``)
    when the submit was traced, for the send's span to link to (from any process); else None.
    """

    bill_id: str
    store_id: str
    cashdesk_number: int
    body: str
    cancels_bill_id: str | None = None
    traceparent: str | None = None

    @classmethod
    def from_body(
        cls, body: PostPurchaseSendBody, *, cancels_bill_id: str | None = None, traceparent: str | None = None
    ) -> NewPurchase:
        return cls(
            bill_id=body.bill.bill_id,
            store_id=body.store_id,
            cashdesk_number=body.cashdesk_number,
            body=canonical_json(body.to_dict()),
            cancels_bill_id=cancels_bill_id,
            traceparent=traceparent,
        )


def canonical_json(data: Any) -> str:
    """One text per value (sorted keys, no spaces): equal purchases store equal bodies."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class OutboxRecord:
    """One purchase in the outbox. Times are POSIX timestamps (seconds) of the outbox's clock.

    ``seq`` orders submissions; a store / cash desk's purchases are sent in ``seq`` order.
    ``attempts`` counts the attempts started. ``body`` is the send-purchase body as JSON;
    :meth:`send_body` gives it back as the generated model. ``traceparent`` is the submit span's
    W3C trace context when the submit was traced (None otherwise, and for records stored before
    carecloud-async stored it): the send's span links to it.
    """

    seq: int
    bill_id: str
    store_id: str
    cashdesk_number: int
    state: State
    attempts: int
    submitted_at: float
    updated_at: float
    next_attempt_at: float | None = None
    purchase_id: str | None = None
    already_recorded: bool = False
    last_error: SendError | None = None
    discard_reason: str | None = None
    cancels_bill_id: str | None = None
    lease_until: float | None = None
    lease_token: str | None = field(default=None, repr=False)
    body: str = field(default="{}", repr=False)
    traceparent: str | None = field(default=None, repr=False)

    def send_body(self) -> PostPurchaseSendBody:
        """The stored send-purchase body as the generated model."""
        return PostPurchaseSendBody.from_dict(json.loads(self.body))

    @classmethod
    def from_row(cls, row: Any) -> OutboxRecord:
        """A record from a database row of either store (an SQLite ``Row`` or an asyncpg ``Record``:
        both are read by column name)."""
        error = row["last_error"]
        return cls(
            seq=int(row["seq"]),
            bill_id=row["bill_id"],
            store_id=row["store_id"],
            cashdesk_number=int(row["cashdesk_number"]),
            state=State(row["state"]),
            attempts=int(row["attempts"]),
            submitted_at=float(row["submitted_at"]),
            updated_at=float(row["updated_at"]),
            next_attempt_at=row["next_attempt_at"],
            purchase_id=row["purchase_id"],
            already_recorded=bool(row["already_recorded"]),
            last_error=SendError.from_json(error) if error else None,
            discard_reason=row["discard_reason"],
            cancels_bill_id=row["cancels_bill_id"],
            lease_until=row["lease_until"],
            lease_token=row["lease_token"],
            body=row["body"],
            traceparent=row["traceparent"],
        )
