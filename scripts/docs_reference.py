"""The API reference of the generated package ``carecloud_api``, as Markdown pages for the docs site.

Read from the code, never from a hand-kept list: the operations from ``carecloud_api._catalog``
(method, path, tag, interfaces, auth, pagination), each endpoint module's typed ``call``
(parameters, with the descriptions and constraints of its docstring; success model) and its
``_parse_response`` (one documented status per branch, with the model of its body), the action
namespace from ``carecloud_api.actions.ACTION_ROUTES``, and every model class under
``carecloud_api.models`` (attrs fields with the types and descriptions of its docstring; enum
members). The docs build (:mod:`scripts.docs_site`, run by
mkdocs-gen-files) writes the pages into the build only: nothing here is committed.

Pages: ``reference/operations/<tag>/<operation>.md`` (one per operation, grouped by tag, with a
page per tag listing them) and ``reference/models/<module>.md`` (one per model), plus an index
of each. Extraction (imports, ``ast``) and rendering (pure functions over the extracted data)
are apart, so the rendering is tested on small hand-made records.

    >>> parameter_location("body", positional=False)
    'body'
    >>> render_type("list[Reward] | Unset", {"Reward": "reward.md"})
    'list[[Reward](reward.md)]'
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import json
import posixpath
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from carecloud_async._errors import error_class_for

PACKAGE = "carecloud_api"
INTERFACE_TITLES = {"enterprise": "Enterprise API", "customer": "Customer API"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VENDOR_LINK = re.compile(r"\[([^\]]*)\]\((?:/|#)[^)]*\)")
_HEADING = re.compile(r"^(#{1,6})\s+", re.MULTILINE)
_CODE_SPAN = re.compile(r"(``(?:[^`]|`(?!`))+``)")
_ARG_LINE = re.compile(r"^(?P<name>\w+) \((?P<type>[^)]*)\):\s*(?P<text>.*)$")


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Parameter:
    """One argument of an operation's ``call``."""

    name: str  #: the Python argument
    wire_name: str  #: the name sent (``reward_id[]``), or the path placeholder, or "body"
    location: str  #: "path", "query", "header" or "body"
    type: str
    required: bool
    default: str | None
    description: str = ""  #: the spec's, with its constraints (``call``'s docstring, ``Args:``)


@dataclass(frozen=True)
class Response:
    """One status ``_parse_response`` documents, and the model of its body (None: no body)."""

    status: int
    model: str | None


@dataclass(frozen=True)
class OperationDoc:
    """What an operation page shows."""

    module: str
    operation_id: str
    method: str
    path: str
    tag: str
    interfaces: tuple[str, ...]
    auth: bool
    paginated: bool
    list_key: str | None
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    success_type: str
    responses: tuple[Response, ...]
    action: str | None = None  #: ``resource.method`` under ``cc.actions``
    method_path: str | None = None  #: its place in the resource tree (``cc.customers.list``)

    @property
    def name(self) -> str:
        """The endpoint module's own name (``get_vouchers``)."""
        return self.module.rsplit(".", 1)[-1]

    @property
    def tag_module(self) -> str:
        """The API group's module name (``vouchers``)."""
        return self.module.rsplit(".", 2)[-2]


@dataclass(frozen=True)
class FieldDoc:
    """One field of a model."""

    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class ModelDoc:
    """What a model page shows: fields for an attrs class, members for an enum."""

    name: str
    module: str
    description: str
    fields: tuple[FieldDoc, ...] = ()
    members: tuple[tuple[str, str], ...] = ()  #: (member name, value) of an enum
    kind: str = "model"  #: "model" or "enum"

    @property
    def slug(self) -> str:
        return self.module.rsplit(".", 1)[-1]


@dataclass
class Reference:
    """Everything the reference pages are made of."""

    operations: list[OperationDoc] = field(default_factory=list)
    models: list[ModelDoc] = field(default_factory=list)
    tag_titles: dict[str, str] = field(default_factory=dict)  #: tag module → the spec's tag


