"""The Customer API token lifecycle: one device token kept in a token store, as an ``httpx.Auth``.

One device token (``POST /tokens``), created once and kept in a token store, since a new token for
the same device invalidates the old one; optionally a customer logged in on it
(``POST /tokens/{token_id}/actions/login``).

    auth = CustomerAuth(
        "https://demo.crmcarecloud.com/webservice/rest-api/customer-interface/v1.0",
        external_application_id="82de12eb8b138791e678fd11c3",
        device=Device(device_id="kiosk-7", device_system="Linux", device_name="Kiosk 7", device_type="kiosk"),
        token_store=FileTokenStore("~/.carecloud/tokens.json"),
        credentials=CustomerCredentials("email", "jane@example.com", os.environ["JANE_PASSWORD"]),
    )
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import httpx

from ._auth import (
    AuthSteps,
    TokenAuth,
    endpoint_url,
    inherited_headers,
    logger,
    nonempty_text,
    refusal,
    required_text,
    response_data,
    token_text,
)
from ._errors import AuthenticationError, ConfigurationError, error_from_response, redact_url
from ._identity import bearer_of, customer_identity
from ._redaction import install_log_redaction
from ._tokens import BasicTokenStore, MemoryTokenStore, TokenStore, customer_token_key, store_lock

__all__ = ["CustomerAuth", "CustomerCredentials", "Device", "DeviceSetup"]


@dataclass(frozen=True)
class Device:
    """The device (or app installation) a Customer API token belongs to (spec schema ``Device``).

    All four fields are required by ``POST /tokens``; ``device_id`` identifies the device: one
    token is kept per project, external application and ``device_id``.

        Device(device_id="00000000-89ABCDEF-01234567-89ABCDEF", device_system="iOS",
               device_name="Jane's iPhone", device_type="iPhone")
    """

    device_id: str
    device_system: str
    device_name: str
    device_type: str

    def __post_init__(self) -> None:
        for name in ("device_id", "device_system", "device_name", "device_type"):
            required_text(getattr(self, name), f"Device.{name}")


@dataclass(frozen=True)
class DeviceSetup:
    """The installation's settings sent with ``POST /tokens`` (spec schema ``Setup``).

    DeviceSetup(language_id="cs", allowed_gps=False, allowed_notifications=True)
    """

    language_id: str = "en"
    allowed_gps: bool = False
    allowed_notifications: bool = False


@dataclass(frozen=True)
class CustomerCredentials:
    """A customer's login for ``POST /tokens/{token_id}/actions/login``; the repr hides the password.

    ``login_type`` is ``"email"``, ``"phone"`` or ``"card"`` (``login_value`` is then the email,
    phone number or card number).

        CustomerCredentials("email", "jane@example.com", password)
    """

    login_type: str
    login_value: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("login_type", "login_value", "password"):
            required_text(getattr(self, name), f"CustomerCredentials.{name}")


class CustomerAuth(TokenAuth):
    """Customer API device token as an ``httpx.Auth`` (async only).

    On first use the token id is loaded from ``token_store`` (key: project host, external
    application, device id); only if none is stored is one created (``POST {base_url}/tokens``)
    and saved. Load, create and save happen under the store's :meth:`~TokenStore.lock` (across
    processes for :class:`FileTokenStore`), so clients starting at once on one store make one
    token. Every request carries ``Authorization: Bearer <token_id>``. On any 401 (of a request or
    of the customer login) the store is read again, under its lock (another process may have
    replaced the token): a different stored id is adopted, otherwise one new token is created and
    saved; the request is replayed once, and a second 401 is returned to the caller. A store
    without ``lock`` (:class:`BasicTokenStore`) is locked within this process only.

    With ``credentials`` the customer is logged in on the token before the first request, and
    again whenever the token had to be replaced; :attr:`customer_id` is then set. A refused
    token creation or customer login raises :class:`~carecloud_async.AuthenticationError`.

        auth = CustomerAuth(base_url, external_application_id="82de12eb8b138791e678fd11c3",
                            device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
                            token_store=FileTokenStore("~/.carecloud/tokens.json"))
        async with httpx.AsyncClient(base_url=base_url, auth=auth) as client:
            jane = CustomerCredentials("email", "jane@example.com", pw)
            customer_id = await auth.login_customer(client, jane)
            ...
            await auth.logout_customer(client)

    Note that a customer login made on a stored token outlives the process; call
    :meth:`logout_customer` to end it.
    """

    def __init__(
        self,
        base_url: httpx.URL | str,
        *,
        external_application_id: str,
        device: Device,
        token_store: TokenStore | BasicTokenStore | None = None,
        credentials: CustomerCredentials | None = None,
        setup: DeviceSetup | None = None,
        push_token: str | None = None,
    ) -> None:
        super().__init__(base_url)
        if not isinstance(device, Device):
            raise ConfigurationError("device must be a carecloud_async.Device")
        self._application_id = required_text(external_application_id, "external_application_id")
        self._device = device
        self._setup = setup if setup is not None else DeviceSetup()
        self._push_token = push_token or None
        self._store: TokenStore | BasicTokenStore = token_store if token_store is not None else MemoryTokenStore()
        self._key = customer_token_key(self._base_url, self._application_id, device.device_id)
        self._credentials = credentials
        self._token_id: str | None = None
        self._customer_token: str | None = None  # the token id the customer logged in on
        self._customer_id: str | None = None
        # Identity changes (customer login, logout, token replacement) are barriers for the cache
        # and in-flight dedupe: see _identity_change and identity().
        self._session = 0  # +1 when a change starts and when it ends
        self._changing = 0  # changes running now
        self._session_unknown = False  # a change failed midway: the server's session is unknown
        install_log_redaction()

    # -- read-only state

    @property
    def device(self) -> Device:
        """The device the token belongs to."""
        return self._device

    @property
    def token_store(self) -> TokenStore | BasicTokenStore:
        """Where the token id is kept."""
        return self._store

    @property
    def store_key(self) -> str:
        """The key of this device's token in :attr:`token_store`."""
        return self._key

    @property
    def has_token(self) -> bool:
        """Whether a token id is held in memory (loaded or created)."""
        return self._token_id is not None

    @property
    def token_id(self) -> str | None:
        """The device token id in use (None before the first request or :meth:`authenticate`).

        A secret: it authorises every Customer API call of this device. Never log it.
        """
        return self._token_id

    def _retarget(self, request: httpx.Request, old: str, new: str) -> None:
        # /tokens/{token_id}/actions/... names the token itself: a replay after the token was
        # renewed must name the new one, or the server refuses it again.
        prefix = self._base_url.path.rstrip("/") + "/tokens/"
        path = request.url.path
        if path.startswith(prefix + old + "/") or path == prefix + old:
            request.url = request.url.copy_with(path=prefix + new + path[len(prefix) + len(old) :])

    @property
    def customer_id(self) -> str | None:
        """The customer logged in on the current token by this object, or None."""
        return self._customer_id if self._customer_logged_in() else None

    def identity(self, request: httpx.Request) -> str | None:
        """Whose answers ``request`` gets, hashed (for the HTTP cache and in-flight dedupe): the
        device token it carries, the customer logged in on that token and the session number
        (which changes when a login, logout or token replacement starts and when it ends).

        None (never cached, never merged) for a request without a bearer token or with a token
        this object no longer holds, while an identity change runs (the server may apply it at any
        moment), and after one failed midway (a login or logout that timed out may or may not have
        been applied) until the next login or logout succeeds. The cache asks again when the answer
        arrives and stores it only if the identity is still the one it was sent as.
        """
        bearer = bearer_of(request)
        if bearer is None or bearer != self._token_id or self._changing or self._session_unknown:
            return None
        customer = self._customer_id if self._customer_token == bearer else None
        return customer_identity(bearer, customer, self._session)

    # -- public operations, for the object that owns the httpx.AsyncClient using this auth

    async def authenticate(self, client: httpx.AsyncClient) -> None:
        """Load or create the token now (and log the customer in if credentials were given)."""
        async with self._lock:
            await self._drive(client, self._steps(None, inherited_headers(client.headers)))

    async def adopt_customer_login(self, customer_id: str, credentials: CustomerCredentials | None = None) -> None:
        """Record a customer login the server made by itself on the current token (a Customer API
        sign-up with ``autologin``): :attr:`customer_id` is then ``customer_id``. With
        ``credentials`` the customer is logged in again if the token ever has to be replaced;
        without, that replacement leaves no customer logged in.

            await auth.adopt_customer_login(new_customer_id, CustomerCredentials("email", email, pw))
        """
        customer_id = required_text(customer_id, "customer_id")
        if credentials is not None and not isinstance(credentials, CustomerCredentials):
            raise ConfigurationError("credentials must be a carecloud_async.CustomerCredentials")
        async with self._lock:
            if self._token_id is None:
                raise AuthenticationError("no device token is in use: nothing can be logged in on it")
            with self._identity_change():
                self._credentials, self._customer_token, self._customer_id = credentials, self._token_id, customer_id

    @contextlib.contextmanager
    def session_may_change(self) -> Iterator[None]:
        """A block during which the server may change whose session the token carries by itself
        (a Customer API sign-up with ``autologin``): while it runs, requests have no cache or
        dedupe identity, and nothing cached or in flight before it is shared after it, as around
        :meth:`login_customer` and :meth:`logout_customer`.

            with auth.session_may_change():
                answer = await cc.call(post_customer.call, body=body)
                await auth.adopt_customer_login(answer.data.customer_id)
        """
        with self._identity_change():
            yield

    async def login_customer(self, client: httpx.AsyncClient, credentials: CustomerCredentials) -> str:
        """Log a customer in on this device's token (obtained first if needed); returns the
        customer id. The credentials are kept so that the customer is logged in again if the
        token ever has to be replaced. ``client`` is the ``httpx.AsyncClient`` that uses this
        auth: the requests go through its transport, without the auth flow.

            customer_id = await auth.login_customer(client, CustomerCredentials("email", email, pw))
        """
        if not isinstance(credentials, CustomerCredentials):
            raise ConfigurationError("credentials must be a carecloud_async.CustomerCredentials")
        async with self._lock:
            with self._identity_change():
                previous = (self._credentials, self._customer_token, self._customer_id)
                self._credentials, self._customer_token = credentials, None  # None: a login is due
                try:
                    await self._drive(client, self._steps(None, inherited_headers(client.headers)))
                except BaseException:
                    self._credentials, self._customer_token, self._customer_id = previous
                    raise
                assert self._customer_id is not None
                return self._customer_id

    async def logout_customer(self, client: httpx.AsyncClient) -> None:
        """Log the customer out of this device's token (``POST /tokens/{token_id}/actions/logout``);
        the token stays valid and the kept credentials are forgotten. A 401 (token no longer
        valid) counts as logged out; other errors raise the usual ``APIError``.
        """
        # Until the server has answered, requests have no identity (nothing is cached or merged):
        # it may still answer them from the customer's session, whatever this object believes.
        async with self._lock:
            with self._identity_change():
                self._credentials, self._customer_token, self._customer_id = None, None, None
                token_id = self._token_id or await self._store.load(self._key)
                if token_id is None:
                    return  # no token, so no customer on it
                if self._token_id is None:
                    self._adopt(token_id)
                from carecloud_api.api.tokens import post_token_logout

                url = endpoint_url(self._base_url, post_token_logout.PATH, token_id=token_id)
                headers = {**inherited_headers(client.headers), "Authorization": f"Bearer {token_id}"}
                response = await self._send_alone(client, httpx.Request(post_token_logout.METHOD, url, headers=headers))
                if not response.is_success and response.status_code != 401:
                    raise error_from_response(response)
                logger.debug("customer logged out")

    def __repr__(self) -> str:
        return (
            f"CustomerAuth(base_url={str(self._base_url)!r}, device_id={self._device.device_id!r}, "
            f"token_store={self._store!r}, has_token={self.has_token}, customer_id={self.customer_id!r})"
        )

    # -- flow

    @contextlib.contextmanager
    def _identity_change(self) -> Iterator[None]:
        """Around a customer login or logout: while it runs, :meth:`identity` is None; before and
        after, the session number moves on, so an answer sent before it and received after it
        starts is never stored (the cache compares the identity at send and at receipt), and no
        entry or in-flight GET from before it is shared with requests after it. A change that
        fails other than by a refusal (timeout, server error, cancellation) leaves the server's
        session unknown: no identity until a login or logout succeeds."""
        self._session += 1
        self._changing += 1
        settled = False
        try:
            yield
            settled = True
            self._session_unknown = False
        except AuthenticationError:
            settled = True  # refused: the server's session did not change
            raise
        finally:
            self._changing -= 1
            self._session += 1
            if not settled:
                self._session_unknown = True

    def _customer_logged_in(self) -> bool:
        return self._customer_token is not None and self._customer_token == self._token_id

    def _customer_login_due(self) -> bool:
        return self._credentials is not None and not self._customer_logged_in()

    def _work_due(self, rejected_generation: int | None) -> bool:
        return rejected_generation is not None or self._token_id is None or self._customer_login_due()

    def _bearer(self) -> str:
        if self._token_id is None:  # pragma: no cover - _steps either sets it or raises
            raise AuthenticationError("no token: token creation did not complete")
        return self._token_id

    def _adopt(self, token_id: str) -> None:
        self._token_id = token_id
        self._generation += 1
        self._session += 1  # a new token is a new identity: a barrier for the cache and dedupe

    async def _adopt_stored(self, rejected: str | None) -> bool:
        """Read the store (its lock held) and adopt the token there, unless there is none or it is
        ``rejected``, the one a 401 just refused: then a new token must be created."""
        stored = await self._store.load(self._key)
        if stored is None or stored == rejected:
            return False
        if rejected is not None:
            logger.debug("the token store holds a different token for this device: using it")
        else:
            logger.debug("using the device token from %r", self._store)
        self._adopt(stored)
        return True

    async def _steps(self, rejected_generation: int | None, inherited: Mapping[str, str]) -> AuthSteps:
        # Load, create and save happen under the store's lock (across processes for a shared
        # store), so that clients starting at once make one token between them: a second token
        # for the device would invalidate the first.
        created = False
        if (rejected_generation is None and self._token_id is None) or rejected_generation == self._generation:
            rejected = self._token_id if rejected_generation is not None else None
            async with store_lock(self._store, self._key):
                if not await self._adopt_stored(rejected):
                    response = yield self._create_token_request(inherited)
                    await self._accept_new_token(response)
                    created = True

        credentials = self._credentials
        if credentials is None or not self._customer_login_due():
            return
        with self._identity_change():
            response = yield self._customer_login_request(credentials, inherited)
            await response.aread()
            if response.status_code == 401:
                # The token may be stale: replaced by another process (so the store is read again on
                # any 401, even right after creating one) or revoked (then a new one is created,
                # unless this flow just did: a fresh token refused is a refusal, not staleness).
                async with store_lock(self._store, self._key):
                    renewed = await self._adopt_stored(self._token_id)
                    if not renewed and not created:
                        logger.debug("401 on customer login: renewing the device token and trying once more")
                        response = yield self._create_token_request(inherited)
                        await self._accept_new_token(response)
                        renewed = True
                if renewed:
                    response = yield self._customer_login_request(credentials, inherited)
                    await response.aread()
            self._accept_customer_login(response, credentials)

    def _create_token_request(self, inherited: Mapping[str, str]) -> httpx.Request:
        from carecloud_api.api.tokens import post_token
        from carecloud_api.models.device import Device as DeviceModel
        from carecloud_api.models.post_token_body import PostTokenBody
        from carecloud_api.models.setup import Setup as SetupModel
        from carecloud_api.types import UNSET

        device, setup = self._device, self._setup
        body = PostTokenBody(
            device=DeviceModel(
                device_id=device.device_id,
                device_system=device.device_system,
                device_name=device.device_name,
                device_type=device.device_type,
            ),
            setup=SetupModel(
                language_id=setup.language_id,
                allowed_gps=setup.allowed_gps,
                allowed_notifications=setup.allowed_notifications,
            ),
            external_application_id=self._application_id,
            push_token=self._push_token if self._push_token is not None else UNSET,
        )
        url = endpoint_url(self._base_url, post_token.PATH)
        logger.debug("creating a device token at %s", redact_url(url))
        return httpx.Request(post_token.METHOD, url, json=body.to_dict(), headers=inherited)

    async def _accept_new_token(self, response: httpx.Response) -> None:
        await response.aread()
        if not response.is_success:
            raise refusal("token creation", response, (self._push_token,))
        from carecloud_api.models.post_tokens_201_response_data import PostTokens201ResponseData

        data = PostTokens201ResponseData.from_dict(response_data(response))
        token_id = token_text(data, "token_id")
        if token_id is None:
            raise AuthenticationError(
                f"token creation answered {response.status_code} without a token_id",
                status_code=response.status_code,
            )
        # Held in memory first: if saving fails, this process keeps working with it.
        self._adopt(token_id)
        await self._store.save(self._key, token_id)
        logger.debug("created a device token and saved it to %r", self._store)

    def _customer_login_request(self, credentials: CustomerCredentials, inherited: Mapping[str, str]) -> httpx.Request:
        from carecloud_api.api.tokens import post_token_login
        from carecloud_api.models.post_token_login_body import PostTokenLoginBody
        from carecloud_api.models.post_token_login_body_login_type import PostTokenLoginBodyLoginType

        token_id = self._bearer()
        body = PostTokenLoginBody(
            login_type=PostTokenLoginBodyLoginType(credentials.login_type),
            login_value=credentials.login_value,
            password=credentials.password,
        )
        url = endpoint_url(self._base_url, post_token_login.PATH, token_id=token_id)
        logger.debug("logging the customer in at %s", redact_url(url))
        headers = {**inherited, "Authorization": f"Bearer {token_id}"}
        return httpx.Request(post_token_login.METHOD, url, json=body.to_dict(), headers=headers)

    def _accept_customer_login(self, response: httpx.Response, credentials: CustomerCredentials) -> None:
        if not response.is_success:
            raise refusal("customer login", response, (credentials.password, self._token_id))
        from carecloud_api.models.post_token_login_200_response_data import PostTokenLogin200ResponseData

        customer_id = nonempty_text(PostTokenLogin200ResponseData.from_dict(response_data(response)).customer_id)
        if customer_id is None:
            raise AuthenticationError(
                f"customer login answered {response.status_code} without a customer_id",
                status_code=response.status_code,
            )
        self._credentials = credentials
        self._customer_token = self._token_id
        self._customer_id = customer_id
        logger.debug("customer logged in")
