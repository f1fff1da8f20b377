"""What changed for a client between two versions of the CareCloud OpenAPI spec.

``make update-spec`` first normalises both documents (``scripts/normalise.py``: what is compared
is what the generator sees, ``email_list[]``, hoisted enums and error bodies), by passing its
normaliser to :func:`diff`; ``$ref`` are then resolved, so moving a schema into ``components`` is
not a change. The result is a flat, sorted
list of :class:`Change` records:

========== ============================================================================
section    what is compared
========== ============================================================================
operations an operation (method + path) added or removed; its ``operationId`` (the
           generated module name) or ``deprecated`` flag changed
parameters per operation, by name: added, removed; ``in``, type, ``required``,
           ``nullable`` changed
request    the request body (added, removed, required, media types) and every field of its
           schema, as dotted paths (``bill.items[].price``); type, ``required``, ``nullable``
responses  per status code: added, removed, media types, and every field of the body
           (``data.customers[].email``)
enums      enum values added to or removed from a parameter, a request or a response field
========== ============================================================================

Each change is marked **breaking** from the point of view of code that uses the generated
client (:data:`BREAKING_RULES` lists the rules; a type change is judged by its direction, see
:func:`type_direction`), and says in which shared component it was made, if any: such a change
counts once however many operations show it (:func:`group_changes`, :func:`headline`).
:func:`suggest_bump` turns the list into a semver suggestion (:data:`SEMVER_RULE`),
:func:`render_report` into the Markdown report of ``make update-spec`` and
:func:`render_changelog` into a ``CHANGELOG.md`` entry.

    carecloud spec diff OLD.yaml NEW.yaml       # prints the Markdown report (the CLI)
    python -m scripts.spec_diff OLD.yaml NEW.yaml   # the same, from a source checkout

Everything here is pure (dicts in, records and text out) except :func:`load_spec`, which reads a
file. This module ships in the wheel (for ``carecloud spec diff``); ``scripts/spec_diff.py``
re-exports it for the code-generation pipeline.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal

Spec = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Section = Literal["operations", "parameters", "request", "responses", "enums"]
Kind = Literal["added", "removed", "changed"]
Level = Literal["major", "minor", "patch", "none"]

SECTIONS: tuple[Section, ...] = ("operations", "parameters", "request", "responses", "enums")
SECTION_TITLES: dict[Section, str] = {
    "operations": "Operations",
    "parameters": "Parameters",
    "request": "Request bodies",
    "responses": "Responses",
    "enums": "Enums",
}
#: Schemas are walked at most this many levels deep (objects and arrays both count).
MAX_DEPTH = 12
#: The type of a schema that refers to itself somewhere below (walking stops there).
RECURSIVE = "recursive"
_PARAM_PLACES = frozenset({"query", "path", "header", "cookie"})

BREAKING_RULES = """\
A change is **breaking** when code written against the previous generated client can fail with
the new one (it no longer compiles against the types, or the server rejects what it sends, or a
value it relies on may be missing). A type is *narrower* when every value of the new type was
allowed by the old one (`number` -> `integer`, `array<any>` -> `array<string>`, a `oneOf` that
loses an alternative), *wider* the other way round:

- operations: removed, or its operationId changed (the generated module is renamed) -> breaking;
  added, or (un)deprecated -> not breaking.
- parameters: removed -> breaking; added and required -> breaking; added and optional -> not
  breaking; location (`in`) changed -> breaking; type wider -> not breaking, narrower or
  otherwise changed -> breaking; optional -> required -> breaking, required -> optional -> not
  breaking; nullable -> not nullable -> breaking.
- request bodies and their fields (what we send): removed -> breaking; added and required ->
  breaking; added and optional -> not breaking; type wider -> not breaking, narrower or
  otherwise changed -> breaking; became required -> breaking; became optional -> not breaking;
  lost `nullable` -> breaking; a media type removed -> breaking.
- responses and their fields (what we read): a status or field removed -> breaking; added -> not
  breaking; type narrower -> not breaking (every value is one the client already handles), wider
  or otherwise changed -> breaking; required -> optional (may now be missing) -> breaking;
  optional -> required -> not breaking; became nullable -> breaking.
- enums: a value added to a response field -> not breaking (the generated enums keep unknown
  values as an `UNKNOWN` member); a value added to a parameter or request field -> not
  breaking; a value removed from a parameter or request field -> breaking (the server rejects
  it); a value removed from a response field -> breaking (the generated enum member disappears,
  code that names it fails).

A change made once in a shared component (`#/components/schemas/...`, a shared response or
parameter) counts once, however many operations it shows in; the report lists them.
"""

SEMVER_RULE = """\
Suggested version bump (semver; while the version is 0.x, the minor number plays the part of
the major one):

- any breaking change: major from 1.0.0 on (1.4.2 -> 2.0.0), minor while 0.x (0.1.0 -> 0.2.0);
- no breaking change, but something added (operation, parameter, field, status, enum value):
  minor from 1.0.0 on (1.4.2 -> 1.5.0), patch while 0.x (0.1.0 -> 0.1.1);
