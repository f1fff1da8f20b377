"""carecloud-async: the async Python client for the CareCloud REST APIs.

    from carecloud_async import CareCloud

    async with CareCloud.enterprise(project_url, user_external_application_id=..., login=..., password=...) as cc:
        async for customer in cc.customers.list(email="jane@example.com"):   # the resource tree
            print(customer.customer_id)
        customer = await cc.customers.get(customer_id)

The generated, low-level package is ``carecloud_api`` (models in ``carecloud_api.models``,
one module per operation in ``carecloud_api.api.<tag>``); this package adds the token lifecycle
of both APIs, retries, typed errors, pagination, the resource tree (every operation as a typed
method, ``cc.<resource>.<method>``) and workflow helpers; ``cc.call(module.call, ...)`` runs any
generated endpoint function.

Names load on first use (PEP 562): ``import carecloud_async`` itself is cheap, and
``from carecloud_async import CareCloud`` loads the client and what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cache import HTTPCache, MemoryCacheStorage
    from ._call_options import CallOptions
    from ._client import CareCloud, CustomerCareCloud, EnterpriseCareCloud
    from ._config import ClientConfig, build_base_url
    from ._customer_auth import CustomerAuth, CustomerCredentials, Device, DeviceSetup
    from ._enterprise_auth import EnterpriseAuth
    from ._errors import (
        APIError,
        AuthenticationError,
        BadRequest,
        CareCloudError,
        ConfigurationError,
        Forbidden,
        InvalidParam,
        MethodNotAllowed,
        NetworkError,
        NotFound,
        NotPresent,
        RateLimited,
        RequestTimeout,
        RequestValidationError,
        ResponseParseError,
        ServerError,
        ServiceUnavailable,
        TokenStoreError,
        Unauthorized,
    )
    from ._hooks import CallEvent, CallHooks, LoginEvent, RetryEvent
    from ._identity import bypass_cache
    from ._logging import configure_logging
    from ._optional_fields import present
    from ._pagination import Page, Paginator
    from ._ratelimit import LocalRateBudget, RateBudget
    from ._raw_responses import RawResponse
    from ._redis import RedisState, RedisTokenStore
    from ._retry import RetryPolicy, RetryTransport
    from ._tokens import FileTokenStore, MemoryTokenStore, TokenStore
    from ._version import __version__

_MODULE_OF: dict[str, str] = {
    "HTTPCache": "._cache",
    "MemoryCacheStorage": "._cache",
    "bypass_cache": "._identity",
    "LocalRateBudget": "._ratelimit",
    "RateBudget": "._ratelimit",
    "RedisState": "._redis",
    "RedisTokenStore": "._redis",
    "APIError": "._errors",
    "AuthenticationError": "._errors",
    "BadRequest": "._errors",
    "CallEvent": "._hooks",
    "CallHooks": "._hooks",
    "LoginEvent": "._hooks",
    "RetryEvent": "._hooks",
    "CallOptions": "._call_options",
    "CareCloud": "._client",
    "EnterpriseCareCloud": "._client",
    "CustomerCareCloud": "._client",
    "CareCloudError": "._errors",
    "ClientConfig": "._config",
    "ConfigurationError": "._errors",
    "CustomerAuth": "._customer_auth",
    "CustomerCredentials": "._customer_auth",
    "Device": "._customer_auth",
    "DeviceSetup": "._customer_auth",
    "EnterpriseAuth": "._enterprise_auth",
    "FileTokenStore": "._tokens",
    "Forbidden": "._errors",
    "InvalidParam": "._errors",
    "MemoryTokenStore": "._tokens",
    "MethodNotAllowed": "._errors",
    "NetworkError": "._errors",
    "NotFound": "._errors",
    "NotPresent": "._errors",
    "Page": "._pagination",
    "Paginator": "._pagination",
    "RateLimited": "._errors",
    "RawResponse": "._raw_responses",
    "RequestTimeout": "._errors",
    "RequestValidationError": "._errors",
    "ResponseParseError": "._errors",
    "RetryPolicy": "._retry",
    "RetryTransport": "._retry",
    "ServerError": "._errors",
    "ServiceUnavailable": "._errors",
    "TokenStore": "._tokens",
    "TokenStoreError": "._errors",
    "Unauthorized": "._errors",
    "__version__": "._version",
    "build_base_url": "._config",
    "configure_logging": "._logging",
    "present": "._optional_fields",
}

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "CallEvent",
    "CallHooks",
    "CallOptions",
    "CareCloud",
    "CareCloudError",
    "ClientConfig",
    "ConfigurationError",
    "CustomerAuth",
    "CustomerCareCloud",
    "CustomerCredentials",
    "Device",
    "DeviceSetup",
    "EnterpriseAuth",
    "EnterpriseCareCloud",
    "FileTokenStore",
    "Forbidden",
    "HTTPCache",
    "InvalidParam",
    "LocalRateBudget",
    "LoginEvent",
    "MemoryCacheStorage",
    "MemoryTokenStore",
    "MethodNotAllowed",
    "NetworkError",
    "NotFound",
    "NotPresent",
    "Page",
    "Paginator",
    "RateBudget",
    "RateLimited",
    "RawResponse",
    "RedisState",
    "RedisTokenStore",
    "RequestTimeout",
    "RequestValidationError",
    "ResponseParseError",
    "RetryEvent",
    "RetryPolicy",
    "RetryTransport",
    "ServerError",
    "ServiceUnavailable",
    "TokenStore",
    "TokenStoreError",
    "Unauthorized",
    "__version__",
    "build_base_url",
    "bypass_cache",
    "configure_logging",
    "present",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
