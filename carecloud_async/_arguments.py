"""Run-time checks of the arguments of a generated operation, before anything is sent.

The generated ``call`` functions are fully typed, but only a type checker reads the types: at run
time a list given for a string filter goes out as ``email=a&email=b`` (the repeated-key syntax the
PHP server truncates to the last value), an int id becomes a path segment, a string ``count`` is
sent as is, and an enum value the spec does not know (the generated enums keep unknown values, so
that *responses* never fail on them) reaches the server. :func:`check_arguments` refuses all of
these with a :class:`RequestValidationError` naming the operation, the parameter and the expected
type, and suggests the closest name for a misspelt one.

The expected types come from the generated function's annotations (``typing.get_type_hints``),
resolved once per operation and cached, so a call pays only for a dictionary walk.

>>> from carecloud_api.api.customers import get_customers
>>> check_arguments(get_customers.call, "GET /customers", (), {"email": ["a@x.cz", "b@x.cz"]})
Traceback (most recent call last):
...
carecloud_async._errors.RequestValidationError: GET /customers: email must be str, not list ...
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import attrs
from carecloud_api.types import File, Unset

from ._constraint_checks import constraint_problem
from ._errors import RequestValidationError
from ._type_hints import type_hints

__all__ = ["check_arguments", "check_operation_function", "describe_mismatch", "expected_name"]

#: The generated functions of an endpoint module that ``CareCloud.call`` must not be given: they
#: return error models (or ``Response`` wrappers) instead of raising, or block the event loop.
_OTHER_GENERATED_FUNCTIONS = frozenset({"asyncio", "asyncio_detailed", "sync", "sync_detailed"})


@functools.cache
def _field_hints(model: type) -> dict[str, Any]:
    """Field name -> annotation of a generated attrs model, resolved once per class."""
    hints = type_hints(model)
    return {f.name: hints[f.name] for f in attrs.fields(model) if f.init and f.name in hints}


@functools.cache
def _members(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def expected_name(annotation: Any) -> str:
    """How the user should read an annotation: ``Unset`` (meaning "leave it out") is not shown.

    >>> from carecloud_api.types import Unset
    >>> expected_name(list[str] | Unset)
    'list[str]'
    >>> expected_name(int | None | Unset)
    'int or None'
    """
    names = []
    for member in _members(annotation):
        if member is Unset:
            continue
        if member is type(None):
            names.append("None")
        elif typing.get_origin(member) in (list, dict):
            names.append(
                f"{typing.get_origin(member).__name__}[{', '.join(map(expected_name, typing.get_args(member)))}]"
            )
        else:
            names.append(getattr(member, "__name__", str(member)))
    return " or ".join(names) or "nothing"


def _type_name(value: Any) -> str:
    return type(value).__name__


def _enum_problem(path: str, value: enum.Enum) -> str | None:
    # The generated enums keep a value the spec does not list as an UNKNOWN pseudo-member, so a
    # response never fails on a new value. A request must not send one.
    if getattr(value, "is_unknown", False):
        known = ", ".join(repr(member.value) for member in type(value))
        return f"{path}: {value.value!r} is not a {type(value).__name__} value; expected one of {known}"
    return None


def describe_mismatch(path: str, value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not fit ``annotation`` (a generated parameter or field type), or None.

    Only the types the generator emits are understood (str, int, float, bool, list[...],
    dict[...], enums, attrs models, ``File``, ``Unset``, ``None``, ``Any``); anything else passes.
    Values are never quoted (they may be secrets), except a value given for an enum.

    >>> describe_mismatch("count", "10", int | Unset)
    'count must be int, not str'
    >>> describe_mismatch("count", True, int | Unset)
    'count must be int, not bool'
    >>> describe_mismatch("count", 10, int | Unset) is None
    True
    """
    members = _members(annotation)
    if any(member is Any for member in members):
        return None
    for member in members:
        if member is Unset and isinstance(value, Unset):
            return None
        if member is type(None) and value is None:
            return None
    problems: list[str] = []
    for member in members:
        problem = _against(path, value, member)
        if problem is None:
            return None
        problems.append(problem)
    # A value of the right kind with a wrong inside (an unknown enum value, a bad list item or
    # body field) says what is wrong inside; otherwise say which type was expected.
    inner = [p for p in problems if p]
    if inner:
        return inner[0]
    if value is None and Unset in members:
        return f"{path} must be {expected_name(annotation)}, not None; leave it out to send nothing"
    return f"{path} must be {expected_name(annotation)}, not {_type_name(value)}"


