"""Connection failures that no retry can fix: a name that does not resolve, a TLS protocol
mismatch, a certificate that does not verify.

``RetryTransport`` retries a ``ConnectError`` (the request was never sent), but these fail the
same way on every attempt: retrying them only delays the error by the whole backoff and fills
the log with WARNING lines. :func:`is_permanent_failure` picks them out of the exception chain
(httpcore wraps the resolver's or OpenSSL's exception, anyio may group several), so the retry
decision can fail at once. A refused connection, a reset, a handshake cut short by EOF and a
resolver's *temporary* failure (``EAI_AGAIN``, e.g. a DNS server that did not answer) stay
retryable: a server restarting or a network coming back fixes them.

>>> import socket
>>> wrapped = OSError("All connection attempts failed")
>>> wrapped.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
>>> is_permanent_failure(wrapped)
True
>>> is_permanent_failure(ConnectionRefusedError(111, "Connection refused"))
False
"""

from __future__ import annotations

import socket
import ssl

from ._network import _chain

__all__ = ["PERMANENT_TLS_REASONS", "is_permanent_failure"]

# Resolver answers that say the name does not exist (or cannot be looked up for this address
# family or service) rather than that the resolver could not be reached. EAI_NODATA and
# EAI_ADDRFAMILY are glibc's, absent on some platforms.
_PERMANENT_RESOLVER_CODES = frozenset(
    code
    for code in (
        getattr(socket, name, None)
        for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "EAI_ADDRFAMILY", "EAI_FAMILY", "EAI_SERVICE")
    )
    if isinstance(code, int)
)

#: OpenSSL's reasons for a handshake that will fail again the same way: the other end does not
#: speak TLS (it answered plain HTTP or garbage), the two ends share no protocol version or
#: cipher, or a certificate was refused. A handshake cut short (``UNEXPECTED_EOF_WHILE_READING``)
#: is not here: a dropped connection may succeed the next time.
PERMANENT_TLS_REASONS: frozenset[str] = frozenset(
    {
        # not TLS at all
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "HTTPS_PROXY_REQUEST",
        "RECORD_LAYER_FAILURE",
        "UNKNOWN_PROTOCOL",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_TOO_LARGE",
        # no common protocol version or cipher
        "UNSUPPORTED_PROTOCOL",
        "NO_PROTOCOLS_AVAILABLE",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "VERSION_TOO_LOW",
        "VERSION_TOO_HIGH",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        "NO_SHARED_CIPHER",
        "NO_CIPHERS_AVAILABLE",
        "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
        "DH_KEY_TOO_SMALL",
        # a certificate refused, by us or by the server
        "CERTIFICATE_VERIFY_FAILED",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_ACCESS_DENIED",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "TLSV1_UNRECOGNIZED_NAME",
        "CA_MD_TOO_WEAK",
        "EE_KEY_TOO_SMALL",
        "CA_KEY_TOO_SMALL",
    }
)


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, socket.gaierror):
        return exc.errno in _PERMANENT_RESOLVER_CODES
    if isinstance(exc, ssl.SSLCertVerificationError):  # includes a host name that does not match
        return True
    if isinstance(exc, ssl.SSLError):
        return exc.reason in PERMANENT_TLS_REASONS
    return False


def is_permanent_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (typically an ``httpx.ConnectError``) has, anywhere in its chain of causes,
    contexts and exception-group members, a failure that a retry cannot fix: a name the resolver
    says does not exist, a TLS version, cipher or certificate the two ends cannot agree on, or a
    server that does not speak TLS where TLS was asked for."""
    return any(_is_permanent(candidate) for candidate in _chain(exc))
