"""``CareCloud``: the one object users hold.

It owns one ``httpx.AsyncClient`` (pool, timeouts, retries below auth, the token lifecycle as an
``httpx.Auth``) and hands the generated endpoint functions a generated ``Client`` built on it.

    from carecloud_api.api.customers import get_customers

    async with CareCloud.enterprise(
        "demo.crmcarecloud.com",
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="pos@example.com",
        password=os.environ["CARECLOUD_PASSWORD"],
        time_zone="Europe/Prague",
    ) as cc:
        page = await cc.call(get_customers.call, count=10)   # typed: GetCustomers200Response
        async for customer in cc.paginate(get_customers, email="jane@example.com"):
            print(customer.customer_id)
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

import httpx
from carecloud_api import Client
from carecloud_api.errors import ErrorStatus, UnparseableResponse
from carecloud_api.parsing import NullNotAllowed, strict

from ._auth import CustomerAuth, CustomerCredentials, Device, DeviceSetup, EnterpriseAuth
from ._config import (
    DEFAULT_LANGUAGE,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    DEFAULT_VERSION,
    ClientConfig,
)
from ._errors import (
    CareCloudError,
    ConfigurationError,
    NetworkError,
    RequestTimeout,
    RequestValidationError,
    ResponseParseError,
    error_from_response,
    redact_url,
)
from ._retry import RetryPolicy, RetryTransport
from ._tokens import FileTokenStore, MemoryTokenStore, TokenStore
from ._version import __version__

if TYPE_CHECKING:
    from carecloud_api._catalog import Operation
    from carecloud_api.actions import Actions

    from ._pagination import Paginator

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
logger = logging.getLogger("carecloud_async")


@functools.cache
def _operations_by_route() -> dict[tuple[str, str], Operation]:
    from carecloud_api._catalog import OPERATIONS

    return {(op.method, op.path): op for op in OPERATIONS}


def operation_of(target: ModuleType | Callable[..., Any]) -> tuple[ModuleType, Operation]:
    """The generated endpoint module behind ``target`` and its catalog entry."""
    module = target if isinstance(target, ModuleType) else sys.modules.get(getattr(target, "__module__", ""))
    method, path = getattr(module, "METHOD", None), getattr(module, "PATH", None)
    if module is None or not isinstance(method, str) or not isinstance(path, str):
        raise RequestValidationError(
            f"{target!r} is not a generated CareCloud operation; pass an endpoint module such as "
            "carecloud_api.api.customers.get_customers or its .call function"
        )
    return module, _operations_by_route()[(method, path)]


class _UserClientTransport(httpx.AsyncBaseTransport):
    """Sends through a user's own ``httpx.AsyncClient`` (its pool, proxies, TLS, hooks), while our
    client keeps the base URL, auth and retries. The user's client is theirs to close."""

    def __init__(self, client: httpx.AsyncClient):
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True, auth=None, follow_redirects=False)


