"""Turning on carecloud_async's logs: ``CARECLOUD_LOG=debug`` or :func:`configure_logging`.

Our loggers all sit under ``carecloud_async`` (``carecloud_async``, ``carecloud_async.retry``,
``carecloud_async._auth``); none ever logs a password, bearer token, token id or query string.
``CARECLOUD_LOG`` (``debug``, ``info``, ``warning`` or ``error``) is read once, when the first
``CareCloud`` is created, and configures those loggers only: their level, and a stderr handler
when the application has configured no logging at all (else our records go to its handlers).

It also puts a filter on httpx's own ``httpx`` logger, which prints every request's full URL at
INFO: the filter cuts the query string (customer data such as ``email=``) and the Customer API's
token id (``/tokens/***/``) out of those URLs. httpx's and httpcore's levels stay the
application's choice.

    configure_logging("debug")        # the same as CARECLOUD_LOG=debug, from code

>>> log_level_from_env("DEBUG")
10
>>> log_level_from_env("") is None
True
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping

from ._errors import ConfigurationError, redact_url

__all__ = ["LOGGER_NAMES", "configure_logging", "configure_logging_from_env", "log_level_from_env"]

#: Every logger of the package (tests/test_logging.py checks this against the code).
LOGGER_NAMES = (
    "carecloud_async",
    "carecloud_async.retry",
    "carecloud_async._auth",
    "carecloud_async.redis",
    "carecloud_async.outbox",
    "carecloud_async.pool",
)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A URL in a log line: up to whitespace, a quote or the end.
_URL = re.compile(r"https?://[^\s\"'<>]+")
#: Holds "env" once CARECLOUD_LOG has been applied (read once per process).
_done: set[str] = set()


def log_level_from_env(value: str | None) -> int | None:
    """The level ``CARECLOUD_LOG=value`` asks for; None when unset or empty."""
    if value is None or not value.strip():
        return None
    level = _LEVELS.get(value.strip().lower())
    if level is None:
        raise ConfigurationError(f"CARECLOUD_LOG must be one of {', '.join(_LEVELS)}, not {value!r}")
    return level


class _HttpxUrlRedactor(logging.Filter):
    """Rewrites every URL in a record as :func:`redact_url` shows it: no query string, no
    userinfo, no token id in ``/tokens/{token_id}/`` paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        if "://" in message:
            record.msg, record.args = _URL.sub(lambda match: redact_url(match.group(0)), message), None
        return True


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler :func:`configure_logging` adds (recognised so it is added once)."""


def configure_logging(level: int | str = logging.DEBUG) -> None:
    """Set our loggers to ``level``, give them a stderr handler if the application has configured
    no logging, and hide query strings and token ids in httpx's request log lines. Idempotent.

        configure_logging("debug")
    """
    if isinstance(level, str):
        level = log_level_from_env(level) or logging.WARNING
    ours = logging.getLogger("carecloud_async")
    ours.setLevel(level)
    if not logging.getLogger().handlers and not any(isinstance(h, _OurHandler) for h in ours.handlers):
        handler = _OurHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        ours.addHandler(handler)
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _HttpxUrlRedactor) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_HttpxUrlRedactor())


def configure_logging_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Apply ``CARECLOUD_LOG`` the first time this runs in a process (``CareCloud`` calls it)."""
    if "env" in _done:
        return
    level = log_level_from_env((os.environ if environ is None else environ).get("CARECLOUD_LOG"))
    _done.add("env")
    if level is not None:
        configure_logging(level)
