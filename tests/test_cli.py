"""The `carecloud` command line in-process: typer's CliRunner for argument handling and exit codes
(respx answers the HTTP calls), and the library functions behind each command on their own.

Real subprocess runs against Prism and a local list server are in tests/test_cli_subprocess.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from carecloud_api import parsing
from carecloud_api.models import Customer, SortDirection
from typer.testing import CliRunner

from carecloud_async import (
    BadRequest,
    CareCloud,
    ConfigurationError,
    NetworkError,
    NotFound,
    RequestValidationError,
    RetryPolicy,
    ServiceUnavailable,
    Unauthorized,
)
from carecloud_async.cli import (
    ListExport,
    UnknownOperation,
    call_operation,
    client_from_settings,
    csv_columns,
    existing_items,
    exit_code_for,
    find_operation,
    flatten_row,
    mask,
    merged_environment,
    parameters_of,
    parse_arguments,
    prepare_call,
    read_back,
    search_operations,
)
from carecloud_async.cli._app import app
from carecloud_async.cli._settings import OPTION_VARIABLES

BASE = "https://demo.example.com/webservice/rest-api/enterprise-interface/v1.0"
CUSTOMER_BASE = "https://demo.example.com/webservice/rest-api/customer-interface/v1.0"
PASSWORD = "s3cret-pass"
TOKEN = "bearer-token-0123456789"
ENV = {
    "CARECLOUD_PROJECT_URL": "demo.example.com",
    "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "app-1",
    "CARECLOUD_LOGIN": "pos@example.com",
    "CARECLOUD_PASSWORD": PASSWORD,
    "CARECLOUD_TIME_ZONE": "Europe/Prague",
    "CARECLOUD_MAX_ATTEMPTS": "1",
}


def customer(n: int) -> dict[str, Any]:
    return {
        "customer_id": f"c{n}",
        "state": 1,
        "personal_information": {"first_name": f"Jane {n}", "language_id": "en", "address": {"city": "Brno"}},
    }


def environment(**values: str | None) -> dict[str, str | None]:
    """Every CARECLOUD_* variable unset (whatever the shell running the tests has), then ``values``."""
    names = {*OPTION_VARIABLES.values(), *ENV, "CARECLOUD_PASSWORD", "CARECLOUD_DEVICE_ID"}
    env: dict[str, str | None] = dict.fromkeys(names)
    env.update(values)
    return env


def run(*args: str, env: dict[str, str | None] | None = None, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=environment(**ENV) if env is None else env, input=stdin)


def mock_login(router: respx.MockRouter, valid_to: str = "2099-01-01 00:00:00") -> respx.Route:
    return router.post(f"{BASE}/users/actions/login").respond(
        200, json={"data": {"bearer_token": TOKEN, "valid_to": valid_to}}
    )


# --------------------------------------------------------------------------- help and version


def test_version_prints_the_package_version() -> None:
    from carecloud_async import __version__

    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"carecloud {__version__}"


@pytest.mark.parametrize(
    "command",
    [[], ["ops"], ["call"], ["export"], ["auth"], ["auth", "check"], ["auth", "device"], ["spec"], ["spec", "diff"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: carecloud" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_root_help_documents_the_configuration_and_exit_codes() -> None:
    text = run("--help").stdout
    assert "CARECLOUD_PROJECT_URL" in text
    assert "--project-url" in text
    assert "4 authentication (401, 403)" in text
    assert "130 interrupted (Ctrl-C)" in text


# --------------------------------------------------------------------------- ops


def test_ops_searches_every_word_and_filters_by_kind_and_interface() -> None:
    result = run("ops", "customer", "points", "--kind", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any("getSubCustomerPoints" in line and line.split()[4] == "list" for line in lines)
    assert all("points" in line.lower() for line in lines)
    assert len(search_operations(kind="list")) == 111
    assert len(search_operations()) == 322
    customer_api = search_operations(interface="customer")
    assert all("customer" in op.interfaces for op in customer_api)
    assert len(customer_api) < 322


def test_ops_json_with_parameters() -> None:
    result = run("ops", "getCustomers", "--json", "--params")
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    entry = next(e for e in entries if e["operation_id"] == "getCustomers")
    assert entry["kind"] == "list"
    assert entry["method_path"] == "cc.customers.list"  # the hint for Python: the resource tree
    assert {"name": "sort_direction", "type": "one of ASC, DESC", "required": False} in entry["parameters"]


def test_ops_with_nothing_found_or_a_bad_kind_exits_2() -> None:
    assert run("ops", "no-such-thing-at-all").exit_code == 2
    result = run("ops", "--kind", "lists")
    assert result.exit_code == 2
    assert "kind must be 'list', 'action' or 'call'" in result.stderr


# --------------------------------------------------------------------------- operation lookup


@pytest.mark.parametrize(
    ("name", "operation_id"),
    [
        ("getCustomers", "getCustomers"),
        ("getcustomers", "getCustomers"),
        ("get_customers", "getCustomers"),
        ("GET /customers", "getCustomers"),
        ("get /customers/", "getCustomers"),
        ("GET /customers/{customer_id}", "getCustomer"),
        ("GET /customers/8ea2591121e636086a4a9c0992", "getCustomer"),
        ("POST /customers/actions/verify-credentials", "postCustomerVerifyCredentials"),
    ],
)
def test_find_operation_by_id_module_or_method_and_path(name: str, operation_id: str) -> None:
    assert find_operation(name).operation_id == operation_id


def test_every_operation_is_found_by_its_id_and_by_method_and_path() -> None:
    for op in search_operations():
        assert find_operation(op.operation_id) is op
        assert find_operation(f"{op.method} {op.path}") is op


def test_unknown_operation_suggests_the_closest() -> None:
    with pytest.raises(UnknownOperation) as caught:
        find_operation("getCustomr")
    assert caught.value.suggestions[0] == "getCustomer"
    with pytest.raises(UnknownOperation, match="did you mean GET /customers"):
        find_operation("GET /customerz")


# --------------------------------------------------------------------------- argument conversion


def test_arguments_are_converted_by_the_generated_signature() -> None:
    arguments = parse_arguments(
        find_operation("getCustomers"),
        [
            "count=5",
            "email_list[]=a@x.cz",
            "email_list=b@x.cz,c@x.cz",
            "sort_direction=desc",
            "customer_short_salutation=yes",
        ],
    )
    assert arguments.args == []
    assert arguments.kwargs == {
        "count": 5,
        "email_list": ["a@x.cz", "b@x.cz", "c@x.cz"],
        "sort_direction": SortDirection.DESC,
        "customer_short_salutation": True,
    }


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["emial=x"], "has no parameter 'emial'; did you mean email?"),
        (["count=five"], "count must be a whole number, not 'five'"),
        (["sort_direction=up"], "GET /customers: sort_direction: 'up' is not a SortDirection value (one of 'ASC',"),
        (["sort_direction=dsc"], "sort_direction: 'dsc' is not a SortDirection value; did you mean 'DESC'?"),
        (["customer_short_salutation=maybe"], "customer_short_salutation must be true or false"),
        (["email"], "parameters are given as name=value"),
        (["email=a", "email=b"], "email takes one value, not 2"),
    ],
)
def test_bad_arguments_are_refused_before_sending(texts: list[str], message: str) -> None:
    with pytest.raises(RequestValidationError, match=re.escape(message)):
        parse_arguments(find_operation("getCustomers"), texts)


def test_path_parameters_and_bodies() -> None:
    function, args, kwargs = prepare_call("getCustomer", ["customer_id=abc"])
    assert (function.__module__, args, kwargs) == ("carecloud_api.api.customers.get_customer", ["abc"], {})
    with pytest.raises(RequestValidationError, match="needs --param customer_id="):
        prepare_call("getCustomer", [])
    with pytest.raises(RequestValidationError, match="needs a body"):
        prepare_call("postCustomerVerifyCredentials", [])
    with pytest.raises(RequestValidationError, match=r"not valid JSON: .* line 1, column"):
        prepare_call("postCustomerVerifyCredentials", [], '{"login_type": ')
    with pytest.raises(RequestValidationError, match="missing the required field"):
        prepare_call("postCustomerVerifyCredentials", [], '{"login_type": "email"}')
    with pytest.raises(RequestValidationError, match="must be a JSON object"):
        prepare_call("postCustomerVerifyCredentials", [], "[1, 2]")
    with pytest.raises(RequestValidationError, match="takes no body"):
        prepare_call("getCustomers", [], "{}")


def test_body_from_a_file(tmp_path: Path) -> None:
    body = tmp_path / "credentials.json"
    body.write_text(json.dumps({"login_type": "email", "login_value": "a@x.cz", "password": "pw"}))
    _, _, kwargs = prepare_call("postCustomerVerifyCredentials", [], f"@{body}")
    assert kwargs["body"].login_value == "a@x.cz"
    with pytest.raises(RequestValidationError, match="cannot read the body file"):
        prepare_call("postCustomerVerifyCredentials", [], f"@{tmp_path / 'missing.json'}")


# --------------------------------------------------------------------------- settings


def test_options_override_the_environment_and_map_to_from_env_variables() -> None:
    merged = merged_environment(
        {"CARECLOUD_PROJECT_URL": "a.example.com", "HOME": "/root"}, {"project_url": "b.example.com", "login": None}
    )
    assert merged == {"CARECLOUD_PROJECT_URL": "b.example.com"}
    cc = client_from_settings({"project_url": "other.example.com", "time_zone": "Europe/Prague"}, environ=ENV)
    assert str(cc.config.base_url).startswith("https://other.example.com/")
    assert "Europe/Prague" in str(cc.auth.time_zone)  # type: ignore[union-attr]


def test_missing_configuration_names_the_variable_and_the_option() -> None:
    with pytest.raises(ConfigurationError, match=r"CARECLOUD_PROJECT_URL is not set \(or pass --project-url\)"):
        client_from_settings({}, environ={})
    with pytest.raises(ConfigurationError, match="set CARECLOUD_PASSWORD in the environment: the password is read"):
        client_from_settings({}, environ={**ENV, "CARECLOUD_PASSWORD": ""})


# --------------------------------------------------------------------------- call through the CLI (respx)


@respx.mock
def test_call_prints_compact_json_when_piped() -> None:
    mock_login(respx.mock)
    route = respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [customer(1)], "total_items": 1}})
    result = run("call", "getCustomers", "-p", "email_list=a@x.cz,b@x.cz", "-p", "sort_direction=ASC")
    assert result.exit_code == 0, result.output
    assert "\n" not in result.stdout.strip()
    assert json.loads(result.stdout)["data"]["customers"][0]["customer_id"] == "c1"
    sent = route.calls[0].request.url
    assert sent.params.get_list("email_list[]") == ["a@x.cz", "b@x.cz"]
    assert sent.params["sort_direction"] == "ASC"
    assert PASSWORD not in result.output
    assert TOKEN not in result.output


@respx.mock
def test_the_command_pauses_the_collector_while_parsing_and_gives_the_setting_back() -> None:
    # The CLI owns its process, so it turns on carecloud_api.parsing.set_gc_pause for its run:
    # the collector is off while a response is parsed, and the setting is restored on exit.
    seen: list[bool] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(parsing.gc_pause)
        return httpx.Response(200, json={"data": customer(1)})

    mock_login(respx.mock)
    respx.get(f"{BASE}/customers/c1").mock(side_effect=record)
    assert parsing.gc_pause is False
    result = run("call", "GET /customers/c1")
    assert result.exit_code == 0, result.output
    assert seen == [True]
    assert parsing.gc_pause is False
    assert gc.isenabled()


@respx.mock
def test_call_pretty_on_request() -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers/c1").respond(200, json={"data": customer(1)})
    result = run("call", "GET /customers/c1", "--pretty")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("{\n  ")


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "code", "expected"),
    [
        (404, {"error": {"title": "Not Found", "exception": "record_not_found"}}, 5, "NotFound: 404 Not Found"),
        (
            400,
            {
                "error": {
                    "title": "Bad Request",
                    "exception": "invalid_params",
                    "error_data": {"invalid_params": [{"name": "email", "reason": "invalid_value_format"}]},
                }
            },
            6,
            "BadRequest: 400 Bad Request on GET",
        ),
        (503, None, 7, "ServiceUnavailable: 503"),
        (405, {"error": {"title": "Method Not Allowed"}}, 6, "MethodNotAllowed: 405"),
    ],
)
def test_api_errors_are_one_message_with_an_exit_code_per_class(
    status: int, body: dict[str, Any] | None, code: int, expected: str
) -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers").respond(status, json=body)
    result = run("call", "getCustomers")
    assert result.exit_code == code
    assert result.stdout == ""
    assert expected in result.stderr
    assert "Traceback" not in result.output
    if status == 400:
        assert "invalid params: email: invalid_value_format" in result.stderr
        assert "[invalid_params]" in result.stderr
    if status == 404:
        assert "[record_not_found]" in result.stderr


@respx.mock
def test_wrong_credentials_and_network_errors_have_their_own_exit_codes() -> None:
    respx.post(f"{BASE}/users/actions/login").respond(
        401, json={"error": {"title": "Unauthorized", "exception": "invalid_credentials"}}
    )
    result = run("auth", "check")
    assert result.exit_code == 4
    assert "AuthenticationError" in result.stderr
    assert PASSWORD not in result.output
    respx.post(f"{BASE}/users/actions/login").mock(side_effect=httpx.ConnectError("refused"))
    result = run("call", "getCustomers")
    assert result.exit_code == 8
    assert "NetworkError" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["call", "getCustomr"], None, 2, "did you mean getCustomer, getCustomers"),
        (["call", "getCustomers", "-p", "emial=x"], None, 2, "did you mean email?"),
        (["call", "postCustomerVerifyCredentials", "--body", "{nope"], None, 2, "the body is not valid JSON"),
        (["call", "getCustomers"], environment(), 3, "CARECLOUD_PROJECT_URL is not set"),
        (["export", "getCustomer", "--out", "x.jsonl"], None, 2, "is not a list operation; list operations: "),
        (["export", "getCustomers", "--out", "x.jsonl", "-p", "count=5"], None, 2, "set by the export itself"),
        (["export", "getCustomers", "--out", "x.jsonl", "-c", "99"], None, 2, "concurrency must be between 1 and 32"),
        (["export", "getCustomers", "--out", "x.txt", "-f", "xml"], None, 2, "format must be jsonl or csv"),
    ],
)
def test_bad_input_is_a_clear_message_and_a_nonzero_exit(
    args: list[str], env: dict[str, str | None] | None, code: int, message: str
) -> None:
    result = run(*args, env=env)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("operation", "body", "create"),
    [
        ("postCard", {}, lambda cc, body: cc.cards.create(body)),
        ("postCustomer", {"customer": {}}, lambda cc, body: cc.customers.create(body)),
        (
            "postCustomerVerifyCredentials",
            {"login_type": "emial", "login_value": "a@x.cz", "password": "pw"},
            lambda cc, body: cc.customers.verify_credentials(body),
        ),
    ],
)
def test_a_body_is_refused_with_the_message_python_gives(operation: str, body: Any, create: Any) -> None:
    """Issue: `carecloud call postCard --body '{}'` said "... missing the required field
    'PostCardBody.card is missing, and the spec requires it'"; an enum value had no "did you mean"."""

    async def in_python() -> RequestValidationError:
        async with client(ListServer(0)) as cc:
            with pytest.raises(RequestValidationError) as refused:
                await create(cc, body)
        return refused.value

    expected = asyncio.run(in_python())
    result = run("call", operation, "--body", json.dumps(body))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"RequestValidationError: {expected}"
    assert "is missing, and the spec requires it" not in result.stderr


