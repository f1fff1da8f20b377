"""Why a request could not reach the server, in the words of the resolver or the socket.

httpx's ``ConnectError`` often says only "All connection attempts failed"; the reason (the
resolver's "Name or service not known", the socket's "Connection refused", a TLS handshake that
met plain HTTP) sits further down the exception chain. :func:`network_reason` finds it, and
:func:`describe_network_error` builds the message of a :class:`NetworkError` from it, with a hint
where the fix is known: ``https://`` to a loopback port that speaks plain HTTP (a scheme-less
``127.0.0.1:4010`` means https) gets "write the project URL as http://127.0.0.1:4010", whether
the server answered the TLS handshake with plain HTTP or never answered it (a connect timeout).

>>> import socket
>>> network_reason(OSError("All connection attempts failed"))
>>> try:
...     raise OSError("All connection attempts failed") from ConnectionRefusedError(111, "Connect call failed")
... except OSError as exc:
...     network_reason(exc)
'Connection refused'
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator

import httpx

from ._config import is_loopback
from ._errors import redact_url

__all__ = ["describe_network_error", "network_reason"]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it (causes, contexts, members of exception groups)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(getattr(current, "exceptions", ()))  # ExceptionGroup (anyio, Happy Eyeballs)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _reason_of(exc: BaseException) -> str | None:
    if isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError)):
        return None  # "not yet": the handshake was waiting for the other end when time ran out
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.errno:
        # The system's own words for the errno ("Connection refused"), not asyncio's wrapping
        # ("Connect call failed ('127.0.0.1', 4010)").
        return os.strerror(exc.errno) if exc.errno > 0 else exc.strerror
    return None


def network_reason(exc: BaseException) -> str | None:
    """The resolver's or socket's reason behind ``exc`` ("Name or service not known",
    "Connection refused", "TLS handshake failed (WRONG_VERSION_NUMBER)"), or None if none is
    known. The deepest specific reason wins over generic wrappers."""
    for candidate in _chain(exc):
        reason = _reason_of(candidate)
        if reason:
            return reason
    return None


def _tls_met_plain_http(chain: list[BaseException]) -> bool:
    # What OpenSSL says when the first bytes back are an HTTP answer instead of a TLS record.
    return any(
        isinstance(candidate, ssl.SSLError)
        and candidate.reason in {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"}
        for candidate in chain
    )


def describe_network_error(exc: httpx.HTTPError) -> str:
    """The message of the :class:`NetworkError` for ``exc``: what failed, on which request (URL
    without query string or token id), why, and what to do where that is known."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:
        request = None
    text = type(exc).__name__
    if request is not None:
        text += f" on {request.method} {redact_url(request.url)}"
    reason = network_reason(exc)
    if isinstance(exc, httpx.TimeoutException) and reason is None:
        reason = "timed out"
    if reason:
        text += f": {reason}"
    if request is None:
        return text
    host, port = request.url.host, request.url.port
    where = f"{host}:{port}" if port else host
    chain = list(_chain(exc))
    if any(isinstance(candidate, socket.gaierror) for candidate in chain):
        text += f" (the host name {host!r} did not resolve: check the project URL and DNS)"
    elif request.url.scheme == "https" and is_loopback(host) and _tls_met_plain_http(chain):
        text += (
            f"; {where} answers plain HTTP, not TLS: for a local server such as the mock, "
            f"write the project URL as http://{where}"
        )
    elif request.url.scheme == "https" and is_loopback(host) and isinstance(exc, httpx.ConnectTimeout):
        # On loopback a listening port accepts at once: the wait was the TLS handshake, which a
        # plain HTTP server that waits for a request line never answers.
        text += (
            f"; {where} did not answer the TLS handshake: if it serves plain HTTP (the mock, the fake "
            f"CareCloud), write the project URL as http://{where}"
        )
    elif is_loopback(host) and any(isinstance(candidate, ConnectionRefusedError) for candidate in chain):
        text += f" (nothing listens on {where}: is the local server running?)"
    return text
