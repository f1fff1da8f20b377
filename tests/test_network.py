"""Network errors say why, with real sockets: a refused port on 127.0.0.1, a name that does not
resolve (``.invalid``, RFC 6761: never a real host), TLS to a plain-HTTP loopback port; and
``from_env`` says which API it chose and how to pick the other."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from carecloud_api.api.customers import get_customers

from carecloud_async import CareCloud, ConfigurationError, NetworkError, RetryPolicy
from carecloud_async._network import network_reason

PASSWORD = "pw-SECRET-network"
UNRESOLVABLE = "carecloud-test.invalid"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def resolver_says(host: str) -> str:
    """What this machine's resolver says about ``host`` (offline, it may be EAI_AGAIN's words)."""
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as exc:
        return exc.strerror or str(exc)
    raise AssertionError(f"{host} resolved")


@asynccontextmanager
async def plain_http_server() -> AsyncIterator[int]:
    """A real plain-HTTP server on 127.0.0.1 (answers 400 to anything, like a mock to a TLS hello)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def enterprise(project_url: str, retry: RetryPolicy | None = None) -> CareCloud:
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="app",
        login="pos@example.com",
        password=PASSWORD,
        retry=retry or RetryPolicy.disabled(),
    )


async def network_failure(cc: CareCloud) -> str:
    with pytest.raises(NetworkError) as info:
        await cc.call(get_customers.call)
    message = str(info.value)
    assert PASSWORD not in message
    return message


async def test_a_refused_port_says_connection_refused() -> None:
    port = closed_port()
    async with enterprise(f"http://127.0.0.1:{port}") as cc:
        message = await network_failure(cc)
    assert message.startswith(f"ConnectError on POST http://127.0.0.1:{port}/webservice/")
    assert f": Connection refused (nothing listens on 127.0.0.1:{port}: is the local server running?)" in message


async def test_an_unresolvable_name_says_what_the_resolver_said() -> None:
    expected = resolver_says(UNRESOLVABLE)
    async with enterprise(UNRESOLVABLE) as cc:
        message = await network_failure(cc)
    assert f"https://{UNRESOLVABLE}/webservice/" in message
    assert f": {expected} (the host name '{UNRESOLVABLE}' did not resolve" in message


async def test_a_scheme_less_loopback_port_speaking_plain_http_suggests_http() -> None:
    async with plain_http_server() as port, enterprise(f"127.0.0.1:{port}") as cc:
        message = await network_failure(cc)
    assert message.startswith(f"ConnectError on POST https://127.0.0.1:{port}/")
    assert "TLS handshake failed" in message
    assert f"write the project URL as http://127.0.0.1:{port}" in message


async def test_the_same_project_url_with_http_works_against_that_server() -> None:
    # The suggestion is right: with http:// the request reaches the server (its 400 is an APIError).
    from carecloud_async import AuthenticationError

    async with plain_http_server() as port, enterprise(f"http://127.0.0.1:{port}") as cc:
        with pytest.raises(AuthenticationError):
            await cc.authenticate()


async def test_each_retry_log_line_says_why(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    caplog.set_level(logging.WARNING, logger="carecloud_async.retry")
    async with enterprise(f"http://127.0.0.1:{port}", RetryPolicy(max_attempts=2, backoff_base=0.01)) as cc:
        await network_failure(cc)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "carecloud_async.retry"]
    assert "failed (ConnectError: Connection refused)" in line


def test_network_reason_reads_causes_contexts_and_exception_groups() -> None:
    assert network_reason(ValueError("x")) is None
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")

    class Attempts(Exception):  # shaped like the ExceptionGroup anyio raises for several addresses
        exceptions = (refused,)

    wrapper = OSError("All connection attempts failed")
    wrapper.__cause__ = Attempts("attempts")
    assert network_reason(wrapper) == "Connection refused"
    tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    tls.reason = "WRONG_VERSION_NUMBER"
    assert network_reason(tls) == "TLS handshake failed (WRONG_VERSION_NUMBER)"
    assert network_reason(socket.gaierror(-2, "Name or service not known")) == "Name or service not known"


# ---------------------------------------------------------------- from_env


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CARECLOUD_PROJECT_URL": "demo.example.com"},
            "missing CARECLOUD_DEVICE_ID for the Customer API (inferred because CARECLOUD_LOGIN is not set; "
            "CARECLOUD_INTERFACE=enterprise selects the Enterprise API)",
        ),
        (
            {"CARECLOUD_PROJECT_URL": "demo.example.com", "CARECLOUD_LOGIN": "pos@example.com"},
            "missing CARECLOUD_USER_EXTERNAL_APPLICATION_ID, CARECLOUD_PASSWORD for the Enterprise API (inferred "
            "because CARECLOUD_LOGIN is set; CARECLOUD_INTERFACE=customer selects the Customer API)",
        ),
        (
            {
                "CARECLOUD_PROJECT_URL": "demo.example.com",
                "CARECLOUD_INTERFACE": "customer",
                "CARECLOUD_DEVICE_ID": "d",
            },
            "missing CARECLOUD_EXTERNAL_APPLICATION_ID for the Customer API (CARECLOUD_INTERFACE=customer)",
        ),
    ],
)
def test_from_env_says_which_api_it_chose_and_what_selects_the_other(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        CareCloud.from_env(env)
    assert str(info.value) == expected


ENTERPRISE_ENV = {
    "CARECLOUD_PROJECT_URL": "demo.example.com",
    "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "app",
    "CARECLOUD_LOGIN": "pos@example.com",
    "CARECLOUD_PASSWORD": PASSWORD,
}


def test_max_attempts_zero_says_the_real_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        CareCloud.from_env({**ENTERPRISE_ENV, "CARECLOUD_MAX_ATTEMPTS": "0"})
    assert str(info.value).startswith("CARECLOUD_MAX_ATTEMPTS=0: the attempts include the first one")
    assert "at least 1 (1 = no retries" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"must be a whole number of attempts.*not 'three'"):
        CareCloud.from_env({**ENTERPRISE_ENV, "CARECLOUD_MAX_ATTEMPTS": "three"})


async def test_from_env_logs_the_chosen_api_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="carecloud_async")
    async with CareCloud.from_env({**ENTERPRISE_ENV, "CARECLOUD_MAX_ATTEMPTS": "1"}) as cc:
        assert cc.retry.max_attempts == 1
    assert "from_env: the enterprise API (inferred because CARECLOUD_LOGIN is set;" in caplog.text
