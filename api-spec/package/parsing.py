"""How the generated functions and models read responses: the JSON decoder and the null policy.

This module is part of the generated package's public surface, so code above it (carecloud_async,
tests) changes parsing through these names instead of patching generated modules.

JSON decoder: orjson when it is installed (``pip install 'carecloud-async[fast]'``), else the
standard library. :func:`set_json_decoder` picks one explicitly (the benchmark compares both)::

    >>> from carecloud_api import parsing
    >>> parsing.loads(b'{"a": 1}')
    {'a': 1}

Typed fast path: with msgspec installed (the ``fast`` extra), :func:`parse` first decodes a body
in C into msgspec Structs generated beside each model, which take exactly what the spec
describes (each field's own type, null only where the spec allows it, no field the spec does not
declare), and copies them into the same attrs models. A body with anything else (a stray null, a
number in a string field, an empty date, a new field, ...) makes that decode fail, and
``from_dict`` reads the body as described below: a result is the same either way (the tests hold
every example model and the fuzzed bodies to it). msgspec is imported on the first parse that
uses it; strict mode, :func:`set_fast_path` ``(False)`` and ``CARECLOUD_FAST_PARSE=0`` in the
environment leave every body to ``from_dict``.

Parse errors: a body that does not fit its model raises :class:`ResponseParseError` (a
``ValueError``) from every entry point: a model's ``from_dict``, the generated ``sync``,
``sync_detailed``, ``asyncio``, ``asyncio_detailed`` and ``call`` functions (``call()`` raises its
subclass ``errors.UnparseableResponse``, carecloud_async's ``CareCloud.call`` its subclass
``carecloud_async.ResponseParseError``). It names the model, the field path (list indexes
included) and the JSON type of the value found, never the value.

Nulls: the spec marks four fields ``nullable``, while the server has sent null in others. By
default a null in any field parses as ``None`` (the field's annotation may not say so: read a
field that can be null with ``is None`` in mind). In strict mode, for tests that hold the server
to the spec, a null in a field the spec does not mark nullable raises :class:`NullNotAllowed`
(a :class:`ResponseParseError`)::

    >>> from carecloud_api.models import PersonalInformation
    >>> PersonalInformation.from_dict({"language_id": "en", "first_name": None}).first_name is None
    True
    >>> with parsing.strict():
    ...     PersonalInformation.from_dict({"language_id": "en", "first_name": None})
    Traceback (most recent call last):
    ...
    carecloud_api.parsing.NullNotAllowed: PersonalInformation.first_name is null, and the spec does not allow null there

Odd values: by default, values the server sends that the spec does not describe are tolerated the
way the vendor's PHP client reads them, and the value as it came stays reachable in the model's
``raw_values`` (:func:`raw_values`); strict mode refuses each with a :class:`ResponseParseError`
naming the field and the value's type:

- a date field: an empty or zero date (``""``, ``"0000-00-00"``) is None; a date-time
  (``"1985-02-12T00:00:00"``) gives its date;
- an int enum field holding a numeric string (``"1"``) gives that member (a string enum holding a
  number, the member of its text);
- a string field holding a number (an int ``customer_id``, a millisecond timestamp in
  ``last_change``) holds its decimal text;
- an array holding null items keeps the other items (nulls are dropped);
- an array field holding ``{}`` or ``""`` (PHP's empty array, or nothing) is an empty list.

What has no consistent reading (a boolean or an object in a string field, a date that is no date,
a non-empty object where an array is expected, a string that is no number in an int enum) is a
:class:`ResponseParseError` in both modes::

    >>> info = PersonalInformation.from_dict({"language_id": "en", "birthdate": "1985-02-12T00:00:00"})
    >>> info.birthdate, info.raw_values
    (datetime.date(1985, 2, 12), {'birthdate': '1985-02-12T00:00:00'})
    >>> with parsing.strict():
    ...     PersonalInformation.from_dict({"language_id": "en", "birthdate": "0000-00-00"})
    Traceback (most recent call last):
    ...
    carecloud_api.parsing.ResponseParseError: PersonalInformation.birthdate is a zero date string where the spec says date

The switch is a ``ContextVar``: it follows the task (and its child tasks) that set it, so one
strict client or test does not change parsing for others running in the same process.

Garbage collector: a page of typed models is built while its decoded JSON is still alive, so a
big page triggers several collections of the cyclic garbage collector, which can find nothing
to free there (responses hold no reference cycles). :func:`set_gc_pause` lets an application
that parses many big pages (an export, a sync) pause the collector while each response is parsed,
as Mercurial does while it builds large structures. It is a process-wide setting of the ``gc``
module, so it is off by default and only the application should turn it on; the ``carecloud``
command does for the commands it runs::

    >>> from carecloud_api import parsing
    >>> previous = parsing.set_gc_pause(True)  # returns the setting it replaces
    >>> parsing.set_gc_pause(previous)
    True
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # the optional extra is not installed
    _orjson = None

#: Strict parsing for the current context (default off: stray nulls parse as None, odd values are
#: tolerated). The name is older than the odd values: it switches both.
strict_nulls: ContextVar[bool] = ContextVar("carecloud_api_strict_nulls", default=False)
#: How many :func:`strict` blocks are open in the process, in any context. Models read this plain
#: counter first and the ContextVar only when it is not zero: the common case costs one lookup.
strict_in_use = 0
_in_use_lock = threading.Lock()

#: The JSON decoder the generated ``call()`` functions use: ``orjson.loads`` when installed.
loads: Callable[[bytes], Any] = json.loads if _orjson is None else _orjson.loads


#: Pause the cyclic garbage collector while a response is parsed (see :func:`set_gc_pause`).
gc_pause = False

_gc_isenabled = gc.isenabled
_gc_disable = gc.disable
_gc_enable = gc.enable


def parse(from_dict: Callable[[Any], Any], content: bytes) -> Any:
    """``from_dict(loads(content))``: how every generated function parses a JSON body.

    A body that is not JSON, or does not fit the model, raises :class:`ResponseParseError`.

    With msgspec installed, the typed fast path (:func:`typed_decode`) reads the body first; when
    it cannot be sure (anything the spec does not describe exactly), ``from_dict`` reads it, so
    the result is the same either way.

    With :func:`set_gc_pause` on and the collector enabled, the collector is paused for the two
    steps and enabled again after them, also when they raise. A collector the application has
    disabled stays disabled.
    """
    if gc_pause and _gc_isenabled():
        _gc_disable()
        try:
            return _parse(from_dict, content)
        finally:
            _gc_enable()
    return _parse(from_dict, content)


def _parse(from_dict: Callable[[Any], Any], content: bytes) -> Any:
    if fast_path and _standard_loads and not (strict_in_use and strict_nulls.get()):
        typed = typed_decode(getattr(from_dict, "__self__", None), content)
        if typed is not None:  # a model; None: not exactly the spec's shape, from_dict decides
            return typed
    try:
        data = loads(content)
    except ValueError as exc:  # json's and orjson's JSONDecodeError are ValueErrors
        raise _not_json(from_dict, exc) from exc
    return from_dict(data)


# The typed fast path (issue 27). msgspec decodes a body in C straight into Structs that take
# exactly what the spec describes for the model (each field's type; null only where the spec
# allows it; no field the spec does not declare, for models that keep unknown fields) and the
# generated ``_from_wire`` copies those into the attrs models. Whatever else the body holds (a
# null, a number in a string field, an unknown enum value of the wrong type, an empty date, a
# new field, ...) makes the decode raise, and ``from_dict`` reads the body as before: the fast
# path never gives a result ``from_dict`` would not. Off in strict mode (from_dict's checks
# decide there), off without msgspec, and off by ``set_fast_path(False)`` or the environment
# variable ``CARECLOUD_FAST_PARSE=0`` (the benchmark measures the standard path that way).
# msgspec is imported on the first parse that uses it, never at import time.

#: False while :func:`set_json_decoder` holds a decoder other than ``json.loads`` / ``orjson.loads``
#: (the fast path is then off: its values are those of the standard decoders).
_standard_loads = True

#: Use the typed fast path when msgspec is installed (see :func:`set_fast_path`).
fast_path = os.environ.get("CARECLOUD_FAST_PARSE", "1") not in ("0", "false", "no", "off")

#: model class -> the msgspec decoder of its Struct, or False when it has none.
_wire_decoders: dict[Any, Any] = {}
_wire_lock = threading.Lock()


def _wire_decoder(model: Any) -> Any:
    """The decode function of ``model``'s Struct, built once; False without msgspec or a Struct."""
    with _wire_lock:
        decode = _wire_decoders.get(model)
        if decode is not None:
            return decode
        decode = False
        # The model's own Struct only: a subclass of a generated model inherits ``_from_wire``,
        # which builds the generated class, so a subclass is left to its own ``from_dict``.
        if model is not None and "_wire_struct" in vars(model):
            try:
                import msgspec  # noqa: PLC0415 (only when a body is parsed: import time stays)

                decode = msgspec.json.Decoder(model._wire_struct()).decode
            except Exception:  # noqa: S110 (no msgspec, or a type it cannot take: from_dict parses)
                decode = False
        _wire_decoders[model] = decode
        return decode


