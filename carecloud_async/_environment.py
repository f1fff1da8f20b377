"""Decisions ``CareCloud.from_env`` takes from ``CARECLOUD_*`` variables, as pure functions.

Which API: ``CARECLOUD_INTERFACE`` when set, else the Enterprise API when ``CARECLOUD_LOGIN`` is set
and the Customer API otherwise. An error about a missing variable says which API was chosen and
why, and which variable selects the other one, so a user who meant the other API sees it at once.

>>> choose_interface({"CARECLOUD_LOGIN": "pos@example.com"})
('enterprise', 'inferred because CARECLOUD_LOGIN is set; CARECLOUD_INTERFACE=customer selects the Customer API')
>>> choose_interface({})[1]
'inferred because CARECLOUD_LOGIN is not set; CARECLOUD_INTERFACE=enterprise selects the Enterprise API'
"""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import ConfigurationError
from ._retry import RetryPolicy

__all__ = ["choose_interface", "retry_policy_from_env"]


def choose_interface(env: Mapping[str, str]) -> tuple[str, str]:
    """(``"enterprise"`` or ``"customer"``, why) from ``env`` (empty values count as unset)."""
    explicit = env.get("CARECLOUD_INTERFACE") or None
    if explicit is not None:
        return explicit, f"CARECLOUD_INTERFACE={explicit}"
    if env.get("CARECLOUD_LOGIN"):
        return "enterprise", (
            "inferred because CARECLOUD_LOGIN is set; CARECLOUD_INTERFACE=customer selects the Customer API"
        )
    return "customer", (
        "inferred because CARECLOUD_LOGIN is not set; CARECLOUD_INTERFACE=enterprise selects the Enterprise API"
    )


def retry_policy_from_env(text: str) -> RetryPolicy:
    """The retry policy for ``CARECLOUD_MAX_ATTEMPTS=text``; the real problem if it cannot be one.

    >>> retry_policy_from_env("1").max_attempts
    1
    >>> retry_policy_from_env("0")
    Traceback (most recent call last):
    ...
    carecloud_async._errors.ConfigurationError: CARECLOUD_MAX_ATTEMPTS=0: ... at least 1 (1 = no retries...
    """
    try:
        attempts = int(text.strip())
    except ValueError:
        raise ConfigurationError(
            f"CARECLOUD_MAX_ATTEMPTS must be a whole number of attempts (1 = no retries), not {text!r}"
        ) from None
    if attempts < 1:
        raise ConfigurationError(
            f"CARECLOUD_MAX_ATTEMPTS={attempts}: the attempts include the first one, so it must be at least "
            "1 (1 = no retries; the default is 4)"
        )
    return RetryPolicy(max_attempts=attempts)
