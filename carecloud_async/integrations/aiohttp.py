"""aiohttp.web: one ``CareCloud`` per application, from a ``cleanup_ctx``, under a typed ``AppKey``.

    from aiohttp import web
    from carecloud_async import EnterpriseCareCloud
    from carecloud_async.integrations.aiohttp import carecloud_context, get_carecloud

    async def customer(request: web.Request) -> web.Response:
        cc = get_carecloud(request, EnterpriseCareCloud)  # typed: cc.customers type-checks
        result = await cc.customers.get(request.match_info["customer_id"])
        return web.json_response(result.to_dict())

    app = web.Application()
    app.cleanup_ctx.append(carecloud_context(CareCloud.from_env))
    app.router.add_get("/customers/{customer_id}", customer)

The context creates the client at startup (on the server's event loop), stores it under
:data:`CARECLOUD` and closes it at cleanup. Sub-applications see their parent's client
(``request.config_dict``). Importing this module imports aiohttp; ``carecloud_async`` itself
never imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar, overload

from aiohttp import web

from carecloud_async import CareCloud
from carecloud_async.integrations import ClientFactory, ClientUnavailable, check_api, check_factory, open_client

__all__ = ["CARECLOUD", "carecloud_context", "get_carecloud"]

_API = TypeVar("_API", bound=CareCloud)

#: The application key the client is stored under: ``app[CARECLOUD]`` is a ``CareCloud``.
CARECLOUD = web.AppKey("carecloud", CareCloud)


def carecloud_context(
    factory: ClientFactory = CareCloud.from_env, *, authenticate: bool = False
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that creates one ``CareCloud`` at startup and closes it at cleanup.

    ``factory`` makes the client (sync or async; ``CareCloud.from_env`` by default). With
    ``authenticate=True`` the client logs in at startup, so that wrong credentials stop the
    application from starting instead of failing its first request.

        app.cleanup_ctx.append(carecloud_context(lambda: CareCloud.enterprise(...), authenticate=True))
    """
    check_factory(factory)

    async def carecloud_cleanup_ctx(app: web.Application) -> AsyncIterator[None]:
        async with await open_client(factory, authenticate=authenticate) as client:
            app[CARECLOUD] = client
            yield
        # The closed client stays in the (frozen) application: a late user then gets "closed
        # at cleanup", not "never started".

    return carecloud_cleanup_ctx


@overload
def get_carecloud(source: web.Request | web.Application) -> CareCloud: ...
@overload
def get_carecloud(source: web.Request | web.Application, api: type[_API]) -> _API: ...
def get_carecloud(source: web.Request | web.Application, api: type[CareCloud] = CareCloud) -> CareCloud:
    """The application's ``CareCloud``, from a request (sub-applications included) or the app.

    With ``api`` (``EnterpriseCareCloud`` or ``CustomerCareCloud``) the client is typed with that
    API's resource tree, and a client of the other API is refused:

        cc = get_carecloud(request, EnterpriseCareCloud)
        customer = await cc.customers.get(customer_id)

    Raises :class:`~carecloud_async.integrations.ClientUnavailable` before startup (no
    :func:`carecloud_context` in ``app.cleanup_ctx``, or the application has not started), after
    cleanup and for the other API.
    """
    client = source.config_dict.get(CARECLOUD) if isinstance(source, web.Request) else source.get(CARECLOUD)
    if client is None:
        raise ClientUnavailable(
            "this application has no CareCloud client: add "
            "app.cleanup_ctx.append(carecloud_context(...)) and let the application start "
            "(web.run_app, or aiohttp.test_utils.TestServer in tests)"
        )
    if client.closed:
        raise ClientUnavailable("the application's CareCloud client was closed at cleanup")
    return check_api(client, api)
