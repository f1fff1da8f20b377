"""Normalise the CareCloud OpenAPI spec before code generation.

The vendor's spec is valid OpenAPI, but a bare openapi-python-client run over it drops
operations, drops the login response, copies the same error bodies into thousands of models
and sends array filters in a syntax the PHP server does not read. Each pass below fixes one
such defect, generically (by rule, never by a list of paths), so that it keeps working on the
next version of the spec. Every pass is a pure function ``spec -> None`` that edits the dict in
place and records what it did in a :class:`Report`; :func:`normalise` runs them in a fixed order
on a deep copy. The output is deterministic: same input, same bytes.

    python -m scripts.normalise IN.yaml OUT.json
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Spec = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SCHEMA_REF = "#/components/schemas/"
# Descriptions that ask for PHP array syntax on a parameter the spec types as a plain string.
ARRAY_SYNTAX_HINT = re.compile(r"array syntax", re.IGNORECASE)


@dataclass
class Report:
    """What the normaliser changed, pass by pass (printed by ``make generate``)."""

    changes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, pass_name: str, message: str) -> None:
        self.changes[pass_name].append(message)

    def summary(self) -> str:
        lines = []
        for name, items in self.changes.items():
            lines.append(f"{name}: {len(items)}")
            lines.extend(f"  - {item}" for item in items[:12])
            if len(items) > 12:
                lines.append(f"  ... and {len(items) - 12} more")
        return "\n".join(lines)


def load(path: Path) -> Spec:
    """Parse a YAML or JSON spec file (JSON is a subset of YAML)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)
    if not isinstance(data, dict) or "paths" not in data:
        raise ValueError(f"{path} is not an OpenAPI document (no 'paths')")
    return data


def dump(spec: Spec) -> str:
    return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- helpers


