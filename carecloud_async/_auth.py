"""The token lifecycle of both CareCloud APIs, as ``httpx.Auth`` flows.

Enterprise API: log in as a user (``POST /users/actions/login``), send ``Authorization: Bearer``,
log in again shortly before ``valid_to`` and once on a 401 (then replay the request once).

    auth = EnterpriseAuth(
        "https://demo.crmcarecloud.com/webservice/rest-api/enterprise-interface/v1.0",
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="pos@example.com",
        password=os.environ["CARECLOUD_PASSWORD"],
        time_zone="Europe/Prague",
    )
    async with httpx.AsyncClient(base_url=auth.base_url, auth=auth) as client:
        response = await client.get("customers")

Customer API: one device token (``POST /tokens``), created once and kept in a token store, since
a new token for the same device invalidates the old one; optionally a customer logged in on it.

    auth = CustomerAuth(
        "https://demo.crmcarecloud.com/webservice/rest-api/customer-interface/v1.0",
        external_application_id="82de12eb8b138791e678fd11c3",
        device=Device(device_id="kiosk-7", device_system="Linux", device_name="Kiosk 7", device_type="kiosk"),
        token_store=FileTokenStore("~/.carecloud/tokens.json"),
        credentials=CustomerCredentials("email", "jane@example.com", os.environ["JANE_PASSWORD"]),
    )

Both flows are async only, take one login (or token creation) at a time however many requests
wait for it, never loop, and never put a password, bearer token or token id into a log record,
exception message or repr. Their own requests (login, token creation) go through the same client
and transport (so retries apply) and carry the ``User-Agent``, ``Accept`` and ``Accept-Language``
of the request that needed them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from ._errors import AuthenticationError, ConfigurationError, InvalidParam, error_from_response, redact_url
from ._tokens import MemoryTokenStore, TokenStore, customer_token_key

# The generated endpoint modules and models are imported where they are used, so importing
# carecloud_async does not load them.

__all__ = [
    "CustomerAuth",
    "CustomerCredentials",
    "Device",
    "DeviceSetup",
    "EnterpriseAuth",
    "install_log_redaction",
    "parse_valid_to",
    "plan_refresh",
]

logger = logging.getLogger(__name__)

#: Log in again this long before ``valid_to``.
DEFAULT_REFRESH_MARGIN = timedelta(seconds=60)

# Headers of the request being authenticated that the flow's own requests carry too.
_INHERITED_HEADERS = ("user-agent", "accept", "accept-language")

# "YYYY-MM-DD HH:MM[:SS[.ffffff]]", "T" or space, optionally an offset (the API sends none today).
_VALID_TO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)

_Clock = Callable[[], datetime]
_Steps = AsyncGenerator[httpx.Request, httpx.Response]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- pure decisions


def parse_valid_to(value: object, time_zone: tzinfo) -> datetime | None:
    """``valid_to`` of a login answer as an aware UTC datetime, or None if it is unusable.

    The API sends project-local time without an offset (``YYYY-MM-DD HH:MM:SS``, sometimes with
    fractional seconds or a ``T``); an explicit offset, should one ever come, wins over
    ``time_zone``.

    >>> parse_valid_to("2030-01-01 10:00:00", ZoneInfo("Europe/Prague"))
    datetime.datetime(2030, 1, 1, 9, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(value, str):
        return None
    match = _VALID_TO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone: tzinfo = time_zone
    if offset:
        if offset.upper() == "Z":
            zone = timezone.utc
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def plan_refresh(
    *,
    now: datetime,
    valid_until: datetime | None,
    margin: timedelta,
    fallback_lifetime: timedelta | None = None,
) -> datetime | None:
    """When a token obtained at ``now`` should be replaced; None means "only after a 401".

    ``margin`` before ``valid_until``, but never earlier than half the remaining lifetime, so
    a short-lived token is not refreshed on every request. A ``valid_until`` that is unknown or
    already past (a wrong project time zone, or Prism's example from 2019) must not trigger a
    login on every request: the token is then kept for ``fallback_lifetime``, or until a 401.

    >>> now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    >>> plan_refresh(now=now, valid_until=now + timedelta(hours=7), margin=timedelta(minutes=1))
    datetime.datetime(2030, 1, 1, 6, 59, tzinfo=datetime.timezone.utc)
    >>> plan_refresh(now=now, valid_until=now - timedelta(days=1), margin=timedelta(minutes=1)) is None
    True
    """
    if valid_until is None or valid_until <= now:
        return now + fallback_lifetime if fallback_lifetime is not None else None
    return valid_until - min(margin, (valid_until - now) / 2)


# --------------------------------------------------------------------------- helpers


def _check_base_url(base_url: httpx.URL | str) -> httpx.URL:
    try:
        url = httpx.URL(str(base_url))
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {redact_url(url)!r}")
    return url.copy_with(query=None, fragment=None)


def _endpoint(base_url: httpx.URL, path: str, **path_params: str) -> httpx.URL:
    """``base_url`` + an operation's spec ``path`` with its parameters filled in and quoted."""
    filled = path.format(**{name: quote(value, safe="") for name, value in path_params.items()})
    return httpx.URL(str(base_url).rstrip("/") + filled)


def _check_time_zone(time_zone: str | tzinfo) -> tzinfo:
    if isinstance(time_zone, tzinfo):
        return time_zone
    if not isinstance(time_zone, str) or not time_zone:
        raise ConfigurationError(f"time_zone must be an IANA name such as 'Europe/Prague', got {time_zone!r}")
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time_zone {time_zone!r}: use an IANA name such as 'Europe/Prague' or 'UTC'"
        ) from None


