"""``carecloud auth check`` and ``carecloud auth device``: what the credentials give, never a secret.

async with CareCloud.from_env() as cc:
    status = await check_auth(cc)         # logs in (Enterprise) or gets the device token
    print(status.describe())              # expiry in the project's zone; no token shown

async with CareCloud.from_env() as cc:    # Customer API, CARECLOUD_TOKEN_FILE set
    print((await device_token_state(cc, create=True)).describe())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from .. import CustomerAuth, EnterpriseAuth, FileTokenStore, MemoryTokenStore
from .._errors import RequestValidationError

if TYPE_CHECKING:
    from .. import CareCloud


def mask(secret: str | None) -> str:
    """A secret as safe to show: its length and last 4 characters at most (none when short).

    >>> mask("4d8121de8b1c6d4c2b0e"), mask("abc"), mask(None)
    ('****************2b0e', '***', '(none)')
    """
    if not secret:
        return "(none)"
    if len(secret) < 12:
        return "*" * len(secret)
    return "*" * (len(secret) - 4) + secret[-4:]


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(abs(minutes), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@dataclass(frozen=True)
class AuthStatus:
    """The outcome of a successful :func:`check_auth`."""

    interface: str
    base_url: str
    who: str  #: the Enterprise login, or "device <id>" for the Customer API
    expires_at: datetime | None  #: in the project's time zone; None when not known
    time_zone: str
    valid_for: timedelta | None
    customer_id: str | None = None

    def describe(self) -> str:
        """Lines for a terminal.

        >>> from datetime import timezone
        >>> expiry = datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc)
        >>> print(AuthStatus("enterprise", "https://p", "me", expiry, "UTC", timedelta(hours=6)).describe())
        Enterprise API at https://p as me: OK
        token valid until 2026-11-29 20:00:00 UTC (6 h 00 min from now)
        """
        lines = [f"{self.interface.capitalize()} API at {self.base_url} as {self.who}: OK"]
        if self.interface == "customer":
            lines.append("device token: held (it never expires; a new one for this device would replace it)")
            if self.customer_id:
                lines.append(f"customer logged in: {self.customer_id}")
        elif self.expires_at is None:
            lines.append(
                "token validity unknown: the login answer's valid_to is missing or already past "
                "(the token is used until the server answers 401)"
            )
        else:
            when = self.expires_at.strftime("%Y-%m-%d %H:%M:%S")
            left = f"{_duration(self.valid_for)} from now" if self.valid_for is not None else ""
            lines.append(f"token valid until {when} {self.time_zone}" + (f" ({left})" if left else ""))
        return "\n".join(lines)


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


async def _refuse_a_throwaway_token(auth: CustomerAuth) -> None:
    if isinstance(auth.token_store, MemoryTokenStore) and await auth.token_store.load(auth.store_key) is None:
        raise RequestValidationError(
            "set CARECLOUD_TOKEN_FILE (or --token-file) first: a device token that is not kept would "
            "only invalidate this device's current one"
        )


async def check_auth(cc: CareCloud, *, now: datetime | None = None) -> AuthStatus:
    """Log in now (Enterprise) or load/create the device token (Customer) and say until when
    the token is valid, in the project's time zone. Raises the library's errors when refused.

    A Customer API client whose token store is a :class:`MemoryTokenStore` holding no token is
    refused: creating a token nobody keeps would only invalidate the device's current one."""
    if isinstance(cc.auth, CustomerAuth):
        await _refuse_a_throwaway_token(cc.auth)
    await cc.authenticate()
    auth = cc.auth
    base_url = str(cc.config.base_url)
    if isinstance(auth, EnterpriseAuth):
        zone = auth.time_zone
        expires = auth.token_expires_at
        current = now or datetime.now(zone)
        return AuthStatus(
            interface="enterprise",
            base_url=base_url,
            who="the configured user",
            expires_at=expires.astimezone(zone) if expires else None,
            time_zone=_zone_name(zone),
            valid_for=(expires - current) if expires else None,
        )
    assert isinstance(auth, CustomerAuth)
    return AuthStatus(
        interface="customer",
        base_url=base_url,
        who=f"device {auth.device.device_id}",
        expires_at=None,
        time_zone="",
        valid_for=None,
        customer_id=cc.customer_id,
    )


@dataclass(frozen=True)
class DeviceTokenState:
    """The Customer API device token as the token store holds it (masked)."""

    store: str
    device_id: str
    stored: bool
    masked_token: str
    created: bool = False

    def describe(self) -> str:
        """Lines for a terminal.

        >>> print(DeviceTokenState("file /tmp/t.json", "kiosk-7", True, "****2b0e", created=True).describe())
        device kiosk-7, store file /tmp/t.json: token ****2b0e (created now)
        """
        if not self.stored:
            return (
                f"device {self.device_id}, store {self.store}: no token stored "
                "(`carecloud auth device --create` creates one)"
            )
        return f"device {self.device_id}, store {self.store}: token {self.masked_token}" + (
            " (created now)" if self.created else " (stored)"
        )


def _store_label(cc: CareCloud) -> str:
    store = cc.auth.token_store if isinstance(cc.auth, CustomerAuth) else None
    if isinstance(store, FileTokenStore):
        return f"file {store.path}"
    return type(store).__name__


async def device_token_state(cc: CareCloud, *, create: bool = False) -> DeviceTokenState:
    """The stored device token of a Customer API client; with ``create``, one is made (and saved)
    when none is stored. Creating into a :class:`MemoryTokenStore` is refused: a token that is not
    kept would only invalidate the device's current one."""
    auth = cc.auth
    if not isinstance(auth, CustomerAuth):
        raise RequestValidationError(
            "device tokens belong to the Customer API; set CARECLOUD_INTERFACE=customer (or --interface customer)"
        )
    stored = await auth.token_store.load(auth.store_key)
    created = False
    if stored is None and create:
        await _refuse_a_throwaway_token(auth)
        await cc.authenticate()
        stored = await auth.token_store.load(auth.store_key)
        created = stored is not None
    return DeviceTokenState(
        store=_store_label(cc),
        device_id=auth.device.device_id,
        stored=stored is not None,
        masked_token=mask(stored),
        created=created,
    )
