"""Failures a retry cannot fix fail at once, with real sockets: a name under ``.invalid`` (RFC
6761: resolves nowhere), a loopback TLS server whose self-signed certificate is not trusted, one
that speaks only TLS 1.2 to a client that asks for 1.3, and a plain TCP server that answers a TLS
hello with garbage. One attempt each, no WARNING retry line, one typed ``NetworkError`` line. A
refused port is still retried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from carecloud_api.api.customers import get_customers

from carecloud_async import AuthenticationError, CareCloud, NetworkError, RetryPolicy
from carecloud_async._failures import is_permanent_failure
from carecloud_async._retry import should_retry

PASSWORD = "pw-SECRET-failures"
UNRESOLVABLE = "carecloud-failures.invalid"
# Four attempts as by default, with waits short enough that the code before the fix (which
# retried these) finishes quickly too.
RETRYING = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.02)
HTTP_400 = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class CountingTransport(httpx.AsyncBaseTransport):
    """The real network transport, counting the attempts that reach it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def enterprise(project_url: str, transport: httpx.AsyncBaseTransport) -> CareCloud:
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="app",
        login="pos@example.com",
        password=PASSWORD,
        retry=RETRYING,
        transport=transport,
    )


async def fails_once(project_url: str, caplog: pytest.LogCaptureFixture, verify: ssl.SSLContext | bool = True) -> str:
    """Call once through the real transport; assert one attempt and no retry WARNING; the error text."""
    caplog.set_level(logging.WARNING, logger="carecloud_async.retry")
    transport = CountingTransport(httpx.AsyncHTTPTransport(retries=0, verify=verify))
    async with enterprise(project_url, transport) as cc:
        with pytest.raises(NetworkError) as info:
            await cc.call(get_customers.call)
    assert transport.attempts == 1
    assert [r.getMessage() for r in caplog.records if r.name == "carecloud_async.retry"] == []
    message = str(info.value)
    assert "\n" not in message
    assert PASSWORD not in message
    return message


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made by the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def read_request(connection: socket.socket) -> None:
    """Read one HTTP/1.1 request: its head, then the ``Content-Length`` bytes of its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


@contextlib.contextmanager
def tls_server(
    certificate: tuple[Path, Path], maximum_version: ssl.TLSVersion | None = None
) -> Iterator[tuple[int, list[str]]]:
    """A blocking TLS server on 127.0.0.1 in a thread (blocking, so OpenSSL sends its alert when a
    handshake fails): after a handshake it answers 400 to anything. Yields the port and the list
    of handshake errors it saw; stops when the block ends."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    if maximum_version is not None:
        context.maximum_version = maximum_version
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # a blocked accept() does not notice close(): look at `stop` often
    stop = threading.Event()
    errors: list[str] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    read_request(tls)  # all of it: unread bytes at close() make the kernel send a reset
                    tls.sendall(HTTP_400)
            except (ssl.SSLError, OSError) as exc:
                errors.append(type(exc).__name__)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], errors
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


