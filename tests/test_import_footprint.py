"""What importing the client loads, pinned: a module that comes back at import time fails here,
not in a timed test (the timing itself is ``make bench-import``, issue 15).

Each check runs in a fresh interpreter (this venv's), because this test process has long since
imported everything. httpx's optional command line (click, rich, pygments) is blocked there as in
the benchmark, so that what httpx itself loads does not depend on what else is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK_HTTPX_CLI = "import sys; sys.modules['click'] = None\n"

# Loaded where they run, not by `from carecloud_async import CareCloud` (see docs/guide/measured.md, "Import cost").
NOT_ON_IMPORT = (
    "asyncio",  # ~12 ms; httpx does not import it either: the event loop's owner does
    "tenacity",  # ~6 ms; only a retry needs it
    "zoneinfo",  # an Enterprise auth looks its time zone up when it is built
    "difflib",  # words one error message
    "carecloud_async._customer_auth",  # each factory imports its own auth
    "carecloud_async._enterprise_auth",
    "carecloud_async._pagination",  # paginate() imports it
    "carecloud_async._arguments",  # the first call's argument check imports it (about 1.4 ms)
    "carecloud_async._type_hints",  # with _arguments and _pagination
    "opentelemetry",  # a client with tracing on imports it when it is made (issue 25)
    "carecloud_async._telemetry",
)


def added_modules(setup: str, code: str) -> set[str]:
    """The modules that ``code`` adds to ``sys.modules`` after ``setup``, in a fresh interpreter."""
    script = BLOCK_HTTPX_CLI + setup + "\nbefore = set(sys.modules)\n" + code
    script += "\nimport json\nprint(json.dumps(sorted(set(sys.modules) - before)))\n"
    result = subprocess.run(  # noqa: S603 (our own code, this interpreter)
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    names: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return set(names)


def test_importing_the_client_and_one_endpoint_loads_none_of_the_run_time_modules() -> None:
    added = added_modules(
        "import httpx", "from carecloud_async import CareCloud\nfrom carecloud_api.api.customers import get_customers"
    )
    assert "carecloud_async._client" in added  # the import did happen: the check below is not vacuous
    assert sorted(set(NOT_ON_IMPORT) & added) == []


@pytest.mark.parametrize("name", NOT_ON_IMPORT)
def test_httpx_alone_does_not_load_it_either(name: str) -> None:
    # Otherwise the test above would pass whatever our import does.
    assert name not in added_modules("", "import httpx")


def test_tenacity_loads_on_the_first_retry_only() -> None:
    code = textwrap.dedent(
        """
        import asyncio
        import httpx
        from carecloud_async import RetryPolicy, RetryTransport

        statuses = iter([200, 503, 200])

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(next(statuses))

        async def no_wait(seconds: float) -> None:
            pass

        async def main() -> None:
            transport = RetryTransport(httpx.MockTransport(answer), RetryPolicy(max_attempts=3), sleep=no_wait)
            async with httpx.AsyncClient(transport=transport) as client:
                assert (await client.get("https://example.test/a")).status_code == 200
                assert "tenacity" not in sys.modules, "a call that needs no retry loaded tenacity"
                assert (await client.get("https://example.test/b")).status_code == 200  # after one 503

        asyncio.run(main())
        """
    )
    assert "tenacity" in added_modules("", code)


def test_the_client_never_loads_the_fake() -> None:
    # carecloud_async.testing (the fake CareCloud) costs nothing to users who do not import it.
    added = added_modules("import httpx", "from carecloud_async import CareCloud\nCareCloud.enterprise")
    assert "carecloud_async._client" in added
    assert sorted(name for name in added if name.startswith("carecloud_async.testing")) == []


def test_the_pytest_plugin_loads_neither_the_fake_nor_the_client() -> None:
    # pytest loads the plugin (entry point pytest11) in every session of a project that installs
    # carecloud-async: until a fixture runs it must load nothing of ours beyond itself.
    added = added_modules("import pytest", "import carecloud_async.testing.pytest_plugin")
    assert "carecloud_async.testing.pytest_plugin" in added
    heavy = {"carecloud_async.testing._fake", "carecloud_async._client", "carecloud_api", "httpx"}
    assert sorted(heavy & added) == []


def test_the_fake_loads_its_contract_only_when_built() -> None:
    added = added_modules("import httpx", "from carecloud_async.testing import FakeCareCloud")
    assert "carecloud_async.testing._fake" in added
    assert "carecloud_async._client" not in added  # the client loads with enterprise_client()


# ---------------------------------------------------------------- OpenTelemetry (issue 25)


def modules_after(code: str) -> dict[str, bool]:
    """Every module in ``sys.modules`` after ``code`` (fresh interpreter): True if really loaded,
    False if blocked (``sys.modules[name] = None``)."""
    script = BLOCK_HTTPX_CLI + textwrap.dedent(code)
    script += "\nimport json\nprint(json.dumps({n: sys.modules[n] is not None for n in sys.modules}))\n"
    result = subprocess.run(  # noqa: S603 (our own code, this interpreter)
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


A_CALL = """
import asyncio, httpx
from carecloud_api.api.customers import get_customers
from carecloud_async import CareCloud

def answer(request):
    if request.url.path.endswith("/login"):
        return httpx.Response(200, json={"data": {"bearer_token": "b", "valid_to": "2099-01-01 00:00:00"}})
    return httpx.Response(200, json={"data": {"customers": [], "total_items": 0}})

async def main():
    async with CareCloud.enterprise("p.example", user_external_application_id="a", login="l", password="p",
                                    transport=httpx.MockTransport(answer), TRACING) as cc:
        await cc.call(get_customers.call, count=1)
        async for _ in cc.paginate(get_customers):
            pass

asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("setup", "tracing", "imported"),
    [
        ("sys.modules['opentelemetry'] = None", "tracing=True", False),  # not installed
        ("", "tracing=False", False),  # installed, turned off
        ("", "tracing=True", True),  # the control: installed and on, it is used
    ],
)
def test_a_call_imports_opentelemetry_only_when_installed_and_on(setup: str, tracing: str, imported: bool) -> None:
    loaded = modules_after(setup + "\n" + A_CALL.replace("TRACING", tracing))
    assert "carecloud_async._observe" in loaded
    assert loaded.get("opentelemetry", False) is imported
    assert loaded.get("carecloud_async._telemetry", False) is imported
