"""The installed `carecloud` console script, run as a real subprocess.

Against Prism (the spec-driven mock): `call` and a small `export` compared with the library's own
calls, errors from the server, `auth check`. Prism answers the spec's examples (a list of one),
so the long export runs against a local list server (scripts/bench_pagination.py's, 1,000
generated customers by count/offset on 127.0.0.1): a 1,000-item export compared item by item with
a `paginate` walk of the same server, the CSV read back with the csv module, and SIGINT during an
export leaving a parseable file that `--resume` completes. Bad input: a clear message and a
non-zero exit, never a traceback. `spec diff` on the two shared spec versions. `outbox list` on
an outbox file the outbox filled against the stand-in CareCloud: plain text in a pipe, a rich
table on a pseudo-terminal.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carecloud_api.api.customers import get_customer, get_customers

from carecloud_async import CareCloud, RetryPolicy
from carecloud_async._spec_diff import SECTIONS, render_section
from carecloud_async.cli import csv_columns, find_operation, flatten_row
from scripts import bench_pagination, mock_server, spec_diff, spec_source
from scripts.normalise import load

CARECLOUD = Path(sys.executable).parent / "carecloud"
PRISM_TOKEN = "09359095c5da43c7ae11e710eabce49418715a6a"  # the bearer token of Prism's login example
PASSWORD = "pw-for-the-mock"
CUSTOMER_ID = "8ea2591121e636086a4a9c0992"


def settings(root_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    env.update(
        CARECLOUD_PROJECT_URL=root_url,
        CARECLOUD_USER_EXTERNAL_APPLICATION_ID="app",
        CARECLOUD_LOGIN="pos@example.com",
        CARECLOUD_PASSWORD=PASSWORD,
        CARECLOUD_TIME_ZONE="Europe/Prague",
        CARECLOUD_MAX_ATTEMPTS="2",
    )
    return env


def carecloud(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert CARECLOUD.is_file(), f"{CARECLOUD} is missing: `make install` installs the console script"
    return subprocess.run(  # noqa: S603 (our own console script)
        [str(CARECLOUD), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def client(root_url: str) -> CareCloud:
    return CareCloud.enterprise(
        root_url,
        user_external_application_id="app",
        login="pos@example.com",
        password=PASSWORD,
        retry=RetryPolicy(max_attempts=2),
    )


@contextlib.contextmanager
def list_server(items: int, latency_ms: float = 0) -> Iterator[str]:
    """scripts/bench_pagination.py's list server on 127.0.0.1 and a free port; stopped at the end."""
    process, port = bench_pagination.run_server(items, latency_ms / 1000)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)


async def walk(root_url: str) -> list[dict[str, Any]]:
    async with client(root_url) as cc:
        return [item.to_dict() async for item in cc.paginate(get_customers, page_size=100)]


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


# --------------------------------------------------------------------------- Prism


