"""Find an operation by name and turn text arguments into the generated function's arguments.

What ``carecloud ops`` and ``carecloud call`` do, as library calls (no typer, no rich):

    >>> find_operation("getCustomers").path
    '/customers'
    >>> find_operation("GET /customers/8ea2591121e636086a4a9c0992").operation_id
    'getCustomer'
    >>> [op.operation_id for op in search_operations("stamper stamps")][:1]
    ['getStamperStamps']
    >>> arguments = parse_arguments(find_operation("getCustomers"), ["email_list=a@x.cz,b@x.cz", "sort_direction=desc"])
    >>> arguments.kwargs["email_list"], arguments.kwargs["sort_direction"].value
    (['a@x.cz', 'b@x.cz'], 'DESC')

Every value is checked against the generated ``call`` function's signature before anything is
sent: ``str``, ``int``, ``bool``, enums (the spec's values), arrays (repeat ``name=value`` or
separate values with commas), dates and times in the formats the spec describes for the date
filters (:func:`check_date_text`), and the request body (JSON, parsed into the body model).
"""

from __future__ import annotations

import difflib
import enum
import functools
import importlib
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carecloud_api.types import Unset

from .._errors import RequestValidationError
from .._operations import operation_at
from .._plain_inputs import accept_plain_inputs, enum_member
from .._type_hints import type_hints

if TYPE_CHECKING:
    from carecloud_api._catalog import Operation

_METHOD_PATH = re.compile(r"^\s*([A-Za-z]+)\s+(/\S*)\s*$")
_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


class UnknownOperation(RequestValidationError):
    """No operation has that name; ``suggestions`` are the closest names (for "did you mean")."""

    def __init__(self, name: str, suggestions: Sequence[str]):
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown operation {name!r}{hint} (`carecloud ops` lists them all)")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the generated client, in spec order (322 for the pinned spec)."""
    from carecloud_api._catalog import OPERATIONS

    return OPERATIONS


def kind_of(operation: Operation) -> str:
    """``list`` (paginated), ``action`` (an ``/actions/`` method) or ``call``.

    >>> kind_of(find_operation("getCustomers")), kind_of(find_operation("postCustomerVerifyCredentials"))
    ('list', 'action')
    """
    if operation.paginated and operation.list_attr is not None:
        return "list"
    return "action" if operation.action is not None else "call"


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def find_operation(name: str) -> Operation:
    """The operation named by its operationId (``getCustomers``, any case), its generated module
    (``get_customers``) or ``METHOD /path``, where the path is the spec's template
    (``GET /customers/{customer_id}``) or a concrete one (``GET /customers/84b5e5``).

    Raises :class:`UnknownOperation` with the closest names when nothing matches.
    """
    text = name.strip()
    match = _METHOD_PATH.match(text)
    if match:
        method, path = match.group(1).upper(), "/" + match.group(2).strip("/")
        if (exact := operation_at(method, path)) is not None:
            return exact
        concrete = [op for op in operations() if op.method == method and _template(op.path).match(path)]
        if concrete:
            # The most literal template wins: /customers/actions/x over /customers/{id}/x.
            return min(concrete, key=lambda op: op.path.count("{"))
        candidates = [f"{op.method} {op.path}" for op in operations()]
        raise UnknownOperation(name, difflib.get_close_matches(f"{method} {path}", candidates, n=3, cutoff=0.6))
    lowered = text.lower()
    for op in operations():
        if lowered in (op.operation_id.lower(), op.module.rsplit(".", 1)[-1]):
            return op
    names = {op.operation_id.lower(): op.operation_id for op in operations()}
    names.update({op.module.rsplit(".", 1)[-1]: op.operation_id for op in operations()})
    close = difflib.get_close_matches(lowered, list(names), n=6, cutoff=0.6)
    suggestions = list(dict.fromkeys(names[c] for c in close))[:3]
    raise UnknownOperation(name, suggestions)