def _against(path: str, value: Any, member: Any) -> str | None:
    """None if ``value`` fits ``member``; "" if it is not of that type at all; else the problem."""
    origin, arguments = _origin_and_arguments(member)
    if origin is list:
        if not isinstance(value, list):
            return ""
        (item,) = arguments or (Any,)
        return _list_problem(path, value, item)
    if origin is dict:
        if not isinstance(value, dict):
            return ""
        _, item = arguments or (str, Any)
        for key, element in value.items():
            problem = describe_mismatch(f"{path}[{key!r}]", element, item)
            if problem:
                return problem
        return None
    if not isinstance(member, type) or member in (Unset, type(None)):
        return "" if member in (Unset, type(None)) else None
    if member is bool:
        return None if isinstance(value, bool) else ""
    if member is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else ""
    if member is float:
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path} must be a finite number, not {value!r}"
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    if issubclass(member, enum.Enum):
        if isinstance(value, member):
            return _enum_problem(path, value)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            # A plain string or int is not sent as an enum (the generated code reads ``.value``).
            try:
                suggestion = member(value)
            except ValueError:
                suggestion = None
            kind = _type_name(value)
            if suggestion is not None and not getattr(suggestion, "is_unknown", False):
                return f"{path} must be {member.__name__}, not {kind}; pass {member.__name__}.{suggestion.name}"
            known = ", ".join(repr(m.value) for m in member)
            return f"{path} must be {member.__name__} (one of {known}), not {kind} {value!r}"
        return ""
    if member is str:
        return None if isinstance(value, str) else ""
    if attrs.has(member):
        if not isinstance(value, member):
            if isinstance(value, Mapping):
                return (
                    f"{path} must be {member.__name__}, not {_type_name(value)}; "
                    f"build it with {member.__name__}.from_dict(...)"
                )
            return ""
        return _model_problem(path, value)
    return None if isinstance(value, member) else ""


@dataclass(frozen=True)
class _FieldPlan:
    """How to check one field of a model, resolved once per class."""

    name: str
    annotation: Any
    plain: frozenset[type]  #: exact types that fit outright
    models: frozenset[type]  #: model classes checked field by field
    list_item: Any  #: X of a ``list[X]`` member, else None


@functools.cache
def _field_plan(model: type) -> tuple[_FieldPlan, ...]:
    plans = []
    for name, annotation in _field_hints(model).items():
        lists = [
            args[0] for origin, args in map(_origin_and_arguments, _members(annotation)) if origin is list and args
        ]
        item = lists[0] if len(lists) == 1 else None
        plans.append(_FieldPlan(name, annotation, _plain_types(annotation), _model_types(annotation), item))
    return tuple(plans)


def _list_problem(path: str, value: list[Any], item: Any) -> str | None:
    plain, models = _plain_types(item), _model_types(item)
    for index, element in enumerate(value):
        if type(element) in plain:
            continue
        if type(element) in models:
            problem = _model_problem(f"{path}[{index}]", element)
        else:
            problem = describe_mismatch(f"{path}[{index}]", element, item)
        if problem:
            return problem
    return None


def _model_problem(path: str, model: Any) -> str | None:
    if isinstance(model, File):
        return None
    # The fast paths below skip describe_mismatch (and building a path) for what fits at once:
    # a 1,000-item batch body is walked in about 20 ms.
    for plan in _field_plan(model.__class__):
        value = getattr(model, plan.name)
        kind = type(value)
        if kind in plan.plain:
            continue
        if kind in plan.models:
            problem = _model_problem(f"{path}.{plan.name}", value)
        elif kind is list and plan.list_item is not None:
            problem = _list_problem(f"{path}.{plan.name}", value, plan.list_item)
        elif kind is Unset and Unset not in _members(plan.annotation):
            # UNSET given for a required field: to_dict() would leave it out, as from_dict() of a
            # dict without it is refused (``_plain_inputs``); said the same way. A field named
            # after a keyword is ``zip_`` in Python and ``zip`` in the body.
            problem = f"{path}: missing the required field {plan.name.removesuffix('_')!r}"
        else:
            problem = describe_mismatch(f"{path}.{plan.name}", value, plan.annotation)
        if problem:
            return problem
    return None


@dataclass(frozen=True)
class _Shape:
    """What one generated ``call`` function accepts, resolved once."""

    signature: inspect.Signature
    #: Parameter name -> annotation, without the leading ``client``.
    hints: dict[str, Any]
    names: tuple[str, ...]
    #: Parameters without a default (all keyword-passable: the path parameters).
    required: frozenset[str]
    #: Parameter name -> the exact value types that fit with nothing inside to check (the common
    #: case, one set lookup per argument; anything else goes through describe_mismatch).
    plain: dict[str, frozenset[type]]


