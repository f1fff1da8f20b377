"""FastAPI (and Starlette): one ``CareCloud`` per application, from its lifespan, as a dependency.

    from fastapi import FastAPI
    from carecloud_async.integrations.fastapi import EnterpriseCareCloudDep, carecloud_lifespan

    app = FastAPI(lifespan=carecloud_lifespan(CareCloud.from_env))

    @app.get("/customers/{customer_id}")
    async def customer(customer_id: str, cc: EnterpriseCareCloudDep) -> dict[str, Any]:
        return (await cc.customers.get(customer_id)).to_dict()

``EnterpriseCareCloudDep`` (``CustomerCareCloudDep`` for the Customer API) hands a route the client
typed with its API's resource tree, so ``cc.customers.get`` type-checks; it refuses a client of the
other API with :class:`~carecloud_async.integrations.ClientUnavailable`. ``CareCloudDep`` is any
``CareCloud`` (``cc.call(...)``, or code that serves either API).

The lifespan creates the client at startup (on the server's event loop), keeps it on
``app.state.carecloud`` and closes it at shutdown. With a lifespan of your own, enter ours inside it:

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with carecloud_lifespan(make_client)(app), open_database() as db:
            yield

The lifespan and :func:`carecloud_of` work for a plain Starlette application too. Importing this
module imports FastAPI; ``carecloud_async`` itself never imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, TypeVar, overload

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from carecloud_async import CareCloud, CustomerCareCloud, EnterpriseCareCloud
from carecloud_async.integrations import ClientFactory, ClientUnavailable, check_api, check_factory, open_client

__all__ = [
    "STATE_ATTRIBUTE",
    "CareCloudDep",
    "CustomerCareCloudDep",
    "EnterpriseCareCloudDep",
    "carecloud_lifespan",
    "carecloud_of",
    "get_carecloud",
    "get_customer_carecloud",
    "get_enterprise_carecloud",
]

_API = TypeVar("_API", bound=CareCloud)

#: Where the lifespan keeps the client: ``app.state.carecloud``.
STATE_ATTRIBUTE = "carecloud"


def carecloud_lifespan(
    factory: ClientFactory = CareCloud.from_env, *, authenticate: bool = False
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that creates one ``CareCloud`` per application and closes it at shutdown.

    ``factory`` makes the client (sync or async; ``CareCloud.from_env`` by default). With
    ``authenticate=True`` the client logs in at startup, so that wrong credentials stop the
    application from starting instead of failing its first request.

        app = FastAPI(lifespan=carecloud_lifespan(lambda: CareCloud.enterprise(...), authenticate=True))
    """
    check_factory(factory)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with await open_client(factory, authenticate=authenticate) as client:
            setattr(app.state, STATE_ATTRIBUTE, client)
            yield
        # The closed client stays on app.state: a late user then gets "closed at shutdown", not
        # "never started".

    return lifespan


@overload
def carecloud_of(app: Starlette) -> CareCloud: ...
@overload
def carecloud_of(app: Starlette, api: type[_API]) -> _API: ...
def carecloud_of(app: Starlette, api: type[CareCloud] = CareCloud) -> CareCloud:
    """The application's ``CareCloud``, outside a request (a background job, a test).

    With ``api`` (``EnterpriseCareCloud`` or ``CustomerCareCloud``) the client is typed with that
    API's resource tree, and a client of the other API is refused. Raises
    :class:`~carecloud_async.integrations.ClientUnavailable` before startup (no
    :func:`carecloud_lifespan`, or the lifespan has not run), after shutdown and for the other API.

        cc = carecloud_of(app, EnterpriseCareCloud)
        customer = await cc.customers.get(customer_id)
    """
    client = getattr(app.state, STATE_ATTRIBUTE, None)
    if client is None:
        raise ClientUnavailable(
            "this application has no CareCloud client: create it with "
            "FastAPI(lifespan=carecloud_lifespan(...)) (in tests, run the lifespan too, e.g. "
            "`with TestClient(app):` or `async with app.router.lifespan_context(app):`)"
        )
    if not isinstance(client, CareCloud):
        raise ClientUnavailable(f"app.state.{STATE_ATTRIBUTE} is a {type(client).__name__}, not a CareCloud client")
    if client.closed:
        raise ClientUnavailable("the application's CareCloud client was closed at shutdown")
    return check_api(client, api)


async def get_carecloud(connection: HTTPConnection) -> CareCloud:
    """FastAPI dependency: the application's ``CareCloud`` (HTTP and WebSocket routes).

        @app.get("/customers")
        async def customers(cc: CareCloud = Depends(get_carecloud)) -> ...:

    ``async`` so that FastAPI runs it on the event loop rather than in its thread pool. Raises
    :class:`~carecloud_async.integrations.ClientUnavailable` like :func:`carecloud_of`.
    """
    return carecloud_of(connection.app)


async def get_enterprise_carecloud(connection: HTTPConnection) -> EnterpriseCareCloud:
    """FastAPI dependency: the application's client, typed with the Enterprise API's resource tree.

        @app.get("/customers/{customer_id}")
        async def customer(customer_id: str, cc: EnterpriseCareCloudDep) -> dict[str, Any]:
            return (await cc.customers.get(customer_id)).to_dict()

    Raises :class:`~carecloud_async.integrations.ClientUnavailable` like :func:`carecloud_of`, and
    when the application's client is a Customer API one.
    """
    return carecloud_of(connection.app, EnterpriseCareCloud)


async def get_customer_carecloud(connection: HTTPConnection) -> CustomerCareCloud:
    """FastAPI dependency: the application's client, typed with the Customer API's resource tree.

        @app.get("/me")
        async def me(cc: CustomerCareCloudDep) -> dict[str, Any]:
            return (await cc.customers.get(cc.customer_id or "")).to_dict()

    Raises :class:`~carecloud_async.integrations.ClientUnavailable` like :func:`carecloud_of`, and
    when the application's client is an Enterprise API one.
    """
    return carecloud_of(connection.app, CustomerCareCloud)


#: ``cc: CareCloudDep`` in a route's parameters is ``cc: CareCloud = Depends(get_carecloud)``:
#: either API's client (``cc.call(...)``); for the resource tree use the per-API ones below.
CareCloudDep = Annotated[CareCloud, Depends(get_carecloud)]
#: ``cc: EnterpriseCareCloudDep``: an ``EnterpriseCareCloud`` (``cc.customers.get(...)`` type-checks).
EnterpriseCareCloudDep = Annotated[EnterpriseCareCloud, Depends(get_enterprise_carecloud)]
#: ``cc: CustomerCareCloudDep``: a ``CustomerCareCloud`` (the Customer API's resource tree).
CustomerCareCloudDep = Annotated[CustomerCareCloud, Depends(get_customer_carecloud)]
