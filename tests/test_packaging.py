"""The wheel users install: built from this tree, installed alone into a fresh virtualenv (its
run-time dependencies from the package index, nothing of ours), then used.

It catches what the editable dev install hides: a file left out of the wheel (``py.typed``), a
run-time import of a dev-only package (PyYAML, ``scripts``), a dependency missing from
``pyproject.toml``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SMOKE = """\
import asyncio
import importlib.resources
import sys

import httpx
from carecloud_api.api.customers import get_customers
from carecloud_api.models import Customer

from carecloud_async import CareCloud


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/users/actions/login"):
        return httpx.Response(200, json={"data": {"bearer_token": "t", "valid_to": "2099-01-01 00:00:00"}})
    item = {"customer_id": "c1", "personal_information": {"language_id": "en"}}
    return httpx.Response(200, json={"data": {"customers": [item], "total_items": 1}})


async def main() -> None:
    async with CareCloud.enterprise(
        "demo.example.com", user_external_application_id="a", login="l", password="p",
        transport=httpx.MockTransport(handler),
    ) as cc:
        ids = [c.customer_id async for c in cc.paginate(get_customers, item_type=Customer)]
    print("ids", ids)


asyncio.run(main())


async def fake() -> None:
    # The shipped fake runs from the wheel alone: its contract (carecloud_api/_contract.json) is in it.
    from carecloud_async.testing import FakeCareCloud

    fake = FakeCareCloud()
    fake.customers.create(email="jane@example.com")
    async with fake.enterprise_client() as cc:
        page = await cc.call(get_customers, email="jane@example.com")
    print("fake", page.data.total_items)


asyncio.run(fake())
from importlib.metadata import entry_points

print("pytest11", [e.value for e in entry_points(group="pytest11") if e.name == "carecloud_async"])
for package in ("carecloud_api", "carecloud_async"):
    print("typed", package, importlib.resources.files(package).joinpath("py.typed").is_file())
print("dev modules", sorted({m.split(".")[0] for m in sys.modules} & {"yaml", "scripts", "respx", "pytest"}))
"""


def run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, env=os.environ.copy())  # noqa: S603
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_wheel_works_on_its_own(tmp_path: Path) -> None:
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(tmp_path)], ROOT)
    (wheel,) = tmp_path.glob("carecloud_async-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {
        "carecloud_api/py.typed",
        "carecloud_async/py.typed",
        "carecloud_api/_catalog.py",
        "carecloud_api/_contract.json",
    } <= set(names)
    assert not [name for name in names if name.startswith(("scripts/", "tests/", "generated/"))]

    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)
    (tmp_path / "smoke.py").write_text(SMOKE, encoding="utf-8")
    output = run([str(python), "smoke.py"], tmp_path).splitlines()  # cwd outside the tree: nothing of ours on the path
    assert output == [
        "ids ['c1']",
        "fake 1",
        "pytest11 ['carecloud_async.testing.pytest_plugin']",
        "typed carecloud_api True",
        "typed carecloud_async True",
        "dev modules []",
    ]
