"""Logging: every logger is documented, ``CARECLOUD_LOG`` turns ours on, and at DEBUG, with
httpx's and httpcore's own loggers on too, no secret and no customer query string is logged.

The end-to-end test runs a real HTTP server on 127.0.0.1 (aiohttp, in this process) and a client
in a fresh interpreter with ``CARECLOUD_LOG=debug``: Enterprise login (and a re-login on a 401),
a paginated customer search by e-mail, a Customer API device token, customer login, a call and
logout. Every secret is random per run, so a match cannot be a coincidence of fixed strings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from carecloud_async import ConfigurationError, configure_logging
from carecloud_async._logging import LOGGER_NAMES, _HttpxUrlRedactor, log_level_from_env

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISE = "/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER = "/webservice/rest-api/customer-interface/v1.0"


def test_the_logger_names_are_every_logger_of_the_package_and_the_logging_guide_names_them() -> None:
    found = set()
    for path in (ROOT / "carecloud_async").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'getLogger\("([\w.]+)"\)', text))
        if re.search(r"getLogger\(__name__\)", text):
            found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    # getLogger("httpx") is httpx's own logger, which configure_logging only filters.
    assert {name for name in found if name.startswith("carecloud_async")} == set(LOGGER_NAMES)
    section = (ROOT / "docs" / "guide" / "logging.md").read_text(encoding="utf-8")
    for name in LOGGER_NAMES:
        assert f"`{name}`" in section, name
    assert "CARECLOUD_LOG=debug" in section


def test_log_levels_from_the_environment() -> None:
    assert log_level_from_env(None) is None
    assert log_level_from_env(" ") is None
    assert log_level_from_env("debug") == logging.DEBUG
    assert log_level_from_env("Warning") == logging.WARNING
    with pytest.raises(
        ConfigurationError, match="CARECLOUD_LOG must be one of debug, info, warning, error, not 'loud'"
    ):
        log_level_from_env("loud")


def test_the_httpx_filter_cuts_query_strings_and_token_ids() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s %d %s"',
        (
            "POST",
            "http://127.0.0.1:1/v1.0/tokens/tok-SECRET/actions/login?email=jane%40example.com",
            "HTTP/1.1",
            200,
            "OK",
        ),
        None,
    )
    assert _HttpxUrlRedactor().filter(record)
    assert (
        record.getMessage() == 'HTTP Request: POST http://127.0.0.1:1/v1.0/tokens/***/actions/login "HTTP/1.1 200 OK"'
    )


def test_configure_logging_sets_our_level_and_filters_httpx_once() -> None:
    ours, httpx_logger = logging.getLogger("carecloud_async"), logging.getLogger("httpx")
    before = (ours.level, list(ours.handlers), list(httpx_logger.filters))
    try:
        configure_logging("info")
        configure_logging("info")
        assert ours.level == logging.INFO
        assert sum(isinstance(f, _HttpxUrlRedactor) for f in httpx_logger.filters) == 1
    finally:
        ours.setLevel(before[0])
        ours.handlers[:] = before[1]
        httpx_logger.filters[:] = before[2]


# ---------------------------------------------------------------- end to end, real server

CLIENT = """
import asyncio, logging, os, sys
from carecloud_api.api.customers import get_customers
from carecloud_async import CareCloud, CustomerCredentials, Device, RetryPolicy

# httpx's and httpcore's own loggers at DEBUG, on their own handler (the application's choice).
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
for name in ("httpx", "httpcore"):
    logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger(name).addHandler(handler)

async def main():
    root = os.environ["SERVER"]
    email = os.environ["EMAIL"]
    async with CareCloud.enterprise(
        root, user_external_application_id="app", login="pos@example.com",
        password=os.environ["PASSWORD"], retry=RetryPolicy.disabled(),
    ) as cc:
        found = await cc.paginate(get_customers, email=email, page_size=1).collect()
        await cc.call(get_customers.call, email_list=[email, "x" + email])
    async with CareCloud.customer(
        root, external_application_id="app", device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
        credentials=CustomerCredentials("email", email, os.environ["CUSTOMER_PASSWORD"]),
        retry=RetryPolicy.disabled(),
    ) as customer:
        await customer.call(get_customers.call, email=email)
        await customer.logout_customer()
    print("done", len(found))

