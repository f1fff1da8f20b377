"""Raw JSON calls to the shipped fake's Enterprise API, for the tests of the fake's own rules
(tests/test_testing_rules.py, tests/test_testing_more_state.py): no client in between, so each
test sees exactly what the fake answers."""

from __future__ import annotations

from typing import Any

import httpx

from carecloud_async.testing import FakeCareCloud

ENTERPRISE = "https://fake.carecloud.test/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER = "https://fake.carecloud.test/webservice/rest-api/customer-interface/v1.0"


class Api:
    """Raw JSON calls to the fake's Enterprise API, logged in."""

    def __init__(self, fake: FakeCareCloud, http: httpx.AsyncClient, token: str) -> None:
        self.fake, self.http, self.headers = fake, http, {"Authorization": f"Bearer {token}"}

    async def send(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return await self.http.request(
            method, f"{ENTERPRISE}{path}", json=body, params=params or None, headers=self.headers
        )


async def logged_in(fake: FakeCareCloud, http: httpx.AsyncClient) -> Api:
    """``Api`` on ``http`` (bound to ``fake``'s transport) after the fake's Enterprise login."""
    login = {"user_external_application_id": "fake-app", "login": "pos@example.com", "password": "fake-password"}
    answer = await http.post(f"{ENTERPRISE}/users/actions/login", json=login)
    return Api(fake, http, answer.json()["data"]["bearer_token"])


def reasons(answer: httpx.Response) -> list[tuple[str, str]]:
    """``(name, reason)`` of each invalid parameter of a 400 answer (fails on another status)."""
    assert answer.status_code == 400, answer.text
    return [(p["name"], p["reason"]) for p in answer.json()["error"]["error_data"]["invalid_params"]]
