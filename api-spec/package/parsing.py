"""How the generated functions and models read responses: the JSON decoder and the null policy.

This module is part of the generated package's public surface, so code above it (carecloud_async,
tests) changes parsing through these names instead of patching generated modules.

JSON decoder: orjson when it is installed (``pip install 'carecloud-async[fast]'``), else the
standard library. :func:`set_json_decoder` picks one explicitly (the benchmark compares both)::

    >>> from carecloud_api import parsing
    >>> parsing.loads(b'{"a": 1}')
    {'a': 1}

Nulls: the spec marks four fields ``nullable``, while the server has sent null in others. By
default a null in any field parses as ``None`` (the field's annotation may not say so: read a
field that can be null with ``is None`` in mind). In strict mode, for tests that hold the server
to the spec, a null in a field the spec does not mark nullable raises :class:`NullNotAllowed`
(a ``ValueError``; ``call()`` turns it into ``errors.UnparseableResponse``)::

    >>> from carecloud_api.models import PersonalInformation
    >>> PersonalInformation.from_dict({"language_id": "en", "first_name": None}).first_name is None
    True
    >>> with parsing.strict():
    ...     PersonalInformation.from_dict({"language_id": "en", "first_name": None})
    Traceback (most recent call last):
    ...
    carecloud_api.parsing.NullNotAllowed: PersonalInformation.first_name is null, and the spec does not allow null there

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
import gc
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # the optional extra is not installed
    _orjson = None

#: Strict null checking for the current context (default off: nulls parse as None).
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
    """``from_dict(loads(content))``: how every generated ``call()`` parses a JSON success body.

    With :func:`set_gc_pause` on and the collector enabled, the collector is paused for the two
    steps and enabled again after them, also when they raise. A collector the application has
    disabled stays disabled.
    """
    if gc_pause and _gc_isenabled():
        _gc_disable()
        try:
            return from_dict(loads(content))
        finally:
            _gc_enable()
    return from_dict(loads(content))


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


class NullNotAllowed(ValueError):
    """Strict mode: a response field holds null where the spec does not allow it."""

    def __init__(self, model: str, field: str):
        self.model = model
        self.field = field
        super().__init__(f"{model}.{field} is null, and the spec does not allow null there")


def refuse_nulls(model: str, src: Mapping[str, Any], not_nullable: frozenset[str]) -> None:
    """Raise :class:`NullNotAllowed` for the first field of ``not_nullable`` that is null in ``src``."""
    for key, value in src.items():
        if value is None and key in not_nullable:
            raise NullNotAllowed(model, key)


@contextlib.contextmanager
def strict() -> Iterator[None]:
    """Enforce the spec's nulls inside the block (this context and the tasks it starts)."""
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
    global loads  # noqa: PLW0603 (the one process-wide setting of this module)
    loads = decoder if decoder is not None else (json.loads if _orjson is None else _orjson.loads)


__all__ = ["NullNotAllowed", "UnknownFields", "gc_pause", "loads", "parse", "refuse_nulls", "set_gc_pause", "set_json_decoder", "strict", "strict_in_use", "strict_nulls"]
