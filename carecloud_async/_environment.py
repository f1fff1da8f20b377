"""Decisions ``CareCloud.from_env`` takes from ``CARECLOUD_*`` variables, as pure functions.

Which API: ``CARECLOUD_INTERFACE`` when set, else the Enterprise API when ``CARECLOUD_LOGIN`` is set
and the Customer API otherwise. An error about a missing variable says which API was chosen and
why, and which variable selects the other one, so a user who meant the other API sees it at once.

>>> choose_interface({"CARECLOUD_LOGIN": "pos@example.com"})
('enterprise', 'inferred because CARECLOUD_LOGIN is set; CARECLOUD_INTERFACE=customer selects the Customer API')
>>> choose_interface({})[1]
'inferred because CARECLOUD_LOGIN is not set; CARECLOUD_INTERFACE=enterprise selects the Enterprise API'

Servers that stand in for a project (the fake CareCloud, ``make mock``) print the variables that
configure a client for them with :func:`enterprise_environment`, :func:`customer_environment` and
:func:`export_line`, so that what they print is what ``from_env`` reads.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ._errors import ConfigurationError
from ._retry import RetryPolicy

__all__ = [
    "choose_interface",
    "customer_environment",
    "customer_login_environment",
    "enterprise_environment",
    "export_line",
    "retry_policy_from_env",
]


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


def enterprise_environment(
    project_url: str, *, user_external_application_id: str, login: str, password: str
) -> dict[str, str]:
    """The ``CARECLOUD_*`` variables with which ``from_env`` makes an Enterprise API client."""
    return {
        "CARECLOUD_PROJECT_URL": project_url,
        "CARECLOUD_INTERFACE": "enterprise",  # a Customer API line exported before does not win
        "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": user_external_application_id,
        "CARECLOUD_LOGIN": login,
        "CARECLOUD_PASSWORD": password,
    }


def customer_environment(project_url: str, *, external_application_id: str, device_id: str) -> dict[str, str]:
    """The ``CARECLOUD_*`` variables with which ``from_env`` makes a Customer API client (one device)."""
    return {
        "CARECLOUD_PROJECT_URL": project_url,
        "CARECLOUD_INTERFACE": "customer",
        "CARECLOUD_EXTERNAL_APPLICATION_ID": external_application_id,
        "CARECLOUD_DEVICE_ID": device_id,
    }


def customer_login_environment(login_type: str, login_value: str, password: str) -> dict[str, str]:
    """The variables that add a customer's login to :func:`customer_environment`'s."""
    return {
        "CARECLOUD_CUSTOMER_LOGIN_TYPE": login_type,
        "CARECLOUD_CUSTOMER_LOGIN_VALUE": login_value,
        "CARECLOUD_CUSTOMER_PASSWORD": password,
    }


def export_line(variables: Mapping[str, str]) -> str:
    """A POSIX shell line that sets ``variables`` (values quoted where the shell needs it).

    >>> export_line({"CARECLOUD_LOGIN": "pos@example.com", "CARECLOUD_PASSWORD": "two words"})
    "export CARECLOUD_LOGIN=pos@example.com CARECLOUD_PASSWORD='two words'"
    """
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
