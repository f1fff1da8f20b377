"""Derive the request constraints table (``carecloud_api/_constraints.py``) from the normalised spec.

The spec bounds some request values beyond their type: ``count`` has ``minimum: 1``, batch bodies
``maxItems: 1000``, a customer's ``phone`` a ``pattern``. ``carecloud_async`` checks them before
sending (``count=0`` is a clear :class:`~carecloud_async.RequestValidationError`, not the server's
puzzling answer), from this small table rather than from ``_contract.json`` (590 KB, the fake's
full contract): the table is a few kilobytes, imported by the first checked call of a process.

Each rule has a path that starts at a parameter of the generated ``call`` function (``count``,
``body``) and follows the generated attribute names (``body.customer.personal_information.email``);
``"[]"`` stands for every item of a list. The keywords are the ones ``_contract.json`` keeps for
the fake (:data:`scripts.fake_contract.KEEP`): minimum, maximum, minLength, maxLength, pattern,
minItems, maxItems. A rule applies to the values of its kind only (a minimum to numbers, a pattern
to strings, maxItems to lists), as JSON Schema applies them; so a ``oneOf`` of a string and an
array of at most 1,000 items is one rule. Where two forms of a ``oneOf`` (or two uses of one path)
disagree on a keyword, the keyword is left out: the client then sends and the server decides.

    python -m scripts.request_constraints build/openapi.normalised.json generated/carecloud_api
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.catalog import modules_by_operation, python_name
from scripts.normalise import HTTP_METHODS, Spec, resolve_parameter

FILE_NAME = "_constraints.py"
#: JSON Schema keyword -> the field of the generated ``Constraint``.
KEYWORDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_items",
    "maxItems": "max_items",
}
FIELDS = (*KEYWORDS.values(), "ignore_case")
MAX_DEPTH = 40
Path_ = tuple[str, ...]


def ignore_case(pattern: str) -> bool:
    """Whether a pattern of the spec is applied ignoring case (by the client and the shipped fake).

    Decided per pattern, from what the spec says about the values (the spec has two patterns):

    * The e-mail pattern (``PersonalInformation.email``) lists only lower-case letters, ``[-a-z0-9...]``.
      Applied as written it would refuse ``Jane.Doe@Example.com``, a valid address: the domain is
      case-insensitive (RFC 5321 2.4) and every provider treats the local part so. The vendor
      calls it "the general regular expression" of its format check, and its examples are all
      lower case, so they do not show what the server does with capitals. A client must not refuse
      valid input the server may take, so e-mail patterns (those matching an ``@``) are applied
      ignoring case; the server remains the judge of the rest.
    * The phone pattern ``^[1-9][0-9]*$`` (``phone``, ``Store.phone_number``) has no letters, so
      case does not arise. It is applied as written: the spec describes the value as the number
      "with international prefix (420000000000)" and its examples (``'420523828931'``) fit, so a
      ``+`` or spaces are refused before sending, as the server's own check would.

    >>> ignore_case("^[1-9][0-9]*$"), ignore_case("^[-a-z0-9]+@([a-z0-9]+\\\\.)+[a-z0-9]+$")
    (False, True)
    """
    return "@" in pattern


def applied_pattern(pattern: str) -> str:
    """The pattern as a Python regular expression applies it (``(?i)`` in front when :func:`ignore_case`):
    what ``_contract.json`` gives the fake, so the fake and the client agree."""
    return f"(?i){pattern}" if ignore_case(pattern) else pattern


@dataclass
class _Rules:
    """Keywords found per path; a keyword seen with two values is dropped (``conflicts``)."""

    found: dict[Path_, dict[str, Any]] = field(default_factory=dict)
    conflicts: set[tuple[Path_, str]] = field(default_factory=set)

    def add(self, path: Path_, keyword: str, value: Any) -> None:
        known = self.found.setdefault(path, {})
        if (path, keyword) in self.conflicts:
            return
        if keyword in known and known[keyword] != value:
            self.conflicts.add((path, keyword))
            del known[keyword]
            return
        known[keyword] = value


def _deref(spec: Spec, node: Any, seen: frozenset[str]) -> tuple[Any, frozenset[str]]:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:  # a schema that contains itself: its rules are found on the first pass
            return None, seen
        seen |= {ref}
        target: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node, seen


def _walk(spec: Spec, schema: Any, path: Path_, rules: _Rules, seen: frozenset[str] = frozenset()) -> None:
    schema, seen = _deref(spec, schema, seen)
    if not isinstance(schema, dict) or len(path) > MAX_DEPTH:
        return
    for keyword, name in KEYWORDS.items():
        if keyword in schema:
            rules.add(path, name, schema[keyword])
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key) or ():
            _walk(spec, part, path, rules, seen)
    for name, prop in (schema.get("properties") or {}).items():
        _walk(spec, prop, (*path, python_name(name)), rules, seen)
    if "items" in schema:
        _walk(spec, schema["items"], (*path, "[]"), rules, seen)


def operation_rules(spec: Spec, path_item: dict[str, Any], operation: dict[str, Any]) -> dict[Path_, dict[str, Any]]:
    """Path -> {Constraint field: value} for one operation's parameters and JSON body."""
    rules = _Rules()
    for reference in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = resolve_parameter(spec, reference)
        _walk(spec, parameter.get("schema"), (python_name(parameter["name"]),), rules)
    body, _ = _deref(spec, operation.get("requestBody"), frozenset())
    media = ((body or {}).get("content") or {}).get("application/json")
    if isinstance(media, dict):
        _walk(spec, media.get("schema"), ("body",), rules)
    found = {path: keywords for path, keywords in rules.found.items() if keywords}
    for keywords in found.values():
        if "pattern" in keywords and ignore_case(keywords["pattern"]):
            keywords["ignore_case"] = True
    return found


