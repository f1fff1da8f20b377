"""One process of tests/test_token_processes.py: a Customer API client on a shared FileTokenStore.

Prints ``ready`` once imported, then for each line ``go <store path>`` on stdin opens a new
client on that store, makes one call and prints ``ok`` (or ``error <type>: <message>``).

    python tests/token_race_child.py <fake CareCloud server URL>
"""

from __future__ import annotations

import asyncio
import sys

from carecloud_api.api.cards import get_cards

from carecloud_async import CareCloud, Device, FileTokenStore

DEVICE = Device(device_id="kiosk-race", device_system="Linux", device_name="Race kiosk", device_type="kiosk")


async def one_round(server: str, store_path: str) -> str:
    try:
        async with CareCloud.customer(
            server,
            external_application_id="race-app",
            device=DEVICE,
            token_store=FileTokenStore(store_path, lock_timeout=20),
            timeout=20,
        ) as cc:
            page = await cc.call(get_cards.call, count=1)
            return f"ok {page.to_dict()['data']['total_items']}"
    except Exception as exc:  # reported to the parent, which fails the test with it
        return f"error {type(exc).__name__}: {exc}"


def main() -> None:
    server = sys.argv[1]
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, store_path = line.strip().partition(" ")
        if command != "go":
            break
        print(asyncio.run(one_round(server, store_path)), flush=True)


if __name__ == "__main__":
    main()
