"""`carecloud outbox` in-process (typer's CliRunner) on real SQLite outbox files in tmp_path, filled
by the outbox itself against the fake CareCloud (tests/outbox_files.py): purchases refused as
invalid and one whose schedule ran out wait in manual. Each command's output is compared with
`python -m carecloud_async.outbox` (the same library calls), and the file is read back with
:class:`Outbox` after every change. A real subprocess run is in tests/test_cli_subprocess.py.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from outbox_fake import OutboxFake
from outbox_files import EXHAUSTED, INVALID, SENT, outbox_with_manual_records, served_in_a_thread, settings
from typer.testing import CliRunner

from carecloud_async.cli._app import app
from carecloud_async.outbox import Outbox, State
from carecloud_async.outbox._cli import main as outbox_module_main


@pytest.fixture(scope="module")
def server() -> Iterator[OutboxFake]:
    with served_in_a_thread() as running:
        yield running


@pytest.fixture
def db(tmp_path: Path, server: OutboxFake) -> Path:
    path = tmp_path / "outbox.sqlite3"
    outbox_with_manual_records(path, server)
    return path


def run(*args: str, env: Mapping[str, str | None] | None = None) -> Any:
    # Every CARECLOUD_* variable of the shell running the tests unset; then the test's own.
    base: dict[str, str | None] = {name: None for name in os.environ if name.startswith("CARECLOUD_")}
    base.update(CARECLOUD_OUTBOX=None, COLUMNS="200")
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})})


def states(path: Path) -> dict[str, State]:
    async def read() -> dict[str, State]:
        async with Outbox(path) as outbox:
            return {record.bill_id: record.state for record in await outbox.records()}

    return asyncio.run(read())


def module_output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What `python -m carecloud_async.outbox ARGS` prints (in-process)."""
    capsys.readouterr()
    assert outbox_module_main(list(args)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [["outbox"], ["outbox", "list"], ["outbox", "show"], ["outbox", "retry"], ["outbox", "discard"], ["outbox", "run"]],
)
def test_every_outbox_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: carecloud {' '.join(command)}" in result.stdout
    if command != ["outbox"]:
        assert "--db PATH" in result.stdout
        assert "--dsn URL" in result.stdout
        assert "Example" in result.stdout


def test_root_help_lists_the_outbox_group() -> None:
    assert any(line.split()[:1] == ["outbox"] for line in run("--help").stdout.splitlines())


