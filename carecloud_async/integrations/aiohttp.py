"""aiohttp.web: one ``CareCloud`` per application, from a ``cleanup_ctx``, under a typed ``AppKey``.

    from aiohttp import web
    from carecloud_api.api.customers import get_customer
    from carecloud_async.integrations.aiohttp import carecloud_context, get_carecloud

    async def customer(request: web.Request) -> web.Response:
        cc = get_carecloud(request)
        result = await cc.call(get_customer.call, request.match_info["customer_id"])
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

from aiohttp import web

from carecloud_async import CareCloud
from carecloud_async.integrations import ClientFactory, ClientUnavailable, check_factory, open_client

__all__ = ["CARECLOUD", "carecloud_context", "get_carecloud"]

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


def get_carecloud(source: web.Request | web.Application) -> CareCloud:
    """The application's ``CareCloud``, from a request (sub-applications included) or the app.

        cc = get_carecloud(request)

    Raises :class:`~carecloud_async.integrations.ClientUnavailable` before startup (no
    :func:`carecloud_context` in ``app.cleanup_ctx``, or the application has not started) and
    after cleanup.
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
    return client