class CareCloud:
    """An authenticated async client for one CareCloud project and API (Enterprise or Customer).

    Create it with :meth:`enterprise`, :meth:`customer` or :meth:`from_env`, and use it as an async
    context manager (or call :meth:`aclose`). Every generated operation is reachable through
    :meth:`call`; lists through :meth:`paginate`; action methods through :attr:`actions`.
    """

    def __init__(
        self,
        config: ClientConfig,
        auth: EnterpriseAuth | CustomerAuth,
        *,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        strict_parsing: bool = False,
    ):
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        self.config = config
        self.auth = auth
        self.retry = retry or RetryPolicy()
        # True: a null where the spec does not allow one is a ResponseParseError (tests holding the
        # server to the spec); False (default): it parses as None. See carecloud_api.parsing.
        self.strict_parsing = strict_parsing
        if http_client is not None:
            inner: httpx.AsyncBaseTransport = _UserClientTransport(http_client)
        elif transport is not None:
            inner = transport
        else:
            # retries=0: the RetryTransport above is the only retry layer.
            inner = httpx.AsyncHTTPTransport(retries=0, limits=config.limits, http2=config.http2)
        headers = {
            "Accept": "application/json",
            "Accept-Language": config.language,
            "User-Agent": config.user_agent or f"carecloud-async/{__version__} httpx/{httpx.__version__}",
        }
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            auth=auth,
            headers=headers,
            timeout=config.timeout,
            transport=RetryTransport(inner, self.retry),
            follow_redirects=False,
            event_hooks={"response": [self._log_response]},
        )
        self._api = Client(base_url=str(config.base_url), raise_on_unexpected_status=False)
        self._api.set_async_httpx_client(self._http)
        self._closed = False

    # ------------------------------------------------------------------ constructors

    @classmethod
    def enterprise(
        cls,
        project_url: str,
        *,
        user_external_application_id: str,
        login: str,
        password: str,
        time_zone: str | tzinfo = "UTC",
        version: str = DEFAULT_VERSION,
        language: str = DEFAULT_LANGUAGE,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        strict_parsing: bool = False,
    ) -> CareCloud:
        """A client for the Enterprise API (POS, e-shop, BI, kiosks), logging in as a user.

        ``time_zone`` is the project's IANA zone: token validity (``valid_to``) comes in project
        local time without an offset.

            cc = CareCloud.enterprise("demo.crmcarecloud.com", user_external_application_id="...",
                                      login="pos@example.com", password=secret, time_zone="Europe/Prague")
        """
        for name, value in (
            ("user_external_application_id", user_external_application_id),
            ("login", login),
            ("password", password),
        ):
            if not value:
                raise ConfigurationError(f"{name} is required for the Enterprise API")
        config = ClientConfig.for_project(
            project_url, "enterprise", version=version, language=language, timeout=timeout, limits=limits, http2=http2
        )
        auth = EnterpriseAuth(
            config.base_url,
            user_external_application_id=user_external_application_id,
            login=login,
            password=password,
            time_zone=time_zone,
        )
        return cls(
            config, auth, retry=retry, http_client=http_client, transport=transport, strict_parsing=strict_parsing
        )

    @classmethod
    def customer(
        cls,
        project_url: str,
        *,
        external_application_id: str,
        device: Device,
        token_store: TokenStore | None = None,
        credentials: CustomerCredentials | None = None,
        setup: DeviceSetup | None = None,
        push_token: str | None = None,
        version: str = DEFAULT_VERSION,
        language: str = DEFAULT_LANGUAGE,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        strict_parsing: bool = False,
    ) -> CareCloud:
        """A client for the Customer API (mobile apps, microsites), as one device.

        The device token is created once (``POST /tokens``) and kept in ``token_store``: a new token
        for the same device invalidates the old one, so use a persistent store
        (:class:`FileTokenStore` or your own) in production. With ``credentials`` the customer is
        logged in before the first request; :attr:`customer_id` is then set.

            cc = CareCloud.customer("demo.crmcarecloud.com", external_application_id="...",
                                    device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
                                    token_store=FileTokenStore("~/.carecloud/tokens.json"))
        """
        if not external_application_id:
            raise ConfigurationError("external_application_id is required for the Customer API")
        config = ClientConfig.for_project(
            project_url, "customer", version=version, language=language, timeout=timeout, limits=limits, http2=http2
        )
        auth = CustomerAuth(
            config.base_url,
            external_application_id=external_application_id,
            device=device,
            token_store=token_store if token_store is not None else MemoryTokenStore(),
            credentials=credentials,
            setup=setup,
            push_token=push_token,
        )
        return cls(
            config, auth, retry=retry, http_client=http_client, transport=transport, strict_parsing=strict_parsing
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> CareCloud:
        """A client configured from ``CARECLOUD_*`` environment variables (see the README).

        ``CARECLOUD_INTERFACE`` is ``enterprise`` (default when ``CARECLOUD_LOGIN`` is set) or
        ``customer``. Keyword arguments override what the environment says.
        """
        env = dict(os.environ if environ is None else environ)

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(f"CARECLOUD_{name}")
            return value if value not in (None, "") else default

        project = get("PROJECT_URL")
        if project is None:
            raise ConfigurationError("CARECLOUD_PROJECT_URL is not set")
        interface = get("INTERFACE", "enterprise" if get("LOGIN") else "customer")
        common: dict[str, Any] = {
            "version": get("VERSION", DEFAULT_VERSION),
            "language": get("LANGUAGE", "en"),
        }
        if get("TIMEOUT"):
            try:
                common["timeout"] = float(get("TIMEOUT") or "")
            except ValueError:
                raise ConfigurationError("CARECLOUD_TIMEOUT must be a number of seconds") from None
        if get("MAX_ATTEMPTS"):
            try:
                common["retry"] = RetryPolicy(max_attempts=int(get("MAX_ATTEMPTS") or ""))
            except ValueError:
                raise ConfigurationError("CARECLOUD_MAX_ATTEMPTS must be a whole number") from None
        if interface == "enterprise":
            kwargs: dict[str, Any] = {
                "user_external_application_id": get("USER_EXTERNAL_APPLICATION_ID"),
                "login": get("LOGIN"),
                "password": get("PASSWORD"),
                "time_zone": get("TIME_ZONE", "UTC"),
                **common,
                **overrides,
            }
            missing = [k for k in ("user_external_application_id", "login", "password") if not kwargs[k]]
            if missing:
                names = ", ".join("CARECLOUD_" + m.upper() for m in missing)
                raise ConfigurationError(f"missing {names} for the Enterprise API")
            return cls.enterprise(project, **kwargs)
        if interface == "customer":
            device_id = get("DEVICE_ID")
            if "device" not in overrides and not device_id:
                raise ConfigurationError("missing CARECLOUD_DEVICE_ID for the Customer API")
            kwargs = {"external_application_id": get("EXTERNAL_APPLICATION_ID"), **common}
            if device_id:
                kwargs["device"] = Device(
                    device_id=device_id,
                    device_system=get("DEVICE_SYSTEM", "server") or "server",
                    device_name=get("DEVICE_NAME", "carecloud-async") or "carecloud-async",
                    device_type=get("DEVICE_TYPE", "server") or "server",
                )
            token_file = get("TOKEN_FILE")
            if token_file:
                kwargs["token_store"] = FileTokenStore(Path(token_file).expanduser())
            login_type, login_value, customer_password = (
                get("CUSTOMER_LOGIN_TYPE"),
                get("CUSTOMER_LOGIN_VALUE"),
                get("CUSTOMER_PASSWORD"),
            )
            if login_value and customer_password:
                kwargs["credentials"] = CustomerCredentials(
                    login_type=login_type or "email", login_value=login_value, password=customer_password
                )
            kwargs.update(overrides)
            if not kwargs.get("external_application_id"):
                raise ConfigurationError("missing CARECLOUD_EXTERNAL_APPLICATION_ID for the Customer API")
            return cls.customer(project, **kwargs)
        raise ConfigurationError(f"CARECLOUD_INTERFACE must be 'enterprise' or 'customer', not {interface!r}")

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> CareCloud:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent). A user's own ``http_client`` is left open."""
        if not self._closed:
            self._closed = True
            await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    async def authenticate(self) -> None:
        """Log in (Enterprise) or obtain the device token (Customer) now, instead of on the first
        call: useful at application start-up to fail fast on wrong credentials.

            async with CareCloud.from_env() as cc:
                await cc.authenticate()   # AuthenticationError here if the password is wrong
        """
        if self._closed:
            raise CareCloudError("this CareCloud client is closed")
        with _network_errors():
            await self.auth.authenticate(self._http)

    def __repr__(self) -> str:
        return f"CareCloud(interface={self.config.interface!r}, base_url={str(self.config.base_url)!r})"

    # ------------------------------------------------------------------ calls

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying authenticated ``httpx.AsyncClient`` (base URL set), for raw requests."""
        return self._http

    @property
    def api_client(self) -> Client:
        """The generated ``Client`` on our httpx client, for the generated functions directly."""
        return self._api

    def check_operation(self, operation: Operation) -> None:
        """Refuse, before sending, an operation the other API alone serves."""
        if self.config.interface not in operation.interfaces:
            only = " and ".join(f"{name.capitalize()} API" for name in operation.interfaces)
            raise RequestValidationError(
                f"{operation.method} {operation.path} is available only in the {only}; "
                f"this client uses the {self.config.interface.capitalize()} API"
            )

    @overload
    async def call(
        self, operation: Callable[Concatenate[Client, P], Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R: ...

    @overload
    async def call(self, operation: ModuleType, /, *args: Any, **kwargs: Any) -> Any: ...

    async def call(self, operation: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call one generated operation and return its success model; raise a typed error otherwise.

        ``operation`` is a generated endpoint's ``call`` function (fully typed) or its module:

            from carecloud_api.api.customers import get_customer, get_customers
            page = await cc.call(get_customers.call, count=10, email="jane@example.com")
            customer = await cc.call(get_customer, "84b5e55448fbd6c0b22b4d")

        Raises :class:`RequestValidationError` before sending for unknown or missing arguments and
        for an operation the other API serves; :class:`APIError` subclasses for non-2xx answers;
        :class:`NetworkError` / :class:`RequestTimeout` when the server could not be reached.
        """
        module, entry = operation_of(operation)
        function = operation if not isinstance(operation, ModuleType) else module.call
        self.check_operation(entry)
        try:
            inspect.signature(function).bind(self._api, *args, **kwargs)
        except TypeError as exc:
            accepted = [name for name in inspect.signature(function).parameters if name != "client"]
            raise RequestValidationError(
                f"{entry.method} {entry.path}: {exc}; parameters are: {', '.join(accepted)}"
            ) from None
        return await self.send_call(function, *args, **kwargs)

    async def send_call(self, function: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Run a generated ``call`` function, mapping failures to carecloud_async errors."""
        if self._closed:
            raise CareCloudError("this CareCloud client is closed")
        try:
            with _network_errors(), strict() if self.strict_parsing else contextlib.nullcontext():
                return await function(self._api, *args, **kwargs)
        except ErrorStatus as exc:
            raise error_from_response(exc.response) from None
        except UnparseableResponse as exc:
            request = exc.response.request
            problem = f"missing field {exc.error}" if isinstance(exc.error, KeyError) else type(exc.error).__name__
            if isinstance(exc.error, NullNotAllowed):  # names the field only, never a value
                problem = str(exc.error)
            raise ResponseParseError(
                f"{exc.response.status_code} answer to {request.method} {redact_url(request.url)} does not fit "
                f"{getattr(function, '__module__', 'the model')}: {problem}",
                status_code=exc.response.status_code,
                method=request.method,
                url=redact_url(request.url),
                response=exc.response,
            ) from exc.error

    @overload
    def paginate(
        self,
        operation: ModuleType | Callable[..., Awaitable[Any]],
        /,
        *,
        item_type: type[T],
        page_size: int = 100,
        max_items: int | None = None,
        concurrency: int = 1,
        **params: Any,
    ) -> Paginator[T]: ...

    @overload
    def paginate(
        self,
        operation: ModuleType | Callable[..., Awaitable[Any]],
        /,
        *,
        item_type: None = None,
        page_size: int = 100,
        max_items: int | None = None,
        concurrency: int = 1,
        **params: Any,
    ) -> Paginator[Any]: ...

    def paginate(
        self,
        operation: ModuleType | Callable[..., Awaitable[Any]],
        /,
        *,
        item_type: type[T] | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        concurrency: int = 1,
        **params: Any,
    ) -> Paginator[Any]:
        """Iterate over every item of a list operation (``count``/``offset``/``total_items``).

            async for customer in cc.paginate(get_customers, email="jane@example.com"):
                ...
            async for page in cc.paginate(get_rewards, page_size=500).pages():
                print(page.offset, len(page.items), page.total_items)

        ``item_type=Customer`` types the items for mypy and pyright (``Paginator[Customer]``); it
        must be the class the list declares (checked before sending). See :class:`Paginator` for
        ``max_items``, ``page_size`` and concurrent page fetching.
        """
        from ._pagination import Paginator

        return Paginator(
            self,
            operation,
            page_size=page_size,
            max_items=max_items,
            concurrency=concurrency,
            item_type=item_type,
            **params,
        )

    @cached_property
    def actions(self) -> Actions:
        """Every ``/actions/`` operation of the spec, grouped by resource.

        await cc.actions.customers.verify_credentials(body=...)
        """
        from carecloud_api.actions import Actions

        return Actions(self.call)

    # ------------------------------------------------------------------ customer API

    def _customer_auth(self) -> CustomerAuth:
        if not isinstance(self.auth, CustomerAuth):
            raise RequestValidationError("customer login is part of the Customer API; use CareCloud.customer(...)")
        return self.auth

    @property
    def customer_id(self) -> str | None:
        """The logged-in customer's id (Customer API), or None."""
        return self.auth.customer_id if isinstance(self.auth, CustomerAuth) else None

    async def login_customer(self, credentials: CustomerCredentials) -> str:
        """Log a customer in on this device token; returns and keeps the customer id."""
        return await self._customer_auth().login_customer(self._http, credentials)

    async def logout_customer(self) -> None:
        """Log the customer out of this device token (the token itself stays valid)."""
        await self._customer_auth().logout_customer(self._http)

    # ------------------------------------------------------------------ internals

    async def _log_response(self, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %s", response.request.method, redact_url(response.request.url), response.status_code)


@contextlib.contextmanager
def _network_errors() -> Iterator[None]:
    """httpx's transport failures (after the retries) as carecloud_async errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RequestTimeout(_describe(exc)) from exc
    except httpx.TransportError as exc:
        raise NetworkError(_describe(exc)) from exc


def _describe(exc: httpx.HTTPError) -> str:
    try:
        request = exc.request
    except RuntimeError:
        return type(exc).__name__
    return f"{type(exc).__name__} on {request.method} {redact_url(request.url)}"
