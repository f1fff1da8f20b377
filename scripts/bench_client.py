"""The Enterprise client every benchmark measures with (not a benchmark itself).

The benchmarks talk to in-process mock transports or local stand-in servers that accept any
login, so the credentials are throwaway; what differs between them (the server, ``transport=``,
``retry=``, ``cache=``, ``rate_limit=``) is passed through.
"""

from __future__ import annotations

from typing import Any

from carecloud_async import CareCloud


def bench_client(project_url: str, **options: Any) -> CareCloud:
    """``CareCloud.enterprise(project_url, **options)`` logged in as the benchmarks' "bench" user."""
    return CareCloud.enterprise(
        project_url,
        user_external_application_id="bench",
        login="bench",
        password="bench",  # noqa: S106 (mock transports and local servers accept anything)
        **options,
    )
