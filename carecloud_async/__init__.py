"""carecloud-async: the async Python client for the CareCloud REST APIs.

    from carecloud_async import CareCloud
    from carecloud_api.api.customers import get_customers

    async with CareCloud.from_env() as cc:
        async for customer in cc.paginate(get_customers, email="jane@example.com"):
            print(customer.customer_id)

The generated, low-level package is ``carecloud_api`` (models in ``carecloud_api.models``,
one module per operation in ``carecloud_api.api.<tag>``); this package adds the token lifecycle
of both APIs, retries, typed errors, pagination and workflow helpers.
"""

from ._auth import CustomerAuth, CustomerCredentials, Device, DeviceSetup, EnterpriseAuth
from ._client import CareCloud
from ._config import ClientConfig, build_base_url
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
    RateLimited,
    RequestTimeout,
    RequestValidationError,
    ResponseParseError,
    ServerError,
    ServiceUnavailable,
    TokenStoreError,
    Unauthorized,
)
from ._pagination import Page, Paginator
from ._retry import RetryPolicy, RetryTransport
from ._tokens import FileTokenStore, MemoryTokenStore, TokenStore
from ._version import __version__

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "CareCloud",
    "CareCloudError",
    "ClientConfig",
    "ConfigurationError",
    "CustomerAuth",
    "CustomerCredentials",
    "Device",
    "DeviceSetup",
    "EnterpriseAuth",
    "FileTokenStore",
    "Forbidden",
    "InvalidParam",
    "MemoryTokenStore",
    "MethodNotAllowed",
    "NetworkError",
    "NotFound",
    "Page",
    "Paginator",
    "RateLimited",
    "RequestTimeout",
    "RequestValidationError",
    "ResponseParseError",
    "RetryPolicy",
    "RetryTransport",
    "ServerError",
    "ServiceUnavailable",
    "TokenStore",
    "TokenStoreError",
    "Unauthorized",
    "__version__",
    "build_base_url",
]