def test_the_body_names_every_required_field_it_leaves_out_and_refuses_unknown_ones() -> None:
    assert run("call", "postCustomer", "--body", '{"customer": {}}').stderr.strip() == (
        "RequestValidationError: POST /customers: body: missing the required fields 'customer_source', 'autologin'"
    )
    result = run("call", "postCustomerVerifyCredentials", "--body", '{"login_type": "emial"}')
    assert "did you mean 'email'? (one of 'card', 'email')" not in result.stderr  # missing fields come first
    assert "missing the required fields 'login_value', 'password'" in result.stderr
    body = {"login_type": "email", "login_value": "a@x.cz", "password": "pw", "pasword": "pw"}
    result = run("call", "postCustomerVerifyCredentials", "--body", json.dumps(body))
    assert result.exit_code == 2
    assert "body: PostCustomerVerifyCredentialsBody has no field 'pasword'; did you mean 'password'?" in result.stderr


def test_the_other_api_is_refused_before_the_arguments_are_read() -> None:
    """Issue: on a Customer API command line, `call postCard --body '{}'` complained about the
    body; only a valid body reached the refusal that matters: the Customer API has no POST /cards."""
    env = environment(
        CARECLOUD_PROJECT_URL="demo.example.com",
        CARECLOUD_INTERFACE="customer",
        CARECLOUD_EXTERNAL_APPLICATION_ID="app-9",
        CARECLOUD_DEVICE_ID="kiosk-7",
    )
    refusal = "POST /cards is available only in the Enterprise API; this client uses the Customer API"
    for body in ("{}", "{nope"):
        result = run("call", "postCard", "--body", body, env=env)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"RequestValidationError: {refusal}"
    result = run("export", "getAudiences", "--out", "audiences.jsonl", "-p", "nmae=x", env=env)
    assert result.exit_code == 2, result.output
    assert "GET /audiences is available only in the Enterprise API" in result.stderr
    # On the Enterprise API the same command reads the arguments.
    assert (
        "has no parameter 'nmae'; did you mean name?"
        in run("export", "getAudiences", "--out", "a.jsonl", "-p", "nmae=x").stderr
    )


