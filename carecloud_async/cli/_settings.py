"""Settings of the command line: the ``CARECLOUD_*`` variables of ``CareCloud.from_env()``,
overridden by command-line options, and the client they make.

    >>> merged_environment({"CARECLOUD_PROJECT_URL": "a.example.com"}, {"project_url": "b.example.com"})
    {'CARECLOUD_PROJECT_URL': 'b.example.com'}

Options map one to one onto variables (``project_url`` -> ``CARECLOUD_PROJECT_URL``), so a
command line and a Python program configured from the same environment talk to the same project
as the same user. Passwords are read from the environment only: a command line is visible to
every user of the machine (``ps``).

For the Customer API the device token is kept in :data:`DEFAULT_TOKEN_FILE` unless
``CARECLOUD_TOKEN_FILE`` names another file: each command is a new process, and a token created
per process would invalidate the one before it (and the device's own).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._environment import choose_interface
from .._errors import ConfigurationError

if TYPE_CHECKING:
    from .. import CareCloud

#: Where the command line keeps Customer API device tokens by default (a FileTokenStore, 0600).
DEFAULT_TOKEN_FILE = "~/.carecloud/tokens.json"  # noqa: S105 (a path, not a secret)

#: The options the command line accepts and the variable each one sets.
OPTION_VARIABLES: dict[str, str] = {
    "project_url": "CARECLOUD_PROJECT_URL",
    "interface": "CARECLOUD_INTERFACE",
    "user_external_application_id": "CARECLOUD_USER_EXTERNAL_APPLICATION_ID",
    "login": "CARECLOUD_LOGIN",
    "time_zone": "CARECLOUD_TIME_ZONE",
    "external_application_id": "CARECLOUD_EXTERNAL_APPLICATION_ID",
    "device_id": "CARECLOUD_DEVICE_ID",
    "token_file": "CARECLOUD_TOKEN_FILE",
    "language": "CARECLOUD_LANGUAGE",
    "timeout": "CARECLOUD_TIMEOUT",
    "max_attempts": "CARECLOUD_MAX_ATTEMPTS",
    "version": "CARECLOUD_VERSION",
}


def merged_environment(environ: Mapping[str, str], options: Mapping[str, object | None]) -> dict[str, str]:
    """The ``CARECLOUD_*`` variables of ``environ`` with the options given (not None) on top."""
    merged = {name: value for name, value in environ.items() if name.startswith("CARECLOUD_")}
    for option, value in options.items():
        if option not in OPTION_VARIABLES:
            raise ConfigurationError(f"unknown setting {option!r}")
        if value is not None:
            merged[OPTION_VARIABLES[option]] = str(value)
    return merged


def interface_of_settings(
    options: Mapping[str, object | None] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The API the client of these settings will use (``"enterprise"`` or ``"customer"``), known
    before the client is made, so that an operation of the other API is refused before its
    arguments are read; None when ``CARECLOUD_INTERFACE`` names neither (making the client says so).

    >>> interface_of_settings({"interface": "customer"}, {}), interface_of_settings({}, {"CARECLOUD_LOGIN": "x"})
    ('customer', 'enterprise')
    """
    env = merged_environment(os.environ if environ is None else environ, options or {})
    interface, _ = choose_interface(env)
    return interface if interface in ("enterprise", "customer") else None


def client_from_settings(
    options: Mapping[str, object | None] | None = None, environ: Mapping[str, str] | None = None
) -> CareCloud:
    """A :class:`CareCloud` from the environment and the options, as ``carecloud`` builds it.

    A missing setting raises :class:`ConfigurationError` naming both the variable and the option:

    >>> client_from_settings({}, environ={})
    Traceback (most recent call last):
    ...
    carecloud_async._errors.ConfigurationError: CARECLOUD_PROJECT_URL is not set (or pass --project-url)
    """
    from .. import CareCloud

    env = merged_environment(os.environ if environ is None else environ, options or {})
    interface, _ = choose_interface(env)
    if interface == "customer" and not env.get("CARECLOUD_TOKEN_FILE"):
        env["CARECLOUD_TOKEN_FILE"] = DEFAULT_TOKEN_FILE
    try:
        return CareCloud.from_env(env)
    except ConfigurationError as exc:
        raise ConfigurationError(_with_option_hint(str(exc))) from None


def _with_option_hint(message: str) -> str:
    """``message`` with the options that supply what it says is missing: the variables named before
    its explanation in parentheses (which names others, such as the one that selects the API)."""
    missing = set(re.findall(r"CARECLOUD_[A-Z_]+", message.partition(" (")[0]))
    options = [f"--{option.replace('_', '-')}" for option, variable in OPTION_VARIABLES.items() if variable in missing]
    text = f"{message} (or pass {', '.join(options)})" if options else message
    if "CARECLOUD_PASSWORD" in missing:
        text += (
            "; set CARECLOUD_PASSWORD in the environment: the password is read from there only "
            "(a command line is visible to other users)"
        )
    return text