def pascal_case(value: str) -> str:
    """The class name openapi-python-client derives from a name (close enough to compare)."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", re.sub(r"[^A-Za-z0-9]+", " ", value))
    return "".join(word[:1].upper() + word[1:] for word in words)


def canonical(node: Any) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def iter_operations(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation


def walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call ``visit`` on every mapping below ``node`` (depth first, document order)."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)


def rewrite_refs(spec: Spec, mapping: dict[str, str]) -> None:
    def visit(node: dict[str, Any]) -> None:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in mapping:
            node["$ref"] = mapping[ref]

    walk(spec, visit)


def resolve_parameter(spec: Spec, parameter: dict[str, Any]) -> dict[str, Any]:
    ref = parameter.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
        resolved: dict[str, Any] = spec["components"]["parameters"][ref.rsplit("/", 1)[1]]
        return resolved
    return parameter


def iter_parameters(spec: Spec) -> Iterator[dict[str, Any]]:
    """Every parameter definition once: shared components first, then inline ones."""
    yield from spec.get("components", {}).get("parameters", {}).values()
    for _, _, operation in iter_operations(spec):
        for parameter in operation.get("parameters", []):
            if "$ref" not in parameter:
                yield parameter
    for item in spec.get("paths", {}).values():
        for parameter in item.get("parameters", []):
            if "$ref" not in parameter:
                yield parameter


def unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while pascal_case(name) in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(pascal_case(name))
    return name


def schema_names(spec: Spec) -> dict[str, Any]:
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    return schemas


# --------------------------------------------------------------------------- passes


def resolve_schema_aliases(spec: Spec, report: Report) -> None:
    """A component schema that is only a ``$ref`` to another (``Customer-type`` -> ``CustomerType``)
    makes the generator build the same class twice; point its users at the target and drop it."""
    schemas = schema_names(spec)
    aliases = {
        SCHEMA_REF + name: schema["$ref"]
        for name, schema in schemas.items()
        if isinstance(schema, dict) and set(schema) == {"$ref"}
    }
    mapping: dict[str, str] = {}
    for source, first in aliases.items():
        # Follow chains (A -> B -> C) whatever their order in the document, so no ref is left
        # pointing at an alias that is removed below.
        target, seen = first, {source}
        while target in aliases and target not in seen:
            seen.add(target)
            target = aliases[target]
        mapping[source] = target
        name = source.removeprefix(SCHEMA_REF)
        del schemas[name]
        report.add("resolve_schema_aliases", f"{name} -> {target.removeprefix(SCHEMA_REF)}")
    if mapping:
        rewrite_refs(spec, mapping)


def rename_clashing_schemas(spec: Spec, report: Report) -> None:
    """Two component names that give the same class name (``Foo-bar`` and ``FooBar``) would
    overwrite each other: the later one gets a numbered name."""
    schemas = schema_names(spec)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    renamed: dict[str, Any] = {}
    for name, schema in schemas.items():
        if pascal_case(name) in taken:
            new = unique_name(pascal_case(name), taken)
            mapping[SCHEMA_REF + name] = SCHEMA_REF + new
            renamed[new] = schema
            report.add("rename_clashing_schemas", f"{name} -> {new}")
        else:
            taken.add(pascal_case(name))
            renamed[name] = schema
    if mapping:
        schemas.clear()
        schemas.update(renamed)
        rewrite_refs(spec, mapping)


def hoist_response_schemas(spec: Spec, report: Report) -> None:
    """Shared responses (``components/responses``) with inline bodies are copied by the generator
    into every operation that uses them (4,150 models for five error bodies). Move each body to a
    named schema (``Unauthorized`` -> ``UnauthorizedErrorBody``) so there is one model per body."""
    schemas = schema_names(spec)
    taken = {pascal_case(name) for name in schemas}
    for name, response in spec.get("components", {}).get("responses", {}).items():
        for media in response.get("content", {}).values():
            schema = media.get("schema")
            if not isinstance(schema, dict) or "$ref" in schema:
                continue
            base = name.removesuffix("Error") + "ErrorBody"
            new = unique_name(base, taken)
            schemas[new] = schema
            media["schema"] = {"$ref": SCHEMA_REF + new}
            report.add("hoist_response_schemas", f"responses/{name} -> schemas/{new}")


def hoist_parameter_enums(spec: Spec, report: Report) -> None:
    """An inline enum on a parameter becomes one enum class per operation
    (``GetCustomersSortDirection``, ``GetRewardsSortDirection``, ...). Identical enums on
    parameters of the same name become one shared schema (``SortDirection``). Where one name
    carries different enums (``state``: 0-1 on cards, 0-2 on orders), each is named after the
    alphabetically first operation using it (``GetCardsState``, ``GetOrdersState``): the order of
    the document never decides a name, so a reordered spec renames nothing."""
    schemas = schema_names(spec)
    taken = {pascal_case(name) for name in schemas}
    Key = tuple[str, str]
    sites: dict[int, tuple[dict[str, Any], Key]] = {}
    users: dict[Key, set[str]] = defaultdict(set)
    first: dict[Key, dict[str, Any]] = {}

    def consider(parameter: dict[str, Any], user: str | None) -> None:
        schema = parameter.get("schema")
        if not isinstance(schema, dict):
            return
        target = schema.get("items") if schema.get("type") == "array" else schema
        if not isinstance(target, dict) or "enum" not in target or "$ref" in target:
            return
        key = (parameter["name"].removesuffix("[]"), canonical(target))
        sites.setdefault(id(parameter), (parameter, key))
        first.setdefault(key, copy.deepcopy(target))
        if user is not None:
            users[key].add(user)
        else:
            users.setdefault(key, set())

    for parameter in spec.get("components", {}).get("parameters", {}).values():
        consider(parameter, None)  # shared: its users are the operations that refer to it
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            user = operation.get("operationId") or f"{method}_{path}"
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                consider(resolve_parameter(spec, parameter), user)

    variants: dict[str, int] = defaultdict(int)
    for name, _ in users:
        variants[name] += 1
    names: dict[Key, str] = {}
    for key in sorted(users, key=lambda k: (k[0], sorted(users[k]), k[1])):
        name = key[0]
        owner = min(users[key], default="")
        base = pascal_case(name) if variants[name] == 1 or not owner else pascal_case(owner) + pascal_case(name)
        names[key] = unique_name(base, taken)
        schemas[names[key]] = first[key]
        report.add("hoist_parameter_enums", f"{name} -> schemas/{names[key]}")
    for parameter, key in sites.values():
        schema = parameter["schema"]
        ref = {"$ref": SCHEMA_REF + names[key]}
        if schema.get("type") == "array":
            schema["items"] = ref
        else:
            parameter["schema"] = ref


def _response_schema_sites(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operationId, status, media object) for every inline response body of an operation."""
    for path, method, operation in iter_operations(spec):
        op_id = operation.get("operationId") or f"{method}_{path}"
        for status, response in operation.get("responses", {}).items():
            if not isinstance(response, dict):
                continue
            for media in response.get("content", {}).values():
                if isinstance(media.get("schema"), dict) and "$ref" not in media["schema"]:
                    yield op_id, str(status), media