def wire_struct(name: str, fields: list[tuple[Any, ...]], rename: dict[str, str], *, forbid_unknown_fields: bool) -> Any:
    """The msgspec Struct of a model, for its ``_wire_struct`` (fields: ``(name, type[, default])``)."""
    import msgspec  # noqa: PLC0415 (see _wire_decoder)

    return msgspec.defstruct(
        f"{name}Wire",
        fields,
        kw_only=True,
        rename=rename or None,
        forbid_unknown_fields=forbid_unknown_fields,
        gc=False,  # decoded trees hold no cycles; the collector need not track them
    )


def typed_decode(model: Any, content: bytes) -> Any:
    """``model`` from ``content`` by the typed fast path, or None when it cannot be sure.

    What :func:`parse` tries first; a result is the one ``model.from_dict(loads(content))``
    gives (the tests hold it to that). None: no msgspec, a model without a Struct, or a body that
    is not exactly what the spec describes (``from_dict`` then decides, tolerating or refusing).
    """
    decode = _wire_decoders.get(model)
    if decode is None:
        decode = _wire_decoder(model)
    if decode is False:
        return None
    try:
        return model._from_wire(decode(content))
    except Exception:  # any refusal of the strict decode or the copy: from_dict decides
        return None


def set_fast_path(enabled: bool) -> bool:
    """Use the typed fast path when msgspec is installed (on by default); returns the old setting.

    ``CARECLOUD_FAST_PARSE=0`` in the environment turns it off from the start. Results are the
    same either way; the benchmark turns it off to measure the standard path.
    """
    global fast_path  # noqa: PLW0603 (the one process-wide setting, as set_json_decoder)
    previous = fast_path
    fast_path = bool(enabled)
    return previous


