"""The Enterprise API token lifecycle: a user's login with a validity, as an ``httpx.Auth``.

Log in as a user (``POST /users/actions/login``), send ``Authorization: Bearer``, log in again
shortly before ``valid_to`` and once on a 401 (then replay the request once).

    auth = EnterpriseAuth(
        "https://demo.crmcarecloud.com/webservice/rest-api/enterprise-interface/v1.0",
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="pos@example.com",
        password=os.environ["CARECLOUD_PASSWORD"],
        time_zone="Europe/Prague",
    )
    async with httpx.AsyncClient(base_url=auth.base_url, auth=auth) as client:
        response = await client.get("customers")

With a ``token_store`` (a :class:`~carecloud_async.FileTokenStore` for the processes of one host,
a :class:`~carecloud_async.RedisTokenStore` for several hosts) the token is shared: a process
that needs one first reads the store, under the store's lock, and logs in only if the store holds
none that is still fresh (or only the one the server just refused), then saves it there. So any
number of processes starting together log in once.

The decisions (when is ``valid_to``? when to log in again? may a shared token be used?) are pure
functions: :func:`parse_valid_to`, :func:`plan_refresh` and :func:`shared_token_usable`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo

import httpx

from ._auth import (
    AuthSteps,
    TokenAuth,
    endpoint_url,
    inherited_headers,
    logger,
    refusal,
    required_text,
    response_data,
    token_text,
)
from ._errors import AuthenticationError, ConfigurationError, TokenStoreError, redact_url
from ._identity import enterprise_identity
from ._tokens import BasicTokenStore, TokenStore, store_lock

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "EnterpriseAuth",
    "enterprise_token_key",
    "parse_valid_to",
    "plan_refresh",
    "shared_token_usable",
]

#: Log in again this long before ``valid_to``.
DEFAULT_REFRESH_MARGIN = timedelta(seconds=60)

# "YYYY-MM-DD HH:MM[:SS[.ffffff]]", "T" or space, optionally an offset (the API sends none today).
_VALID_TO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)

_Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- pure decisions


def parse_valid_to(value: object, time_zone: tzinfo) -> datetime | None:
    """``valid_to`` of a login answer as an aware UTC datetime, or None if it is unusable.

    The API sends project-local time without an offset (``YYYY-MM-DD HH:MM:SS``, sometimes with
    fractional seconds or a ``T``); an explicit offset, should one ever come, wins over
    ``time_zone``.

    >>> from zoneinfo import ZoneInfo
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


def enterprise_token_key(project: str, user_external_application_id: str, login: str) -> str:
    """The token store key of one Enterprise user's token (the login appears only hashed).

    >>> enterprise_token_key("p.example", "app", "pos@example.com").startswith("enterprise/")
    True
    """
    return "enterprise/" + enterprise_identity(project, user_external_application_id, login)


def shared_token_usable(
    stored: dict[str, object] | None, *, now: datetime, rejected: str | None
) -> tuple[str, datetime | None, datetime | None] | None:
    """The (token, expires_at, refresh_at) of a token read from a shared store, if this process
    may use it: a token, not the one the server just refused, and not yet due for refresh.

    >>> now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    >>> later = (now + timedelta(hours=1)).isoformat()
    >>> shared_token_usable({"bearer_token": "t", "refresh_at": later, "expires_at": later}, now=now, rejected=None)[0]
    't'
    >>> shared_token_usable({"bearer_token": "t", "refresh_at": later}, now=now, rejected="t") is None
    True
    >>> shared_token_usable({"bearer_token": "t", "refresh_at": now.isoformat()}, now=now, rejected=None) is None
    True
    """
    if stored is None:
        return None
    token = stored.get("bearer_token")
    if not isinstance(token, str) or not token or token == rejected:
        return None
    moments: list[datetime | None] = []
    for name in ("expires_at", "refresh_at"):
        value = stored.get(name)
        try:
            moments.append(datetime.fromisoformat(value) if isinstance(value, str) else None)
        except ValueError:
            return None
    expires_at, refresh_at = moments
    if refresh_at is not None and now >= refresh_at:
        return None
    return token, expires_at, refresh_at


