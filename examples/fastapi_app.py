"""A small FastAPI service in front of CareCloud: one shared client, typed calls, errors mapped.

    CARECLOUD_PROJECT_URL=demo.crmcarecloud.com CARECLOUD_LOGIN=... CARECLOUD_PASSWORD=... \\
    CARECLOUD_USER_EXTERNAL_APPLICATION_ID=... .venv/bin/uvicorn examples.fastapi_app:app --no-access-log

    GET /customers?email=jane@example.com&limit=20   customers matching the filter
    GET /customers/{customer_id}                     one customer; 404 if CareCloud has none

A CareCloud error the caller can do nothing about becomes 502 (504 on a timeout); its details go
to the log, not to the caller. Tests build the app with ``create_app(factory)`` and their own client.
``--no-access-log``: uvicorn's access log holds each request line, query string included (the
customer's e-mail); see the logging guide (docs/guide/logging.md).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from carecloud_api.types import Unset
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from carecloud_async import APIError, CareCloud, NetworkError, NotFound, RequestTimeout
from carecloud_async.integrations import ClientFactory
from carecloud_async.integrations.fastapi import EnterpriseCareCloudDep, carecloud_lifespan

logger = logging.getLogger(__name__)


def create_app(factory: ClientFactory = CareCloud.from_env) -> FastAPI:
    """The application; ``factory`` makes its one CareCloud client at startup."""
    app = FastAPI(title="CareCloud customers", lifespan=carecloud_lifespan(factory))

    @app.get("/customers")
    async def list_customers(
        cc: EnterpriseCareCloudDep,  # typed with the Enterprise API's resource tree
        email: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 20,
    ) -> dict[str, Any]:
        filters: dict[str, Any] = {"email": email} if email else {}
        customers = await cc.customers.list(max_items=limit, **filters).collect()
        return {"customers": [customer.to_dict() for customer in customers]}

    @app.get("/customers/{customer_id}")
    async def read_customer(customer_id: str, cc: EnterpriseCareCloudDep) -> dict[str, Any]:
        result = await cc.customers.get(customer_id)
        if isinstance(result.data, Unset):
            raise HTTPException(502, "CareCloud answered without the customer")
        return result.data.to_dict()

    # Starlette picks the handler of the closest class: NotFound before APIError.
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(APIError)
    @app.exception_handler(NetworkError)
    async def upstream_failed(request: Request, exc: APIError | NetworkError) -> JSONResponse:
        logger.warning("CareCloud failed on %s %s: %s", request.method, request.url.path, exc)
        status = 504 if isinstance(exc, RequestTimeout) else 502
        return JSONResponse({"detail": "CareCloud is unavailable or refused the request"}, status_code=status)

    return app


app = create_app()
