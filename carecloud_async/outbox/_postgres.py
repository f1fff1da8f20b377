"""The shared outbox store: PostgreSQL via asyncpg (``pip install carecloud-async[postgres]``).

For several application servers (or sender processes) sharing one outbox. A sender claims
purchases with ``SELECT … FOR UPDATE SKIP LOCKED`` inside the claiming ``UPDATE``: two senders
never take the same row, and the state is checked again on the row's newest version, so a
purchase another sender took a moment ago is skipped. A claim carries a lease (``lease_until``)
and a token; a sender that dies loses its purchases when the lease runs out, and another
sender resends them (safe: CareCloud refuses a second ``bill_id`` with ``already_exists``,
which counts as sent). Commits are synchronous: every connection of the store sets
``synchronous_commit = on`` whatever the server, database, role or URL says, so a submitted,
retried or discarded purchase is on disk when the call returns (``off``, a common tuning, lets a
commit return before its WAL is flushed, and a server crash then loses it).

The schema is created on first use under an advisory lock and versioned in
``carecloud_outbox_schema``; a database of an older version is migrated when it is opened, under
the same lock and in one transaction (:data:`_MIGRATIONS`).

    async with Outbox("postgresql://pos@db.internal/carecloud") as outbox:
        await outbox.submit(body)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ._errors import OutboxStoreError
from ._records import NewPurchase, OutboxRecord, SendError, State

try:
    import asyncpg
except ImportError:  # pragma: no cover - depends on the installed extras
    asyncpg = None

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

SCHEMA_VERSION = 2
_TABLE = "carecloud_outbox_purchases"
_VERSION_TABLE = "carecloud_outbox_schema"
_LANES = "carecloud_outbox_lanes"
# Startup settings of every connection: they survive the pool's RESET ALL, and win over the server's,
# the database's, the role's and the URL's (see the module docs).
_DURABLE_SETTINGS = {"synchronous_commit": "on"}
# Any constant: the key of the advisory lock that serialises schema creation across processes.
_SCHEMA_LOCK = 0x6361726563_6C6F7564 % (2**63)
_OPEN = "('pending', 'sending')"
_SCHEMA = [
    f"""CREATE TABLE {_TABLE} (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        bill_id TEXT NOT NULL UNIQUE,
        store_id TEXT NOT NULL,
        cashdesk_number INTEGER NOT NULL,
        body TEXT NOT NULL,
        cancels_bill_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'manual', 'discarded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        submitted_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        next_attempt_at DOUBLE PRECISION,
        lease_until DOUBLE PRECISION,
        lease_token TEXT,
        purchase_id TEXT,
        already_recorded BOOLEAN NOT NULL DEFAULT FALSE,
        last_error TEXT,
        discard_reason TEXT,
        traceparent TEXT
    )""",
    f"CREATE INDEX carecloud_outbox_open_lanes ON {_TABLE} (store_id, cashdesk_number, seq) WHERE state IN {_OPEN}",
    f"CREATE INDEX carecloud_outbox_state ON {_TABLE} (state, seq)",
    f"CREATE INDEX carecloud_outbox_cancels ON {_TABLE} (cancels_bill_id) WHERE cancels_bill_id IS NOT NULL",
    f"""CREATE TABLE {_LANES} (
        store_id TEXT NOT NULL,
        cashdesk_number INTEGER NOT NULL,
        PRIMARY KEY (store_id, cashdesk_number)
    )""",
    f"CREATE TABLE {_VERSION_TABLE} (version INTEGER NOT NULL)",
    f"INSERT INTO {_VERSION_TABLE} (version) VALUES ({SCHEMA_VERSION})",
]
# Version n -> n + 1: the statements that bring a database of schema version n to the next one.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: the submit span's W3C trace context, for the send's span to link to across processes.
    1: (f"ALTER TABLE {_TABLE} ADD COLUMN traceparent TEXT",),
}
# The oldest open purchase of each store / cash desk (only it may be sent): one index probe per cash
# desk ever seen (the lanes table), not a scan of every open purchase.
_HEADS = f"""SELECT h.seq FROM {_LANES} l CROSS JOIN LATERAL (
    SELECT p.seq FROM {_TABLE} p WHERE p.store_id = l.store_id AND p.cashdesk_number = l.cashdesk_number
    AND p.state IN {_OPEN} ORDER BY p.seq LIMIT 1) h"""
_DUE = "((c.state = 'pending' AND c.next_attempt_at <= $1) OR (c.state = 'sending' AND c.lease_until <= $1))"
_CLAIM = f"""
UPDATE {_TABLE} o SET state = 'sending', attempts = o.attempts + 1, lease_until = $2, lease_token = $3,
    updated_at = $1