def _stored_json(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _check_time_zone(time_zone: str | tzinfo) -> tzinfo:
    if isinstance(time_zone, tzinfo):
        return time_zone
    if not isinstance(time_zone, str) or not time_zone:
        raise ConfigurationError(f"time_zone must be an IANA name such as 'Europe/Prague', got {time_zone!r}")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # on construction: importing the client does not load it

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


class EnterpriseAuth(TokenAuth):
    """Enterprise API user login as an ``httpx.Auth`` (async only).

    Logs in on first use (``POST {base_url}/users/actions/login``), sends
    ``Authorization: Bearer <token>``, logs in again ``refresh_margin`` before ``valid_to`` (read
    in ``time_zone``, the project's zone), and on a 401 logs in again once and replays the request
    once; a second 401 is returned to the caller. A ``valid_to`` that is missing, unparseable or
    already past when the token arrives is logged once (a warning; at INFO when it is only past)
    and the token is used until a 401 (or for ``fallback_lifetime`` when given).

    A refused login raises :class:`~carecloud_async.AuthenticationError` (``status_code``,
    ``error_code``); a 429 or 5xx answer to it raises the usual ``RateLimited`` / ``ServerError``.

        auth = EnterpriseAuth(base_url, user_external_application_id="89d1a6111b3fb6e74665d948",
                              login="pos@example.com", password=secret, time_zone="Europe/Prague")
        async with httpx.AsyncClient(base_url=base_url, auth=auth) as client:
            await client.get("customers")
            print(auth.token_expires_at)

    ``token_store`` shares the token with every process using the same store (see the module
    docs): one login for all of them. ``clock`` returns the current time as an aware datetime
    (tests pass a fake one).
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
        token_store: TokenStore | BasicTokenStore | None = None,
    ) -> None:
        super().__init__(base_url)
        self._application_id = required_text(user_external_application_id, "user_external_application_id")
        self._login = required_text(login, "login")
        self._password = required_text(password, "password")
        self._time_zone = _check_time_zone(time_zone)
        self._margin = _seconds(refresh_margin, "refresh_margin", allow_zero=True)
        self._fallback = (
            None if fallback_lifetime is None else _seconds(fallback_lifetime, "fallback_lifetime", allow_zero=False)
        )
        self._clock: _Clock = clock
        from carecloud_api.api.users import post_user_login

        self._login_url = endpoint_url(self._base_url, post_user_login.PATH)
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._refresh_at: datetime | None = None
        self._validity_warned = False
        self._store = token_store
        self._store_key = enterprise_token_key(self._base_url.host, self._application_id, self._login)
        self._identity = enterprise_identity(self._base_url.host, self._application_id, self._login)

    # -- read-only state

    def identity(self, request: httpx.Request) -> str:
        """Whose answers ``request`` gets, hashed (for the HTTP cache and in-flight dedupe): the
        user (project, application, login), the same across logins and processes.

        >>> auth = EnterpriseAuth("https://p.example/api", user_external_application_id="a", login="pos", password="x")
        >>> request = httpx.Request("GET", "https://p.example/api/stores")
        >>> auth.identity(request) == enterprise_identity("p.example", "a", "pos")
        True
        """
        return self._identity  # constant: hashed once, in __init__

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
            await self._drive(client, self._steps(None, inherited_headers(client.headers)))

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

    async def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> AuthSteps:
        if rejected_generation is None:
            if not self._login_due():
                return  # another coroutine logged in while we waited for the lock
            reason = "first use" if self._token is None else "token due for refresh"
        elif rejected_generation != self._generation:
            return  # another coroutine already logged in again: replay with its token
        else:
            reason = "token refused with 401"
        if self._store is None:
            response = yield self._login_request(reason, inherited)
            await response.aread()
            self._accept_login(response)
            return
        rejected = self._token if rejected_generation is not None else None
        async with store_lock(self._store, self._store_key):
            shared = shared_token_usable(
                _stored_json(await self._store.load(self._store_key)), now=self._now(), rejected=rejected
            )
            if shared is not None:
                logger.debug("using the token of %r (another process logged in)", self._store)
                self._token, self._expires_at, self._refresh_at = shared
                self._generation += 1
                return
            response = yield self._login_request(reason, inherited)
            await response.aread()
            self._accept_login(response)
            try:
                await self._store.save(self._store_key, self._shared_value())
            except TokenStoreError as exc:
                logger.warning("could not share the new token through %r: %s", self._store, exc)

    def _login_request(self, reason: str, inherited: Mapping[str, str]) -> httpx.Request:
        logger.debug("logging in to %s (%s)", redact_url(self._login_url), reason)
        from carecloud_api.api.users import post_user_login
        from carecloud_api.models.post_user_login_body import PostUserLoginBody

        body = PostUserLoginBody(
            user_external_application_id=self._application_id, login=self._login, password=self._password
        )
        return httpx.Request(post_user_login.METHOD, self._login_url, json=body.to_dict(), headers=inherited)

    def _shared_value(self) -> str:
        moments = {"expires_at": self._expires_at, "refresh_at": self._refresh_at}
        return json.dumps(
            {"bearer_token": self._token, **{k: v.isoformat() if v else None for k, v in moments.items()}}
        )

    def _accept_login(self, response: httpx.Response) -> None:
        from carecloud_api.models.post_user_login_200_response_data import PostUserLogin200ResponseData
        from carecloud_api.types import UNSET

        if not response.is_success:
            raise refusal("login", response, (self._password,))
        data = PostUserLogin200ResponseData.from_dict({k: v for k, v in response_data(response).items() if k != "user"})
        token = token_text(data, "bearer_token")
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
            # A past valid_to is what the Prism mock answers on every login (the spec's 2019
            # example), and harmless (the token is used until a 401): INFO, not a WARNING in
            # front of every command. A missing or unparseable one is the server's mistake.
            logger.log(
                logging.WARNING if valid_until is None else logging.INFO,
                "the login answer's valid_to (%r) is %s (now %s, time_zone %s); using the token %s",
                raw_valid_to,
                problem,
                now.astimezone(self._time_zone).isoformat(sep=" ", timespec="seconds"),
                self._time_zone,
                f"for {self._fallback}" if self._fallback else "until the server answers 401",
            )
        logger.debug("logged in; token valid until %s", self._expires_at or "unknown")
