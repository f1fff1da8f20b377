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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from carecloud_api.parsing import MissingField

from ._errors import RequestValidationError

__all__ = ["accept_plain_inputs", "enum_member", "missing_fields_text"]


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
            return enum_member(enums[0], value, path, label)
    return value


def enum_member(kind: type[enum.Enum], value: str | int, path: str, label: str) -> enum.Enum:
    """The member of ``kind`` whose value is ``value``; else a :class:`RequestValidationError`
    naming the place, the closest value and the values the spec lists (the command line's
    ``-p sort_direction=...`` is refused with this message too).

    >>> from carecloud_api.models import SortDirection
    >>> enum_member(SortDirection, "DESC", "sort_direction", "GET /customers")
    <SortDirection.DESC: 'DESC'>
    >>> enum_member(SortDirection, "DSC", "sort_direction", "GET /customers")
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: GET /customers: ... 'DSC' is not ...; did you mean 'DESC'? ...
    """
    try:
        member = kind(value)
    except ValueError:
        member = None
    if member is None or getattr(member, "is_unknown", False):
        known = [m.value for m in kind if not getattr(m, "is_unknown", False)]
        where = f"{label}: {path}" if label else path
        raise RequestValidationError(
            f"{where}: {value!r} is not a {kind.__name__} value{_suggest(str(value), map(str, known))}"
            f" (one of {', '.join(map(repr, known))})"
        )
    return member


def _suggest(name: str, candidates: Any) -> str:
    import difflib  # only to word an error: not loaded by importing the client

    # Compared without case ('dsc' is closest to 'DESC'); shown as the spec spells it.
    spelt = {str(candidate).lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.lower(), list(spelt), n=1, cutoff=0.6)
    return f"; did you mean {spelt[close[0]]!r}?" if close else ""


def _model_from(model: type, value: Mapping[str, Any], path: str, label: str) -> Any:
    """``model.from_dict(value)``, refusing unknown keys and enum values anywhere inside."""
    try:
        instance = model.from_dict(value)  # type: ignore[attr-defined]
    except MissingField as exc:  # names the field and the path to it from ``model``
        *parents, name = exc.path
        where = path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parents)
        missing = _missing_fields(exc.field_model, value, parents) or [str(name)]
        raise RequestValidationError(f"{label}: {where}: {missing_fields_text(missing)}") from None
    except KeyError as exc:
        raise RequestValidationError(f"{label}: {path}: {missing_fields_text([exc.args[0]])}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise RequestValidationError(
            f"{label}: {path} does not fit {model.__name__}: {type(exc).__name__}: {exc}"
        ) from None
    _refuse_unknown(instance, path, label)
    return instance


def missing_fields_text(names: Sequence[str]) -> str:
    """How a body with required fields left out is refused (``names`` in the model's order).

    >>> missing_fields_text(["card"]), missing_fields_text(["customer_source", "autologin"])
    ("missing the required field 'card'", "missing the required fields 'customer_source', 'autologin'")
    """
    if len(names) == 1:
        return f"missing the required field {names[0]!r}"
    return f"missing the required fields {', '.join(map(repr, names))}"


def _missing_fields(model_name: str, value: Mapping[str, Any], parents: Sequence[str | int]) -> list[str]:
    """Every required field (its JSON name) that the object at ``parents`` inside ``value`` leaves
    out, ``model_name`` being its generated model: one message names them all, not one per try."""
    import carecloud_api.models  # loaded already: a model was being parsed

    model = getattr(carecloud_api.models, model_name, None)
    data: Any = value
    try:
        for part in parents:
            data = data[part]
    except (KeyError, IndexError, TypeError):
        return []
    if not (isinstance(model, type) and attrs.has(model) and isinstance(data, Mapping)):
        return []
    required = [f.name for f in attrs.fields(model) if f.init and f.default is attrs.NOTHING]
    names = [name[:-1] if name.endswith("_") else name for name in required]
    return [name for name in names if name not in data]


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
            enum_member(type(value), value.value, path, label)  # raises, with the closest value
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