# --------------------------------------------------------------------------- pure helpers


def parameter_location(name: str, *, positional: bool) -> str:
    """Where an argument of a generated ``call`` goes: path parameters are positional, the
    request body is ``body``, ``accept_language`` is the one header, the rest is the query."""
    if positional:
        return "path"
    if name == "body":
        return "body"
    if name == "accept_language":
        return "header"
    return "query"


def render_type(annotation: str, links: Mapping[str, str]) -> str:
    """A type for a Markdown table: ``Unset`` dropped (optional is its own column), every model
    name linked, pipes escaped."""
    parts = [part.strip() for part in annotation.split("|")]
    kept = [part for part in parts if part not in {"Unset", ""}] or ["Any"]
    text = " | ".join(kept)

    def link(match: re.Match[str]) -> str:
        word = match[0]
        return f"[{word}]({links[word]})" if word in links else word

    return _IDENTIFIER.sub(link, text).replace("|", r"\|")


def _site_relative_links(text: str) -> str:
    """Links of the vendor's own site (``[Customer sources](/#tag/Customer-sources)``) lead
    nowhere here: keep their text.

    >>> _site_relative_links("see [sources](/#tag/Sources) and [GET /a](https://x.example/a)")
    'see sources and [GET /a](https://x.example/a)'
    """
    return _VENDOR_LINK.sub(r"\1", text)


def table_text(text: str) -> str:
    """Free text (a spec description) made safe for one Markdown table cell. A double-backtick
    code span (a constraint's pattern: matches ``^[a|b]$``) is kept as it is: the table does not
    split a cell at a pipe inside one, and an escape would show in the code.

    >>> print(table_text("a | <b> (matches ``^[a|b]<c>$``)"))
    a \\| &lt;b&gt; (matches ``^[a|b]<c>$``)
    """
    flat = " ".join(_site_relative_links(text).split())
    parts = _CODE_SPAN.split(flat)  # odd indexes: the code spans
    return "".join(
        part if index % 2 else part.replace("|", r"\|").replace("<", "&lt;").replace(">", "&gt;")
        for index, part in enumerate(parts)
    )


def block_text(text: str) -> str:
    """A spec description as a paragraph: dedented, raw HTML angle brackets escaped, its own
    headings put below the page's sections.

    >>> block_text("## Often used types")
    '#### Often used types'
    """
    text = _site_relative_links(textwrap.dedent(text).strip()).replace("<", "&lt;").replace(">", "&gt;")
    return _HEADING.sub(lambda match: "#" * min(6, len(match[1]) + 2) + " ", text)


def docstring_section(doc: str, heading: str) -> tuple[str, dict[str, str]]:
    """Split a generated docstring at its ``heading:`` section (``Args``, ``Attributes``) into the
    text before it and ``{name: description}`` of the section's entries (continuation lines
    joined, the ``(type)`` dropped). The section ends at the first line no deeper than its heading.

    >>> docstring_section('''Get all customers.
    ...
    ...     Args:
    ...         count (int | Unset): The number of
    ...             records. (at least 1; default: 100)
    ...         email (str | Unset): Search by email.
    ...
    ...     Returns:
    ...         GetCustomers200Response: the page.
    ... ''', "Args")
    ('Get all customers.', {'count': 'The number of records. (at least 1; default: 100)', 'email': 'Search by email.'})
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    at = next((index for index, line in enumerate(lines) if line.strip() == f"{heading}:"), None)
    if at is None:
        return "\n".join(lines).strip(), {}
    depth = len(lines[at]) - len(lines[at].lstrip())
    fields: dict[str, str] = {}
    current: str | None = None
    for line in lines[at + 1 :]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped:
            continue
        if indent <= depth:
            break
        match = _ARG_LINE.match(stripped) if indent == depth + 4 else None
        if match:
            current = match["name"]
            fields[current] = match["text"].strip()
        elif current:
            fields[current] = f"{fields[current]} {stripped}".strip()
    return "\n".join(lines[:at]).strip(), fields


def parse_docstring_attributes(doc: str) -> tuple[str, dict[str, str]]:
    """Split a generated model docstring into its description and ``{field: description}``
    (the ``Attributes:`` section; continuation lines joined; the ``(type)`` dropped).

    >>> parse_docstring_attributes('''Customer's voucher.
    ...
    ...     Attributes:
    ...         code (str | Unset): Code of the voucher. Example:
    ...             w7TU7KfeE.
    ...         note (str | Unset):
    ... ''')
    ("Customer's voucher.", {'code': 'Code of the voucher. Example: w7TU7KfeE.', 'note': ''})
    """
    return docstring_section(doc, "Attributes")


def split_summary(doc: str) -> tuple[str, str]:
    """The summary line and the description of an endpoint's docstring (up to ``Args:``)."""
    text = inspect.cleandoc(doc or "")
    text = re.split(r"^(?:Args|Raises|Returns):\s*$", text, maxsplit=1, flags=re.MULTILINE)[0].strip()
    summary, _, rest = text.partition("\n")
    return summary.strip(), rest.strip()


