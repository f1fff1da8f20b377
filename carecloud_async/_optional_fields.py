"""Reading a field the spec marks optional as the value it holds: :func:`present`.

Most fields of the generated models are optional in the spec (the ``data`` of every success
answer, ``Customer.customer_id``), so they are typed ``X | Unset``: ``UNSET`` when the answer left
the field out. ``present`` gives the value typed as ``X`` for mypy, and raises
:class:`NotPresent` naming the field when there is none, where an attribute access on ``UNSET``
would raise a bare ``AttributeError`` a few lines later.
"""

from __future__ import annotations

from typing import TypeVar

from carecloud_api.types import Unset

from ._errors import NotPresent

__all__ = ["present"]

T = TypeVar("T")


def present(value: T | Unset | None, field: str) -> T:
    """``value``, typed without ``Unset`` and ``None``; :class:`NotPresent` naming ``field``
    when it is ``UNSET`` (the answer left the field out) or ``None`` (the answer sent null).

        customer = present((await cc.customers.get(customer_id)).data, "data")   # a Customer
        await cc.customers.cards.list(present(customer.customer_id, "customer_id"))

    ``field`` is only used in the error's message (say which field of which answer). To handle
    an absent field instead of raising, narrow it yourself: ``isinstance(value, Unset)``, with
    ``Unset`` from ``carecloud_api.types``.
    """
    if value is None or isinstance(value, Unset):
        raise NotPresent(field, null=value is None)
    return value
