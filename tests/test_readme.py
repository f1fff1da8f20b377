"""The README's examples run against the Prism mock. A ```python block after a
``<!-- tested: enterprise -->`` marker is run as the body of ``async def snippet(cc)`` with a
logged-in ``CareCloud``; one after ``<!-- tested: script -->`` (the quickstarts) is run as it is,
in a fresh interpreter outside the tree, with only the project domain pointed at the mock; one
after ``<!-- tested: app -->`` (the FastAPI and aiohttp snippets) is run as it is, with
``CARECLOUD_*`` pointing at the mock, and the ``app`` it defines is served and asked for a customer.
The run commands the README gives for the example apps are run too, on a free loopback port.

One after ``<!-- tested: pytest -->`` (Testing your integration) is a test file: it is run with
pytest outside the tree, its fixtures coming from the installed plugin.

The sections the issues ask a runnable example of (pagination, actions, workflows) must each
hold one, so an example cannot silently stop being tested.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from carecloud_async import CareCloud, RetryPolicy
from scripts import mock_server, server_process

README = Path(__file__).resolve().parents[1] / "README.md"
MARKED = re.compile(r"^<!-- tested: (?P<interface>\w+)[^\n]*-->\n```python\n(?P<code>.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Block:
    section: str
    line: int
    interface: str
    code: str


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in MARKED.finditer(text):
        before = text[: match.start()]
        section = re.findall(r"^## (.+)$", before, re.M)[-1]
        line = before.count("\n") + 3  # the first line of code
        found.append(Block(section, line, match["interface"], match["code"]))
    return found


def test_the_sections_with_examples_have_tested_ones() -> None:
    sections = {block.section for block in blocks()}
    assert {"Pagination", "Actions", "Workflows"} <= sections, sections
    assert {block.interface for block in blocks()} == {"enterprise", "script", "app", "pytest"}
    assert [block.section for block in blocks() if block.interface == "pytest"] == ["Testing your integration"]
    apps = [block.section for block in blocks() if block.interface == "app"]
    assert apps == ["Using it in FastAPI and aiohttp"] * 2
    quickstarts = [block.section for block in blocks() if block.interface == "script"]
    assert quickstarts == [
        "Quickstart: Enterprise API (POS, e-shop, BI, kiosks)",
        "Quickstart: Customer API (mobile apps, microsites)",
    ]


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.interface == "script"], ids=lambda b: f"{b.section}:{b.line}"
)
def test_readme_quickstart_runs(block: Block, prism: mock_server.PrismServer, tmp_path: Path) -> None:
    assert '"demo.crmcarecloud.com"' in block.code
    script = tmp_path / "quickstart.py"
    script.write_text(block.code.replace('"demo.crmcarecloud.com"', repr(prism.root_url)), encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(tmp_path),  # the Customer quickstart keeps its device token in ~/.carecloud
        "CARECLOUD_PASSWORD": "prism-password",
        "CUSTOMER_PASSWORD": "prism-password",
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter and README)
        [sys.executable, str(script)], capture_output=True, text=True, check=False, cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip(), "the quickstart printed nothing"
    if "FileTokenStore" in block.code:
        assert (tmp_path / ".carecloud" / "tokens.json").is_file()  # the device token was kept


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.interface == "pytest"], ids=lambda b: f"{b.section}:{b.line}"
)
def test_readme_pytest_example_passes_with_the_installed_plugin(block: Block, tmp_path: Path) -> None:
    # Outside the tree, with pytest-asyncio in its default (strict) mode: the fixtures come from
    # the pytest11 entry point of the installed package, as in a user's project.
    (tmp_path / "test_readme_example.py").write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b[1-9]\d* passed", result.stdout), result.stdout


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.interface == "enterprise"], ids=lambda b: f"{b.section}:{b.line}"
)
async def test_readme_example_runs(block: Block, prism: mock_server.PrismServer) -> None:
    source = "async def snippet(cc):\n" + textwrap.indent(block.code, "    ") + "    return locals()\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{README}:{block.line}", "exec"), namespace)  # noqa: S102 (our own README)
    async with CareCloud.enterprise(
        prism.root_url,
        user_external_application_id="89d1a6111b3fb6e74665d948",
        login="readme@example.com",
        password="prism-password",
        retry=RetryPolicy.disabled(),
    ) as cc:
        names = await namespace["snippet"](cc)
    assert "cc" in names  # it ran to the end


MOCK_ENV = {
    "CARECLOUD_USER_EXTERNAL_APPLICATION_ID": "89d1a6111b3fb6e74665d948",
    "CARECLOUD_LOGIN": "readme@example.com",
    "CARECLOUD_PASSWORD": "prism-password",
    "CARECLOUD_MAX_ATTEMPTS": "1",
}
CUSTOMER_ID = "8bed991c68a470e7aaeffbf048"


@pytest.mark.parametrize("block", [b for b in blocks() if b.interface == "app"], ids=lambda b: f"{b.section}:{b.line}")
def test_readme_app_snippet_serves_a_customer(
    block: Block, prism: mock_server.PrismServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**MOCK_ENV, "CARECLOUD_PROJECT_URL": prism.root_url}.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "readme_app"}
    exec(compile(block.code, f"{README}:{block.line}", "exec"), namespace)  # noqa: S102 (our own README)
    app = namespace["app"]
    if "from fastapi" in block.code:
        body = asyncio.run(_fastapi_get(app, f"/customers/{CUSTOMER_ID}"))
    else:
        body = asyncio.run(_aiohttp_get(app, f"/customers/{CUSTOMER_ID}"))
    assert body["data"]["customer_id"], body  # the snippets answer the whole response model


async def _fastapi_get(app: Any, path: str) -> Any:
    async with app.router.lifespan_context(app):  # startup makes the client, shutdown closes it
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def _aiohttp_get(app: Any, path: str) -> Any:
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        response = await client.get(path)
        assert response.status == 200, await response.text()
        return await response.json()


def run_commands() -> dict[str, str]:
    """The commands the README gives for running the example apps, by app module."""
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"`(\.venv/bin/(?:uvicorn|python -m) (examples\.\w+)[^`]*)`", text)
    return {module: command for command, module in commands}


def test_the_readme_gives_a_run_command_for_each_example_app() -> None:
    assert set(run_commands()) == {"examples.fastapi_app", "examples.aiohttp_app"}


@pytest.mark.parametrize("module", ["examples.fastapi_app", "examples.aiohttp_app"])
def test_readme_run_command_of_an_example_app_works(
    module: str, prism: mock_server.PrismServer, tmp_path: Path
) -> None:
    command = run_commands()[module].split()
    root = README.parent
    assert (root / command[0]).is_file(), f"{command[0]} is missing after `make install`"
    port = server_process.free_port()
    env = {**os.environ, **MOCK_ENV, "CARECLOUD_PROJECT_URL": prism.root_url}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 (our own venv and README)
        [str(root / command[0]), *command[1:], "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        body = _poll_json(f"http://127.0.0.1:{port}/customers/{CUSTOMER_ID}", server)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
    assert body["customer_id"], (tmp_path / "server.log").read_text()


def _poll_json(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited with status {server.returncode}"
        try:
            response = httpx.get(url, timeout=5.0)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        assert response.status_code == 200, response.text
        return response.json()
    raise AssertionError(f"nothing answered on {url} within {timeout:.0f} s")
