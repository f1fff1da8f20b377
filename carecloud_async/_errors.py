"""One exception hierarchy for everything the client raises.

    CareCloudError
    ├── ConfigurationError      bad settings, raised at construction (also a ValueError)
    ├── RequestValidationError  bad input, raised before anything is sent (also a ValueError)
    ├── AuthenticationError     login or token creation refused (wrong credentials, ...)
    ├── TokenStoreError         a token store could not read or write
    ├── ResponseParseError      a 2xx body does not fit the spec's model (also a
    │                           carecloud_api.parsing.ResponseParseError and a ValueError)
    ├── NetworkError            the server could not be reached (after retries)
    │   └── RequestTimeout      connect, read, write or pool timeout (after retries)
    └── APIError                any non-2xx answer: status, error code, message, invalid params
        ├── BadRequest          400, with ``invalid_params`` (name, reason, message)
        ├── Unauthorized        401 (after the one re-login the auth flow allows)
        ├── Forbidden           403 (e.g. an Enterprise-only resource on the Customer API)
        ├── NotFound            404
        ├── MethodNotAllowed    405
        ├── RateLimited         429 (after retries), ``retry_after`` in seconds when known
        └── ServerError         5xx
            └── ServiceUnavailable  503 (after retries)

Messages and reprs never carry secrets: the request URL is kept without its query string, no
header is kept, and an invalid param's ``value`` is hidden from repr (and dropped for names that
look like secrets).

    try:
        await cc.call(post_customer, body=...)
    except BadRequest as exc:
        for param in exc.invalid_params:
            print(param.name, param.reason)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from carecloud_api import parsing as _parsing

_SECRET_NAME = re.compile(r"pass|token|secret|pin|otp|code_verifier", re.IGNORECASE)
# The Customer API puts the token id in the path: /tokens/{token_id}/actions/login.
_TOKEN_IN_PATH = re.compile(r"(/tokens/)[^/?#]+")


def redact_url(url: httpx.URL | str) -> str:
    """The URL as safe to log or show: no query string, no userinfo, no token id in the path.

    >>> redact_url("https://p.example/webservice/rest-api/customer-interface/v1.0/tokens/abc/actions/login?x=1")
    'https://p.example/webservice/rest-api/customer-interface/v1.0/tokens/***/actions/login'
    """
    parsed = httpx.URL(str(url))
    clean = parsed.copy_with(query=None, fragment=None, username=None, password=None)
    return _TOKEN_IN_PATH.sub(r"\1***", str(clean))


class CareCloudError(Exception):
    """Base class of every error raised by carecloud-async."""


class ConfigurationError(CareCloudError, ValueError):
    """The client was configured wrongly (raised at construction, before any request)."""


class RequestValidationError(CareCloudError, ValueError):
    """An argument is invalid; raised before the request is sent."""


class AuthenticationError(CareCloudError):
    """Logging in (Enterprise) or creating / using a token (Customer) was refused.

    ``status_code`` and ``error_code`` come from the server's answer when there was one.
    """

    def __init__(self, message: str, *, status_code: int | None = None, error_code: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code


class TokenStoreError(CareCloudError):
    """A token store failed to load or save a token."""


class ResponseParseError(CareCloudError, _parsing.ResponseParseError):
    """A 2xx answer whose body does not fit the generated model (e.g. a required field is missing).

    The ``CareCloud.call`` face of :class:`carecloud_api.parsing.ResponseParseError`, which a
    model's ``from_dict`` and the generated functions raise: a subclass of it (and so a
    ``ValueError``) with the same ``model``, ``path`` (the field path from the response model,
    list indexes as ints), ``field_model``, ``reason`` and ``value_type``. To catch a parse failure
    from any entry point, catch ``carecloud_api.parsing.ResponseParseError`` (or ``ValueError``).

    ``status_code``, ``method``, ``url`` (redacted) and ``response`` are kept; the parsing error is
    the ``__cause__``. Use ``CareCloud.http`` for the raw JSON of such an answer. The message names
    the field and the type of the value found, never the value.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        url: str,
        response: httpx.Response,
        parse_error: _parsing.ResponseParseError | None = None,
    ):
        if parse_error is not None:
            _parsing.ResponseParseError.__init__(
                self, parse_error.model, parse_error.path, parse_error.reason, parse_error.value
            )
            self.field_model = parse_error.field_model
            self.value_type = parse_error.value_type
        else:
            _parsing.ResponseParseError.__init__(self, "the response", (), message)
        self.args = (message,)
        self.status_code = status_code
        self.method = method
        self.url = url
        self.response = response

    def __str__(self) -> str:
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r})"


class NotPresent(CareCloudError, ValueError):
    """:func:`present` was given a field the answer left out (``UNSET``) or sent as null.

    ``field`` is the name given to ``present``; ``null`` is True for a null, False for a field
    left out. The message names the field, never a value.
    """

    def __init__(self, field: str, *, null: bool):
        how = "null" if null else "absent: the answer left it out (UNSET)"
        super().__init__(f"{field} is {how}")
        self.field = field
        self.null = null


