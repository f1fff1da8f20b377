"""The store protocol: what an outbox needs from a database. One module per backend
(:mod:`._sqlite`, :mod:`._postgres`); the decisions live in :mod:`._schedule` and
:class:`~carecloud_async.outbox.Outbox`, so a store only keeps rows and hands them out safely.

Every method raises :class:`~carecloud_async.outbox.OutboxStoreError` (naming the file or
database, never a password) when the database cannot be used.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, runtime_checkable

from ._records import NewPurchase, OutboxRecord, SendError, State


@runtime_checkable
class OutboxStore(Protocol):
    """Durable rows of purchases, keyed by ``bill_id``, ordered by ``seq``.

    ``claim`` is the one delicate method: it hands out at most one purchase per store / cash desk
    (the oldest open one, ``pending`` and due, or ``sending`` with an expired lease), marks it
    ``sending`` with a lease and a token, and never hands one purchase to two callers at once,
    whichever process they run in.

        store = SQLiteStore("outbox.sqlite3")
        await store.open()
        record, created = await store.add(NewPurchase.from_body(body), now=time.time())
    """

    #: The file or database, as shown in errors and tables (no password).
    location: str

    async def open(self) -> None:
        """Connect, create the schema on first use, check its version."""
        ...

    async def close(self) -> None:
        """Disconnect (idempotent)."""
        ...

    async def add(self, purchase: NewPurchase, *, now: float) -> tuple[OutboxRecord, bool]:
        """Store a purchase as ``pending`` and due now, committed before returning; if its
        ``bill_id`` is stored already, the stored record and False."""
        ...

    async def get(self, bill_id: str) -> OutboxRecord | None:
        """The record of ``bill_id``, or None."""
        ...

    async def cancellation_of(self, bill_id: str) -> OutboxRecord | None:
        """The record that cancels ``bill_id`` (its ``cancels_bill_id``), or None."""
        ...

    async def records(self, states: Collection[State] | None = None, *, limit: int | None = None) -> list[OutboxRecord]:
        """Records in ``seq`` order, of ``states`` (all when None): committed ones only."""
        ...

    async def counts(self) -> dict[State, int]:
        """How many records are in each state."""
        ...

    async def claim(self, *, now: float, lease_until: float, token: str, limit: int) -> list[OutboxRecord]:
        """Take up to ``limit`` due lane heads: ``sending``, ``attempts + 1``, the lease and token set."""
        ...

    async def next_due(self) -> float | None:
        """When the earliest lane head is due (its ``next_attempt_at``, or its lease's end)."""
        ...

    async def mark_sent(self, bill_id: str, *, purchase_id: str | None, already_recorded: bool, now: float) -> None:
        """``sent``, whoever holds the lease (CareCloud has it: that is the truth)."""
        ...

    async def mark_failed(
        self,
        bill_id: str,
        *,
        token: str,
        state: State,
        next_attempt_at: float | None,
        error: SendError,
        now: float,
    ) -> bool:
        """``pending`` (due at ``next_attempt_at``) or ``manual``, with ``error``; only while the
        caller's lease ``token`` holds (False when another sender took the purchase meanwhile)."""
        ...

    async def release(self, bill_id: str, *, token: str, now: float) -> bool:
        """Give back a claimed purchase unsent (a sender stopping): ``pending``, due now, the
        attempt not counted."""
        ...

    async def retry_now(self, bill_id: str, *, now: float) -> OutboxRecord | None:
        """A ``manual`` record back to ``pending``, due now, attempts reset, committed before
        returning (never inside another caller's open transaction); None if not manual."""
        ...

    async def discard(self, bill_id: str, *, reason: str, now: float) -> OutboxRecord | None:
        """A ``manual`` record to ``discarded`` with ``reason``, committed before returning (never
        inside another caller's open transaction); None if not manual."""
        ...