def dedupe_titled_schemas(spec: Spec, report: Report) -> None:
    """Response bodies carry titles (``PostUserLogin200Response``) that the generator uses as class
    names. The same title twice is fatal to one of them (the login's 200 response was dropped).
    Identical bodies under one title are hoisted into one schema; a body whose title was
    copy-pasted from another operation is retitled after its own operation and status."""
    schemas = schema_names(spec)
    taken = {pascal_case(name) for name in schemas}
    sites: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for op_id, status, media in _response_schema_sites(spec):
        title = media["schema"].get("title")
        if isinstance(title, str):
            sites[title].append((op_id, status, media))
    for title, group in sites.items():
        if len(group) < 2:
            continue
        bodies = {canonical(media["schema"]) for _, _, media in group}
        if len(bodies) == 1:
            new = unique_name(title, taken)
            schemas[new] = group[0][2]["schema"]
            for _, _, media in group:
                media["schema"] = {"$ref": SCHEMA_REF + new}
            report.add("dedupe_titled_schemas", f"{title}: {len(group)} identical bodies -> schemas/{new}")
            continue
        owner = pascal_case(title)
        for op_id, status, media in group:
            own = f"{pascal_case(op_id)}{status}Response"
            if own == owner:
                continue
            new = unique_name(own, taken)
            media["schema"]["title"] = new
            report.add("dedupe_titled_schemas", f"{title} in {op_id} {status} -> {new}")


def _inline_enum(schema: Any) -> dict[str, Any] | None:
    if not isinstance(schema, dict) or "$ref" in schema:
        return None
    if "enum" in schema:
        return schema
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and "enum" in items and "$ref" not in items:
        return items
    return None


def rename_clashing_enums(spec: Spec, report: Report) -> None:
    """The generator names an inline enum ``<Schema><Property>``; ``Task.state`` becomes
    ``TaskState``, which is also a component schema, and the whole ``Task`` schema was dropped
    (with ``POST /tasks`` and ``PUT /tasks/{task_id}``). Such enums get a title that keeps them
    apart (``TaskStateValue``)."""
    schemas = schema_names(spec)
    taken = {pascal_case(name) for name in schemas}
    for schema_name, schema in schemas.items():
        if not isinstance(schema, dict):
            continue
        for prop_name, prop in (schema.get("properties") or {}).items():
            enum = _inline_enum(prop)
            if enum is None:
                continue
            label = enum.get("title") or prop_name
            if pascal_case(schema_name) + pascal_case(label) in taken:
                candidate, n = f"{label}_value", 2
                while pascal_case(schema_name) + pascal_case(candidate) in taken:
                    candidate, n = f"{label}_value{n}", n + 1
                taken.add(pascal_case(schema_name) + pascal_case(candidate))
                enum["title"] = candidate
                report.add(
                    "rename_clashing_enums",
                    f"{schema_name}.{prop_name} -> {pascal_case(schema_name)}{pascal_case(candidate)}",
                )


