"""The token lifecycles' own requests obey the timeouts, against real sockets on 127.0.0.1.

The Enterprise login, the Customer API's device token creation, customer login and logout are
built by the auth flows themselves, not by ``client.build_request``: each must still carry the
client's timeout (or a call's own ``timeout=``), or a server that accepts the connection and never
answers holds the caller forever. Each server here answers what the flow needs and keeps one
route silent (reads the request, never answers) or slow (answers after a delay); every test is
bounded (:func:`bounded`) so that a request without a timeout fails the test, not hangs it.
The CLI runs as a subprocess against a silent server: a one-line error and the network exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from carecloud_api.api.customers import get_customer, get_customers

from carecloud_async import (
    CareCloud,
    CustomerCareCloud,
    CustomerCredentials,
    Device,
    EnterpriseAuth,
    EnterpriseCareCloud,
    MemoryTokenStore,
    NetworkError,
    RequestTimeout,
)
from carecloud_async.cli._exit_codes import NETWORK
from carecloud_async.testing import FakeCareCloud, FakeServer

TIMEOUT = 0.5  # the client's timeout in these tests, in seconds
GUARD = 5.0  # a test that takes this long found a request without a timeout
DEVICE = Device(device_id="device-1", device_system="server", device_name="tests", device_type="server")
TOKEN_ID = "device-token-" + "ab" * 20
CARECLOUD = Path(sys.executable).parent / "carecloud"

LOGIN = "/users/actions/login"
TOKENS = "/tokens"
CUSTOMER_LOGIN = f"/tokens/{TOKEN_ID}/actions/login"
CUSTOMER_LOGOUT = f"/tokens/{TOKEN_ID}/actions/logout"

_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    LOGIN: (200, {"data": {"bearer_token": "bearer-1", "valid_to": "2099-01-01 00:00:00"}}),
    TOKENS: (201, {"data": {"token_id": TOKEN_ID}}),
    CUSTOMER_LOGIN: (200, {"data": {"customer_id": "customer-42"}}),
    CUSTOMER_LOGOUT: (204, {}),
}


@dataclass
class Script:
    """What the server does: ``silent`` paths get no answer, ``slow`` ones one after a delay,
    ``refused`` ones a 401; a login (Enterprise or customer) answers as ``_ANSWERS`` says, any
    other path 200 with an empty page. ``seen`` lists the paths received, in order."""

    silent: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)


def _answer_for(path: str, script: Script) -> tuple[int, dict[str, Any]]:
    for suffix, answer in _ANSWERS.items():
        if path.endswith(suffix):
            return answer
    if any(path.endswith(suffix) for suffix in script.refused):
        script.refused.clear()  # refused once: the next try goes through the flow's renewal
        return 401, {"error": {"exception": "unauthorized_exception", "title": "Unauthorized"}}
    return 200, {"data": {}}


@contextlib.asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[str]:
    """An HTTP/1.1 server on 127.0.0.1 following ``script``; yields its origin."""
    stop = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                path = head.split(" ", 2)[1].split("?", 1)[0]
                lengths = [
                    line.split(":", 1)[1] for line in head.lower().split("\r\n") if line.startswith("content-length:")
                ]
                await reader.readexactly(int(lengths[0]) if lengths else 0)
                script.seen.append(path)
                if any(path.endswith(suffix) for suffix in script.silent):
                    await stop.wait()  # the request was read; no answer ever comes
                    return
                delay = next((s for suffix, s in script.slow.items() if path.endswith(suffix)), 0.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                status, body = _answer_for(path, script)
                content = json.dumps(body).encode() if status != 204 else b""
                head = (
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(content)}\r\n\r\n"
                )
                writer.write(head.encode() + content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        await server.wait_closed()


def enterprise(origin: str, timeout: float = TIMEOUT) -> EnterpriseCareCloud:
    return CareCloud.enterprise(
        origin, user_external_application_id="app", login="pos@example.com", password="pw", timeout=timeout
    )


def customer(origin: str, **kwargs: Any) -> CustomerCareCloud:
    return CareCloud.customer(
        origin,
        external_application_id="app",
        device=DEVICE,
        token_store=MemoryTokenStore(),
        timeout=TIMEOUT,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def bounded(at_most: float = GUARD) -> AsyncIterator[None]:
    """Fail (not hang) if the block outlives ``at_most`` seconds: a request had no timeout.
    (``asyncio.timeout`` is 3.11+; this cancels the test's task the same way.)"""
    task = asyncio.current_task()
    assert task is not None
    expired: list[bool] = []

    def expire() -> None:
        expired.append(True)
        task.cancel()

    handle = asyncio.get_running_loop().call_later(at_most, expire)
    try:
        yield
    except asyncio.CancelledError:
        if expired:
            pytest.fail(f"still waiting after {at_most} s: a request was sent without a timeout")
        raise
    finally:
        handle.cancel()


async def test_enterprise_login_to_a_server_that_never_answers_times_out() -> None:
    script = Script(silent={LOGIN})
    async with scripted_server(script) as origin, enterprise(origin) as cc, bounded():
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match=r"ReadTimeout on POST .*/users/actions/login"):
            await cc.call(get_customers.call)
        assert time.monotonic() - started < 4 * TIMEOUT
    assert script.seen == [f"/webservice/rest-api/enterprise-interface/v1.0{LOGIN}"]  # a POST is not retried


