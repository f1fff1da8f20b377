"""A durable outbox for paid purchases: stored first, sent to CareCloud on the vendor's schedule.

    from carecloud_async.outbox import Outbox

    async with Outbox("outbox.sqlite3") as outbox, CareCloud.from_env() as cc:
        async with outbox.running(cc):
            await outbox.submit(send_purchase_body)   # durable when it returns

Stores: :class:`SQLiteStore` (one file, the default; extra ``outbox``) and :class:`PostgresStore`
(shared by several processes; extra ``postgres``), behind :class:`OutboxStore`. The schedule and
what an answer means are pure functions in :class:`Schedule`, :func:`classify` and
:func:`after_failure`. Command line: ``python -m carecloud_async.outbox --help`` or ``carecloud
outbox --help`` (extra ``cli``), both on the calls of :mod:`._commands` (:func:`list_records`,
:func:`retry_records`, ...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._commands import (
    LISTED_BY_DEFAULT,
    command_outbox,
    describe_pass,
    describe_record,
    list_records,
    outbox_location,
    retry_records,
    send_until_stopped,
    show_record,
)
from ._errors import BillIdConflict, NotCancellable, NotInManual, OutboxError, OutboxStoreError, RecordNotFound
from ._outbox import Clock, Outbox, PassSummary, Sender, open_store
from ._records import OutboxRecord, SendError, State
from ._schedule import Retry, Schedule, Sent, ToManual, after_failure, classify, pause_after
from ._store import OutboxStore
from ._table import TABLE_COLUMNS, render_counts, render_table, table_rows

if TYPE_CHECKING:
    from ._postgres import PostgresStore
    from ._sqlite import SQLiteStore

__all__ = [
    "LISTED_BY_DEFAULT",
    "TABLE_COLUMNS",
    "BillIdConflict",
    "Clock",
    "NotCancellable",
    "NotInManual",
    "Outbox",
    "OutboxError",
    "OutboxRecord",
    "OutboxStore",
    "OutboxStoreError",
    "PassSummary",
    "PostgresStore",
    "RecordNotFound",
    "Retry",
    "SQLiteStore",
    "Schedule",
    "SendError",
    "Sender",
    "Sent",
    "State",
    "ToManual",
    "after_failure",
    "classify",
    "command_outbox",
    "describe_pass",
    "describe_record",
    "list_records",
    "open_store",
    "outbox_location",
    "pause_after",
    "render_counts",
    "render_table",
    "retry_records",
    "send_until_stopped",
    "show_record",
    "table_rows",
]

# The store modules load on first use: each imports its optional driver.
_STORES = {"SQLiteStore": "._sqlite", "PostgresStore": "._postgres"}


def __getattr__(name: str) -> Any:
    module = _STORES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
