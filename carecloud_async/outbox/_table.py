"""The outbox as a readable text table (the command line prints it; so can a POS back office).

print(render_table(await outbox.records("manual")))
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from ._records import OutboxRecord, State

__all__ = ["TABLE_COLUMNS", "render_counts", "render_table", "table_rows"]

#: The column titles of :func:`render_table` (and of the rich table ``carecloud outbox`` draws).
TABLE_COLUMNS = ("bill_id", "store / desk", "state", "tries", "next attempt", "purchase_id", "last error / reason")
#: The first columns hold ids, never cut.
_ID_COLUMNS = 2


def _when(value: float | None) -> str:
    return "" if value is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def _row(record: OutboxRecord) -> tuple[str, ...]:
    purchase = (record.purchase_id or "(already recorded)") if record.state is State.SENT else ""
    if record.state is State.DISCARDED:
        note = f"discarded: {record.discard_reason}"
    elif record.last_error is not None and record.state is not State.SENT:
        note = record.last_error.summary()
    else:
        note = ""
    if record.cancels_bill_id:
        note = f"cancels {record.cancels_bill_id}" + (f"; {note}" if note else "")
    return (
        record.bill_id,
        f"{record.store_id} / {record.cashdesk_number}",
        record.state.value,
        str(record.attempts),
        _when(record.next_attempt_at) if record.state is State.PENDING else "",
        purchase,
        note,
    )


def table_rows(records: Sequence[OutboxRecord]) -> list[tuple[str, ...]]:
    """The cells of each record's row, under :data:`TABLE_COLUMNS` (uncut). Both command lines
    print these: as aligned text (:func:`render_table`) or, on a terminal, as a rich table.

    >>> record = OutboxRecord(seq=1, bill_id="B-1", store_id="s1", cashdesk_number=2, state=State.DISCARDED,
    ...                       attempts=5, submitted_at=0.0, updated_at=0.0, discard_reason="keyed in")
    >>> table_rows([record])
    [('B-1', 's1 / 2', 'discarded', '5', '', '', 'discarded: keyed in')]
    """
    return [_row(record) for record in records]


def render_table(records: Sequence[OutboxRecord], *, width: int = 60) -> str:
    """Records as an aligned table, one line each (long cells cut at ``width`` characters, except
    the bill id and the store: ``retry`` and ``discard`` need them whole).

    >>> print(render_table([]))
    (no purchases)
    """
    if not records:
        return "(no purchases)"
    rows = [TABLE_COLUMNS, *table_rows(records)]
    rows = [
        tuple(cell if len(cell) <= width or i < _ID_COLUMNS else cell[: width - 1] + "…" for i, cell in enumerate(row))
        for row in rows
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_counts(counts: Mapping[State, int]) -> str:
    """One line with the count of each state.

    >>> render_counts({State.PENDING: 2, State.SENT: 5})
    'pending 2, sending 0, sent 5, manual 0, discarded 0'
    """
    return ", ".join(f"{state.value} {counts.get(state, 0)}" for state in State)