def search_operations(
    text: str = "",
    *,
    interface: str | None = None,
    kind: str | None = None,
) -> list[Operation]:
    """The operations whose operationId, ``METHOD /path``, tag or module contain every word of
    ``text`` (case-insensitive), optionally only those of one ``interface`` (``enterprise`` or
    ``customer``) or one ``kind`` (``list``, ``action``, ``call``).

    A ``text`` that is exactly one operation's operationId or module name (any case) finds that
    operation only, not every operation whose name contains it:

    >>> len(search_operations(kind="list"))
    111
    >>> len(search_operations("getCustomers")), search_operations("getCustomers")[0].path
    (1, '/customers')
    >>> len(search_operations("getSubCustomer")) > 1
    True
    """
    if interface not in (None, "enterprise", "customer"):
        raise RequestValidationError(f"interface must be 'enterprise' or 'customer', not {interface!r}")
    if kind not in (None, "list", "action", "call"):
        raise RequestValidationError(f"kind must be 'list', 'action' or 'call', not {kind!r}")
    words = text.lower().split()
    exact = [op for op in operations() if words in ([op.operation_id.lower()], [op.module.rsplit(".", 1)[-1]])]
    found = []
    for op in exact or operations():
        haystack = f"{op.operation_id} {op.method} {op.path} {op.tag} {op.module.rsplit('.', 1)[-1]}".lower()
        if not all(word in haystack for word in words):
            continue
        if interface is not None and interface not in op.interfaces:
            continue
        if kind is not None and kind_of(op) != kind:
            continue
        found.append(op)
    return found


# --------------------------------------------------------------------------- parameters


