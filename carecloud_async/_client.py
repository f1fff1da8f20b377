"""``CareCloud``: the one object users hold.

It owns one ``httpx.AsyncClient`` (pool, timeouts, retries below auth, the token lifecycle as an
``httpx.Auth``) and hands the generated endpoint functions a generated ``Client`` built on it.
The resource tree (``cc.customers.get(...)``, generated into ``_resources/``) is composed in.

    async with CareCloud.enterprise(
        "demo.crmcarecloud.com",
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="pos@example.com",
        password=os.environ["CARECLOUD_PASSWORD"],
        time_zone="Europe/Prague",
    ) as cc:
        page = await cc.customers.list(page_size=10).first_page()   # typed: Page[Customer]
        async for customer in cc.customers.list(email="jane@example.com"):
            print(customer.customer_id)
        page = await cc.call(get_customers.call, count=10)    # the escape hatch: any generated function
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

import httpx
from carecloud_api import Client
from carecloud_api.parsing import strict

from ._call_options import (
    CallOptions,
    apply_call_options,
    enter_call_options,
    leave_call_options,
    using_call_options,
)
from ._config import (
    DEFAULT_LANGUAGE,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    DEFAULT_VERSION,
    ClientConfig,
)
from ._environment import choose_interface, retry_policy_from_env
from ._errors import (
    CareCloudError,
    ConfigurationError,
    RequestValidationError,
    redact_url,
)
from ._event_loops import PerLoop
from ._logging import configure_logging_from_env
from ._observe import Observer
from ._operations import bind_arguments, call_target, check_interface, network_errors, send_operation
from ._pool import DEFAULT_CLOSE_TIMEOUT, PoolTransport
from ._ratelimit import LocalRateBudget, RateBudget
from ._raw_responses import RawResponse, capturing_response, record_response
from ._resource_base import Resource
from ._resources import CustomerResources, EnterpriseResources
from ._retry import RetryPolicy
from ._stack import build_stack
from ._tokens import BasicTokenStore, FileTokenStore, TokenStore
from ._version import __version__

if TYPE_CHECKING:
    from carecloud_api._catalog import Operation
    from carecloud_api.actions import Actions

    # The auths and pagination are imported where first used: a client needs one of the two
    # auths, and pagination only when it paginates, so importing the client loads none of them.
    from ._cache import HTTPCache
    from ._customer_auth import CustomerAuth, CustomerCredentials, Device, DeviceSetup
    from ._enterprise_auth import EnterpriseAuth
    from ._hooks import CallHooks
    from ._pagination import Paginator
    from ._redis import RedisState


P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
_C = TypeVar("_C", bound="CareCloud")
logger = logging.getLogger("carecloud_async")


_ONE_LOOP_WITH_HTTP_CLIENT = (
    "one CareCloud client per event loop when it sends through your own http_client: an "
    "httpx.AsyncClient's connections belong to the event loop that opened them. Create the CareCloud "
    "client (and your httpx.AsyncClient) inside each asyncio.run or thread, or leave out http_client "
    "and CareCloud keeps a connection pool per event loop itself"
)


@dataclass(frozen=True)
class _Lane:
    """What one event loop uses: an httpx client on its own pool, and the generated Client on it."""

    http: httpx.AsyncClient
    api: Client


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
        cache: bool | HTTPCache = False,
        dedupe: bool | None = None,
        rate_limit: float | RateBudget | None = None,
        redis: RedisState | None = None,
        strict_parsing: bool = False,
        tracing: bool = True,
        hooks: Sequence[CallHooks] = (),
    ):
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        configure_logging_from_env()  # CARECLOUD_LOG, read once per process
        self.config = config
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self._observer = Observer.for_client(config, tracing=tracing, hooks=hooks)  # spans, metrics, hooks
        #: Where GET answers are cached (``cache=``), or None when caching is off.
        self.cache: HTTPCache | None = _http_cache(cache, redis)
        self._dedupe = self.cache is not None if dedupe is None else dedupe
        self._rate_budget = _rate_budget(rate_limit, redis, config)
        self._transport = transport
        # True: a null where the spec does not allow one is a ResponseParseError (tests holding the
        # server to the spec); False (default): it parses as None. See carecloud_api.parsing.
        self.strict_parsing = strict_parsing
        # The connection pool belongs to the event loop that opened its connections: each loop
        # the client is used in (sequential asyncio.run calls, threads) gets its own lane (pool,
        # httpx client, generated Client), while auth (token, lock) and configuration are shared.
        # A user's own http_client or transport cannot be remade: with http_client the client
        # stays in one loop; a transport is shared by every lane (the user's to make loop-safe).
        # The cache and the rate budget are shared by every lane too.
        if http_client is not None:
            home = self._new_lane(_UserClientTransport(http_client))
            self._lanes: PerLoop[_Lane] = PerLoop(home, make=None, refusal=_ONE_LOOP_WITH_HTTP_CLIENT)
        else:
            self._lanes = PerLoop(self._new_lane(), make=self._new_lane, refusal="")
        self._closed = False
        self._root = self  # views (with_options) share the root's pools and closed state
        self._options = CallOptions()
        self._set_options: CallOptions | None = None  # what each call sets: None for no options

    def _new_lane(self, inner: httpx.AsyncBaseTransport | None = None) -> _Lane:
        if inner is None:
            # httpx's pool (its retries off: the RetryTransport above is the only retry layer)
            # behind a bounded queue that keeps cancelled calls from wedging it (see _pool.py).
            inner = self._transport or PoolTransport(self.config.limits, http2=self.config.http2)
        inner = self._observer.network(inner)  # a span per attempt, when tracing
        headers = {
            "Accept": "application/json",
            "Accept-Language": self.config.language,
            "User-Agent": self.config.user_agent or f"carecloud-async/{__version__} httpx/{httpx.__version__}",
        }
        http = httpx.AsyncClient(
            base_url=self.config.base_url,
            auth=self.auth,
            headers=headers,
            timeout=self.config.timeout,
            transport=self._observer.outer(
                build_stack(
                    inner,
                    retry=self.retry,
                    identity=self.auth.identity,
                    cache=self.cache,
                    dedupe=self._dedupe,
                    rate_budget=self._rate_budget,
                )
            ),
            follow_redirects=False,
            event_hooks={"request": [self._apply_call_options], "response": [self._on_response]},
        )
        api = Client(base_url=str(self.config.base_url), raise_on_unexpected_status=False)
        api.set_async_httpx_client(http)
        return _Lane(http, api)

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
        token_store: TokenStore | BasicTokenStore | None = None,
        version: str = DEFAULT_VERSION,
        language: str = DEFAULT_LANGUAGE,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: bool | HTTPCache = False,
        dedupe: bool | None = None,
        rate_limit: float | RateBudget | None = None,
        redis: RedisState | None = None,
        strict_parsing: bool = False,
        tracing: bool = True,
        hooks: Sequence[CallHooks] = (),
    ) -> EnterpriseCareCloud:
        """A client for the Enterprise API (POS, e-shop, BI, kiosks), logging in as a user.

        ``time_zone`` is the project's IANA zone: token validity (``valid_to``) comes in project
        local time without an offset.

            cc = CareCloud.enterprise("demo.crmcarecloud.com", user_external_application_id="...",
                                      login="pos@example.com", password=secret, time_zone="Europe/Prague")

        ``token_store`` (or ``redis``) shares the bearer token with other processes: one login for
        all of them. Sharing work (both APIs): ``cache=True`` caches GET answers as their
        ``Cache-Control`` allows, per identity and language (an :class:`HTTPCache` may be shared
        by several clients); ``dedupe`` merges identical concurrent GETs (on with the cache);
        ``rate_limit`` caps requests per second; ``redis=RedisState(...)`` puts the token, the
        cache and the rate budget on Redis for every replica. See the caching guide
        (docs/guide/caching.md). ``tracing=False`` turns OpenTelemetry off (spans and metrics; it is then never
        imported); ``hooks`` are :class:`CallHooks` told of every call, retry and login (both APIs;
        see the guide "Tracing and metrics").
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
        from ._enterprise_auth import EnterpriseAuth

        auth = EnterpriseAuth(
            config.base_url,
            user_external_application_id=user_external_application_id,
            login=login,
            password=password,
            time_zone=time_zone,
            token_store=_token_store(token_store, redis),
        )
        return EnterpriseCareCloud(
            config,
            auth,
            retry=retry,
            http_client=http_client,
            transport=transport,
            cache=cache,
            dedupe=dedupe,
            rate_limit=rate_limit,
            redis=redis,
            strict_parsing=strict_parsing,
            tracing=tracing,
            hooks=hooks,
        )

    @classmethod
    def customer(
        cls,
        project_url: str,
        *,
        external_application_id: str,
        device: Device,
        token_store: TokenStore | BasicTokenStore | None = None,
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
        cache: bool | HTTPCache = False,
        dedupe: bool | None = None,
        rate_limit: float | RateBudget | None = None,
        redis: RedisState | None = None,
        strict_parsing: bool = False,
        tracing: bool = True,
        hooks: Sequence[CallHooks] = (),
    ) -> CustomerCareCloud:
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
        from ._customer_auth import CustomerAuth

        auth = CustomerAuth(
            config.base_url,
            external_application_id=external_application_id,
            device=device,
            token_store=_token_store(token_store, redis),
            credentials=credentials,
            setup=setup,
            push_token=push_token,
        )
        return CustomerCareCloud(
            config,
            auth,
            retry=retry,
            http_client=http_client,
            transport=transport,
            cache=cache,
            dedupe=dedupe,
            rate_limit=rate_limit,
            redis=redis,
            strict_parsing=strict_parsing,
            tracing=tracing,
            hooks=hooks,
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> EnterpriseCareCloud | CustomerCareCloud:
        """A client configured from ``CARECLOUD_*`` environment variables (see docs/guide/configuration.md).

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
        interface, why = choose_interface(env)
        logger.debug("from_env: the %s API (%s)", interface, why)
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
            common["retry"] = retry_policy_from_env(get("MAX_ATTEMPTS") or "")
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
                raise ConfigurationError(f"missing {names} for the Enterprise API ({why})")
            return cls.enterprise(project, **kwargs)
        if interface == "customer":
            from ._customer_auth import CustomerCredentials, Device

            device_id = get("DEVICE_ID")
            if "device" not in overrides and not device_id:
                raise ConfigurationError(f"missing CARECLOUD_DEVICE_ID for the Customer API ({why})")
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
                raise ConfigurationError(f"missing CARECLOUD_EXTERNAL_APPLICATION_ID for the Customer API ({why})")
            return cls.customer(project, **kwargs)
        raise ConfigurationError(f"CARECLOUD_INTERFACE must be 'enterprise' or 'customer', not {interface!r}")

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools (idempotent). A user's own ``http_client`` is left open.

        Pools of other event loops still running (other threads) are closed in their loop; those
        of loops that have ended hold only dead connections and are dropped. Closing a view
        (:meth:`with_options`) closes the client it is a view of.
        """
        if self._root is not self:
            await self._root.aclose()
            return
        if self._closed:
            return
        self._closed = True
        import asyncio  # already loaded: this runs in an event loop

        running = asyncio.get_running_loop()
        for loop, lane in self._lanes.values():
            if loop is None or loop is running:
                await lane.http.aclose()
            elif not loop.is_closed() and loop.is_running():
                closing = asyncio.run_coroutine_threadsafe(lane.http.aclose(), loop)
                with contextlib.suppress(Exception):
                    # A pool waits for its calls in flight before it closes (up to its close timeout).
                    await asyncio.wait_for(asyncio.wrap_future(closing), timeout=DEFAULT_CLOSE_TIMEOUT + 5)

    @property
    def closed(self) -> bool:
        return self._root._closed

    def with_options(
        self: _C,
        *,
        timeout: httpx.Timeout | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        language: str | None = None,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        cache: bool | None = None,
        hooks: Sequence[CallHooks] = (),
    ) -> _C:
        """A view of this client whose calls use other options; this client is left unchanged.

        The view shares the connection pool, the token and its lifecycle; only the calls made
        through it (:meth:`call`, :meth:`paginate`, :attr:`actions`, workflows given the view)
        carry its options, even when calls of several views run concurrently. Options left out
        keep the client's (or, for a view of a view, the first view's) value.

            fast = cc.with_options(timeout=5, max_attempts=1)        # fail fast, no retries
            page = await fast.call(get_customers.call, count=10)
            czech = cc.with_options(language="cs", extra_headers={"X-Correlation-Id": request_id})
            async for reward in czech.paginate(get_rewards):
                ...

        ``timeout`` is seconds or an ``httpx.Timeout``; ``extra_headers`` are added to every
        request of the call (also the login or token request it may cause) and cannot set
        ``Authorization``; ``language`` is the ``Accept-Language`` sent (an ``accept_language``
        argument of the call wins); ``retry`` replaces the client's :class:`RetryPolicy` and
        ``max_attempts`` (1 = no retries) changes just that; ``cache=False`` makes the calls skip
        the HTTP cache and in-flight dedupe (a fresh answer from the server). ``cc.http`` is not
        affected.

            live = cc.with_options(cache=False)
            points = await live.call(get_customer.call, customer_id)   # never from the cache

        ``hooks`` (:class:`CallHooks`) run for the view's calls, after the client's own.
        """
        options = self._options.merged(
            CallOptions(
                timeout=timeout,
                extra_headers=extra_headers or (),
                language=language,
                retry=retry,
                max_attempts=max_attempts,
                cache=cache,
            )
        )
        view = copy.copy(self)
        # Bound to this object (cc.actions, the resource tree's groups): the view makes its own.
        for name in [name for name, value in view.__dict__.items() if name == "actions" or isinstance(value, Resource)]:
            del view.__dict__[name]
        view._options = options
        view._set_options = options if options else None
        view._observer = self._observer.with_hooks(hooks)  # its calls run these hooks after the client's
        return view

    @property
    def options(self) -> CallOptions:
        """The per-call options of this view (empty for the client itself)."""
        return self._options

    async def authenticate(self) -> None:
        """Log in (Enterprise) or obtain the device token (Customer) now, instead of on the first
        call: useful at application start-up to fail fast on wrong credentials.

            async with CareCloud.from_env() as cc:
                await cc.authenticate()   # AuthenticationError here if the password is wrong
        """
        if self.closed:
            raise CareCloudError("this CareCloud client is closed")
        with network_errors(), using_call_options(self._options):
            await self.auth.authenticate(self._lanes.current().http)

    def __repr__(self) -> str:
        options = f", options={self._options!r}" if self._options else ""
        return f"CareCloud(interface={self.config.interface!r}, base_url={str(self.config.base_url)!r}{options})"

    # ------------------------------------------------------------------ calls

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying authenticated ``httpx.AsyncClient`` (base URL set), for raw requests:
        the running event loop's own (each loop has its own connection pool)."""
        return self._lanes.current().http

    @property
    def api_client(self) -> Client:
        """The generated ``Client`` on our httpx client, for the generated functions directly
        (the running event loop's own)."""
        return self._lanes.current().api

    def check_operation(self, operation: Operation) -> None:
        """Refuse, before sending, an operation the other API alone serves."""
        check_interface(self.config.interface, operation)

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
        function, entry = call_target(operation)
        self.check_operation(entry)
        bind_arguments(entry, function, *args, **kwargs)
        if self._observer.active:  # hooks, or OpenTelemetry installed and tracing on
            return await self._observer.call(entry, self.send_call, function, *args, **kwargs)
        return await self.send_call(function, *args, **kwargs)

    @overload
    async def call_raw(
        self, operation: Callable[Concatenate[Client, P], Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[R]: ...

    @overload
    async def call_raw(self, operation: ModuleType, /, *args: Any, **kwargs: Any) -> RawResponse[Any]: ...

    async def call_raw(self, operation: Any, /, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        """Like :meth:`call`, and also the HTTP answer: status, headers (``Cache-Control``, a request
        id) and the parsed model together, from the one request the call makes.

            raw = await cc.call_raw(get_customers.call, count=10)   # RawResponse[GetCustomers200Response]
            print(raw.status_code, raw.request_id, raw.max_age)
            customers = raw.parsed.data.customers

        Errors are raised as by :meth:`call` (an ``APIError`` carries its ``response`` too).
        """
        with capturing_response() as slot:
            parsed = await self.call(operation, *args, **kwargs)
        if slot.response is None:  # pragma: no cover - the response hook sees every answer
            raise CareCloudError("the call's HTTP response was not seen by the client's response hook")
        return RawResponse(parsed, slot.response)

    async def send_call(self, function: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Run a generated ``call`` function, mapping failures to carecloud_async errors."""
        if self._root._closed:
            raise CareCloudError("this CareCloud client is closed")
        token = enter_call_options(self._set_options)
        try:
            if self._root.strict_parsing:
                with strict():
                    return await send_operation(self._lanes.current().api, function, *args, **kwargs)
            return await send_operation(self._lanes.current().api, function, *args, **kwargs)
        finally:
            leave_call_options(token)

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
        from ._customer_auth import CustomerAuth

        if not isinstance(self.auth, CustomerAuth):
            raise RequestValidationError("customer login is part of the Customer API; use CareCloud.customer(...)")
        return self.auth

    @property
    def customer_id(self) -> str | None:
        """The logged-in customer's id (Customer API), or None."""
        from ._customer_auth import CustomerAuth

        return self.auth.customer_id if isinstance(self.auth, CustomerAuth) else None

    async def login_customer(self, credentials: CustomerCredentials) -> str:
        """Log a customer in on this device token; returns and keeps the customer id.

        Raises :class:`AuthenticationError` when refused, :class:`NetworkError` /
        :class:`RequestTimeout` when the server could not be reached or did not answer in time."""
        with network_errors(), using_call_options(self._options):
            return await self._customer_auth().login_customer(self.http, credentials)

    async def logout_customer(self) -> None:
        """Log the customer out of this device token (the token itself stays valid).

        Raises :class:`APIError` for an error answer (a 401 counts as logged out),
        :class:`NetworkError` / :class:`RequestTimeout` when the server could not be reached or did
        not answer in time."""
        with network_errors(), using_call_options(self._options):
            await self._customer_auth().logout_customer(self.http)

    # ------------------------------------------------------------------ internals

    async def _apply_call_options(self, request: httpx.Request) -> None:
        apply_call_options(request, default_language=self.config.language, default_retry=self.retry)

    async def _on_response(self, response: httpx.Response) -> None:
        record_response(response)  # for call_raw
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %s", response.request.method, redact_url(response.request.url), response.status_code)


class EnterpriseCareCloud(EnterpriseResources, CareCloud):
    """A client of the Enterprise API (``CareCloud.enterprise``): :class:`CareCloud` with the
    Enterprise API's resource tree (``cc.customers.list()``, ``cc.purchases.send_purchase(...)``)."""


class CustomerCareCloud(CustomerResources, CareCloud):
    """A client of the Customer API (``CareCloud.customer``): :class:`CareCloud` with the Customer
    API's resource tree (``cc.customers.get(cc.customer_id)``, ``cc.tokens.logout(...)``)."""


def _http_cache(cache: bool | HTTPCache, redis: RedisState | None) -> HTTPCache | None:
    """``cache=`` as a cache object: True means a new one (on Redis when ``redis`` is given)."""
    if cache is False:
        return None
    if cache is True:
        if redis is not None:
            return redis.http_cache()
        from ._cache import HTTPCache

        return HTTPCache()
    from ._cache import HTTPCache

    if not isinstance(cache, HTTPCache):
        raise ConfigurationError(f"cache must be True, False or a carecloud_async.HTTPCache, got {cache!r}")
    return cache


def _rate_budget(
    rate_limit: float | RateBudget | None, redis: RedisState | None, config: ClientConfig
) -> RateBudget | None:
    """``rate_limit=`` as a budget: a number is requests per second for this client, or for every
    client of the project sharing ``redis``."""
    if rate_limit is None or isinstance(rate_limit, RateBudget):
        return rate_limit
    if redis is not None:
        return redis.rate_budget(f"{config.base_url.host}/{config.interface}", rate_limit)
    return LocalRateBudget(rate_limit)


def _token_store(
    token_store: TokenStore | BasicTokenStore | None, redis: RedisState | None
) -> TokenStore | BasicTokenStore | None:
    """The store a factory hands its auth: the caller's, else the Redis one, else None (the auth's
    own default: the Enterprise token kept in the auth, a MemoryTokenStore for a Customer device)."""
    if token_store is not None:
        return token_store
    return redis.token_store() if redis is not None else None
