"""The outbox across processes: a sender killed with SIGKILL mid-send and a new one resuming (SQLite
and PostgreSQL), two sender processes on one PostgreSQL outbox at once, and the PostgreSQL store
itself. PostgreSQL is a real server from the ``pgserver`` wheel (Debian's binaries where the wheel
is absent: scripts/postgres_server.py), started once per session on a temporary directory; the
tests fail (never skip) when it cannot start."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from outbox_fake import OutboxFake, serving
from outbox_submitter import PlanRunner, change_then_killed, submit_until_killed
from outbox_traced import (
    columns_postgres,
    columns_sqlite,
    make_postgres_schema_1,
    make_sqlite_schema_1,
    run_traced,
    traceparent_of,
)

from carecloud_async.outbox import Outbox, OutboxStoreError, PostgresStore, Schedule, SendError, State
from carecloud_async.outbox._records import NewPurchase
from carecloud_async.testing import sample_purchase
from scripts.postgres_server import start_postgres

# pgserver's platformdirs notes that XDG_RUNTIME_DIR is unset (it falls back to /tmp): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")
ROOT = Path(__file__).resolve().parents[1]
_DATABASES = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL server (pgserver wheel, else Debian's binaries) on a temporary directory's socket."""
    folder = Path(tempfile.mkdtemp(prefix="outbox-pg-"))
    try:
        server = start_postgres(folder)
        server.psql("SELECT 1;")
    except Exception as exc:  # whatever stops it, the tests that need it fail with the reason
        problem = f"{type(exc).__name__}: {exc}"
    else:
        try:
            yield server
        finally:
            server.cleanup()
        return
    pytest.fail(f"PostgreSQL could not start: {problem}", pytrace=False)


def new_database(server: Any) -> str:
    """A fresh, empty database on the session's server: its URI."""
    name = f"outbox_{os.getpid()}_{next(_DATABASES)}"
    server.psql(f"CREATE DATABASE {name};")
    return str(server.get_uri(name))


