"""What users read: generated ``call`` docstrings and ``help()`` of an action (issue 10, item 11)."""

from __future__ import annotations

import importlib
import inspect
import pydoc
import re
from pathlib import Path
from types import ModuleType

import pytest
from carecloud_api.actions import ACTION_ROUTES
from carecloud_api.api.customers import get_customers
from carecloud_api.api.customers_actions import post_customer_verify_credentials

from carecloud_async import CareCloud
from scripts import normalise, spec_source

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "generated" / "carecloud_api"


def _endpoint_modules() -> list[ModuleType]:
    names = sorted(p.relative_to(PACKAGE_DIR.parent).with_suffix("") for p in (PACKAGE_DIR / "api").rglob("*.py"))
    return [importlib.import_module(".".join(n.parts)) for n in names if n.name != "__init__"]


@pytest.fixture(scope="module")
def spec() -> normalise.Spec:
    return normalise.normalise(normalise.load(spec_source.obtain()))


def _operation(spec: normalise.Spec, module: ModuleType) -> dict[str, object]:
    return spec["paths"][module.PATH][module.METHOD.lower()]  # type: ignore[no-any-return]


def test_every_call_docstring_has_summary_route_arguments_and_errors(spec: normalise.Spec) -> None:
    checked = 0
    for module in _endpoint_modules():
        doc = inspect.getdoc(module.call) or ""
        operation = _operation(spec, module)
        summary = str(operation.get("summary") or "").split()
        assert " ".join(doc.split()).startswith(" ".join(summary)), module.__name__
        assert f"``{module.METHOD} {module.PATH}``" in doc, module.__name__
        for name in list(inspect.signature(module.call).parameters)[1:]:
            assert re.search(rf"^    {name} \(", doc, re.MULTILINE), (module.__name__, name)
        assert "Raises:" in doc
        assert "carecloud_async.APIError" in doc
        assert "ResponseParseError" in doc
        assert "NetworkError" in doc
        checked += 1
    assert checked == 322


def test_call_docstring_names_the_declared_errors_and_the_result() -> None:
    doc = " ".join((inspect.getdoc(get_customers.call) or "").split())
    assert doc.startswith("Get all customers")
    assert "400 (BadRequest)" in doc
    assert "404 (NotFound)" in doc
    assert "429 (RateLimited)" in doc
    assert "GetCustomers200Response: the parsed body of any 2xx answer" in doc
    assert "email_list (list[str] | Unset)" in doc


async def test_help_of_an_action_shows_its_route_and_hides_client() -> None:
    async with CareCloud.enterprise(
        "demo.example.com", user_external_application_id="a", login="l", password="p"
    ) as cc:
        action = cc.actions.customers.verify_credentials
        text = pydoc.render_doc(action, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    assert "POST /customers/actions/verify-credentials" in text
    signature = inspect.signature(action)
    assert "client" not in signature.parameters
    assert list(signature.parameters) == list(inspect.signature(post_customer_verify_credentials.call).parameters)[1:]
    # the signature up to its return annotation (Python 3.13's pydoc spreads a long one over lines)
    start = text.index("verify_credentials(")
    header = text[start : text.index(") ->", start)]
    assert "client" not in header
    assert "body" in header
    assert "ResponseParseError" in text  # the operation's own docstring follows the route


def test_every_action_documents_its_route() -> None:
    from carecloud_api.actions import Actions

    actions = Actions(lambda *a, **k: None)  # type: ignore[arg-type]
    for group, name, method, path in ACTION_ROUTES:
        bound = getattr(getattr(actions, group), name)
        assert (bound.__doc__ or "").startswith(f"{method} {path}\n")
        assert bound.__name__ == name
        assert "client" not in inspect.signature(bound).parameters