def retype_array_syntax_params(spec: Spec, report: Report) -> None:
    """Query parameters typed ``string`` whose description asks for array syntax
    (``reward_id[]=...``) take one value or several: retype them ``string`` or array of strings.

    The spec's own type (and the vendor's PHP client) send one value as ``reward_id=x``; the
    description asks for ``reward_id[]=a&reward_id[]=b`` for several. The generated function
    takes ``str | list[str]`` and sends each in its own syntax (api-spec/templates/
    endpoint_module.py.jinja, ``query_params``); the description says so on each parameter.
    """
    for parameter in iter_parameters(spec):
        schema = parameter.get("schema")
        if (
            parameter.get("in") == "query"
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and ARRAY_SYNTAX_HINT.search(parameter.get("description", ""))
        ):
            name = parameter["name"]
            note = (
                f"One value (a string) is sent as `{name}=x`, as the spec's type says; several (a list) "
                f"in array syntax, `{name}[]=a&{name}[]=b`."
            )
            # The generator documents a parameter with its schema's description: the note goes there too.
            parameter["schema"] = {"oneOf": [schema, {"type": "array", "items": schema}], "description": note}
            parameter["description"] = f"{parameter.get('description', '').rstrip()}\n\n{note}".lstrip()
            report.add("retype_array_syntax_params", name)


def bracket_array_params(spec: Spec, report: Report) -> None:
    """The server is PHP: ``tag_ids=a&tag_ids=b`` keeps only ``b``. Renaming an array query
    parameter to ``tag_ids[]`` makes the generator send ``tag_ids[]=a&tag_ids[]=b`` while the Python
    argument stays ``tag_ids``."""
    for parameter in iter_parameters(spec):
        schema = parameter.get("schema")
        if parameter.get("in") != "query" or not isinstance(schema, dict):
            continue
        if schema.get("type") == "array" and not parameter["name"].endswith("[]"):
            report.add("bracket_array_params", f"{parameter['name']} -> {parameter['name']}[]")
            parameter["name"] += "[]"
            parameter["explode"] = True
            parameter["style"] = "form"


def drop_header_defaults(spec: Spec, report: Report) -> None:
    """``Accept-Language`` has a default on 310 operations; the generated functions would send it
    on every call and override the client-level language. Header defaults are dropped."""
    for parameter in iter_parameters(spec):
        schema = parameter.get("schema")
        if parameter.get("in") == "header" and isinstance(schema, dict) and "default" in schema:
            del schema["default"]
            report.add("drop_header_defaults", parameter["name"])


def fill_array_items(spec: Spec, report: Report) -> None:
    """An array schema without ``items`` (the 2026-03-21 spec has a bare ``{type: array}`` in the
    ``oneOf`` of ``invalid_params[].name`` in the shared 400 body) makes openapi-python-client drop
    the whole schema, and with it the 400 response of every operation. Such arrays get
    ``items: {}`` (any value). Examples, defaults and enums are data, not schemas: skipped."""

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "array" and "items" not in node:
                node["items"] = {}
                report.add("fill_array_items", where or "/")
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):  # names, not keywords
                    for name, prop in value.items():
                        visit(prop, f"{where}/properties/{name}")
                elif key not in ("example", "examples", "default", "enum"):
                    visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(value, f"{where}/{index}")

    visit(spec, "")


