"""One ``CareCloud`` per web application: created at startup, shared by every request, closed at shutdown.

The framework helpers live in their own modules and import their framework, so import them only
where it is installed (the library depends on neither; an application installs its own):

    from carecloud_async.integrations.fastapi import CareCloudDep, carecloud_lifespan
    from carecloud_async.integrations.aiohttp import carecloud_context, get_carecloud

Why one client per application: a ``CareCloud`` holds the connection pool and the token. One per
request would log in on every request and never reuse a connection; one per process, created at
import time, would outlive the event loop it was first used on and never be closed.

This module itself imports no framework (``carecloud_async`` never imports this package); it holds
what the framework modules share: the factory type, :func:`open_client` and :class:`ClientUnavailable`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from carecloud_async import CareCloud, CareCloudError

__all__ = ["ClientFactory", "ClientUnavailable", "check_api", "check_factory", "open_client"]

_API = TypeVar("_API", bound=CareCloud)

#: Makes the application's client at startup: ``CareCloud.from_env`` (the default), a function
#: returning ``CareCloud.enterprise(...)``, or an async function (to read secrets first, say).
ClientFactory = Callable[[], CareCloud | Awaitable[CareCloud]]


class ClientUnavailable(CareCloudError, RuntimeError):
    """The application's ``CareCloud`` was asked for before startup or after shutdown.

    Before startup it means the helper is not installed on the application (or, in a test, the
    application's startup was not run); after shutdown, that something outlived the application.
    """


def check_factory(factory: object) -> None:
    """Refuse, when the application is being set up, a client where a factory belongs.

    >>> check_factory(CareCloud.from_env)
    """
    if isinstance(factory, CareCloud):
        raise TypeError(
            "pass a factory such as CareCloud.from_env (or a function returning CareCloud.enterprise(...)), "
            "not a CareCloud client: the client is created at startup, on the application's event loop"
        )
    if not callable(factory):
        raise TypeError(f"the CareCloud factory must be callable, not {type(factory).__name__}")


async def open_client(factory: ClientFactory, *, authenticate: bool = False) -> CareCloud:
    """Call ``factory`` (awaiting it if it is async) and, with ``authenticate``, log in now.

    Logging in at startup makes wrong credentials fail the deployment instead of the first request;
    the client is closed again if that fails. For other frameworks, the same pattern by hand:

        cc = await open_client(CareCloud.from_env, authenticate=True)
        try:
            ...  # serve
        finally:
            await cc.aclose()
    """
    made = factory()
    client = await made if inspect.isawaitable(made) else made
    if not isinstance(client, CareCloud):
        raise TypeError(f"the CareCloud factory returned {type(client).__name__}, not a CareCloud client")
    if authenticate:
        try:
            await client.authenticate()
        except BaseException:
            await client.aclose()
            raise
    return client


def check_api(client: CareCloud, api: type[_API]) -> _API:
    """The application's client as ``api`` (``EnterpriseCareCloud`` or ``CustomerCareCloud``).

    Typed with that API's resource tree; a client of the other API is refused with
    :class:`ClientUnavailable`, which says how to make the right one.

    >>> from carecloud_async import CustomerCareCloud, EnterpriseCareCloud
    >>> cc = CareCloud.enterprise("shop.example", user_external_application_id="a", login="l", password="p")
    >>> check_api(cc, EnterpriseCareCloud) is cc
    True
    >>> check_api(cc, CustomerCareCloud)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    carecloud_async.integrations.ClientUnavailable: ... (EnterpriseCareCloud, not CustomerCareCloud): ...
    """
    if not isinstance(client, api):
        raise ClientUnavailable(
            f"the application's CareCloud client is of the other API ({type(client).__name__}, not {api.__name__}): "
            "make it with the factory of that API (CareCloud.enterprise(...) or CareCloud.customer(...); "
            "CareCloud.from_env chooses by the CARECLOUD_* variables set)"
        )
    return client
