"""``carecloud outbox``: the purchase outbox from the ``carecloud`` command (typer + rich).

The same commands as ``python -m carecloud_async.outbox``, making the same library calls
(:mod:`carecloud_async.outbox._commands`, :class:`~carecloud_async.outbox.Outbox` methods); this
module only parses options and prints: a rich table on a terminal, the plain
:func:`~carecloud_async.outbox.render_table` text in a pipe. The outbox package (and its
aiosqlite / asyncpg driver) is imported by the command that needs it, not by ``carecloud ops``.

    carecloud outbox list --db /var/lib/pos/outbox.sqlite3 --state manual
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._running import err, reported_errors, run_reported, with_client

if TYPE_CHECKING:
    from ..outbox import Outbox, OutboxRecord

__all__ = ["outbox_app"]

T = TypeVar("T")

outbox_app = typer.Typer(
    help=(
        "The durable purchase outbox: list it, retry or discard purchases waiting for manual "
        "transfer, run the sender.\n\n"
        "The outbox is an SQLite file (--db, or $CARECLOUD_OUTBOX) or a PostgreSQL database (--dsn). "
        "Only `run` creates one: for the other commands a mistyped path is an error."
    ),
    short_help="The purchase outbox: list, retry, discard, run the sender.",
    no_args_is_help=True,
)

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH",
        envvar="CARECLOUD_OUTBOX",
        show_envvar=False,
        help="The outbox's SQLite file, or a postgresql:// URL (default: $CARECLOUD_OUTBOX).",
    ),
]
Dsn = Annotated[
    str | None,
    typer.Option(
        "--dsn", metavar="URL", help="A PostgreSQL outbox: postgresql://user@host/database (instead of --db)."
    ),
]

_STATE_STYLES = {"pending": "yellow", "sending": "cyan", "sent": "green", "manual": "bold red", "discarded": "dim"}


def _with_outbox(db: str | None, dsn: str | None, work: Callable[[Outbox], Awaitable[T]], **options: Any) -> T:
    """``work(outbox)`` on the outbox named by ``--db`` / ``--dsn``, failures as one line."""
    from ..outbox._commands import command_outbox, outbox_location

    with reported_errors():
        location = outbox_location(db, dsn)

    async def opened() -> T:
        async with command_outbox(location, **options) as outbox:
            return await work(outbox)

    return run_reported(opened())


#: Narrowest width of each column of the rich table (the ids' columns: their longest id). The ids
#: never fold or shrink (`retry` and `discard` need them whole); the other columns fold, and the
#: ones at the end of _GIVE_WAY are left out while the table is still wider than the terminal.
_MIN_WIDTHS = {"state": 9, "tries": 5, "next attempt": 10, "purchase_id": 11, "last error / reason": 12}
_GIVE_WAY = ("tries", "next attempt", "purchase_id")


def _rich_table(records: Sequence[OutboxRecord], rows: Sequence[tuple[str, ...]], width: int) -> Table:
    from ..outbox import TABLE_COLUMNS

    store_width = max(len(record.store_id) for record in records)
    minimum = {
        TABLE_COLUMNS[0]: max(len(TABLE_COLUMNS[0]), *(len(row[0]) for row in rows)),
        TABLE_COLUMNS[1]: max(len(TABLE_COLUMNS[1]), store_width),  # " / desk" may go to a second line
        **_MIN_WIDTHS,
    }
    # Columns empty in every row say nothing (purchase_id while none is sent): left out.
    shown = [i for i, title in enumerate(TABLE_COLUMNS) if i < 2 or any(row[i] for row in rows)]
    for title in reversed(_GIVE_WAY):
        # Each column costs its width, a space of padding either side and a separator.
        if sum(minimum[TABLE_COLUMNS[i]] + 3 for i in shown) - 3 <= width:
            break
        shown = [i for i in shown if TABLE_COLUMNS[i] != title]
    natural = sum(max(len(TABLE_COLUMNS[i]), *(len(row[i]) for row in rows)) + 3 for i in shown) - 3
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i in shown:
        title = TABLE_COLUMNS[i]
        if i == 0:  # no_wrap: rich never narrows it below its longest id
            table.add_column(title, no_wrap=True, min_width=minimum[title])
        elif i == 1:  # too narrow for "store / desk" on one line: the store id's width, the desk below
            table.add_column(title, overflow="fold", width=minimum[title] if natural > width else None)
        else:
            table.add_column(title, no_wrap=title in ("state", "tries"), overflow="fold")
    for row in rows:
        cells = [Text(row[i]) for i in shown]  # Text: a "[...]" in an error message is not markup
        cells[shown.index(2)].stylize(_STATE_STYLES.get(row[2], ""))
        table.add_row(*cells)
    return table


def _print_records(records: Sequence[OutboxRecord], *, width: int = 60) -> None:
    """The records as a rich table on a terminal, as :func:`render_table`'s text otherwise."""
    from ..outbox import render_table, table_rows

    if not sys.stdout.isatty():
        typer.echo(render_table(records, width=width))
        return
    console = Console(highlight=False)
    if not records:
        console.print("(no purchases)", markup=False)
        return
    console.print(_rich_table(records, table_rows(records), console.width))


