"""``python -m carecloud_async.outbox``: look at the outbox, do the manual transfer, run a sender.

    python -m carecloud_async.outbox --db outbox.sqlite3 list --state manual
    python -m carecloud_async.outbox --db outbox.sqlite3 retry POS1-000042
    python -m carecloud_async.outbox --db outbox.sqlite3 discard POS1-000042 --reason "entered by hand"
    python -m carecloud_async.outbox --db postgresql://pos@db/carecloud run --concurrency 4

Each command is one library call (:mod:`._commands`, :class:`Outbox` methods, :func:`render_table`),
the same ones ``carecloud outbox`` makes; this module only parses arguments and prints. ``--db``
defaults to ``$CARECLOUD_OUTBOX``; ``--dsn`` names a PostgreSQL outbox instead. Commands other
than ``run`` never create a database: a mistyped path is an error, not an empty outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from collections.abc import Sequence

from .._errors import CareCloudError, RequestValidationError
from ._commands import (
    command_outbox,
    describe_pass,
    describe_record,
    list_records,
    outbox_location,
    retry_records,
    send_until_stopped,
    show_record,
    stop_on_signals,
)
from ._outbox import Outbox
from ._records import State
from ._schedule import Schedule
from ._table import render_counts, render_table

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m carecloud_async.outbox", description="The durable purchase outbox of carecloud-async."
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("CARECLOUD_OUTBOX"),
        help="SQLite file or postgresql:// URL (default: $CARECLOUD_OUTBOX)",
    )
    parser.add_argument("--dsn", help="PostgreSQL URL, postgresql://user@host/database (instead of --db)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="show purchases as a table (default: those not sent)")
    listing.add_argument("--state", action="append", choices=[s.value for s in State], help="repeatable")
    listing.add_argument("--all", action="store_true", help="every state, sent ones included")
    listing.add_argument("--limit", type=int, default=None)
    show = commands.add_parser("show", help="one purchase, with its last error in full")
    show.add_argument("bill_id")
    retry = commands.add_parser("retry", help="send manual purchases again now, with a fresh schedule")
    retry.add_argument("bill_ids", nargs="*", metavar="BILL_ID")
    retry.add_argument("--all-manual", action="store_true", help="every purchase in manual")
    discard = commands.add_parser("discard", help="give up on a manual purchase, with a reason")
    discard.add_argument("bill_id")
    discard.add_argument("--reason", required=True)
    run = commands.add_parser("run", help="send due purchases until stopped (CareCloud from CARECLOUD_* variables)")
    run.add_argument("--concurrency", type=int, default=1, help="sends in flight (one per store / cash desk)")
    run.add_argument("--once", action="store_true", help="one pass over the due purchases, then exit")
    defaults = Schedule()
    run.add_argument("--interval", type=float, default=defaults.interval, help="seconds between looks (60)")
    run.add_argument("--max-attempts", type=int, default=defaults.max_attempts, help="before manual (5)")
    run.add_argument("--retry-delay", type=float, default=defaults.retry_delay, help="seconds after a failure (600)")
    run.add_argument("--lease", type=float, default=defaults.lease, help="seconds a send may take (300)")
    return parser


async def _command(args: argparse.Namespace, location: str) -> int:
    schedule = None
    if args.command == "run":
        schedule = Schedule(
            interval=args.interval, max_attempts=args.max_attempts, retry_delay=args.retry_delay, lease=args.lease
        )
    async with command_outbox(location, create=args.command == "run", schedule=schedule) as outbox:
        if args.command == "list":
            print(render_table(await list_records(outbox, args.state, every=args.all, limit=args.limit)))
            print(f"\n{render_counts(await outbox.counts())}  ({outbox.store.location})")
        elif args.command == "show":
            record = await show_record(outbox, args.bill_id)
            print(render_table([record], width=200))
            if details := describe_record(record):
                print(f"\n{details}")
        elif args.command == "retry":
            print(render_table(await retry_records(outbox, args.bill_ids, all_manual=args.all_manual)))
        elif args.command == "discard":
            print(render_table([await outbox.discard(args.bill_id, reason=args.reason)]))
        else:
            return await _run(outbox, args)
    return 0


async def _run(outbox: Outbox, args: argparse.Namespace) -> int:
    from .._client import CareCloud

    async with CareCloud.from_env() as cc:
        if args.once:
            print(describe_pass(await outbox.send_due(cc, concurrency=args.concurrency)))
            return 0
        announce = functools.partial(print, flush=True)
        await send_until_stopped(outbox, cc, concurrency=args.concurrency, stop=stop_on_signals(), announce=announce)
        print(render_counts(await outbox.counts()), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (0 done, 1 failed, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        location = outbox_location(args.db, args.dsn)
    except CareCloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_command(args, location))
    except RequestValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CareCloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