def nullable_enums_accept_null(spec: Spec, report: Report) -> None:
    """``personal_information.gender`` is an inline ``enum: [1, 2, 3, 4, 5]`` with ``nullable: true``;
    the generator ignores ``nullable`` on an enum (OpenAPI 3.0 wants null in the values, which it
    turns into ``...Type1`` classes), so the field was typed as the bare enum and a null gender
    failed a whole page of customers. A nullable inline enum of a component schema's property is
    hoisted into a component named as the generator named the class (``PersonalInformationGender``)
    and the property becomes ``{nullable: true, oneOf: [$ref]}``, which the generator types
    ``PersonalInformationGender | None``."""
    schemas = schema_names(spec)
    taken = {pascal_case(name) for name in schemas}
    for name in sorted(schemas):
        properties = schemas[name].get("properties") if isinstance(schemas[name], dict) else None
        if not isinstance(properties, dict):
            continue
        for prop_name, prop in list(properties.items()):
            if not (isinstance(prop, dict) and prop.get("nullable") is True and isinstance(prop.get("enum"), list)):
                continue
            keep = {key: prop[key] for key in ("description", "example", "readOnly", "writeOnly") if key in prop}
            enum = {key: value for key, value in prop.items() if key not in keep and key != "nullable"}
            hoisted = _hoist_enum(schemas, name, prop_name, enum, taken)
            if hoisted is None:
                continue  # left as it is: the models parse a null in any field as None anyway
            properties[prop_name] = {**keep, "nullable": True, "oneOf": [{"$ref": SCHEMA_REF + hoisted}]}
            report.add("nullable_enums_accept_null", f"{name}.{prop_name} -> schemas/{hoisted} | None")


