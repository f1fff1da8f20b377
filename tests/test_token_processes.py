"""Device tokens across processes: 4 processes starting at once on one FileTokenStore make one token.

The Customer API is the fake CareCloud on 127.0.0.1 (``FakeServer``, served by the test's event
loop): it counts the device tokens it issues, takes its time to issue one (so processes without a
lock would all create one) and, like the real server, accepts only the latest token of a device.
The processes are real (subprocess), share a real file, and are released together once all have
started.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from child_processes import ChildProcesses

from carecloud_async.testing import FakeCareCloud, FakeServer

CHILD = Path(__file__).with_name("token_race_child.py")
PROCESSES = 4
ROUNDS = 5
ROUND_TIMEOUT = 60.0  # seconds for one round, generous for a loaded machine


async def test_four_processes_on_one_file_create_one_token_every_round(tmp_path: Path) -> None:
    fake = FakeCareCloud()
    fake.slow("postToken", 0.3)  # every process without a lock is in here at once
    async with FakeServer(fake) as server:
        with ChildProcesses(
            [sys.executable, str(CHILD), server.url], count=PROCESSES, timeout=ROUND_TIMEOUT
        ) as children:
            for round_number in range(ROUNDS):
                fake.clear_requests()
                store = tmp_path / f"round-{round_number}" / "tokens.json"
                # All released at once (none has a token yet); waited for in a thread, the loop serves.
                results = await asyncio.to_thread(children.release, f"go {store}")
                assert results == ["ok 0"] * PROCESSES, f"round {round_number}: {results}"
                counts = fake.counts()
                assert counts.device_tokens == 1, f"round {round_number}: {counts.device_tokens} POST /tokens"
                assert 401 not in counts.statuses  # every process used the one token the device has
                saved = json.loads(store.read_text())["tokens"]
                assert list(saved.values()) == list(fake.sessions)  # the device's only valid token
    assert fake.violations == []