@contextlib.asynccontextmanager
async def garbage_server() -> AsyncIterator[int]:
    """A plain TCP server on 127.0.0.1 that answers whatever it gets (a TLS hello) with garbage."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"\x00\xffnot TLS at all\r\n" * 8)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# ---------------------------------------------------------------- real failures, through the client


async def test_a_name_that_does_not_resolve_fails_at_once(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(socket.gaierror) as resolver:
        socket.getaddrinfo(UNRESOLVABLE, 443)
    # The resolver says the name does not exist (not "try again": that one is retried).
    assert resolver.value.errno == socket.EAI_NONAME, resolver.value
    message = await fails_once(UNRESOLVABLE, caplog)
    assert message.startswith(f"ConnectError on POST https://{UNRESOLVABLE}/webservice/")
    assert f"(the host name '{UNRESOLVABLE}' did not resolve: check the project URL and DNS)" in message


async def test_an_untrusted_certificate_fails_at_once(
    certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with tls_server(certificate) as (port, _):
        message = await fails_once(f"https://127.0.0.1:{port}", caplog)
        # The server works: a client that trusts its certificate gets its answer.
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        transport = httpx.AsyncHTTPTransport(retries=0, verify=trusting)
        async with enterprise(f"https://127.0.0.1:{port}", transport) as cc:
            with pytest.raises(AuthenticationError):
                await cc.authenticate()
    assert message.startswith(f"ConnectError on POST https://127.0.0.1:{port}/webservice/")
    assert message.endswith(": TLS handshake failed (CERTIFICATE_VERIFY_FAILED)")


async def test_a_tls_version_mismatch_fails_at_once(
    certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client = ssl.create_default_context(cafile=str(certificate[0]))
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    with tls_server(certificate, maximum_version=ssl.TLSVersion.TLSv1_2) as (port, errors):
        message = await fails_once(f"https://127.0.0.1:{port}", caplog, verify=client)
    assert errors == ["SSLError"]  # one handshake, refused by the server
    assert message.endswith(": TLS handshake failed (TLSV1_ALERT_PROTOCOL_VERSION)")


async def test_a_server_that_does_not_speak_tls_fails_at_once(caplog: pytest.LogCaptureFixture) -> None:
    async with garbage_server() as port:
        message = await fails_once(f"https://127.0.0.1:{port}", caplog)
    assert message.startswith(f"ConnectError on POST https://127.0.0.1:{port}/")
    assert "TLS handshake failed (WRONG_VERSION_NUMBER)" in message


async def test_a_refused_port_is_still_retried(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.WARNING, logger="carecloud_async.retry")
    transport = CountingTransport(httpx.AsyncHTTPTransport(retries=0))
    async with enterprise(f"http://127.0.0.1:{port}", transport) as cc:
        with pytest.raises(NetworkError, match="Connection refused"):
            await cc.call(get_customers.call)
    assert transport.attempts == RETRYING.max_attempts
    warnings = [r.getMessage() for r in caplog.records if r.name == "carecloud_async.retry"]
    assert len(warnings) == RETRYING.max_attempts - 1


# ---------------------------------------------------------------- the pure classification


def _wrapped(cause: BaseException, *, group: bool = False, context: bool = False) -> httpx.ConnectError:
    """``cause`` behind an httpx.ConnectError the way httpcore and anyio wrap it."""
    inner: BaseException = cause
    if group:

        class Attempts(Exception):  # shaped like the ExceptionGroup anyio raises for several addresses
            exceptions = (ConnectionRefusedError(111, "refused"), cause)

        inner = Attempts("attempts")
    error = httpx.ConnectError("All connection attempts failed")
    if context:
        error.__context__ = inner
    else:
        error.__cause__ = inner
    return error


def _ssl_error(cls: type[ssl.SSLError], reason: str) -> ssl.SSLError:
    error = cls(1, f"[SSL: {reason}] ...")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    "cause",
    [
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        _ssl_error(ssl.SSLCertVerificationError, "CERTIFICATE_VERIFY_FAILED"),
        _ssl_error(ssl.SSLError, "WRONG_VERSION_NUMBER"),
        _ssl_error(ssl.SSLError, "TLSV1_ALERT_PROTOCOL_VERSION"),
        _ssl_error(ssl.SSLError, "UNSUPPORTED_PROTOCOL"),
        _ssl_error(ssl.SSLError, "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    ],
)
@pytest.mark.parametrize(("group", "context"), [(False, False), (False, True), (True, False)])
def test_permanent_failures_are_found_anywhere_in_the_chain(cause: BaseException, group: bool, context: bool) -> None:
    error = _wrapped(cause, group=group, context=context)
    assert is_permanent_failure(error)
    assert not should_retry("GET", error, RetryPolicy())


@pytest.mark.parametrize(
    "cause",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        _ssl_error(ssl.SSLEOFError, "UNEXPECTED_EOF_WHILE_READING"),
        _ssl_error(ssl.SSLError, "SOME_FUTURE_REASON"),
        TimeoutError(),
    ],
)
def test_failures_a_retry_may_fix_are_still_retried(cause: BaseException) -> None:
    error = _wrapped(cause)
    assert not is_permanent_failure(error)
    assert should_retry("POST", error, RetryPolicy())
    assert should_retry("POST", httpx.ConnectTimeout("slow"), RetryPolicy())


def test_the_module_examples_run() -> None:
    import doctest

    from carecloud_async import _failures

    result = doctest.testmod(_failures)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("cause", "sends"),
    [(socket.gaierror(socket.EAI_NONAME, "Name or service not known"), 1), (ConnectionResetError(104, "reset"), 3)],
)
async def test_a_natural_key_resend_stops_at_a_failure_no_resend_can_fix(cause: BaseException, sends: int) -> None:
    # create_event / Checkout.send_purchase(resend_on_network_error=N) resend after a lost answer;
    # a name that does not resolve (or a TLS mismatch) fails the same way every time.
    from carecloud_async.workflows._natural_keys import send_keyed

    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        raise NetworkError("cannot connect") from _wrapped(cause)

    with pytest.raises(NetworkError):
        await send_keyed(send, key="bill_id", reasons={"already_exists"}, resend_on_network_error=2)
    assert calls == sends