def _without_unset(annotation: Any) -> Any:
    """The type without ``Unset`` and ``None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [m for m in typing.get_args(annotation) if m is not Unset and m is not type(None)]
        if len(members) == 1:
            return members[0]
        return typing.Union[tuple(members)]  # noqa: UP007 (built at run time)
    return annotation


@dataclass(frozen=True)
class Parameter:
    """One argument of a generated ``call`` function: its name, Python type and how it is passed."""

    name: str
    annotation: Any
    required: bool
    positional: bool  #: a path parameter (passed by position)
    default: Any = None

    @property
    def is_body(self) -> bool:
        return self.name == "body"

    def describe(self) -> str:
        """The type as a user reads it: ``str``, ``int``, ``list of str``, ``one of ASC, DESC``.

        >>> next(p.describe() for p in parameters_of(find_operation("getCustomers")) if p.name == "sort_direction")
        'one of ASC, DESC'
        """
        return _describe_type(self.annotation)


def _describe_type(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return f"list of {_describe_type(item)}"
    if isinstance(annotation, type) and hasattr(annotation, "from_dict"):
        return f"JSON object ({annotation.__name__})"
    return getattr(annotation, "__name__", str(annotation))


def function_of(operation: Operation) -> Callable[..., Any]:
    """The generated ``call`` function of ``operation``."""
    function: Callable[..., Any] = importlib.import_module(operation.module).call
    return function


@functools.cache
def parameters_of(operation: Operation) -> tuple[Parameter, ...]:
    """The arguments of the operation's generated ``call`` (the client excluded), with types.

    >>> first, second, *_ = parameters_of(find_operation("getCustomer"))
    >>> (first.name, first.describe(), first.required), (second.name, second.describe(), second.required)
    (('customer_id', 'str', True), ('customer_short_salutation', 'bool', False))
    """
    function = function_of(operation)
    hints = type_hints(function)
    result = []
    for name, parameter in list(inspect.signature(function).parameters.items())[1:]:
        annotation = _without_unset(hints.get(name, str))
        required = parameter.default is inspect.Parameter.empty
        result.append(
            Parameter(
                name=name,
                annotation=annotation,
                required=required,
                positional=parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None if required or isinstance(parameter.default, Unset) else parameter.default,
            )
        )
    return tuple(result)


# --------------------------------------------------------------------------- conversion


def convert_value(annotation: Any, texts: Sequence[str], name: str = "value", *, route: str = "") -> Any:
    """Turn the text(s) given for one parameter into the type the signature declares; ``route``
    (``"GET /customers"``) names the operation in the library's message for an enum value.

    >>> convert_value(int, ["25"]), convert_value(bool, ["yes"]), convert_value(list[str], ["a,b", "c"])
    (25, True, ['a', 'b', 'c'])
    """
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (str,)
        parts = [part.strip() for text in texts for part in text.split(",") if part.strip()]
        return [convert_value(item, [part], name, route=route) for part in parts]
    if len(texts) > 1:
        raise RequestValidationError(f"{name} takes one value, not {len(texts)}")
    text = texts[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_value(annotation, text, name, route)
    if annotation is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise RequestValidationError(f"{name} must be true or false, not {text!r}")
    if annotation is int:
        try:
            return int(text.strip())
        except ValueError:
            raise RequestValidationError(f"{name} must be a whole number, not {text!r}") from None
    if annotation is float:
        try:
            return float(text.strip())
        except ValueError:
            raise RequestValidationError(f"{name} must be a number, not {text!r}") from None
    return check_date_text(name, text)


_DATE = ("%Y-%m-%d",)
_DATETIME = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
#: Formats of the date and time filters, by parameter name. The spec types them as plain
#: strings; their descriptions give these formats (``valid_from`` is a date on some operations
#: and a date and time on others).
_DATE_FORMATS: tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...] = (
    (re.compile(r"(^|_)time_(from|to)$"), _DATETIME, "YYYY-MM-DD HH:MM:SS (or YYYY-MM-DDTHH:MM:SS)"),
    (re.compile(r"^valid_(from|to)$"), _DATE + _DATETIME, "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
    (re.compile(r"^birthdate$"), (*_DATE, "%d.%m.%Y"), "YYYY-MM-DD or DD.MM.YYYY"),
    (re.compile(r"(^|_)date(_from|_to)?$"), _DATE, "YYYY-MM-DD"),
)


def check_date_text(name: str, text: str) -> str:
    """A date or time filter's text, checked against the formats the spec describes for it
    (by parameter name: ``*time_from``/``*time_to``, ``date_from``/``date_to``, ``due_date``,
    ``valid_from``/``valid_to``, ``birthdate``); any other text is returned as it is.

    >>> check_date_text("payment_time_from", "2026-11-29T08:00:00")
    '2026-11-29T08:00:00'
    >>> check_date_text("date_to", "29.11.2026")
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: date_to must be a date as YYYY-MM-DD, not '29.11.2026'
    """
    from datetime import datetime

    for pattern, formats, shown in _DATE_FORMATS:
        if pattern.search(name):
            for fmt in formats:
                try:
                    datetime.strptime(text.strip(), fmt)
                except ValueError:
                    continue
                return text.strip()
            raise RequestValidationError(f"{name} must be a date as {shown}, not {text!r}")
    return text


def _enum_value(cls: type[enum.Enum], text: str, name: str, route: str) -> enum.Enum:
    members = list(cls)
    for member in members:
        if str(member.value) == text:
            return member
    # Any case on a command line (desc for DESC); otherwise the library's refusal, with the
    # closest value, as for sort_direction="DSC" in Python.
    folded = [m for m in members if str(m.value).lower() == text.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    return enum_member(cls, text, name, route)


def read_body_text(body: str) -> str:
    """``body`` itself, or the content of the file it names with ``@path`` (``@-``: stdin)."""
    if not body.startswith("@"):
        return body
    target = body[1:]
    if target == "-":
        return sys.stdin.read()
    try:
        return Path(target).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise RequestValidationError(f"cannot read the body file {target!r}: {exc.strerror or exc}") from None


def parse_body(operation: Operation, text: str) -> Any:
    """Parse a JSON request body into the operation's body model (checked, before sending), with
    the checks and messages of a dict body in Python (``cc.customers.create({...})``): every
    required field left out, an unknown field, an enum value the spec does not list.

    >>> credentials = '{"login_type": "email", "login_value": "a@x.cz", "password": "x"}'
    >>> parse_body(find_operation("postCustomerVerifyCredentials"), credentials).login_value
    'a@x.cz'
    >>> parse_body(find_operation("postCard"), '{}')
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: POST /cards: body: missing the required field 'card'
    """
    annotation = next(p.annotation for p in parameters_of(operation) if p.is_body)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not (isinstance(annotation, type) and hasattr(annotation, "from_dict")):
        return data
    if not isinstance(data, dict):
        raise RequestValidationError(
            f"the body must be a JSON object ({annotation.__name__}), not {type(data).__name__}"
        )
    route = f"{operation.method} {operation.path}"
    return accept_plain_inputs(function_of(operation), route, {"body": data})["body"]


@dataclass
class CallArguments:
    """Positional (path) and keyword arguments for the operation's generated ``call``."""

    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)


