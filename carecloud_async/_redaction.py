"""Hiding Customer API token ids in the URLs httpx logs.

httpx logs every request's full URL at INFO, and the Customer API puts the device token id in the
path (``/tokens/{token_id}/actions/login``): a filter on httpx's logger replaces it with ``***``.

    install_log_redaction()   # CustomerAuth does this itself
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_log_redaction"]


_TOKEN_PATH = re.compile(r"(/tokens/)[^/?#\s\"']+")


class _TokenPathRedactor(logging.Filter):
    """Hides the token id in ``/tokens/{token_id}/...`` URLs of log records (httpx logs every
    request's full URL at INFO, and the Customer API puts the token id in the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "/tokens/" in str(record.msg) or (record.args and "/tokens/" in str(record.args)):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return True
            record.msg, record.args = _TOKEN_PATH.sub(r"\1***", message), None
        return True


def install_log_redaction(logger_name: str = "httpx") -> None:
    """Make ``logger_name`` (httpx's logger by default) hide Customer API token ids in URLs.

    Called by :class:`CustomerAuth`; idempotent.
    """
    target = logging.getLogger(logger_name)
    if not any(isinstance(existing, _TokenPathRedactor) for existing in target.filters):
        target.addFilter(_TokenPathRedactor())
