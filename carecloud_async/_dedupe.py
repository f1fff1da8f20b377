"""In-flight dedupe: identical concurrent GETs send one request and share its answer.

Identical means the same identity (see ``_identity``), URL (query included) and
``Accept-Language``. The first such GET goes on to the server; the others wait for it and each
receive their own copy of the answer (status, headers, body), or, when it failed, the same
exception. The request runs in a task of its own, so a caller that gives up (is cancelled)
does not cancel it for the others.

A write (POST, PUT, PATCH, DELETE) detaches the GETs of its resource (see
:func:`~carecloud_async._identity.resource_scope`) in flight when it ends: a GET issued after the
write never joins one sent before it, so it never returns what the resource held before the write.

    transport = DedupeTransport(RetryTransport(httpx.AsyncHTTPTransport(retries=0)),
                                identity=lambda request: identity_hash(request.headers["authorization"]))
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from dataclasses import dataclass

import httpx

from ._identity import IdentityOf, bypassed, resource_scope
from ._observe import note_dedupe_join

__all__ = ["DedupeTransport", "dedupe_key"]

# Methods that change a resource: their end detaches the in-flight GETs of that resource.
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def dedupe_key(identity: str, request: httpx.Request) -> str | None:
    """The key under which concurrent requests are merged, or None for a request never merged
    (anything but GET).

    >>> a = httpx.Request("GET", "https://p.example/stores", headers={"Accept-Language": "en"})
    >>> b = httpx.Request("GET", "https://p.example/stores", headers={"Accept-Language": "cs"})
    >>> dedupe_key("id", a) == dedupe_key("id", b)
    False
    >>> dedupe_key("id", httpx.Request("POST", "https://p.example/stores")) is None
    True
    """
    if request.method.upper() != "GET":
        return None
    text = "\n".join((identity, request.headers.get("accept-language", "").strip().lower(), str(request.url)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    extensions: dict[str, object]

    def response(self) -> httpx.Response:
        # The body is kept as received (still content-encoded), so each copy decodes its own.
        return httpx.Response(
            self.status_code,
            headers=self.headers,
            stream=httpx.ByteStream(self.body),
            extensions=dict(self.extensions),
        )


class DedupeTransport(httpx.AsyncBaseTransport):
    """Merges identical concurrent GETs of ``transport`` into one request (see module docs).

    ``identity(request)`` names whose answer a request gets; requests whose identity is None, and
    requests that opted out (:func:`bypass_cache`), are never merged. ``in_flight`` counts the
    requests being sent for several callers right now.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, *, identity: IdentityOf) -> None:
        self._transport = transport
        self._identity = identity
        self._pending: dict[str, asyncio.Future[_Answer]] = {}
        self._scopes: dict[str, str] = {}  # pending key -> resource scope, for writes to detach

    @property
    def in_flight(self) -> int:
        """How many merged requests are waiting for their answer."""
        return len(self._pending)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, or wait for the identical one in flight and copy its answer."""
        # Only GETs are merged (dedupe_key): other methods skip the identity hash too.
        if request.method in _WRITE_METHODS:
            try:
                return await self._transport.handle_async_request(request)
            finally:
                self._detach(resource_scope(request.url))
        identity = None if request.method != "GET" or bypassed(request) else self._identity(request)
        key = dedupe_key(identity, request) if identity is not None else None
        if key is None:
            return await self._transport.handle_async_request(request)
        future = self._pending.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[key] = future
            self._scopes[key] = resource_scope(request.url)
            task = asyncio.create_task(self._fetch(request, key, future))
            task.add_done_callback(_retrieve)
        else:
            note_dedupe_join()  # metrics, when tracing (issue 25)
        try:
            answer = await asyncio.shield(future)
        except httpx.HTTPError as exc:
            raise _copy(exc) from exc
        return answer.response()

    async def _fetch(self, request: httpx.Request, key: str, future: asyncio.Future[_Answer]) -> None:
        try:
            response = await self._transport.handle_async_request(request)
            headers = list(response.headers.raw)
            if response.is_stream_consumed:
                # Read (and decoded) already, e.g. by a test transport: the headers must say so.
                body = response.content
                dropped = {b"content-encoding", b"content-length", b"transfer-encoding"}
                headers = [(k, v) for k, v in headers if k.lower() not in dropped]
                headers.append((b"Content-Length", str(len(body)).encode("ascii")))
            else:
                try:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
            extensions = {name: value for name, value in response.extensions.items() if name != "network_stream"}
            answer = _Answer(response.status_code, headers, body, extensions)
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            future.set_result(answer)
        finally:
            if self._pending.get(key) is future:  # not a later GET's, after a write detached this one
                del self._pending[key]
                self._scopes.pop(key, None)
            if not future.done():  # pragma: no cover - every path above settles it
                future.cancel()

    def _detach(self, scope: str) -> None:
        """After a write to ``scope``: later GETs of it start a request of their own (the callers
        already waiting keep theirs)."""
        for key in [key for key, pending in self._scopes.items() if pending == scope]:
            del self._scopes[key]
            self._pending.pop(key, None)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()


def _retrieve(task: asyncio.Task[None]) -> None:
    # The outcome reaches the callers through the future; this keeps asyncio quiet about it.
    if not task.cancelled():
        task.exception()


def _copy(exc: httpx.HTTPError) -> httpx.HTTPError:
    # One exception object raised in many tasks would collect all their tracebacks.
    clone = copy.copy(exc)
    clone.__traceback__ = None
    return clone