async def test_a_slow_enterprise_login_times_out_before_it_answers() -> None:
    # Only the login is slow: without its own timeout it would go through, and the call with it.
    script = Script(slow={LOGIN: 4 * TIMEOUT})
    async with scripted_server(script) as origin, enterprise(origin) as cc, bounded():
        with pytest.raises(RequestTimeout):
            await cc.call(get_customers.call)
        assert isinstance(cc.auth, EnterpriseAuth)
        assert not cc.auth.logged_in


async def test_enterprise_authenticate_times_out() -> None:
    async with scripted_server(Script(silent={LOGIN})) as origin, enterprise(origin) as cc, bounded():
        with pytest.raises(RequestTimeout):
            await cc.authenticate()


async def test_the_relogin_after_a_401_times_out() -> None:
    # The first login answers, the call gets a 401, and the second login never answers.
    script = Script(refused={"/customers"})
    async with scripted_server(script) as origin, enterprise(origin) as cc, bounded():
        await cc.authenticate()
        script.silent.add(LOGIN)
        with pytest.raises(RequestTimeout, match="/users/actions/login"):
            await cc.call(get_customers.call)
    assert [path.rsplit("/", 1)[-1] for path in script.seen] == ["login", "customers", "login"]


async def test_a_per_call_timeout_governs_the_login_it_causes() -> None:
    # The client would wait 30 s; a view's or a method's own timeout bounds the login the call needs.
    async with scripted_server(Script(silent={LOGIN})) as origin, enterprise(origin, timeout=30) as cc, bounded():
        with pytest.raises(RequestTimeout):
            await cc.with_options(timeout=TIMEOUT).call(get_customers.call)
        with pytest.raises(RequestTimeout):
            await cc.customers.get("c1", timeout=TIMEOUT)


async def test_a_standalone_enterprise_auth_uses_its_httpx_clients_timeout() -> None:
    # EnterpriseAuth on a user's own httpx client: the login gets that client's timeout.
    async with scripted_server(Script(silent={LOGIN})) as origin:
        base_url = f"{origin}/webservice/rest-api/enterprise-interface/v1.0"
        auth = EnterpriseAuth(base_url, user_external_application_id="app", login="pos@example.com", password="pw")
        async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=TIMEOUT) as client, bounded():
            with pytest.raises(httpx.ReadTimeout):
                await client.get("customers")
            with pytest.raises(httpx.ReadTimeout):
                await auth.authenticate(client)


