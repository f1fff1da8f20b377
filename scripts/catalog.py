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
    list_attr: str | None
    action: str | None


def python_name(wire_name: str) -> str:
    """The attribute name openapi-python-client gives a property (``credits`` -> ``credits_``)."""
    from openapi_python_client.strings import PythonIdentifier

    return str(PythonIdentifier(wire_name, prefix="field_"))


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
            key = list_key(spec, operation)
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
                    list_key=key,
                    list_attr=python_name(key) if key else None,
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
        "    module: str  #: import path of the generated endpoint module",
        "    operation_id: str",
        "    method: str",
        "    path: str",
        "    tag: str",
        '    interfaces: tuple[str, ...]  #: "customer" and/or "enterprise"',
        "    auth: bool  #: False for the operations with ``security: []``",
        "    paginated: bool  #: takes ``count`` and ``offset``",
        "    list_key: str | None  #: key of the list inside ``data`` (with ``total_items``)",
        "    list_attr: str | None  #: its attribute name on the generated model (``credits_``)",
        "    action: str | None  #: action name for ``.../actions/<name>`` paths",
        "",
        "",
        "OPERATIONS: tuple[Operation, ...] = (",
    ]
    for e in entries:
        lines.append(
            f"    Operation({e.module!r}, {e.operation_id!r}, {e.method!r}, {e.path!r}, {e.tag!r}, "
            f"{e.interfaces!r}, {e.auth!r}, {e.paginated!r}, {e.list_key!r}, {e.list_attr!r}, {e.action!r}),"
        )
    lines.append(")")
    return "\n".join(lines) + "\n"


def write(spec: Spec, package_dir: Path) -> None:
    entries = build(spec, package_dir)
    (package_dir / "_catalog.py").write_text(render(entries), encoding="utf-8")
    (package_dir / "actions.py").write_text(render_actions(entries), encoding="utf-8")


