"""The flow both CareCloud APIs' token lifecycles share, as an ``httpx.Auth`` base class.

:class:`TokenAuth` gets a token when due, authorises each request, and on a 401 renews the token
once and replays the request once; one renewal runs at a time however many requests wait for it.
The lifecycles themselves live one module each: :mod:`._enterprise_auth` (user login with a
validity) and :mod:`._customer_auth` (a device token kept in a token store); hiding token ids in
httpx's log lines is :mod:`._redaction`.

The helpers here (building the flow's own requests, reading their answers, turning a refusal into
an :class:`~carecloud_async.AuthenticationError` without secrets) are shared by both lifecycles.
Both flows are async only, never loop, and never put a password, bearer token or token id into a
log record, exception message or repr. Their own requests (login, token creation) go through the
same client and transport (so retries apply) and carry the ``User-Agent``, ``Accept`` and
``Accept-Language`` of the request that needed them, and its timeout (:func:`with_timeout`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ._config import DEFAULT_TIMEOUT
from ._errors import AuthenticationError, ConfigurationError, InvalidParam, error_from_response, redact_url
from ._locks import LoopSafeLock

__all__ = [
    "AuthSteps",
    "TokenAuth",
    "check_base_url",
    "endpoint_url",
    "inherited_headers",
    "json_object",
    "logger",
    "nonempty_text",
    "refusal",
    "required_text",
    "response_data",
    "with_timeout",
]

#: One logger for both lifecycles (``carecloud_async._auth``), whichever module logs.
logger = logging.getLogger("carecloud_async._auth")

# Headers of the request being authenticated that the flow's own requests carry too.
_INHERITED_HEADERS = ("user-agent", "accept", "accept-language")

#: The steps of a renewal: yields the requests it needs and receives their responses.
AuthSteps = AsyncGenerator[httpx.Request, httpx.Response]


def check_base_url(base_url: httpx.URL | str) -> httpx.URL:
    try:
        url = httpx.URL(str(base_url))
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {redact_url(url)!r}")
    return url.copy_with(query=None, fragment=None)


def endpoint_url(base_url: httpx.URL, path: str, **path_params: str) -> httpx.URL:
    """``base_url`` + an operation's spec ``path`` with its parameters filled in and quoted."""
    filled = path.format(**{name: quote(value, safe="") for name, value in path_params.items()})
    return httpx.URL(str(base_url).rstrip("/") + filled)


def with_timeout(request: httpx.Request, timeout: httpx.Timeout | Mapping[str, float | None] | None) -> httpx.Request:
    """``request`` (one of the flow's own, built without a client) bounded by ``timeout``: that of
    the request that needed it, or of the client sending it; :data:`DEFAULT_TIMEOUT` when neither
    is known. Without httpx's ``timeout`` extension httpcore waits with no limit, so a server that
    accepts the connection and never answers would hold the login, and every call behind it,
    forever. A call's own ``timeout=`` still wins: the client's request hook sets it afterwards.

    >>> with_timeout(httpx.Request("POST", "https://p.example/tokens"), httpx.Timeout(5)).extensions["timeout"]
    {'connect': 5, 'read': 5, 'write': 5, 'pool': 5}
    """
    if isinstance(timeout, httpx.Timeout):
        bounds = timeout.as_dict()
    elif timeout is not None:
        bounds = dict(timeout)
    else:
        bounds = DEFAULT_TIMEOUT.as_dict()
    request.extensions["timeout"] = bounds
    return request


def required_text(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    return value


def inherited_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in _INHERITED_HEADERS if name in headers}


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def response_data(response: httpx.Response) -> dict[str, Any]:
    data = json_object(response).get("data")
    return data if isinstance(data, dict) else {}


def nonempty_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def token_text(answer: Any, name: str) -> str | None:
    """The token ``answer.<name>`` as the server sent it: a non-empty string, else None. A number the
    parser turned into text (``raw_values``) is not a token the server meant to give."""
    return None if name in answer.raw_values else nonempty_text(getattr(answer, name))


def refusal(what: str, response: httpx.Response, secrets: tuple[str | None, ...]) -> Exception:
    """The exception for a non-2xx answer to a login or token request.

    429 and 5xx are the server failing, not a refusal: they become the usual ``APIError``
    (``RateLimited``, ``ServerError``, ...). Anything else is an ``AuthenticationError`` with the
    status and the body's error code; the text never contains ``secrets``.
    """
    if response.status_code == 429 or response.status_code >= 500:
        return error_from_response(response)
    body = json_object(response)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(error, dict)
    code = nonempty_text(error.get("exception")) or nonempty_text(error.get("type"))
    code = None if code == "about:blank" else code
    message = f"{what} refused: {response.status_code} {response.reason_phrase}".rstrip()
    if code:
        message += f" [{code}]"
    title = nonempty_text(error.get("title"))
    if title:
        message += f": {title}"
    error_data = error.get("error_data")
    params = error_data.get("invalid_params") if isinstance(error_data, dict) else None
    if isinstance(params, list) and params:
        message += "; invalid params: " + ", ".join(str(InvalidParam.from_json(p)) for p in params)
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
            code = code.replace(secret, "***") if code else code
    return AuthenticationError(message, status_code=response.status_code, error_code=code)


