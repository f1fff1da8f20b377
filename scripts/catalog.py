"""Derive the operation catalog (``carecloud_api/_catalog.py``) from the normalised spec.

The hand-written layer needs facts the generated functions do not carry: which operations are
paginated and under which key the list sits (``/stamps`` answers ``stamper_stamps``), which are
action methods, which API (Enterprise, Customer) serves them, which need no token. They are
derived here from the spec, never listed by hand, so they stay right after regeneration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.normalise import HTTP_METHODS, Spec, resolve_parameter

INTERFACE_NOTE = re.compile(r"available only in (?:the )?(Enterprise|Customer) (?:API|interface)", re.IGNORECASE)
MODULE_CONSTANTS = re.compile(r'^METHOD = "(?P<method>[A-Z]+)"\nPATH = "(?P<path>[^"]+)"', re.MULTILINE)
SUCCESS = ("200", "201", "202", "204")


@dataclass(frozen=True)
class Entry:
    module: str
    operation_id: str
    method: str
    path: str
    tag: str
    interfaces: tuple[str, ...]
    auth: bool
    paginated: bool
    list_key: str | None
    action: str | None


def deref(spec: Spec, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        parts = node["$ref"].removeprefix("#/").split("/")
        node = spec
        for part in parts:
            node = node[part]
        seen += 1
    return node


def _properties(spec: Spec, schema: Any) -> dict[str, Any]:
    """Properties of a schema, following refs and allOf."""
    schema = deref(spec, schema)
    if not isinstance(schema, dict):
        return {}
    props: dict[str, Any] = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        props.update(_properties(spec, part))
    return props


def list_key(spec: Spec, operation: dict[str, Any]) -> str | None:
    """The key of the array inside ``data`` of a list response that also has ``total_items``."""
    for status in SUCCESS:
        response = deref(spec, operation.get("responses", {}).get(status))
        if not isinstance(response, dict):
            continue
        for media in (response.get("content") or {}).values():
            data = _properties(spec, media.get("schema")).get("data")
            fields = _properties(spec, data)
            if "total_items" not in fields:
                continue
            arrays = [name for name, prop in fields.items() if deref(spec, prop).get("type") == "array"]
            if len(arrays) == 1:
                return arrays[0]
    return None


def interfaces(spec: Spec, operation: dict[str, Any]) -> tuple[str, ...]:
    notes = INTERFACE_NOTE.findall(operation.get("description") or "")
    if not notes:
        tags = {tag["name"]: tag.get("description") or "" for tag in spec.get("tags", [])}
        for tag in operation.get("tags", []):
            notes += INTERFACE_NOTE.findall(tags.get(tag, ""))
    found = sorted({note.lower() for note in notes})
    return tuple(found) if found else ("customer", "enterprise")


def action_name(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if "actions" in parts[:-1]:
        return parts[parts.index("actions") + 1]
    return None


def modules_by_operation(package_dir: Path) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for path in sorted((package_dir / "api").glob("*/*.py")):
        if path.name == "__init__.py":
            continue
        match = MODULE_CONSTANTS.search(path.read_text(encoding="utf-8"))
        if match:
            module = ".".join((package_dir.name, "api", path.parent.name, path.stem))
            found[(match["method"], match["path"])] = module
    return found


def build(spec: Spec, package_dir: Path) -> list[Entry]:
    modules = modules_by_operation(package_dir)
    entries: list[Entry] = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            names = {resolve_parameter(spec, p)["name"] for p in operation.get("parameters", [])}
            security = operation.get("security", spec.get("security"))
            entries.append(
                Entry(
                    module=modules[(method.upper(), path)],
                    operation_id=operation.get("operationId", ""),
                    method=method.upper(),
                    path=path,
                    tag=(operation.get("tags") or [""])[0],
                    interfaces=interfaces(spec, operation),
                    auth=security != [],
                    paginated={"count", "offset"} <= names,
                    list_key=list_key(spec, operation),
                    action=action_name(path),
                )
            )
    return entries


def render(entries: list[Entry]) -> str:
    lines = [
        '"""Every operation of the spec, with the facts the hand-written layer needs.',
        "",
        "Derived from the normalised spec by scripts/catalog.py: list keys of paginated responses,",
        "action names, the APIs that serve each operation, and whether it needs a token.",
        '"""',
        "",
        "from typing import NamedTuple",
        "",
        "",
        "class Operation(NamedTuple):",
        '    module: str  #: import path of the generated endpoint module',
        "    operation_id: str",
        "    method: str",
        "    path: str",
        "    tag: str",
        '    interfaces: tuple[str, ...]  #: "customer" and/or "enterprise"',
        "    auth: bool  #: False for the operations with ``security: []``",
        "    paginated: bool  #: takes ``count`` and ``offset``",
        "    list_key: str | None  #: key of the list inside ``data`` (with ``total_items``)",
        "    action: str | None  #: action name for ``.../actions/<name>`` paths",
        "",
        "",
        "OPERATIONS: tuple[Operation, ...] = (",
    ]
    for e in entries:
        lines.append(
            f"    Operation({e.module!r}, {e.operation_id!r}, {e.method!r}, {e.path!r}, {e.tag!r}, "
            f"{e.interfaces!r}, {e.auth!r}, {e.paginated!r}, {e.list_key!r}, {e.action!r}),"
        )
    lines.append(")")
    return "\n".join(lines) + "\n"


def write(spec: Spec, package_dir: Path) -> None:
    (package_dir / "_catalog.py").write_text(render(build(spec, package_dir)), encoding="utf-8")