def split_assignment(text: str) -> tuple[str, str]:
    """``name=value`` -> (name, value); a trailing ``[]`` on the name is dropped.

    >>> split_assignment("email_list[]=a@x.cz")
    ('email_list', 'a@x.cz')
    """
    name, sep, value = text.partition("=")
    name = name.strip().removesuffix("[]")
    if not sep or not name:
        raise RequestValidationError(f"parameters are given as name=value, not {text!r}")
    return name, value


def parse_arguments(
    operation: Operation,
    assignments: Iterable[str],
    body: str | None = None,
    *,
    reserved: Iterable[str] = (),
) -> CallArguments:
    """Check and convert ``name=value`` texts (and a JSON body) by the operation's signature.

    ``reserved`` names are refused (``count`` and ``offset`` belong to the paginator in an export).
    Raises :class:`RequestValidationError` naming the parameter, the valid names and the closest.
    """
    parameters = {p.name: p for p in parameters_of(operation)}
    label = f"{operation.operation_id} ({operation.method} {operation.path})"
    reserved = set(reserved)
    texts: dict[str, list[str]] = {}
    for assignment in assignments:
        name, value = split_assignment(assignment)
        if name in reserved:
            raise RequestValidationError(f"{name} is set by the export itself; use --page-size and --max-items")
        if name not in parameters or parameters[name].is_body:
            valid = [n for n, p in parameters.items() if not p.is_body and n not in reserved]
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise RequestValidationError(
                f"{label} has no parameter {name!r}{hint} Parameters: {', '.join(valid) or 'none'}"
                + ("; the body goes in --body" if "body" in parameters else "")
            )
        texts.setdefault(name, []).append(value)
    result = CallArguments()
    for name, parameter in parameters.items():
        if parameter.is_body:
            if body is None:
                if parameter.required:
                    raise RequestValidationError(
                        f"{label} needs a body: --body '{{...}}' (JSON) or --body @file.json "
                        f"({_describe_type(parameter.annotation)})"
                    )
                continue
            result.kwargs["body"] = parse_body(operation, read_body_text(body))
            continue
        if name not in texts:
            if parameter.required:
                raise RequestValidationError(f"{label} needs --param {name}=... ({parameter.describe()})")
            continue
        value = convert_value(parameter.annotation, texts[name], name, route=f"{operation.method} {operation.path}")
        if parameter.positional:
            result.args.append(value)
        else:
            result.kwargs[name] = value
    if body is not None and "body" not in parameters:
        raise RequestValidationError(f"{label} takes no body")
    return result


def path_arguments(operation: Operation, path: str) -> list[str]:
    """``name=value`` texts for the path parameters a concrete path holds (a ``{placeholder}``
    left as it is in the path gives none).

    >>> path_arguments(find_operation("getCustomer"), "/customers/84b5e5")
    ['customer_id=84b5e5']
    >>> path_arguments(find_operation("getCustomer"), "/customers/{customer_id}")
    []
    """
    match = _template(operation.path).match("/" + path.strip("/"))
    if match is None:
        return []
    return [f"{name}={value}" for name, value in match.groupdict().items() if value != "{" + name + "}"]


def with_path_arguments(name: str, assignments: Iterable[str]) -> tuple[Operation, list[str]]:
    """The operation ``name`` designates, and ``assignments`` preceded by the path parameters a
    concrete ``METHOD /path`` holds (an explicit ``name=value`` wins).

    >>> operation, given = with_path_arguments("GET /customers/84b5e5/purchases", ["count=5"])
    >>> operation.operation_id, given
    ('getSubCustomerPurchases', ['customer_id=84b5e5', 'count=5'])
    """
    operation = find_operation(name)
    given = list(assignments)
    match = _METHOD_PATH.match(name)
    if match:
        explicit = {split_assignment(text)[0] for text in given if "=" in text}
        from_path = path_arguments(operation, match.group(2))
        given = [text for text in from_path if text.partition("=")[0] not in explicit] + given
    return operation, given