def responses_of(source: str) -> tuple[Response, ...]:
    """Every ``if response.status_code == N:`` branch of a generated ``_parse_response`` with the
    model its body is parsed into (``X.from_dict``, also when handed to ``parsing.parse``), or None
    for a status without a body."""
    tree = ast.parse(textwrap.dedent(source))
    found: list[Response] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        test = node.test
        if not (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Attribute)
            and test.left.attr == "status_code"
            and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and isinstance(test.comparators[0].value, int)
        ):
            continue
        model = None
        for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            # X.from_dict(...) or parsing.parse(X.from_dict, ...): the model is X
            if isinstance(inner, ast.Attribute) and inner.attr == "from_dict" and isinstance(inner.value, ast.Name):
                model = inner.value.id
                break
        found.append(Response(test.comparators[0].value, model))
    return tuple(sorted(found, key=lambda response: response.status))


def _shown_name(name: str, wire_name: str) -> str:
    """The argument and what goes out: ``reward_id`` (sent as ``reward_id`` or ``reward_id[]``)."""
    if wire_name == name:
        return f"`{name}`"
    return f"`{name}` (sent as {' or '.join(f'`{wire}`' for wire in wire_name.split(' or '))})"


def wire_names_of(source: str) -> dict[str, str]:
    """``{python argument: name sent}`` from a generated ``_get_kwargs``: ``params["reward_id[]"]
    = json_reward_id`` gives ``reward_id → reward_id[]``; headers the same way."""
    tree = ast.parse(textwrap.dedent(source))
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id in {"params", "headers"}
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            continue
        value = node.value
        if isinstance(value, ast.Name):
            argument, wire = value.id.removeprefix("json_"), target.slice.value
            known = names.get(argument)
            # a string-or-list filter (reward_id): one value as reward_id=x, a list as reward_id[]=...
            names[argument] = wire if known is None or known == wire else " or ".join(sorted({known, wire}, key=len))
    # headers["Accept-Language"] = accept_language sits inside an `if`: ast.walk finds it too
    return names


def _format_default(value: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    if type(value).__name__ == "Unset":
        return None
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation)
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+([A-Za-z_]\w*)", r"\1", text).replace("NoneType", "None")


# --------------------------------------------------------------------------- extraction


def _action_names() -> dict[tuple[str, str], str]:
    actions = importlib.import_module(f"{PACKAGE}.actions")
    return {(method, path): f"{group}.{name}" for group, name, method, path in actions.ACTION_ROUTES}