WHERE o.seq IN (
    SELECT c.seq FROM {_TABLE} c WHERE c.seq IN ({_HEADS}) AND {_DUE}
    ORDER BY c.seq LIMIT $4
    FOR UPDATE SKIP LOCKED
)
RETURNING o.*
"""
_NEXT_DUE = f"""
SELECT MIN(CASE WHEN c.state = 'pending' THEN c.next_attempt_at ELSE c.lease_until END)
FROM {_TABLE} c WHERE c.seq IN ({_HEADS})
"""


def _safe_location(dsn: str) -> str:
    """The DSN without its password, for messages."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return dsn
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"


class PostgresStore:
    """Outbox rows in PostgreSQL (see the module docs). ``dsn`` is a ``postgresql://`` URL;
    ``min_size``/``max_size`` size the connection pool.

        store = PostgresStore("postgresql://pos@db.internal/carecloud", max_size=4)
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float = 10.0):
        self.dsn = dsn
        self.location = _safe_location(dsn)
        self.min_size = min_size
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"PostgresStore({self.location!r})"

    def _error(self, doing: str, exc: BaseException) -> OutboxStoreError:
        # asyncpg's messages name the server and database, never the password.
        return OutboxStoreError(
            f"outbox database {self.location}: cannot {doing}: {type(exc).__name__}: {exc}", location=self.location
        )

    async def open(self) -> None:
        if self._pool is not None:
            return
        if asyncpg is None:
            raise OutboxStoreError(
                "the PostgreSQL outbox store needs asyncpg: pip install 'carecloud-async[postgres]'",
                location=self.location,
            )
        try:
            pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.connect_timeout,
                server_settings=_DURABLE_SETTINGS,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise self._error("connect", exc) from exc
        try:
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", _VERSION_TABLE)
                if not exists:
                    for statement in _SCHEMA:
                        await connection.execute(statement)
                version = await connection.fetchval(f"SELECT MAX(version) FROM {_VERSION_TABLE}")
                if isinstance(version, int) and 1 <= version < SCHEMA_VERSION:
                    for step in range(version, SCHEMA_VERSION):
                        for statement in _MIGRATIONS[step]:
                            await connection.execute(statement)
                    await connection.execute(f"UPDATE {_VERSION_TABLE} SET version = {SCHEMA_VERSION}")
                    version = SCHEMA_VERSION
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await pool.close()
            raise self._error("create or check the schema", exc) from exc
        if version != SCHEMA_VERSION:
            await pool.close()
            raise OutboxStoreError(
                f"outbox database {self.location} has schema version {version}; this carecloud-async knows "
                f"version {SCHEMA_VERSION}" + (": upgrade carecloud-async" if (version or 0) > SCHEMA_VERSION else ""),
                location=self.location,
            )
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _run(self, doing: str, method: str, sql: str, *args: Any) -> Any:
        if self._pool is None:
            raise OutboxStoreError(f"outbox database {self.location} is not open", location=self.location)
        try:
            async with self._pool.acquire() as connection:
                return await getattr(connection, method)(sql, *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise self._error(doing, exc) from exc

    async def add(self, purchase: NewPurchase, *, now: float) -> tuple[OutboxRecord, bool]:
        row = await self._run(
            "store the purchase",
            "fetchrow",
            f"""WITH lane AS (INSERT INTO {_LANES} (store_id, cashdesk_number) VALUES ($2, $3) ON CONFLICT DO NOTHING)
            INSERT INTO {_TABLE} (bill_id, store_id, cashdesk_number, body, cancels_bill_id, state, attempts,
                submitted_at, updated_at, next_attempt_at, traceparent)
            VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6, $7)
            ON CONFLICT (bill_id) DO NOTHING RETURNING *""",
            purchase.bill_id,
            purchase.store_id,
            purchase.cashdesk_number,
            purchase.body,
            purchase.cancels_bill_id,
            now,
            purchase.traceparent,
        )
        if row is not None:
            return OutboxRecord.from_row(row), True
        existing = await self.get(purchase.bill_id)
        if existing is None:  # pragma: no cover - records are never deleted
            raise self._error("store the purchase", RuntimeError("conflicting row not found"))
        return existing, False

    async def get(self, bill_id: str) -> OutboxRecord | None:
        row = await self._run("read a purchase", "fetchrow", f"SELECT * FROM {_TABLE} WHERE bill_id = $1", bill_id)
        return None if row is None else OutboxRecord.from_row(row)

    async def cancellation_of(self, bill_id: str) -> OutboxRecord | None:
        row = await self._run(
            "read a cancellation",
            "fetchrow",
            f"SELECT * FROM {_TABLE} WHERE cancels_bill_id = $1 ORDER BY seq LIMIT 1",
            bill_id,
        )
        return None if row is None else OutboxRecord.from_row(row)

    async def records(self, states: Collection[State] | None = None, *, limit: int | None = None) -> list[OutboxRecord]:
        wanted = None if states is None else [State(state).value for state in states]
        rows = await self._run(
            "list purchases",
            "fetch",
            f"SELECT * FROM {_TABLE} WHERE ($1::text[] IS NULL OR state = ANY($1::text[])) ORDER BY seq LIMIT $2",
            wanted,
            limit,
        )
        return [OutboxRecord.from_row(row) for row in rows]

    async def counts(self) -> dict[State, int]:
        rows = await self._run("count purchases", "fetch", f"SELECT state, COUNT(*) FROM {_TABLE} GROUP BY state")
        found = {State(row[0]): int(row[1]) for row in rows}
        return {state: found.get(state, 0) for state in State}

    async def claim(self, *, now: float, lease_until: float, token: str, limit: int) -> list[OutboxRecord]:
        rows = await self._run("claim purchases", "fetch", _CLAIM, now, lease_until, token, limit)
        return sorted((OutboxRecord.from_row(row) for row in rows), key=lambda record: record.seq)

    async def next_due(self) -> float | None:
        value = await self._run("find the next due purchase", "fetchval", _NEXT_DUE)
        return None if value is None else float(value)

    async def mark_sent(self, bill_id: str, *, purchase_id: str | None, already_recorded: bool, now: float) -> None:
        await self._run(
            "mark a purchase sent",
            "execute",
            f"""UPDATE {_TABLE} SET state = 'sent', purchase_id = $2, already_recorded = $3, next_attempt_at = NULL,
                lease_until = NULL, lease_token = NULL, updated_at = $4
            WHERE bill_id = $1 AND state != 'sent'""",
            bill_id,
            purchase_id,
            already_recorded,
            now,
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
        row = await self._run(
            "record a failed attempt",
            "fetchrow",
            f"""UPDATE {_TABLE} SET state = $3, next_attempt_at = $4, last_error = $5, lease_until = NULL,
                lease_token = NULL, updated_at = $6
            WHERE bill_id = $1 AND state = 'sending' AND lease_token = $2 RETURNING seq""",
            bill_id,
            token,
            state.value,
            next_attempt_at,
            error.to_json(),
            now,
        )
        return row is not None

    async def release(self, bill_id: str, *, token: str, now: float) -> bool:
        row = await self._run(
            "release a purchase",
            "fetchrow",
            f"""UPDATE {_TABLE} SET state = 'pending', attempts = GREATEST(attempts - 1, 0), next_attempt_at = $3,
                lease_until = NULL, lease_token = NULL, updated_at = $3
            WHERE bill_id = $1 AND state = 'sending' AND lease_token = $2 RETURNING seq""",
            bill_id,
            token,
            now,
        )
        return row is not None

    async def retry_now(self, bill_id: str, *, now: float) -> OutboxRecord | None:
        row = await self._run(
            "retry a purchase",
            "fetchrow",
            f"""UPDATE {_TABLE} SET state = 'pending', attempts = 0, next_attempt_at = $2, updated_at = $2
            WHERE bill_id = $1 AND state = 'manual' RETURNING *""",
            bill_id,
            now,
        )
        return None if row is None else OutboxRecord.from_row(row)

    async def discard(self, bill_id: str, *, reason: str, now: float) -> OutboxRecord | None:
        row = await self._run(
            "discard a purchase",
            "fetchrow",
            f"""UPDATE {_TABLE} SET state = 'discarded', discard_reason = $2, next_attempt_at = NULL, updated_at = $3
            WHERE bill_id = $1 AND state = 'manual' RETURNING *""",
            bill_id,
            reason,
            now,
        )
        return None if row is None else OutboxRecord.from_row(row)
