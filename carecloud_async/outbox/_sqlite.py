"""The embedded outbox store: one SQLite file (WAL), via aiosqlite (``pip install carecloud-async[outbox]``).

Two connections: submits, retries and discards commit with ``synchronous=FULL`` (a purchase is
on disk when ``submit`` returns, even if the power goes next); the sender's bookkeeping (claims,
``sent`` marks) commits with ``synchronous=NORMAL`` (it survives a killed process; a power cut
can at worst forget a claim or a ``sent`` mark, and then the purchase is resent, which its
``bill_id`` makes harmless). Submits arriving together share one transaction (group commit, one
fsync); every other write is a single statement, its own transaction, and a retry or discard waits
for an open batch to commit before it runs, so whatever a call returns is committed first. A claim
picks and marks its purchases under SQLite's write lock, so several processes on one file never
claim the same purchase.

The file is created on first use; its directory must exist (a missing directory is more often an
unmounted disk than a wish for a new, empty outbox). The schema version is ``PRAGMA user_version``;
a file of an older version is migrated when it is opened (:data:`_MIGRATIONS`, in one transaction).

    store = SQLiteStore("/var/lib/pos/outbox.sqlite3")
    async with Outbox(store) as outbox:
        await outbox.submit(body)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ._errors import OutboxStoreError
from ._records import NewPurchase, OutboxRecord, SendError, State

try:
    import aiosqlite
except ImportError:  # pragma: no cover - depends on the installed extras
    aiosqlite = None  # type: ignore[assignment]

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: The schema this version writes; a file with a higher one was written by a newer carecloud-async.
SCHEMA_VERSION = 2

_TABLE = "carecloud_outbox_purchases"
_LANES = "carecloud_outbox_lanes"
_OPEN = "('pending', 'sending')"
_SCHEMA = f"""
CREATE TABLE {_TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_id TEXT NOT NULL UNIQUE,
    store_id TEXT NOT NULL,
    cashdesk_number INTEGER NOT NULL,
    body TEXT NOT NULL,
    cancels_bill_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'manual', 'discarded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    submitted_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt_at REAL,
    lease_until REAL,
    lease_token TEXT,
    purchase_id TEXT,
    already_recorded INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    discard_reason TEXT,
    traceparent TEXT
);
CREATE INDEX carecloud_outbox_open_lanes ON {_TABLE} (store_id, cashdesk_number, seq) WHERE state IN {_OPEN};
CREATE INDEX carecloud_outbox_state ON {_TABLE} (state, seq);
CREATE INDEX carecloud_outbox_cancels ON {_TABLE} (cancels_bill_id) WHERE cancels_bill_id IS NOT NULL;
CREATE TABLE {_LANES} (
    store_id TEXT NOT NULL,
    cashdesk_number INTEGER NOT NULL,
    PRIMARY KEY (store_id, cashdesk_number)
) WITHOUT ROWID;
"""
# The oldest open purchase of each store / cash desk: only it may be sent (submission order). The
# lanes table (every cash desk ever seen) drives the loop (CROSS JOIN keeps it outermost): one index
# seek per cash desk, not a scan of every open purchase.
_HEAD_OF_LANE = f"""(SELECT p.seq FROM {_TABLE} p WHERE p.store_id = l.store_id
    AND p.cashdesk_number = l.cashdesk_number AND p.state IN {_OPEN} ORDER BY p.seq LIMIT 1)"""
_CLAIM = f"""
UPDATE {_TABLE} SET state = 'sending', attempts = attempts + 1, lease_until = :lease_until,
    lease_token = :token, updated_at = :now
WHERE seq IN (
    SELECT o.seq FROM {_LANES} l CROSS JOIN {_TABLE} o ON o.seq = {_HEAD_OF_LANE}
    WHERE (o.state = 'pending' AND o.next_attempt_at <= :now) OR (o.state = 'sending' AND o.lease_until <= :now)
    ORDER BY o.seq LIMIT :limit
)
RETURNING *
"""
# Version n -> n + 1: the statements that bring a file of schema version n to the next one.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: the submit span's W3C trace context, for the send's span to link to across processes.
    1: (f"ALTER TABLE {_TABLE} ADD COLUMN traceparent TEXT",),
}
_INSERT = f"""
INSERT INTO {_TABLE} (bill_id, store_id, cashdesk_number, body, cancels_bill_id, state, attempts, submitted_at,
    updated_at, next_attempt_at, traceparent)
