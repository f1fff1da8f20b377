"""When a purchase is sent again, and what an answer means: pure functions, no I/O, no clock.

CareCloud's integration guide asks a POS to send unsent purchases every minute, to try a failed
one about five times, ten minutes apart, and then to offer it for manual transfer. That is the
default :class:`Schedule`; every number is configurable.

    >>> schedule = Schedule()
    >>> after_failure(attempts=1, error=SendError("unavailable", "503"), now=1000.0, schedule=schedule)
    Retry(at=1600.0)
    >>> after_failure(attempts=5, error=SendError("unavailable", "503"), now=1000.0, schedule=schedule)
    ToManual()
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from carecloud_api.models.post_purchase_send_200_response import PostPurchaseSend200Response
from carecloud_api.types import Unset

from .._errors import (
    APIError,
    BadRequest,
    CareCloudError,
    NetworkError,
    RateLimited,
    RequestTimeout,
    ResponseParseError,
    ServerError,
    ServiceUnavailable,
)
from ..workflows._natural_keys import names_natural_key
from ._records import ErrorKind, SendError

__all__ = ["Retry", "Schedule", "Sent", "ToManual", "after_failure", "classify", "pause_after"]


@dataclass(frozen=True)
class Schedule:
    """How the sender sends (seconds).

    ``interval``: how often the sender looks for due purchases (new ones in the same process are
    sent at once; this catches those of other processes and expired leases). ``max_attempts``:
    attempts before a purchase goes to manual. ``retry_delay``: wait after a failed attempt (a
    longer ``Retry-After`` from the server wins, up to ``max_retry_after``). ``lease``: how long a
    sender holds a purchase it is sending; a sender that dies loses it after this, and another
    sender resends it (keep it above the client's timeout).

        fast = Schedule(interval=5, max_attempts=10, retry_delay=30)
    """

    interval: float = 60.0
    max_attempts: int = 5
    retry_delay: float = 600.0
    lease: float = 300.0
    max_retry_after: float = 6 * 3600.0

    def __post_init__(self) -> None:
        from .._errors import ConfigurationError

        for name in ("interval", "retry_delay", "lease", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"Schedule.{name} must be a number of seconds >= 0, not {value!r}")
        if self.lease <= 0:
            raise ConfigurationError("Schedule.lease must be > 0 seconds")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigurationError(f"Schedule.max_attempts must be a whole number >= 1, not {self.max_attempts!r}")


@dataclass(frozen=True)
class Sent:
    """CareCloud has the purchase. ``purchase_id`` is None when it answered ``already_exists`` on
    ``bill_id`` (``already_recorded``: an earlier attempt landed) or a 2xx without the id."""

    purchase_id: str | None
    already_recorded: bool = False


@dataclass(frozen=True)
class Retry:
    """Send again at ``at``."""

    at: float


@dataclass(frozen=True)
class ToManual:
    """Resending cannot help: wait for a person."""


def classify(outcome: PostPurchaseSend200Response | BaseException) -> Sent | SendError:
    """What one send-purchase attempt ended with: its answer, or the exception it raised.

    >>> classify(RequestTimeout("ReadTimeout on POST /purchases/actions/send-purchase")).kind
    'timeout'
    """
    if isinstance(outcome, PostPurchaseSend200Response):
        data = outcome.data
        purchase_id = None if isinstance(data, Unset) or isinstance(data.purchase_id, Unset) else data.purchase_id
        return Sent(purchase_id=purchase_id or None)
    if isinstance(outcome, BadRequest):
        if names_natural_key(outcome, key="bill_id", reasons=("already_exists",)):
            return Sent(purchase_id=None, already_recorded=True)
        return _api_error("invalid", outcome)
    if isinstance(outcome, ResponseParseError) and 200 <= outcome.status_code < 300:
        return Sent(purchase_id=None)  # a 2xx is a recorded purchase, whatever its body says
    if isinstance(outcome, RateLimited):
        return _api_error("rate_limited", outcome)
    if isinstance(outcome, ServiceUnavailable):
        return _api_error("unavailable", outcome)
    if isinstance(outcome, ServerError):
        return _api_error("server", outcome)
    if isinstance(outcome, APIError):
        return _api_error("refused", outcome)
    if isinstance(outcome, RequestTimeout):
        return SendError("timeout", str(outcome))
    if isinstance(outcome, NetworkError):
        return SendError("network", str(outcome))
    if isinstance(outcome, CareCloudError):
        return SendError("unexpected", f"{type(outcome).__name__}: {outcome}")
    # Not one of ours: its text could hold anything, so only its type is kept.
    return SendError("unexpected", type(outcome).__name__)


def _api_error(kind: ErrorKind, error: APIError) -> SendError:
    return SendError(
        kind=kind,
        message=str(error),
        status_code=error.status_code,
        error_code=error.error_code,
        # What was sent (``value``) is not kept: it may be personal data, and the body is stored anyway.
        invalid_params=tuple(dataclasses.replace(param, value=None) for param in error.invalid_params),
        retry_after=error.retry_after,
    )


def after_failure(*, attempts: int, error: SendError, now: float, schedule: Schedule) -> Retry | ToManual:
    """What follows a failed attempt (``attempts`` counts it).

    A bill the server refused as invalid goes to manual at once (resending cannot fix it); so does
    a purchase that used its ``max_attempts``. Otherwise it is sent again ``retry_delay`` later, or
    after the server's ``Retry-After`` when that is longer (capped at ``max_retry_after``).

    >>> after_failure(attempts=1, error=SendError("rate_limited", "429", retry_after=900.0), now=0.0,
    ...               schedule=Schedule())
    Retry(at=900.0)
    >>> after_failure(attempts=1, error=SendError("invalid", "400"), now=0.0, schedule=Schedule())
    ToManual()
    """
    if error.kind == "invalid" or attempts >= schedule.max_attempts:
        return ToManual()
    wait = schedule.retry_delay
    if error.retry_after is not None:
        wait = max(wait, min(error.retry_after, schedule.max_retry_after))
    return Retry(at=now + wait)


def pause_after(error: SendError, schedule: Schedule) -> float | None:
    """How long the sender stops sending anything after ``error`` (seconds), or None to go on.

    A 429 or 503 is about the server, not the bill: the sender sends nothing more for an
    ``interval``, or for the ``Retry-After`` when that is longer (capped at ``max_retry_after``).

    >>> pause_after(SendError("rate_limited", "429", retry_after=120.0), Schedule())
    120.0
    >>> pause_after(SendError("invalid", "400"), Schedule()) is None
    True
    """
    if error.kind not in ("rate_limited", "unavailable"):
        return None
    retry_after = min(error.retry_after or 0.0, schedule.max_retry_after)
    return max(schedule.interval, retry_after)


def lost_on_claim(attempts: int, schedule: Schedule) -> bool:
    """Whether a purchase just claimed (``attempts`` counts this claim) is over its attempts: only
    a purchase whose last sender died mid-send gets here. It goes to manual (error ``lost``).

    >>> lost_on_claim(5, Schedule()), lost_on_claim(6, Schedule())
    (False, True)
    """
    return attempts > schedule.max_attempts
