"""Device tokens across processes: 4 processes starting at once on one FileTokenStore make one token.

A stand-in Customer API on 127.0.0.1 (stdlib HTTP server in a thread) counts ``POST /tokens``,
takes its time to answer it (so processes without a lock would all create one) and, like the real
server, accepts only the latest token of the device. The processes are real (subprocess), share a
real file, and are released together once all have started.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_processes import ChildProcesses
from thread_server import JSONHandler, serving

CHILD = Path(__file__).with_name("token_race_child.py")
PROCESSES = 4
ROUNDS = 5
ROUND_TIMEOUT = 60.0  # seconds for one round, generous for a loaded machine


class StandIn:
    """What the stand-in server saw, shared with its handler threads."""

    def __init__(self, creation_delay: float) -> None:
        self.lock = threading.Lock()
        self.creation_delay = creation_delay
        self.created = 0
        self.latest: str | None = None
        self.refused = 0

    def reset(self) -> None:
        with self.lock:
            self.created, self.latest, self.refused = 0, None, 0


def make_handler(state: StandIn) -> type[JSONHandler]:
    class Handler(JSONHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.endswith("/tokens"):
                self.answer(404, {"error": {"exception": "not_found"}})
                return
            time.sleep(state.creation_delay)  # every process without a lock is in here now
            with state.lock:
                state.created += 1
                token = f"race-token-{state.created}-{'x' * 24}"
                state.latest = token  # a new token for the device invalidates the previous one
            self.answer(201, {"data": {"token_id": token}})

        def do_GET(self) -> None:
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with state.lock:
                accepted = state.latest is not None and bearer == state.latest
                if not accepted:
                    state.refused += 1
            if not accepted:
                self.answer(401, {"error": {"exception": "unauthorized_exception", "title": "Unauthorized"}})
                return
            self.answer(200, {"data": {"cards": [], "total_items": 0}})

    return Handler


@pytest.fixture
def stand_in() -> Iterator[tuple[str, StandIn]]:
    state = StandIn(creation_delay=0.3)
    with serving(make_handler(state)) as origin:
        yield origin, state


def test_four_processes_on_one_file_create_one_token_every_round(stand_in: tuple[str, StandIn], tmp_path: Path) -> None:
    url, state = stand_in
    with ChildProcesses([sys.executable, str(CHILD), url], count=PROCESSES, timeout=ROUND_TIMEOUT) as children:
        for round_number in range(ROUNDS):
            state.reset()
            store = tmp_path / f"round-{round_number}" / "tokens.json"
            results = children.release(f"go {store}")  # all released at once: none has a token yet
            assert results == ["ok 0"] * PROCESSES, f"round {round_number}: {results}"
            assert state.created == 1, f"round {round_number}: {state.created} POST /tokens"
            saved = json.loads(store.read_text())["tokens"]
            assert list(saved.values()) == [state.latest]
