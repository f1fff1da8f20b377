"""Processes that submit to and send from an outbox with OpenTelemetry's SDK configured (a tracer
provider and an in-memory exporter each), for the tests that the send's span links to the submit's
across processes (the submit's ``traceparent`` is stored with the purchase), and a schema-1
database to migrate.

    submits = run_traced("submit", db, "B-1", "B-2")   # {bill_id: {"context": [...], "links": []}}
    sends = run_traced("send", db, env=carecloud_env)   # the send spans: context, links, outcome

Each span is printed as one JSON line: ``name``, ``bill_id``, ``outcome``, ``context`` and
``links`` as ``[trace_id, span_id, trace_flags, is_remote]`` (ids as hex text).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import asyncio, json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from carecloud_async import CareCloud
from carecloud_async.outbox import Outbox
from carecloud_async.testing import sample_purchase

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
if sys.argv[1] != "submit-untraced":  # that one: the SDK installed, no provider configured
    trace.set_tracer_provider(provider)

async def main(mode, db, bills):
    async with Outbox(db) as outbox:
        if mode.startswith("submit"):
            for n, bill in enumerate(bills):
                await outbox.submit(sample_purchase(bill, cashdesk_number=1 + n))
        else:
            async with CareCloud.from_env() as cc:
                await outbox.send_due(cc, concurrency=4)

def context(c):
    return [format(c.trace_id, "032x"), format(c.span_id, "016x"), int(c.trace_flags), c.is_remote]

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
for span in exporter.get_finished_spans():
    if span.name.startswith("carecloud.outbox "):
        attributes = dict(span.attributes or {})
        print(json.dumps({
            "name": span.name,
            "bill_id": attributes["carecloud.outbox.bill_id"],
            "outcome": attributes.get("carecloud.outbox.outcome"),
            "context": context(span.context),
            "links": [context(link.context) for link in span.links],
        }))
"""


def run_traced(mode: str, db: str, *bills: str, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Run a ``submit`` (of ``bills``), ``submit-untraced`` (no tracer provider) or ``send`` (one
    pass, CareCloud from ``env``) process on ``db`` (a path or a PostgreSQL URL); its outbox spans
    of that kind by bill_id."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CARECLOUD_", "OTEL_"))}
    environment.update(env or {})
    done = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", SCRIPT, mode, db, *bills],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    spans = [json.loads(line) for line in done.stdout.splitlines()]
    name = f"carecloud.outbox {mode}"
    found = {span["bill_id"]: span for span in spans if span["name"] == name}
    assert len(found) == len([span for span in spans if span["name"] == name]), spans
    return found


def traceparent_of(span: dict[str, Any]) -> str:
    """The W3C traceparent of a printed span."""
    trace_id, span_id, flags, _ = span["context"]
    return f"00-{trace_id}-{span_id}-{flags:02x}"


# ---------------------------------------------------------------- schema version 1


def schema_1(statements: list[str], version_insert: str | None = None) -> list[str]:
    """The schema-1 statements from a store's current ones: the same but for the ``traceparent``
    column (added by version 2), and version 1 recorded."""
    old = []
    for statement in statements:
        without = statement.replace(",\n        traceparent TEXT", "").replace(",\n    traceparent TEXT", "")
        old.append(without)
    assert old != statements, "the traceparent column is no longer where this helper expects it"
    if version_insert is not None:
        assert version_insert in old
        old[old.index(version_insert)] = version_insert.replace("VALUES (2)", "VALUES (1)")
    return old


#: A purchase row as schema 1 stored it (no traceparent column), in each store's placeholders.
OLD_INSERT_SQLITE = (
    "INSERT INTO carecloud_outbox_purchases (bill_id, store_id, cashdesk_number, body, state, attempts,"
    " submitted_at, updated_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
OLD_INSERT_POSTGRES = (
    "INSERT INTO carecloud_outbox_purchases (bill_id, store_id, cashdesk_number, body, state, attempts,"
    " submitted_at, updated_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)


def old_row(bill_id: str, *, cashdesk_number: int = 9) -> tuple[Any, ...]:
    """A pending, due purchase of schema 1 (store-1 / ``cashdesk_number``)."""
    from carecloud_async.outbox._records import canonical_json
    from carecloud_async.testing import sample_purchase

    now = time.time() - 60
    body = canonical_json(sample_purchase(bill_id, cashdesk_number=cashdesk_number).to_dict())
    return (bill_id, "store-1", cashdesk_number, body, "pending", 0, now, now, now)


def make_sqlite_schema_1(path: Path, bill_id: str) -> None:
    """An SQLite outbox file as carecloud-async with schema 1 left it, holding ``bill_id`` pending."""
    from carecloud_async.outbox import _sqlite

    statements = schema_1([s for s in _sqlite._SCHEMA.split(";") if s.strip()])
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
        row = old_row(bill_id)
        db.execute(OLD_INSERT_SQLITE, row)
        db.execute("INSERT INTO carecloud_outbox_lanes VALUES (?, ?)", (row[1], row[2]))
        db.execute("PRAGMA user_version = 1")
    assert "traceparent" not in columns_sqlite(path)


def columns_sqlite(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(carecloud_outbox_purchases)")]


async def make_postgres_schema_1(dsn: str, bill_id: str) -> None:
    """A PostgreSQL outbox database as carecloud-async with schema 1 left it, holding ``bill_id``."""
    import asyncpg

    from carecloud_async.outbox import _postgres

    version_insert = "INSERT INTO carecloud_outbox_schema (version) VALUES (2)"
    statements = schema_1(list(_postgres._SCHEMA), version_insert)
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            for statement in statements:
                await connection.execute(statement)
            row = old_row(bill_id)
            await connection.execute(OLD_INSERT_POSTGRES, *row)
            await connection.execute("INSERT INTO carecloud_outbox_lanes VALUES ($1, $2)", row[1], row[2])
        assert "traceparent" not in await columns_postgres(dsn)
    finally:
        await connection.close()


async def columns_postgres(dsn: str) -> list[str]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'carecloud_outbox_purchases'"
        )
        return [row[0] for row in rows]
    finally:
        await connection.close()
