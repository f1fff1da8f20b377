"""The Enterprise token shared through a token store: one login for every client (process) on it.

Two EnterpriseAuth objects on one store stand for two processes (the real multi-process proof,
on Redis, is in tests/test_redis.py); the scripted server is tests/test_auth.py's.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_auth import PASSWORD, FakeClock, FakeEnterprise, client_for, enterprise_auth

from carecloud_async._enterprise_auth import enterprise_token_key, shared_token_usable
from carecloud_async._tokens import FileTokenStore, MemoryTokenStore

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


async def test_clients_on_one_store_log_in_once() -> None:
    server, store = FakeEnterprise(), MemoryTokenStore()
    clock = FakeClock()
    async with (
        client_for(enterprise_auth(clock, token_store=store), server) as one,
        client_for(enterprise_auth(clock, token_store=store), server) as two,
    ):
        responses = await asyncio.gather(*(c.get("customers") for c in (one, two) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert server.logins == 1


async def test_a_token_due_for_refresh_is_renewed_once_for_everyone() -> None:
    server, store, clock = FakeEnterprise(), MemoryTokenStore(), FakeClock()
    async with (
        client_for(enterprise_auth(clock, token_store=store), server) as one,
        client_for(enterprise_auth(clock, token_store=store), server) as two,
    ):
        await one.get("customers")
        await two.get("customers")
        clock.advance(hours=7)  # past valid_to - margin
        await one.get("customers")
        await two.get("customers")
    assert server.logins == 2
    assert [r.headers["authorization"] for r in server.normal_requests()][-1] == "Bearer bearer-token-0002"


async def test_after_a_401_the_second_client_takes_the_token_the_first_logged_in_with() -> None:
    server, store, clock = FakeEnterprise(), MemoryTokenStore(), FakeClock()
    async with (
        client_for(enterprise_auth(clock, token_store=store), server) as one,
        client_for(enterprise_auth(clock, token_store=store), server) as two,
    ):
        await one.get("customers")
        await two.get("customers")
        server.invalidate_tokens()
        assert (await one.get("customers")).status_code == 200  # 401, re-login, replay
        assert (await two.get("customers")).status_code == 200  # 401, token from the store, replay
    assert server.logins == 2


async def test_an_unreadable_stored_value_means_a_login() -> None:
    server, store = FakeEnterprise(), MemoryTokenStore()
    auth = enterprise_auth(token_store=store)
    key = enterprise_token_key("demo.example", "89d1a6111b3fb6e74665d948", "pos@example.com")
    await store.save(key, "not json")
    async with client_for(auth, server) as client:
        assert (await client.get("customers")).status_code == 200
    assert server.logins == 1
    assert json.loads(await store.load(key) or "")["bearer_token"] == "bearer-token-0001"


async def test_a_file_store_shares_the_token_without_the_password(tmp_path: Path) -> None:
    server, path = FakeEnterprise(), tmp_path / "tokens.json"
    for _ in range(3):  # three "processes", one after the other
        async with client_for(enterprise_auth(token_store=FileTokenStore(path)), server) as client:
            assert (await client.get("customers")).status_code == 200
    assert server.logins == 1
    text = path.read_text()
    assert PASSWORD not in text
    assert "pos@example.com" not in text  # the key holds the login hashed


@pytest.mark.parametrize(
    ("stored", "rejected", "usable"),
    [
        ({"bearer_token": "t", "refresh_at": (NOW + timedelta(hours=1)).isoformat()}, None, True),
        ({"bearer_token": "t", "refresh_at": None}, None, True),  # unknown validity: until a 401
        ({"bearer_token": "t", "refresh_at": (NOW + timedelta(hours=1)).isoformat()}, "t", False),
        ({"bearer_token": "t", "refresh_at": (NOW - timedelta(seconds=1)).isoformat()}, None, False),
        ({"bearer_token": "t", "refresh_at": "yesterday"}, None, False),
        ({"bearer_token": ""}, None, False),
        (None, None, False),
    ],
)
def test_shared_token_usable(stored: dict[str, object] | None, rejected: str | None, usable: bool) -> None:
    assert (shared_token_usable(stored, now=NOW, rejected=rejected) is not None) is usable
