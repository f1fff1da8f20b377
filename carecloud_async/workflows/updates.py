"""Safe whole-record updates: read the record, change it, put the whole record back.

A CareCloud ``PUT`` replaces the record: a field left out of the body is deleted on the server.
:func:`update_record` therefore never sends a partial record. It reads the record (``GET``),
applies the caller's changes (a mapping of field names, dotted for nested fields, or a function
that edits the write model), and ``PUT``\\ s the whole record back through the write twin
(``StoreWrite`` for ``Store``, see "Updating records" in docs/guide/models.md):

    await update_record(cc, "/stores/{store_id}", store_id, changes={"name": "Prague 2"})
    await update_record(cc, get_customer, customer_id,
                        changes={"personal_information.email": "jane@example.com"})
    await update_record(cc, get_card, card_id, changes=lambda card: setattr(card, "customer_id", customer_id))

What it refuses, before the ``PUT`` is sent:

* a change naming a field the record does not have (:class:`UnknownField`, with "did you mean",
  for a misspelt parent of a dotted name too); a mapping of changes is checked against the write
  model before the record is even read;
* a record that changed on the server since it was read (:class:`UpdateConflict`): with
  ``check="auto"`` (the default) the record is read again just before the ``PUT`` and compared
  whole, ``last_change`` included (``last_change`` has one-second resolution: two writes within
  the same second leave it unchanged, so it is not enough alone); ``expected_last_change=`` also
  refuses a record that changed since *you* showed it to a user.

CareCloud has no conditional ``PUT`` (no ``ETag`` / ``If-Match``), so the re-read narrows the
window in which another writer's change can be overwritten to the time between the re-read and
the ``PUT``; it cannot close it.

Which resources: every path with both ``GET`` and ``PUT`` (:func:`updatable_resources`, derived
from the generated operation catalog, so it follows the spec after regeneration).
"""

from __future__ import annotations

import copy
import difflib
import enum
import functools
import importlib
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import attrs

from .._client import CareCloud
from .._errors import CareCloudError, RequestValidationError
from .._operations import operation_of
from ._checks import answered, require_choice, require_text

__all__ = [
    "ConflictCheck",
    "RecordChanges",
    "RecordUpdate",
    "UnknownField",
    "UpdatableResource",
    "UpdateConflict",
    "updatable_resources",
    "update_record",
]

#: How :func:`update_record` checks that nobody changed the record between read and write.
ConflictCheck = Literal["auto", "last_change", "reread", "none"]
#: The caller's changes: ``{"name": ..., "personal_information.email": ...}`` or a function that
#: edits the write model in place (or returns a new one).
RecordChanges = Mapping[str, Any] | Callable[[Any], Any]

_CHECKS: tuple[ConflictCheck, ...] = ("auto", "last_change", "reread", "none")
_LAST_CHANGE = "last_change"
_NO_ATTRIBUTE = re.compile(r"'(?P<model>\w+)' object has no attribute '(?P<field>\w+)'")


class UnknownField(RequestValidationError):
    """A change names a field the record does not have; nothing was written.

    ``field`` is the dotted name as given, ``suggestions`` the closest real names.

        try:
            await update_record(cc, "/stores/{store_id}", store_id, changes={"nmae": "Prague 2"})
        except UnknownField as exc:
            print(exc.field, exc.suggestions)     # nmae ('name',)
    """

    def __init__(self, field: str, where: str, known: tuple[str, ...], *, part: str | None = None):
        self.field = field
        # The suggestions are for the name that is wrong: the leaf, or the parent given as ``part``.
        wrong = field.rsplit(".", 1)[-1] if part is None else part
        self.suggestions = tuple(difflib.get_close_matches(wrong, known, n=3, cutoff=0.6))
        hint = f" (did you mean {' or '.join(map(repr, self.suggestions))}?)" if self.suggestions else ""
        super().__init__(
            f"{where} has no field {field!r}{hint}; nothing was sent. Its fields: {', '.join(sorted(known))}"
        )


