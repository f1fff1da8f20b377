"""HTTP caching of GET answers, per identity, following the response's ``Cache-Control``.

CareCloud says any endpoint may answer with ``Cache-Control: max-age``. :class:`CacheTransport`
sits below auth and above retries (``auth → cache → retries → network``) and hands the RFC 9111
decisions (freshness from ``max-age``, ``no-store``, ``no-cache`` revalidation, ``private``,
``Vary``) to hishel. What it adds:

- Only an explicit ``Cache-Control: max-age`` above 0 stores an answer, for that long at most: no
  heuristic freshness (``Last-Modified``), nothing stored for an answer without ``Cache-Control``
  (:func:`storable_for`).
- The cache key holds the identity the request is sent as (the Enterprise user; the Customer
  device token, hashed, the logged-in customer and the session number), ``Accept-Language`` and
  the URL. One customer is never served another's data; the vendor's PHP SDK keys on method and
  URI only. The identity is asked again when the answer arrives: an answer whose request
  straddled a login, logout or token replacement is given to its caller and stored for nobody.
- The stored request never holds the ``Authorization`` header, and GETs of token-bearing paths
  and authentication answers are never cached (:func:`never_cached`): no token is written to the
  cache storage, and keys hold hashes only.
- A successful POST/PUT/PATCH/DELETE invalidates every cached GET of the same resource (the first
  path segment after the API base path, e.g. ``customers`` for ``/customers/123/actions/...``),
  for every identity and language: each resource has a generation number that is part of the key,
  and a write increments it.
- Per-call opt-out: the calls of ``cc.with_options(cache=False)``, requests inside
  ``with bypass_cache():`` and requests with the extension ``{"carecloud_cache": False}`` go
  straight to the network.

    cache = HTTPCache()                       # in memory; RedisState.http_cache() shares it
    async with CareCloud.enterprise(..., cache=cache) as cc:
        stores = await cc.stores.list().collect()               # from the server
        stores = await cc.stores.list().collect()               # from the cache while max-age lasts
        fresh = await cc.stores.list(cache=False).collect()     # from the server

This module needs the ``cache`` extra (``pip install 'carecloud-async[cache]'``: hishel).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Protocol, runtime_checkable

import httpx

from ._errors import ConfigurationError
from ._identity import IdentityOf, bypass_cache, bypassed, resource_scope

try:
    import hishel
    from hishel.httpx import AsyncCacheTransport as _HishelTransport
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "HTTP caching needs hishel: pip install 'carecloud-async[cache]' (or [redis] for shared state)"
    ) from exc

__all__ = [
    "CACHEABLE_METHODS",
    "WRITE_METHODS",
    "CacheGenerations",
    "CacheTransport",
    "HTTPCache",
    "MemoryCacheGenerations",
    "MemoryCacheStorage",
    "bypass_cache",
    "cache_key",
    "from_cache",
    "never_cached",
    "resource_scope",
    "storable_for",
]

#: Methods whose answers are cached (HEAD is not used by the CareCloud API).
CACHEABLE_METHODS: frozenset[str] = frozenset({"GET"})
#: Methods whose success invalidates the cached GETs of the resource they wrote to.
WRITE_METHODS: frozenset[str] = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Carries the Authorization header past hishel, which stores request headers with each entry.
_AUTHORIZATION_EXTENSION = "carecloud_authorization"

# Path segments that mark a token-bearing path (/tokens/{token_id}/...) or an authentication
# answer (auth-token, login, logout, password setup): never cached.
_AUTHENTICATION_WORDS = ("token", "login", "logout", "password")


# --------------------------------------------------------------------------- pure decisions


def never_cached(url: httpx.URL) -> bool:
    """Whether a GET of ``url`` is never cached: a path that names the device token
    (``/tokens/{token_id}/...``) or answers with credentials (``.../actions/auth-token``,
    logins): neither may reach cache storage, in memory or on Redis.

    >>> never_cached(httpx.URL("https://p.example/webservice/rest-api/customer-interface/v1.0/tokens/t1/actions/auth-token"))
    True
    >>> never_cached(httpx.URL("https://p.example/webservice/rest-api/customer-interface/v1.0/stores"))
    False
    """
    segments = url.path.lower().split("/")
    return any(word in segment for segment in segments for word in _AUTHENTICATION_WORDS)


def storable_for(cache_control: list[str] | None) -> float | None:
    """How long an answer with these ``Cache-Control`` values may be kept and served: its
    ``max-age`` when that is above 0 and ``no-store`` is absent, else None (not stored at all).

    Only an explicit ``max-age`` counts: no heuristic freshness (``Last-Modified``), no
    ``Expires`` alone, nothing for an answer without ``Cache-Control``.

    >>> storable_for(["private, max-age=60"])
    60.0
    >>> storable_for(["max-age=60, no-store"]) is None
    True
    >>> storable_for(None) is None
    True
    >>> storable_for(["max-age=0"]) is None
    True
    """
    max_age: float | None = None
    for value in cache_control or ():
        for directive in value.split(","):
            name, _, argument = directive.strip().partition("=")
            name = name.strip().lower()
            if name == "no-store":
                return None
            if name == "max-age":
                try:
                    seconds = int(argument.strip().strip('"'))
                except ValueError:
                    return None  # malformed: treat as stale (RFC 9111 section 4.2.1)
                max_age = float(seconds) if max_age is None else min(max_age, float(seconds))
    return max_age if max_age is not None and max_age > 0 else None


def cache_key(*, identity: str, language: str, generation: int, method: str, url: httpx.URL) -> str:
    """The storage key of a cacheable request: a sha256 of identity, language, resource
    generation, method and full URL (query included). ``identity`` is already a hash.

    >>> url = httpx.URL("https://p.example/webservice/rest-api/customer-interface/v1.0/stores")
    >>> a = cache_key(identity="id-a", language="en", generation=0, method="GET", url=url)
    >>> a == cache_key(identity="id-b", language="en", generation=0, method="GET", url=url)
    False
    >>> a == cache_key(identity="id-a", language="cs", generation=0, method="GET", url=url)
    False
    """
    text = "\n".join((identity, language.strip().lower(), str(generation), method.upper(), str(url)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- generations


@runtime_checkable
class CacheGenerations(Protocol):
    """A counter per resource scope, part of every cache key: incrementing it invalidates.

    In memory for one process (:class:`MemoryCacheGenerations`), on Redis for several.
    """

    async def get(self, scope: str) -> int:
        """The current generation of ``scope`` (0 if never written)."""
        ...

    async def bump(self, scope: str) -> None:
        """Invalidate every cached answer of ``scope``."""
        ...


class MemoryCacheGenerations:
    """Generations of one process.

    >>> import asyncio
    >>> generations = MemoryCacheGenerations()
    >>> asyncio.run(generations.bump("p.example/customers"))
    >>> asyncio.run(generations.get("p.example/customers"))
    1
    """

    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    async def get(self, scope: str) -> int:
        """The current generation of ``scope``."""
        return self._values.get(scope, 0)

    async def bump(self, scope: str) -> None:
        """Increment the generation of ``scope``."""
        self._values[scope] = self._values.get(scope, 0) + 1


# --------------------------------------------------------------------------- in-memory storage


@dataclass
class _Stored:
    request: hishel.Request
    status_code: int
    headers: hishel.Headers
    body: bytes
    expires_at: float | None
    key: str


class MemoryCacheStorage(hishel.AsyncBaseStorage):
    """A hishel storage in this process's memory, bounded to ``max_entries`` (least recently
    used out first) and ``max_stream_size`` bytes per body (larger answers are not stored).

    Entries also expire after ``default_ttl`` seconds whatever ``max-age`` said (stale entries
    are revalidated by hishel before that anyway).

        cache = HTTPCache(MemoryCacheStorage(max_entries=5_000))
    """

    def __init__(
        self,
        *,
        max_entries: int = 1000,
        default_ttl: float | None = 3600,
        max_stream_size: int | None = 10 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        super().__init__(default_ttl=default_ttl, max_stream_size=max_stream_size)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, _Stored] = OrderedDict()
        self._by_key: dict[str, list[uuid.UUID]] = {}

    @property
    def entry_count(self) -> int:
        """How many complete entries are held (expired ones included until looked up)."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"MemoryCacheStorage(<{len(self._entries)} entries>, max_entries={self._max_entries})"

    async def create_entry(
        self,
        request: hishel.Request,
        response: hishel.Response,
        key: str,
        *,
        ttl: float | None = None,
        tti: float | None = None,
    ) -> hishel.Entry:
        """Return the entry with a stream that stores the body once it has been read whole."""
        entry_id = uuid.uuid4()
        ttl_deadline, _ = self._limits(ttl, None, self._clock())
        source = response.stream

        async def saving() -> AsyncIterator[bytes]:
            chunks: list[bytes] = []
            size, keep = 0, True
            if isinstance(source, AsyncIterator):
                async for chunk in source:
                    size += len(chunk)
                    if self.max_stream_size is not None and size > self.max_stream_size:
                        keep, chunks = False, []
                    if keep:
                        chunks.append(chunk)
                    yield chunk
            elif source is not None:  # pragma: no cover - hishel's async transport streams async
                for chunk in source:
                    chunks.append(chunk)
                    yield chunk
            if keep:
                self._publish(
                    entry_id,
                    _Stored(request, response.status_code, response.headers, b"".join(chunks), ttl_deadline, key),
                )

        return hishel.Entry(id=entry_id, request=request, response=replace(response, stream=saving()))

    def _publish(self, entry_id: uuid.UUID, stored: _Stored) -> None:
        self._entries[entry_id] = stored
        self._by_key.setdefault(stored.key, []).append(entry_id)
        while len(self._entries) > self._max_entries:
            old_id, old = self._entries.popitem(last=False)
            self._forget(old_id, old.key)

    def _forget(self, entry_id: uuid.UUID, key: str) -> None:
        ids = self._by_key.get(key)
        if ids is not None:
            with contextlib.suppress(ValueError):
                ids.remove(entry_id)
            if not ids:
                del self._by_key[key]

    async def get_entries(self, key: str) -> list[hishel.Entry]:
        """The complete, unexpired entries under ``key``."""
        now = self._clock()
        found: list[hishel.Entry] = []
        for entry_id in list(self._by_key.get(key, ())):
            stored = self._entries[entry_id]
            if stored.expires_at is not None and stored.expires_at <= now:
                del self._entries[entry_id]
                self._forget(entry_id, key)
                continue
            self._entries.move_to_end(entry_id)
            response = hishel.Response(
                status_code=stored.status_code,
                headers=hishel.Headers(stored.headers._headers),
                stream=_one_chunk(stored.body),
            )
            found.append(hishel.Entry(id=entry_id, request=stored.request, response=response))
        return found

    async def update_headers(self, id: uuid.UUID, headers: hishel.Headers) -> None:
        """Replace an entry's response headers (after a 304 revalidation)."""
        stored = self._entries.get(id)
        if stored is not None:
            stored.headers = headers

    async def remove_entry(self, id: uuid.UUID) -> None:
        """Forget an entry."""
        stored = self._entries.pop(id, None)
        if stored is not None:
            self._forget(id, stored.key)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self._by_key.clear()


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body