async def start_sender(db: str, server: OutboxFake, *, login: str, concurrency: int) -> asyncio.subprocess.Process:
    """``python -m carecloud_async.outbox run`` as a separate process, CareCloud from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")}
    env.update(server.settings(login), CARECLOUD_TIMEOUT="10")
    command = [sys.executable, "-m", "carecloud_async.outbox", "--db", db, "run"]
    command += ["--concurrency", str(concurrency), "--interval", "0.2", "--lease", "2", "--retry-delay", "0.5"]
    return await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def wait_for(condition: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = await asyncio.wait_for(process.communicate(), 30)
    except asyncio.TimeoutError:
        process.kill()
        _, err = await process.communicate()
    return process.returncode or 0, err.decode(errors="replace")


def check_order_per_cash_desk(server: OutboxFake, submitted: list[tuple[str, int]]) -> None:
    for desk in {desk for _, desk in submitted}:
        expected = [bill for bill, d in submitted if d == desk]
        assert [bill for bill in server.order if bill in set(expected)] == expected, desk


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_sender_killed_mid_send_and_a_new_one_resumes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = new_database(request.getfixturevalue("postgres")) if backend == "postgres" else str(tmp_path / "o.sqlite3")
    submitted = [(f"K{n:03d}", n % 4) for n in range(40)]
    async with serving(latency=0.15) as server, Outbox(db) as outbox:
        for bill_id, desk in submitted:
            await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
        first = await start_sender(db, server, login="first", concurrency=4)

        async def some_sent_and_more_in_flight() -> bool:
            return len(server.purchases) >= 8 and server.in_flight >= 2

        try:
            await wait_for(some_sent_and_more_in_flight, timeout=60, what="the first sender to be mid-send")
        finally:
            first.kill()  # SIGKILL: no clean-up of any kind
            await first.wait()
        assert first.returncode == -signal.SIGKILL
        counts = await outbox.counts()
        assert counts[State.SENDING] >= 1, counts  # it died holding purchases
        assert counts[State.SENT] < 40

        second = await start_sender(db, server, login="second", concurrency=4)

        async def all_sent() -> bool:
            return (await outbox.counts())[State.SENT] == 40

        try:
            await wait_for(all_sent, timeout=90, what="the second sender to send everything")
        finally:
            code, err = await stop(second)
        assert code == 0, err[-2000:]  # SIGTERM: a clean stop
        records = {r.bill_id: r for r in await outbox.records()}
    assert sorted(server.purchases) == sorted(bill for bill, _ in submitted)  # nothing lost
    assert set(records) == set(server.purchases)
    # Nothing recorded twice: a bill sent again (it was in flight at the kill) was refused by its bill_id.
    resent = {bill for bill, count in server.requests.items() if count > 1}
    assert len(resent) <= 4
    assert set(server.duplicates) <= resent
    assert {bill for bill, r in records.items() if r.already_recorded} == set(server.duplicates)
    assert server.by_sender["first"] > 0
    assert server.by_sender["second"] > 0
    check_order_per_cash_desk(server, submitted)


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_two_sender_processes_at_once_never_send_one_purchase_twice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = new_database(request.getfixturevalue("postgres")) if backend == "postgres" else str(tmp_path / "o.sqlite3")
    submitted = [(f"T{n:03d}", n % 10) for n in range(200)]
    async with serving(latency=0.02) as server, Outbox(db) as outbox:
        for bill_id, desk in submitted:
            await outbox.submit(sample_purchase(bill_id, cashdesk_number=desk))
        senders = [await start_sender(db, server, login=name, concurrency=4) for name in ("one", "two")]

        async def all_sent() -> bool:
            return (await outbox.counts())[State.SENT] == 200

        try:
            await wait_for(all_sent, timeout=120, what="two senders to send 200 purchases")
        finally:
            results = [await stop(sender) for sender in senders]
        assert [code for code, _ in results] == [0, 0], [err[-1000:] for _, err in results]
    assert sorted(server.purchases) == sorted(bill for bill, _ in submitted)
    assert set(server.requests.values()) == {1}  # every purchase sent exactly once
    assert server.overlaps == []
    assert server.lane_overlaps == []  # and never two of one cash desk at once
    assert not server.duplicates
    assert server.by_sender["one"] > 0  # both processes did part of the work
    assert server.by_sender["two"] > 0
    check_order_per_cash_desk(server, submitted)


async def test_postgres_claims_are_disjoint_across_connections(postgres: Any) -> None:
    db = new_database(postgres)
    stores = [PostgresStore(db), PostgresStore(db)]
    for store in stores:
        await store.open()
    try:
        for n in range(60):
            await stores[0].add(NewPurchase.from_body(sample_purchase(f"C{n}", cashdesk_number=n)), now=1.0)
        claims = await asyncio.gather(
            *(store.claim(now=2.0, lease_until=100.0, token=f"t{i}", limit=60) for i, store in enumerate(stores))
        )
        taken = [r.bill_id for claim in claims for r in claim]
        assert len(taken) == len(set(taken)) == 60
        assert all(r.state is State.SENDING and r.attempts == 1 for claim in claims for r in claim)
        # Leases hold until they run out; then the purchases can be taken again.
        assert await stores[1].claim(now=50.0, lease_until=150.0, token="t3", limit=60) == []
        again = await stores[1].claim(now=101.0, lease_until=200.0, token="t4", limit=60)
        assert len(again) == 60
        assert {r.attempts for r in again} == {2}
        assert await stores[0].next_due() == 200.0
        # Submitting the same bill again stores it once.
        record, created = await stores[1].add(NewPurchase.from_body(sample_purchase("C1", cashdesk_number=1)), now=3.0)
        assert (created, record.submitted_at) == (False, 1.0)
    finally:
        for store in stores:
            await store.close()


async def test_postgres_outbox_keeps_order_and_manual_transfer(postgres: Any) -> None:
    db = new_database(postgres)
    async with Outbox(db) as outbox:
        for n in range(3):
            await outbox.submit(sample_purchase(f"P{n}"))
        assert [r.bill_id for r in await outbox.records("pending")] == ["P0", "P1", "P2"]
        store = outbox.store
        (head,) = await store.claim(now=time.time(), lease_until=time.time() + 60, token="t", limit=5)
        assert head.bill_id == "P0"  # one per cash desk: the oldest
        from carecloud_async.outbox import SendError

        error = SendError("invalid", "400", status_code=400)
        assert await store.mark_failed("P0", token="t", state=State.MANUAL, next_attempt_at=None, error=error, now=1.0)
        assert (await outbox.get("P0")).last_error == error  # type: ignore[union-attr]
        assert (await outbox.retry_now("P0")).state is State.PENDING
        await store.mark_failed("P0", token="t", state=State.MANUAL, next_attempt_at=None, error=error, now=1.0)
        assert (await outbox.get("P0")).state is State.PENDING  # type: ignore[union-attr]  # a stale token changes nothing
        counts = await outbox.counts()
        assert counts[State.PENDING] == 3


async def test_postgres_commits_are_synchronous_where_the_database_or_url_says_off(postgres: Any) -> None:
    # The same class as item 14 on PostgreSQL: with synchronous_commit off (a common tuning, set for
    # a database, a role or in the URL) a commit returns before its WAL is on disk, so a submit or
    # discard that returned is lost if the server crashes. The store's connections set it on.
    import asyncpg

    db = new_database(postgres)
    name = db.split("?", 1)[0].rsplit("/", 1)[-1]
    postgres.psql(f"ALTER DATABASE {name} SET synchronous_commit = off;")
    plain = await asyncpg.connect(db)
    try:
        assert await plain.fetchval("SHOW synchronous_commit") == "off"  # what any other client gets
    finally:
        await plain.close()
    for location in (db, f"{db}&synchronous_commit=off"):
        store = PostgresStore(location, min_size=2, max_size=2)
        await store.open()
        try:
            for _ in range(4):  # several connections, each after the pool's RESET ALL on release
                assert await store._run("check", "fetchval", "SHOW synchronous_commit") == "on"
        finally:
            await store.close()


def crash_postgres(server: Any) -> None:
    """SIGKILL every process of ``server`` at once (a crash: nothing is flushed on the way out)."""
    data = Path(getattr(server, "pgdata", None) or server.data)
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat_file.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(stat_file.parent.name))
    for pid in (postmaster, *children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def restart_postgres(server: Any) -> None:
    """Start ``server`` again on its data directory after :func:`crash_postgres` (crash recovery)."""
    data = Path(getattr(server, "pgdata", None) or server.data)
    # Stale lock files: every process of that server is dead, but a killed postmaster may linger as a
    # zombie (no init reaps it in a container), and its PID in them would look alive.
    sockets = Path(getattr(server, "directory", data))  # where this server (only) keeps its socket
    for stale in (data / "postmaster.pid", *sockets.glob(".s.PGSQL.*.lock")):
        stale.unlink()
    if hasattr(server, "ensure_postgres_running"):  # the pgserver wheel
        with server._lock:
            server.ensure_postgres_running()
    else:  # scripts/postgres_server.SystemPostgres
        options = f"-c listen_addresses='' -k {server.directory}"
        server._run("pg_ctl", "-D", str(server.data), "-w", "-o", options, "-l", str(server.log), "start")


def test_a_submit_that_returned_survives_a_postgres_crash_where_commits_are_asynchronous() -> None:
    # The proof behind the test above: a private server (it is crashed), synchronous_commit off for
    # the database, the WAL writer slowed to 10 s; a submit and a discard return, every server process
    # is SIGKILLed at once, the server recovers: both must be there.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="outbox-pg-crash-")))  # where the server user reaches
    try:
        server.psql("ALTER SYSTEM SET wal_writer_delay = '10s'; SELECT pg_reload_conf(); CREATE DATABASE crash;")
        server.psql("ALTER DATABASE crash SET synchronous_commit = off;")
        db = str(server.get_uri("crash"))
        asyncio.run(put_in_manual(db, "M1"))
        server.psql("CHECKPOINT;")  # everything so far is on disk

        async def submit_and_discard() -> None:
            async with Outbox(db) as outbox:
                await outbox.submit(sample_purchase("C1", cashdesk_number=2))
                await outbox.discard("M1", reason="keyed in by hand")
                crash_postgres(server)  # straight after both calls returned
                await asyncio.sleep(0.2)

        with contextlib.suppress(OutboxStoreError):  # closing the pool of a dead server
            asyncio.run(submit_and_discard())
        restart_postgres(server)

        async def states() -> dict[str, State]:
            async with Outbox(db) as outbox:
                return {record.bill_id: record.state for record in await outbox.records()}

        assert asyncio.run(states()) == {"M1": State.DISCARDED, "C1": State.PENDING}
    finally:
        server.cleanup()


async def test_postgres_connection_errors_name_the_database_without_its_password() -> None:
    with pytest.raises(OutboxStoreError) as caught:
        await Outbox("postgresql://pos:s3cret@127.0.0.1:1/outbox").open()
    assert "postgresql://pos@127.0.0.1:1/outbox" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in caught.value.location


def test_kill_9_right_after_submit_returns_loses_nothing_on_postgres(postgres: Any) -> None:
    db = new_database(postgres)
    confirmed, returncode = submit_until_killed(db, after=100)
    assert returncode == -9

    async def stored() -> set[str]:
        async with Outbox(db) as outbox:
            return {r.bill_id for r in await outbox.records()}

    assert len(confirmed) == 100
    assert set(confirmed) <= asyncio.run(stored())


async def put_in_manual(db: str, bill_id: str) -> None:
    """``bill_id`` submitted, attempted once and refused: waiting in manual."""
    async with Outbox(db) as outbox:
        await outbox.submit(sample_purchase(bill_id))
        (claimed,) = await outbox.store.claim(now=time.time(), lease_until=time.time() + 60, token="t", limit=1)
        error = SendError("invalid", "400 Bad Request", status_code=400)
        await outbox.store.mark_failed(
            claimed.bill_id, token="t", state=State.MANUAL, next_attempt_at=None, error=error, now=time.time()
        )


@pytest.mark.parametrize("action", ["discard", "retry"])
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_discard_or_retry_that_returned_survives_kill_9_during_a_submit_batch(
    backend: str, action: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Issue 21, item 14: on SQLite the UPDATE joined the open group-commit batch of other cash
    # desks' submits and returned before its COMMIT; a kill -9 then undid the discard, and the
    # purchase an operator had keyed in by hand went out again with the next "retry all manual".
    db = new_database(request.getfixturevalue("postgres")) if backend == "postgres" else str(tmp_path / "o.sqlite3")
    await put_in_manual(db, "M1")
    line, returncode = await asyncio.to_thread(change_then_killed, db, action, "M1")
    assert returncode == -signal.SIGKILL
    expected = State.DISCARDED if action == "discard" else State.PENDING
    assert line.startswith(f"{action} M1 {expected.value} ")  # the call returned, then the kill
    async with serving(latency=0.0) as server, Outbox(db) as outbox:
        record = await outbox.get("M1")
        assert record is not None
        assert record.state is expected
        async with server.client() as cc:
            for waiting in await outbox.records("manual"):  # the operator's next "retry --all-manual"
                await outbox.retry_now(waiting.bill_id)
            await outbox.send_due(cc)
    # A discarded purchase (keyed in by hand) is never sent; a retried one is.
    assert ("M1" in server.purchases) is (action == "retry")


async def test_run_once_sends_what_is_due_and_reports(tmp_path: Path) -> None:
    db = str(tmp_path / "o.sqlite3")
    async with serving(latency=0.0) as server, Outbox(db) as outbox:
        for n in range(3):
            await outbox.submit(sample_purchase(f"O{n}", cashdesk_number=n))
        server.invalid_bills.add("O2")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")}
        env.update(server.settings("once"))
        command = [sys.executable, "-m", "carecloud_async.outbox", "--db", db, "run", "--once", "--concurrency", "3"]
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()[-2000:]
        assert "sent 2, to retry 0, to manual 1" in out.decode()
        assert (await outbox.counts())[State.MANUAL] == 1
        bad = [*command[:-2], "--max-attempts", "0"]
        process = await asyncio.create_subprocess_exec(
            *bad, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1
        assert "max_attempts must be a whole number >= 1" in err.decode()
    assert sorted(server.purchases) == ["O0", "O1"]


def test_carecloud_outbox_on_postgres_by_dsn(postgres: Any) -> None:
    from outbox_fake import served_in_a_thread
    from outbox_files import INVALID, outbox_with_manual_records
    from typer.testing import CliRunner

    from carecloud_async.cli._app import app

    dsn = new_database(postgres)
    with served_in_a_thread() as server:
        outbox_with_manual_records(dsn, server)

    def carecloud(*args: str) -> Any:
        return CliRunner().invoke(
            app, ["outbox", *args, "--dsn", dsn], env={"CARECLOUD_OUTBOX": None, "COLUMNS": "200"}
        )

    listing = carecloud("list", "--state", "manual")
    assert listing.exit_code == 0, listing.output
    assert [line.split()[0] for line in listing.stdout.splitlines()[2:5]] == ["FAIL-1", *INVALID]
    assert "manual 3" in listing.stdout
    assert carecloud("retry", "BAD-1").exit_code == 0
    assert carecloud("discard", "BAD-2", "--reason", "keyed in by hand").exit_code == 0
    assert carecloud("show", "NOPE").exit_code == 5

    async def states() -> dict[str, State]:
        async with Outbox(dsn) as outbox:
            return {record.bill_id: record.state for record in await outbox.records()}

    assert asyncio.run(states()) == {
        "FAIL-1": State.MANUAL,
        "BAD-1": State.PENDING,
        "BAD-2": State.DISCARDED,
        "OK-1": State.SENT,
    }


# ---------------------------------------------------------------- trace context across processes


async def stored_traceparents(db: str) -> dict[str, str | None]:
    async with Outbox(db) as outbox:  # a fresh store object: what any other process reads
        return {record.bill_id: record.traceparent for record in await outbox.records()}


async def set_traceparent(db: str, bill_id: str, value: str) -> None:
    """Overwrite the stored traceparent (a damaged or hand-edited row)."""
    sql = "UPDATE carecloud_outbox_purchases SET traceparent = {} WHERE bill_id = {}"
    if db.startswith("postgresql://"):
        import asyncpg

        connection = await asyncpg.connect(db)
        try:
            assert await connection.execute(sql.format("$1", "$2"), value, bill_id) == "UPDATE 1"
        finally:
            await connection.close()
    else:
        with sqlite3.connect(db) as connection:
            assert connection.execute(sql.format("?", "?"), (value, bill_id)).rowcount == 1


def linked_to(submit: dict[str, Any]) -> list[list[Any]]:
    """What a send span's links must be: the submit's context, remote (another process made it)."""
    trace_id, span_id, flags, _ = submit["context"]
    return [[trace_id, span_id, flags, True]]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_send_span_links_to_the_submit_span_of_another_process(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # One process submits (tracer provider + in-memory exporter) and exits; another one, started
    # later, sends: its send spans link to the submit spans it never saw, from the stored traceparent.
    db = new_database(request.getfixturevalue("postgres")) if backend == "postgres" else str(tmp_path / "o.sqlite3")
    bills = ["T-1", "T-2", "T-3"]
    submits = await asyncio.to_thread(run_traced, "submit", db, *bills)
    assert sorted(submits) == bills
    # A process with no tracer provider configured makes no span and stores no trace context.
    assert await asyncio.to_thread(run_traced, "submit-untraced", db, "U-1") == {}
    stored = await stored_traceparents(db)
    assert stored == {**{bill: traceparent_of(submits[bill]) for bill in bills}, "U-1": None}
    # A malformed value (a damaged row) costs the link, never the send.
    await set_traceparent(db, "T-3", "00-not-a-trace-context")
    async with serving(latency=0.0) as server:
        sends = await asyncio.to_thread(run_traced, "send", db, env=server.settings("traced"))
        assert sorted(server.purchases) == [*bills, "U-1"]
    assert sorted(sends) == [*bills, "U-1"]
    assert sends["U-1"]["links"] == []
    for bill in ("T-1", "T-2"):
        assert sends[bill]["links"] == linked_to(submits[bill])
        assert sends[bill]["context"][0] != submits[bill]["context"][0]  # its own trace: a link, not a parent
    assert sends["T-3"]["links"] == []
    assert {bill: span["outcome"] for bill, span in sends.items()} == dict.fromkeys([*bills, "U-1"], "sent")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_schema_1_database_migrates_and_its_old_purchases_send_without_a_link(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A database written by the previous release (schema 1: no traceparent column) holding a
    # pending purchase; a traced process opens it (migrating it to 2) and submits one more.
    if backend == "postgres":
        db = new_database(request.getfixturevalue("postgres"))
        await make_postgres_schema_1(db, "OLD-1")
    else:
        db = str(tmp_path / "o.sqlite3")
        make_sqlite_schema_1(Path(db), "OLD-1")
    submits = await asyncio.to_thread(run_traced, "submit", db, "NEW-1")
    if backend == "postgres":
        assert "traceparent" in await columns_postgres(db)
        import asyncpg

        connection = await asyncpg.connect(db)
        try:
            assert [row[0] for row in await connection.fetch("SELECT version FROM carecloud_outbox_schema")] == [2]
        finally:
            await connection.close()
    else:
        assert "traceparent" in columns_sqlite(Path(db))
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    assert await stored_traceparents(db) == {"OLD-1": None, "NEW-1": traceparent_of(submits["NEW-1"])}
    async with serving(latency=0.0) as server:
        sends = await asyncio.to_thread(run_traced, "send", db, env=server.settings("migrated"))
        assert sorted(server.purchases) == ["NEW-1", "OLD-1"]
    assert sends["OLD-1"]["links"] == []
    assert sends["NEW-1"]["links"] == linked_to(submits["NEW-1"])
    assert {bill: span["outcome"] for bill, span in sends.items()} == {"OLD-1": "sent", "NEW-1": "sent"}


# ---------------------------------------------------------------- the durability invariant
#
# What a call said was stored survives kill -9: a child process runs a random plan of outbox calls
# (submits, bursts of submits from another cash desk, send passes, discards and retries of
# purchases in manual; the calls of one step at the same time), writes a line as each call
# returns, and is SIGKILLed straight after a random one; in some plans a second process runs a
# sender on the same outbox meanwhile and is SIGKILLed with it. The store, reopened, must hold every
# state a line reported (or a later one; "sent" and "discarded" are final). Then the operator fixes
# what CareCloud refused, retries every purchase still in manual, and the sender drains: the
# fake CareCloud (bill_id unique) must hold exactly the sent bills, none of the bills a
# reported discard said were keyed in by hand (that would record the purchase twice), and a bill
# sent twice only if it was in flight at the kill, its second answer taken as "already recorded".


@st.composite
def durability_plans(draw: st.DrawFn) -> tuple[list[list[list[Any]]], int, bool]:
    """(steps of calls, the number of the call after which the child is killed, whether a second
    process sends meanwhile)."""
    bills = []
    for n in range(draw(st.integers(1, 4))):
        refused = draw(st.booleans())  # CareCloud refuses X bills (400): they go to manual
        bills.append((f"X{n}" if refused else f"B{n}", draw(st.integers(1, 2))))
    desk = dict(bills)
    bill, yields = st.sampled_from(sorted(desk)), st.integers(0, 3)
    call = st.one_of(
        st.tuples(bill, yields).map(lambda c: ["submit", c[0], desk[c[0]], c[1]]),
        st.just(["send"]),
        st.tuples(bill, yields).map(lambda c: ["discard", c[0], c[1]]),
        st.tuples(bill, yields).map(lambda c: ["retry", c[0], c[1]]),
        st.integers(5, 40).map(lambda n: ["burst", n]),
    )
    refused_bills = sorted(b for b in desk if b.startswith("X"))  # the bills that reach manual
    target = st.sampled_from(refused_bills) if refused_bills else bill
    change = st.tuples(st.sampled_from(["discard", "retry"]), target, yields).map(lambda c: [c[0], c[1], c[2]])
    # A step is a few calls at once, or a burst of submits with a discard / retry in its middle.
    step: st.SearchStrategy[list[list[Any]]] = st.one_of(
        st.lists(call, min_size=1, max_size=3),
        st.tuples(st.integers(5, 40).map(lambda n: ["burst", n]), change).map(lambda s: [s[0], s[1]]),
    )
    plan: list[list[list[Any]]] = [[["submit", b, d, 0] for b, d in bills], [["send"]]]
    plan += draw(st.lists(step, min_size=1, max_size=5))
    calls = [(op, one) for one in plan for op in one]
    changes = [number for number, (op, _) in enumerate(calls) if op[0] in ("discard", "retry")]
    during_burst = [number for number in changes if calls[number][1][0][0] == "burst"]
    # The kill: after any call, or (as often) straight after a discard or retry returned, or (as
    # often again) after one that ran during a burst of submits.
    kill = draw(
        st.one_of([st.integers(0, len(calls) - 1), *(st.sampled_from(c) for c in (changes, during_burst) if c)])
    )
    return plan, kill, draw(st.booleans())


@pytest.fixture(scope="module")
def plan_runner() -> Iterator[PlanRunner]:
    with PlanRunner() as runner:
        yield runner


def check_after_kill(db: str, server: OutboxFake, reports: list[dict[str, Any]]) -> None:
    async def check() -> None:
        told = [report for report in reports if "state" in report]
        schedule = Schedule(max_attempts=10, retry_delay=0)
        drain_at = time.time() + 1e8  # after every lease of the plan's senders
        async with Outbox(db, clock=lambda: drain_at, schedule=schedule) as outbox:
            stored = {record.bill_id: record for record in await outbox.records()}
            for report in told:
                record = stored.get(report["bill"])
                assert record is not None, f"reported, then lost: {report}"
                if report["state"] in ("sent", "discarded"):
                    assert record.state.value == report["state"], (report, record)
                later = record.updated_at > report["updated_at"]
                same = record.updated_at == report["updated_at"] and record.state.value == report["state"]
                assert later or same, f"reported {report}, stored {record}"
            in_flight = {bill for bill, record in stored.items() if record.state is State.SENDING}
            keyed_in_by_hand = {report["bill"] for report in told if report["op"] == "discard"}
            server.invalid_bills.clear()  # the operator fixed what CareCloud refused ...
            for record in await outbox.records("manual"):  # ... and retries everything in manual
                await outbox.retry_now(record.bill_id)
            async with server.client(login="drain") as cc:
                for _ in range(20):
                    await outbox.send_due(cc)
                    counts = await outbox.counts()
                    if counts[State.PENDING] == counts[State.SENDING] == 0:
                        break
            final = {record.bill_id: record for record in await outbox.records()}
        assert {record.state for record in final.values()} <= {State.SENT, State.DISCARDED}
        assert {bill for bill, record in final.items() if record.state is State.SENT} == set(server.purchases)
        assert not keyed_in_by_hand & set(server.purchases), "a purchase keyed in by hand was sent too"
        assert set(server.duplicates) <= in_flight
        assert {bill for bill, record in final.items() if record.already_recorded} == set(server.duplicates)

    asyncio.run(check())


def run_durability_plans(runner: PlanRunner, new_db: Any, *, examples: int, folder: Path) -> collections.Counter[str]:
    from outbox_fake import served_in_a_thread

    stats: collections.Counter[str] = collections.Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a process per try; the plan is short
    )
    @given(durability_plans())
    def one_plan(case: tuple[list[list[list[Any]]], int, bool]) -> None:
        plan, kill, second_sender = case
        stats["sequences"] += 1
        db = new_db()
        with served_in_a_thread() as server:
            server.invalid_bills.update(op[1] for step in plan for op in step if op[0] == "submit" and op[1][0] == "X")
            report = folder / f"report-{stats['sequences']}.jsonl"
            reports, ended = runner.run(
                db, server.root_url, plan, kill=kill, report=report, second_sender=second_sender
            )
            assert ended["signal"] == signal.SIGKILL, ended
            if second_sender:
                assert ended["second"]["signal"] == signal.SIGKILL, ended
                stats["plans with a second sender process, killed too"] += 1
            stats["steps"] += len(plan)
            stats["calls"] += sum(map(len, plan))
            stats["calls reported before the kill"] += len({report["i"] for report in reports})
            stats["kills"] += 1
            stats["kills before the plan's end"] += kill < sum(map(len, plan)) - 1
            killed_step = next(step for step in plan if (kill := kill - len(step)) < 0)
            stats["kills right after a discard or retry during a burst"] += killed_step[0][
                0
            ] == "burst" and killed_step[kill][0] in ("discard", "retry")
            check_after_kill(db, server, reports)

    one_plan()
    return stats


def test_every_call_that_returned_survives_kill_9_sqlite(plan_runner: PlanRunner, tmp_path: Path) -> None:
    files = itertools.count(1)
    stats = run_durability_plans(
        plan_runner, lambda: str(tmp_path / f"o{next(files)}.sqlite3"), examples=30, folder=tmp_path
    )
    print("durability invariant, SQLite:", dict(stats))
    assert stats["sequences"] == stats["kills"] == 30


def test_every_call_that_returned_survives_kill_9_postgres(
    plan_runner: PlanRunner, postgres: Any, tmp_path: Path
) -> None:
    stats = run_durability_plans(plan_runner, lambda: new_database(postgres), examples=8, folder=tmp_path)
    print("durability invariant, PostgreSQL:", dict(stats))
    assert stats["sequences"] == stats["kills"] == 8
