"""The README's examples, and those of the docs site's pages marked as tested, run against the
Prism mock. A ```python block after a ``<!-- tested: enterprise -->`` marker is run as the body of
``async def snippet(cc)`` with a logged-in ``CareCloud``; one after ``<!-- tested: script -->``
(the quickstarts of the README and of the getting-started pages) is run as it is, in a fresh
interpreter outside the tree, with only the project domain pointed at the mock; one after
``<!-- tested: app -->`` (the FastAPI and aiohttp snippets of the frameworks guide) is run as it
is, with ``CARECLOUD_*`` pointing at the mock, and the ``app`` it defines is served and asked for
a customer. The run commands the frameworks guide
gives for the example apps are run too, on a free loopback port.

One after ``<!-- tested: pytest -->`` (the testing guide) is a test file: it is run with pytest
outside the tree, its fixtures coming from the installed plugin.

Every marked block also passes ``mypy --strict`` as written (an ``enterprise`` block as the body
of ``async def snippet(cc: EnterpriseCareCloud) -> None``), as a user's project would check it.

The pages and sections the issues ask a runnable example of (pagination, actions, workflows, ...)
must each hold one, so an example cannot silently stop being tested; and the README stays a
first day's page (issue 26): at most ``README_MAX_LINES`` lines, the rest on the docs site.
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

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_MAX_LINES = 250
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
MARKED = re.compile(r"^<!-- tested: (?P<interface>\w+)[^\n]*-->\n```python\n(?P<code>.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: str  # README.md or docs/...
    section: str
    line: int
    interface: str
    code: str

    @property
    def path(self) -> Path:
        return ROOT / self.page


def page_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in MARKED.finditer(text):
        before = text[: match.start()]
        section = re.findall(r"^##? (.+)$", before, re.M)[-1]
        line = before.count("\n") + 3  # the first line of code
        found.append(Block(path.relative_to(ROOT).as_posix(), section, line, match["interface"], match["code"]))
    return found


def blocks() -> list[Block]:
    return [block for path in PAGES for block in page_blocks(path)]


def test_the_readme_is_a_first_days_page() -> None:
    # Issue 26: what it is, install, the two commands, a quickstart per API and a feature list
    # linking to the docs site; guides, reference and measured figures live on the site.
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines, more than {README_MAX_LINES}: move text to docs/"
    headings = re.findall(r"^## (.+)$", README.read_text(encoding="utf-8"), re.M)
    assert headings == [
        "Install",
        "The two commands",
        "Quickstart: Enterprise API (POS, e-shop, BI, kiosks)",
        "Quickstart: Customer API (mobile apps, microsites)",
        "Features",
    ], headings


def test_the_readmes_links_to_the_docs_reach_pages_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs|examples)/[^)#]+)(?:#[^)]*)?\)", text)
    assert len(targets) >= 15, targets
    missing = [target for target in targets if not (ROOT / target).is_file()]
    assert missing == []
    guide = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs" / "guide").glob("*.md")}
    assert guide <= set(targets), f"guide pages the README's feature list does not link: {sorted(guide - set(targets))}"


def test_the_pages_with_examples_have_tested_ones() -> None:
    found = {(block.page, block.section) for block in blocks()}
    assert {
        ("docs/guide/pagination.md", "Pagination"),
        ("docs/guide/actions.md", "Action methods"),
        ("docs/guide/actions.md", "Workflow helpers for the vendor's use cases"),
        ("docs/guide/workflows.md", "Updating records without losing data"),
        ("docs/guide/resources.md", "Per-call options"),
        ("docs/guide/resources.md", "Raw responses"),
        ("docs/guide/models.md", "Optional fields and `Unset`"),
        ("docs/guide/models.md", "Strict parsing for tests"),
        ("docs/guide/models.md", "Updating records"),
        ("docs/guide/caching.md", "The HTTP cache"),
        ("docs/guide/cli.md", "At a glance"),
        ("docs/guide/outbox.md", "Quick start"),
    } <= found, found
    assert {block.interface for block in blocks()} == {"enterprise", "script", "app", "pytest"}
    assert [(b.page, b.section) for b in blocks() if b.interface == "pytest"] == [
        ("docs/guide/testing.md", "With pytest")
    ]
    apps = [(b.page, b.section) for b in blocks() if b.interface == "app"]
    assert apps == [("docs/guide/frameworks.md", "FastAPI"), ("docs/guide/frameworks.md", "aiohttp")]
    quickstarts = [(b.page, b.section) for b in blocks() if b.interface == "script"]
    assert quickstarts == [
        ("README.md", "Quickstart: Enterprise API (POS, e-shop, BI, kiosks)"),
        ("README.md", "Quickstart: Customer API (mobile apps, microsites)"),
        ("docs/getting-started/customer.md", "First calls"),
        ("docs/getting-started/enterprise.md", "First calls"),
    ]


def test_a_marker_must_sit_right_above_its_block() -> None:
    # A marker separated from its block by anything (a blank line, text) would leave the block
    # untested without a word: every marker on every page must be followed by its block.
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        markers = len(re.findall(r"^<!-- tested: ", text, re.M))
        assert markers == len(page_blocks(path)), path


# An ``enterprise`` block is the body of this function for mypy, as it is at run time.
SNIPPET_HEADER = (
    "from carecloud_async import EnterpriseCareCloud\n\n\nasync def snippet(cc: EnterpriseCareCloud) -> None:\n"
)
MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)$", re.M)


def typecheck_source(block: Block) -> tuple[str, int]:
    """The block as mypy checks it, and how many lines were put before its first line."""
    if block.interface == "enterprise":
        return SNIPPET_HEADER + textwrap.indent(block.code, "    "), SNIPPET_HEADER.count("\n")
    return block.code, 0


def test_every_tested_example_passes_mypy_strict(tmp_path: Path) -> None:
    # A user copies these blocks into a project checked by `mypy --strict`: they must pass as
    # written. One mypy run over all of them (the project's pinned mypy, its configuration and its
    # cache, which `make typecheck` has filled: about a second then, about 17 s from an empty
    # cache), each failure named by page, section and line.
    found = blocks()
    files: dict[str, tuple[Block, int]] = {}
    for number, block in enumerate(found):
        source, offset = typecheck_source(block)
        path = tmp_path / f"doc_example_{number:02d}.py"
        path.write_text(source, encoding="utf-8")
        files[str(path)] = (block, offset)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml", "--cache-dir", ".mypy_cache"]
    result = subprocess.run(  # noqa: S603 (our own interpreter and pages)
        [*mypy, *files],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    failures = []
    for match in MYPY_LINE.finditer(result.stdout):
        block, offset = files[match["file"]]
        line = block.line + int(match["line"]) - 1 - offset
        failures.append(
            f"{block.page}:{line} ({block.section}, {block.interface}): {match['kind']}: {match['message']}"
        )
    assert failures == [], "examples that fail mypy --strict:\n" + "\n".join(sorted(failures))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Success: no issues found in {len(files)} source files" in result.stdout, result.stdout


@pytest.mark.parametrize("block", [b for b in blocks() if b.interface == "script"], ids=lambda b: f"{b.page}:{b.line}")
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


@pytest.mark.parametrize("block", [b for b in blocks() if b.interface == "pytest"], ids=lambda b: f"{b.page}:{b.line}")
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
    "block", [b for b in blocks() if b.interface == "enterprise"], ids=lambda b: f"{b.page}:{b.line}"
)
async def test_readme_example_runs(block: Block, prism: mock_server.PrismServer) -> None:
    source = "async def snippet(cc):\n" + textwrap.indent(block.code, "    ") + "    return locals()\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{block.path}:{block.line}", "exec"), namespace)  # noqa: S102 (our own pages)
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


@pytest.mark.parametrize("block", [b for b in blocks() if b.interface == "app"], ids=lambda b: f"{b.page}:{b.line}")
def test_readme_app_snippet_serves_a_customer(
    block: Block, prism: mock_server.PrismServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**MOCK_ENV, "CARECLOUD_PROJECT_URL": prism.root_url}.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "readme_app"}
    exec(compile(block.code, f"{block.path}:{block.line}", "exec"), namespace)  # noqa: S102 (our own pages)
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


FRAMEWORKS = ROOT / "docs" / "guide" / "frameworks.md"


def run_commands() -> dict[str, str]:
    """The commands the frameworks guide gives for running the example apps, by app module."""
    text = FRAMEWORKS.read_text(encoding="utf-8")
    commands = re.findall(r"`(\.venv/bin/(?:uvicorn|python -m) (examples\.\w+)[^`]*)`", text)
    return {module: command for command, module in commands}


def test_the_guide_gives_a_run_command_for_each_example_app() -> None:
    assert set(run_commands()) == {"examples.fastapi_app", "examples.aiohttp_app"}


@pytest.mark.parametrize("module", ["examples.fastapi_app", "examples.aiohttp_app"])
def test_guide_run_command_of_an_example_app_works(module: str, prism: mock_server.PrismServer, tmp_path: Path) -> None:
    command = run_commands()[module].split()
    root = ROOT
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