def test_an_operation_of_the_other_api_is_refused_before_sending() -> None:
    assert find_operation("postTokenLogout").interfaces == ("customer",)
    result = run("call", "postTokenLogout", "-p", "token_id=abc")
    assert result.exit_code == 2
    assert "available only in the Customer API" in result.stderr


# --------------------------------------------------------------------------- auth


@respx.mock
def test_auth_check_prints_the_expiry_in_the_project_zone_and_never_the_token() -> None:
    mock_login(respx.mock, valid_to="2099-07-01 12:30:00")
    result = run("auth", "check")
    assert result.exit_code == 0, result.output
    assert "token valid until 2099-07-01 12:30:00 Europe/Prague" in result.stdout
    assert TOKEN not in result.output
    assert PASSWORD not in result.output


@respx.mock
def test_auth_device_creates_into_a_token_file_and_shows_it_masked(tmp_path: Path) -> None:
    token_id = "4d8121de8b1c6d4c2b0e9a7f"
    create = respx.post(f"{CUSTOMER_BASE}/tokens").respond(201, json={"data": {"token_id": token_id}})
    env = environment(
        CARECLOUD_PROJECT_URL="demo.example.com",
        CARECLOUD_INTERFACE="customer",
        CARECLOUD_EXTERNAL_APPLICATION_ID="app-9",
        CARECLOUD_DEVICE_ID="kiosk-7",
        HOME=str(tmp_path),
    )
    result = run("--token-file", str(tmp_path / "tokens.json"), "auth", "device", env=env)
    assert result.exit_code == 0, result.output
    assert "no token stored" in result.stdout
    assert create.call_count == 0
    for expected in ("(created now)", "(stored)"):
        result = run("--token-file", str(tmp_path / "tokens.json"), "auth", "device", "--create", env=env)
        assert result.exit_code == 0, result.output
        assert f"token {'*' * (len(token_id) - 4)}9a7f {expected}" in result.stdout
        assert token_id not in result.output
    assert create.call_count == 1
    assert token_id in (tmp_path / "tokens.json").read_text()