def _same_failure(exc: AuthenticationError) -> AuthenticationError:
    # A fresh instance per waiting coroutine: one exception object raised in many tasks would
    # collect all their tracebacks.
    return AuthenticationError(str(exc), status_code=exc.status_code, error_code=exc.error_code)


class TokenAuth(httpx.Auth):
    """The flow both APIs share: get a token if due, authorise, and on a 401 renew once and replay.

    Subclasses say when work is due (``_work_due``) and do it (``_steps``: an async generator
    yielding the requests it needs and receiving their responses, always run under the lock, so
    that one coroutine does it while the others wait and then use its result).
    """

    requires_request_body = True

    def __init__(self, base_url: httpx.URL | str) -> None:
        self._base_url = check_base_url(base_url)
        # Not an asyncio.Lock: the client may be used from several event loops (threads, runs).
        self._lock = LoopSafeLock()
        self._generation = 0  # +1 whenever the token changes
        self._failures = 0  # +1 whenever _steps fails with AuthenticationError
        self._last_failure: AuthenticationError | None = None

    @property
    def base_url(self) -> httpx.URL:
        """The API base URL the flow's own requests are built on."""
        return self._base_url

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: the flow is async only (it awaits its lock and may await a token store).
        Raises :class:`~carecloud_async.ConfigurationError`."""
        raise ConfigurationError(f"{type(self).__name__} works with httpx.AsyncClient only, not httpx.Client")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorise ``request``; obtain or renew the token first when due; on a 401, renew the
        token once (unless another coroutine already did) and replay the request once."""
        # A 401 makes us send the request again, so a streamed body must be in memory.
        await request.aread()
        rejected_generation: int | None = None  # set after a 401: the generation that failed
        rejected_bearer: str | None = None  # and the token it failed with
        while True:
            if self._work_due(rejected_generation):
                failures_seen = self._failures
                async with self._lock:
                    if self._failures != failures_seen and self._last_failure is not None:
                        # The login we waited for was refused: the same credentials would be.
                        raise _same_failure(self._last_failure)
                    # Read here, not per request: httpx's header lookups are slow, and most
                    # requests need no renewal. Request hooks may have run on the request by now
                    # (after a 401); they set these headers on the flow's own requests too.
                    steps = self._steps(rejected_generation, inherited_headers(request.headers))
                    # httpx sends what an auth flow yields as it is: only `client.send` sets the
                    # client's timeout, and it did so on `request`, not on the flow's own requests.
                    timeout = request.extensions.get("timeout")
                    try:
                        step = await steps.__anext__()
                        while True:
                            step_response = yield with_timeout(step, timeout)
                            step = await steps.asend(step_response)
                    except StopAsyncIteration:
                        pass
                    except AuthenticationError as exc:
                        self._failures += 1
                        self._last_failure = exc
                        raise
                    finally:
                        await steps.aclose()
            sent_generation = self._generation
            bearer = self._bearer()
            if rejected_bearer is not None and rejected_bearer != bearer:
                self._retarget(request, rejected_bearer, bearer)
            request.headers["Authorization"] = f"Bearer {bearer}"
            response = yield request
            if response.status_code != 401 or rejected_generation is not None:
                return  # success, another error, or the replay's answer: the caller decides
            logger.debug("401 on %s %s: renewing the token and replaying once", request.method, redact_url(request.url))
            rejected_generation = sent_generation
            rejected_bearer = bearer

    async def _drive(self, client: httpx.AsyncClient, steps: AuthSteps) -> None:
        """Run ``steps`` outside an auth flow: each request is sent through ``client`` without auth."""
        try:
            step = await steps.__anext__()
            while True:
                step = await steps.asend(await self._send_alone(client, step))
        except StopAsyncIteration:
            pass
        finally:
            await steps.aclose()

    @staticmethod
    async def _send_alone(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Send one of the flow's own requests through ``client`` (its transport, hooks and
        timeout), outside the auth flow."""
        return await client.send(with_timeout(request, client.timeout), auth=None)

    def _work_due(self, rejected_generation: int | None) -> bool:
        raise NotImplementedError

    def _retarget(self, request: httpx.Request, old: str, new: str) -> None:
        """Before a replay with a renewed token: adapt a request that names the old one."""

    def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> AuthSteps:
        raise NotImplementedError

    def _bearer(self) -> str:
        raise NotImplementedError