- only other non-breaking changes (a field became optional, deprecations): patch;
- no change at all: none.
"""


@dataclass(frozen=True, order=True)
class Change:
    """One change between two specs, as a client sees it."""

    section: Section
    method: str  #: upper case, "GET"
    path: str  #: "/customers/{customer_id}"
    kind: Kind
    where: str  #: "" (operation), "query"/"path"/"header"/"cookie" (parameter), "body", a status
    name: str  #: parameter name or dotted field path ("data.customers[].email"); "" for the whole
    detail: str  #: "type: string -> integer", "value `x`", "operationId: a -> b", "required", ...
    breaking: bool
    operation_id: str = ""
    #: The ``$ref`` of the shared component the change was made in (``#/components/schemas/Purchase``),
    #: "" when it was made in the operation itself; changes to one component count once.
    component: str = field(default="", compare=False)
    #: Where in that component (``items[].price``; "" for the component itself).
    component_field: str = field(default="", compare=False)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    def describe(self) -> str:
        """One line of text, e.g. ``BREAKING responses removed GET /x 200 data.y``."""
        parts = [
            "BREAKING" if self.breaking else "ok",
            self.section,
            self.kind,
            self.operation,
            self.where,
            self.name,
            self.detail,
        ]
        return " ".join(part for part in parts if part)


# --------------------------------------------------------------------------- schema helpers


def _resolve(spec: Spec, node: Any, stack: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
    """Follow ``$ref`` chains; return the target and the refs followed (for cycle checks)."""
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < 32:
        ref = node["$ref"]
        if ref in stack:
            return None, (*stack, ref)
        stack = (*stack, ref)
        target: Any = spec
        for raw in ref.removeprefix("#/").split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node, hops = target, hops + 1
    return node, stack


def _ref_of(node: Any) -> str:
    """The ``$ref`` a parameter, request body or response is written as ("" when inline): a shared one."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    return ref if isinstance(ref, str) else ""