class UpdateConflict(CareCloudError):
    """The record changed on the server after it was read; the update was not sent.

    ``changed`` names the top-level fields that differ (``("last_change",)`` when only the
    timestamp was compared). Read the record again, reapply your change, and retry.

        try:
            await update_record(cc, get_customer, customer_id, changes=changes)
        except UpdateConflict:
            await update_record(cc, get_customer, customer_id, changes=changes)   # on fresh data
    """

    def __init__(self, path: str, changed: tuple[str, ...]):
        self.path = path
        self.changed = changed
        super().__init__(
            f"{path} changed on the server since it was read ({', '.join(changed) or 'record'}); "
            "nothing was sent: read it again, reapply the change and retry"
        )


@dataclass(frozen=True)
class UpdatableResource:
    """One path with ``GET`` and ``PUT`` (see :func:`updatable_resources`).

    ``body_field`` is the key of the record inside the ``PUT`` body (``store`` in
    ``{"store": {...}}``), ``write_model`` the class that field takes (``StoreWrite``),
    ``path_params`` the path's identifiers in order.
    """

    path: str
    get_module: str
    put_module: str
    body_model: type
    body_field: str
    write_model: type
    path_params: tuple[str, ...]

    def get(self) -> ModuleType:
        return importlib.import_module(self.get_module)

    def put(self) -> ModuleType:
        return importlib.import_module(self.put_module)


@dataclass(frozen=True)
class RecordUpdate:
    """What :func:`update_record` did. ``changed`` lists the dotted fields it changed (empty: the
    changes left the record as it was, and, unless ``body_extras`` were given, no ``PUT`` was
    sent: ``sent`` is then False);
    ``before`` is the record as read, ``record`` the write model as put."""

    path: str
    before: Any
    record: Any
    changed: tuple[str, ...]
    sent: bool