def operation_doc(
    entry: Any, actions: Mapping[tuple[str, str], str], method_paths: Mapping[tuple[str, str], str] | None = None
) -> OperationDoc:
    """Read one operation (a ``_catalog.Operation``) from its endpoint module; ``method_paths``:
    each operation's place in the resource tree (``carecloud_async._resources.METHOD_PATHS``)."""
    method_paths = method_paths or {}
    module = importlib.import_module(entry.module)
    signature = inspect.signature(module.call)
    wire = wire_names_of(inspect.getsource(module._get_kwargs))
    _, texts = docstring_section(module.call.__doc__ or "", "Args")
    parameters: list[Parameter] = []
    for param in list(signature.parameters.values())[1:]:  # the first is the client
        location = parameter_location(param.name, positional=param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
        default_wire = "body" if location == "body" else param.name
        parameters.append(
            Parameter(
                name=param.name,
                wire_name=default_wire if location in {"path", "body"} else wire.get(param.name, param.name),
                location=location,
                type=_annotation_text(param.annotation),
                required=param.default is inspect.Parameter.empty,
                default=_format_default(param.default),
                description=texts.get(param.name, ""),
            )
        )
    summary, description = split_summary(module.asyncio_detailed.__doc__ or "")
    return OperationDoc(
        module=entry.module,
        operation_id=entry.operation_id,
        method=entry.method,
        path=entry.path,
        tag=entry.tag,
        interfaces=tuple(entry.interfaces),
        auth=bool(entry.auth),
        paginated=bool(entry.paginated),
        list_key=entry.list_key,
        summary=summary,
        description=description,
        parameters=tuple(parameters),
        success_type=_annotation_text(signature.return_annotation),
        responses=responses_of(inspect.getsource(module._parse_response)),
        action=actions.get((entry.method, entry.path)),
        method_path=method_paths.get((entry.method, entry.path)),
    )


def model_doc(module: ModuleType) -> ModelDoc | None:
    """Read the model a generated model module defines (None for a module with no model)."""
    import attrs

    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__ and not value.__name__.startswith("_")
    ]
    if not classes:
        return None
    cls = classes[0]
    if issubclass(cls, enum.Enum):
        members = tuple((member.name, repr(member.value)) for member in cls)
        description, _ = parse_docstring_attributes(cls.__doc__ or "")
        if description == inspect.cleandoc(enum.Enum.__doc__ or "") or description.startswith("An enumeration"):
            description = ""
        return ModelDoc(cls.__name__, module.__name__, description, members=members, kind="enum")
    if not attrs.has(cls):
        return None
    description, texts = parse_docstring_attributes(cls.__doc__ or "")
    fields = tuple(
        FieldDoc(
            name=attribute.name,
            type=_annotation_text(attribute.type),
            required=attribute.default is attrs.NOTHING,
            description=texts.get(attribute.name, ""),
        )
        for attribute in attrs.fields(cls)
        if attribute.init
    )
    return ModelDoc(cls.__name__, module.__name__, description, fields=fields)