@outbox_app.command("list", short_help="Purchases as a table (default: those not sent).")
def list_(
    db: Db = None,
    dsn: Dsn = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state", metavar="STATE", help="Only this state, repeatable: pending, sending, sent, manual, discarded."
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every state, sent ones included.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many purchases.")] = None,
) -> None:
    """Show the outbox's purchases as a table, oldest first, with a count of each state.

    \b
    Examples:
      carecloud outbox list --db outbox.sqlite3
      carecloud outbox list --db outbox.sqlite3 --state manual
      carecloud outbox list --dsn postgresql://pos@db.internal/pos --all --limit 50
    """
    from ..outbox import render_counts
    from ..outbox._commands import list_records

    async def work(outbox: Outbox) -> tuple[list[OutboxRecord], str]:
        records = await list_records(outbox, state, every=every, limit=limit)
        return records, f"{render_counts(await outbox.counts())}  ({outbox.store.location})"

    records, counts = _with_outbox(db, dsn, work)
    _print_records(records)
    typer.echo(f"\n{counts}")


@outbox_app.command("show", short_help="One purchase, with its last error in full.")
def show(
    bill_id: Annotated[str, typer.Argument(metavar="BILL_ID", help="The purchase's bill.bill_id.")],
    db: Db = None,
    dsn: Dsn = None,
) -> None:
    """Show one purchase and its last error in full, with the invalid params CareCloud named.

    \b
    Example:
      carecloud outbox show POS1-000042 --db outbox.sqlite3
    """
    from ..outbox._commands import describe_record, show_record

    record = _with_outbox(db, dsn, lambda outbox: show_record(outbox, bill_id))
    _print_records([record], width=200)
    if details := describe_record(record):
        typer.echo(f"\n{details}")


@outbox_app.command("retry", short_help="Send manual purchases again now, with a fresh schedule.")
def retry(
    bill_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[BILL_ID]...", help="Purchases in manual to send again.")
    ] = None,
    all_manual: Annotated[bool, typer.Option("--all-manual", help="Every purchase in manual.")] = False,
    db: Db = None,
    dsn: Dsn = None,
) -> None:
    """Put purchases waiting for manual transfer back to pending, due now, with a fresh schedule
    (a running sender sends them; so does `carecloud outbox run --once`).

    \b
    Examples:
      carecloud outbox retry POS1-000042 --db outbox.sqlite3
      carecloud outbox retry --all-manual --db outbox.sqlite3
    """
    from ..outbox._commands import retry_records

    _print_records(_with_outbox(db, dsn, lambda outbox: retry_records(outbox, bill_ids or [], all_manual=all_manual)))


@outbox_app.command("discard", short_help="Give up on a manual purchase, with a reason.")
def discard(
    bill_id: Annotated[str, typer.Argument(metavar="BILL_ID", help="A purchase in manual.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the purchase).")],
    db: Db = None,
    dsn: Dsn = None,
) -> None:
    """Give up on a purchase waiting for manual transfer (entered into CareCloud by hand, or
    never to be sent): it becomes discarded, kept with the reason.

    \b
    Example:
      carecloud outbox discard POS1-000042 --reason "entered by hand, ticket 1234" --db outbox.sqlite3
    """
    _print_records([_with_outbox(db, dsn, lambda outbox: outbox.discard(bill_id, reason=reason))])


@outbox_app.command("run", short_help="Send due purchases until stopped (or one pass with --once).")
def run(  # noqa: PLR0917 (typer passes every option by keyword)
    ctx: typer.Context,
    db: Db = None,
    dsn: Dsn = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over the due purchases, then exit.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Sends in flight (one per store / cash desk).")
    ] = 1,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between looks for due purchases (60).")
    ] = None,
    max_attempts: Annotated[int | None, typer.Option("--max-attempts", help="Attempts before manual (5).")] = None,
    retry_delay: Annotated[
        float | None, typer.Option("--retry-delay", help="Seconds after a failed attempt (600).")
    ] = None,
    lease: Annotated[
        float | None, typer.Option("--lease", help="Seconds a send may take before it is resent (300).")
    ] = None,
) -> None:
    """Send due purchases to CareCloud until Ctrl-C / SIGTERM (sends in flight finish first), or
    one pass with --once. CareCloud is configured like every command (CARECLOUD_* variables and
    the options before `outbox`). Creates the SQLite file if it does not exist.

    \b
    Examples:
      carecloud outbox run --db /var/lib/pos/outbox.sqlite3 --concurrency 4
      carecloud outbox run --db outbox.sqlite3 --once
    """
    from ..outbox import Schedule, render_counts
    from ..outbox._commands import describe_pass, send_until_stopped, stop_on_signals

    given: dict[str, Any] = {
        "interval": interval,
        "max_attempts": max_attempts,
        "retry_delay": retry_delay,
        "lease": lease,
    }
    with reported_errors():  # Schedule's own defaults for what is not given, its checks for what is
        schedule = Schedule(**{name: value for name, value in given.items() if value is not None})

    async def work(outbox: Outbox) -> str:
        if once:
            return describe_pass(await with_client(ctx, lambda cc: outbox.send_due(cc, concurrency=concurrency)))
        stop = stop_on_signals()
        announce: Callable[[str], None] = lambda line: err.print(line, markup=False)  # noqa: E731
        await with_client(
            ctx,
            lambda cc: send_until_stopped(outbox, cc, concurrency=concurrency, stop=stop, announce=announce),
        )
        return render_counts(await outbox.counts())

    typer.echo(_with_outbox(db, dsn, work, create=True, schedule=schedule))