def _not_json(from_dict: Callable[[Any], Any], error: ValueError) -> ResponseParseError:
    model = getattr(getattr(from_dict, "__self__", None), "__name__", "the response")
    failure = ResponseParseError(model, (), f"body is not JSON ({type(error).__name__}: {error})", None)
    failure.value_type = "bytes"
    return failure


def set_gc_pause(enabled: bool) -> bool:
    """Pause the garbage collector while responses are parsed (process-wide); returns the old setting.

    For applications that parse many big pages: it saves the collections that run while a page
    is built (``make bench-percall`` shows the rows). Threads of the process that allocate while
    a response is parsed have their garbage collected after the parse instead of during it.
    """
    global gc_pause  # noqa: PLW0603 (the one process-wide setting, as set_json_decoder)
    previous = gc_pause
    gc_pause = bool(enabled)
    return previous


_unknown_fields_lock = threading.Lock()


class UnknownFields:
    """The ``unknown_fields`` attribute of every model: fields the spec does not declare.

    ``from_dict`` stores None in the attribute's slot when the mapping held no unknown field (an
    empty dict in every parsed model, six in a customer, cost a third of a parsed page's memory
    and made the garbage collector run more often while pages were built). Reading the attribute
    turns that None into an empty dict, kept in the slot, so it behaves as before: ``==``,
    ``repr``, ``attrs.asdict``, copies, pickles and writes through it. ``to_dict`` reads the slot
    itself and skips the empty case without creating anything.

    Each model module puts one of these over the slot attrs made (``__dict__["unknown_fields"]``).
    """

    __slots__ = ("_slot",)

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, model: object, owner: type | None = None) -> Any:
        if model is None:
            return self
        fields = self._slot.__get__(model, owner)
        if fields is None:
            with _unknown_fields_lock:  # threads reading it first must share one dict
                fields = self._slot.__get__(model, owner)
                if fields is None:
                    fields = {}
                    self._slot.__set__(model, fields)
        return fields

    def __set__(self, model: object, value: Any) -> None:
        self._slot.__set__(model, value)

    def __delete__(self, model: object) -> None:
        self._slot.__delete__(model)


