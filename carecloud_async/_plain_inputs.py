"""Plain inputs for the resource tree: a body as a dict, an enum as its value.

``cc.customers.create({"personal_information": {...}})`` and ``sort_direction="DESC"`` are turned
into the generated model and enum before the usual argument checks run, so what reaches the
generated function is what it expects. A dict key the model does not declare and an enum value the
spec does not list are a :class:`RequestValidationError` naming the place and the closest valid
name, before anything is sent.

    >>> from carecloud_api.api.customers import get_customers
    >>> accept_plain_inputs(get_customers.call, "GET /customers", {"sort_direction": "DESC"})
    {'sort_direction': <SortDirection.DESC: 'DESC'>}
    >>> accept_plain_inputs(get_customers.call, "GET /customers", {"sort_direction": "DSC"})
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: ... 'DSC' is not a SortDirection value; did you mean 'DESC'? ...
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from carecloud_api.parsing import MissingField

from ._errors import RequestValidationError

__all__ = ["accept_plain_inputs"]


def _members(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _needs_conversion(annotation: Any) -> bool:
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            if any(_needs_conversion(item) for item in typing.get_args(member)):
                return True
        elif isinstance(member, type) and (issubclass(member, enum.Enum) or attrs.has(member)):
            return True
    return False


@functools.cache
def _convertible(function: Callable[..., Any]) -> dict[str, Any]:
    """Parameter -> annotation, for the parameters that take an enum or a model (inside a list too)."""
    from ._type_hints import type_hints  # on the first call with such a parameter: not on import

    hints = type_hints(function)
    return {name: hint for name, hint in hints.items() if name != "return" and _needs_conversion(hint)}


def accept_plain_inputs(function: Callable[..., Any], label: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for ``function`` (a generated ``call``) with dicts made models and plain values
    made enum members; ``label`` names the operation in errors (``"POST /customers"``)."""
    convertible = _convertible(function)
    if not convertible:
        return kwargs
    converted = None
    for name, value in kwargs.items():
        annotation = convertible.get(name)
        if annotation is None or isinstance(value, enum.Enum) or attrs.has(type(value)):
            continue
        new = _convert(value, annotation, name, label)
        if new is not value:
            if converted is None:
                converted = dict(kwargs)
            converted[name] = new
    return kwargs if converted is None else converted


def _convert(value: Any, annotation: Any, path: str, label: str) -> Any:
    members = _members(annotation)
    if isinstance(value, Mapping):
        models = [m for m in members if isinstance(m, type) and attrs.has(m)]
        if len(models) == 1:
            return _model_from(models[0], value, path, label)
        return value
    if isinstance(value, list):
        lists = [typing.get_args(m)[0] for m in members if typing.get_origin(m) is list and typing.get_args(m)]
        if len(lists) == 1:
            items = [_convert(item, lists[0], f"{path}[{index}]", label) for index, item in enumerate(value)]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value
    if isinstance(value, (str, int)) and not isinstance(value, (bool, enum.Enum)):
        if type(value) in members:  # a plain str or int is what the parameter takes too
            return value
        enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
        if len(enums) == 1:
            return _enum_from(enums[0], value, path, label)
    return value


def _enum_from(kind: type[enum.Enum], value: str | int, path: str, label: str) -> enum.Enum:
    try:
        member = kind(value)
    except ValueError:
        member = None
    if member is None or getattr(member, "is_unknown", False):
        known = [m.value for m in kind if not getattr(m, "is_unknown", False)]
        raise RequestValidationError(
            f"{label}: {path}: {value!r} is not a {kind.__name__} value{_suggest(str(value), map(str, known))}"
            f" (one of {', '.join(map(repr, known))})"
        )
    return member


def _suggest(name: str, candidates: Any) -> str:
    import difflib  # only to word an error: not loaded by importing the client

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_from(model: type, value: Mapping[str, Any], path: str, label: str) -> Any:
    """``model.from_dict(value)``, refusing unknown keys and enum values anywhere inside."""
    try:
        instance = model.from_dict(value)  # type: ignore[attr-defined]
    except MissingField as exc:  # names the field and the path to it from ``model``
        *parents, name = exc.path
        where = path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parents)
        raise RequestValidationError(f"{label}: {where}: missing the required field {name!r}") from None
    except KeyError as exc:
        raise RequestValidationError(f"{label}: {path}: missing the required field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise RequestValidationError(
            f"{label}: {path} does not fit {model.__name__}: {type(exc).__name__}: {exc}"
        ) from None
    _refuse_unknown(instance, path, label)
    return instance


def _fields(model: type) -> list[str]:
    return [f.name for f in attrs.fields(model) if f.init]


def _json_names(model: type) -> list[str]:
    """The keys a dict for ``model`` uses: the generator appends ``_`` to a field whose JSON name
    is a Python keyword or builtin (``zip`` -> ``zip_``)."""
    return [name[:-1] if name.endswith("_") else name for name in _fields(model)]


def _refuse_unknown(value: Any, path: str, label: str) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unknown(item, f"{path}[{index}]", label)
        return
    if isinstance(value, enum.Enum):
        if getattr(value, "is_unknown", False):
            _enum_from(type(value), value.value, path, label)  # raises, with the closest value
        return
    if not attrs.has(type(value)):
        return
    unknown = getattr(value, "unknown_fields", None)
    if unknown:
        name = next(iter(unknown))
        raise RequestValidationError(
            f"{label}: {path}: {type(value).__name__} has no field {name!r}{_suggest(name, _json_names(type(value)))}"
            f" (fields: {', '.join(_json_names(type(value)))})"
        )
    for field in _fields(type(value)):
        _refuse_unknown(getattr(value, field, None), f"{path}.{field}", label)