@respx.mock
def test_customer_commands_keep_the_device_token_in_a_file_by_default(tmp_path: Path) -> None:
    # Each command is a new process: a token made per process would invalidate the one before.
    create = respx.post(f"{CUSTOMER_BASE}/tokens").respond(201, json={"data": {"token_id": "tok-123456789012"}})
    respx.get(f"{CUSTOMER_BASE}/customers/c1").respond(200, json={"data": customer(1)})
    env = environment(
        CARECLOUD_PROJECT_URL="demo.example.com",
        CARECLOUD_INTERFACE="customer",
        CARECLOUD_EXTERNAL_APPLICATION_ID="app-9",
        CARECLOUD_DEVICE_ID="kiosk-7",
        HOME=str(tmp_path),
    )
    for _ in range(2):
        result = run("call", "getCustomer", "-p", "customer_id=c1", env=env)
        assert result.exit_code == 0, result.output
    assert create.call_count == 1
    stored = tmp_path / ".carecloud" / "tokens.json"
    assert "tok-123456789012" in stored.read_text()
    assert stored.stat().st_mode & 0o777 == 0o600


async def test_a_throwaway_device_token_is_refused() -> None:
    from carecloud_async import Device, MemoryTokenStore
    from carecloud_async.cli import check_auth, device_token_state

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent: {request.url}")

    async with CareCloud.customer(
        "demo.example.com",
        external_application_id="app-9",
        device=Device("kiosk-7", "Linux", "Kiosk 7", "kiosk"),
        token_store=MemoryTokenStore(),
        transport=httpx.MockTransport(handler),
    ) as cc:
        with pytest.raises(RequestValidationError, match="set CARECLOUD_TOKEN_FILE"):
            await device_token_state(cc, create=True)
        with pytest.raises(RequestValidationError, match="set CARECLOUD_TOKEN_FILE"):
            await check_auth(cc)


