"""What users read: generated ``call`` docstrings and ``help()`` of an action (issue 10, item 11)."""

from __future__ import annotations

import functools
import importlib
import inspect
import pydoc
import re
import typing
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from carecloud_api.actions import ACTION_ROUTES
from carecloud_api.api.customers import get_customers
from carecloud_api.api.customers_actions import post_customer_verify_credentials

from carecloud_async import CareCloud
from scripts import docs_reference, normalise, spec_source

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


# --------------------------------------------------------------------------- descriptions (issue 26, item 1)


def _squeezed(text: object) -> str:
    """Text without white space: the docstrings wrap lines (and split a long escaped word)."""
    return "".join(str(text).split())


def _expected_notes(spec: normalise.Spec, schema: dict[str, Any]) -> list[str]:
    """What a docstring must say of ``schema``'s constraints, written out here (not with the
    normaliser's own words, which this checks): bounds, lengths, sizes, pattern, values, default."""
    while "$ref" in schema:  # a hoisted enum: its values are the constraint
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    members = [*schema.get("allOf", []), *schema.get("oneOf", []), *schema.get("anyOf", [])]
    if len(members) == 1 and "$ref" in members[0]:
        target = spec["components"]["schemas"][members[0]["$ref"].rsplit("/", 1)[1]]
        schema = {**target, **{key: value for key, value in schema.items() if key != "oneOf"}}
    notes = []
    for key, word in (("minimum", "at least"), ("maximum", "at most"), ("maxItems", "at most")):
        if key in schema:
            notes.append(f"{word} {schema[key]}{' items' if key == 'maxItems' else ''}")
    if "pattern" in schema:
        notes.append(f"matches ``{schema['pattern']}``")
    if "enum" in schema:
        notes.append("one of: " + ", ".join(str(value) for value in schema["enum"]))
    if "default" in schema:
        notes.append(f"default: {schema['default']}")
    return notes


def _python_name(wire: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", wire.removesuffix("[]")).strip("_").lower()


def test_every_call_docstring_carries_each_parameter_description_and_constraints(spec: normalise.Spec) -> None:
    """``birthdate`` of GET /customers says it takes ``YYYY-MM-DD`` or ``DD.MM.YYYY``, ``count``
    that it is at least 1 (default 100), ``sort_direction`` its values: every parameter of every
    operation carries the vendor's description and its schema's constraints in ``call``'s ``Args:``."""
    vendor = normalise.load(spec_source.obtain())
    checked = constraints = 0
    for module in _endpoint_modules():
        _, args = docs_reference.docstring_section(module.call.__doc__ or "", "Args")
        path, method = module.PATH, module.METHOD.lower()
        for raw in [*vendor["paths"][path].get("parameters", []), *vendor["paths"][path][method].get("parameters", [])]:
            parameter = normalise.resolve_parameter(vendor, raw)
            name = _python_name(parameter["name"])
            where = f"{module.METHOD} {path} {name}"
            assert name in args, where
            text = _squeezed(args[name])
            assert _squeezed(parameter.get("description") or "") in text, where
            normalised = next(
                p
                for p in map(
                    functools.partial(normalise.resolve_parameter, spec), spec["paths"][path][method]["parameters"]
                )
                if _python_name(p["name"]) == name
            )
            notes = _expected_notes(spec, normalised["schema"])
            for note in notes:
                assert _squeezed(note) in text, (where, note)
            if parameter["in"] == "header" and "default" in parameter["schema"]:
                # dropped by the normaliser (never sent), so not documented either
                assert "default:" not in text, where
            checked += 1
            constraints += len(notes)
        if module.__name__.endswith(".get_customers"):
            assert "Accepts the format `YYYY-MM-DD` or `DD.MM.YYYY`." in " ".join(args["birthdate"].split())
            assert args["count"].endswith("(at least 1; default: 100)")
            assert "(one of: ASC, DESC)" in args["sort_direction"]
            assert "international prefix (420000000000)" in args["phone"]
    assert checked > 1000
    assert constraints > 300  # minimum, default, maxItems, enum values: every kind is met


class _Models(dict[str, Any]):
    """The models as names to resolve annotations with (the package loads each on first use)."""

    def __missing__(self, name: str) -> Any:
        import carecloud_api.models

        try:
            return getattr(carecloud_api.models, name)
        except AttributeError:
            raise KeyError(name) from None


def _model_class(annotation: Any) -> type | None:
    """The attrs model in a field's or argument's type (``Customer | Unset`` -> Customer)."""
    import attrs

    for member in typing.get_args(annotation) or (annotation,):
        inner = typing.get_args(member)
        candidate = inner[0] if typing.get_origin(member) is list and inner else member
        if isinstance(candidate, type) and attrs.has(candidate):
            return candidate
    return None


def test_every_body_field_carries_its_description_and_constraints(spec: normalise.Spec) -> None:
    """Each field of every request body model (and of the inline objects in it, and of every
    component schema's model) documents the spec's description and constraints in the class's
    ``Attributes:``: PersonalInformation.phone its pattern, Customer.state its values."""
    from carecloud_api import models
    from openapi_python_client.strings import PythonIdentifier

    checked: dict[str, int] = {}
    notes = Counter[str]()

    def check(cls: type, schema: dict[str, Any], where: str) -> None:
        if cls.__name__ in checked:
            return
        checked[cls.__name__] = 0
        _, fields = docs_reference.parse_docstring_attributes(cls.__doc__ or "")
        hints = typing.get_type_hints(cls, localns=_Models())
        for prop_name, prop in (schema.get("properties") or {}).items():
            name = str(PythonIdentifier(prop_name, prefix="field_"))
            assert name in fields, f"{where}.{prop_name}"
            text = _squeezed(fields[name])
            if "$ref" not in prop:
                assert _squeezed(prop.get("description") or "") in text, f"{where}.{prop_name}"
            for note in _expected_notes(spec, prop):
                assert _squeezed(note) in text, (f"{where}.{prop_name}", note)
                notes[note.split()[0]] += 1
            checked[cls.__name__] += 1
            nested = prop.get("items", prop) if prop.get("type") == "array" else prop
            inner = _model_class(hints.get(name))
            if inner is not None and "properties" in nested and "$ref" not in nested:
                check(inner, nested, f"{where}.{prop_name}")

    modules = {(module.METHOD, module.PATH): module for module in _endpoint_modules()}
    for path, method, operation in normalise.iter_operations(spec):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is None:
            continue
        module = modules[method.upper(), path]
        cls = _model_class(typing.get_type_hints(module.call, localns=_Models()).get("body"))
        assert cls is not None, f"{method} {path}"
        while "$ref" in body:
            body = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        check(cls, body, f"{method.upper()} {path} body")
    for name, schema in spec["components"]["schemas"].items():
        cls = getattr(models, normalise.pascal_case(schema.get("title") or name), None)
        if isinstance(schema, dict) and "properties" in schema and cls is not None and _model_class(cls):
            check(cls, schema, name)
    assert len(checked) > 250  # 270 models, 1,271 fields with the pinned spec
    assert sum(checked.values()) > 1200
    assert {"at", "matches", "one", "default:"} <= set(notes), notes  # every kind of constraint the spec has
    _, customer = docs_reference.parse_docstring_attributes(models.Customer.__doc__ or "")
    assert "(one of: 0, 1, 2)" in " ".join(customer["state"].split())
    _, personal = docs_reference.parse_docstring_attributes(models.PersonalInformation.__doc__ or "")
    assert "(matches ``^[1-9][0-9]*$``)" in " ".join(personal["phone"].split())
