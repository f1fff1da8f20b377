"""The fake's sign-in and lookup operations answer from its stored records, and its loopback server
prints working credentials (a first-hour user's trial: verify-credentials took any password and
answered an id the fake did not hold).

The e-shop sign-in of the vendor's use cases: ``POST /customers/actions/verify-credentials`` with a
login (e-mail or card number) and password, then ``GET /customers/{id}`` with the id it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

from carecloud_async import BadRequest, CareCloud, CustomerCareCloud, EnterpriseCareCloud
from carecloud_async.testing import FakeCareCloud
from carecloud_async.testing.__main__ import main as fake_main


@pytest.fixture
def shop() -> tuple[FakeCareCloud, dict[str, object], str]:
    """A fake holding Jane (password ``pw``, a card) and Joe (another password)."""
    fake = FakeCareCloud()
    jane = fake.customers.create(email="jane@example.com", password="pw", birthdate="1990-05-17")
    card = fake.cards.create(customer_id=jane["customer_id"])
    fake.customers.create(email="joe@example.com", password="joes")
    return fake, jane, card["card_number"]


# ---------------------------------------------------------------------- verify-credentials


@pytest.mark.parametrize("login", ["email", "card"])
async def test_verify_credentials_answers_the_stored_customer_whom_get_customer_then_returns(
    shop: tuple[FakeCareCloud, dict[str, object], str], login: Literal["email", "card"]
) -> None:
    fake, jane, card_number = shop
    value = "jane@example.com" if login == "email" else card_number
    async with fake.enterprise_client() as cc:
        verified = await cc.customers.verify_credentials({"login_type": login, "login_value": value, "password": "pw"})
        customer_id = verified.to_dict()["data"]["customer_id"]
        found = await cc.customers.get(customer_id)
    assert customer_id == jane["customer_id"]
    assert found.to_dict()["data"]["personal_information"]["email"] == "jane@example.com"


@pytest.mark.parametrize(
    ("login", "value", "password"),
    [
        ("email", "jane@example.com", "WRONG"),  # a wrong password
        ("email", "joe@example.com", "pw"),  # another customer's password
        ("email", "nobody@example.com", "pw"),  # an unknown login
        ("card", "9999999999999", "pw"),  # an unknown card
        ("card", "jane@example.com", "pw"),  # an e-mail sent as a card number
    ],
)
async def test_verify_credentials_refuses_a_wrong_password_or_an_unknown_login(
    shop: tuple[FakeCareCloud, dict[str, object], str],
    login: Literal["email", "card"],
    value: str,
    password: str,
) -> None:
    fake, _, _ = shop
    async with fake.enterprise_client() as cc:
        with pytest.raises(BadRequest) as refused:
            await cc.customers.verify_credentials({"login_type": login, "login_value": value, "password": password})
    # The same answer for both: a sign-in form does not learn which logins exist.
    assert [(p.name, p.reason) for p in refused.value.invalid_params] == [("login_value", "not_found")]
    assert fake.requests("postCustomerVerifyCredentials")[0].status == 400


async def test_verify_credentials_and_the_customer_api_login_agree(
    shop: tuple[FakeCareCloud, dict[str, object], str],
) -> None:
    # One rule for both: a customer without a password cannot sign in with any.
    fake, _, _ = shop
    nopass = fake.customers.create(email="nopass@example.com")
    async with fake.enterprise_client() as cc:
        with pytest.raises(BadRequest):
            await cc.customers.verify_credentials(
                {"login_type": "email", "login_value": "nopass@example.com", "password": ""}
            )
    fake.customers.passwords[nopass["customer_id"]] = "now"
    async with fake.enterprise_client() as cc:
        verified = await cc.customers.verify_credentials(
            {"login_type": "email", "login_value": "nopass@example.com", "password": "now"}
        )
    assert verified.to_dict()["data"]["customer_id"] == nopass["customer_id"]


# ---------------------------------------------------------------------- search-customers


async def test_search_customers_finds_the_stored_customer_by_name_birthdate_and_card(
    shop: tuple[FakeCareCloud, dict[str, object], str],
) -> None:
    fake, jane, card_number = shop
    fake.customers.create(email="jane2@example.com", birthdate="1990-05-17")  # another Jane Doe, no card
    async with fake.enterprise_client() as cc:
        strict = await cc.customers.search_customers(
            first_name="Jane", last_name="Doe", birthdate="1990-05-17", card_number=card_number, mode="strict"
        )
        dotted = await cc.customers.search_customers(
            first_name="Jane", last_name="Doe", birthdate="17.05.1990", card_number=card_number, mode="strict"
        )
        wrong_card = await cc.customers.search_customers(
            first_name="Jane", last_name="Doe", birthdate="1990-05-17", card_number="9999999999999", mode="strict"
        )
        with pytest.raises(BadRequest) as incomplete:
            await cc.customers.search_customers(card_number=card_number, mode="strict")
        found = await cc.customers.get(strict.to_dict()["data"]["strict"][0]["customer_id"])
    assert strict.to_dict()["data"]["strict"] == [{"customer_id": jane["customer_id"], "match": 100}]
    assert [r["customer_id"] for r in dotted.to_dict()["data"]["strict"]] == [jane["customer_id"]]
    assert wrong_card.to_dict()["data"]["strict"] == []
    assert {(p.name, p.reason) for p in incomplete.value.invalid_params} == {
        ("first_name", "required"),
        ("last_name", "required"),
        ("birthdate", "required"),
    }
    assert found.to_dict()["data"]["customer_id"] == jane["customer_id"]


# ---------------------------------------------------------------------- check-registration-ability


async def test_check_registration_ability_is_false_for_a_stored_email_or_phone(
    shop: tuple[FakeCareCloud, dict[str, object], str],
) -> None:
    fake, _, _ = shop
    fake.customers.create(email="pat@example.com", phone="+420777000111")
    asked: list[tuple[Literal["email", "phone"], str]] = [
        ("email", "jane@example.com"),
        ("phone", "+420777000111"),
        ("email", "new@example.com"),
        ("phone", "+420777000222"),
    ]
    answers = []
    async with fake.enterprise_client() as cc:
        for kind, value in asked:
            answer = await cc.customers.check_registration_ability({"type": kind, "value": value})
            answers.append(answer.to_dict()["data"]["registration_ability"])
    assert answers == [False, False, True, True]


# ---------------------------------------------------------------------- the loopback server


def test_the_servers_help_is_plain_text() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        fake_main(["--help"])
    text = out.getvalue()
    assert "--seed-customers" in text
    assert "``" not in text
    assert ":meth:" not in text
    assert ":class:" not in text


def _read_lines(stream: io.TextIOBase, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def test_the_server_prints_export_lines_that_configure_both_apis(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "carecloud_async.testing", "--seed-customers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while sum(line.strip().startswith("export ") for line in printed) < 3:
            assert process.poll() is None, printed
            with contextlib.suppress(queue.Empty):
                printed.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            assert time.monotonic() < deadline, printed
        export_lines = [line.strip() for line in printed if line.strip().startswith("export ")]
        enterprise, customer, signed_in = (dict(w.split("=", 1) for w in shlex.split(x)[1:]) for x in export_lines)

        async def use_them() -> tuple[list[str], str | None, list[str]]:
            async with CareCloud.from_env(enterprise) as cc:
                assert isinstance(cc, EnterpriseCareCloud)
                emails = [c.to_dict()["personal_information"]["email"] for c in await cc.customers.list().collect()]
            async with CareCloud.from_env(customer) as app:
                assert isinstance(app, CustomerCareCloud)
                await app.authenticate()  # a device token, nobody logged in
                nobody = app.customer_id
            async with CareCloud.from_env(signed_in) as app:
                assert isinstance(app, CustomerCareCloud)
                own = [c.to_dict()["personal_information"]["email"] for c in await app.customers.list().collect()]
            return emails, nobody, own

        emails, nobody, own = asyncio.run(use_them())
        # The line as a shell runs it, then the carecloud command (its device token file under HOME).
        env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
        env["HOME"] = str(tmp_path)
        carecloud = shlex.quote(str(Path(sys.executable).parent / "carecloud"))
        cli = subprocess.run(  # noqa: S603 (our own command and output)
            ["bash", "-c", f"{export_lines[2]} && {carecloud} call getCustomers --compact"],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    listening = next(line.split()[1] for line in printed if line.startswith("listening "))
    assert {v["CARECLOUD_PROJECT_URL"] for v in (enterprise, customer, signed_in)} == {listening}
    assert emails == ["customer1@example.com", "customer2@example.com"]
    assert nobody is None
    assert own == ["customer1@example.com"]  # the Customer API serves the logged-in customer only
    assert cli.returncode == 0, cli.stderr
    assert [c["personal_information"]["email"] for c in json.loads(cli.stdout)["data"]["customers"]] == own