_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type (``"string"``, ``"integer"``, ``"array"``, ...), for messages."""
    found = _JSON_TYPES.get(type(value))
    if found is not None:
        return found
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


class ResponseParseError(ValueError):
    """A response body does not fit the generated model: raised by ``from_dict`` and every generated function.

    ``model`` is the class parsing started from (the outermost one), ``path`` the field path below
    it (field names, and list indexes as ints), ``field_model`` the class that declares the field,
    ``value_type`` the JSON type of the value found (``"string"``, ``"null"``, ...) and ``reason``
    what is wrong. The message names all of them and never the value itself (it may be personal
    data); the value is kept in ``value`` for programs. A ``ValueError``, so ``except ValueError``
    code written before this class still catches it::

        >>> from carecloud_api.models import Customer
        >>> try:
        ...     Customer.from_dict({"customer_id": "c1", "personal_information": {"language_id": "en", "birthdate": "soon"}})
        ... except ResponseParseError as exc:
        ...     print(exc)
        ...     print(exc.path, exc.field_model, exc.value_type)
        Customer.personal_information.birthdate is a string that is not a date (YYYY-MM-DD)
        ('personal_information', 'birthdate') PersonalInformation string
    """

    def __init__(self, model: str, path: tuple[str | int, ...], reason: str, value: Any = None):
        self.model = model
        self.field_model = model
        self.path = path
        self.reason = reason
        self.value = value
        self.value_type = json_type(value)
        super().__init__(self.message)

    @property
    def location(self) -> str:
        """``Model.field[2].subfield``: where the value is, from the outermost model."""
        text = self.model
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text

    @property
    def message(self) -> str:
        """The location and the reason (the same text as ``str()``)."""
        return f"{self.location} {self.reason}"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def within(self, model: str, *path: str | int) -> ResponseParseError:
        """This error seen from ``model``, which holds the value at ``path``: the path grows in front."""
        self.model = model
        self.path = (*path, *self.path)
        self.args = (self.message,)
        return self


class NullNotAllowed(ResponseParseError):
    """Strict mode: a response field holds null where the spec does not allow it."""

    def __init__(self, model: str, field: str):
        super().__init__(model, (field,), "is null, and the spec does not allow null there", None)

    @property
    def field(self) -> str:
        """The field that holds the null (its name in the model that declares it)."""
        return str(self.path[-1]) if self.path else ""


class MissingField(ResponseParseError, KeyError):
    """A required field is absent. Also a ``KeyError``, as ``from_dict`` raised before this class."""

    def __init__(self, model: str, field: str):
        super().__init__(model, (field,), "is missing, and the spec requires it", None)
        self.value_type = "missing"


def refuse_nulls(model: str, src: Mapping[str, Any], not_nullable: frozenset[str]) -> None:
    """Raise :class:`NullNotAllowed` for the first field of ``not_nullable`` that is null in ``src``."""
    for key, value in src.items():
        if value is None and key in not_nullable:
            raise NullNotAllowed(model, key)


def is_strict() -> bool:
    """True inside :func:`strict` (this context or a task it started)."""
    return bool(strict_in_use) and strict_nulls.get()


# -- Odd values: what the server sends that the spec does not say, tolerated as the vendor's PHP
# client does unless strict mode is on. Every function below runs only off the fast path: the
# generated from_dict calls one when a value is not what the spec says (a string field holding an
# int, a date that does not parse, a list holding a null, ...).

_raw_lock = threading.Lock()
# id(model) -> (weak reference to the model, {field: the value as it came}). A side table, not an
# attribute: models are slotted attrs classes and a new slot would show in attrs.fields().
_raw: dict[int, tuple[Any, dict[str, Any]]] = {}


def _forget(model_id: int) -> Callable[[Any], None]:
    def forget(_ref: Any) -> None:
        with _raw_lock:
            _raw.pop(model_id, None)

    return forget


def raw_values(model: object) -> dict[str, Any]:
    """The fields of ``model`` whose value parsing tolerated, mapped to the value as it came.

    Empty for a model whose values all fit the spec. Every model also has it as ``raw_values``::

        >>> from carecloud_api.models import PersonalInformation
        >>> info = PersonalInformation.from_dict({"language_id": "en", "birthdate": "0000-00-00"})
        >>> info.birthdate is None, info.raw_values
        (True, {'birthdate': '0000-00-00'})
    """
    entry = _raw.get(id(model))
    if entry is None or entry[0]() is not model:
        return {}
    return entry[1]


def _tolerate(model: object, field: str, value: Any, reason: str, result: Any) -> Any:
    """Keep ``value`` reachable through :func:`raw_values` and return ``result``, or raise in strict mode."""
    if is_strict():
        raise ResponseParseError(type(model).__name__, (field,), reason, value)
    key = id(model)
    with _raw_lock:
        entry = _raw.get(key)
        if entry is None or entry[0]() is not model:
            entry = (weakref.ref(model, _forget(key)), {})
            _raw[key] = entry
        entry[1][field] = value
    return result


def _date_prefix(value: str) -> datetime.date | None:
    """The date of a date-time string (``1985-02-12T00:00:00``, ``1985-02-12 10:00:00.5``), else None."""
    if len(value) <= 10 or value[10] not in "T ":
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return None
    return moment.date()


_ZERO_DATES = frozenset(("", "0000-00-00", "0000-00-00 00:00:00", "0000-00-00T00:00:00"))


def odd_date(model: object, field: str, value: Any) -> datetime.date | None:
    """A date field whose value ``date.fromisoformat`` refused.

    Tolerated (strict mode refuses each): an empty or zero date (``""``, ``"0000-00-00"``) is
    None, a date-time gives its date. Anything else is a :class:`ResponseParseError`.
    """
    if isinstance(value, str):
        if value.strip() in _ZERO_DATES:
            return _tolerate(model, field, value, "is an empty string where the spec says date" if not value.strip() else "is a zero date string where the spec says date", None)  # type: ignore[no-any-return]
        day = _date_prefix(value)
        if day is not None:
            return _tolerate(model, field, value, "is a date-time string where the spec says date", day)  # type: ignore[no-any-return]
        raise ResponseParseError(type(model).__name__, (field,), "is a string that is not a date (YYYY-MM-DD)", value)
    raise ResponseParseError(type(model).__name__, (field,), f"is {_article(json_type(value))} where the spec says date", value)


def odd_text(model: object, field: str, value: Any) -> Any:
    """A string field holding something else (never None or UNSET: the caller checks).

    A number (an int ``customer_id``, a millisecond timestamp in ``last_change``) becomes its
    decimal text, as PHP prints it; strict mode refuses it. A boolean, object or array has no
    text that would be right: a :class:`ResponseParseError` in both modes.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value) if isinstance(value, int) or not value.is_integer() else str(int(value))
        return _tolerate(model, field, value, f"is {_article(json_type(value))} where the spec says string", text)
    if isinstance(value, str):  # a str subclass
        return str(value)
    raise ResponseParseError(type(model).__name__, (field,), f"is {_article(json_type(value))} where the spec says string", value)


