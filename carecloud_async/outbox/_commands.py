"""The library calls behind both outbox command lines (``python -m carecloud_async.outbox`` and
``carecloud outbox``): which outbox a command means, what each command reads or changes, and the
text it prints besides the table. Neither command line holds logic of its own.

    async with command_outbox(outbox_location("outbox.sqlite3")) as outbox:
        print(render_table(await list_records(outbox, ["manual"])))
        print(render_table(await retry_records(outbox, [], all_manual=True)))
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from .._errors import ConfigurationError, RequestValidationError
from ._errors import RecordNotFound
from ._outbox import POSTGRES_SCHEMES, Outbox, PassSummary, open_store
from ._records import OutboxRecord, State
from ._schedule import Schedule

if TYPE_CHECKING:
    from .._client import CareCloud

__all__ = [
    "LISTED_BY_DEFAULT",
    "command_outbox",
    "describe_pass",
    "describe_record",
    "list_records",
    "outbox_location",
    "retry_records",
    "send_until_stopped",
    "show_record",
    "stop_on_signals",
]

#: What ``list`` shows without ``--state`` / ``--all``: every purchase not sent (nor discarded).
LISTED_BY_DEFAULT: tuple[State, ...] = (State.PENDING, State.SENDING, State.MANUAL)


def outbox_location(db: str | None, dsn: str | None = None) -> str:
    """The outbox a command line names: ``--db`` (an SQLite file, or a ``postgresql://`` URL as
    the library accepts) or ``--dsn`` (a PostgreSQL URL), never both. The callers fill ``db``
    from ``$CARECLOUD_OUTBOX`` when the option is not given.

    >>> outbox_location("outbox.sqlite3")
    'outbox.sqlite3'
    >>> outbox_location(None, "postgresql://pos@db.internal/pos")
    'postgresql://pos@db.internal/pos'
    >>> outbox_location(None)
    Traceback (most recent call last):
    ...
    carecloud_async._errors.ConfigurationError: no outbox: pass --db PATH (an SQLite file), --dsn postgresql://... or set CARECLOUD_OUTBOX
    """  # noqa: E501 (a doctest's expected line)
    if dsn is not None:
        if db:
            raise RequestValidationError("pass --db (an SQLite file) or --dsn (a PostgreSQL URL), not both")
        if not dsn.startswith(POSTGRES_SCHEMES):
            raise RequestValidationError("--dsn must be a postgresql://user@host/database URL")
        return dsn
    if not db:
        raise ConfigurationError(
            "no outbox: pass --db PATH (an SQLite file), --dsn postgresql://... or set CARECLOUD_OUTBOX"
        )
    return db


def command_outbox(location: str, *, create: bool = False, schedule: Schedule | None = None) -> Outbox:
    """The outbox a command works on. Only ``run`` creates a database (``create=True``): for the
    other commands a mistyped path is an error naming the file, not an empty outbox.

        async with command_outbox("outbox.sqlite3") as outbox:
            ...
    """
    return Outbox(open_store(location, create=create), schedule=schedule)


async def list_records(
    outbox: Outbox,
    states: Collection[State | str] | None = None,
    *,
    every: bool = False,
    limit: int | None = None,
) -> list[OutboxRecord]:
    """The records ``list`` shows: those of ``states``, every record with ``every``, else the ones
    not sent (:data:`LISTED_BY_DEFAULT`); in submission order.

        waiting = await list_records(outbox, ["manual"])
    """
    if every:
        return await outbox.records(None, limit=limit)
    return await outbox.records(list(states) if states else LISTED_BY_DEFAULT, limit=limit)


async def show_record(outbox: Outbox, bill_id: str) -> OutboxRecord:
    """The record of ``bill_id``; :class:`RecordNotFound` when the outbox has none.

    record = await show_record(outbox, "POS1-000042")
    """
    record = await outbox.get(bill_id)
    if record is None:
        raise RecordNotFound(bill_id)
    return record


async def retry_records(outbox: Outbox, bill_ids: Sequence[str], *, all_manual: bool = False) -> list[OutboxRecord]:
    """Put manual records back to pending, due now: ``bill_ids``, plus every manual one with
    ``all_manual``. Naming none is a :class:`~carecloud_async.RequestValidationError`.

        retried = await retry_records(outbox, ["POS1-000042"])
    """
    wanted = list(bill_ids)
    if all_manual:
        wanted += [record.bill_id for record in await outbox.records(State.MANUAL) if record.bill_id not in wanted]
    if not wanted:
        raise RequestValidationError("nothing to retry: name bill ids or pass --all-manual")
    return [await outbox.retry_now(bill_id) for bill_id in wanted]


def stop_on_signals() -> asyncio.Event:
    """The ``stop`` of :func:`send_until_stopped` for a command line: set on SIGINT / SIGTERM
    where this event loop takes signal handlers (not on Windows, nor off the main thread).

        await send_until_stopped(outbox, cc, concurrency=4, stop=stop_on_signals(), announce=print)
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows, not main thread
            loop.add_signal_handler(number, stop.set)
    return stop


async def send_until_stopped(
    outbox: Outbox, cc: CareCloud, *, concurrency: int, stop: asyncio.Event, announce: Callable[[str], None]
) -> None:
    """``run``: send due purchases until ``stop`` is set (the command lines set it on SIGINT /
    SIGTERM), then let the sends in flight finish. ``announce`` gets a line once sending started.

        await send_until_stopped(outbox, cc, concurrency=4, stop=stop, announce=print)
    """
    async with outbox.running(cc, concurrency=concurrency):
        announce(f"sending from {outbox.store.location} (concurrency {concurrency}); stop with Ctrl-C")
        await stop.wait()


def describe_record(record: OutboxRecord) -> str:
    """What ``show`` prints under the table: the last error in full, with its invalid params
    (empty when the record has no error).

    >>> from carecloud_async.outbox import SendError
    >>> from carecloud_async import InvalidParam
    >>> error = SendError("invalid", "400 Bad Request", status_code=400,
    ...                   invalid_params=(InvalidParam("bill.currency_id", "not_found"),))
    >>> print(describe_record(OutboxRecord(seq=1, bill_id="B-1", store_id="s", cashdesk_number=1,
    ...       state=State.MANUAL, attempts=1, submitted_at=0.0, updated_at=0.0, body="{}", last_error=error)))
    last error: 400 Bad Request
      invalid: bill.currency_id: not_found
    """
    if record.last_error is None:
        return ""
    lines = [f"last error: {record.last_error.message}"]
    lines += [f"  invalid: {param}" for param in record.last_error.invalid_params]
    return "\n".join(lines)


def describe_pass(summary: PassSummary) -> str:
    """What ``run --once`` prints: one line with what the pass did.

    >>> describe_pass(PassSummary(sent=["B-1", "B-2"], manual=["B-3"]))
    'sent 2, to retry 0, to manual 1'
    """
    return f"sent {len(summary.sent)}, to retry {len(summary.retried)}, to manual {len(summary.manual)}"
