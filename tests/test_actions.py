"""The actions namespace covers exactly the spec's /actions/ operations and calls through the client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx
from carecloud_api.actions import ACTION_ROUTES, Actions
from carecloud_api.models import PostCustomerVerifyCredentialsBody, PostCustomerVerifyCredentialsBodyLoginType

from carecloud_async import CareCloud, RequestValidationError, RetryPolicy
from scripts import normalise, spec_source

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"


def spec_action_routes() -> set[tuple[str, str]]:
    spec = normalise.load(Path(spec_source.obtain()))
    return {
        (method.upper(), path)
        for path, method, _ in normalise.iter_operations(spec)
        if "actions" in path.strip("/").split("/")[:-1]
    }


def test_namespace_has_every_action_of_the_spec_and_nothing_else() -> None:
    routes = {(method, path) for _, _, method, path in ACTION_ROUTES}
    assert routes == spec_action_routes()
    assert len(routes) == 73
    names = [(group, name) for group, name, _, _ in ACTION_ROUTES]
    assert len(names) == len(set(names)), "two actions share a name in one group"


def test_every_route_is_an_attribute_of_its_group() -> None:
    actions = Actions(lambda *args, **kwargs: None)  # type: ignore[arg-type]
    for group, name, method, path in ACTION_ROUTES:
        descriptor = getattr(type(getattr(actions, group)), name)
        assert descriptor.route == f"{method} {path}"
        function = descriptor.function
        assert function.__module__.startswith("carecloud_api.api.")
        module = __import__(function.__module__, fromlist=["METHOD", "PATH"])
        assert (method, path) == (module.METHOD, module.PATH)


@respx.mock
async def test_an_action_is_called_through_the_client_with_typed_arguments() -> None:
    respx.post(f"{BASE}/users/actions/login").respond(
        200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}}
    )
    route = respx.post(f"{BASE}/customers/actions/verify-credentials").respond(
        200, json={"data": {"customer_id": "c42"}}
    )
    async with CareCloud.enterprise(
        "demo.example.com", user_external_application_id="a", login="l", password="p", retry=RetryPolicy.disabled()
    ) as cc:
        result = await cc.actions.customers.verify_credentials(
            body=PostCustomerVerifyCredentialsBody(
                login_type=PostCustomerVerifyCredentialsBodyLoginType.EMAIL,
                login_value="jane@example.com",
                password="pw",
            )
        )
        assert cc.actions is cc.actions  # built once
    assert result.data.customer_id == "c42"  # type: ignore[union-attr]
    assert json.loads(route.calls[0].request.content) == {
        "login_type": "email",
        "login_value": "jane@example.com",
        "password": "pw",
    }
    assert route.calls[0].request.headers["Authorization"] == "Bearer t"


async def test_a_customer_only_action_is_refused_on_the_enterprise_api() -> None:
    async with CareCloud.enterprise(
        "demo.example.com", user_external_application_id="a", login="l", password="p"
    ) as cc:
        with pytest.raises(RequestValidationError, match="only in the Customer API"):
            await cc.actions.tokens.logout("tok")