@functools.cache
def updatable_resources() -> dict[str, UpdatableResource]:
    """Every path with both ``GET`` and ``PUT`` in the generated catalog, by path template.

    10 with the pinned spec (bookings, cards, card types, entrances, customers, customer addresses,
    purchases, stores, tasks, vouchers).

        sorted(updatable_resources())[:2]    # ['/bookings/{booking_id}', '/card-types/{card_type_id}']
    """
    from carecloud_api._catalog import OPERATIONS

    gets = {op.path: op for op in OPERATIONS if op.method == "GET"}
    found: dict[str, UpdatableResource] = {}
    for op in OPERATIONS:
        if op.method != "PUT" or op.path not in gets:
            continue
        put = importlib.import_module(op.module)
        parameters = inspect.signature(put.call).parameters
        body_model = _model_class(parameters["body"].annotation)
        required = [f for f in attrs.fields(body_model) if f.default is attrs.NOTHING]
        if len(required) != 1:  # pragma: no cover - every PUT body of the spec wraps one record
            continue
        path_params = tuple(name for name, p in parameters.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
        found[op.path] = UpdatableResource(
            path=op.path,
            get_module=gets[op.path].module,
            put_module=op.module,
            body_model=body_model,
            body_field=required[0].name,
            write_model=_model_class(required[0].type),
            path_params=path_params,
        )
    return found


async def update_record(
    cc: CareCloud,
    resource: str | ModuleType | Callable[..., Any],
    /,
    *ids: str,
    changes: RecordChanges,
    check: ConflictCheck = "auto",
    expected_last_change: str | None = None,
    body_extras: Mapping[str, Any] | None = None,
) -> RecordUpdate:
    """Read the record at ``resource`` (a path template such as ``"/stores/{store_id}"``, or the
    generated ``GET`` / ``PUT`` endpoint of it), apply ``changes`` and put the whole record back.

    ``changes`` is a mapping (``{"name": "Prague 2", "store_address.city": "Prague"}``: values
    are JSON values or generated models; the names are checked before the record is read) or a
    function taking the write model (edit it in place, or return a new one). Fields not named keep
    the value read, so nothing is deleted. ``check``: ``"auto"`` and ``"reread"`` read the record
    again before the ``PUT`` and compare it whole (``last_change`` included); ``"last_change"``
    compares only ``last_change`` (one-second resolution: a write in the same second goes
    unnoticed); ``"none"`` skips the re-read.
    ``expected_last_change`` refuses a record whose ``last_change`` is not that one.
    ``body_extras`` sets other fields of the ``PUT`` body (``{"password": ...}`` for customers).

        result = await update_record(cc, "/customers/{customer_id}", customer_id,
                                     changes={"personal_information.last_name": "Smith"})
        print(result.changed)        # ('personal_information.last_name',)

    Raises :class:`UnknownField` (a field the record lacks), :class:`UpdateConflict`, and
    ``RequestValidationError`` for a path that is not updatable or a wrong number of ids; nothing
    is written then.
    """
    target = _resolve(resource)
    if len(ids) != len(target.path_params):
        raise RequestValidationError(
            f"{target.path} needs {len(target.path_params)} id(s) ({', '.join(target.path_params)}), got {len(ids)}"
        )
    for name, value in zip(target.path_params, ids, strict=True):
        require_text(value, name)
    require_choice(check, _CHECKS, "check")
    if not (isinstance(changes, Mapping) or callable(changes)):
        raise RequestValidationError("changes must be a mapping of field names or a function taking the record")
    extras = _checked_extras(target, body_extras)
    if isinstance(changes, Mapping):
        for name in changes:
            _check_dotted(require_text(name, "field name"), target)
    cc.check_operation(operation_of(target.put())[1])

    get = target.get()
    read = await cc.call(get.call, *ids)
    before = answered(read.data, f"GET {target.path}", "data")
    before_dict = before.to_dict()
    if expected_last_change is not None:
        if not before_dict.get(_LAST_CHANGE):
            raise RequestValidationError(f"{target.path} answered no last_change; drop expected_last_change")
        if before_dict[_LAST_CHANGE] != expected_last_change:
            raise UpdateConflict(target.path, (_LAST_CHANGE,))

    record = _writable(target, type(before), _apply(target, before_dict, changes))
    as_read = target.write_model.from_dict(copy.deepcopy(before_dict))  # type: ignore[attr-defined]
    original = _writable(target, type(before), as_read).to_dict()
    after = record.to_dict()
    changed = tuple(_differences(original, after))
    if not changed and not extras:
        return RecordUpdate(target.path, before, record, (), sent=False)

    if check == "last_change" and not before_dict.get(_LAST_CHANGE):
        raise RequestValidationError(
            f"{target.path} answered no last_change to compare; use check='reread' (compare the whole record)"
        )
    if check != "none":
        fresh = answered((await cc.call(get.call, *ids)).data, f"GET {target.path}", "data").to_dict()
        # ``last_change`` alone misses a write made in the same second as the read: unless asked
        # for, the whole record is compared (the PUT writes every field of it back).
        if check == "last_change":
            if fresh.get(_LAST_CHANGE) != before_dict.get(_LAST_CHANGE):
                raise UpdateConflict(target.path, (_LAST_CHANGE,))
        elif fresh != before_dict:
            raise UpdateConflict(
                target.path, tuple(sorted({name.split(".")[0] for name in _differences(before_dict, fresh)}))
            )

    body = target.body_model(**{target.body_field: record}, **extras)
    await cc.call(target.put().call, *ids, body=body)
    return RecordUpdate(target.path, before, record, changed, sent=True)


# ---------------------------------------------------------------------------------- internals


def _resolve(resource: str | ModuleType | Callable[..., Any]) -> UpdatableResource:
    resources = updatable_resources()
    path = resource if isinstance(resource, str) else operation_of(resource)[1].path
    if path not in resources:
        close = difflib.get_close_matches(path, list(resources), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RequestValidationError(
            f"{path} has no GET and PUT on the same path, so it cannot be updated as a whole record{hint}"
        )
    return resources[path]


def _model_class(annotation: object) -> type:
    """The generated model class of an annotation (a class, or text such as ``'StoreWrite | Unset'``)."""
    if isinstance(annotation, type):
        return annotation
    from carecloud_api import models

    name = str(annotation).split("|", maxsplit=1)[0].strip()
    found = getattr(models, name)
    assert isinstance(found, type)
    return found


def _declared_fields(model: type | None) -> dict[str, type | None]:
    """A model's declared fields, each with its nested model class (None for plain values/lists)."""
    if model is None or not attrs.has(model):
        return {}
    fields: dict[str, type | None] = {}
    for field in attrs.fields(model):
        if field.name == "unknown_fields":
            continue
        text = str(field.type)
        first = text.split("|", maxsplit=1)[0].strip()
        nested: type | None = None
        if first and first[0].isupper() and not first.startswith(("Any", "list", "dict")):
            try:
                nested = _model_class(first)
            except AttributeError:
                nested = None
            if nested is not None and not attrs.has(nested):
                nested = None
        fields[field.name] = nested
    return fields


def _apply(target: UpdatableResource, before: dict[str, Any], changes: RecordChanges) -> Any:
    where = f"{target.write_model.__name__} ({target.path})"
    if isinstance(changes, Mapping):
        data = copy.deepcopy(before)
        for name, value in changes.items():
            _set_dotted(data, require_text(name, "field name"), _json_value(value), target.write_model, where)
        try:
            return target.write_model.from_dict(data)  # type: ignore[attr-defined]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a ResponseParseError (also a KeyError for a missing field) names the field itself
            missing = isinstance(exc, KeyError) and not isinstance(exc, ValueError)
            problem = f"missing field {exc}" if missing else str(exc)
            raise RequestValidationError(
                f"the changed record does not fit {where}: {problem}; check the values given; nothing was sent"
            ) from None
    record = target.write_model.from_dict(copy.deepcopy(before))  # type: ignore[attr-defined]
    try:
        returned = changes(record)
    except AttributeError as exc:
        # Generated models have slots: setting a misspelt attribute fails here. Python does not
        # fill ``name``/``obj`` for a failed setattr, so the message is read instead.
        match = _NO_ATTRIBUTE.search(str(exc))
        model = _model_or_none(match["model"]) if match else None
        if match is None or model is None:
            raise
        raise UnknownField(match["field"], model.__name__, tuple(_declared_fields(model))) from None
    if returned is None:
        return record
    if not isinstance(returned, target.write_model):
        raise RequestValidationError(
            f"the changes function must edit the {target.write_model.__name__} it gets, or return one "
            f"(it returned a {type(returned).__name__})"
        )
    return returned


def _writable(target: UpdatableResource, read_model: type, record: Any) -> Any:
    """``record`` without the read-only fields of a ``PUT`` whose body is not the record's own
    schema nor its write twin (``PUT /bookings/{id}`` takes three of the booking's nine fields):
    those would otherwise travel back as unknown fields."""
    if target.write_model.__name__ in (read_model.__name__, f"{read_model.__name__}Write"):
        return record
    read_only = set(_declared_fields(read_model))
    record.unknown_fields = {k: v for k, v in record.unknown_fields.items() if k not in read_only}
    return record


def _model_or_none(name: str) -> type | None:
    try:
        return _model_class(name)
    except AttributeError:
        return None


def _check_dotted(dotted: str, target: UpdatableResource) -> None:
    """Refuse a dotted name the write model does not declare, before anything is read; below a
    field whose model is not known (a plain mapping) names are not checked."""
    model: type | None = target.write_model
    where = f"{target.write_model.__name__} ({target.path})"
    for part in dotted.split("."):
        declared = _declared_fields(model)
        if not declared:
            return
        if part not in declared:
            raise UnknownField(dotted, where, tuple(declared), part=part)
        model = declared[part]
        where = f"{model.__name__ if model else part} ({where})"


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, model: type | None, where: str) -> None:
    parts = dotted.split(".")
    level = data
    for depth, part in enumerate(parts):
        declared = _declared_fields(model)
        known = set(declared) | set(level)
        if part not in known:
            raise UnknownField(dotted, where, tuple(known), part=part)
        if depth == len(parts) - 1:
            level[part] = value
            return
        nested = level.get(part)
        if nested is None:
            nested = level[part] = {}
        if not isinstance(nested, dict):
            raise RequestValidationError(f"{where}: {'.'.join(parts[: depth + 1])} is not a nested record")
        model = declared.get(part)
        where = f"{model.__name__ if model else part} ({where})"
        level = nested


def _json_value(value: Any) -> Any:
    if attrs.has(type(value)) and hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def _differences(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                yield name
            else:
                yield from _differences(old[key], new[key], name)
    elif old != new:
        yield prefix


def _checked_extras(target: UpdatableResource, extras: Mapping[str, Any] | None) -> dict[str, Any]:
    if not extras:
        return {}
    allowed = tuple(name for name in _declared_fields(target.body_model) if name != target.body_field)
    for name in extras:
        if name not in allowed:
            raise UnknownField(name, f"the PUT {target.path} body", allowed)
    return dict(extras)
