"""The README's examples run against the Prism mock. A ```python block after a
``<!-- tested: enterprise -->`` marker is run as the body of ``async def snippet(cc)`` with a
logged-in ``CareCloud``; one after ``<!-- tested: script -->`` (the quickstarts) is run as it is,
in a fresh interpreter outside the tree, with only the project domain pointed at the mock.

The sections the issues ask a runnable example of (pagination, actions, workflows) must each
hold one, so an example cannot silently stop being tested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from carecloud_async import CareCloud, RetryPolicy
from scripts import mock_server

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
    assert {block.interface for block in blocks()} == {"enterprise", "script"}
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