async def test_device_token_creation_times_out() -> None:
    async with scripted_server(Script(silent={TOKENS})) as origin, customer(origin) as cc, bounded():
        with pytest.raises(RequestTimeout, match=r"ReadTimeout on POST .*/tokens"):
            await cc.call(get_customer, "c1")
        with pytest.raises(RequestTimeout):
            await cc.authenticate()


async def test_customer_login_times_out_in_a_call_and_in_login_customer() -> None:
    credentials = CustomerCredentials("email", "jane@example.com", "pw")
    async with scripted_server(Script(silent={CUSTOMER_LOGIN})) as origin, bounded():
        async with customer(origin, credentials=credentials) as cc:
            with pytest.raises(RequestTimeout, match="/actions/login"):
                await cc.call(get_customer, "c1")
        async with customer(origin) as cc:
            with pytest.raises(RequestTimeout, match="/actions/login"):
                await cc.login_customer(credentials)
            assert cc.customer_id is None


async def test_customer_logout_times_out() -> None:
    async with scripted_server(Script(silent={CUSTOMER_LOGOUT})) as origin, customer(origin) as cc, bounded():
        await cc.authenticate()  # the device token (TOKEN_ID) the logout is sent on
        with pytest.raises(RequestTimeout, match="/actions/logout"):
            await cc.logout_customer()


async def test_a_plain_http_fake_reached_over_https_fails_at_once_with_the_fix() -> None:
    # A scheme-less "127.0.0.1:<port>" means https; the fake answers the TLS hello with plain
    # HTTP, as other servers do, so the client says what to write instead (no retries: it is
    # permanent) rather than both ends waiting for each other.
    async with FakeServer(FakeCareCloud()) as server, bounded():
        where = f"127.0.0.1:{server.port}"
        async with enterprise(where, timeout=30) as cc:
            with pytest.raises(NetworkError, match=f"write the project URL as http://{where}"):
                await cc.call(get_customers.call)


# ---------------------------------------------------------------------- the CLI, as a subprocess


@contextlib.contextmanager
def silent_tcp_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def run_cli(project_url: str) -> subprocess.CompletedProcess[str]:
    assert CARECLOUD.is_file(), f"{CARECLOUD} is missing: `make install` installs the console script"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    env.update(
        CARECLOUD_PROJECT_URL=project_url,
        CARECLOUD_USER_EXTERNAL_APPLICATION_ID="app",
        CARECLOUD_LOGIN="pos@example.com",
        CARECLOUD_PASSWORD="pw",
        CARECLOUD_TIMEOUT="1",
        CARECLOUD_MAX_ATTEMPTS="1",
    )
    return subprocess.run(  # noqa: S603 (our own console script)
        [str(CARECLOUD), "call", "getCustomers"], env=env, capture_output=True, text=True, timeout=20, check=False
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("http://{where}", r"RequestTimeout: ReadTimeout on POST http://{where}/.*/users/actions/login: timed out"),
        # No scheme means https: the TLS handshake gets no answer, and the message says what to write.
        (
            "{where}",
            r"RequestTimeout: ConnectTimeout on POST https://{where}/.*/users/actions/login: timed out; "
            r"{where} did not answer the TLS handshake: .*write the project URL as http://{where}$",
        ),
    ],
    ids=["http", "no-scheme"],
)
def test_cli_against_a_server_that_never_answers_ends_with_one_line(written: str, expected: str) -> None:
    with silent_tcp_server() as port:
        where = f"127.0.0.1:{port}"
        started = time.monotonic()
        result = run_cli(written.format(where=where))
        elapsed = time.monotonic() - started
    assert result.returncode == NETWORK, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(expected.format(where=where), lines[0]), lines[0]
    assert elapsed < 15, f"the CLI took {elapsed:.1f} s with CARECLOUD_TIMEOUT=1"
