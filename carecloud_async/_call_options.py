"""Per-call options: timeout, extra headers, ``Accept-Language`` and retries for some calls only.

The shared ``httpx.AsyncClient`` is never changed (the generated client's own ``with_headers`` /
``with_timeout`` would change it for every call at once). Instead :meth:`CareCloud.with_options`
returns a view of the client, sharing its pool and token, whose calls run with a
:class:`CallOptions` in a ``ContextVar``: task-local, so calls of different views running
concurrently never see each other's options. The client's request hook applies them to each
request it sends (:func:`apply_call_options`), and :class:`~carecloud_async.RetryTransport` reads
the retry policy from the request's extensions.

    fast = cc.with_options(timeout=5, max_attempts=1)
    page = await fast.call(get_customers.call, count=10)
    czech = cc.with_options(language="cs", extra_headers={"X-Correlation-Id": "abc"})
    async for reward in czech.paginate(get_rewards):
        ...

To add an option: a field here (None meaning "the client's"), a line in :meth:`CallOptions.merged`
and where it takes effect in :func:`apply_call_options` (or read :func:`current_call_options`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass

import httpx

from ._errors import ConfigurationError
from ._identity import BYPASS_EXTENSION
from ._retry import RETRY_POLICY_EXTENSION, RetryPolicy

__all__ = [
    "CallOptions",
    "apply_call_options",
    "current_call_options",
    "enter_call_options",
    "leave_call_options",
    "using_call_options",
]

# Set by auth, not by a caller; Host and Content-Length belong to httpx.
_REFUSED_HEADERS = frozenset({"authorization", "host", "content-length", "transfer-encoding"})


@dataclass(frozen=True, init=False)
class CallOptions:
    """Options for the calls of one view of a client; None (or empty) means "as the client says".

    ``timeout`` (seconds, or an ``httpx.Timeout``), ``extra_headers`` (added to every request of
    the call, the flow's own login or token requests included), ``language`` (the
    ``Accept-Language`` sent unless the call passes ``accept_language`` itself), ``retry`` (a
    whole :class:`RetryPolicy`), ``max_attempts`` (on top of ``retry`` or the client's policy) and
    ``cache`` (False: the call skips the HTTP cache and in-flight dedupe, always asking the server).

    >>> CallOptions(timeout=5).merged(CallOptions(language="cs")).language
    'cs'
    >>> CallOptions(extra_headers={"X-A": "1"}).merged(CallOptions(extra_headers={"X-B": "2"})).extra_headers
    (('X-A', '1'), ('X-B', '2'))
    """

    timeout: httpx.Timeout | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    language: str | None = None
    retry: RetryPolicy | None = None
    max_attempts: int | None = None
    cache: bool | None = None

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float | None = None,
        extra_headers: Mapping[str, str] | tuple[tuple[str, str], ...] = (),
        language: str | None = None,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        cache: bool | None = None,
    ) -> None:
        pairs = tuple(extra_headers.items()) if isinstance(extra_headers, Mapping) else tuple(extra_headers)
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str) or not name:
                raise ConfigurationError("extra_headers must map header names to string values")
            if name.lower() in _REFUSED_HEADERS:
                raise ConfigurationError(f"extra_headers cannot set {name}: it belongs to the client's auth or httpx")
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
                raise ConfigurationError(
                    f"timeout must be a number of seconds > 0 or an httpx.Timeout, got {timeout!r}"
                )
            timeout = httpx.Timeout(float(timeout))
        if language is not None and (not isinstance(language, str) or not language):
            raise ConfigurationError(f"language must be a non-empty string such as 'cs', got {language!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a carecloud_async.RetryPolicy, got {type(retry).__name__}")
        if max_attempts is not None:
            RetryPolicy(max_attempts=max_attempts)  # the same checks, the same message
        if cache is not None and not isinstance(cache, bool):
            raise ConfigurationError(f"cache must be True or False, got {cache!r}")
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "extra_headers", pairs)
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "retry", retry)
        object.__setattr__(self, "max_attempts", max_attempts)
        object.__setattr__(self, "cache", cache)

    def merged(self, later: CallOptions) -> CallOptions:
        """These options with ``later``'s on top (a view of a view); headers are added up."""
        return CallOptions(
            timeout=later.timeout if later.timeout is not None else self.timeout,
            extra_headers=self.extra_headers + later.extra_headers,
            language=later.language if later.language is not None else self.language,
            retry=later.retry if later.retry is not None else self.retry,
            max_attempts=later.max_attempts if later.max_attempts is not None else self.max_attempts,
            cache=later.cache if later.cache is not None else self.cache,
        )

    def retry_policy(self, default: RetryPolicy) -> RetryPolicy | None:
        """The retry policy these options ask for instead of ``default``, or None for ``default``.

        >>> CallOptions(max_attempts=1).retry_policy(RetryPolicy()).max_attempts
        1
        """
        if self.retry is None and self.max_attempts is None:
            return None
        # Asked for every request a view sends: built once per client policy (a RetryPolicy
        # checks all its fields when made). Not a field, so neither == nor repr sees it.
        known = self.__dict__.get("_policy_for")
        if known is not None and known[0] is default:
            policy: RetryPolicy = known[1]
            return policy
        policy = self.retry if self.retry is not None else default
        if self.max_attempts is not None and self.max_attempts != policy.max_attempts:
            policy = dataclasses.replace(policy, max_attempts=self.max_attempts)
        object.__setattr__(self, "_policy_for", (default, policy))
        return policy

    def __bool__(self) -> bool:
        return self != CallOptions()

    def __repr__(self) -> str:
        # Header values may be credentials of another system: names only.
        given = {
            "timeout": self.timeout,
            "extra_headers": [name for name, _ in self.extra_headers] or None,
            "language": self.language,
            "retry": self.retry,
            "max_attempts": self.max_attempts,
            "cache": self.cache,
        }
        return "CallOptions(" + ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None) + ")"