def _seconds(value: timedelta | float, name: str, *, allow_zero: bool) -> timedelta:
    delta = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if delta < timedelta(0) or (not allow_zero and delta == timedelta(0)):
        raise ConfigurationError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return delta


def _required(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    return value


def _inherited(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in _INHERITED_HEADERS if name in headers}


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _data(response: httpx.Response) -> dict[str, Any]:
    data = _json_object(response).get("data")
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _refusal(what: str, response: httpx.Response, secrets: tuple[str | None, ...]) -> Exception:
    """The exception for a non-2xx answer to a login or token request.

    429 and 5xx are the server failing, not a refusal: they become the usual ``APIError``
    (``RateLimited``, ``ServerError``, ...). Anything else is an ``AuthenticationError`` with the
    status and the body's error code; the text never contains ``secrets``.
    """
    if response.status_code == 429 or response.status_code >= 500:
        return error_from_response(response)
    body = _json_object(response)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(error, dict)
    code = _text(error.get("exception")) or _text(error.get("type"))
    code = None if code == "about:blank" else code
    message = f"{what} refused: {response.status_code} {response.reason_phrase}".rstrip()
    if code:
        message += f" [{code}]"
    title = _text(error.get("title"))
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


class _TokenAuth(httpx.Auth):
    """The flow both APIs share: get a token if due, authorise, and on a 401 renew once and replay.

    Subclasses say when work is due (``_work_due``) and do it (``_steps``: an async generator
    yielding the requests it needs and receiving their responses, always run under the lock, so
    that one coroutine does it while the others wait and then use its result).
    """

    requires_request_body = True

    def __init__(self, base_url: httpx.URL | str) -> None:
        self._base_url = _check_base_url(base_url)
        self._lock = asyncio.Lock()
        self._generation = 0  # +1 whenever the token changes
        self._failures = 0  # +1 whenever _steps fails with AuthenticationError
        self._last_failure: AuthenticationError | None = None

    @property
    def base_url(self) -> httpx.URL:
        """The API base URL the flow's own requests are built on."""
        return self._base_url

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: the flow is async only (it takes an ``asyncio.Lock`` and may await a
        token store). Raises :class:`~carecloud_async.ConfigurationError`."""
        raise ConfigurationError(f"{type(self).__name__} works with httpx.AsyncClient only, not httpx.Client")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorise ``request``; obtain or renew the token first when due; on a 401, renew the
        token once (unless another coroutine already did) and replay the request once."""
        # A 401 makes us send the request again, so a streamed body must be in memory.
        await request.aread()
        inherited = _inherited(request.headers)
        rejected_generation: int | None = None  # set after a 401: the generation that failed
        rejected_bearer: str | None = None  # and the token it failed with
        while True:
            if self._work_due(rejected_generation):
                failures_seen = self._failures
                async with self._lock:
                    if self._failures != failures_seen and self._last_failure is not None:
                        # The login we waited for was refused: the same credentials would be.
                        raise _same_failure(self._last_failure)
                    steps = self._steps(rejected_generation, inherited)
                    try:
                        step = await steps.__anext__()
                        while True:
                            step_response = yield step
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

    async def _drive(self, client: httpx.AsyncClient, steps: _Steps) -> None:
        """Run ``steps`` outside an auth flow: each request is sent through ``client`` without auth."""
        try:
            step = await steps.__anext__()
            while True:
                step = await steps.asend(await client.send(step, auth=None))
        except StopAsyncIteration:
            pass
        finally:
            await steps.aclose()

    def _work_due(self, rejected_generation: int | None) -> bool:
        raise NotImplementedError

    def _retarget(self, request: httpx.Request, old: str, new: str) -> None:
        """Before a replay with a renewed token: adapt a request that names the old one."""

    def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> _Steps:
        raise NotImplementedError

    def _bearer(self) -> str:
        raise NotImplementedError


# --------------------------------------------------------------------------- Enterprise API


class EnterpriseAuth(_TokenAuth):
    """Enterprise API user login as an ``httpx.Auth`` (async only).

    Logs in on first use (``POST {base_url}/users/actions/login``), sends
    ``Authorization: Bearer <token>``, logs in again ``refresh_margin`` before ``valid_to`` (read
    in ``time_zone``, the project's zone), and on a 401 logs in again once and replays the request
    once; a second 401 is returned to the caller. A ``valid_to`` that is missing, unparseable or
    already past when the token arrives is logged once as a warning and the token is used until
    a 401 (or for ``fallback_lifetime`` when given).

    A refused login raises :class:`~carecloud_async.AuthenticationError` (``status_code``,
    ``error_code``); a 429 or 5xx answer to it raises the usual ``RateLimited`` / ``ServerError``.

        auth = EnterpriseAuth(base_url, user_external_application_id="89d1a6111b3fb6e74665d948",
                              login="pos@example.com", password=secret, time_zone="Europe/Prague")
        async with httpx.AsyncClient(base_url=base_url, auth=auth) as client:
            await client.get("customers")
            print(auth.token_expires_at)

    ``clock`` returns the current time as an aware datetime (tests pass a fake one).
    """

    def __init__(
        self,
        base_url: httpx.URL | str,
        *,
        user_external_application_id: str,
        login: str,
        password: str,
        time_zone: str | tzinfo = "UTC",
        refresh_margin: timedelta | float = DEFAULT_REFRESH_MARGIN,
        fallback_lifetime: timedelta | float | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(base_url)
        self._application_id = _required(user_external_application_id, "user_external_application_id")
        self._login = _required(login, "login")
        self._password = _required(password, "password")
        self._time_zone = _check_time_zone(time_zone)
        self._margin = _seconds(refresh_margin, "refresh_margin", allow_zero=True)
        self._fallback = (
            None if fallback_lifetime is None else _seconds(fallback_lifetime, "fallback_lifetime", allow_zero=False)
        )
        self._clock: _Clock = clock
        from carecloud_api.api.users import post_user_login

        self._login_url = _endpoint(self._base_url, post_user_login.PATH)
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._refresh_at: datetime | None = None
        self._validity_warned = False

    # -- read-only state

    @property
    def logged_in(self) -> bool:
        """Whether a bearer token is held (it may still turn out to be expired: a 401 renews it)."""
        return self._token is not None

    @property
    def token_expires_at(self) -> datetime | None:
        """When the held token expires (aware, UTC): ``valid_to``, or the fallback lifetime's end
        when ``valid_to`` was unusable; None when unknown (the token is used until a 401)."""
        return self._expires_at

    @property
    def time_zone(self) -> tzinfo:
        """The project's time zone, in which ``valid_to`` is read."""
        return self._time_zone

    @property
    def refresh_margin(self) -> timedelta:
        """How long before expiry the flow logs in again."""
        return self._margin

    async def authenticate(self, client: httpx.AsyncClient) -> None:
        """Log in now through ``client`` unless a fresh token is held (to fail fast at startup).

        async with httpx.AsyncClient(auth=auth) as client:
            await auth.authenticate(client)   # AuthenticationError here if credentials are wrong
        """
        async with self._lock:
            await self._drive(client, self._steps(None, _inherited(client.headers)))

    def __repr__(self) -> str:
        return (
            f"EnterpriseAuth(base_url={str(self._base_url)!r}, login={self._login!r}, "
            f"logged_in={self.logged_in}, token_expires_at={self._expires_at!r})"
        )

    # -- flow

    def _now(self) -> datetime:
        return self._clock().astimezone(timezone.utc)

    def _login_due(self) -> bool:
        return self._token is None or (self._refresh_at is not None and self._now() >= self._refresh_at)

    def _work_due(self, rejected_generation: int | None) -> bool:
        return rejected_generation is not None or self._login_due()

    def _bearer(self) -> str:
        if self._token is None:  # pragma: no cover - _steps either sets it or raises
            raise AuthenticationError("no bearer token: the login did not complete")
        return self._token

    async def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> _Steps:
        if rejected_generation is None:
            if not self._login_due():
                return  # another coroutine logged in while we waited for the lock
            reason = "first use" if self._token is None else "token due for refresh"
        elif rejected_generation != self._generation:
            return  # another coroutine already logged in again: replay with its token
        else:
            reason = "token refused with 401"
        logger.debug("logging in to %s (%s)", redact_url(self._login_url), reason)
        from carecloud_api.api.users import post_user_login
        from carecloud_api.models.post_user_login_body import PostUserLoginBody

        body = PostUserLoginBody(
            user_external_application_id=self._application_id, login=self._login, password=self._password
        )
        response = yield httpx.Request(post_user_login.METHOD, self._login_url, json=body.to_dict(), headers=inherited)
        await response.aread()
        self._accept_login(response)

    def _accept_login(self, response: httpx.Response) -> None:
        from carecloud_api.models.post_user_login_200_response_data import PostUserLogin200ResponseData
        from carecloud_api.types import UNSET

        if not response.is_success:
            raise _refusal("login", response, (self._password,))
        data = PostUserLogin200ResponseData.from_dict({k: v for k, v in _data(response).items() if k != "user"})
        token = _text(data.bearer_token)
        if token is None:
            raise AuthenticationError(
                f"login answered {response.status_code} without a bearer_token",
                status_code=response.status_code,
            )
        now = self._now()
        raw_valid_to = data.valid_to if data.valid_to is not UNSET else None
        valid_until = parse_valid_to(raw_valid_to, self._time_zone)
        self._refresh_at = plan_refresh(
            now=now, valid_until=valid_until, margin=self._margin, fallback_lifetime=self._fallback
        )
        usable = valid_until is not None and valid_until > now
        self._expires_at = valid_until if usable else (now + self._fallback if self._fallback else None)
        self._token = token
        self._generation += 1
        if not usable and not self._validity_warned:
            self._validity_warned = True
            problem = "missing or unparseable" if valid_until is None else "already in the past"
            logger.warning(
                "the login answer's valid_to (%r) is %s (now %s, time_zone %s); using the token %s",
                raw_valid_to,
                problem,
                now.astimezone(self._time_zone).isoformat(sep=" ", timespec="seconds"),
                self._time_zone,
                f"for {self._fallback}" if self._fallback else "until the server answers 401",
            )
        logger.debug("logged in; token valid until %s", self._expires_at or "unknown")


# --------------------------------------------------------------------------- Customer API


@dataclass(frozen=True)
class Device:
    """The device (or app installation) a Customer API token belongs to (spec schema ``Device``).

    All four fields are required by ``POST /tokens``; ``device_id`` identifies the device: one
    token is kept per project, external application and ``device_id``.

        Device(device_id="00000000-89ABCDEF-01234567-89ABCDEF", device_system="iOS",
               device_name="Jane's iPhone", device_type="iPhone")
    """

    device_id: str
    device_system: str
    device_name: str
    device_type: str

    def __post_init__(self) -> None:
        for name in ("device_id", "device_system", "device_name", "device_type"):
            _required(getattr(self, name), f"Device.{name}")


@dataclass(frozen=True)
class DeviceSetup:
    """The installation's settings sent with ``POST /tokens`` (spec schema ``Setup``).

    DeviceSetup(language_id="cs", allowed_gps=False, allowed_notifications=True)
    """

    language_id: str = "en"
    allowed_gps: bool = False
    allowed_notifications: bool = False


@dataclass(frozen=True)
class CustomerCredentials:
    """A customer's login for ``POST /tokens/{token_id}/actions/login``; the repr hides the password.

    ``login_type`` is ``"email"``, ``"phone"`` or ``"card"`` (``login_value`` is then the email,
    phone number or card number).

        CustomerCredentials("email", "jane@example.com", password)
    """

    login_type: str
    login_value: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("login_type", "login_value", "password"):
            _required(getattr(self, name), f"CustomerCredentials.{name}")


class CustomerAuth(_TokenAuth):
    """Customer API device token as an ``httpx.Auth`` (async only).

    On first use the token id is loaded from ``token_store`` (key: project host, external
    application, device id); only if none is stored is one created (``POST {base_url}/tokens``)
    and saved. Every request carries ``Authorization: Bearer <token_id>``. On a 401 the store is
    read again (another process may have replaced the token): a different stored id is adopted,
    otherwise one new token is created and saved; the request is replayed once, and a second 401
    is returned to the caller.

    With ``credentials`` the customer is logged in on the token before the first request, and
    again whenever the token had to be replaced; :attr:`customer_id` is then set. A refused
    token creation or customer login raises :class:`~carecloud_async.AuthenticationError`.

        auth = CustomerAuth(base_url, external_application_id="82de12eb8b138791e678fd11c3",
                            device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
                            token_store=FileTokenStore("~/.carecloud/tokens.json"))
        async with httpx.AsyncClient(base_url=base_url, auth=auth) as client:
            jane = CustomerCredentials("email", "jane@example.com", pw)
            customer_id = await auth.login_customer(client, jane)
            ...
            await auth.logout_customer(client)

    Note that a customer login made on a stored token outlives the process; call
    :meth:`logout_customer` to end it.
    """

    def __init__(
        self,
        base_url: httpx.URL | str,
        *,
        external_application_id: str,
        device: Device,
        token_store: TokenStore | None = None,
        credentials: CustomerCredentials | None = None,
        setup: DeviceSetup | None = None,
        push_token: str | None = None,
    ) -> None:
        super().__init__(base_url)
        if not isinstance(device, Device):
            raise ConfigurationError("device must be a carecloud_async.Device")
        self._application_id = _required(external_application_id, "external_application_id")
        self._device = device
        self._setup = setup if setup is not None else DeviceSetup()
        self._push_token = push_token or None
        self._store: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self._key = customer_token_key(self._base_url, self._application_id, device.device_id)
        self._credentials = credentials
        self._token_id: str | None = None
        self._customer_token: str | None = None  # the token id the customer logged in on
        self._customer_id: str | None = None
        install_log_redaction()

    # -- read-only state

    @property
    def device(self) -> Device:
        """The device the token belongs to."""
        return self._device

    @property
    def token_store(self) -> TokenStore:
        """Where the token id is kept."""
        return self._store

    @property
    def store_key(self) -> str:
        """The key of this device's token in :attr:`token_store`."""
        return self._key

    @property
    def has_token(self) -> bool:
        """Whether a token id is held in memory (loaded or created)."""
        return self._token_id is not None

    @property
    def token_id(self) -> str | None:
        """The device token id in use (None before the first request or :meth:`authenticate`).

        A secret: it authorises every Customer API call of this device. Never log it.
        """
        return self._token_id

    def _retarget(self, request: httpx.Request, old: str, new: str) -> None:
        # /tokens/{token_id}/actions/... names the token itself: a replay after the token was
        # renewed must name the new one, or the server refuses it again.
        prefix = self._base_url.path.rstrip("/") + "/tokens/"
        path = request.url.path
        if path.startswith(prefix + old + "/") or path == prefix + old:
            request.url = request.url.copy_with(path=prefix + new + path[len(prefix) + len(old) :])

    @property
    def customer_id(self) -> str | None:
        """The customer logged in on the current token by this object, or None."""
        return self._customer_id if self._customer_logged_in() else None

    # -- public operations, for the object that owns the httpx.AsyncClient using this auth

    async def authenticate(self, client: httpx.AsyncClient) -> None:
        """Load or create the token now (and log the customer in if credentials were given)."""
        async with self._lock:
            await self._drive(client, self._steps(None, _inherited(client.headers)))

    async def login_customer(self, client: httpx.AsyncClient, credentials: CustomerCredentials) -> str:
        """Log a customer in on this device's token (obtained first if needed); returns the
        customer id. The credentials are kept so that the customer is logged in again if the
        token ever has to be replaced. ``client`` is the ``httpx.AsyncClient`` that uses this
        auth: the requests go through its transport, without the auth flow.

            customer_id = await auth.login_customer(client, CustomerCredentials("email", email, pw))
        """
        if not isinstance(credentials, CustomerCredentials):
            raise ConfigurationError("credentials must be a carecloud_async.CustomerCredentials")
        async with self._lock:
            previous = (self._credentials, self._customer_token, self._customer_id)
            self._credentials, self._customer_token = credentials, None  # None: a login is due
            try:
                await self._drive(client, self._steps(None, _inherited(client.headers)))
            except BaseException:
                self._credentials, self._customer_token, self._customer_id = previous
                raise
            assert self._customer_id is not None
            return self._customer_id

    async def logout_customer(self, client: httpx.AsyncClient) -> None:
        """Log the customer out of this device's token (``POST /tokens/{token_id}/actions/logout``);
        the token stays valid and the kept credentials are forgotten. A 401 (token no longer
        valid) counts as logged out; other errors raise the usual ``APIError``.
        """
        async with self._lock:
            self._credentials, self._customer_token, self._customer_id = None, None, None
            token_id = self._token_id or await self._store.load(self._key)
            if token_id is None:
                return  # no token, so no customer on it
            if self._token_id is None:
                self._adopt(token_id)
            from carecloud_api.api.tokens import post_token_logout

            url = _endpoint(self._base_url, post_token_logout.PATH, token_id=token_id)
            headers = {**_inherited(client.headers), "Authorization": f"Bearer {token_id}"}
            response = await client.send(httpx.Request(post_token_logout.METHOD, url, headers=headers), auth=None)
            if not response.is_success and response.status_code != 401:
                raise error_from_response(response)
            logger.debug("customer logged out")

    def __repr__(self) -> str:
        return (
            f"CustomerAuth(base_url={str(self._base_url)!r}, device_id={self._device.device_id!r}, "
            f"token_store={self._store!r}, has_token={self.has_token}, customer_id={self.customer_id!r})"
        )

    # -- flow

    def _customer_logged_in(self) -> bool:
        return self._customer_token is not None and self._customer_token == self._token_id

    def _customer_login_due(self) -> bool:
        return self._credentials is not None and not self._customer_logged_in()

    def _work_due(self, rejected_generation: int | None) -> bool:
        return rejected_generation is not None or self._token_id is None or self._customer_login_due()

    def _bearer(self) -> str:
        if self._token_id is None:  # pragma: no cover - _steps either sets it or raises
            raise AuthenticationError("no token: token creation did not complete")
        return self._token_id

    def _adopt(self, token_id: str) -> None:
        self._token_id = token_id
        self._generation += 1

    async def _adopt_stored_if_different(self) -> bool:
        stored = await self._store.load(self._key)
        if stored is not None and stored != self._token_id:
            logger.debug("the token store holds a different token for this device: using it")
            self._adopt(stored)
            return True
        return False

    async def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> _Steps:
        created = False
        if rejected_generation is None:
            if self._token_id is None:
                stored = await self._store.load(self._key)
                if stored is not None:
                    logger.debug("using the device token from %r", self._store)
                    self._adopt(stored)
                else:
                    response = yield self._create_token_request(inherited)
                    await self._accept_new_token(response)
                    created = True
        elif rejected_generation == self._generation and not await self._adopt_stored_if_different():
            response = yield self._create_token_request(inherited)
            await self._accept_new_token(response)
            created = True

        credentials = self._credentials
        if credentials is None or not self._customer_login_due():
            return
        response = yield self._customer_login_request(credentials, inherited)
        await response.aread()
        if response.status_code == 401 and not created:
            # The token itself may be stale (replaced by another process, or revoked).
            logger.debug("401 on customer login: renewing the device token and trying once more")
            if not await self._adopt_stored_if_different():
                response = yield self._create_token_request(inherited)
                await self._accept_new_token(response)
            response = yield self._customer_login_request(credentials, inherited)
            await response.aread()
        self._accept_customer_login(response, credentials)

    def _create_token_request(self, inherited: Mapping[str, str]) -> httpx.Request:
        from carecloud_api.api.tokens import post_token
        from carecloud_api.models.device import Device as DeviceModel
        from carecloud_api.models.post_token_body import PostTokenBody
        from carecloud_api.models.setup import Setup as SetupModel
        from carecloud_api.types import UNSET

        device, setup = self._device, self._setup
        body = PostTokenBody(
            device=DeviceModel(
                device_id=device.device_id,
                device_system=device.device_system,
                device_name=device.device_name,
                device_type=device.device_type,
            ),
            setup=SetupModel(
                language_id=setup.language_id,
                allowed_gps=setup.allowed_gps,
                allowed_notifications=setup.allowed_notifications,
            ),
            external_application_id=self._application_id,
            push_token=self._push_token if self._push_token is not None else UNSET,
        )
        url = _endpoint(self._base_url, post_token.PATH)
        logger.debug("creating a device token at %s", redact_url(url))
        return httpx.Request(post_token.METHOD, url, json=body.to_dict(), headers=inherited)

    async def _accept_new_token(self, response: httpx.Response) -> None:
        await response.aread()
        if not response.is_success:
            raise _refusal("token creation", response, (self._push_token,))
        from carecloud_api.models.post_tokens_201_response_data import PostTokens201ResponseData

        token_id = _text(PostTokens201ResponseData.from_dict(_data(response)).token_id)
        if token_id is None:
            raise AuthenticationError(
                f"token creation answered {response.status_code} without a token_id",
                status_code=response.status_code,
            )
        # Held in memory first: if saving fails, this process keeps working with it.
        self._adopt(token_id)
        await self._store.save(self._key, token_id)
        logger.debug("created a device token and saved it to %r", self._store)

    def _customer_login_request(self, credentials: CustomerCredentials, inherited: Mapping[str, str]) -> httpx.Request:
        from carecloud_api.api.tokens import post_token_login
        from carecloud_api.models.post_token_login_body import PostTokenLoginBody
        from carecloud_api.models.post_token_login_body_login_type import PostTokenLoginBodyLoginType

        token_id = self._bearer()
        body = PostTokenLoginBody(
            login_type=PostTokenLoginBodyLoginType(credentials.login_type),
            login_value=credentials.login_value,
            password=credentials.password,
        )
        url = _endpoint(self._base_url, post_token_login.PATH, token_id=token_id)
        logger.debug("logging the customer in at %s", redact_url(url))
        headers = {**inherited, "Authorization": f"Bearer {token_id}"}
        return httpx.Request(post_token_login.METHOD, url, json=body.to_dict(), headers=headers)

    def _accept_customer_login(self, response: httpx.Response, credentials: CustomerCredentials) -> None:
        if not response.is_success:
            raise _refusal("customer login", response, (credentials.password, self._token_id))
        from carecloud_api.models.post_token_login_200_response_data import PostTokenLogin200ResponseData

        customer_id = _text(PostTokenLogin200ResponseData.from_dict(_data(response)).customer_id)
        if customer_id is None:
            raise AuthenticationError(
                f"customer login answered {response.status_code} without a customer_id",
                status_code=response.status_code,
            )
        self._credentials = credentials
        self._customer_token = self._token_id
        self._customer_id = customer_id
        logger.debug("customer logged in")


# --------------------------------------------------------------------------- logging


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