def not_a_list(model: object, field: str, value: Any) -> list[Any]:
    """An array field holding something else (never None or UNSET: the caller checks).

    ``{}`` and ``""`` (how PHP encodes an empty array or nothing) are an empty list; strict mode
    refuses them. Anything else is a :class:`ResponseParseError`.
    """
    if isinstance(value, list):  # a list subclass
        return list(value)
    if (isinstance(value, dict) and not value) or value == "":
        return _tolerate(model, field, value, f"is an empty {json_type(value)} where the spec says array", [])  # type: ignore[no-any-return]
    raise ResponseParseError(type(model).__name__, (field,), f"is {_article(json_type(value))} where the spec says array", value)


def plain_items(model: object, field: str, value: Any) -> list[Any]:
    """An array of plain items (strings, numbers) that is not a list or holds a null."""
    items = value if isinstance(value, list) else not_a_list(model, field, value)
    if any(item is None for item in items):
        return _drop_nulls(model, field, value, items)
    return items


def _drop_nulls(model: object, field: str, value: Any, items: list[Any]) -> list[Any]:
    if is_strict():
        index = next(i for i, item in enumerate(items) if item is None)
        raise ResponseParseError(type(model).__name__, (field, index), "is null, and the spec does not allow null items", None)
    return _tolerate(model, field, value, "holds null items", [item for item in items if item is not None])  # type: ignore[no-any-return]


