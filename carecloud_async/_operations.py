"""Generated operations: which one a target is, and the call path that runs it with our errors.

One floor below the client and the paginator, so both use it without importing each other:
``_client`` (``CareCloud``) and ``_pagination`` (``Paginator``) import this module, never the other
way round. A paginator needs only what :class:`OperationSender` describes, which ``CareCloud``
(and a view of it with other per-call options) provides.

    from carecloud_api.api.customers import get_customers

    module, entry = operation_of(get_customers.call)   # the module and its catalog entry
    function, entry = call_target(get_customers)        # the same, cached: the call to run
    check_interface("enterprise", entry)               # RequestValidationError if not served there
    page = await send_operation(api_client, get_customers.call, count=10)
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from carecloud_api.errors import ErrorStatus, UnparseableResponse
from carecloud_api.parsing import ResponseParseError as ParseError

from ._errors import (
    NetworkError,
    RequestTimeout,
    RequestValidationError,
    ResponseParseError,
    error_from_response,
    redact_url,
)
from ._network import describe_network_error

_argument_checks: ModuleType | None = None


def _checks() -> ModuleType:
    """carecloud_async._arguments, imported by the first call (1.4 ms that an import need not pay)."""
    global _argument_checks  # noqa: PLW0603 (bound once, as a lazy import)
    if _argument_checks is None:
        from . import _arguments

        _argument_checks = _arguments
    return _argument_checks


if TYPE_CHECKING:
    from carecloud_api import Client
    from carecloud_api._catalog import Operation

__all__ = [
    "OperationSender",
    "bind_arguments",
    "bind_page_arguments",
    "call_target",
    "check_interface",
    "network_errors",
    "operation_at",
    "operation_of",
    "send_operation",
]


@functools.cache
def _operations_by_route() -> dict[tuple[str, str], Operation]:
    from carecloud_api._catalog import OPERATIONS

    return {(op.method, op.path): op for op in OPERATIONS}


def operation_at(method: str, path: str) -> Operation | None:
    """The catalog entry of ``method`` (upper case) on the spec path ``path``, or None."""
    return _operations_by_route().get((method, path))


def operation_of(target: ModuleType | Callable[..., Any]) -> tuple[ModuleType, Operation]:
    """The generated endpoint module behind ``target`` and its catalog entry."""
    module = target if isinstance(target, ModuleType) else sys.modules.get(getattr(target, "__module__", ""))
    method, path = getattr(module, "METHOD", None), getattr(module, "PATH", None)
    if module is None or not isinstance(method, str) or not isinstance(path, str):
        raise RequestValidationError(
            f"{target!r} is not a generated CareCloud operation; pass an endpoint module such as "
            "carecloud_api.api.customers.get_customers or its .call function"
        )
    _checks().check_operation_function(target, module)  # .asyncio, .sync ... are refused with what to pass
    return module, _operations_by_route()[(method, path)]


# Targets operation_of accepted -> (the call to run, the catalog entry). Only generated modules and
# their functions get in, so it stays small; the bound is for a caller that makes new ones.
_call_targets: dict[Any, tuple[Callable[..., Awaitable[Any]], Operation]] = {}
_MAX_CALL_TARGETS = 4096


def call_target(target: ModuleType | Callable[..., Any]) -> tuple[Callable[..., Awaitable[Any]], Operation]:
    """The generated function to run for ``target`` (its ``call`` for a module) and its catalog
    entry: :func:`operation_of` once per target, then a dictionary lookup."""
    try:
        found = _call_targets.get(target)
    except TypeError:  # unhashable: operation_of says what is wrong with it
        found = None
    if found is None:
        module, entry = operation_of(target)
        found = (module.call if isinstance(target, ModuleType) else target, entry)
        if len(_call_targets) < _MAX_CALL_TARGETS:
            with contextlib.suppress(TypeError):
                _call_targets[target] = found
    return found


def check_interface(interface: str, operation: Operation) -> None:
    """Refuse, before sending, an operation that the API ``interface`` does not serve."""
    if interface not in operation.interfaces:
        only = " and ".join(f"{name.capitalize()} API" for name in operation.interfaces)
        raise RequestValidationError(
            f"{operation.method} {operation.path} is available only in the {only}; "
            f"this client uses the {interface.capitalize()} API"
        )


def bind_arguments(operation: Operation, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """Refuse, before sending, arguments that ``function`` (a generated ``call``) does not take or
    that do not fit its annotations (see :mod:`._arguments`)."""
    _checks().check_arguments(function, f"{operation.method} {operation.path}", args, kwargs)


def bind_page_arguments(
    operation: Operation, function: Callable[..., Any], kwargs: Mapping[str, Any], set_by_paginator: Collection[str]
) -> None:
    """:func:`bind_arguments` for the requests of a paginator: the parameters it sets itself
    (``count``, ``offset``) are not offered to a misspelt filter."""
    _checks().check_arguments(function, f"{operation.method} {operation.path}", (), kwargs, hidden=set_by_paginator)


async def send_operation(
    api_client: Client, function: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any
) -> Any:
    """Run a generated ``call`` function on ``api_client``, mapping failures to carecloud_async errors."""
    try:
        return await function(api_client, *args, **kwargs)
    # network_errors(), written out: a generator context manager per call costs more than these.
    except httpx.TimeoutException as exc:
        raise RequestTimeout(describe_network_error(exc)) from exc
    except httpx.TransportError as exc:
        raise NetworkError(describe_network_error(exc)) from exc
    except ErrorStatus as exc:
        raise error_from_response(exc.response) from None
    except UnparseableResponse as exc:
        request = exc.response.request
        # The parse error names the model, the field path and the value's type, never a value.
        problem = exc.message if isinstance(exc.error, ParseError) else type(exc.error).__name__
        raise ResponseParseError(
            f"{exc.response.status_code} answer to {request.method} {redact_url(request.url)} does not fit "
            f"{getattr(function, '__module__', 'the model')}: {problem}",
            status_code=exc.response.status_code,
            method=request.method,
            url=redact_url(request.url),
            response=exc.response,
            parse_error=exc,
        ) from exc.error


class OperationSender(Protocol):
    """What the paginator needs of a client: ``CareCloud`` and its option views provide it."""

    @property
    def api_client(self) -> Client:
        """The generated ``Client`` the operations run on."""
        ...

    def check_operation(self, operation: Operation) -> None:
        """Refuse, before sending, an operation this client's API does not serve."""
        ...

    async def send_call(self, function: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Run a generated ``call`` function with this client's options."""
        ...


@contextlib.contextmanager
def network_errors() -> Iterator[None]:
    """httpx's transport failures (after the retries) as carecloud_async errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RequestTimeout(describe_network_error(exc)) from exc
    except httpx.TransportError as exc:
        raise NetworkError(describe_network_error(exc)) from exc
