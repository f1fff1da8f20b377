"""A small aiohttp.web service in front of CareCloud: one shared client, typed calls, errors mapped.

    CARECLOUD_PROJECT_URL=demo.crmcarecloud.com CARECLOUD_LOGIN=... CARECLOUD_PASSWORD=... \\
    CARECLOUD_USER_EXTERNAL_APPLICATION_ID=... python -m examples.aiohttp_app [--port 8080]

    GET /customers?email=jane@example.com&limit=20   customers matching the filter
    GET /customers/{customer_id}                     one customer; 404 if CareCloud has none

A CareCloud error the caller can do nothing about becomes 502 (504 on a timeout); its details go
to the log, not to the caller. Tests build the app with ``create_app(factory)`` and their own client.
No customer e-mail reaches the log (:func:`setup_logging`).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from carecloud_api.types import Unset

from carecloud_async import (
    APIError,
    CareCloud,
    EnterpriseCareCloud,
    NetworkError,
    NotFound,
    RequestTimeout,
    configure_logging,
)
from carecloud_async.integrations import ClientFactory
from carecloud_async.integrations.aiohttp import carecloud_context, get_carecloud

logger = logging.getLogger(__name__)
MAX_LIMIT = 500


async def list_customers(request: web.Request) -> web.Response:
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be between 1 and {MAX_LIMIT}")
    filters: dict[str, Any] = {"email": request.query["email"]} if request.query.get("email") else {}
    cc = get_carecloud(request, EnterpriseCareCloud)  # typed with the Enterprise API's tree
    customers = await cc.customers.list(max_items=limit, **filters).collect()
    return web.json_response({"customers": [customer.to_dict() for customer in customers]})


async def read_customer(request: web.Request) -> web.Response:
    cc = get_carecloud(request, EnterpriseCareCloud)
    result = await cc.customers.get(request.match_info["customer_id"])
    if isinstance(result.data, Unset):
        raise web.HTTPBadGateway(text="CareCloud answered without the customer")
    return web.json_response(result.data.to_dict())


@web.middleware
async def carecloud_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """NotFound becomes 404; other CareCloud answers and network failures 502 (504 on a timeout)."""
    try:
        return await handler(request)
    except NotFound:
        return web.json_response({"detail": "not found"}, status=404)
    except (APIError, NetworkError) as exc:
        logger.warning("CareCloud failed on %s %s: %s", request.method, request.path, exc)
        status = 504 if isinstance(exc, RequestTimeout) else 502
        return web.json_response({"detail": "CareCloud is unavailable or refused the request"}, status=status)


def create_app(factory: ClientFactory = CareCloud.from_env) -> web.Application:
    """The application; ``factory`` makes its one CareCloud client at startup."""
    app = web.Application(middlewares=[carecloud_errors])
    app.cleanup_ctx.append(carecloud_context(factory))
    app.router.add_get("/customers", list_customers)
    app.router.add_get("/customers/{customer_id}", read_customer)
    return app


def setup_logging() -> None:
    """Logging as the logging guide (docs/guide/logging.md) has it. Everything at WARNING: at INFO, httpx logs
    each request's URL with its query string and aiohttp's access log each request line, and both
    hold the customer's e-mail (``?email=...``). Our own loggers at INFO, with the filter
    :func:`configure_logging` puts on httpx (query strings and token ids cut from its URLs), in
    case someone turns httpx up."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    configure_logging("info")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    setup_logging()
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
