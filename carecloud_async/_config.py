"""Client settings: base URL, timeouts, connection limits, language. Validated at construction.

>>> build_base_url("demo.crmcarecloud.com", "enterprise")
URL('https://demo.crmcarecloud.com/webservice/rest-api/enterprise-interface/v1.0')
>>> build_base_url("http://127.0.0.1:4010", "customer")
URL('http://127.0.0.1:4010/webservice/rest-api/customer-interface/v1.0')
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

import httpx

from ._errors import ConfigurationError

Interface = Literal["enterprise", "customer"]
INTERFACE_SEGMENTS: dict[str, str] = {"enterprise": "enterprise-interface", "customer": "customer-interface"}
DEFAULT_VERSION = "v1.0"
DEFAULT_LANGUAGE = "en"
#: Never "no timeout": a bare generated client would wait forever on a stuck connection.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: 32 connections, all kept alive: as many requests as the client's own helpers run at once
#: (pagination and customer sync allow up to 32). Fewer kept alive than allowed makes httpcore close
#: a connection after most requests under load (each then opens a new one; DESIGN section 8).
DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30.0)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_VERSION = re.compile(r"^v\d+\.\d+$")


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse_origin(project_url: str) -> httpx.URL:
    text = project_url.strip()
    if not text:
        raise ConfigurationError("project_url is empty; give the project's domain, e.g. 'demo.crmcarecloud.com'")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"project_url {project_url!r} is not a valid URL: {exc}") from None
    if url.scheme not in ("https", "http"):
        raise ConfigurationError(f"project_url must use https, not {url.scheme!r}")
    if not url.host:
        raise ConfigurationError(f"project_url {project_url!r} has no host")
    if url.scheme == "http" and not is_loopback(url.host):
        raise ConfigurationError(
            f"refusing plain http:// for {url.host}: credentials and tokens would travel unencrypted. "
            "Use https:// (plain http is allowed only for loopback hosts such as a local mock server)."
        )
    if url.username or url.password:
        raise ConfigurationError("project_url must not contain credentials; pass them as arguments")
    if url.query or url.fragment:
        raise ConfigurationError("project_url must not contain a query string or fragment")
    return url


def build_base_url(project_url: str, interface: Interface, version: str = DEFAULT_VERSION) -> httpx.URL:
    """``https://{project}/webservice/rest-api/{interface}-interface/{version}``.

    ``project_url`` is the project's domain (``demo.crmcarecloud.com``) or origin
    (``https://demo.crmcarecloud.com``, ``http://127.0.0.1:4010`` for a local mock). A path on it is
    kept as a prefix (for a reverse proxy). Plain ``http://`` is refused except for loopback hosts.
    """
    if interface not in INTERFACE_SEGMENTS:
        raise ConfigurationError(f"interface must be 'enterprise' or 'customer', not {interface!r}")
    if not _VERSION.match(version):
        raise ConfigurationError(f"version must look like 'v1.0', not {version!r}")
    origin = _parse_origin(project_url)
    prefix = origin.path.rstrip("/")
    if "/webservice/rest-api" in prefix:
        raise ConfigurationError(
            "project_url should be the project's domain only; the client adds "
            "/webservice/rest-api/<interface>/<version> itself"
        )
    path = f"{prefix}/webservice/rest-api/{INTERFACE_SEGMENTS[interface]}/{version}"
    return origin.copy_with(path=path)


def check_timeout(timeout: httpx.Timeout | float) -> httpx.Timeout:
    value = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    parts = {"connect": value.connect, "read": value.read, "write": value.write, "pool": value.pool}
    missing = [name for name, seconds in parts.items() if seconds is None]
    if missing:
        raise ConfigurationError(
            f"timeouts must be finite (no timeout for {', '.join(missing)} would let a stuck connection "
            "hang forever); pass e.g. httpx.Timeout(30.0, connect=10.0)"
        )
    bad = [name for name, seconds in parts.items() if seconds is not None and seconds <= 0]
    if bad:
        raise ConfigurationError(f"timeouts must be positive: {', '.join(bad)}")
    return value


def check_language(language: str) -> str:
    if not _LANGUAGE.match(language):
        raise ConfigurationError(f"language must be a language code such as 'en' or 'cs', not {language!r}")
    return language


@dataclass(frozen=True)
class ClientConfig:
    """Validated transport settings shared by both APIs.

    ``language`` becomes the default ``Accept-Language`` header (a per-call ``accept_language``
    argument still wins); ``timeout`` and ``limits`` go to httpx; ``http2`` needs the ``h2`` package.
    """

    base_url: httpx.URL
    interface: Interface
    language: str = DEFAULT_LANGUAGE
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    limits: httpx.Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    http2: bool = False
    user_agent: str | None = None

    def __post_init__(self) -> None:
        check_language(self.language)
        object.__setattr__(self, "timeout", check_timeout(self.timeout))
        if self.http2:
            import importlib.util  # only for http2=True: importing the client does not load it

            if importlib.util.find_spec("h2") is None:
                raise ConfigurationError("http2=True needs the 'h2' package: pip install 'httpx[http2]'")

    @classmethod
    def for_project(
        cls,
        project_url: str,
        interface: Interface,
        *,
        version: str = DEFAULT_VERSION,
        language: str = DEFAULT_LANGUAGE,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
    ) -> ClientConfig:
        """Settings for one project and API, validated (:class:`ConfigurationError` otherwise).

        >>> ClientConfig.for_project("demo.crmcarecloud.com", "customer", timeout=5).timeout
        Timeout(timeout=5)
        """
        return cls(
            base_url=build_base_url(project_url, interface, version),
            interface=interface,
            language=language,
            timeout=check_timeout(timeout),
            limits=limits,
            http2=http2,
        )