def build(spec: Spec, package_dir: Path) -> dict[str, dict[Path_, dict[str, Any]]]:
    """Generated module name -> its rules, for the operations that have any (spec order)."""
    modules = modules_by_operation(package_dir)
    table: dict[str, dict[Path_, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                rules = operation_rules(spec, item, operation)
                if rules:
                    table[modules[(method.upper(), path)]] = rules
    return table


def _constraint_source(path: Path_, keywords: dict[str, Any]) -> str:
    arguments = [repr(path)] + [f"{name}={keywords[name]!r}" for name in FIELDS if name in keywords]
    return f"Constraint({', '.join(arguments)})"


def render(table: dict[str, dict[Path_, dict[str, Any]]]) -> str:
    # The same rule recurs in many operations (count, offset): each distinct one is written once.
    sources = sorted({_constraint_source(p, k) for rules in table.values() for p, k in rules.items()})
    names = {source: f"C{index}" for index, source in enumerate(sources)}
    lines = [
        '"""The constraints of the spec on request values, checked by carecloud_async before sending.',
        "",
        "Derived from the normalised spec by scripts/request_constraints.py (its docstring says what is",
        "kept and why some patterns are applied ignoring case). A path starts at a parameter of the",
        'generated ``call`` function and follows attribute names; ``"[]"`` is every item of a list.',
        "A keyword applies to values of its kind only: minimum/maximum to numbers, lengths and",
        "pattern to strings, item counts to lists.",
        '"""',
        "",
        "from typing import NamedTuple",
        "",
        "",
        "class Constraint(NamedTuple):",
        "    path: tuple[str, ...]",
        "    minimum: float | None = None",
        "    maximum: float | None = None",
        "    min_length: int | None = None",
        "    max_length: int | None = None",
        "    pattern: str | None = None",
        "    ignore_case: bool = False  #: the pattern is matched ignoring case",
        "    min_items: int | None = None",
        "    max_items: int | None = None",
        "",
        "",
        *(f"{names[source]} = {source}" for source in sources),
        "",
        "#: Import path of a generated endpoint module -> the constraints on its arguments.",
        "CONSTRAINTS: dict[str, tuple[Constraint, ...]] = {",
    ]
    for module, rules in table.items():
        members = sorted((names[_constraint_source(p, k)] for p, k in rules.items()), key=lambda n: int(n[1:]))
        lines.append(f"    {module!r}: ({', '.join(members)}{',' if len(members) == 1 else ''}),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(spec: Spec, package_dir: Path) -> None:
    (package_dir / FILE_NAME).write_text(render(build(spec, package_dir)), encoding="utf-8")


def main(argv: list[str]) -> int:
    source, package_dir = Path(argv[0]), Path(argv[1])
    spec = json.loads(source.read_text(encoding="utf-8"))
    table = build(spec, package_dir)
    (package_dir / FILE_NAME).write_text(render(table), encoding="utf-8")
    print(f"{package_dir / FILE_NAME}: constraints for {len(table)} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
