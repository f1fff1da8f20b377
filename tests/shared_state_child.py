"""One process (one "replica") of tests/test_redis.py: a client sharing state through Redis.

Prints ``ready`` once imported, then for each line ``go <enterprise|customer> <prefix>`` on stdin
opens a new client (cache on, state on Redis under ``prefix``), makes two GETs and prints ``ok``
(or ``error <type>: <message>``).

    python tests/shared_state_child.py <fake CareCloud server URL> <redis URL>
"""

from __future__ import annotations

import asyncio
import sys

from carecloud_async import CareCloud, Device, RedisState
from carecloud_async.testing import DEFAULT_ENTERPRISE_USER


async def one_round(server: str, redis_url: str, interface: str, prefix: str) -> str:
    state = RedisState(redis_url, prefix=prefix)
    try:
        cc: CareCloud  # either API's client (EnterpriseCareCloud or CustomerCareCloud)
        if interface == "enterprise":
            login, password, app = DEFAULT_ENTERPRISE_USER
            cc = CareCloud.enterprise(
                server, user_external_application_id=app, login=login, password=password, cache=True, redis=state
            )
        else:
            device = Device("kiosk-shared", "Linux", "Kiosk", "kiosk")
            cc = CareCloud.customer(server, external_application_id="app", device=device, cache=True, redis=state)
        async with cc:
            for _ in range(2):
                (await cc.http.get("stores")).raise_for_status()
        return "ok"
    except Exception as exc:  # reported to the parent, which fails the test with it
        return f"error {type(exc).__name__}: {exc}"
    finally:
        await state.aclose()


def main() -> None:
    server, redis_url = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    for line in sys.stdin:
        command, interface, prefix = ([*line.split(), "", "", ""])[:3]
        if command != "go":
            break
        print(asyncio.run(one_round(server, redis_url, interface, prefix)), flush=True)


if __name__ == "__main__":
    main()
