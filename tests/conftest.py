"""Shared fixtures. ``prism``: one Prism mock server per test session (scripts/mock_server.py);
``spec``: the pinned spec, normalised (tests/pinned_spec.py); ``modules``: the generated endpoint
modules by route."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pinned_spec import normalised

from scripts import mock_server, normalise, spec_source


@pytest.fixture(scope="session")
def spec() -> normalise.Spec:
    """The pinned spec, normalised as the generator reads it (one for the session; read only)."""
    return normalised()


@pytest.fixture(scope="session")
def modules() -> dict[tuple[str, str], ModuleType]:
    """Every generated endpoint module, by its ``(METHOD, PATH)`` (imported once for the session)."""
    package_dir = Path(__file__).resolve().parent.parent / "generated" / "carecloud_api"
    found = {}
    for path in sorted((package_dir / "api").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(".".join(path.relative_to(package_dir.parent).with_suffix("").parts))
        found[(module.METHOD, module.PATH)] = module
    return found


@pytest.fixture(scope="session")
def prism() -> Iterator[mock_server.PrismServer]:
    """Prism on 127.0.0.1 and a free port, stopped at the end of the session whatever happens.

    ``prism.enterprise_url`` and ``prism.customer_url`` are the two base URLs. A missing Node.js
    or ``node_modules`` fails the tests that need it (CI must run them), it never skips them.
    """
    try:
        server = mock_server.start()
    except (mock_server.MockServerError, spec_source.SpecError) as exc:
        problem = str(exc)  # failed outside the `except`, so the report is this one line
    else:
        try:
            yield server
        finally:
            server.stop()
        return
    pytest.fail(f"the Prism mock server is not available: {problem}", pytrace=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whatever uses Prism is marked `prism`, so `pytest -m "not prism"` never starts it.
    for item in items:
        if "prism" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.prism)
