"""Checks the workflow helpers share: arguments before a request is sent, answers after.

Argument problems raise :class:`~carecloud_async.RequestValidationError` before anything is sent;
a 2xx answer without a field the workflow needs raises :class:`IncompleteResponse`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TypeVar

from carecloud_api.types import UNSET, Unset

from .._errors import CareCloudError, RequestValidationError

T = TypeVar("T")


class IncompleteResponse(CareCloudError):
    """A successful answer lacks a field the workflow needs (e.g. verify-credentials without a
    ``customer_id``). ``operation`` names the call, ``field`` the missing field."""

    def __init__(self, operation: str, field: str):
        super().__init__(f"{operation} answered without {field}")
        self.operation = operation
        self.field = field


def require_text(value: object, name: str) -> str:
    """``value`` if it is a string with something besides blanks; else RequestValidationError."""
    if not isinstance(value, str) or not value.strip():
        raise RequestValidationError(f"{name} must be a non-empty string, not {_shown(value)}")
    return value


def optional_text(value: str | None, name: str) -> str | Unset:
    """UNSET for None (the field is left out), else :func:`require_text`."""
    return UNSET if value is None else require_text(value, name)


def require_texts(values: Iterable[str], name: str) -> list[str]:
    """A list of non-empty strings (a lone string is refused: it would be iterated per character)."""
    if isinstance(values, (str, bytes)):
        raise RequestValidationError(f"{name} must be a list of strings, not a single string")
    return [require_text(value, f"{name}[{index}]") for index, value in enumerate(values)]


def require_whole(value: object, name: str, *, minimum: int = 0) -> int:
    """An ``int`` (not a bool) of at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RequestValidationError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return value


def require_choice(value: T, choices: Iterable[T], name: str) -> T:
    allowed = tuple(choices)
    if value not in allowed:
        raise RequestValidationError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    return value


def date_text(value: str | date, name: str) -> str:
    """``YYYY-MM-DD`` for a date, or a non-empty string as given."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    return require_text(value, name)


def answered(value: T | Unset | None, operation: str, field: str) -> T:
    """A field of a 2xx answer the workflow needs; :class:`IncompleteResponse` if it is missing."""
    if value is None or isinstance(value, Unset) or value == "":
        raise IncompleteResponse(operation, field)
    return value


def _shown(value: object) -> str:
    # Only blank strings and wrong types get here: show the blank string, or just the type (a
    # wrongly typed password must not end up in the message).
    return repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