async def test_call_prints_the_same_answer_the_library_gets(prism: mock_server.PrismServer) -> None:
    env = settings(prism.root_url)
    result = carecloud("call", "getCustomers", "-p", "email_list=a@x.cz,b@x.cz", "-p", "count=5", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # compact: one line when piped
    async with client(prism.root_url) as cc:
        expected = (await cc.call(get_customers.call, email_list=["a@x.cz", "b@x.cz"], count=5)).to_dict()
        one = (await cc.call(get_customer.call, CUSTOMER_ID)).to_dict()
    assert json.loads(result.stdout) == expected
    by_path = carecloud("call", f"GET /customers/{CUSTOMER_ID}", "--pretty", env=env)
    assert by_path.returncode == 0, by_path.stderr
    assert by_path.stdout.startswith("{\n  ")
    assert json.loads(by_path.stdout) == one
    assert PRISM_TOKEN not in result.stdout + result.stderr + by_path.stderr


def test_the_mocks_expired_valid_to_is_no_warning_on_every_command(
    prism: mock_server.PrismServer, tmp_path: Path
) -> None:
    """Prism's login example expired in 2019: the client uses the token until a 401 and says so
    at INFO (shown with -v), not as a WARNING in front of every command's output (and in the
    middle of an export's progress bar)."""
    env = settings(prism.root_url)
    result = carecloud("call", "getCustomers", "-p", "count=1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    code, shown = on_a_terminal(["export", "getCustomers", "--out", str(tmp_path / "c.jsonl")], env)
    assert code == 0, shown
    assert "WARNING" not in shown
    assert "valid_to" not in shown
    verbose = carecloud("-v", "call", "getCustomers", "-p", "count=1", env=env)
    assert verbose.returncode == 0, verbose.stderr
    said = [line for line in verbose.stderr.splitlines() if "valid_to" in line]
    assert len(said) == 1, verbose.stderr
    assert said[0].startswith("INFO carecloud_async._auth: the login answer's valid_to ('2019-01-04 10:31:56')")


def test_a_request_the_server_refuses_is_one_message_with_status_and_exit_6(prism: mock_server.PrismServer) -> None:
    # An e-mail with capitals passes our checks (the client applies the spec's lower-case e-mail
    # pattern ignoring case: scripts/request_constraints.ignore_case), but Prism applies it as
    # written and answers 400. (count=0 served here until the client checked the spec's minimum.)
    person = {"language_id": "en", "email": "Jane.Doe@Example.com"}
    body = {
        "customer_source": {"customer_source_id": "s"},
        "autologin": False,
        "customer": {"personal_information": person},
    }
    result = carecloud("call", "postCustomer", "--body", json.dumps(body), env=settings(prism.root_url))
    assert result.returncode == 6, result.stderr
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()  # one line: the error
    assert message.startswith("BadRequest: 400 Error title on POST http://127.0.0.1")  # the spec example
    assert "invalid params: " in message
    no_traceback(result)
    refused = carecloud("call", "getCustomers", "-p", "count=0", env=settings(prism.root_url))
    assert refused.returncode == 2, refused.stderr  # refused before sending, as bad input
    assert refused.stderr.splitlines() == ["RequestValidationError: GET /customers: count must be at least 1, got 0"]


async def test_small_export_from_prism_matches_a_paginate_walk(prism: mock_server.PrismServer, tmp_path: Path) -> None:
    out = tmp_path / "customers.jsonl"
    result = carecloud("export", "getCustomers", "--out", str(out), env=settings(prism.root_url))
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported == await walk(prism.root_url)
    assert exported  # Prism's example list is not empty
    assert f"{len(exported)} of " in result.stderr
    assert "\x1b[" not in result.stderr  # no progress bar off a terminal


def test_auth_check_against_prism_never_prints_the_token(prism: mock_server.PrismServer) -> None:
    result = carecloud("auth", "check", env=settings(prism.root_url))
    assert result.returncode == 0, result.stderr
    assert "Enterprise API at http://127.0.0.1" in result.stdout
    # Prism's example valid_to is in 2019: reported as unknown, not as an expiry in the past.
    assert "token validity unknown" in result.stdout
    assert PRISM_TOKEN not in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr


# --------------------------------------------------------------------------- a 1,000-item list


async def test_a_1000_item_export_equals_a_paginate_walk_item_by_item(tmp_path: Path) -> None:
    out = tmp_path / "customers.jsonl"
    with list_server(1000) as root_url:
        result = carecloud("export", "getCustomers", "--out", str(out), "--concurrency", "4", env=settings(root_url))
        expected = await walk(root_url)
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(expected) == 1000
    assert len(exported) == 1000
    for mine, theirs in zip(exported, expected, strict=True):
        assert mine == theirs
    assert "1000 of 1000 items" in result.stderr


async def test_a_csv_export_reads_back_with_the_csv_module(tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    with list_server(1000) as root_url:
        result = carecloud("export", "getCustomers", "--out", str(out), "--page-size", "250", env=settings(root_url))
        expected = await walk(root_url)
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    columns = csv_columns(find_operation("getCustomers"))
    assert header == list(columns)
    assert "personal_information.last_name" in columns
    assert len(rows) == 1000
    for row, item in zip(rows, expected, strict=True):
        assert row["customer_id"] == item["customer_id"]
        assert row["personal_information.last_name"] == item["personal_information"]["last_name"]
        assert list(row.values()) == flatten_row(item, columns)


def test_sigint_during_an_export_leaves_a_parseable_file_and_resume_completes_it(tmp_path: Path) -> None:
    out = tmp_path / "customers.jsonl"
    # 100 pages of 10 with 40 ms each: about 4 s, long enough to interrupt midway.
    with list_server(1000, latency_ms=40) as root_url:
        env = settings(root_url)
        args = ["export", "getCustomers", "--out", str(out), "--page-size", "10"]
        process = subprocess.Popen(  # noqa: S603 (our own console script)
            [str(CARECLOUD), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 100):
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        lines = out.read_text().splitlines()
        items = [json.loads(line) for line in lines]  # every line is whole JSON
        assert 100 <= len(items) < 1000
        assert f"interrupted: {len(items)} items in {out}" in stderr
        assert "--resume" in stderr

        resumed = carecloud(*args, "--resume", env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert f"(resumed at {len(items)})" in resumed.stderr
    final = [json.loads(line) for line in out.read_text().splitlines()]
    assert [item["customer_id"] for item in final] == [f"c{i:08d}" for i in range(1000)]
    assert final[: len(items)] == items


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["call", "getCustomr"], 2, "unknown operation 'getCustomr'; did you mean getCustomer, getCustomers"),
        (["call", "getCustomers", "-p", "emial=a@x.cz"], 2, "has no parameter 'emial'; did you mean email?"),
        (
            ["call", "getCustomers", "-p", "sort_direction=dsc"],
            2,
            "GET /customers: sort_direction: 'dsc' is not a SortDirection value; did you mean 'DESC'?",
        ),
        (
            ["call", "postCustomerVerifyCredentials", "--body", '{"login_type": "email",'],
            2,
            "the body is not valid JSON",
        ),
        (["export", "getCustomers", "--out", "x.csv", "--page-size", "0"], 2, "page size must be between 1 and 1000"),
        (["call", "getCustomers"], 3, "CARECLOUD_PROJECT_URL is not set (or pass --project-url)"),
    ],
)
def test_bad_input_is_one_clear_message_and_a_nonzero_exit(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    env = settings("http://127.0.0.1:9")  # nothing listens there: nothing may be sent
    if code == 3:
        env.pop("CARECLOUD_PROJECT_URL")
    result = subprocess.run(  # noqa: S603 (our own console script)
        [str(CARECLOUD), *args], env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    no_traceback(result)


def test_usage_errors_are_typers_exit_2() -> None:
    result = carecloud("export", "getCustomers", env=settings("http://127.0.0.1:9"))
    assert result.returncode == 2
    assert "Missing option '--out'" in result.stderr
    no_traceback(result)


# --------------------------------------------------------------------------- spec diff


def test_spec_diff_prints_the_report_make_update_spec_writes() -> None:
    new = spec_source.SHARED_SPEC
    old = new.parent / "openapi-2026-03-21.yaml"
    if not old.is_file() or not new.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{old.parent} lacks the two spec versions in CI")
        pytest.skip(f"{old.parent} is not beside the checkout")
    result = carecloud("spec", "diff", str(old), str(new), env=settings("http://127.0.0.1:9"))
    assert result.returncode == 0, result.stderr
    changes = spec_diff.diff(load(old), load(new))  # the pipeline's own comparison (update_spec)
    assert changes
    assert result.stdout.startswith("# CareCloud API spec update")
    for section in SECTIONS:
        for line in render_section(changes, section):
            assert line in result.stdout
    assert "audiences" in result.stdout
    assert "Compared as published" not in result.stdout  # a checkout normalises like the pipeline


def on_a_terminal(
    args: list[str], env: dict[str, str], *, stdout_too: bool = False, columns: int = 120
) -> tuple[int, str]:
    """Run the console script with stderr (and stdout) on a pseudo-terminal: (exit code, what it showed)."""
    import pty

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(  # noqa: S603 (our own console script)
            [str(CARECLOUD), *args],
            env={**env, "COLUMNS": str(columns), "TERM": "xterm"},
            stdout=terminal if stdout_too else subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the process has closed the terminal
            while chunk := os.read(controller, 65536):
                shown += chunk
        code = process.wait(timeout=60)
    finally:
        os.close(controller)
    return code, shown.decode("utf-8", "replace")


def test_the_progress_bar_shows_items_total_rate_and_eta_on_a_terminal_only(tmp_path: Path) -> None:
    with list_server(600, latency_ms=80) as root_url:  # 12 pages: about a second, several frames
        args = ["export", "getCustomers", "--out", str(tmp_path / "a.jsonl"), "--page-size", "50"]
        code, text = on_a_terminal(args, settings(root_url))
    assert code == 0, text
    assert "600/600" in text  # items done / total_items
    assert "items/s" in text  # rate
    assert "0:00:0" in text  # time remaining (ETA)
    drawn = {int(done) for done in re.findall(r"(\d+)/600", text)}
    assert drawn & set(range(50, 600, 50)), drawn  # drawn while the export ran, not only at the end
    assert "600 of 600 items" in text


def test_call_prints_indented_json_on_a_terminal() -> None:
    with list_server(3) as root_url:
        code, text = on_a_terminal(["call", "getCustomers", "-p", "count=1"], settings(root_url), stdout_too=True)
    assert code == 0, text
    assert text.startswith('{\r\n  "data": {')  # indented (a terminal shows \n as \r\n)
    assert json.loads(text.replace("\r\n", "\n"))["data"]["total_items"] == 3


def test_outbox_list_on_a_file_prints_plain_text_in_a_pipe_and_a_rich_table_on_a_terminal(tmp_path: Path) -> None:
    from outbox_files import EXHAUSTED, INVALID, outbox_with_manual_records, served_in_a_thread

    from carecloud_async.outbox import TABLE_COLUMNS

    db = tmp_path / "outbox.sqlite3"
    with served_in_a_thread() as server:
        outbox_with_manual_records(db, server)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    piped = carecloud("outbox", "list", "--db", str(db), "--state", "manual", env=env)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert lines[0].split() == " ".join(TABLE_COLUMNS).split()
    assert set(lines[1]) == {"-", " "}  # plain text: no box drawing, no colour codes
    assert [line.split()[0] for line in lines[2:5]] == [EXHAUSTED, *INVALID]
    assert "\x1b[" not in piped.stdout
    assert lines[-1] == f"pending 0, sending 0, sent 1, manual 3, discarded 0  ({db})"

    code, shown = on_a_terminal(["outbox", "list", "--db", str(db)], env, stdout_too=True)
    assert code == 0, shown
    assert "─" in shown  # rich's table rule
    assert "\x1b[1;31mmanual\x1b[0m" in shown  # the state in colour
    assert "pending 0, sending 0, sent 1, manual 3, discarded 0" in shown

    missing = carecloud("outbox", "list", "--db", str(tmp_path / "typo.sqlite3"), env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"OutboxStoreError: outbox database {tmp_path / 'typo.sqlite3'} does not exist")
    assert len(missing.stderr.splitlines()) == 1


def test_outbox_run_sends_what_is_submitted_until_sigterm(tmp_path: Path) -> None:
    import asyncio

    from outbox_files import served_in_a_thread
    from outbox_files import settings as outbox_settings

    from carecloud_async.outbox import Outbox, State
    from carecloud_async.testing import sample_purchase

    db = tmp_path / "new-outbox.sqlite3"  # `run` creates it
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    with served_in_a_thread() as server:
        env.update(outbox_settings(server))
        sender = subprocess.Popen(  # noqa: S603 (our own console script)
            [str(CARECLOUD), "outbox", "run", "--db", str(db), "--interval", "0.2", "--concurrency", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not db.exists() and time.monotonic() < deadline and sender.poll() is None:
                time.sleep(0.05)

            async def submit_and_wait() -> dict[str, State]:
                async with Outbox(db) as outbox:
                    for n in range(3):
                        await outbox.submit(sample_purchase(f"RUN-{n}", cashdesk_number=n + 1))
                    for n in range(3):  # sent by the other process
                        await outbox.wait_sent(f"RUN-{n}", timeout=30)
                    return {record.bill_id: record.state for record in await outbox.records()}

            states = asyncio.run(submit_and_wait())
        finally:
            sender.send_signal(signal.SIGTERM)
            out, err = sender.communicate(timeout=60)
    assert states == {f"RUN-{n}": State.SENT for n in range(3)}, err
    assert sorted(server.purchases) == ["RUN-0", "RUN-1", "RUN-2"]
    assert sender.returncode == 0, err
    assert f"sending from {db} (concurrency 2)" in err
    assert out == "pending 0, sending 0, sent 3, manual 0, discarded 0\n"


# --------------------------------------------------------------------------- first-hour papercuts (issue 26)


def test_ops_with_an_exact_operation_id_or_module_shows_that_operation_only() -> None:
    env = settings("http://127.0.0.1:9")
    for name in ("getCustomers", "getcustomers", "get_customers"):
        result = carecloud("ops", name, "--params", env=env)
        assert result.returncode == 0, result.stderr
        operations = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
        assert len(operations) == 1, result.stdout
        assert operations[0].split()[:3] == ["GET", "/customers", "getCustomers"]
    several = carecloud("ops", "getSubCustomer", env=env)  # a part of several ids: still a search
    assert len(several.stdout.splitlines()) > 1


def test_ops_shows_the_python_module_to_import() -> None:
    env = settings("http://127.0.0.1:9")
    result = carecloud("ops", "getCustomers", env=env)
    assert result.returncode == 0, result.stderr
    assert "carecloud_api.api.customers.get_customers" in result.stdout
    entry = json.loads(carecloud("ops", "getCustomers", "--json", env=env).stdout)
    assert entry["module"] == "carecloud_api.api.customers.get_customers"


def test_ops_into_a_reader_that_leaves_early_exits_0_without_a_message() -> None:
    process = subprocess.Popen(  # noqa: S603 (our own console script)
        [str(CARECLOUD), "ops", "--params"],  # about 140 kB: more than a pipe holds
        env=settings("http://127.0.0.1:9"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()  # `carecloud ops --params | head -1`
    process.stdout.close()
    error = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert first.startswith(b"GET")
    assert code == 0, error
    assert error == ""


@pytest.mark.parametrize("command", [["call", "getCustomers"], ["export", "getCustomers", "--out", "x.jsonl"]])
def test_a_parameter_without_p_says_to_use_p(command: list[str], tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 (our own console script)
        [str(CARECLOUD), *command, "email=jane@example.com"],
        env=settings("http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "-p email=jane@example.com" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "x.jsonl").exists()
    no_traceback(result)


def test_a_missing_password_suggests_only_the_variable_that_supplies_it() -> None:
    env = settings("http://127.0.0.1:9")
    env.pop("CARECLOUD_PASSWORD")
    result = carecloud("call", "getCustomers", env=env)
    assert result.returncode == 3
    assert "missing CARECLOUD_PASSWORD" in result.stderr
    assert "--" not in result.stderr  # no option supplies a password
    assert "set CARECLOUD_PASSWORD" in result.stderr
    env.pop("CARECLOUD_LOGIN")
    env["CARECLOUD_INTERFACE"] = "enterprise"
    result = carecloud("call", "getCustomers", env=env)
    assert "missing CARECLOUD_LOGIN, CARECLOUD_PASSWORD" in result.stderr
    assert "(or pass --login)" in result.stderr
    assert "--interface" not in result.stderr


#: A long bill id (a POS's own numbering) and a CareCloud store id: `outbox retry` and `discard` need them whole.
LONG_BILL_ID = "POS1-20261129-0000042"
STORE_ID = "8ea2591121e636086a4a9c0992"


def outbox_with_long_ids(db: Path, bill_id: str = LONG_BILL_ID) -> None:
    """A purchase with ``bill_id`` at STORE_ID refused as invalid (manual, with an error), and one pending."""
    import asyncio

    from outbox_fake import OutboxFake, served_in_a_thread

    from carecloud_async.outbox import Outbox, Schedule
    from carecloud_async.testing import sample_purchase

    async def fill(server: OutboxFake) -> None:
        server.invalid_bills.add(bill_id)
        async with server.client() as cc, Outbox(db, schedule=Schedule(max_attempts=2, retry_delay=0)) as outbox:
            await outbox.submit(sample_purchase(bill_id, store_id=STORE_ID, cashdesk_number=12))
            await outbox.send_due(cc)
            await outbox.submit(sample_purchase(bill_id + "-B", store_id=STORE_ID, cashdesk_number=3))

    with served_in_a_thread() as server:
        asyncio.run(fill(server))


@pytest.mark.parametrize("columns", [80, 120])
def test_outbox_list_on_a_terminal_never_cuts_bill_or_store_ids(columns: int, tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"
    outbox_with_long_ids(db)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    code, shown = on_a_terminal(["outbox", "list", "--db", str(db)], env, stdout_too=True, columns=columns)
    assert code == 0, shown
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.splitlines()]
    assert "manual" in shown
    assert "Unknown" in shown  # the error column is there, folded
    for bill_id in (LONG_BILL_ID, LONG_BILL_ID + "-B"):
        assert any(bill_id in line.split() for line in lines), shown
    assert sum(STORE_ID in line.split() for line in lines) == 2, shown
    assert "…" not in shown
    table = lines[: lines.index("")]
    assert all(len(line) <= columns for line in table), shown


def test_outbox_list_in_a_pipe_never_cuts_a_bill_id(tmp_path: Path) -> None:
    bill_id = "shop-eu-west-1/orders/2026/11/29/0d9f6c1e-5b7a-4c1e-9f3e-6a2b8c4d7e10"  # 70 characters
    db = tmp_path / "outbox.sqlite3"
    outbox_with_long_ids(db, bill_id)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    piped = carecloud("outbox", "list", "--db", str(db), env=env)
    assert piped.returncode == 0, piped.stderr
    rows = [line.split() for line in piped.stdout.splitlines()[2:4]]
    assert [row[0] for row in rows] == [bill_id, bill_id + "-B"]
    assert [row[1] for row in rows] == [STORE_ID, STORE_ID]
