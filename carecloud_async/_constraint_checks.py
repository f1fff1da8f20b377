"""The spec's bounds on request values, checked before sending: minimum and maximum, string
lengths, patterns and item counts.

``count=0`` has the right type, so the type checks of :mod:`._arguments` let it through, and the
server answers with an error that does not say which bound was broken. The spec states the bounds
(``count``: ``minimum: 1``; a customer's ``phone``: ``pattern: ^[1-9][0-9]*$``; batch bodies:
``maxItems: 1000``), and the generation pipeline writes them into a small table,
``carecloud_api._constraints`` (``scripts/request_constraints.py``), which this module reads on the
first checked call of a process. :func:`constraint_problem` says which bound a call's arguments
break, in the words :class:`~carecloud_async.RequestValidationError` uses:

>>> from carecloud_api.api.customers import get_customers
>>> constraint_problem(get_customers.call, {"count": 0})
'count must be at least 1, got 0'

A string that does not match a pattern is not quoted (a phone number or an e-mail address is
personal data); numbers, lengths and item counts are.

:func:`value_problem` is the one check of the keywords against a value: the shipped fake
(:mod:`carecloud_async.testing._schema`) applies the spec's bounds with it too, so the client and
the fake cannot differ on a keyword, nor in how a pattern is matched (:func:`python_pattern`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from carecloud_api.types import Unset

if TYPE_CHECKING:
    from typing import Protocol

    from carecloud_api._constraints import Constraint

    class Bounds(Protocol):
        """The keywords :func:`value_problem` applies (``carecloud_api._constraints.Constraint``
        has them; the fake makes one of a schema's keywords)."""

        @property
        def minimum(self) -> float | None: ...
        @property
        def maximum(self) -> float | None: ...
        @property
        def min_length(self) -> int | None: ...
        @property
        def max_length(self) -> int | None: ...
        @property
        def pattern(self) -> str | None: ...
        @property
        def ignore_case(self) -> bool: ...
        @property
        def min_items(self) -> int | None: ...
        @property
        def max_items(self) -> int | None: ...


__all__ = ["constraint_problem", "python_pattern", "value_problem"]


@functools.cache
def _by_parameter(function: Callable[..., Any]) -> tuple[tuple[str, tuple[Constraint, ...], bool], ...]:
    """(parameter, its constraints, whether they all bound the value itself) of a generated
    ``call`` function, resolved once; empty for the operations without bounds."""
    from carecloud_api._constraints import CONSTRAINTS  # on the first check: not on import

    grouped: dict[str, list[Constraint]] = {}
    for constraint in CONSTRAINTS.get(getattr(function, "__module__", ""), ()):
        grouped.setdefault(constraint.path[0], []).append(constraint)
    return tuple(
        (name, tuple(constraints), all(len(c.path) == 1 for c in constraints)) for name, constraints in grouped.items()
    )


def python_pattern(pattern: str) -> str:
    r"""A pattern of the spec (ECMA-262, JSON Schema's flavour) as Python's ``re`` must read it to
    match the same strings: ``$`` outside a character class becomes ``\Z``.

    Without the multiline flag, ECMA-262's ``$`` matches at the end of the text only (Prism and
    the server refuse ``"420\n"`` for ``^[1-9][0-9]*$``); Python's also matches before a final
    newline. ``\Z`` is Python's end of the text. An escaped ``\$`` and a ``$`` in ``[...]`` are
    characters, and stay.

    >>> python_pattern("^[1-9][0-9]*$"), python_pattern(r"^[$]\$(a$|b)$")
    ('^[1-9][0-9]*\\Z', '^[$]\\$(a\\Z|b)\\Z')
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return "".join(out)


@functools.cache
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # re.ASCII: ECMA-262's /i without the u flag folds ASCII letters only (Python's folds U+017F to
    # 's' and the Kelvin sign to 'k'), and its \d and \w are ASCII.
    return re.compile(python_pattern(pattern), re.ASCII | (re.IGNORECASE if ignore_case else 0))


def constraint_problem(function: Callable[..., Any], arguments: Mapping[str, Any]) -> str | None:
    """The first bound of the spec that ``arguments`` (for the generated ``function``) break, or None.

    The arguments have passed the type checks. Unset and None values are not checked (nothing or
    null is sent); nor is anything inside a value of another type than the path expects.
    """
    for name, constraints, direct in _by_parameter(function):
        value = arguments.get(name)
        if value is None or value.__class__ is Unset:
            continue
        for constraint in constraints:
            if direct:  # count, offset, a list filter: the usual case, without walking a path
                problem = value_problem(constraint, value)
                if problem:
                    return f"{name} {problem}"
            else:
                problem = _problem_at(constraint, value, 1, ())
                if problem:
                    return problem
    return None


def _problem_at(constraint: Constraint, value: Any, depth: int, indexes: tuple[int, ...]) -> str | None:
    path = constraint.path
    while depth < len(path):
        if path[depth] == "[]":
            if not isinstance(value, (list, tuple)):
                return None
            # The field after the list is read here, so the items without it (the usual case: a
            # 1,000-product batch without property records) cost no call each.
            after = depth + 1
            field = path[after] if after < len(path) and path[after] != "[]" else None
            inside = after + 1 if field is not None else after
            for index, item in enumerate(value):
                if field is not None:
                    item = getattr(item, field, None)  # noqa: PLW2901 (the item's field is what is checked)
                if item is None or item.__class__ is Unset:
                    continue
                problem = _problem_at(constraint, item, inside, (*indexes, index))
                if problem:
                    return problem
            return None
        value = getattr(value, path[depth], None)
        if value is None or isinstance(value, Unset):
            return None
        depth += 1
    problem = value_problem(constraint, value)
    return None if problem is None else f"{_where(path, indexes)} {problem}"


def _where(path: tuple[str, ...], indexes: tuple[int, ...]) -> str:
    """``body.cards[3].customer_id`` from the path and the list indexes taken on the way."""
    where = path[0]
    taken = iter(indexes)
    for segment in path[1:]:
        where += f"[{next(taken)}]" if segment == "[]" else f".{segment}"
    return where


def _bounds(low: float | None, high: float | None, unit: str) -> str:
    """``1 to 100 characters``, ``at least 1 item``: the unit is plural unless the last number is 1."""
    last = high if high is not None else low
    unit = unit if last != 1 else unit.removesuffix("s")
    if low is not None and high is not None:
        return f"{low} to {high}{unit}"
    return f"at least {low}{unit}" if low is not None else f"at most {high}{unit}"


def value_problem(constraint: Bounds, value: Any) -> str | None:
    """Why ``value`` breaks the keywords of ``constraint`` (only those of its kind apply), or None.

    The one implementation of the keywords for the client and the shipped fake:

    >>> from carecloud_api._constraints import Constraint
    >>> value_problem(Constraint(("ids",), min_items=1), [])
    'must have at least 1 item, got 0'
    >>> value_problem(Constraint(("phone",), pattern="^[0-9]+$"), "420\\n")
    'must match ^[0-9]+$; the value given does not (not shown: it may be personal data)'
    """
    kind = value.__class__
    if kind is bool:
        return None
    if kind is int or kind is float or isinstance(value, (int, float)):
        if constraint.minimum is not None and value < constraint.minimum:
            return f"must be at least {constraint.minimum}, got {value!r}"
        if constraint.maximum is not None and value > constraint.maximum:
            return f"must be at most {constraint.maximum}, got {value!r}"
        return None
    if isinstance(value, str):
        low, high = constraint.min_length, constraint.max_length
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return f"must be {_bounds(low, high, ' characters')}, got {len(value)}"
        # re.search, as JSON Schema applies a pattern (not anchored unless the pattern is), with
        # ECMA-262's ``$`` (python_pattern).
        if constraint.pattern is not None and not _compiled(constraint.pattern, constraint.ignore_case).search(value):
            case = " (ignoring case)" if constraint.ignore_case else ""
            return (
                f"must match {constraint.pattern}{case}; the value given does not (not shown: it may be personal data)"
            )
        return None
    if isinstance(value, (list, tuple)):
        low, high = constraint.min_items, constraint.max_items
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return f"must have {_bounds(low, high, ' items')}, got {len(value)}"
    return None