def test_list_shows_what_waits_for_manual_transfer(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run("outbox", "list", "--db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["bill_id", "store", "/"]
    rows = {line.split()[0]: line for line in lines[2:] if line.strip() and not line.startswith("pending ")}
    assert set(rows) == {*INVALID, EXHAUSTED}  # sent ones only with --all
    assert " manual " in rows["BAD-1"]
    assert "invalid 400 bill.currency_id: not_found" in rows["BAD-1"]
    assert "server 500" in rows[EXHAUSTED]
    assert lines[-1] == f"pending 0, sending 0, sent 1, manual 3, discarded 0  ({db})"
    # The same table as `python -m carecloud_async.outbox` prints: the same calls, the same text.
    assert result.stdout == module_output(capsys, "--db", str(db), "list")

    manual = run("outbox", "list", "--db", str(db), "--state", "manual", "--limit", "2")
    assert [line.split()[0] for line in manual.stdout.splitlines()[2:4]] == [EXHAUSTED, "BAD-1"]
    assert manual.stdout.splitlines()[4] == ""
    everything = run("outbox", "list", "--db", str(db), "--all")
    assert any(line.startswith(SENT) and " sent " in line for line in everything.stdout.splitlines())
    assert everything.stdout == module_output(capsys, "--db", str(db), "list", "--all")
    sent = run("outbox", "list", "--db", str(db), "--state", "sent", "--state", "discarded")
    assert [line.split()[0] for line in sent.stdout.splitlines()[2:3]] == [SENT]
    bad_state = run("outbox", "list", "--db", str(db), "--state", "lost")
    assert bad_state.exit_code == 2
    assert "state must be one of pending, sending, sent, manual, discarded, not 'lost'" in bad_state.stderr


def test_the_outbox_comes_from_carecloud_outbox_when_no_option_names_it(db: Path) -> None:
    result = run("outbox", "list", env={"CARECLOUD_OUTBOX": str(db)})
    assert result.exit_code == 0, result.output
    assert "manual 3" in result.stdout


def test_show_prints_the_last_error_in_full(db: Path, server: OutboxFake, capsys: pytest.CaptureFixture[str]) -> None:
    result = run("outbox", "show", "BAD-1", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].split()[:5] == ["BAD-1", "store-1", "/", "2", "manual"]
    assert "last error: 400 Bad Request on POST" in result.stdout
    assert "  invalid: bill.currency_id: not_found (Unknown currency)" in result.stdout
    assert server.fake.bearer_tokens  # the bearer tokens the fake gave the outbox ...
    assert not any(token in result.stdout for token in server.fake.bearer_tokens)  # ... are not shown
    assert result.stdout == module_output(capsys, "--db", str(db), "show", "BAD-1")
    missing = run("outbox", "show", "NOPE", "--db", str(db))
    assert missing.exit_code == 5  # not found
    assert missing.stderr == "RecordNotFound: no purchase with bill_id 'NOPE' in the outbox\n"


def test_retry_puts_manual_purchases_back_and_run_once_sends_them(db: Path, server: OutboxFake) -> None:
    result = run("outbox", "retry", EXHAUSTED, "--db", str(db))
    assert result.exit_code == 0, result.output
    row = result.stdout.splitlines()[2].split()
    assert row[:6] == [EXHAUSTED, "store-1", "/", "1", "pending", "0"]  # a fresh schedule
    assert states(db)[EXHAUSTED] is State.PENDING

    sent = run("outbox", "run", "--once", "--db", str(db), env=settings(server))
    assert sent.exit_code == 0, sent.output
    assert sent.stdout == "sent 1, to retry 0, to manual 0\n"
    assert states(db)[EXHAUSTED] is State.SENT
    assert EXHAUSTED in server.purchases

    again = run("outbox", "retry", EXHAUSTED, "--db", str(db))
    assert again.exit_code == 1
    assert again.stderr == f"NotInManual: cannot retry bill '{EXHAUSTED}': it is sent, not manual\n"
    nothing = run("outbox", "retry", "--db", str(db))
    assert nothing.exit_code == 2
    assert "nothing to retry: name bill ids or pass --all-manual" in nothing.stderr

    every = run("outbox", "retry", "--all-manual", "--db", str(db))
    assert every.exit_code == 0, every.output
    assert sorted(line.split()[0] for line in every.stdout.splitlines()[2:]) == sorted(INVALID)
    assert {bill_id: states(db)[bill_id] for bill_id in INVALID} == dict.fromkeys(INVALID, State.PENDING)
    still_invalid = run("outbox", "run", "--once", "--db", str(db), env=settings(server))
    assert still_invalid.stdout == "sent 0, to retry 0, to manual 2\n"  # CareCloud still refuses them


def test_discard_needs_a_reason_and_a_purchase_in_manual(db: Path) -> None:
    no_reason = run("outbox", "discard", "BAD-2", "--db", str(db))
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.stderr
    result = run("outbox", "discard", "BAD-2", "--reason", "keyed in by hand [ticket 7]", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "discarded: keyed in by hand [ticket 7]" in result.stdout  # brackets are text, not markup
    assert states(db)["BAD-2"] is State.DISCARDED
    twice = run("outbox", "discard", "BAD-2", "--reason", "twice", "--db", str(db))
    assert twice.exit_code == 1
    assert twice.stderr == "NotInManual: cannot discard bill 'BAD-2': it is discarded, not manual\n"
    blank = run("outbox", "discard", "BAD-1", "--reason", " ", "--db", str(db))
    assert blank.exit_code == 2
    assert states(db)["BAD-1"] is State.MANUAL
    unknown = run("outbox", "discard", "NOPE", "--reason", "x", "--db", str(db))
    assert unknown.exit_code == 5


@pytest.mark.parametrize("command", [["list"], ["show", "B-1"], ["retry", "B-1"], ["discard", "B-1", "--reason", "x"]])
def test_a_missing_or_corrupt_file_is_one_line_naming_it(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo.sqlite3"
    result = run("outbox", *command, "--db", str(missing))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"OutboxStoreError: outbox database {missing} does not exist (it is created by the first submit)\n"
    )
    assert not missing.exists()  # never created by a command that only reads or changes records

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"a shopping list, not a database\n" * 200)
    corrupt = run("outbox", *command, "--db", str(garbage))
    assert corrupt.exit_code == 1
    assert corrupt.stderr == f"OutboxStoreError: outbox database {garbage}: cannot open it: file is not a database\n"
    assert "Traceback" not in corrupt.output

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER)")
    other = run("outbox", *command, "--db", str(foreign))
    assert other.exit_code == 1
    assert f"{foreign} is an SQLite database but not a carecloud-async outbox" in other.stderr
    assert len(other.stderr.splitlines()) == 1


def test_which_outbox_errors(tmp_path: Path) -> None:
    nothing = run("outbox", "list")
    assert nothing.exit_code == 3  # configuration
    assert (
        "no outbox: pass --db PATH (an SQLite file), --dsn postgresql://... or set CARECLOUD_OUTBOX" in nothing.stderr
    )
    both = run("outbox", "list", "--db", str(tmp_path / "o.sqlite3"), "--dsn", "postgresql://pos@127.0.0.1:1/pos")
    assert both.exit_code == 2
    assert "not both" in both.stderr
    not_a_url = run("outbox", "list", "--dsn", str(tmp_path / "o.sqlite3"))
    assert not_a_url.exit_code == 2
    assert "--dsn must be a postgresql://user@host/database URL" in not_a_url.stderr
    unreachable = run("outbox", "list", "--dsn", "postgresql://pos:secret-pw@127.0.0.1:1/pos")
    assert unreachable.exit_code == 1
    assert "127.0.0.1" in unreachable.stderr
    assert "secret-pw" not in unreachable.output
    assert len(unreachable.stderr.splitlines()) == 1


def test_run_creates_the_file_and_checks_its_schedule(tmp_path: Path, server: OutboxFake) -> None:
    path = tmp_path / "new.sqlite3"
    result = run("outbox", "run", "--once", "--db", str(path), env=settings(server))
    assert result.exit_code == 0, result.output
    assert result.stdout == "sent 0, to retry 0, to manual 0\n"
    assert states(path) == {}
    bad = run("outbox", "run", "--once", "--max-attempts", "0", "--db", str(path), env=settings(server))
    assert bad.exit_code == 3
    assert "Schedule.max_attempts must be a whole number >= 1, not 0" in bad.stderr
    unconfigured = run("outbox", "run", "--once", "--db", str(path))
    assert unconfigured.exit_code == 3
    assert "CARECLOUD_PROJECT_URL" in unconfigured.stderr


def test_python_m_outbox_takes_the_same_dsn_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "o.sqlite3")
    assert outbox_module_main(["--db", db, "--dsn", "postgresql://pos@127.0.0.1:1/pos", "list"]) == 2
    assert "not both" in capsys.readouterr().err
    assert outbox_module_main(["--dsn", db, "list"]) == 2
    assert "--dsn must be a postgresql://user@host/database URL" in capsys.readouterr().err
    assert outbox_module_main(["--dsn", "postgresql://pos:secret-pw@127.0.0.1:1/pos", "list"]) == 1
    error = capsys.readouterr().err
    assert "127.0.0.1" in error
    assert "secret-pw" not in error
    assert not (tmp_path / "o.sqlite3").exists()
