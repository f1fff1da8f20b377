"""The annotations of generated code, resolved (for the argument checks, the paginator's item
types and the command line's parameters and export columns).

A generated model's module binds the models it refers to only when it first parses (they are
imported lazily), so its string annotations are resolved with the lazy ``carecloud_api.models``
package as a fallback namespace.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

__all__ = ["type_hints"]


class _LazyModels(dict[str, Any]):
    """Names for a generated module's string annotations: the lazy ``carecloud_api.models``
    package has every model, while a model's own module binds them only when it first parses."""

    def __missing__(self, name: str) -> Any:
        import carecloud_api.models

        try:
            return getattr(carecloud_api.models, name)
        except AttributeError:
            raise KeyError(name) from None


def type_hints(owner: Any) -> dict[str, Any]:
    """``typing.get_type_hints(owner)`` for a generated model class or function.

    >>> from carecloud_api.models.customer import Customer
    >>> type_hints(Customer)["personal_information"].__name__
    'PersonalInformation'
    """
    module = importlib.import_module(owner.__module__)
    return typing.get_type_hints(owner, globalns=vars(module), localns=_LazyModels())
