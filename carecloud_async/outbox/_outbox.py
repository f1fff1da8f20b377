"""``Outbox``: paid purchases stored durably first, sent to CareCloud later, exactly once in effect.

    async with Outbox("outbox.sqlite3") as outbox, CareCloud.from_env() as cc:
        async with outbox.running(cc):               # the sender, in this event loop
            record = await outbox.submit(body)       # returns once the purchase is on disk
            ...                                      # the application goes on serving

``submit`` commits the send-purchase body under its ``bill.bill_id`` and returns; the sender
sends due purchases through ``cc.call`` (auth, retries, typed errors apply), oldest first per
store / cash desk, and records the outcome with the decisions of :mod:`._schedule`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from carecloud_api.api.purchases import post_purchase_send
from carecloud_api.models.post_purchase_send_body import PostPurchaseSendBody

from .._client import CareCloud
from .._errors import ConfigurationError, RequestValidationError
from .._observe import observed_send, observed_send_pass, observed_submit
from ..workflows._checks import require_text, require_whole
from ..workflows.purchases import cancelling_bill
from ._errors import BillIdConflict, NotCancellable, NotInManual, OutboxStoreError, RecordNotFound
from ._records import OPEN_STATES, NewPurchase, OutboxRecord, SendError, State
from ._schedule import Retry, Schedule, Sent, after_failure, classify, lost_on_claim, pause_after
from ._sendable import sendable_body, unsendable
from ._store import OutboxStore

__all__ = ["Clock", "Outbox", "PassSummary", "Sender", "open_store"]

logger = logging.getLogger("carecloud_async.outbox")

#: Seconds since the epoch, like ``time.time`` (the default): inject another one in tests.
Clock = Callable[[], float]


#: URL prefixes that name a PostgreSQL outbox (anything else is an SQLite file path).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | os.PathLike[str] | OutboxStore, *, create: bool = True) -> OutboxStore:
    """The store for ``location``: a ``postgresql://`` URL gives a :class:`PostgresStore`, anything
    else is an SQLite file path (:class:`SQLiteStore`); a store is returned as it is.

        store = open_store("postgresql://outbox@db.internal/pos")
    """
    if isinstance(location, OutboxStore):
        return location
    text = os.fspath(location)
    if text.startswith(POSTGRES_SCHEMES):
        from ._postgres import PostgresStore

        return PostgresStore(text)
    from ._sqlite import SQLiteStore

    return SQLiteStore(text, create=create)


@dataclass
class PassSummary:
    """What one :meth:`Outbox.send_due` pass did. ``paused_until`` is set when a 429/503 stopped
    it (the sender sends nothing before then)."""

    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    paused_until: float | None = None

    @property
    def attempts(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.manual)


class Outbox:
    """Durable send-purchase outbox (see the module docs and docs/guide/outbox.md).

    ``store`` is an :class:`OutboxStore`, an SQLite file path (the default backend, created on
    first use) or a ``postgresql://`` URL. ``schedule`` sets the interval, attempts and delays;
    ``clock`` gives the time (``time.time`` by default).

        outbox = Outbox("/var/lib/pos/outbox.sqlite3", schedule=Schedule(retry_delay=300))
    """

    def __init__(
        self,
        store: OutboxStore | str | os.PathLike[str],
        *,
        schedule: Schedule | None = None,
        clock: Clock = time.time,
    ):
        self.store = open_store(store)
        self.schedule = schedule or Schedule()
        self.clock = clock
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._senders: set[Sender] = set()

    def __repr__(self) -> str:
        return f"Outbox({self.store!r})"

    async def open(self) -> Outbox:
        """Open the store (done by the first call that needs it)."""
        async with self._open_lock:
            if not self._opened:
                await self.store.open()
                self._opened = True
        return self

    async def close(self) -> None:
        """Close the store."""
        async with self._open_lock:
            if self._opened:
                self._opened = False
                await self.store.close()

    async def __aenter__(self) -> Outbox:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _ready(self) -> OutboxStore:
        if not self._opened:
            await self.open()
        return self.store

    # ------------------------------------------------------------------ submitting

    async def submit(self, body: PostPurchaseSendBody | Mapping[str, Any]) -> OutboxRecord:
        """Store a paid purchase (the send-purchase body) for sending; returns once it is committed.

        The same bill submitted again (same ``bill_id``, same content) is stored once: the stored
        record is returned. The same ``bill_id`` with other content raises :class:`BillIdConflict`.
        A body the sender could never send (``submit`` runs the send's own checks: field types,
        enum values, finite numbers) raises :class:`~carecloud_async.RequestValidationError` naming
        the field, and a store failure :class:`OutboxStoreError`: in both cases nothing was stored.

            record = await outbox.submit(PostPurchaseSendBody(store_id=store_id, cashdesk_number=1, bill=final))
            assert record.state in (State.PENDING, State.SENT)
        """
        return await self._submit(sendable_body(body), cancels_bill_id=None)

    @observed_submit  # a span, linked from the send's
    async def _submit(
        self, body: PostPurchaseSendBody, *, cancels_bill_id: str | None, traceparent: str | None = None
    ) -> OutboxRecord:
        # traceparent: the submit span's context, passed by observed_submit when tracing.
        store = await self._ready()
        purchase = NewPurchase.from_body(body, cancels_bill_id=cancels_bill_id, traceparent=traceparent)
        record, created = await store.add(purchase, now=self.clock())
        if not created and record.body != purchase.body:
            raise BillIdConflict(purchase.bill_id)
        if created:
            for sender in self._senders:
                sender.wake()
        return record

    async def cancel(self, bill_id: str, *, new_bill_id: str | None = None) -> OutboxRecord:
        """Cancel a purchase the outbox sent: submit the cancelling bill that
        :func:`~carecloud_async.workflows.purchases.cancelling_bill` builds from it (``canceled`` true, a new
        ``bill_id``: ``new_bill_id`` or ``"C" + bill_id``, ``bill_number`` = ``bill_id``).

        Raises :class:`NotCancellable` for a bill the outbox has not sent (unknown, pending, in
        manual or discarded), with what to do instead. Cancelling again returns the cancellation
        already stored (another ``new_bill_id`` for a bill already cancelled raises NotCancellable).

            await outbox.cancel("POS1-000042")
        """
        require_text(bill_id, "bill_id")
        store = await self._ready()
        original = await store.get(bill_id)
        if original is None:
            raise NotCancellable(
                bill_id,
                None,
                "the outbox cancels only purchases it sent; if CareCloud has it from elsewhere, build the "
                "cancellation with carecloud_async.workflows.purchases.cancelling_bill(original) and submit() it",
            )
        if original.cancels_bill_id is not None:
            raise NotCancellable(bill_id, original.state.value, "it is itself a cancellation")
        if original.state is not State.SENT:
            advice = {
                State.PENDING: "wait until it is sent (outbox.get(bill_id).state == 'sent'), then cancel",
                State.SENDING: "wait until it is sent (outbox.get(bill_id).state == 'sent'), then cancel",
                State.MANUAL: "CareCloud does not have it: discard it instead of cancelling",
                State.DISCARDED: "it was discarded and never sent: there is nothing to cancel",
            }[original.state]
            raise NotCancellable(bill_id, original.state.value, advice)
        earlier = await store.cancellation_of(bill_id)
        if earlier is not None:
            if new_bill_id is None or new_bill_id == earlier.bill_id:
                return earlier
            raise NotCancellable(bill_id, original.state.value, f"it is already cancelled by bill {earlier.bill_id!r}")
        cancelling = cancelling_bill(original.send_body(), new_bill_id=new_bill_id)
        return await self._submit(cancelling, cancels_bill_id=bill_id)

    # ------------------------------------------------------------------ reading and manual transfer

    async def get(self, bill_id: str) -> OutboxRecord | None:
        """The record of ``bill_id``, or None.

        record = await outbox.get("POS1-000042")
        """
        return await (await self._ready()).get(bill_id)

    async def wait_sent(self, bill_id: str, *, timeout: float, poll: float = 0.05) -> OutboxRecord:
        """The record of ``bill_id`` once it is no longer pending or sending, or as it is when
        ``timeout`` seconds have passed (a POS that wants the purchase id on the receipt waits a
        moment; the purchase is safe either way). Works whichever process sends it.

            record = await outbox.wait_sent(record.bill_id, timeout=2)
            if record.state is State.SENT:
                print_points(record.purchase_id)
        """
        store = await self._ready()
        deadline = time.monotonic() + timeout
        while True:
            record = await store.get(bill_id)
            if record is None:
                raise RecordNotFound(bill_id)
            if record.state not in OPEN_STATES or time.monotonic() >= deadline:
                return record
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))

    async def records(
        self, state: State | str | Collection[State | str] | None = None, *, limit: int | None = None
    ) -> list[OutboxRecord]:
        """Records in submission order, of one state or several (all when None).

        waiting = await outbox.records("manual")
        """
        if state is None:
            states = None
        elif isinstance(state, (State, str)):
            states = [_state(state)]
        else:
            states = [_state(one) for one in state]
        return await (await self._ready()).records(states, limit=limit)

    async def counts(self) -> dict[State, int]:
        """How many records each state holds.

        counts = await outbox.counts()
        print(counts[State.MANUAL], "purchase(s) wait for manual transfer")
        """
        return await (await self._ready()).counts()

    async def retry_now(self, bill_id: str) -> OutboxRecord:
        """Put a ``manual`` record back to ``pending``, due now, with a fresh schedule (its last
        error is kept until the next attempt); returns once the change is committed.
        :class:`NotInManual` or :class:`RecordNotFound` otherwise.

            await outbox.retry_now("POS1-000042")
        """
        store = await self._ready()
        record = await store.retry_now(require_text(bill_id, "bill_id"), now=self.clock())
        if record is None:
            raise await self._not_manual(bill_id, "retry")
        for sender in self._senders:
            sender.wake()
        return record

    async def discard(self, bill_id: str, *, reason: str) -> OutboxRecord:
        """Give up on a ``manual`` record (it was entered into CareCloud by hand, or must not be):
        ``discarded`` with ``reason``, kept for the record; returns once the change is committed
        (a ``kill -9`` right after does not bring it back). :class:`NotInManual` or
        :class:`RecordNotFound` otherwise.

            await outbox.discard("POS1-000042", reason="entered by hand in CareCloud, ticket 1234")
        """
        store = await self._ready()
        record = await store.discard(
            require_text(bill_id, "bill_id"), reason=require_text(reason, "reason"), now=self.clock()
        )
        if record is None:
            raise await self._not_manual(bill_id, "discard")
        return record

    async def _not_manual(self, bill_id: str, action: str) -> Exception:
        record = await self.store.get(bill_id)
        if record is None:
            return RecordNotFound(bill_id)
        return NotInManual(bill_id, record.state.value, action)

    # ------------------------------------------------------------------ sending

    async def send_due(self, cc: CareCloud, *, concurrency: int = 1) -> PassSummary:
        """Send every purchase due now (by the outbox's clock), up to ``concurrency`` at a time and
        one at a time per store / cash desk, oldest first; returns when none is left due. The
        sender (:meth:`running`) calls this in a loop; tests and scripts may call it directly.

            summary = await outbox.send_due(cc, concurrency=4)
            print(len(summary.sent), "sent")
        """
        require_whole(concurrency, "concurrency", minimum=1)
        return await self._send_due(cc, concurrency, lambda: False)

    @observed_send_pass  # the outbox gauges' counts and oldest open purchase
    async def _send_due(self, cc: CareCloud, concurrency: int, stopping: Callable[[], bool]) -> PassSummary:
        store = await self._ready()
        summary = PassSummary()
        token = uuid.uuid4().hex
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = concurrency - len(in_flight)
                if free > 0 and summary.paused_until is None and not stopping():
                    now = self.clock()
                    claimed = await store.claim(now=now, lease_until=now + self.schedule.lease, token=token, limit=free)
                    for record in claimed:
                        in_flight.add(asyncio.create_task(self._send_one(cc, record, summary)))
                if not in_flight:
                    return summary
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a store error ends the pass (the purchase stays claimed: its lease runs out)
        finally:
            if in_flight:
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)

    @observed_send  # a span linked to the submit's
    async def _send_one(self, cc: CareCloud, record: OutboxRecord, summary: PassSummary) -> None:
        token = record.lease_token or ""
        if lost_on_claim(record.attempts, self.schedule):
            error = SendError("lost", "the sender stopped during the last attempt; its outcome is unknown")
            await self.store.mark_failed(
                record.bill_id, token=token, state=State.MANUAL, next_attempt_at=None, error=error, now=self.clock()
            )
            summary.manual.append(record.bill_id)
            return
        outcome: Sent | SendError
        body, problem = _stored_body(record)
        if body is None or problem is not None:
            # It would fail inside the client on every attempt: not sent, to manual at once.
            outcome = SendError("invalid", f"not sent, and resending cannot help: {problem}")
        else:
            try:
                answer: Any = await cc.call(post_purchase_send.call, body=body)
            except asyncio.CancelledError:
                # Stopping: the attempt may or may not have landed; give the purchase back to be resent.
                await asyncio.shield(self.store.release(record.bill_id, token=token, now=self.clock()))
                raise
            except Exception as exc:  # every failure is recorded on the purchase, none stops the sender
                outcome = classify(exc)
            else:
                outcome = classify(answer)
        now = self.clock()
        if isinstance(outcome, Sent):
            await self.store.mark_sent(
                record.bill_id, purchase_id=outcome.purchase_id, already_recorded=outcome.already_recorded, now=now
            )
            summary.sent.append(record.bill_id)
            logger.info("sent bill %s: purchase %s", record.bill_id, outcome.purchase_id or "(already recorded)")
            return
        step = after_failure(attempts=record.attempts, error=outcome, now=now, schedule=self.schedule)
        if isinstance(step, Retry):
            kept = await self.store.mark_failed(
                record.bill_id, token=token, state=State.PENDING, next_attempt_at=step.at, error=outcome, now=now
            )
            summary.retried.append(record.bill_id)
        else:
            kept = await self.store.mark_failed(
                record.bill_id, token=token, state=State.MANUAL, next_attempt_at=None, error=outcome, now=now
            )
            summary.manual.append(record.bill_id)
            logger.warning("bill %s needs manual transfer: %s", record.bill_id, outcome.summary())
        if not kept:
            logger.info("bill %s: another sender took it over (its lease had run out)", record.bill_id)
        pause = pause_after(outcome, self.schedule)
        if pause is not None:
            until = now + pause
            summary.paused_until = max(summary.paused_until or until, until)

    @contextlib.asynccontextmanager
    async def running(
        self, cc: CareCloud, *, concurrency: int = 1, shutdown_timeout: float = 10.0
    ) -> AsyncIterator[Sender]:
        """Run the sender in this event loop while the block runs; on exit it stops claiming, lets
        the sends in flight finish (up to ``shutdown_timeout`` seconds; then they are cancelled and
        their purchases given back, to be resent) and returns.

            async with outbox.running(cc, concurrency=4) as sender:
                await serve_forever()
        """
        require_whole(concurrency, "concurrency", minimum=1)
        if shutdown_timeout < 0:
            raise ConfigurationError("shutdown_timeout must be >= 0")
        await self._ready()
        sender = Sender(self, cc, concurrency=concurrency)
        self._senders.add(sender)
        sender.start()
        try:
            yield sender
        finally:
            self._senders.discard(sender)
            await sender.stop(timeout=shutdown_timeout)


class Sender:
    """The background loop :meth:`Outbox.running` starts: a :meth:`Outbox.send_due` pass, then a
    wait until the next purchase is due (at most the schedule's ``interval``; a ``submit`` in
    this process ends the wait at once), again and again until stopped.

    ``passes`` counts the passes; ``last_error`` is the error of the last failed pass (usually an
    :class:`OutboxStoreError`; the loop logs it and tries again an ``interval`` later), or None.
    """

    def __init__(self, outbox: Outbox, cc: CareCloud, *, concurrency: int):
        self.outbox = outbox
        self.cc = cc
        self.concurrency = concurrency
        self.passes = 0
        self.last_error: Exception | None = None
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="carecloud-outbox-sender")

    def wake(self) -> None:
        """Look for due purchases now instead of at the end of the wait."""
        self._wake.set()

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop after the current pass (cancelled after ``timeout`` seconds)."""
        self._stopped.set()
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        else:
            self._task.result()

    async def _run(self) -> None:
        schedule = self.outbox.schedule
        while not self._stopped.is_set():
            self._wake.clear()
            delay, paused = schedule.interval, False
            try:
                summary = await self.outbox._send_due(self.cc, self.concurrency, self._stopped.is_set)
                self.passes += 1
                self.last_error = None
                now = self.outbox.clock()
                if summary.paused_until is not None:
                    delay, paused = summary.paused_until - now, True
                else:
                    due = await self.outbox.store.next_due()
                    if due is not None:
                        delay = min(delay, due - now)
                        if summary.attempts == 0:  # due but held by another sender: do not spin
                            delay = max(delay, min(schedule.interval, 1.0))
            except OutboxStoreError as exc:
                self.last_error = exc
                logger.error("outbox sender: %s; trying again in %g s", exc, schedule.interval)
            except Exception as exc:  # a bug must not stop a POS's sender for good: log it, go on
                self.last_error = exc
                logger.exception("outbox sender: unexpected error; trying again in %g s", schedule.interval)
            if self._stopped.is_set() or delay <= 0:
                continue
            # A pause (429/503) is waited out whatever is submitted meanwhile; only stop ends it.
            event = self._stopped if paused else self._wake
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), delay)


def _state(value: State | str) -> State:
    try:
        return State(value)
    except ValueError:
        raise RequestValidationError(
            f"state must be one of {', '.join(s.value for s in State)}, not {value!r}"
        ) from None


def _stored_body(record: OutboxRecord) -> tuple[PostPurchaseSendBody | None, str | None]:
    """The stored body as the model, or why it can never be sent (a record stored before
    ``submit`` ran the send's checks)."""
    try:
        body = record.send_body()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"the stored body is not a send-purchase body ({type(exc).__name__})"
    return body, unsendable(body)