class NetworkError(CareCloudError):
    """The request could not be completed at the network level (after the configured retries).

    The underlying ``httpx`` exception is the ``__cause__``.
    """


class RequestTimeout(NetworkError):
    """A connect, read, write or pool timeout (after the configured retries)."""


@dataclass(frozen=True)
class InvalidParam:
    """One entry of a 400 answer's ``error.error_data.invalid_params``.

    ``reason`` is a code such as ``required``, ``already_exists``, ``not_found``,
    ``invalid_value_format`` or an operation-specific one. ``value`` (what was sent) is kept for
    programs but never shown in reprs, and is dropped for names that look like secrets.
    """

    name: str
    reason: str | None = None
    message: str | None = None
    value: Any = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> InvalidParam:
        if not isinstance(data, dict):
            return cls(name=str(data))
        name = data.get("name")
        name_text = name if isinstance(name, str) else json.dumps(name, default=str)
        value = None if _SECRET_NAME.search(name_text) else data.get("value")
        reason, message = data.get("reason"), data.get("message")
        return cls(
            name=name_text,
            reason=str(reason) if reason is not None else None,
            message=str(message) if message is not None else None,
            value=value,
        )

    def __str__(self) -> str:
        text = f"{self.name}: {self.reason or 'invalid'}"
        return f"{text} ({self.message})" if self.message else text


class APIError(CareCloudError):
    """The server answered with a non-2xx status.

    Attributes: ``status_code``; ``error_code`` (the body's ``error.exception`` or ``error.type``,
    e.g. ``interface_not_allowed_exception``); ``message`` (``error.title``); ``detail``;
    ``invalid_params`` (400 only); ``method`` and ``url`` of the request (no query string);
    ``request_id`` if the server sent one; ``response`` (the ``httpx.Response``, closed).
    """

    def __init__(
        self,
        *,
        status_code: int,
        message: str,
        error_code: str | None = None,
        detail: str | None = None,
        invalid_params: tuple[InvalidParam, ...] = (),
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
    ):
        self.status_code = status_code
        self.message = message
        self.error_code = error_code
        self.detail = detail
        self.invalid_params = invalid_params
        self.method = method
        self.url = url
        self.request_id = request_id
        self.retry_after = retry_after
        self.response = response
        super().__init__(self._text())

    def _text(self) -> str:
        where = f" on {self.method} {self.url}" if self.method and self.url else ""
        text = f"{self.status_code} {self.message}{where}"
        if self.error_code:
            text += f" [{self.error_code}]"
        if self.detail and self.detail != self.message:
            text += f": {self.detail}"
        if self.invalid_params:
            text += "; invalid params: " + ", ".join(str(p) for p in self.invalid_params)
        if self.retry_after is not None:
            text += f"; retry after {self.retry_after:g} s"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, error_code={self.error_code!r}, "
            f"message={self.message!r}, invalid_params={list(self.invalid_params)!r})"
        )


class BadRequest(APIError):
    """400: the server refused the input; see ``invalid_params``."""


class Unauthorized(APIError):
    """401: the token is invalid or expired, and re-authenticating did not help."""


class Forbidden(APIError):
    """403: not allowed, e.g. an Enterprise-only resource called on the Customer API."""


class NotFound(APIError):
    """404: the resource or record does not exist."""


class MethodNotAllowed(APIError):
    """405: the resource does not support this HTTP method."""


class RateLimited(APIError):
    """429: too many requests, still refused after the configured retries."""


class ServerError(APIError):
    """5xx: the server failed."""


class ServiceUnavailable(ServerError):
    """503: overload or maintenance, still refused after the configured retries."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class_for(status_code: int) -> type[APIError]:
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return ServerError if status_code >= 500 else APIError


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content) if response.content else {}
    except (ValueError, httpx.ResponseNotRead):
        return {}
    return data if isinstance(data, dict) else {}


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    if when.tzinfo is None:
        # An HTTP date is always GMT, but asctime-format dates carry no zone and
        # parsedate_to_datetime returns them naive (which .timestamp() reads as local time).
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def error_from_response(response: httpx.Response) -> APIError:
    """Build the typed exception for a non-2xx ``response`` (whose body has been read)."""
    body = _body(response)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(error, dict)
    error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    assert isinstance(error_data, dict)
    raw_params = error_data.get("invalid_params")
    params = tuple(InvalidParam.from_json(p) for p in raw_params) if isinstance(raw_params, list) else ()
    request = response.request if response._request is not None else None
    code = error.get("exception") or error.get("type")
    return error_class_for(response.status_code)(
        status_code=response.status_code,
        message=str(error.get("title") or response.reason_phrase or "HTTP error"),
        error_code=str(code) if code and code != "about:blank" else None,
        detail=str(error["detail"]) if error.get("detail") else None,
        invalid_params=params,
        method=request.method if request is not None else None,
        url=redact_url(request.url) if request is not None else None,
        request_id=response.headers.get("x-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        response=response,
    )