def _merge_all_of(spec: Spec, schema: dict[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
    """A schema with ``allOf`` as one schema: properties and required lists united."""
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in schema["allOf"]:
        resolved, sub_stack = _resolve(spec, part, stack)
        if not isinstance(resolved, dict):
            continue
        resolved = _merge_all_of(spec, resolved, sub_stack)
        for key, value in resolved.items():
            if key == "properties":
                properties.update(value or {})
            elif key == "required":
                required += [name for name in value or [] if name not in required]
            else:
                merged.setdefault(key, value)
    properties.update(merged.get("properties") or {})
    required += [name for name in merged.get("required") or [] if name not in required]
    if properties:
        merged["properties"] = properties
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged


def type_name(spec: Spec, node: Any, depth: int = 0) -> str:
    """A short, comparable type: ``string``, ``number(float)``, ``array<string>``, ``object``,
    ``oneOf(string | integer)``, ``any``."""
    schema, stack = _resolve(spec, node)
    if schema is None and stack:
        return RECURSIVE
    if not isinstance(schema, dict):
        return "any"
    schema = _merge_all_of(spec, schema, stack)
    for combinator in ("oneOf", "anyOf"):
        if isinstance(schema.get(combinator), list):
            if depth > 3:
                return combinator
            inner = " | ".join(type_name(spec, part, depth + 1) for part in schema[combinator])
            return f"{combinator}({inner})"
    kind = schema.get("type")
    if not isinstance(kind, str):
        if "properties" in schema:
            kind = "object"
        elif "items" in schema:
            kind = "array"
        else:
            return "any"
    if kind == "array":
        items = schema.get("items")
        return f"array<{type_name(spec, items, depth + 1) if items is not None and depth < 4 else 'any'}>"
    fmt = schema.get("format")
    return f"{kind}({fmt})" if isinstance(fmt, str) else kind


def _split_alternatives(inner: str) -> list[str]:
    """``a | array<b | c> | d`` -> ``["a", "array<b | c>", "d"]`` (only the top level splits)."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(inner):
        if char in "(<":
            depth += 1
        elif char in ")>":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(inner[start:index].strip())
            start = index + 1
    parts.append(inner[start:].strip())
    return parts


def _alternatives(kind: str) -> list[str] | None:
    """The alternatives of a ``oneOf(...)``/``anyOf(...)`` type, or None for any other type."""
    for combinator in ("oneOf(", "anyOf("):
        if kind.startswith(combinator) and kind.endswith(")"):
            return _split_alternatives(kind[len(combinator) : -1])
    return None


def _scalar(kind: str) -> tuple[str, str]:
    base, _, fmt = kind.partition("(")
    return base, fmt.rstrip(")")


def is_subtype(narrow: str, wide: str) -> bool:
    """Whether every value of type ``narrow`` (a :func:`type_name`) is also one of ``wide``:
    ``any`` holds everything, a ``oneOf``/``anyOf`` holds each of its alternatives, ``integer``
    is a ``number``, arrays compare their items. A string format (``date``, ``date-time``, ...)
    makes another Python type in the generated client, so it must match; a number's does not.

    >>> is_subtype("array<string>", "array<any>"), is_subtype("oneOf(string | integer)", "string")
    (True, False)
    """
    if wide in {narrow, "any"}:
        return True
    narrow_alternatives, wide_alternatives = _alternatives(narrow), _alternatives(wide)
    if narrow_alternatives is not None:
        return all(is_subtype(part, wide) for part in narrow_alternatives)
    if wide_alternatives is not None:
        return any(is_subtype(narrow, part) for part in wide_alternatives)
    if narrow.startswith("array<") and wide.startswith("array<"):
        return is_subtype(narrow[len("array<") : -1], wide[len("array<") : -1])
    (narrow_base, narrow_format), (wide_base, wide_format) = _scalar(narrow), _scalar(wide)
    if narrow_base in {"integer", "number"} and wide_base in {"integer", "number"}:
        return narrow_base == wide_base or (narrow_base, wide_base) == ("integer", "number")
    return narrow_base == wide_base == "string" and narrow_format == wide_format


def type_direction(old: str, new: str) -> Literal["equivalent", "narrower", "wider", "different"]:
    """How type ``new`` relates to ``old``: it holds fewer values (``narrower``), more
    (``wider``), the same ones written another way (``equivalent``: ``number(float)`` and
    ``number(double)``), or neither (``different``).

    >>> type_direction("number", "integer"), type_direction("string", "oneOf(string | integer)")
    ('narrower', 'wider')
    """
    if is_subtype(new, old):
        return "equivalent" if is_subtype(old, new) else "narrower"
    if is_subtype(old, new):
        return "wider"
    return "different"


def _type_change(old: str, new: str, *, read: bool) -> tuple[str, bool]:
    """The detail and the breaking flag of a type change: for what a client reads (a response), a
    narrower type breaks nothing; for what it sends (a parameter, a request), a wider one."""
    direction = type_direction(old, new)
    harmless = "narrower" if read else "wider"
    detail = f"type: {old} -> {new}" + ("" if direction == "different" else f" ({direction})")
    return detail, direction not in {harmless, "equivalent"}


@dataclass(frozen=True)
class Field:
    """What is compared for one schema node."""

    type: str
    required: bool
    nullable: bool
    enum: tuple[str, ...] | None
    #: The component whose schema this node is (its type, nullable, enum) and the path inside it.
    component: str = ""
    local: str = ""
    #: The component holding the property that leads here (its presence, ``required``) and the path.
    holder: str = ""
    holder_local: str = ""


def _enum(schema: dict[str, Any]) -> tuple[str, ...] | None:
    values = schema.get("enum")
    if not isinstance(values, list):
        return None
    return tuple(str(value) for value in values)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def flatten(
    spec: Spec,
    node: Any,
    prefix: str = "",
    *,
    required: bool = True,
    depth: int = 0,
    stack: tuple[str, ...] = (),
    origin: tuple[str, str] = ("", ""),
) -> dict[str, Field]:
    """Every node of a schema by dotted path: ``""`` is the schema itself, then
    ``data``, ``data.customers``, ``data.customers[]``, ``data.customers[].email``, ...
    Refs are resolved, ``allOf`` merged; ``oneOf``/``anyOf`` are compared as a whole (their
    type lists the alternatives). Walking stops at :data:`MAX_DEPTH` and at recursion.

    Each node also says which shared component it was found in: ``origin`` is the ``$ref`` and
    the path inside it of the place that refers to ``node`` (``("", "")`` for an operation's own
    schema); a node reached through a ``$ref`` starts a component of its own."""
    holder, holder_local = origin
    followed = len(stack)
    schema, stack = _resolve(spec, node, stack)
    if schema is None and len(stack) > 0 and stack[-1] in stack[:-1]:
        return {prefix: Field(RECURSIVE, required, False, None, holder, holder_local, holder, holder_local)}
    if not isinstance(schema, dict):
        return {prefix: Field("any", required, False, None, holder, holder_local, holder, holder_local)}
    component, local = (stack[-1], "") if len(stack) > followed else origin
    schema = _merge_all_of(spec, schema, stack)
    enum = _enum(schema)
    if enum is None and schema.get("type") == "array":
        items, _ = _resolve(spec, schema.get("items"), stack)
        enum = _enum(items) if isinstance(items, dict) else None
    kind = type_name(spec, schema)
    fields = {prefix: Field(kind, required, bool(schema.get("nullable")), enum, component, local, holder, holder_local)}
    if depth >= MAX_DEPTH or "oneOf" in schema or "anyOf" in schema:
        return fields
    if schema.get("type") == "array" or ("items" in schema and "type" not in schema):
        if schema.get("items") is not None:
            inner = (component, f"{local}[]")
            fields.update(flatten(spec, schema["items"], f"{prefix}[]", depth=depth + 1, stack=stack, origin=inner))
        return fields
    required_names = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        fields.update(
            flatten(
                spec,
                prop,
                _join(prefix, str(name)),
                required=name in required_names,
                depth=depth + 1,
                stack=stack,
                origin=(component, _join(local, str(name))),
            )
        )
    return fields


def _parent(path: str) -> str | None:
    """``a.b[].c`` -> ``a.b[]`` -> ``a.b`` -> ``a`` -> ``""`` -> None."""
    if not path:
        return None
    if path.endswith("[]"):
        return path[:-2]
    head, dot, _ = path.rpartition(".")
    return head if dot else ""


def _has_ancestor_in(path: str, paths: set[str]) -> bool:
    parent = _parent(path)
    while parent is not None:
        if parent in paths:
            return True
        parent = _parent(parent)
    return False


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class _Op:
    method: str
    path: str
    operation: dict[str, Any]
    parameters: dict[str, dict[str, Any]]
    #: The ``$ref`` of each parameter written as one (a shared parameter), by name.
    parameter_refs: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return str(self.operation.get("operationId") or "")


def _operations(spec: Spec) -> dict[tuple[str, str], _Op]:
    found: dict[tuple[str, str], _Op] = {}
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = [(_resolve(spec, p)[0], _ref_of(p)) for p in item.get("parameters") or []]
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            params: dict[str, dict[str, Any]] = {}
            refs: dict[str, str] = {}
            own = [(_resolve(spec, p)[0], _ref_of(p)) for p in operation.get("parameters") or []]
            for parameter, ref in [*shared, *own]:  # operation-level ones override path-level ones
                if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                    params[parameter["name"]] = parameter
                    refs[parameter["name"]] = ref
            found[(method.upper(), path)] = _Op(method.upper(), path, operation, params, refs)
    return found


class _Collector:
    """The changes of one operation, and the two specs it is compared in."""

    def __init__(self, op: _Op, old: Spec, new: Spec) -> None:
        self.op = op
        self.old = old
        self.new = new
        self.changes: list[Change] = []

    def add(
        self,
        section: Section,
        kind: Kind,
        where: str,
        name: str,
        detail: str,
        *,
        breaking: bool,
        origin: tuple[str, str] = ("", ""),
    ) -> None:
        component, component_field = origin
        self.changes.append(
            Change(
                section,
                self.op.method,
                self.op.path,
                kind,
                where,
                name,
                detail,
                breaking,
                self.op.operation_id,
                component,
                component_field if component else "",
            )
        )


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _enum_changes(
    out: _Collector,
    where: str,
    name: str,
    old: tuple[str, ...] | None,
    new: tuple[str, ...] | None,
    *,
    origin: tuple[str, str] = ("", ""),
) -> None:
    if old is None or new is None:
        return  # becoming (or ceasing to be) an enum is a type matter, not a value matter
    for value in sorted(set(new) - set(old)):
        out.add("enums", "added", where, name, f"value `{value}`", breaking=False, origin=origin)
    for value in sorted(set(old) - set(new)):
        out.add("enums", "removed", where, name, f"value `{value}`", breaking=True, origin=origin)


def _compare_parameters(out: _Collector, old: _Op, new: _Op) -> None:
    for name in sorted(set(old.parameters) | set(new.parameters)):
        before, after = old.parameters.get(name), new.parameters.get(name)
        if after is None and before is not None:
            out.add("parameters", "removed", str(before.get("in", "")), name, "", breaking=True)
            continue
        if before is None and after is not None:
            required = bool(after.get("required"))
            detail = "required" if required else "optional"
            out.add("parameters", "added", str(after.get("in", "")), name, detail, breaking=required)
            continue
        assert before is not None
        assert after is not None
        where = str(after.get("in", ""))
        spec_old, spec_new = out.old, out.new
        old_fields = flatten(spec_old, before.get("schema"))[""]
        new_fields = flatten(spec_new, after.get("schema"))[""]
        # A shared parameter changed in components is one change; so is a shared schema it uses.
        old_ref, new_ref = old.parameter_refs.get(name, ""), new.parameter_refs.get(name, "")
        shared = (new_ref, "") if new_ref and new_ref == old_ref else ("", "")
        own = shared if shared[0] else _own(old_fields, new_fields)
        if before.get("in") != after.get("in"):
            detail = f"in: {before.get('in')} -> {after.get('in')}"
            out.add("parameters", "changed", where, name, detail, breaking=True, origin=shared)
        if old_fields.type != new_fields.type:
            detail, breaking = _type_change(old_fields.type, new_fields.type, read=False)
            out.add("parameters", "changed", where, name, detail, breaking=breaking, origin=own)
        old_req, new_req = bool(before.get("required")), bool(after.get("required"))
        if old_req != new_req:
            detail = f"required: {_yes_no(old_req)} -> {_yes_no(new_req)}"
            out.add("parameters", "changed", where, name, detail, breaking=new_req, origin=shared)
        if old_fields.nullable != new_fields.nullable:
            detail = f"nullable: {_yes_no(old_fields.nullable)} -> {_yes_no(new_fields.nullable)}"
            out.add("parameters", "changed", where, name, detail, breaking=old_fields.nullable, origin=own)
        _enum_changes(out, where, name, old_fields.enum, new_fields.enum, origin=own)


def _own(before: Field, after: Field) -> tuple[str, str]:
    """Where a change to a node's own schema (type, nullable, enum) was made: in the component it
    is part of, if the same one before and after; else where it is referred to."""
    if (before.component, before.local) == (after.component, after.local):
        return after.component, after.local
    return after.holder, after.holder_local


def _compare_fields(
    out: _Collector,
    section: Literal["request", "responses"],
    where: str,
    old: dict[str, Field],
    new: dict[str, Field],
) -> None:
    """Field-level comparison of two flattened schemas (request body or one response)."""
    response = section == "responses"
    removed = {path for path in old if path not in new}
    added = {path for path in new if path not in old}
    retyped = {path for path in old.keys() & new.keys() if old[path].type != new[path].type}
    # A removed/added/retyped object takes its nested fields with it: report it once.
    hidden = removed | added | retyped
    for path in sorted(removed):
        if not _has_ancestor_in(path, hidden):
            holder = (old[path].holder, old[path].holder_local)
            out.add(section, "removed", where, path, "", breaking=True, origin=holder)
    for path in sorted(added):
        if _has_ancestor_in(path, hidden):
            continue
        required = new[path].required
        detail = "required" if required else "optional"
        holder = (new[path].holder, new[path].holder_local)
        out.add(section, "added", where, path, detail, breaking=required and not response, origin=holder)
    for path in sorted(old.keys() & new.keys()):
        if _has_ancestor_in(path, hidden):
            continue
        before, after = old[path], new[path]
        own = _own(before, after)
        if path in retyped:
            detail, breaking = _type_change(before.type, after.type, read=response)
            out.add(section, "changed", where, path, detail, breaking=breaking, origin=own)
            continue
        if before.required != after.required:
            detail = f"required: {_yes_no(before.required)} -> {_yes_no(after.required)}"
            breaking = before.required if response else after.required
            holder = (after.holder, after.holder_local)
            out.add(section, "changed", where, path, detail, breaking=breaking, origin=holder)
        if before.nullable != after.nullable:
            detail = f"nullable: {_yes_no(before.nullable)} -> {_yes_no(after.nullable)}"
            breaking = after.nullable if response else before.nullable
            out.add(section, "changed", where, path, detail, breaking=breaking, origin=own)
        _enum_changes(out, where, path, before.enum, after.enum, origin=own)


def _content(spec: Spec, node: Any) -> tuple[dict[str, Any], bool, bool]:
    """(media type -> schema, required, present) of a request body or response."""
    resolved, _ = _resolve(spec, node)
    if not isinstance(resolved, dict):
        return {}, False, False
    content = {
        str(media): (value or {}).get("schema")
        for media, value in (resolved.get("content") or {}).items()
        if isinstance(value, dict) or value is None
    }
    return content, bool(resolved.get("required")), True


def _compare_bodies(
    out: _Collector,
    section: Literal["request", "responses"],
    where: str,
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    origins: tuple[str, str] = ("", ""),
) -> None:
    spec_old, spec_new = out.old, out.new
    old_origin, new_origin = (origins[0], ""), (origins[1], "")
    shared = (origins[1] or origins[0], "")
    for media in sorted(old.keys() - new.keys()):
        out.add(section, "removed", where, "", f"media type {media}", breaking=True, origin=shared)
    for media in sorted(new.keys() - old.keys()):
        out.add(section, "added", where, "", f"media type {media}", breaking=False, origin=shared)
    for media in sorted(old.keys() & new.keys()):
        label = where if len(new) == 1 and media == "application/json" else f"{where} {media}"
        old_fields = flatten(spec_old, old[media], origin=old_origin) if old[media] is not None else {}
        new_fields = flatten(spec_new, new[media], origin=new_origin) if new[media] is not None else {}
        _compare_fields(out, section, label, old_fields, new_fields)


def _compare_request(out: _Collector, old: _Op, new: _Op) -> None:
    spec_old, spec_new = out.old, out.new
    before, old_required, had = _content(spec_old, old.operation.get("requestBody"))
    after, new_required, has = _content(spec_new, new.operation.get("requestBody"))
    if had and not has:
        out.add("request", "removed", "body", "", "", breaking=True)
        return
    if has and not had:
        detail = "required" if new_required else "optional"
        out.add("request", "added", "body", "", detail, breaking=new_required)
        return
    if not has:
        return
    if old_required != new_required:
        detail = f"required: {_yes_no(old_required)} -> {_yes_no(new_required)}"
        out.add("request", "changed", "body", "", detail, breaking=new_required)
    origins = (_ref_of(old.operation.get("requestBody")), _ref_of(new.operation.get("requestBody")))
    _compare_bodies(out, "request", "body", before, after, origins=origins)


def _status_key(status: str) -> tuple[int, str]:
    return (int(status), status) if status.isdigit() else (999, status)


def _compare_responses(out: _Collector, old: _Op, new: _Op) -> None:
    spec_old, spec_new = out.old, out.new
    before = {str(k): v for k, v in (old.operation.get("responses") or {}).items()}
    after = {str(k): v for k, v in (new.operation.get("responses") or {}).items()}
    for status in sorted(before.keys() | after.keys(), key=_status_key):
        if status not in after:
            out.add("responses", "removed", status, "", "", breaking=True)
        elif status not in before:
            out.add("responses", "added", status, "", "", breaking=False)
        else:
            old_content, _, _ = _content(spec_old, before[status])
            new_content, _, _ = _content(spec_new, after[status])
            origins = (_ref_of(before[status]), _ref_of(after[status]))
            _compare_bodies(out, "responses", status, old_content, new_content, origins=origins)


def diff_normalised(old: Spec, new: Spec) -> list[Change]:
    """Compare two specs that are already normalised; return the changes, sorted."""
    before, after = _operations(old), _operations(new)
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys(), key=lambda k: (k[1], k[0])):
        if key not in after:
            op = before[key]
            out = _Collector(op, old, new)
            out.add("operations", "removed", "", "", "", breaking=True)
        elif key not in before:
            op = after[key]
            out = _Collector(op, old, new)
            out.add("operations", "added", "", "", "", breaking=False)
        else:
            old_op, new_op = before[key], after[key]
            out = _Collector(new_op, old, new)
            if old_op.operation_id != new_op.operation_id:
                detail = f"operationId: {old_op.operation_id} -> {new_op.operation_id}"
                out.add("operations", "changed", "", "", detail, breaking=True)
            old_dep = bool(old_op.operation.get("deprecated"))
            new_dep = bool(new_op.operation.get("deprecated"))
            if old_dep != new_dep:
                detail = f"deprecated: {_yes_no(old_dep)} -> {_yes_no(new_dep)}"
                out.add("operations", "changed", "", "", detail, breaking=False)
            _compare_parameters(out, old_op, new_op)
            _compare_request(out, old_op, new_op)
            _compare_responses(out, old_op, new_op)
        changes += out.changes
    return sorted(changes, key=_sort_key)


def _where_key(where: str) -> tuple[int, int, str]:
    """Parameters (in name order, wherever they are), then the request body, then responses by
    status code."""
    if where in _PARAM_PLACES:
        return (0, 0, "")
    if where.startswith("body"):
        return (1, 0, where)
    if where[:3].isdigit():
        return (2, int(where[:3]), where)
    return (3, 0, where)


def _sort_key(change: Change) -> tuple[Any, ...]:
    return (
        SECTIONS.index(change.section),
        change.path,
        change.method,
        _where_key(change.where),
        change.name,
        ("removed", "changed", "added").index(change.kind),
        change.detail,
    )


def diff(old: Spec, new: Spec, normaliser: Callable[[Spec], Spec] | None = None) -> list[Change]:
    """Compare two (raw, parsed) specs, each passed through ``normaliser`` first when given
    (``make update-spec`` passes ``scripts.normalise.normalise``); the inputs are not modified.

    >>> spec = {"openapi": "3.0.2", "paths": {"/a": {"get": {"operationId": "getA", "responses": {}}}}}
    >>> [c.describe() for c in diff({"openapi": "3.0.2", "paths": {}}, spec)]
    ['ok operations added GET /a']
    """
    if normaliser is not None:
        old, new = normaliser(old), normaliser(new)
    return diff_normalised(old, new)


# --------------------------------------------------------------------------- counting


def _unit_key(change: Change) -> tuple[str, ...]:
    if change.component:
        return (change.section, change.kind, change.component, change.component_field, change.detail)
    return (change.section, change.kind, change.method, change.path, change.where, change.name, change.detail)


def group_changes(changes: Iterable[Change]) -> list[list[Change]]:
    """The changes as the spec's authors made them: a change made once in a shared component
    (``#/components/...``: a schema, response, parameter) is one group however many operations
    it shows in; every other change is a group of its own. Groups keep the order of their first
    change. Counts, the headline and the suggested bump count groups, not operations.

    >>> shared = dict(component="#/components/schemas/Error", component_field="code")
    >>> a = Change("responses", "GET", "/a", "removed", "400", "error.code", "", True, "getA", **shared)
    >>> b = Change("responses", "GET", "/b", "removed", "400", "error.code", "", True, "getB", **shared)
    >>> [len(group) for group in group_changes([a, b])]
    [2]
    """
    groups: dict[tuple[str, ...], list[Change]] = {}
    for change in changes:
        groups.setdefault(_unit_key(change), []).append(change)
    return list(groups.values())


def _breaking(group: list[Change]) -> bool:
    return any(change.breaking for change in group)


# --------------------------------------------------------------------------- semver


@dataclass(frozen=True)
class Bump:
    level: Level
    current: str
    suggested: str
    reason: str


def _parse_version(version: str) -> tuple[int, int, int]:
    match = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def suggest_bump(changes: Iterable[Change], current: str = "0.1.0") -> Bump:
    """The version bump :data:`SEMVER_RULE` asks for, from ``current``."""
    changes = list(changes)
    major, minor, patch = _parse_version(current)
    groups = group_changes(changes)
    breaking = sum(1 for group in groups if _breaking(group))
    additions = sum(1 for group in groups if group[0].kind == "added" and not _breaking(group))
    level: Level
    if not changes:
        return Bump("none", current, current, "no change")
    if breaking:
        level = "major" if major >= 1 else "minor"
        reason = f"{breaking} breaking change{'s' if breaking != 1 else ''}"
    elif additions:
        level = "minor" if major >= 1 else "patch"
        reason = f"no breaking change, {additions} addition{'s' if additions != 1 else ''}"
    else:
        level = "patch"
        reason = "only non-breaking changes"
    if level == "major":
        suggested = f"{major + 1}.0.0"
    elif level == "minor":
        suggested = f"{major}.{minor + 1}.0"
    else:
        suggested = f"{major}.{minor}.{patch + 1}"
    if major < 1 and level != "patch":
        reason += "; while 0.x, minor stands for major"
    return Bump(level, current, suggested, reason)


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class SpecLabel:
    """How a spec version is named in reports."""

    sha256: str
    commit: str = "unknown"
    date: str = ""
    url: str = ""

    @property
    def local_file(self) -> str:
        """The path of a spec read from a local file (its ``url`` is a ``file://`` URI), else ""."""
        if not self.url.startswith("file://"):
            return ""
        return urllib.parse.unquote(urllib.parse.urlparse(self.url).path)

    def short(self) -> str:
        commit = self.commit[:12] if self.commit and self.commit != "unknown" else "unknown commit"
        if commit == "unknown commit" and self.local_file:
            commit = f"local file {PurePath(self.local_file).name}"
        date = f", {self.date}" if self.date and self.date != "unknown" else ""
        return f"{commit}{date}, sha256 {self.sha256[:12]}"

    def source_line(self) -> str:
        """Where the spec came from: its URL, or a local file's path and full sha256."""
        if self.local_file:
            return f"local file `{self.local_file}`, sha256 {self.sha256}"
        return self.url


def counts(changes: Iterable[Change]) -> dict[Section, dict[str, int]]:
    """Per section, how many changes were added, removed, changed, and how many break; a change to
    a shared component counts once (see :func:`group_changes`)."""
    table: dict[Section, dict[str, int]] = {
        section: {"added": 0, "removed": 0, "changed": 0, "breaking": 0} for section in SECTIONS
    }
    for group in group_changes(changes):
        row = table[group[0].section]
        row[group[0].kind] += 1
        row["breaking"] += _breaking(group)
    return table


def headline(changes: list[Change]) -> str:
    """``"34 changes, 9 breaking"``: a change to a shared component counts once; when that makes a
    difference, the count per operation follows in parentheses.

    >>> headline([])
    '0 changes, 0 breaking'
    """
    groups = group_changes(changes)
    breaking = sum(1 for group in groups if _breaking(group))
    text = f"{len(groups)} changes, {breaking} breaking"
    if len(groups) != len(changes):
        per_operation = sum(1 for change in changes if change.breaking)
        text += (
            f" (a change to a shared component counts once; per operation: {len(changes)} changes, "
            f"{per_operation} breaking)"
        )
    return text


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _line(change: Change, *, with_operation: bool) -> str:
    flag = "**BREAKING** " if change.breaking else ""
    bits: list[str] = [change.kind]
    if change.section == "parameters":
        bits.append(f"{change.where} parameter {_code(change.name)}")
    elif change.section == "request":
        bits.append(f"field {_code(change.name)}" if change.name else "body")
    elif change.section == "responses":
        status = f"response {change.where}"
        bits.append(f"{status} field {_code(change.name)}" if change.name else status)
    elif change.section == "enums":
        target = f"parameter {_code(change.name)}" if change.where in _PARAM_PLACES else None
        if target is None:
            scope = "request" if change.where.startswith("body") else f"response {change.where}"
            target = f"{scope} field {_code(change.name) or '(body)'}"
        bits.append(target)
    text = " ".join(bits)
    if change.detail:
        text += f": {change.detail}"
    if with_operation:
        op_id = f" ({change.operation_id})" if change.operation_id else ""
        text = f"`{change.operation}`{op_id} {text}"
    return f"- {flag}{text}"


def _grouped(changes: list[Change]) -> Iterator[tuple[Change, list[Change]]]:
    """Identical changes on several operations (a shared schema changed) grouped together."""
    groups: dict[tuple[Any, ...], list[Change]] = defaultdict(list)
    for change in changes:
        key: tuple[Any, ...] = (change.section, change.kind, change.where, change.name, change.detail, change.breaking)
        if change.section == "operations":  # an operation change is about that operation only
            key += (change.method, change.path)
        groups[key].append(change)
    for group in groups.values():
        yield group[0], group


def _scope(change: Change) -> str:
    if change.where in _PARAM_PLACES:
        return f"{change.where} parameter {_code(change.name)}"
    if change.where.startswith("body"):
        return "request body"
    return f"response {change.where}"


def _shared_line(group: list[Change], *, max_operations: int) -> str:
    """One line for a change made once in a shared component, with the operations it shows in."""
    first = group[0]
    flag = "**BREAKING** " if _breaking(group) else ""
    text = f"{first.kind} {_code(first.component)}"
    if first.component_field:
        text += f" field {_code(first.component_field)}"
    if first.detail:
        text += f": {first.detail}"
    operations = list(dict.fromkeys(change.operation for change in group))
    scopes = ", ".join(dict.fromkeys(_scope(change) for change in group))
    ops = ", ".join(f"`{operation}`" for operation in operations[:max_operations])
    more = f" and {len(operations) - max_operations} more" if len(operations) > max_operations else ""
    noun = "operation" if len(operations) == 1 else "operations"
    return f"- {flag}{text} — in {len(operations)} {noun} ({scopes}): {ops}{more}"


def _shared_groups(changes: list[Change]) -> tuple[list[list[Change]], list[Change]]:
    """The groups of changes made once in a shared component and seen more than once (breaking
    ones first), and every other change."""
    shared: list[list[Change]] = []
    rest: list[Change] = []
    for group in group_changes(changes):
        if group[0].component and len(group) > 1:
            shared.append(group)
        else:
            rest += group
    shared.sort(key=lambda group: (not _breaking(group), _sort_key(group[0])))
    return shared, rest


def render_section(changes: list[Change], section: Section, *, max_operations: int = 8) -> list[str]:
    """Markdown lines for one section: one line per change made in a shared component (listing
    up to ``max_operations`` of the operations it shows in), then one line per change, or per
    group of identical changes made on several operations."""
    items = [change for change in changes if change.section == section]
    lines = [f"## {SECTION_TITLES[section]}", ""]
    if not items:
        return [*lines, "No changes.", ""]
    shared, items = _shared_groups(items)
    lines += [_shared_line(group, max_operations=max_operations) for group in shared]
    ordered = sorted(items, key=lambda c: (not c.breaking, _sort_key(c)))
    single: list[Change] = []
    for first, group in _grouped(ordered):
        if len(group) == 1 or section == "operations":
            single += group
            continue
        ops = ", ".join(f"`{c.operation}`" for c in group[:max_operations])
        more = f" and {len(group) - max_operations} more" if len(group) > max_operations else ""
        lines.append(f"{_line(first, with_operation=False)} — in {len(group)} operations: {ops}{more}")
    by_op: dict[tuple[str, str], list[Change]] = defaultdict(list)
    for change in sorted(single, key=_sort_key):
        by_op[(change.path, change.method)].append(change)
    if section == "operations":
        ordered_ops = sorted(single, key=lambda c: (not c.breaking, _sort_key(c)))
        lines += [_line(c, with_operation=True) for c in ordered_ops]
    else:
        for (path, method), group in by_op.items():
            op_id = f" ({group[0].operation_id})" if group[0].operation_id else ""
            lines.append(f"- `{method} {path}`{op_id}")
            lines += ["  " + _line(c, with_operation=False) for c in group]
    return [*lines, ""]


def render_report(
    changes: list[Change],
    *,
    old: SpecLabel | None = None,
    new: SpecLabel | None = None,
    bump: Bump | None = None,
    max_operations: int = 8,
    max_chars: int | None = None,
) -> str:
    """The Markdown report: where from and to, summary counts, suggested bump, then one section
    per kind of change (Operations, Parameters, Request bodies, Responses, Enums). With
    ``max_chars`` (a pull request body holds 65,536), the sections are cut to fit."""
    bump = bump or suggest_bump(changes)
    lines = ["# CareCloud API spec update", ""]
    if old is not None and new is not None:
        lines += [f"- from: {old.short()}", f"- to: {new.short()}"]
        if new.url:
            lines.append(f"- source: {new.source_line()}")
        lines.append("")
    lines += [
        f"**{headline(changes)}.** Suggested version bump: **{bump.level}**"
        + (f" ({bump.current} -> {bump.suggested}; {bump.reason})." if bump.level != "none" else "."),
        "",
        "| Section | Added | Removed | Changed | Breaking |",
        "|---|---:|---:|---:|---:|",
    ]
    for section, row in counts(changes).items():
        lines.append(
            f"| {SECTION_TITLES[section]} | {row['added']} | {row['removed']} | {row['changed']} | {row['breaking']} |"
        )
    lines.append("")
    body: list[str] = []
    for section in SECTIONS:
        body += render_section(changes, section, max_operations=max_operations)
    tail = [
        "<details><summary>How changes are classified</summary>",
        "",
        BREAKING_RULES,
        SEMVER_RULE,
        "</details>",
        "",
    ]
    if max_chars is not None:
        room = max_chars - len("\n".join([*lines, *tail])) - 200
        if len("\n".join(body)) > room:
            kept: list[str] = []
            for line in body:
                if len("\n".join([*kept, line])) > room:
                    break
                kept.append(line)
            body = [*kept, "", f"*... report cut at {max_chars} characters; the full list is in CHANGES.json.*", ""]
    return "\n".join([*lines, *body, *tail])


def render_changelog(
    changes: list[Change],
    *,
    new: SpecLabel,
    bump: Bump | None = None,
    title: str | None = None,
) -> str:
    """A ``CHANGELOG.md`` entry: the spec version, the bump, every breaking change, and the
    operations added; other additions are counted (the full list is in the report)."""
    bump = bump or suggest_bump(changes)
    heading = title or f"Unreleased: CareCloud API spec {new.short()}"
    lines = [f"## {heading}", ""]
    if bump.level == "none":
        return "\n".join([*lines, "No change to the API.", ""])
    lines += [
        f"Suggested version bump: {bump.level} ({bump.current} -> {bump.suggested}; {bump.reason}).",
        "",
    ]
    shared, unshared = _shared_groups([c for c in changes if c.breaking])
    if shared or unshared:
        lines += ["### Breaking", ""]
        lines += [_shared_line(group, max_operations=3) for group in shared]
        for first, group in _grouped(sorted(unshared, key=_sort_key)):
            text = _line(first, with_operation=len(group) == 1)
            if len(group) > 1:
                ops = ", ".join(f"`{c.operation}`" for c in group[:3])
                more = f" and {len(group) - 3} more" if len(group) > 3 else ""
                text += f" — in {len(group)} operations: {ops}{more}"
            lines.append(text)
        lines.append("")
    new_ops = [c for c in changes if c.section == "operations" and c.kind == "added"]
    if new_ops:
        lines += ["### Added operations", ""]
        lines += [_line(c, with_operation=True) for c in new_ops]
        lines.append("")
    rest = [c for c in changes if not c.breaking and not (c.section == "operations" and c.kind == "added")]
    if rest:
        table = counts(rest)
        summary = ", ".join(
            f"{SECTION_TITLES[s].lower()}: {sum(table[s][k] for k in ('added', 'removed', 'changed'))}"
            for s in SECTIONS
            if any(table[s][k] for k in ("added", "removed", "changed"))
        )
        lines += ["### Other changes (not breaking)", "", f"{len(group_changes(rest))} changes ({summary}).", ""]
    return "\n".join(lines)


def load_spec(path: Path) -> Spec:
    """Parse a YAML or JSON OpenAPI file (YAML needs PyYAML, part of the ``cli`` extra)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise ValueError(
                f"{path} is not JSON, and reading YAML needs PyYAML: pip install 'carecloud-async[cli]'"
            ) from None
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    if not isinstance(data, dict) or "paths" not in data:
        raise ValueError(f"{path} is not an OpenAPI document (no 'paths')")
    return data