@functools.cache
def _shape(function: Callable[..., Any]) -> _Shape:
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):  # an annotation that does not resolve: check names only
        hints = {}
    names = tuple(name for name in signature.parameters if name != "client")
    required = frozenset(name for name in names if signature.parameters[name].default is inspect.Parameter.empty)
    annotations = {name: hints.get(name, Any) for name in names}
    plain = {name: _plain_types(annotation) for name, annotation in annotations.items()}
    return _Shape(signature, annotations, names, required, plain)


@functools.cache
def _origin_and_arguments(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(annotation), typing.get_args(annotation)


@functools.cache
def _model_types(annotation: Any) -> frozenset[type]:
    """The generated model classes among the members of ``annotation`` (checked field by field)."""
    return frozenset(m for m in _members(annotation) if isinstance(m, type) and attrs.has(m) and m is not File)


@functools.cache
def _plain_types(annotation: Any) -> frozenset[type]:
    """Exact types that fit ``annotation`` outright (``type(value) in ...``: a bool is not an int)."""
    found: set[type] = set()
    for member in _members(annotation):
        if member in (str, int, bool, Unset, type(None)):
            found.add(member)
        elif member is float:
            found.add(int)  # a float is checked for NaN and infinity (JSON has neither)
    return frozenset(found)


def check_operation_function(target: Any, module: types.ModuleType) -> None:
    """Refuse the generated functions other than ``call`` (``asyncio``, ``sync``, ...).

    >>> from carecloud_api.api.customers import get_customers
    >>> check_operation_function(get_customers.asyncio, get_customers)
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: pass get_customers.call or the module get_customers, not ...
    """
    name = getattr(target, "__name__", None)
    if not isinstance(target, types.ModuleType) and name in _OTHER_GENERATED_FUNCTIONS:
        short = module.__name__.rsplit(".", 1)[-1]
        why = (
            "blocks the event loop" if name.startswith("sync") else "returns error bodies as values instead of raising"
        )
        raise RequestValidationError(
            f"pass {short}.call or the module {short}, not {short}.{name}: {name}() {why}, "
            "while .call raises the typed errors"
        )


def check_arguments(
    function: Callable[..., Any],
    label: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    hidden: Collection[str] = (),
) -> None:
    """Check ``function(client, *args, **kwargs)`` before sending; raise RequestValidationError.

    ``label`` names the operation in messages (``"GET /customers"``). Checked: unknown names
    (with the closest accepted one), missing required ones, too many positional arguments, each
    value against its annotation (see :func:`describe_mismatch`), then the spec's bounds on the
    values: minimum and maximum, string lengths, patterns, item counts (see
    :func:`~carecloud_async._constraint_checks.constraint_problem`). ``hidden`` parameters are set
    by the caller (a paginator's ``count`` and ``offset``): a misspelt name is not offered them.
    """
    shape = _shape(function)
    accepted = shape.names
    for name in kwargs:
        if name not in shape.hints:
            import difflib  # only to word this error: not loaded by importing the client

            accepted = tuple(other for other in accepted if other not in hidden)
            close = difflib.get_close_matches(name, accepted, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise RequestValidationError(
                f"{label}: unexpected keyword argument {name!r}{hint} Parameters are: {', '.join(accepted)}"
            )
    if args:
        try:
            arguments: Mapping[str, Any] = shape.signature.bind(None, *args, **kwargs).arguments
        except TypeError as exc:
            raise RequestValidationError(f"{label}: {exc}; parameters are: {', '.join(accepted)}") from None
    else:  # the usual keyword-only call: no need for the slower Signature.bind
        missing = [name for name in shape.names if name in shape.required and name not in kwargs]
        if missing:
            raise RequestValidationError(
                f"{label}: missing a required argument: {missing[0]!r}; parameters are: {', '.join(accepted)}"
            )
        arguments = kwargs
    for name, value in arguments.items():
        if name == "client" or type(value) in shape.plain[name]:
            continue
        annotation = shape.hints[name]
        problem = describe_mismatch(name, value, annotation)
        if problem:
            raise RequestValidationError(f"{label}: {problem}{_list_advice(name, value, shape)}")
    # The types fit; now the spec's bounds (count >= 1, a phone's pattern, at most 1,000 items).
    problem = constraint_problem(function, arguments)
    if problem:
        raise RequestValidationError(f"{label}: {problem}")


def _list_advice(name: str, value: Any, shape: _Shape) -> str:
    """For a list given to a single-value filter: why it matters, and the list filter if any."""
    if not isinstance(value, (list, tuple, set)) or typing.get_origin(_members(shape.hints[name])[0]) is list:
        return ""
    text = f" (a list would go out as {name}=a&{name}=b, and the server keeps only the last value)"
    lists = [
        other
        for other in shape.names
        if other.startswith(name.removesuffix("_id"))
        and any(typing.get_origin(m) is list for m in _members(shape.hints[other]))
    ]
    if lists:
        text += f"; for several values use {lists[0]}"
    return text
