"""``carecloud call``: any operation by name, with text arguments, its answer as JSON.

    async with CareCloud.from_env() as cc:
        answer = await call_operation(cc, "GET /customers", ["email=jane@example.com", "count=5"])
        print(render_json(answer, pretty=True))

The arguments are checked and converted before the client is asked to send anything
(:func:`~carecloud_async.cli._operations.parse_arguments`); the call itself is
``CareCloud.call``, so retries, the token lifecycle and the typed errors are the library's.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._operations import check_interface
from ._operations import function_of, parse_arguments, with_path_arguments

if TYPE_CHECKING:
    from .. import CareCloud


def prepare_call(
    name: str, assignments: Iterable[str], body: str | None = None, *, interface: str | None = None
) -> tuple[Any, list[Any], dict[str, Any]]:
    """(the generated ``call`` function, args, kwargs) for an operation named as in
    :func:`find_operation`, with every argument checked; nothing is sent.

    A concrete path supplies its path parameters: ``GET /customers/84b5e5`` is ``getCustomer``
    with ``customer_id=84b5e5``. With ``interface`` (``"enterprise"`` or ``"customer"``), an
    operation the other API alone serves is refused first, before its arguments are read.

    >>> function, args, kwargs = prepare_call("GET /customers/84b5e5", ["customer_short_salutation=true"])
    >>> function.__module__, args, kwargs
    ('carecloud_api.api.customers.get_customer', ['84b5e5'], {'customer_short_salutation': True})
    >>> prepare_call("postCard", [], "{}", interface="customer")
    Traceback (most recent call last):
    ...
    carecloud_async._errors.RequestValidationError: POST /cards is available only in the Enterprise API; ...
    """
    operation, given = with_path_arguments(name, assignments)
    if interface is not None:
        check_interface(interface, operation)
    arguments = parse_arguments(operation, given, body)
    return function_of(operation), arguments.args, arguments.kwargs


async def call_operation(cc: CareCloud, name: str, assignments: Iterable[str] = (), body: str | None = None) -> Any:
    """Call the named operation with text arguments; return its answer as plain JSON data
    (dicts and lists; None for a 204). Errors are the library's typed exceptions."""
    function, args, kwargs = prepare_call(name, assignments, body, interface=cc.config.interface)
    result = await cc.call(function, *args, **kwargs)
    return to_plain(result)


def to_plain(value: Any) -> Any:
    """A generated model (or a list of them, an enum) as plain JSON data.

    >>> from carecloud_api.models import SortDirection
    >>> to_plain([SortDirection.ASC, {"a": 1}])
    ['ASC', {'a': 1}]
    """
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    return value


def render_json(data: Any, *, pretty: bool) -> str:
    """JSON text: indented for a terminal, one compact line for a pipe.

    >>> render_json({"a": [1, 2]}, pretty=False)
    '{"a":[1,2]}'
    """
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