def test_auth_device_is_for_the_customer_api_only() -> None:
    result = run("auth", "device")
    assert result.exit_code == 2
    assert "device tokens belong to the Customer API" in result.stderr


def test_mask_never_shows_more_than_four_characters() -> None:
    assert mask("abcdefghijklmnop") == "************mnop"
    assert mask("short") == "*****"


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigurationError("x"), 3),
        (RequestValidationError("x"), 2),
        (Unauthorized(status_code=401, message="x"), 4),
        (NotFound(status_code=404, message="x"), 5),
        (BadRequest(status_code=400, message="x"), 6),
        (ServiceUnavailable(status_code=503, message="x"), 7),
        (NetworkError("x"), 8),
        (KeyboardInterrupt(), 130),
        (RuntimeError("x"), 1),
    ],
)
def test_exit_code_per_error_class(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


# --------------------------------------------------------------------------- export (library, MockTransport)


class ListServer:
    def __init__(self, n: int, *, fail_at: int | None = None):
        self.items = [customer(i) for i in range(n)]
        self.fail_at = fail_at
        self.offsets: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/actions/login"):
            return httpx.Response(200, json={"data": {"bearer_token": TOKEN, "valid_to": "2099-01-01 00:00:00"}})
        count, offset = int(request.url.params["count"]), int(request.url.params["offset"])
        self.offsets.append(offset)
        if self.fail_at is not None and offset >= self.fail_at:
            return httpx.Response(500, json={"error": {"title": "boom"}})
        page = self.items[offset : offset + count]
        return httpx.Response(200, json={"data": {"customers": page, "total_items": len(self.items)}})


def client(server: ListServer) -> CareCloud:
    return CareCloud.enterprise(
        "demo.example.com",
        user_external_application_id="a",
        login="l",
        password="p",
        retry=RetryPolicy.disabled(),
        transport=httpx.MockTransport(server),
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_export_a_failure_midway_leaves_whole_items_and_resume_completes_it(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"customers.{fmt}"
    server = ListServer(250, fail_at=200)
    async with client(server) as cc:
        export = ListExport("getCustomers", path, page_size=50)
        with pytest.raises(Exception, match="500 boom"):
            await export.run(cc)
    assert export.written == 200
    assert len(read_back(path.read_text(), export.format)) == 200
    server.fail_at = None
    server.offsets.clear()
    async with client(server) as cc:
        resumed = ListExport("getCustomers", path, page_size=50, resume=True)
        summary = await resumed.run(cc)
    assert (summary.start, summary.written, summary.in_file, summary.total_items) == (200, 50, 250, 250)
    assert server.offsets == [200]
    items = read_back(path.read_text(), export.format)
    assert [row["customer_id"] for row in items] == [f"c{i}" for i in range(250)]


async def test_export_refuses_to_clobber_a_file_and_resume_checks_the_header(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RequestValidationError, match="exists: pass --resume"):
        ListExport("getCustomers", path)
    server = ListServer(3)
    async with client(server) as cc:
        with pytest.raises(RequestValidationError, match="other columns than this export"):
            await ListExport("getCustomers", path, resume=True).run(cc)
        summary = await ListExport("getCustomers", path, overwrite=True).run(cc)
    assert summary.in_file == 3


@pytest.mark.parametrize(
    ("name", "fmt", "shown"),
    [
        ("c.xlsx", None, "c.xlsx: cannot tell the format from '.xlsx'; name the file .jsonl or .csv"),
        ("c.json", None, "c.json: cannot tell the format from '.json'"),
        ("customers", None, "customers: cannot tell the format without a file name ending"),
        ("c.xlsx", "jsonl", None),
        ("c.ndjson", None, None),
        ("C.CSV", None, None),
    ],
)
def test_the_format_is_given_or_said_by_the_file_name(
    tmp_path: Path, name: str, fmt: str | None, shown: str | None
) -> None:
    """Issue: `--out c.xlsx` wrote JSON Lines into c.xlsx without a word."""
    if shown is None:
        assert ListExport("getCustomers", tmp_path / name, fmt=fmt).format == (
            fmt or ("csv" if name.endswith("CSV") else "jsonl")
        )
        return
    with pytest.raises(RequestValidationError) as refused:
        ListExport("getCustomers", tmp_path / name, fmt=fmt)
    assert str(refused.value).startswith(str(tmp_path / shown))
    assert str(refused.value).endswith("or pass --format jsonl or --format csv")


def test_export_refuses_a_missing_folder_or_a_guessed_format_and_creates_nothing(tmp_path: Path) -> None:
    """Issue: `--out /nonexistent/dir/c.jsonl` created the folders; `--out c.xlsx` wrote JSON Lines."""
    missing = tmp_path / "nonexistent" / "dir"
    result = run("export", "getCustomers", "--out", str(missing / "c.jsonl"))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"RequestValidationError: {missing / 'c.jsonl'}: the folder {missing} does not exist; create it first"
    )
    result = run("export", "getCustomers", "--out", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 2, result.output
    assert "cannot tell the format from '.xlsx'" in result.stderr
    assert list(tmp_path.iterdir()) == []


@respx.mock
def test_export_writes_json_lines_into_a_file_named_otherwise_when_the_format_is_given(tmp_path: Path) -> None:
    mock_login(respx.mock)
    respx.get(f"{BASE}/customers").respond(200, json={"data": {"customers": [customer(1)], "total_items": 1}})
    result = run("export", "getCustomers", "--out", str(tmp_path / "c.txt"), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert read_back((tmp_path / "c.txt").read_text(), "jsonl") == [customer(1)]


def test_a_torn_last_line_is_cut_off_on_resume(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'{"a":1}\n{"a":2}\n{"a":')
    assert existing_items(jsonl, "jsonl") == 2
    assert jsonl.read_bytes() == b'{"a":1}\n{"a":2}\n'
    columns = csv_columns(find_operation("getCustomers"))
    rows = [",".join(columns), "c1" + "," * (len(columns) - 1), '"multi\nline"' + "," * (len(columns) - 1)]
    table = tmp_path / "a.csv"
    table.write_text("\n".join(rows) + "\n" + "c3,half")
    assert existing_items(table, "csv", columns) == 2
    assert table.read_text().endswith('"multi\nline"' + "," * (len(columns) - 1) + "\n")


def test_csv_columns_cover_every_field_of_every_list_item_model() -> None:
    # A fully filled item's JSON spread over the header leaves nothing in unknown_fields: the
    # header names the JSON keys (type, from, credits: not the Python names type_, from_, credits_).
    lists = search_operations(kind="list")
    assert len(lists) == 111
    for op in lists:
        columns = csv_columns(op)
        assert columns[-1] == "unknown_fields"
        assert len(set(columns)) == len(columns), op.operation_id
        assert not any(c.endswith("_") and c[:-1] in ("type", "from", "credits", "zip") for c in columns)
    columns = csv_columns(find_operation("getCustomers"))
    row = flatten_row(customer(7) | {"brand_new": {"x": 1}}, columns)
    cells = dict(zip(columns, row, strict=True))
    assert cells["customer_id"] == "c7"
    assert cells["personal_information.address.city"] == "Brno"
    assert cells["state"] == "1"
    assert json.loads(cells["unknown_fields"]) == {"brand_new": {"x": 1}}


def test_the_csv_is_read_back_with_the_csv_module(tmp_path: Path) -> None:
    import csv

    async def walk() -> None:
        async with client(ListServer(5)) as cc:
            await ListExport("getCustomers", tmp_path / "c.csv").run(cc)

    import asyncio

    asyncio.run(walk())
    with (tmp_path / "c.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["personal_information.first_name"] for r in rows] == [f"Jane {i}" for i in range(5)]
    assert Customer.from_dict(customer(0)).personal_information.first_name == rows[0]["personal_information.first_name"]


async def test_call_operation_is_the_library_call_behind_carecloud_call() -> None:
    async with client(ListServer(2)) as cc:
        answer = await call_operation(cc, "GET /customers", ["count=1"])
    assert answer == {"data": {"customers": [customer(0)], "total_items": 2}}


def test_importing_the_library_or_its_cli_functions_loads_neither_typer_nor_rich() -> None:
    # httpx itself imports click, rich and pygments for its own command line when all three are
    # installed (uvicorn brings click into the dev environment), so what counts is what our
    # modules load beyond `import httpx` in the same interpreter.
    code = (
        "import sys; heavy = {'typer', 'rich', 'yaml', 'click', 'pygments'}; "
        "loaded = lambda: {m.split('.')[0] for m in sys.modules} & heavy; "
        "import httpx; before = loaded(); "
        "import carecloud_async, carecloud_async.cli; from carecloud_async import CareCloud; "
        "print(sorted(loaded() - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "name",
    [
        "carecloud_async.cli._operations",
        "carecloud_async.cli._call",
        "carecloud_async.cli._export",
        "carecloud_async.cli._settings",
        "carecloud_async.cli._exit_codes",
        "carecloud_async.cli._auth_info",
        "carecloud_async._spec_diff",
    ],
)
def test_docstring_examples_of_the_cli_modules(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0


def test_spec_diff_report_and_json_lines(tmp_path: Path) -> None:
    def spec(*operations: str) -> dict[str, Any]:
        paths = {
            f"/{name}": {"get": {"operationId": name, "responses": {"200": {"description": "ok"}}}}
            for name in operations
        }
        return {"openapi": "3.0.2", "info": {"title": "t", "version": "1"}, "paths": paths}

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(spec("kept", "dropped")))
    new.write_text(json.dumps(spec("kept", "added")))
    result = run("spec", "diff", str(old), str(new))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# CareCloud API spec update")
    assert "**BREAKING** `GET /dropped` (dropped) removed" in result.stdout
    assert "`GET /added` (added) added" in result.stdout
    assert "0.1.0 -> 0.2.0" in result.stdout  # breaking while 0.x: minor
    lines = run("spec", "diff", str(old), str(new), "--json").stdout.splitlines()
    changes = sorted((c["path"], c["kind"], c["breaking"]) for c in map(json.loads, lines))
    assert changes == [("/added", "added", False), ("/dropped", "removed", True)]
    missing = run("spec", "diff", str(tmp_path / "nope.yaml"), str(new))
    assert missing.exit_code == 1
    assert "FileNotFoundError" in missing.stderr
    assert "Traceback" not in missing.output


@pytest.mark.parametrize(
    ("operation", "text", "accepted"),
    [
        ("getSubCustomerPurchases", "payment_time_from=2026-11-29 08:00:00", True),
        ("getSubCustomerPurchases", "payment_time_from=2026-11-29T08:00:00", True),
        ("getSubCustomerPurchases", "payment_time_from=2026-11-29", False),
        ("getSubCustomerPurchases", "payment_time_to=2026-11-31 08:00:00", False),  # no such day
        ("getWalletPoints", "date_from=2026-11-29", True),
        ("getWalletPoints", "date_from=29.11.2026", False),
        ("getCustomers", "birthdate=29.02.2000", True),
        ("getCustomers", "birthdate=1990-01-31", True),
        ("getCustomers", "birthdate=31/01/1990", False),
        ("getEntrances", "valid_from=2026-11-29", True),
        ("getEntrances", "valid_from=2026-11-29 10:00:00", True),
        ("getEntrances", "valid_from=tomorrow", False),
    ],
)
def test_date_filters_are_checked_against_the_formats_the_spec_describes(
    operation: str, text: str, accepted: bool
) -> None:
    op = find_operation(operation)
    needs_customer = any(p.name == "customer_id" and p.required for p in parameters_of(op))
    given = [text] + (["customer_id=c1"] if needs_customer else [])
    if accepted:
        arguments = parse_arguments(op, given)
        assert text.partition("=")[2] in arguments.kwargs.values()
    else:
        with pytest.raises(RequestValidationError, match=f"{text.partition('=')[0]} must be a date as "):
            parse_arguments(op, given)


@pytest.mark.parametrize("command", [["--help"], ["export", "--help"]])
def test_the_recorded_session_in_the_docs_shows_the_current_help(command: list[str]) -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "cli.md").read_text(encoding="utf-8")
    prompt = "$ carecloud " + " ".join(command) + "\n"
    start = page.index(prompt) + len(prompt)
    recorded = page[start : page.index("\n```", start)]
    shown = run(*command, env={**environment(), "COLUMNS": "100"}).stdout
    assert shown.split() == recorded.split()  # the same text; line breaks depend on the terminal


async def test_a_refused_first_request_leaves_no_file_and_an_empty_list_a_valid_one(tmp_path: Path) -> None:
    async with client(ListServer(10, fail_at=0)) as cc:
        with pytest.raises(Exception, match="500 boom"):
            await ListExport("getCustomers", tmp_path / "refused.csv").run(cc)
    assert not (tmp_path / "refused.csv").exists()
    async with client(ListServer(0)) as cc:
        summary = await ListExport("getCustomers", tmp_path / "empty.csv").run(cc)
    assert summary.written == 0
    assert (tmp_path / "empty.csv").read_text().splitlines() == [",".join(csv_columns(find_operation("getCustomers")))]


@respx.mock
def test_call_reads_the_body_from_stdin() -> None:
    mock_login(respx.mock)
    route = respx.post(f"{BASE}/customers/actions/verify-credentials").respond(
        200, json={"data": {"customer_id": "c9"}}
    )
    body = json.dumps({"login_type": "email", "login_value": "jane@example.com", "password": "pw"})
    result = run("call", "postCustomerVerifyCredentials", "--body", "@-", stdin=body)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"data": {"customer_id": "c9"}}
    assert json.loads(route.calls[0].request.content) == json.loads(body)