def parse_items(model: object, field: str, value: list[Any], parse_item: Callable[[Any], Any], error: Exception) -> list[Any]:
    """An array of models or enum values whose one-pass parse raised ``error``: item by item.

    Null items are dropped (the list keeps the items that parsed; :func:`raw_values` has the list
    as it came); strict mode refuses them. Any other item that does not parse is a
    :class:`ResponseParseError` whose path holds its index.
    """
    kept: list[Any] = []
    nulls = False
    for index, item in enumerate(value):
        if item is None:
            if is_strict():
                raise ResponseParseError(type(model).__name__, (field, index), "is null, and the spec does not allow null items", None)
            nulls = True
            continue
        try:
            kept.append(parse_item(item))
        except ResponseParseError as exc:
            raise exc.within(type(model).__name__, field, index) from None
        except Exception as exc:
            raise ResponseParseError(type(model).__name__, (field, index), _failure(exc, item), item) from exc
    if not nulls:  # the one-pass parse failed on something the item-wise pass accepts
        raise ResponseParseError(type(model).__name__, (field,), _failure(error, value), value) from error
    return _tolerate(model, field, value, "holds null items", kept)  # type: ignore[no-any-return]


def odd_enum(model: object, field: str, enum: Any, value: Any) -> Any:
    """An enum field whose value is not one of the enum's values as they are.

    A numeric string for an int enum (``state: "1"``) gives that member, and a number for a
    string enum the member of its text; strict mode refuses both. A value of the right type the
    spec does not list is kept as the enum's ``UNKNOWN`` member (forward compatibility, in both
    modes); anything else is a :class:`ResponseParseError`.
    """
    members = enum._value2member_map_
    if issubclass(enum, int):
        if isinstance(value, str) and value.strip().lstrip("-+").isdigit():
            number = int(value)
            member = members.get(number)
            # a number the spec does not list: the UNKNOWN member, as for an integer
            return _tolerate(model, field, value, "is a numeric string where the spec says integer", member if member is not None else enum(number))
    elif isinstance(value, int) and not isinstance(value, bool):
        member = members.get(str(value))
        if member is not None:
            return _tolerate(model, field, value, "is an integer where the spec says string", member)
    try:
        return enum(value)
    except (ValueError, TypeError) as exc:
        kind = "integer" if issubclass(enum, int) else "string"
        raise ResponseParseError(
            type(model).__name__, (field,), f"is {_article(json_type(value))} where the spec says {kind} ({enum.__name__})", value
        ) from exc


