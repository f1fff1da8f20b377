"""What the benchmarks share (not a benchmark itself): their Enterprise client, the in-process
mock CareCloud they call, and the example page of customers they parse.

The mock transports and local stand-in servers accept any login, so the client's credentials
are throwaway; what differs between benchmarks (the server, ``transport=``, ``retry=``,
``cache=``, ``rate_limit=``) is passed through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from carecloud_async import CareCloud, EnterpriseCareCloud
from scripts import normalise, spec_source
from scripts.spec_bodies import example_body

HOST = "bench.example.com"
PREFIX = "/webservice/rest-api/enterprise-interface/v1.0"
BASE_URL = f"https://{HOST}{PREFIX}"


def bench_client(project_url: str, **options: Any) -> EnterpriseCareCloud:
    """``CareCloud.enterprise(project_url, **options)`` logged in as the benchmarks' "bench" user."""
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="bench",
        login="bench",
        password="bench",  # noqa: S106 (mock transports and local servers accept anything)
        **options,
    )


def pinned_spec() -> dict[str, Any]:
    """The pinned spec, normalised as the generator reads it (the examples the pages are made of)."""
    spec: dict[str, Any] = normalise.normalise(normalise.load(spec_source.obtain()))
    return spec


def customers_page(count: int, spec: dict[str, Any] | None = None) -> bytes:
    """A ``GET /customers`` answer of ``count`` customers, each the spec's example with its own id."""
    spec = pinned_spec() if spec is None else spec
    customer = example_body(spec, spec["components"]["schemas"]["Customer"])
    customers = [{**json.loads(json.dumps(customer)), "customer_id": f"{number:026x}"} for number in range(count)]
    return json.dumps({"data": {"customers": customers, "total_items": count}}).encode()


def mock_transport(bodies: Mapping[str, bytes]) -> httpx.MockTransport:
    """CareCloud in process: any login succeeds, and ``GET {PREFIX}{path}`` answers ``bodies[path]``."""
    login = json.dumps({"data": {"bearer_token": "bench", "valid_to": "2099-01-01 00:00:00"}}).encode()
    headers = {"Content-Type": "application/json"}

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(PREFIX)
        if path == "/users/actions/login":
            return httpx.Response(200, content=login, headers=headers)
        return httpx.Response(200, content=bodies[path], headers=headers)

    return httpx.MockTransport(handle)
