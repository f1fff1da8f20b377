"""Who a request is sent as, for the cache and in-flight dedupe; and the per-call opt-out.

An answer belongs to an identity: the Enterprise user (project, application, login), or the
Customer device token together with the customer logged in on it. Cache keys and dedupe keys
hold a hash of it, never a token or a login in clear.

    identity = enterprise_identity("demo.example", "89d1a6111b3fb6e74665d948", "pos@example.com")
    with bypass_cache():
        ...   # requests of this task skip the cache and dedupe
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
from collections.abc import Callable, Iterator

import httpx

__all__ = [
    "BYPASS_EXTENSION",
    "IdentityOf",
    "bearer_of",
    "bypass_cache",
    "bypassed",
    "customer_identity",
    "enterprise_identity",
    "identity_hash",
    "resource_scope",
]

#: Request extension that turns caching and in-flight dedupe off for one request (set it to False).
BYPASS_EXTENSION = "carecloud_cache"

#: Answers the identity a request is sent as (already hashed), or None when unknown (not shared).
IdentityOf = Callable[[httpx.Request], "str | None"]

# ".../webservice/rest-api/<interface>/<version>/<resource>/..." -> <resource>
_RESOURCE = re.compile(r"/rest-api/[^/]+/[^/]+/([^/?#]+)")

_bypass: contextvars.ContextVar[bool] = contextvars.ContextVar("carecloud_bypass_cache", default=False)


def identity_hash(*parts: str) -> str:
    """A stable, non-reversible identity string from secret or personal parts (tokens, logins).

    >>> len(identity_hash("token-123", "customer-9"))
    32
    >>> identity_hash("a", "bc") == identity_hash("ab", "c")
    False
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def enterprise_identity(project: str, user_external_application_id: str, login: str) -> str:
    """The identity of an Enterprise API user: the same across logins and processes.

    >>> enterprise_identity("p.example", "app", "pos@example.com") == enterprise_identity("p.example", "app", "bi@x")
    False
    """
    return identity_hash("enterprise", project.lower(), user_external_application_id, login.lower())


def customer_identity(token_id: str, customer_id: str | None, session: int = 0) -> str:
    """The identity of a Customer API request: the device token, the customer logged in on it, and
    the number of the session (``CustomerAuth`` counts logins, logouts and token replacements), so
    that nothing cached or in flight before an identity change is shared with requests after it.

    >>> customer_identity("tok", "jane") == customer_identity("tok", "john")
    False
    >>> customer_identity("tok", None) == customer_identity("tok", "jane")
    False
    >>> customer_identity("tok", "jane", 2) == customer_identity("tok", "jane", 6)
    False
    """
    return identity_hash("customer", token_id, customer_id or "", str(session))


def resource_scope(url: httpx.URL) -> str:
    """The resource a request's path belongs to: host and first segment after the API base path.

    A write to any path of a resource invalidates the cached GETs of that whole resource, on
    both APIs of the project (an Enterprise write can change what the Customer API shows), and
    detaches the GETs of it in flight from later callers (in-flight dedupe).

    >>> resource_scope(httpx.URL("https://p.example/webservice/rest-api/enterprise-interface/v1.0/customers/42"))
    'p.example/customers'
    >>> resource_scope(httpx.URL("https://p.example/webservice/rest-api/customer-interface/v1.0/customers?count=5"))
    'p.example/customers'
    """
    match = _RESOURCE.search(url.path)
    segment = match.group(1) if match else url.path.strip("/").split("/", 1)[0]
    return f"{url.host}/{segment}"


def bearer_of(request: httpx.Request) -> str | None:
    """The bearer token a request carries, or None.

    >>> bearer_of(httpx.Request("GET", "https://p.example/", headers={"Authorization": "Bearer abc"}))
    'abc'
    """
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def bypassed(request: httpx.Request) -> bool:
    """Whether ``request`` skips the cache and dedupe (inside :func:`bypass_cache`, or with the
    request extension ``{"carecloud_cache": False}``).

    >>> bypassed(httpx.Request("GET", "https://p.example/", extensions={"carecloud_cache": False}))
    True
    """
    return _bypass.get() or request.extensions.get(BYPASS_EXTENSION) is False


@contextlib.contextmanager
def bypass_cache() -> Iterator[None]:
    """Inside this block, requests of this task skip the HTTP cache and in-flight dedupe.

    with bypass_cache():
        points = await cc.customers.points.list(customer_id).collect()   # always from the server
    """
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)