def enum_item(model: object, field: str, enum: Any) -> Callable[[Any], Any]:
    """The item parser of an array of enum values, for :func:`parse_items`."""
    members = enum._value2member_map_

    def parse(item: Any) -> Any:
        member = members.get(item) if isinstance(item, (int, str)) else None
        return member if member is not None else odd_enum(model, field, enum, item)

    return parse


def _failure(error: BaseException, value: Any) -> str:
    if isinstance(error, KeyError) and isinstance(value, Mapping):
        return f"has no {error.args[0]!r} field, and the spec requires it" if error.args else "misses a required field"
    if not isinstance(value, Mapping) and isinstance(error, (AttributeError, TypeError)):
        return f"is {_article(json_type(value))} where the spec says object"
    return f"does not fit the model ({type(error).__name__})"


def field_failed(model: object, field: str, value: Any, error: Exception) -> ResponseParseError:
    """The error to raise when parsing ``value`` into ``field`` of ``model`` raised ``error``."""
    if isinstance(error, ResponseParseError):
        return error.within(type(model).__name__, field)
    failure = ResponseParseError(type(model).__name__, (field,), _failure(error, value), value)
    failure.__cause__ = error
    return failure


def model_failed(model: str, src: Any, error: Exception) -> ResponseParseError:
    """The error to raise when ``Model.from_dict(src)`` raised ``error`` outside any one field."""
    if isinstance(error, ResponseParseError):
        return error
    if not isinstance(src, Mapping):
        failure = ResponseParseError(model, (), f"is {_article(json_type(src))} where the spec says object", src)
    elif isinstance(error, KeyError) and error.args:
        failure = MissingField(model, str(error.args[0]))
    else:
        failure = ResponseParseError(model, (), f"does not fit the model ({type(error).__name__})", src)
    failure.__cause__ = error
    return failure


@contextlib.contextmanager
def strict() -> Iterator[None]:
    """Hold responses to the spec inside the block (this context and the tasks it starts).

    A null the spec does not allow, and every odd value the default tolerates, raise
    :class:`ResponseParseError`.
    """
    global strict_in_use  # noqa: PLW0603 (the process-wide counter described above)
    with _in_use_lock:
        strict_in_use += 1
    token = strict_nulls.set(True)
    try:
        yield
    finally:
        strict_nulls.reset(token)
        with _in_use_lock:
            strict_in_use -= 1


def set_json_decoder(decoder: Callable[[bytes], Any] | None) -> None:
    """Use ``decoder`` (``json.loads``, ``orjson.loads``) for responses; None restores the default.

    >>> from carecloud_api import parsing
    >>> parsing.set_json_decoder(json.loads)
    >>> parsing.loads is json.loads
    True
    >>> parsing.set_json_decoder(None)
    """
    global loads, _standard_loads  # noqa: PLW0603 (the one process-wide setting of this module)
    loads = decoder if decoder is not None else (json.loads if _orjson is None else _orjson.loads)
    # Another decoder (``parse_float=Decimal``, say) gives values the typed fast path would not:
    # with it, every body is read by ``loads`` and ``from_dict``.
    _standard_loads = loads is json.loads or (_orjson is not None and loads is _orjson.loads)


__all__ = ["MissingField", "NullNotAllowed", "ResponseParseError", "UnknownFields", "enum_item", "fast_path", "field_failed", "gc_pause", "is_strict", "json_type", "loads", "model_failed", "not_a_list", "odd_date", "odd_enum", "odd_text", "parse", "parse_items", "plain_items", "raw_values", "refuse_nulls", "set_fast_path", "set_gc_pause", "set_json_decoder", "strict", "strict_in_use", "strict_nulls", "typed_decode", "wire_struct"]