# --------------------------------------------------------------------------- the store gate


@dataclass
class _Sending:
    """One cacheable request on its way: the key and identity it was sent as, and the identity
    the client held when its answer arrived (set below hishel)."""

    key: str
    sent_as: str
    received_as: str | None = None

    def same_identity(self) -> bool:
        return self.received_as == self.sent_as


_sending: contextvars.ContextVar[_Sending | None] = contextvars.ContextVar("carecloud_cache_sending", default=None)


class _StoreGate(hishel.AsyncBaseStorage):
    """Between hishel and the storage: what hishel decides to store is stored only when

    - the answer's ``Cache-Control`` has an explicit ``max-age`` above 0 (kept that long at most,
      and never longer than the storage's own ``default_ttl``), and
    - the client's identity did not change between sending the request and receiving the answer
      (a login, logout or token replacement in between: the answer may belong to either side);

    and entries whose headers allow no reuse are never handed to hishel (no heuristic freshness).
    """

    def __init__(self, storage: hishel.AsyncBaseStorage) -> None:
        super().__init__(default_ttl=storage.default_ttl, default_tti=storage.default_tti)
        self._storage = storage

    async def create_entry(
        self,
        request: hishel.Request,
        response: hishel.Response,
        key: str,
        *,
        ttl: float | None = None,
        tti: float | None = None,
    ) -> hishel.Entry:
        sending = _sending.get()
        max_age = storable_for(response.headers.get_list("cache-control"))
        if sending is None or sending.key != key or not sending.same_identity() or max_age is None:
            return hishel.Entry(id=uuid.uuid4(), request=request, response=response)  # served, not stored
        limit = ttl if ttl is not None else self._storage.default_ttl
        return await self._storage.create_entry(
            request, response, key, ttl=max_age if limit is None else min(limit, max_age), tti=tti
        )

    async def get_entries(self, key: str) -> list[hishel.Entry]:
        entries = await self._storage.get_entries(key)
        return [e for e in entries if storable_for(e.response.headers.get_list("cache-control")) is not None]

    async def update_headers(self, id: uuid.UUID, headers: hishel.Headers) -> None:
        sending = _sending.get()
        if sending is None or not sending.same_identity() or storable_for(headers.get_list("cache-control")) is None:
            await self._storage.remove_entry(id)
        else:
            await self._storage.update_headers(id, headers)

    async def remove_entry(self, id: uuid.UUID) -> None:
        await self._storage.remove_entry(id)

    async def close(self) -> None:
        """The storage belongs to its :class:`HTTPCache`: not closed here."""


