"""The Enterprise token shared through a token store: one login for every client (process) on it.

Two EnterpriseAuth objects on one store stand for two processes (the real multi-process proof,
on Redis, is in tests/test_redis.py). The server is the fake CareCloud in-process, on the
clients' clock: it issues a bearer token per login, valid 7 hours, and answers 401 to an expired
or unknown one.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_auth import FakeClock

from carecloud_async._enterprise_auth import EnterpriseAuth, enterprise_token_key, shared_token_usable
from carecloud_async._tokens import FileTokenStore, MemoryTokenStore
from carecloud_async.testing import DEFAULT_ENTERPRISE_USER, FakeCareCloud

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
BASE = "https://fake.carecloud.test/webservice/rest-api/enterprise-interface/v1.0"
LOGIN, PASSWORD, APP = DEFAULT_ENTERPRISE_USER


def project(clock: FakeClock) -> FakeCareCloud:
    """The fake on ``clock``; a login takes a moment, so that clients logging in together overlap."""
    fake = FakeCareCloud(clock=lambda: clock().timestamp())
    fake.slow("postUserLogin", 0.02)
    return fake


def enterprise_auth(clock: FakeClock, **kwargs: Any) -> EnterpriseAuth:
    return EnterpriseAuth(BASE, user_external_application_id=APP, login=LOGIN, password=PASSWORD, clock=clock, **kwargs)


def client_for(auth: EnterpriseAuth, fake: FakeCareCloud) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, auth=auth, transport=fake.transport())


async def test_clients_on_one_store_log_in_once() -> None:
    clock, store = FakeClock(), MemoryTokenStore()
    fake = project(clock)
    async with (
        client_for(enterprise_auth(clock, token_store=store), fake) as one,
        client_for(enterprise_auth(clock, token_store=store), fake) as two,
    ):
        responses = await asyncio.gather(*(c.get("customers") for c in (one, two) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert fake.counts().enterprise_logins == 1


async def test_a_token_due_for_refresh_is_renewed_once_for_everyone() -> None:
    clock, store = FakeClock(), MemoryTokenStore()
    fake = project(clock)
    async with (
        client_for(enterprise_auth(clock, token_store=store), fake) as one,
        client_for(enterprise_auth(clock, token_store=store), fake) as two,
    ):
        await one.get("customers")
        await two.get("customers")
        clock.advance(hours=7)  # past valid_to - margin; on the fake, the first token has expired
        await one.get("customers")
        await two.get("customers")
    counts = fake.counts()
    assert counts.enterprise_logins == 2
    assert counts.statuses == {200: 6}  # no 401: both sent the renewed token, neither the old one


async def test_after_a_401_the_second_client_takes_the_token_the_first_logged_in_with() -> None:
    clock, store = FakeClock(), MemoryTokenStore()
    fake = project(clock)
    async with (
        client_for(enterprise_auth(clock, token_store=store), fake) as one,
        client_for(enterprise_auth(clock, token_store=store), fake) as two,
    ):
        await one.get("customers")
        await two.get("customers")
        fake.expire_tokens()
        assert (await one.get("customers")).status_code == 200  # 401, re-login, replay
        assert (await two.get("customers")).status_code == 200  # 401, token from the store, replay
    assert fake.counts().enterprise_logins == 2


async def test_an_unreadable_stored_value_means_a_login() -> None:
    clock, store = FakeClock(), MemoryTokenStore()
    fake = project(clock)
    key = enterprise_token_key("fake.carecloud.test", APP, LOGIN)
    await store.save(key, "not json")
    async with client_for(enterprise_auth(clock, token_store=store), fake) as client:
        assert (await client.get("customers")).status_code == 200
    assert fake.counts().enterprise_logins == 1
    assert [json.loads(await store.load(key) or "")["bearer_token"]] == list(fake.bearer_tokens)


async def test_a_file_store_shares_the_token_without_the_password(tmp_path: Path) -> None:
    clock, path = FakeClock(), tmp_path / "tokens.json"
    fake = project(clock)
    for _ in range(3):  # three "processes", one after the other
        async with client_for(enterprise_auth(clock, token_store=FileTokenStore(path)), fake) as client:
            assert (await client.get("customers")).status_code == 200
    assert fake.counts().enterprise_logins == 1
    text = path.read_text()
    assert PASSWORD not in text
    assert LOGIN not in text  # the key holds the login hashed


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