asyncio.run(main())
"""


def customer_record(email: str) -> dict[str, Any]:
    return {"customer_id": "c1", "personal_information": {"first_name": "Jane", "email": email, "language_id": "en"}}


def carecloud_app(values: dict[str, str]) -> web.Application:
    """A small stand-in CareCloud: both APIs' token flows, a 401 once, customers by e-mail."""
    state = {"logins": 0, "refused": False}

    def bearer() -> str:
        return f"{values['BEARER']}-{state['logins']}"

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        assert body["password"] == values["PASSWORD"]
        state["logins"] += 1
        return web.json_response({"data": {"bearer_token": bearer(), "valid_to": "2099-01-01 00:00:00"}})

    async def customers(request: web.Request) -> web.Response:
        allowed = {f"Bearer {bearer()}", f"Bearer {values['TOKEN_ID']}"}
        if not state["refused"]:  # the first call: 401, so the client logs in again and replays
            state["refused"] = True
            return web.json_response({"error": {"title": "Unauthorized"}}, status=401)
        if request.headers.get("Authorization") not in allowed:
            return web.json_response({"error": {"title": "Unauthorized"}}, status=401)
        return web.json_response({"data": {"customers": [customer_record(values["EMAIL"])], "total_items": 1}})

    async def create_token(request: web.Request) -> web.Response:
        return web.json_response({"data": {"token_id": values["TOKEN_ID"]}}, status=201)

    async def customer_login(request: web.Request) -> web.Response:
        assert request.match_info["token_id"] == values["TOKEN_ID"]
        body = await request.json()
        assert body["password"] == values["CUSTOMER_PASSWORD"]
        return web.json_response({"data": {"customer_id": "c1"}})

    async def customer_logout(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post(f"{ENTERPRISE}/users/actions/login", login)
    app.router.add_get(f"{ENTERPRISE}/customers", customers)
    app.router.add_get(f"{CUSTOMER}/customers", customers)
    app.router.add_post(f"{CUSTOMER}/tokens", create_token)
    app.router.add_post(f"{CUSTOMER}/tokens/{{token_id}}/actions/login", customer_login)
    app.router.add_post(f"{CUSTOMER}/tokens/{{token_id}}/actions/logout", customer_logout)
    return app


async def run_client(values: dict[str, str], carecloud_log: str | None) -> str:
    server = TestServer(carecloud_app(values), host="127.0.0.1")
    await server.start_server()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")}
        env.update(values, SERVER=f"http://127.0.0.1:{server.port}")
        if carecloud_log is not None:
            env["CARECLOUD_LOG"] = carecloud_log
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLIENT,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        await server.close()
    text = output.decode()
    assert process.returncode == 0, text
    assert "done 1" in text, text
    return text


def secret_values() -> dict[str, str]:
    return {
        "PASSWORD": f"pw-{secrets.token_hex(8)}",
        "CUSTOMER_PASSWORD": f"cpw-{secrets.token_hex(8)}",
        "BEARER": f"bearer{secrets.token_hex(12)}",
        "TOKEN_ID": f"tok{secrets.token_hex(12)}",
        "EMAIL": f"jane.{secrets.token_hex(4)}@example.com",
    }


async def test_at_debug_no_secret_or_customer_query_reaches_any_log() -> None:
    values = secret_values()
    text = await run_client(values, "debug")
    # Everything was on: our loggers at DEBUG (with their own handler: the app set none on root),
    # httpx's request lines and httpcore's connection traces.
    for expected in (
        "DEBUG carecloud_async._auth: logging in to http://127.0.0.1:",
        "DEBUG carecloud_async._auth: 401 on GET http://127.0.0.1:",
        "DEBUG carecloud_async._auth: created a device token",
        "DEBUG carecloud_async._auth: customer logged in",
        f"{ENTERPRISE}/customers -> 200",
        "INFO httpx: HTTP Request: POST",
        f"{CUSTOMER}/tokens/***/actions/login",
        "DEBUG httpcore.connection: connect_tcp.started",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    for name, secret in values.items():
        for form in {secret, quote(secret), quote(secret, safe="")}:
            assert form not in text, f"{name} appears in the log output:\n{text}"


async def test_without_carecloud_log_our_debug_lines_stay_off() -> None:
    text = await run_client(secret_values(), None)
    assert "INFO httpx: HTTP Request" in text  # httpx's logger was on
    assert "carecloud_async" not in text


def test_a_carecloud_log_that_is_not_a_level_fails_at_construction() -> None:
    import subprocess

    code = (
        "from carecloud_async import CareCloud\n"
        "CareCloud.enterprise('demo.example.com', user_external_application_id='a', login='l', password='p')\n"
    )
    env = {**os.environ, "CARECLOUD_LOG": "loud"}
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "ConfigurationError: CARECLOUD_LOG must be one of debug, info, warning, error, not 'loud'" in result.stderr