def _is_read_only(spec: Spec, schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        return bool(schema_names(spec).get(ref.removeprefix(SCHEMA_REF), {}).get("readOnly"))
    return bool(schema.get("readOnly"))


def _read_only_required(spec: Spec, node: Any) -> list[tuple[dict[str, Any], str]]:
    """(object schema, property) for every required ``readOnly`` property in ``node``'s own
    (inline) object schemas; ``$ref`` targets are other schemas and are not entered."""
    found: list[tuple[dict[str, Any], str]] = []

    def visit(schema: Any) -> None:
        if isinstance(schema, list):
            for item in schema:
                visit(item)
            return
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for name in schema.get("required") or ():
                if _is_read_only(spec, properties.get(name)):
                    found.append((schema, name))
            for prop in properties.values():
                visit(prop)
        for key in ("items", "additionalProperties", "allOf", "oneOf", "anyOf", "not"):
            if key in schema:
                visit(schema[key])

    visit(node)
    return found


def _schema_refs(node: Any) -> set[str]:
    """Names of the component schemas ``node`` refers to directly."""
    names: set[str] = set()

    def visit(mapping: dict[str, Any]) -> None:
        ref = mapping.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            names.add(ref.removeprefix(SCHEMA_REF))

    walk(node, visit)
    return names


def _request_body_media(spec: Spec) -> Iterator[dict[str, Any]]:
    """Every media object of every request body (shared ``components/requestBodies`` once)."""
    shared = spec.get("components", {}).get("requestBodies", {})
    yield from (media for body in shared.values() for media in body.get("content", {}).values())
    for _, _, operation in iter_operations(spec):
        body = operation.get("requestBody")
        if isinstance(body, dict) and "$ref" not in body:
            yield from body.get("content", {}).values()


def _hoist_enum(
    schemas: dict[str, Any], owner: str, fallback: str, enum: dict[str, Any], taken: set[str]
) -> str | None:
    """Add ``enum`` to ``schemas`` under the name the generator gives its class (``owner`` and the
    enum's title, else ``fallback``: ``Store`` + ``state`` -> ``StoreState``) and return that name;
    None when the name is taken (the caller leaves the enum inline)."""
    hoisted = pascal_case(owner) + pascal_case(enum.get("title") or fallback)
    if hoisted in taken:
        return None
    taken.add(hoisted)
    schemas[hoisted] = {**enum, "title": hoisted}
    return hoisted


def _hoist_inline_enums(schemas: dict[str, Any], name: str, taken: set[str], report: Report) -> None:
    """Move the inline enums of ``schemas[name]``'s properties into component schemas named as the
    generator names them (``Store.state`` -> ``StoreState``, an array's items -> ``...Item``), so
    the class names stay and a write twin shares the enums instead of copying them."""
    for prop_name, prop in (schemas[name].get("properties") or {}).items():
        enum = _inline_enum(prop)
        if enum is None:
            continue
        hoisted = _hoist_enum(schemas, name, prop_name if enum is prop else f"{prop_name}_item", enum, taken)
        if hoisted is None:
            continue  # the name is another schema's: leave this enum inline (the twin copies it)
        if enum is prop:
            schemas[name]["properties"][prop_name] = {"$ref": SCHEMA_REF + hoisted}
        else:
            prop["items"] = {"$ref": SCHEMA_REF + hoisted}
        report.add("split_write_schemas", f"{name}.{prop_name} enum -> schemas/{hoisted}")


def split_write_schemas(spec: Spec, report: Report) -> None:
    """In OpenAPI 3.0 a property both ``readOnly`` and ``required`` is required in responses only.
    The generator ignores ``readOnly``, so ``Store.store_id`` (and eight fields of ``Purchase``)
    were required arguments of the request models of postStore, putStore, putPurchase ... and always
    sent. A schema used in a request body that has such a property, or refers to one that has,
    gets a write twin (``StoreWrite``) where those properties are optional; request bodies refer
    to the twins, responses keep the originals. Inline request bodies are fixed in place."""
    schemas = schema_names(spec)
    refs = {name: _schema_refs(schema) for name, schema in schemas.items()}
    needs = {name for name, schema in schemas.items() if _read_only_required(spec, schema)}
    grown = True
    while grown:  # a schema that refers to one needing a twin needs one too
        more = {name for name, targets in refs.items() if name not in needs and targets & needs}
        needs |= more
        grown = bool(more)

    media_objects = [media for media in _request_body_media(spec) if isinstance(media.get("schema"), dict)]
    twins: set[str] = set()
    queue = sorted({name for media in media_objects for name in _schema_refs(media["schema"])} & needs)
    while queue:
        name = queue.pop()
        if name not in twins:
            twins.add(name)
            queue.extend(sorted(refs[name] & needs))

    taken = {pascal_case(name) for name in schemas}
    for name in sorted(twins):
        _hoist_inline_enums(schemas, name, taken, report)
    mapping = {SCHEMA_REF + name: SCHEMA_REF + unique_name(f"{name}Write", taken) for name in sorted(twins)}

    def writable(node: Any, where: str) -> Any:
        node = copy.deepcopy(node)
        for obj, prop in _read_only_required(spec, node):
            obj["required"] = [name for name in obj["required"] if name != prop]
            if not obj["required"]:
                del obj["required"]
            report.add("split_write_schemas", f"{where}.{prop} optional")
        for target in _schema_refs(node) & twins:
            rewrite_refs(node, {SCHEMA_REF + target: mapping[SCHEMA_REF + target]})
        return node

    for name in sorted(twins):
        twin_name = mapping[SCHEMA_REF + name].removeprefix(SCHEMA_REF)
        twin = writable(schemas[name], twin_name)
        if "title" in twin:
            twin["title"] = twin_name
        schemas[twin_name] = twin
    for media in media_objects:
        if _read_only_required(spec, media["schema"]) or _schema_refs(media["schema"]) & twins:
            media["schema"] = writable(media["schema"], "request body")


# --------------------------------------------------------------------------- documentation

#: Keywords that are data, not schemas: a schema walk does not enter them.
_DATA_KEYWORDS = frozenset({"example", "examples", "default", "enum", "const"})


def _shown(value: Any) -> str:
    """A value in a constraint (``default: 100``, ``one of: ASC, DESC``), as Python writes it for
    ``None`` and booleans; a string as it is unless empty or holding a separator.

    >>> [_shown(v) for v in (100, "ASC", True, None, "", "a, b", 1.5)]
    ['100', 'ASC', 'True', 'None', '""', '"a, b"', '1.5']
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        plain = value and value == value.strip() and not any(mark in value for mark in ",;()`")
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _range(low: Any, high: Any, unit: str = "", *, above: bool = False, below: bool = False) -> list[str]:
    """``1 to 100 characters``, ``at least 1``, ``less than 5`` ... (``above``/``below``: exclusive)."""

    def counted(number: Any) -> str:
        return f"{number} {unit}{'' if number == 1 else 's'}" if unit else str(number)

    if low is not None and high is not None and not (above or below):
        return [f"{low} to {counted(high)}"]
    out = []
    if low is not None:
        out.append(f"{'more than' if above else 'at least'} {counted(low)}")
    if high is not None:
        out.append(f"{'less than' if below else 'at most'} {counted(high)}")
    return out


def _constraint_keys(spec: Spec, schema: Any) -> dict[str, Any]:
    """The schema's keywords, with those of what it stands for: the target of a ``$ref``, the one
    member of an ``allOf``/``oneOf``/``anyOf`` (the outer schema's own keywords win)."""
    merged: dict[str, Any] = {}
    seen: set[int] = set()
    while isinstance(schema, dict) and id(schema) not in seen:
        seen.add(id(schema))
        for key, value in schema.items():
            merged.setdefault(key, value)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            schema = schema_names(spec).get(ref.removeprefix(SCHEMA_REF))
            continue
        members = [*schema.get("allOf", []), *schema.get("oneOf", []), *schema.get("anyOf", [])]
        schema = members[0] if len(members) == 1 else None
    return merged


def constraint_notes(spec: Spec, schema: Any) -> list[str]:
    """What ``schema`` allows, in short words: ``at least 1``, ``at most 100``, ``1 to 100
    characters``, ``at most 1000 items``, ``matches ``^[1-9][0-9]*$````, ``one of: ASC, DESC``,
    ``each one of: a, b`` (an array's items), ``default: 100``.

    >>> constraint_notes({}, {"type": "integer", "minimum": 1, "default": 100})
    ['at least 1', 'default: 100']
    >>> constraint_notes({}, {"type": "array", "maxItems": 5, "items": {"enum": ["a", "b"]}})
    ['at most 5 items', 'each one of: a, b']
    """
    keys = _constraint_keys(spec, schema)
    notes = _range(
        keys.get("minimum"),
        keys.get("maximum"),
        above=keys.get("exclusiveMinimum") is True,
        below=keys.get("exclusiveMaximum") is True,
    )
    for bound, word in (("exclusiveMinimum", "more than"), ("exclusiveMaximum", "less than")):
        if isinstance(keys.get(bound), (int, float)) and not isinstance(keys.get(bound), bool):  # OpenAPI 3.1
            notes.append(f"{word} {keys[bound]}")
    notes += _range(keys.get("minLength"), keys.get("maxLength"), "character")
    notes += _range(keys.get("minItems"), keys.get("maxItems"), "item")
    if isinstance(keys.get("pattern"), str):
        notes.append(f"matches ``{keys['pattern']}``")
    if isinstance(keys.get("enum"), list):
        notes.append("one of: " + ", ".join(_shown(value) for value in keys["enum"]))
    if keys.get("type") == "array" and isinstance(keys.get("items"), dict):
        notes += [f"each {note}" for note in constraint_notes(spec, keys["items"]) if not note.startswith("default")]
    if "default" in keys:
        notes.append(f"default: {_shown(keys['default'])}")
    return notes


def documented(spec: Spec, description: Any, schema: Any) -> str:
    """A description followed by the constraints of its schema, the one wording of both that the
    generated docstrings, the resource tree and the docs pages show.

    >>> count = {"type": "integer", "minimum": 1, "default": 100}
    >>> documented({}, "The number of records.", count)
    'The number of records. (at least 1; default: 100)'
    >>> documented({}, "The number of records. (at least 1; default: 100)", count)  # normalised again
    'The number of records. (at least 1; default: 100)'
    >>> documented({}, "", {"enum": ["ASC", "DESC"]})
    'one of: ASC, DESC'
    """
    text = str(description or "").rstrip()
    notes = "; ".join(constraint_notes(spec, schema))
    if not notes or text == notes or text.endswith(f" ({notes})"):  # none, or there already
        return text
    return f"{text} ({notes})" if text else notes


def parameter_texts(spec: Spec, path: str, method: str) -> dict[str, str]:
    """``{name sent: description}`` of one operation's parameters (path-level ones first, the
    operation's own winning), each on one line, and ``body`` for its request body."""
    item = spec["paths"][path]
    operation = item[method.lower()]
    texts: dict[str, str] = {}
    for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = resolve_parameter(spec, raw)
        texts[str(parameter.get("name", ""))] = " ".join(str(parameter.get("description") or "").split())
    body = operation.get("requestBody") or {}
    if "$ref" in body:
        body = spec["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[1]]
    texts["body"] = " ".join(str(body.get("description") or "the request body").split())
    return texts


def document_constraints(spec: Spec, report: Report) -> None:
    """The generated docstrings showed no parameter's description (the generator documents a
    parameter with its schema's description, which the spec leaves empty: ``birthdate`` was just
    ``str``) and no constraint anywhere (``count``: at least 1, default 100; ``sort_direction``:
    ASC or DESC; ``phone``'s pattern). Every parameter's and every schema property's description
    gets its constraints appended in the words of :func:`documented`, and so do enum components
    (a field referring to one shows its description). The endpoint template prints the
    parameters' from :func:`parameter_texts` (``scripts/generate.py``, ``_spec_docs.jinja``), the
    resource tree the same. Runs last, when every enum is where the generator finds it."""

    def document(node: dict[str, Any], schema: Any) -> bool:
        # documented() appends nothing twice: a node the YAML shares (an anchor) is seen again
        text = documented(spec, node.get("description"), schema)
        if text == str(node.get("description") or "").rstrip():
            return False
        node["description"] = text
        return True

    for parameter in iter_parameters(spec):
        if document(parameter, parameter.get("schema")):
            report.add("document_constraints", f"parameter {parameter.get('name')}")
    for name, schema in schema_names(spec).items():
        if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and document(schema, schema):
            report.add("document_constraints", f"enum schemas/{name}")
    fields = 0

    def visit(node: Any) -> None:
        nonlocal fields
        if isinstance(node, list):
            for value in node:
                visit(value)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    for prop in value.values():
                        if isinstance(prop, dict) and "$ref" not in prop:
                            fields += document(prop, prop)
                        visit(prop)
                elif key not in _DATA_KEYWORDS:
                    visit(value)

    visit(spec.get("components", {}))
    visit(spec.get("paths", {}))
    if fields:
        report.add("document_constraints", f"{fields} schema properties")


PASSES: tuple[Callable[[Spec, Report], None], ...] = (
    fill_array_items,
    nullable_enums_accept_null,
    resolve_schema_aliases,
    rename_clashing_schemas,
    hoist_response_schemas,
    retype_array_syntax_params,
    hoist_parameter_enums,
    bracket_array_params,
    drop_header_defaults,
    dedupe_titled_schemas,
    rename_clashing_enums,
    split_write_schemas,
    document_constraints,
)


def normalise(spec: Spec, report: Report | None = None) -> Spec:
    """Return a normalised deep copy of ``spec``; the input is left untouched."""
    report = report if report is not None else Report()
    result = copy.deepcopy(spec)
    for run in PASSES:
        run(result, report)
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report = Report()
    out = normalise(load(Path(argv[1])), report)
    Path(argv[2]).write_text(dump(out), encoding="utf-8")
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