_current: ContextVar[CallOptions | None] = ContextVar("carecloud_async_call_options", default=None)


def current_call_options() -> CallOptions | None:
    """The options of the call running in this task, if it runs through a view with options."""
    return _current.get()


@contextlib.contextmanager
def using_call_options(options: CallOptions) -> Iterator[None]:
    """Run the block's calls with ``options`` (in this task and the tasks it starts)."""
    token = enter_call_options(options if options else None)
    try:
        yield
    finally:
        leave_call_options(token)


def enter_call_options(options: CallOptions | None) -> Token[CallOptions | None] | None:
    """:func:`using_call_options` for a hot path, without a context manager: set ``options``
    (None: no options) until :func:`leave_call_options` with what this returns. Returns None,
    touching nothing, when there are no options to set and none are set."""
    if options is None and _current.get() is None:
        return None
    return _current.set(options)


def leave_call_options(token: Token[CallOptions | None] | None) -> None:
    """Undo :func:`enter_call_options`."""
    if token is not None:
        _current.reset(token)


def apply_call_options(request: httpx.Request, *, default_language: str, default_retry: RetryPolicy) -> None:
    """Put the running call's options on ``request`` (a request hook of the client's httpx client).

    Runs for every request the call sends, the auth flow's own included, before the transport.
    """
    options = _current.get()
    if options is None:
        return
    if options.timeout is not None:
        request.extensions["timeout"] = options.timeout.as_dict()
    for name, value in options.extra_headers:
        request.headers[name] = value
    # An accept_language argument of the call itself wins over the view's language.
    if options.language is not None and request.headers.get("accept-language", default_language) == default_language:
        request.headers["Accept-Language"] = options.language
    policy = options.retry_policy(default_retry)
    if policy is not None:
        request.extensions[RETRY_POLICY_EXTENSION] = policy
    if options.cache is False:
        request.extensions[BYPASS_EXTENSION] = False