def snake(value: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", value).strip("_").lower()


def action_names(entries: list[Entry]) -> dict[str, dict[str, Entry]]:
    """Action operations grouped by resource (first path segment), keyed by method name.

    The name is the action's (``verify-credentials`` -> ``verify_credentials``); where two actions
    of one resource share it, the path segments between resource and ``actions`` come first
    (``/recommendation-engine/product/actions/order`` -> ``product_order``).
    """
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.action:
            groups.setdefault(snake(entry.path.strip("/").split("/")[0]), []).append(entry)
    result: dict[str, dict[str, Entry]] = {}
    for group, members in groups.items():
        counts: dict[str, int] = {}
        for entry in members:
            counts[snake(entry.action or "")] = counts.get(snake(entry.action or ""), 0) + 1
        named: dict[str, Entry] = {}
        for entry in members:
            name = snake(entry.action or "")
            if counts[name] > 1:
                segments = entry.path.strip("/").split("/")
                middle = [s for s in segments[1 : segments.index("actions")] if not s.startswith("{")]
                name = snake("_".join([*middle, name]))
            if name in named or name.startswith("_"):
                name = entry.module.rsplit(".", 1)[1]
            named[name] = entry
        result[group] = dict(sorted(named.items()))
    return dict(sorted(result.items()))


def render_actions(entries: list[Entry]) -> str:
    groups = action_names(entries)
    lines = [
        '"""Every action method of the spec (``.../actions/<name>``), grouped by resource.',
        "",
        "Derived from the spec by scripts/catalog.py. Each attribute is the generated endpoint's typed",
        "``call`` with the client bound by a runner (carecloud_async passes ``CareCloud.call``):",
        "",
        "    actions = Actions(cc.call)",
        "    await actions.customers.verify_credentials(body=...)",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import functools",
        "import inspect",
        "from collections.abc import Awaitable, Callable",
        "from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast, overload",
        "",
    ]
    for group, named in groups.items():
        for name, entry in named.items():
            package, module = entry.module.rsplit(".", 1)
            lines.append(f"from {package.replace('carecloud_api', '', 1) or '.'} import {module} as _{group}__{name}")
    lines += [
        "from .client import Client",
        "",
        'P = ParamSpec("P")',
        'R = TypeVar("R")',
        "",
        "",
        "class Runner(Protocol):",
        '    """Runs a generated ``call`` function with an authenticated client (``CareCloud.call``)."""',
        "",
        "    def __call__(self, operation: Any, /, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...",
        "",
        "",
        "class _Group:",
        '    __slots__ = ("_run",)',
        "",
        "    def __init__(self, run: Runner) -> None:",
        "        self._run = run",
        "",
        "",
        "class _Action(Generic[P, R]):",
        '    """One action: the generated ``call`` with the client left out, documented by its route."""',
        "",
        "    def __init__(self, function: Callable[Concatenate[Client, P], Awaitable[R]], route: str) -> None:",
        "        self.function = function",
        "        self.route = route",
        "        self.name = function.__name__",
        "        self.__doc__ = f\"{route}\\n\\n{inspect.cleandoc(function.__doc__ or '')}\"",
        "",
        "    def __set_name__(self, owner: type, name: str) -> None:",
        "        self.name = name",
        "",
        "    @functools.cached_property",
        "    def signature(self) -> inspect.Signature:",
        '        """The ``call`` signature without its ``client`` (the runner passes it)."""',
        "        signature = inspect.signature(self.function)",
        "        return signature.replace(parameters=list(signature.parameters.values())[1:])",
        "",
        "    @overload",
        "    def __get__(self, group: None, owner: type | None = None) -> _Action[P, R]: ...",
        "",
        "    @overload",
        "    def __get__(self, group: _Group, owner: type | None = None) -> Callable[P, Awaitable[R]]: ...",
        "",
        "    def __get__(self, group: _Group | None, owner: type | None = None) -> Any:",
        "        if group is None:",
        "            return self",
        "        run, function = group._run, self.function",
        "",
        "        async def action(*args: Any, **kwargs: Any) -> Any:",
        "            return await run(function, *args, **kwargs)",
        "",
        "        # help() and inspect show the route, the operation's docstring and its arguments",
        "        # without ``client``: the runner (CareCloud.call) supplies it.",
        "        action.__name__ = action.__qualname__ = self.name",
        "        action.__module__ = function.__module__",
        "        action.__doc__ = self.__doc__",
        "        action.__signature__ = self.signature  # type: ignore[attr-defined]",
        "        return cast(Callable[P, Awaitable[R]], action)",
        "",
    ]
    for group, named in groups.items():
        cls = "".join(part.capitalize() for part in group.split("_")) + "Actions"
        doc = f'    """Action methods under ``/{group.replace("_", "-")}``."""'
        lines += ["", "", f"class {cls}(_Group):", doc, ""]
        lines.append("    __slots__ = ()")
        for name, entry in named.items():
            lines.append(f"    {name} = _Action(_{group}__{name}.call, {entry.method + ' ' + entry.path!r})")
            lines.append(f'    """{entry.method} {entry.path}"""')
    lines += [
        "",
        "",
        "class Actions:",
        '    """All action methods, one attribute per resource."""',
        "",
        "    def __init__(self, run: Runner) -> None:",
    ]
    for group in groups:
        cls = "".join(part.capitalize() for part in group.split("_")) + "Actions"
        lines.append(f"        self.{group} = {cls}(run)")
    if not groups:  # a spec without actions (the small specs of the tests): the class stays valid
        lines.append("        del run")
    lines += [
        "",
        "",
        "#: (group, method name, method, path) of every action, in order.",
        "ACTION_ROUTES: tuple[tuple[str, str, str, str], ...] = (",
    ]
    for group, named in groups.items():
        for name, entry in named.items():
            lines.append(f"    ({group!r}, {name!r}, {entry.method!r}, {entry.path!r}),")
    lines.append(")")
    return "\n".join(lines) + "\n"
