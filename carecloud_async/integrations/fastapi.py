"""FastAPI (and Starlette): one ``CareCloud`` per application, from its lifespan, as a dependency.

    from fastapi import FastAPI
    from carecloud_api.api.customers import get_customer
    from carecloud_async.integrations.fastapi import CareCloudDep, carecloud_lifespan

    app = FastAPI(lifespan=carecloud_lifespan(CareCloud.from_env))

    @app.get("/customers/{customer_id}")
    async def customer(customer_id: str, cc: CareCloudDep) -> dict[str, Any]:
        return (await cc.call(get_customer.call, customer_id)).to_dict()

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
from typing import Annotated

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from carecloud_async import CareCloud
from carecloud_async.integrations import ClientFactory, ClientUnavailable, check_factory, open_client

__all__ = ["STATE_ATTRIBUTE", "CareCloudDep", "carecloud_lifespan", "carecloud_of", "get_carecloud"]

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


def carecloud_of(app: Starlette) -> CareCloud:
    """The application's ``CareCloud``, outside a request (a background job, a test).

    Raises :class:`~carecloud_async.integrations.ClientUnavailable` before startup (no
    :func:`carecloud_lifespan`, or the lifespan has not run) and after shutdown.

        cc = carecloud_of(app)
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
    return client


async def get_carecloud(connection: HTTPConnection) -> CareCloud:
    """FastAPI dependency: the application's ``CareCloud`` (HTTP and WebSocket routes).

        @app.get("/customers")
        async def customers(cc: CareCloud = Depends(get_carecloud)) -> ...:

    ``async`` so that FastAPI runs it on the event loop rather than in its thread pool. Raises
    :class:`~carecloud_async.integrations.ClientUnavailable` like :func:`carecloud_of`.
    """
    return carecloud_of(connection.app)


#: ``cc: CareCloudDep`` in a route's parameters is ``cc: CareCloud = Depends(get_carecloud)``.
CareCloudDep = Annotated[CareCloud, Depends(get_carecloud)]