def collect(package_dir: Path | None = None) -> Reference:
    """Import the generated package and read every operation and model of it."""
    catalog = importlib.import_module(f"{PACKAGE}._catalog")
    actions = _action_names()
    from carecloud_async._resources._method_paths import METHOD_PATHS

    reference = Reference()
    for entry in catalog.OPERATIONS:
        doc = operation_doc(entry, actions, METHOD_PATHS)
        reference.operations.append(doc)
        reference.tag_titles.setdefault(doc.tag_module, entry.tag)
    models_package = importlib.import_module(f"{PACKAGE}.models")
    models_dir = package_dir or Path(models_package.__file__ or "").parent
    for path in sorted(models_dir.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        model = model_doc(importlib.import_module(f"{PACKAGE}.models.{path.stem}"))
        if model is not None:
            reference.models.append(model)
    return reference


# --------------------------------------------------------------------------- rendering

OPERATIONS_DIR = "reference/operations"
MODELS_DIR = "reference/models"

# --------------------------------------------------------------------------- search

#: The search's word separator (mkdocs.yml, ``plugins: search: separator``, must say the same):
#: Material's default (white space and hyphens), and an operationId splits after its HTTP method
#: (``getCustomers`` -> ``get`` ``customers``), so a search for it and for its path share words.
SEARCH_SEPARATOR = r"[\s\-]+|(?:(?<=\b[Gg]et)|(?<=\b[Pp]ost)|(?<=\b[Pp]ut)|(?<=\b[Dd]elete))(?=[A-Z])"
_SEARCH_WORDS = re.compile(SEARCH_SEPARATOR)
_METHOD_WORDS = frozenset({"get", "post", "put", "delete"})


def search_words(text: str) -> list[str]:
    """``text`` as the search's index cuts it into words (lower case).

    >>> search_words("GET /customer-sources"), search_words("postCustomerVerifyCredentials")
    (['get', '/customer', 'sources'], ['post', 'customerverifycredentials'])
    """
    return [word.lower() for word in _SEARCH_WORDS.split(text) if word]


def _operation_words(op: OperationDoc) -> tuple[list[str], list[str]]:
    """The words of an operation's id (without its method) and of its path."""
    id_words = [word for word in search_words(op.operation_id) if word not in _METHOD_WORDS]
    path_words = [word for word in search_words(op.path) if word not in _METHOD_WORDS]
    return id_words, path_words


def search_tags(operations: Iterable[OperationDoc]) -> dict[str, list[str]]:
    """The search keys of each operation page (its ``tags`` front matter, by operationId): what
    makes a search for an operation's ``METHOD /path``, operationId or summary find its page
    first. Material's search weighs a tag a thousand times a title, and matches every word of a
    search as a prefix (``customers*``), so ``getCustomers`` would also find ``getCustomerSources``
    as strongly. Hence each key word is repeated once per other key word that extends it: the
    page whose key is exactly the word searched has it most often and ranks first. The keys carry
    a mark of their own (the ``·`` and the method's initial, never written in a page), so that
    only the tags count them, each on one page.

    >>> tags = search_tags(collect().operations)
    >>> tags["getCustomers"][:2]
    ['GET', 'Get all customers']
    >>> [tags[name].count(key) for name, key in [("getCustomer", "customer·g"), ("getCustomers", "customers·g"),
    ...                                           ("getCustomerSources", "customersources·g")]]
    [30, 13, 1]
    """
    operations = list(operations)
    words = {word for op in operations for part in _operation_words(op) for word in part}
    longer = {word: sum(other != word and other.startswith(word) for other in words) for word in words}
    tags: dict[str, list[str]] = {}
    for op in operations:
        id_words, path_words = _operation_words(op)
        keys = [op.method, op.summary] if op.summary else [op.method]
        # Each key is marked with the method's initial too: getCustomer and putCustomer share the
        # word "customer", GET and POST /customers a path; a key on one page only weighs the same
        # on every page (a word on several pages would count less: the search's idf).
        mark = op.method[0].lower()
        for word in dict.fromkeys(id_words):  # twice, in two forms: see above
            keys += [f"{word}·{mark}", f"{word}¦{mark}"] * (1 + longer[word])
        for word in dict.fromkeys(path_words):
            keys += [f"{word}·{mark}"] * (1 + longer[word])
        # The module (get_customers), once: it starts with the method, and a search for "GET
        # /customers" looks for get* too, which must not favour get_customer's many extensions.
        keys.append(f"{op.name}·")
        tags[op.operation_id] = keys
    return tags


def operation_path(op: OperationDoc) -> str:
    """Where an operation's page is, from the docs root."""
    return f"{OPERATIONS_DIR}/{op.tag_module}/{op.name}.md"


def model_path(model: ModelDoc) -> str:
    """Where a model's page is, from the docs root."""
    return f"{MODELS_DIR}/{model.slug}.md"


def _relative(target: str, page: str) -> str:
    """The link from ``page`` to ``target`` (both from the docs root).

    >>> _relative("reference/models/voucher.md", "reference/operations/vouchers/get_vouchers.md")
    '../../models/voucher.md'
    """
    return posixpath.relpath(target, posixpath.dirname(page))


def model_links(models: Iterable[ModelDoc], page: str) -> dict[str, str]:
    return {model.name: _relative(model_path(model), page) for model in models}


def _front_matter(op: OperationDoc, tags: list[str]) -> list[str]:
    """The page's search keys; a GET page weighs a little more than the other methods of its
    path, as "get" is a stop word the search leaves out of the index (``GET /customers`` is
    ``/customers`` to it)."""
    if not tags:
        return []
    boost = "\nsearch:\n  boost: 1.1" if op.method == "GET" else ""
    return [f"---\ntags: {json.dumps(tags)}{boost}\n---", ""]


def tree_call(op: OperationDoc, required: list[Parameter]) -> list[str]:
    """How the operation is called through the resource tree (``cc.customers.get(customer_id)``),
    followed by a comment introducing the escape hatch; nothing without a method path."""
    if not op.method_path:
        return []
    args = [p.name if p.location == "path" else f"{p.name}=..." for p in required if p.location != "body"]
    if any(p.location == "body" for p in required):
        args.append("body")
    called = f"{op.method_path}({', '.join(args)})"
    if op.paginated:
        lines = [
            f"async for item in {called}:  # every item of data.{op.list_key}",
            "    ...",
            f"page = await {called}.first_page()  # one page",
        ]
    else:
        lines = [f"result = await {called}"]
    return [*lines, "", "# the escape hatch, with the generated function itself:"]


def pagination_note(op: OperationDoc) -> list[str]:
    """What a list's page says under its parameters (nothing on other pages): ``count`` and
    ``offset`` are for ``cc.call``; the list method and ``cc.paginate`` set them and take the
    paginator's keywords instead."""
    if not op.paginated:
        return []
    walker = f"`{op.method_path}()` and `cc.paginate`" if op.method_path else "`cc.paginate`"
    guide = _relative("guide/pagination.md", operation_path(op))
    return [
        f"`count` and `offset` are for `cc.call`. {walker} set them on every request (passing them "
        "is refused) and take instead `page_size` (the `count` sent, 1 to 1,000; default 100), "
        "`max_items` (stop after that many items; default: all), `concurrency` (pages in flight "
        f"once the total is known, 1 to 32) and `start` (the first offset). See [Pagination]({guide}).",
        "",
    ]


def render_operation(op: OperationDoc, links: Mapping[str, str], tags: Iterable[str] = ()) -> str:
    """The page of one operation: method, path, interfaces, how to call it, parameters, success
    model and errors; ``tags``, the search keys of :func:`search_tags`, go in its front matter."""
    interfaces = ", ".join(INTERFACE_TITLES.get(name, name) for name in op.interfaces)
    lines = [
        *_front_matter(op, list(tags)),
        f"# {op.method} {op.path}",
        "",
        f"**{table_text(op.summary)}**" if op.summary else "",
        "",
        "| Property | Value |",
        "|---|---|",
        f"| Method | `{op.method}` |",
        f"| Path | `{op.path}` |",
        f"| Interface | {interfaces} |",
        f"| Operation id | `{op.operation_id}` |",
        f"| Module | `{op.module}` |",
        f"| Authentication | {'bearer token' if op.auth else 'none (`security: []`)'} |",
    ]
    optional_rows = (
        (op.paginated, f"| Pagination | `count` / `offset`; the list is `data.{op.list_key}` |"),
        (op.method_path, f"| Method path | `{op.method_path}` |"),
        (op.action, f"| Action method | `cc.actions.{op.action}` |"),
    )
    lines += [row for wanted, row in optional_rows if wanted]
    lines.append("")
    if op.description:
        lines += [block_text(op.description), ""]

    args = [p for p in op.parameters if p.required]
    call_args = ", ".join(["", *(p.name if p.location == "path" else f"{p.name}=..." for p in args)])
    lines += ["## Call", "", "```python", *tree_call(op, args)]
    lines += [
        f"from {op.module.rsplit('.', 1)[0]} import {op.name}",
        "",
        f"result = await cc.call({op.name}.call{call_args})",
    ]
    if op.paginated:
        lines.append(f"async for item in cc.paginate({op.name}):  # every item of data.{op.list_key}")
        lines.append("    ...")
    if op.action:
        lines.append(f"result = await cc.actions.{op.action}({call_args.removeprefix(', ')})")
    lines += ["```", ""]

    lines += ["## Parameters", ""]
    if op.parameters:
        lines += ["| Name | In | Type | Required | Default | Description |", "|---|---|---|---|---|---|"]
        for p in op.parameters:
            shown = _shown_name(p.name, p.wire_name)
            default = f"`{p.default}`" if p.default is not None else ""
            required = "yes" if p.required else "no"
            lines.append(
                f"| {shown} | {p.location} | {render_type(p.type, links)} | {required} | {default} "
                f"| {table_text(p.description)} |"
            )
    else:
        lines.append("None.")
    lines += ["", *pagination_note(op)]

    success = [r for r in op.responses if 200 <= r.status < 300]
    errors = [r for r in op.responses if r.status >= 300]
    lines += ["## Success", ""]
    if success and all(r.model is None for r in success):
        lines.append("`call` returns nothing: the answer has no body.")
    else:
        lines.append(f"`call` returns {render_type(op.success_type, links)}.")
    lines.append("")
    if success:
        lines += ["| Status | Body |", "|---|---|"]
        for r in success:
            lines.append(f"| {r.status} | {render_type(r.model, links) if r.model else 'no body'} |")
        lines.append("")

    lines += ["## Errors", ""]
    if errors:
        lines += ["| Status | Body | Raised by `cc.call` |", "|---|---|---|"]
        for r in errors:
            raised = error_class_for(r.status).__name__  # what the hand-written layer raises
            body = render_type(r.model, links) if r.model else "no body"
            lines.append(f"| {r.status} | {body} | `{raised}` |")
    else:
        lines.append("None documented.")
    lines += [
        "",
        "Any other non-2xx answer raises the matching `APIError` subclass; see "
        f"[Retries and errors]({_relative('guide/retries-and-errors.md', operation_path(op))}).",
        "",
    ]
    return "\n".join(lines)


def render_model(model: ModelDoc, links: Mapping[str, str], used_by: Iterable[OperationDoc] = ()) -> str:
    """The page of one model: its fields (or enum members) and the operations returning it."""
    page = model_path(model)
    lines = [f"# {model.name}", ""]
    if model.description:
        lines += [block_text(model.description), ""]
    lines += [f"`from {PACKAGE}.models import {model.name}`", ""]
    if model.kind == "enum":
        lines += [
            "An enum. A value this version of the spec does not list is kept as an `UNKNOWN` member "
            "with the raw value (`.is_unknown` is true).",
            "",
            "| Member | Value |",
            "|---|---|",
        ]
        lines += [f"| `{name}` | `{table_text(value)}` |" for name, value in model.members]
    else:
        lines += ["## Fields", ""]
        if model.fields:
            lines += ["| Field | Type | Required | Description |", "|---|---|---|---|"]
            for f in model.fields:
                lines.append(
                    f"| `{f.name}` | {render_type(f.type, links)} | {'yes' if f.required else 'no'} "
                    f"| {table_text(f.description)} |"
                )
        else:
            lines.append("No declared fields.")
        lines += [
            "",
            "Fields the spec does not declare are kept in `unknown_fields` and sent back by `to_dict()`.",
        ]
    used = sorted(used_by, key=lambda op: (op.path, op.method))
    if used:
        lines += ["", "## Returned by", ""]
        lines += [f"- [{op.method} {op.path}]({_relative(operation_path(op), page)})" for op in used]
    lines.append("")
    return "\n".join(lines)


def render_tag_index(tag_module: str, title: str, operations: Iterable[OperationDoc]) -> str:
    """The page of one API group: its operations with their summaries."""
    page = f"{OPERATIONS_DIR}/{tag_module}/index.md"
    lines = [f"# {title}", "", f"Module `{PACKAGE}.api.{tag_module}`.", "", "| Operation | Summary |", "|---|---|"]
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        target = _relative(operation_path(op), page)
        lines.append(f"| [`{op.method} {op.path}`]({target}) | {table_text(op.summary)} |")
    lines.append("")
    return "\n".join(lines)


def render_operations_index(reference: Reference) -> str:
    """Every operation on one page, grouped by API group."""
    page = f"{OPERATIONS_DIR}/index.md"
    by_tag = tags_of(reference)
    lines = [
        "# Operations",
        "",
        f"All {len(reference.operations)} operations of `{PACKAGE}`, one page each, grouped by API group. "
        "Call any of them with `cc.call(<module>.call, ...)`.",
        "",
    ]
    for tag_module, operations in by_tag.items():
        title = reference.tag_titles[tag_module]
        lines += [f"## [{title}]({_relative(f'{OPERATIONS_DIR}/{tag_module}/index.md', page)})", ""]
        lines += ["| Operation | Summary |", "|---|---|"]
        for op in sorted(operations, key=lambda o: (o.path, o.method)):
            lines.append(
                f"| [`{op.method} {op.path}`]({_relative(operation_path(op), page)}) | {table_text(op.summary)} |"
            )
        lines.append("")
    return "\n".join(lines)


def render_models_index(reference: Reference) -> str:
    """Every model on one page, alphabetically, with the first sentence of its description."""
    page = f"{MODELS_DIR}/index.md"
    lines = [
        "# Models",
        "",
        f"All {len(reference.models)} models of `{PACKAGE}.models` (attrs classes and enums), one page each.",
        "",
        "| Model | Kind | Description |",
        "|---|---|---|",
    ]
    for model in sorted(reference.models, key=lambda m: m.name.lower()):
        first = model.description.split("\n", 1)[0]
        lines.append(f"| [{model.name}]({_relative(model_path(model), page)}) | {model.kind} | {table_text(first)} |")
    lines.append("")
    return "\n".join(lines)


def tags_of(reference: Reference) -> dict[str, list[OperationDoc]]:
    """Operations by API group, groups in title order."""
    groups: dict[str, list[OperationDoc]] = {}
    for op in reference.operations:
        groups.setdefault(op.tag_module, []).append(op)
    return dict(sorted(groups.items(), key=lambda item: reference.tag_titles[item[0]].lower()))


def pages(reference: Reference) -> dict[str, str]:
    """Every page of the generated package's reference: ``{path from the docs root: Markdown}``."""
    out: dict[str, str] = {}
    returned_by: dict[str, list[OperationDoc]] = {}
    for op in reference.operations:
        for response in op.responses:
            if response.model and 200 <= response.status < 300:
                returned_by.setdefault(response.model, []).append(op)
    # every operation page is as deep as every other, and so is every model page
    from_operation = model_links(reference.models, f"{OPERATIONS_DIR}/tag/page.md")
    from_model = model_links(reference.models, f"{MODELS_DIR}/page.md")
    tags = search_tags(reference.operations)
    for op in reference.operations:
        out[operation_path(op)] = render_operation(op, from_operation, tags[op.operation_id])
    for model in reference.models:
        out[model_path(model)] = render_model(model, from_model, returned_by.get(model.name, ()))
    for tag_module, operations in tags_of(reference).items():
        out[f"{OPERATIONS_DIR}/{tag_module}/index.md"] = render_tag_index(
            tag_module, reference.tag_titles[tag_module], operations
        )
    out[f"{OPERATIONS_DIR}/index.md"] = render_operations_index(reference)
    out[f"{MODELS_DIR}/index.md"] = render_models_index(reference)
    return out
