"""The hand-written base of the generated resource tree (``carecloud_async/_resources/``).

Every generated method is a typed, documented shell around :meth:`Resource._call` (one request)
or :meth:`Resource._paginate` (a list walked page by page): both go through the client's
``call`` path, so the run-time argument checks, the API check, retries, errors and per-call
options are those of ``CareCloud.call``.

    async with CareCloud.enterprise(...) as cc:
        customer = present((await cc.customers.get("84b5e55448fbd6c0b22b4d")).data, "data")
        async for card in cc.customers.cards.list(present(customer.customer_id, "customer_id")):
            ...
        fast = await cc.customers.get(customer_id, timeout=5, max_attempts=1)   # per-call options

The tree is per API (``EnterpriseCareCloud``, ``CustomerCareCloud``): a method the client's API
does not serve is not there for a type checker, and at run time calling it raises
:class:`RequestValidationError` before anything is sent.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypedDict, TypeVar

import httpx
from carecloud_api.types import UNSET

from ._errors import RequestValidationError
from ._raw_responses import RawResponse, capturing_response

if TYPE_CHECKING:
    from ._pagination import Paginator
    from ._retry import RetryPolicy

__all__ = ["CallKeywords", "Resource", "ResourceRoot"]

P = ParamSpec("P")
R = TypeVar("R")


class CallKeywords(TypedDict, total=False):
    """Per-call options every method of the tree takes (see ``CareCloud.with_options``)."""

    #: Seconds (or an ``httpx.Timeout``) for this call's requests.
    timeout: httpx.Timeout | float
    #: Headers added to this call's requests (not ``Authorization``).
    extra_headers: Mapping[str, str]
    #: The ``Accept-Language`` sent (an ``accept_language`` argument wins).
    language: str
    #: A whole :class:`RetryPolicy` for this call.
    retry: RetryPolicy
    #: Attempts in all (1: no retries).
    max_attempts: int
    #: False: skip the HTTP cache and in-flight dedupe for this call.
    cache: bool


_OPTION_NAMES = frozenset(CallKeywords.__annotations__)
_plain_inputs_module: ModuleType | None = None


def _plain_inputs() -> ModuleType:
    """carecloud_async._plain_inputs, imported by the first call (not by importing the client)."""
    global _plain_inputs_module  # noqa: PLW0603 (bound once, as a lazy import)
    if _plain_inputs_module is None:
        from . import _plain_inputs as module

        _plain_inputs_module = module
    return _plain_inputs_module


def _options_apart(kwargs: dict[str, Any], options: CallKeywords) -> tuple[dict[str, Any], CallKeywords]:
    """A keyword that is no option (``emial=`` for ``email=``, from an untyped caller) goes to the
    operation, whose argument check names it and suggests the closest parameter."""
    if options.keys() <= _OPTION_NAMES:
        return kwargs, options
    stray = {name: value for name, value in options.items() if name not in _OPTION_NAMES}
    kept: Any = {name: value for name, value in options.items() if name in _OPTION_NAMES}
    return {**kwargs, **stray}, kept


# Generated endpoint module path -> its ``call`` function and route, imported on first use.
_functions: dict[str, tuple[Callable[..., Awaitable[Any]], str]] = {}


def _function(module: str) -> tuple[Callable[..., Awaitable[Any]], str]:
    found = _functions.get(module)
    if found is None:
        loaded = importlib.import_module(module)
        found = _functions[module] = (loaded.call, f"{loaded.METHOD} {loaded.PATH}")
    return found


class Resource:
    """One node of the tree (``cc.customers``, ``cc.customers.cards``): its methods send through
    the client it was reached from (a view made by ``with_options`` keeps its options)."""

    __slots__ = ("_client",)
    #: Method names the client's API does not serve -> why (filled in by the generated classes).
    _refused: ClassVar[dict[str, str]] = {}

    def __init__(self, client: Any) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    if not TYPE_CHECKING:  # a type checker must see no __getattr__: the other API's names are errors

        def __getattr__(self, name: str) -> Any:
            why = type(self)._refused.get(name)
            if why is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return _refusal(why, self._client)

    async def _call(self, module: str, kwargs: dict[str, Any], options: CallKeywords) -> Any:
        # Every argument by keyword and the left-out ones dropped: the argument check's fast path.
        kwargs = {name: value for name, value in kwargs.items() if value is not UNSET}
        client = self._client
        if options:
            kwargs, options = _options_apart(kwargs, options)
            client = client.with_options(**options) if options else client
        function, route = _functions.get(module) or _function(module)
        return await client.call(function, **_plain_inputs().accept_plain_inputs(function, route, kwargs))

    def _paginate(
        self, module: str, kwargs: dict[str, Any], options: CallKeywords, /, **pagination: Any
    ) -> Paginator[Any]:
        from ._pagination import Paginator

        kwargs = {name: value for name, value in kwargs.items() if value is not UNSET}
        client = self._client
        if options:
            kwargs, options = _options_apart(kwargs, options)
            client = client.with_options(**options) if options else client
        function, route = _functions.get(module) or _function(module)
        return Paginator(client, function, **pagination, **_plain_inputs().accept_plain_inputs(function, route, kwargs))


def _refusal(why: str, client: Any) -> Callable[..., Any]:
    interface = getattr(getattr(client, "config", None), "interface", "other")

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise RequestValidationError(f"{why}; this client uses the {str(interface).capitalize()} API")

    return refused


class _RefusedGroup:
    """What an untyped caller gets for a resource the client's API does not have at all."""

    __slots__ = ("_why",)

    def __init__(self, why: str) -> None:
        self._why = why

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _RefusedGroup(self._why)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RequestValidationError(self._why)


class ResourceRoot:
    """The base of the generated ``EnterpriseResources`` / ``CustomerResources`` mixins."""

    __slots__ = ()
    #: Top-level resources of the other API only -> why (filled in by the generated classes).
    _refused_groups: ClassVar[dict[str, str]] = {}

    if not TYPE_CHECKING:  # as in Resource: invisible to type checkers

        def __getattr__(self, name: str) -> Any:
            why = type(self)._refused_groups.get(name)
            if why is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return _RefusedGroup(why)

    async def raw_response(
        self, method: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[R]:
        """Call a method of the tree and return its model with the HTTP answer (status, headers).

            raw = await cc.raw_response(cc.customers.get, customer_id)
            raw.status_code, raw.request_id, raw.max_age     # 200, 'b7...', 60
            customer = raw.parsed.data                       # typed as cc.customers.get returns

        For a list, ``(await cc.customers.list().first_page()).response`` is the first page's model.
        """
        with capturing_response() as slot:
            parsed = await method(*args, **kwargs)
        if slot.response is None:  # pragma: no cover - the client's response hook sees every answer
            raise RequestValidationError("the call's HTTP response was not seen by the client's response hook")
        return RawResponse(parsed, slot.response)