VALUES (:bill_id, :store_id, :cashdesk_number, :body, :cancels_bill_id, 'pending', 0, :now, :now, :now, :traceparent)
ON CONFLICT (bill_id) DO NOTHING RETURNING *
"""
_NEXT_DUE = f"""
SELECT MIN(CASE WHEN o.state = 'pending' THEN o.next_attempt_at ELSE o.lease_until END)
FROM {_LANES} l CROSS JOIN {_TABLE} o ON o.seq = {_HEAD_OF_LANE}
"""


class SQLiteStore:
    """Outbox rows in one SQLite file (see the module docs). ``create=False`` refuses a missing
    file instead of creating it (the command line uses that: a typo must not show an empty outbox).

        store = SQLiteStore("outbox.sqlite3")
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, busy_timeout: float = 30.0):
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self.create = create
        self.busy_timeout = busy_timeout
        self._durable: aiosqlite.Connection | None = None
        self._sender: aiosqlite.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._adds: list[tuple[NewPurchase, float, asyncio.Future[tuple[OutboxRecord, bool]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # Held by a group-commit batch from BEGIN to COMMIT, and by every other statement on the
        # durable connection: a statement run there while a batch is open would join the batch's
        # transaction, return before its COMMIT and be rolled back with it (or lost in a kill -9).
        self._durable_lock = asyncio.Lock()
        # Cash desks known to be in the lanes table (saves a statement per submit).
        self._lanes: set[tuple[str, int]] = set()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.location!r})"

    def _error(self, doing: str, exc: BaseException) -> OutboxStoreError:
        return OutboxStoreError(f"outbox database {self.location}: cannot {doing}: {exc}", location=self.location)

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        if self._durable is not None:
            return
        if aiosqlite is None:
            raise OutboxStoreError(
                "the SQLite outbox store needs aiosqlite: pip install 'carecloud-async[outbox]'", location=self.location
            )
        if not self.path.parent.is_dir():
            raise OutboxStoreError(
                f"outbox database {self.location}: the directory {self.path.parent} does not exist",
                location=self.location,
            )
        if not self.create and not self.path.exists():
            raise OutboxStoreError(
                f"outbox database {self.location} does not exist (it is created by the first submit)",
                location=self.location,
            )
        self._durable_lock = asyncio.Lock()  # of this event loop
        try:
            self._durable = await self._connect("FULL")
            await self._migrate(self._durable)
            self._sender = await self._connect("NORMAL")
            stat = self.path.stat()
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise self._error("open it", exc) from exc
        except OutboxStoreError:
            await self.close()
            raise
        self._identity = (stat.st_dev, stat.st_ino)

    async def _connect(self, synchronous: str) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None, timeout=self.busy_timeout)
        try:
            connection.row_factory = sqlite3.Row
            mode = await self._journal_mode_wal(connection)
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"WAL journal mode is not available (got {mode!r})")
            await connection.execute(f"PRAGMA synchronous = {synchronous}")
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _journal_mode_wal(self, connection: aiosqlite.Connection) -> Any:
        # Switching a new file to WAL needs a lock SQLite does not wait for (its busy handler is
        # not called there): while another process creates the schema (a submitter and a sender
        # starting together on a new outbox), the switch answers "database is locked" at once.
        # Wait for it as for any other lock, up to busy_timeout.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                return await _scalar(connection, "PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _migrate(self, connection: aiosqlite.Connection) -> None:
        await connection.execute("BEGIN IMMEDIATE")
        try:
            version = int(await _scalar(connection, "PRAGMA user_version"))
            tables = {row[0] for row in await connection.execute_fetchall("SELECT name FROM sqlite_master")}
            if version > SCHEMA_VERSION:
                raise OutboxStoreError(
                    f"outbox database {self.location} has schema version {version}, written by a newer "
                    f"carecloud-async; this one knows version {SCHEMA_VERSION}: upgrade carecloud-async",
                    location=self.location,
                )
            if version == 0:
                if tables:
                    raise OutboxStoreError(
                        f"{self.location} is an SQLite database but not a carecloud-async outbox "
                        f"(it has tables {', '.join(sorted(tables))})",
                        location=self.location,
                    )
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif not {_TABLE, _LANES} <= tables:
                raise OutboxStoreError(
                    f"outbox database {self.location}: outbox tables are missing", location=self.location
                )
            elif version < SCHEMA_VERSION:  # under the write lock taken above: one process migrates
                for step in range(version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[step]:
                        await connection.execute(statement)
                await connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            await connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                await connection.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher is not None:  # submits already queued are committed (or fail) before closing
            await asyncio.gather(flusher, return_exceptions=True)
        for name in ("_sender", "_durable"):
            connection = getattr(self, name)
            setattr(self, name, None)
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):  # closing a broken connection
                    await connection.close()

    def _connections(self) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
        if self._durable is None or self._sender is None:
            raise OutboxStoreError(f"outbox database {self.location} is not open", location=self.location)
        return self._durable, self._sender

    def _check_file(self) -> None:
        # SQLite keeps writing to a file deleted or replaced under it, and those writes vanish when
        # the process ends: refuse to store a purchase there.
        try:
            stat = self.path.stat()
        except OSError:
            stat = None
        if stat is None or (stat.st_dev, stat.st_ino) != self._identity:
            raise OutboxStoreError(
                f"outbox database {self.location} was deleted or replaced while in use; the purchase was "
                "NOT stored. Restore the file (or restart to create a new one) and submit again",
                location=self.location,
            )

    # ------------------------------------------------------------------ writes

    async def _execute(self, connection: aiosqlite.Connection, doing: str, sql: str, params: Any) -> list[sqlite3.Row]:
        # One statement in autocommit mode: each write is its own transaction, which takes the write
        # lock before it reads (so a claim's choice and its update are one atomic step), committed
        # before the call returns. One thread round trip per write is what makes submits fast. Only
        # the sender's connection comes here; the durable one goes through _on_durable.
        try:
            return list(await connection.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise self._error(doing, exc) from exc

    async def _on_durable(self, doing: str, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        # Retries, discards and reads run on the durable connection, one at a time with the
        # group-commit batches: outside any batch, a write here is committed (synchronous=FULL)
        # before this returns, and a read never sees a batch's rows before they are committed.
        durable, _ = self._connections()
        async with self._durable_lock:
            return await self._execute(durable, doing, sql, params)

    async def add(self, purchase: NewPurchase, *, now: float) -> tuple[OutboxRecord, bool]:
        self._connections()
        self._check_file()
        # Group commit: submits that arrive while a commit is under way wait for the next one and
        # share its fsync, so many cash desks submitting at once are not one fsync each.
        future: asyncio.Future[tuple[OutboxRecord, bool]] = asyncio.get_running_loop().create_future()
        self._adds.append((purchase, now, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_adds())
        return await asyncio.shield(future)

    async def _flush_adds(self) -> None:
        durable, _ = self._connections()
        while self._adds:
            batch, self._adds = self._adds, []
            try:
                async with self._durable_lock:
                    results = await self._insert(durable, batch)
            except BaseException as exc:
                error = self._error("store the purchase", exc) if isinstance(exc, sqlite3.Error) else exc
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _insert(
        self, durable: aiosqlite.Connection, batch: list[tuple[NewPurchase, float, Any]]
    ) -> list[tuple[OutboxRecord, bool]]:
        results: list[tuple[OutboxRecord, bool]] = []
        await durable.execute("BEGIN IMMEDIATE")
        try:
            for purchase, now, _ in batch:
                lane = (purchase.store_id, purchase.cashdesk_number)
                if lane not in self._lanes:
                    await durable.execute(f"INSERT OR IGNORE INTO {_LANES} VALUES (?, ?)", lane)
                rows = list(await durable.execute_fetchall(_INSERT, {**_insert_params(purchase), "now": now}))
                if rows:
                    results.append((OutboxRecord.from_row(rows[0]), True))
                else:
                    existing = await durable.execute_fetchall(
                        f"SELECT * FROM {_TABLE} WHERE bill_id = ?", (purchase.bill_id,)
                    )
                    results.append((OutboxRecord.from_row(next(iter(existing))), False))
            await durable.execute("COMMIT")
        except BaseException:
            if durable.in_transaction:
                await durable.execute("ROLLBACK")
            raise
        self._lanes.update((purchase.store_id, purchase.cashdesk_number) for purchase, _, _ in batch)
        return results

    async def claim(self, *, now: float, lease_until: float, token: str, limit: int) -> list[OutboxRecord]:
        _, sender = self._connections()
        rows = await self._execute(
            sender, "claim purchases", _CLAIM, {"now": now, "lease_until": lease_until, "token": token, "limit": limit}
        )
        return sorted((OutboxRecord.from_row(row) for row in rows), key=lambda record: record.seq)

    async def mark_sent(self, bill_id: str, *, purchase_id: str | None, already_recorded: bool, now: float) -> None:
        _, sender = self._connections()
        await self._execute(
            sender,
            "mark a purchase sent",
            f"""UPDATE {_TABLE} SET state = 'sent', purchase_id = :purchase_id, already_recorded = :already,
                next_attempt_at = NULL, lease_until = NULL, lease_token = NULL, updated_at = :now
            WHERE bill_id = :bill_id AND state != 'sent'""",
            {"bill_id": bill_id, "purchase_id": purchase_id, "already": int(already_recorded), "now": now},
        )

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
        _, sender = self._connections()
        rows = await self._execute(
            sender,
            "record a failed attempt",
            f"""UPDATE {_TABLE} SET state = :state, next_attempt_at = :next, last_error = :error,
                lease_until = NULL, lease_token = NULL, updated_at = :now
            WHERE bill_id = :bill_id AND state = 'sending' AND lease_token = :token RETURNING seq""",
            {
                "bill_id": bill_id,
                "token": token,
                "state": state.value,
                "next": next_attempt_at,
                "error": error.to_json(),
                "now": now,
            },
        )
        return bool(rows)

    async def release(self, bill_id: str, *, token: str, now: float) -> bool:
        _, sender = self._connections()
        rows = await self._execute(
            sender,
            "release a purchase",
            f"""UPDATE {_TABLE} SET state = 'pending', attempts = MAX(attempts - 1, 0), next_attempt_at = :now,
                lease_until = NULL, lease_token = NULL, updated_at = :now
            WHERE bill_id = :bill_id AND state = 'sending' AND lease_token = :token RETURNING seq""",
            {"bill_id": bill_id, "token": token, "now": now},
        )
        return bool(rows)

    async def retry_now(self, bill_id: str, *, now: float) -> OutboxRecord | None:
        rows = await self._on_durable(
            "retry a purchase",
            f"""UPDATE {_TABLE} SET state = 'pending', attempts = 0, next_attempt_at = :now, updated_at = :now
            WHERE bill_id = :bill_id AND state = 'manual' RETURNING *""",
            {"bill_id": bill_id, "now": now},
        )
        return OutboxRecord.from_row(rows[0]) if rows else None

    async def discard(self, bill_id: str, *, reason: str, now: float) -> OutboxRecord | None:
        rows = await self._on_durable(
            "discard a purchase",
            f"""UPDATE {_TABLE} SET state = 'discarded', discard_reason = :reason, next_attempt_at = NULL,
                updated_at = :now
            WHERE bill_id = :bill_id AND state = 'manual' RETURNING *""",
            {"bill_id": bill_id, "reason": reason, "now": now},
        )
        return OutboxRecord.from_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ reads

    async def _read(self, doing: str, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return await self._on_durable(doing, sql, params)

    async def get(self, bill_id: str) -> OutboxRecord | None:
        rows = await self._read("read a purchase", f"SELECT * FROM {_TABLE} WHERE bill_id = ?", (bill_id,))
        return OutboxRecord.from_row(rows[0]) if rows else None

    async def cancellation_of(self, bill_id: str) -> OutboxRecord | None:
        rows = await self._read(
            "read a cancellation", f"SELECT * FROM {_TABLE} WHERE cancels_bill_id = ? ORDER BY seq LIMIT 1", (bill_id,)
        )
        return OutboxRecord.from_row(rows[0]) if rows else None

    async def records(self, states: Collection[State] | None = None, *, limit: int | None = None) -> list[OutboxRecord]:
        sql, params = f"SELECT * FROM {_TABLE}", list[Any]()
        if states is not None:
            wanted = [State(state).value for state in states]
            sql += f" WHERE state IN ({', '.join('?' * len(wanted))})" if wanted else " WHERE 0"
            params += wanted
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [OutboxRecord.from_row(row) for row in await self._read("list purchases", sql, params)]

    async def counts(self) -> dict[State, int]:
        rows = await self._read("count purchases", f"SELECT state, COUNT(*) FROM {_TABLE} GROUP BY state")
        found = {State(row[0]): int(row[1]) for row in rows}
        return {state: found.get(state, 0) for state in State}

    async def next_due(self) -> float | None:
        rows = await self._read("find the next due purchase", _NEXT_DUE)
        value = rows[0][0] if rows else None
        return None if value is None else float(value)


def _insert_params(purchase: NewPurchase) -> dict[str, Any]:
    return {
        "bill_id": purchase.bill_id,
        "store_id": purchase.store_id,
        "cashdesk_number": purchase.cashdesk_number,
        "body": purchase.body,
        "cancels_bill_id": purchase.cancels_bill_id,
        "traceparent": purchase.traceparent,
    }


async def _scalar(connection: aiosqlite.Connection, sql: str) -> Any:
    async with connection.execute(sql) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]