# --------------------------------------------------------------------------- the cache


@dataclass
class HTTPCache:
    """Where cached answers and resource generations live; one object may serve several clients
    (they still never see each other's answers: keys hold the identity).

    ``HTTPCache()`` keeps both in this process. For several processes or hosts, use
    ``RedisState(...).http_cache()``.

        cache = HTTPCache()
        shop = CareCloud.customer(..., device=jane_phone, cache=cache)
        kiosk = CareCloud.customer(..., device=kiosk_7, cache=cache)
    """

    storage: hishel.AsyncBaseStorage = field(default_factory=MemoryCacheStorage)
    generations: CacheGenerations = field(default_factory=MemoryCacheGenerations)

    def __repr__(self) -> str:
        return f"HTTPCache(storage={self.storage!r})"


class _Reauthorize(httpx.AsyncBaseTransport):
    """Below hishel: puts back the Authorization header taken off before the cache saw the
    request, notes the identity the client holds when the answer arrives (the store gate compares
    it with the one the request was sent as), and dates an answer that came without ``Date``
    (hishel reads an entry's age from it: without one, an answer would stay fresh whatever its
    ``max-age``; RFC 9110 section 6.6.1 asks a recipient with a clock to add it)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, identity: IdentityOf) -> None:
        self._transport = transport
        self._identity = identity

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        authorization = request.extensions.get(_AUTHORIZATION_EXTENSION)
        if isinstance(authorization, str):
            request.headers["Authorization"] = authorization
        response = await self._transport.handle_async_request(request)
        sending = _sending.get()
        if sending is not None:
            sending.received_as = self._identity(request)
        if "date" not in response.headers:
            response.headers["Date"] = formatdate(usegmt=True)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class CacheTransport(httpx.AsyncBaseTransport):
    """Caches GET answers of ``transport`` in ``cache`` following ``Cache-Control`` (hishel, RFC
    9111, as a private cache per identity) and invalidates a resource's entries after a write.

    ``identity(request)`` names whose answer a request gets (a hash; see
    :func:`~carecloud_async._identity.identity_hash`); a request whose identity is None is not cached. Place it below
    auth (``httpx.AsyncClient(auth=..., transport=CacheTransport(RetryTransport(...), ...))``).

        transport = CacheTransport(RetryTransport(httpx.AsyncHTTPTransport(retries=0)), HTTPCache(),
                                   identity=lambda request: identity_hash(request.headers["authorization"]))
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, cache: HTTPCache, *, identity: IdentityOf) -> None:
        self._transport = transport
        self._cache = cache
        self._identity = identity
        options = hishel.CacheOptions(shared=False, supported_methods=sorted(CACHEABLE_METHODS))
        self._hishel = _HishelTransport(
            _Reauthorize(transport, identity), storage=_StoreGate(cache.storage), rfc=options
        )

    @property
    def cache(self) -> HTTPCache:
        """Where answers are kept."""
        return self._cache

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer from the cache when a fresh entry exists, else from ``transport`` (storing the
        answer when ``Cache-Control`` allows); invalidate after a successful write."""
        method = request.method.upper()
        if method in WRITE_METHODS:
            response = await self._transport.handle_async_request(request)
            if response.status_code < 400:
                await self._cache.generations.bump(resource_scope(request.url))
            return response
        if method not in CACHEABLE_METHODS or bypassed(request) or never_cached(request.url):
            return await self._transport.handle_async_request(request)
        identity = self._identity(request)
        if identity is None:
            return await self._transport.handle_async_request(request)
        generation = await self._cache.generations.get(resource_scope(request.url))
        key = cache_key(
            identity=identity,
            language=request.headers.get("accept-language", ""),
            generation=generation,
            method=method,
            url=request.url,
        )
        authorization = request.headers.get("authorization")
        request.extensions = {
            **request.extensions,
            "caching": {"key": key},
            _AUTHORIZATION_EXTENSION: authorization,
        }
        if authorization is not None:
            del request.headers["authorization"]
        sending = _sending.set(_Sending(key, identity))
        try:
            return await self._hishel.handle_async_request(request)
        finally:
            _sending.reset(sending)
            if authorization is not None:
                request.headers["Authorization"] = authorization

    async def aclose(self) -> None:
        """Close the wrapped transport (the cache storage belongs to its :class:`HTTPCache`)."""
        await self._transport.aclose()


def from_cache(response: httpx.Response) -> bool:
    """Whether ``response`` was answered from the cache, without reaching the server.

    >>> from_cache(httpx.Response(200))
    False
    """
    status = response.extensions.get("caching")
    return bool(isinstance(status, dict) and status.get("from_cache"))
