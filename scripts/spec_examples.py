"""Parse every example of a spec with the package generated from it (the spec update gate).

    python -m scripts.spec_examples NORMALISED.json [--json]

A new spec whose own examples do not fit the models generated from it (an array property with
``default: false``, ``example: null`` on a field not marked nullable) used to surface only as
failing Prism contract tests, since Prism answers with exactly these values. Each example is
parsed here in strict mode (:func:`carecloud_api.parsing.strict`: a null the spec does not allow,
and every odd value the default tolerates, is a failure):

- operation examples: every response with a JSON body, its ``example``, each of its
  ``examples``, and the body Prism builds from the schema when the response has none (each
  property's ``example``, else its ``default``, else its first ``enum`` value, else a value of
  its type), parsed as the generated function parses that status;
- schema examples: every component schema's ``example``, and the body built the same way, parsed
  with the schema's model.

The ``carecloud_api`` imported is whichever comes first on ``sys.path``: :mod:`scripts.update_spec`
runs this module in a child interpreter with the freshly generated package in front. The exit
status is 0 when every example parses, 1 when some do not (the failures are printed, one a line,
or as a JSON list with ``--json``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scripts.catalog import deref as _deref
from scripts.normalise import HTTP_METHODS, Spec, pascal_case

MAX_DEPTH = 12
VALUE_CHARS = 80


@dataclass(frozen=True)
class Example:
    """One example to parse: an operation's response (``status``) or a component schema's."""

    where: str  #: ``GET /customers 200`` or ``schema Customer``
    source: str  #: ``example``, ``examples.<name>``, or ``built`` (Prism's body from the schema)
    value: Any
    method: str = ""
    path: str = ""
    status: int = 0
    schema: str = ""


@dataclass(frozen=True)
class Failure:
    """An example that does not parse: where it is, the model and field path, the value there."""

    where: str
    source: str
    location: str  #: ``GetCustomers200Response.data.customers[0].state``, or the model alone
    problem: str
    value: str  #: the value found there, shortened

    def line(self) -> str:
        return f"{self.where} ({self.source}): {self.location} {self.problem}; value: {self.value}"


def prism_value(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """The value Prism's static mock answers for ``schema``: its ``example``, else its
    ``default``, else its first ``enum`` value, else one built from its properties or items."""
    schema = _deref(spec, schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = prism_value(spec, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return prism_value(spec, schema[key][0], depth + 1)
    if schema.get("type") == "array" or "items" in schema:
        return [prism_value(spec, schema.get("items", {}), depth + 1)]
    if schema.get("type") == "object" or "properties" in schema:
        return {name: prism_value(spec, prop, depth + 1) for name, prop in schema.get("properties", {}).items()}
    kind = schema.get("type")
    if kind == "string":
        return {"date": "2019-08-24", "date-time": "2019-08-24T14:15:22Z"}.get(str(schema.get("format")), "string")
    return {"integer": 0, "number": 0, "boolean": True}.get(str(kind))


def _media_examples(where: str, media: dict[str, Any], spec: Spec) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, named in (media.get("examples") or {}).items():
        example = _deref(spec, named)
        if isinstance(example, dict) and "value" in example:
            yield f"examples.{name}", example["value"]
    if "example" not in media and not media.get("examples") and "schema" in media:
        yield "built", prism_value(spec, media["schema"])


def collect(spec: Spec) -> list[Example]:
    """Every operation example (JSON responses) and every component schema example of ``spec``."""
    found: list[Example] = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if not isinstance(operation, dict):
                continue
            for code, response in sorted((operation.get("responses") or {}).items()):
                if not str(code).isdigit():
                    continue
                media = (_deref(spec, response).get("content") or {}).get("application/json")
                if not isinstance(media, dict):
                    continue
                where = f"{method.upper()} {path} {code}"
                for source, value in _media_examples(where, media, spec):
                    found.append(Example(where, source, value, method.upper(), path, int(code)))
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        resolved = _deref(spec, schema)
        if not isinstance(resolved, dict) or not ("properties" in resolved or resolved.get("type") == "object"):
            continue  # enums and scalars have no model of their own to parse with
        if "example" in resolved:
            found.append(Example(f"schema {name}", "example", resolved["example"], schema=name))
        found.append(Example(f"schema {name}", "built", prism_value(spec, resolved), schema=name))
    return found


def _shorten(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."


def _operation_modules(package: Any) -> dict[tuple[str, str], Any]:
    modules = {}
    root = Path(package.__file__).parent
    for file in sorted((root / "api").rglob("*.py")):
        if file.name == "__init__.py":
            continue
        name = ".".join((package.__name__, *file.relative_to(root).with_suffix("").parts))
        module = importlib.import_module(name)
        modules[(module.METHOD, module.PATH)] = module
    return modules


def check(examples: list[Example]) -> list[Failure]:
    """Parse each example with the ``carecloud_api`` on ``sys.path``, in strict mode."""
    import carecloud_api
    import httpx
    from carecloud_api import models, parsing

    modules = _operation_modules(carecloud_api)
    client = carecloud_api.Client(base_url="https://example.test")
    failures: list[Failure] = []
    for example in examples:
        try:
            with parsing.strict():
                if example.schema:
                    model = getattr(models, pascal_case(example.schema), None)
                    if model is None or not hasattr(model, "from_dict"):
                        continue  # a schema the generator inlined under another name
                    model.from_dict(example.value)
                else:
                    module = modules.get((example.method, example.path))
                    if module is None:
                        failures.append(Failure(example.where, example.source, "", "has no generated function", ""))
                        continue
                    body = json.dumps(example.value).encode()
                    request = httpx.Request(example.method, "https://example.test/")
                    response = httpx.Response(example.status, content=body, request=request)
                    if 200 <= example.status < 300:
                        module._parse_success(response)
                    else:
                        module._parse_response(client=client, response=response)
        except parsing.ResponseParseError as exc:
            failures.append(Failure(example.where, example.source, exc.location, exc.reason, _shorten(exc.value)))
        except Exception as exc:  # anything else is a failure of the model too, named as it came
            failures.append(Failure(example.where, example.source, "", f"{type(exc).__name__}: {exc}", ""))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.spec_examples", description=__doc__)
    parser.add_argument("spec", type=Path, help="the normalised spec the package was generated from (JSON)")
    parser.add_argument("--json", action="store_true", help="print the failures as one JSON list")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    examples = collect(spec)
    failures = check(examples)
    if args.json:
        print(json.dumps([asdict(failure) for failure in failures]))
    else:
        for failure in failures:
            print(failure.line())
        print(f"{len(examples)} examples, {len(failures)} do not parse", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
