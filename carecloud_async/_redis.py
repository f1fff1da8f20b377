"""State shared by several processes or hosts, on Redis: tokens, the HTTP cache, the rate budget.

One :class:`RedisState` per process, handed to every client that should share:

    state = RedisState("redis://10.0.0.5:6379/0")
    async with CareCloud.enterprise(..., cache=True, rate_limit=20, redis=state) as cc:
        ...
    await state.aclose()

What lives on Redis (keys under ``prefix``, ``carecloud`` by default):

- the Enterprise bearer token of each user (one login for all replicas; the login itself runs
  under a Redis lock, so replicas starting together log in once) and the Customer device token
  of each device (:class:`RedisTokenStore`, the same lock around creation);
- the HTTP cache: answers (hishel's Redis storage) and resource generations (invalidation);
- the rate budget of the project (GCRA on the Redis clock: one ``per_second`` for all replicas).

Tokens are credentials: protect the Redis server like any secret store (AUTH/ACL, TLS,
a private network). Passwords and customer credentials are never written to it.

When Redis cannot be reached, every part degrades to this process alone (tokens kept in memory,
a local cache and rate budget) with one warning per outage, and tries Redis again after
``retry_interval`` seconds: calls keep working. This module needs the ``redis`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

try:
    import hishel
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import LockError, RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("shared state on Redis needs: pip install 'carecloud-async[redis]'") from exc

from ._cache import HTTPCache, MemoryCacheGenerations, MemoryCacheStorage
from ._errors import ConfigurationError
from ._locks import KeyLocks
from ._ratelimit import LocalRateBudget, check_rate
from ._tokens import check_token_entry

__all__ = ["RedisCacheGenerations", "RedisRateBudget", "RedisState", "RedisTokenStore", "token_ttl"]

logger = logging.getLogger("carecloud_async.redis")

T = TypeVar("T")

# Failures that mean "Redis is not there right now" (refused, reset, timed out, server error).
_UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError)
# The part of them that only an outage causes (not a refused command).
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

# How long an Enterprise token whose validity is unknown stays on Redis: CareCloud's default
# validity (7 hours). A token that outlives it is simply logged in again.
_UNKNOWN_VALIDITY_TTL = 7 * 3600


def token_ttl(key: str, value: str, now: datetime) -> int | None:
    """Seconds a token store entry may live on Redis: an Enterprise token (key ``enterprise/...``,
    JSON with ``expires_at``) until it expires (7 hours when its validity is unknown); a Customer
    device token, which never expires, forever (None).

    >>> now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    >>> token_ttl("enterprise/abc", '{"bearer_token": "t", "expires_at": "2030-01-01T02:00:00+00:00"}', now)
    7200
    >>> token_ttl("enterprise/abc", '{"bearer_token": "t", "expires_at": null}', now)
    25200
    >>> token_ttl("p.example/app/kiosk-7", "token-id", now) is None
    True
    """
    if not key.startswith("enterprise/"):
        return None
    try:
        stored = json.loads(value)
        expires_at = datetime.fromisoformat(stored["expires_at"]) if stored.get("expires_at") else None
    except (ValueError, TypeError, KeyError, AttributeError):
        expires_at = None
    if expires_at is None or expires_at.tzinfo is None:
        return _UNKNOWN_VALIDITY_TTL
    return max(1, math.ceil((expires_at - now).total_seconds()))


class _QuietStorageErrors(logging.Filter):
    """hishel's Redis storage logs an ERROR with a traceback for each command that fails and goes
    on (a miss, an answer not stored). When the cause is Redis being unreachable, RedisState warns
    once per outage already: such records are dropped here and noted at DEBUG on this module's
    logger, without the traceback. Any other error of hishel's stays as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, _UNREACHABLE):
            return True
        logger.debug("cache storage on Redis: %s (%s)", record.getMessage(), type(exc).__name__)
        return False


_QUIET_STORAGE_ERRORS = _QuietStorageErrors()

# The rate budget on the Redis clock: take the slot if its time has come (answer 0), else
# answer the seconds until it does (taking nothing). Same decision as _ratelimit.try_take_slot.
_TRY_TAKE_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if now >= next_free then
  redis.call('SET', KEYS[1], string.format('%.6f', now + interval), 'PX', math.ceil(interval * 1000) + 1000)
  return '0'
end
return string.format('%.6f', next_free - now)
"""


class _Outage:
    """Whether Redis may be tried now; one warning when it goes away, one note when it is back."""

    def __init__(self, retry_interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._retry_interval = retry_interval
        self._clock = clock
        self._down_until: float | None = None

    @property
    def down(self) -> bool:
        return self._down_until is not None and self._clock() < self._down_until

    def failed(self, what: str, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "Redis is unavailable (%s failed: %s); using local state in this process, retrying Redis every %g s",
                what,
                type(exc).__name__,
                self._retry_interval,
            )
        self._down_until = self._clock() + self._retry_interval

    def succeeded(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("Redis is reachable again: shared state resumed")


class RedisState:
    """A Redis connection and the shared parts built on it (see the module docs).

    ``redis`` is a URL (``redis://host:6379/0``, ``rediss://`` for TLS) or a
    ``redis.asyncio.Redis`` client created with ``decode_responses=False``.
    ``timeout`` bounds every Redis command, so a stuck server slows calls by at most that long
    before the local fallback takes over.

        state = RedisState("redis://127.0.0.1:6379/0", prefix="shop")
        store = state.token_store()
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        prefix: str = "carecloud",
        timeout: float = 2.0,
        retry_interval: float = 5.0,
        lock_timeout: float = 30.0,
    ) -> None:
        if not prefix or ":" in prefix:
            raise ConfigurationError(f"prefix must be a non-empty name without ':', got {prefix!r}")
        if isinstance(redis, str):
            redis = Redis.from_url(
                redis, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=False
            )
        self._redis: Redis = redis
        self._prefix = prefix
        self._outage = _Outage(retry_interval)
        self._lock_timeout = lock_timeout
        self._token_store: RedisTokenStore | None = None
        self._local_locks = KeyLocks()  # the in-process half of lock()
        self._cache: HTTPCache | None = None

    @property
    def redis(self) -> Redis:
        """The Redis client."""
        return self._redis

    @property
    def prefix(self) -> str:
        """The first part of every key this state writes."""
        return self._prefix

    @property
    def available(self) -> bool:
        """False while Redis is known to be unreachable (local fallback in use)."""
        return not self._outage.down

    def key(self, *parts: str) -> str:
        """A Redis key under :attr:`prefix`.

        >>> RedisState("redis://127.0.0.1:1/0").key("token", "demo.example/app/kiosk-7")
        'carecloud:token:demo.example/app/kiosk-7'
        """
        return ":".join((self._prefix, *parts))

    async def run(self, what: str, operation: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]) -> T:
        """``operation()`` on Redis, or ``fallback()`` while Redis is unavailable (with a warning)."""
        if self._outage.down:
            return await fallback()
        try:
            result = await operation()
        except _UNAVAILABLE as exc:
            self._outage.failed(what, exc)
            return await fallback()
        self._outage.succeeded()
        return result

    def token_store(self) -> RedisTokenStore:
        """The token store on this Redis (one per state)."""
        if self._token_store is None:
            self._token_store = RedisTokenStore(self)
        return self._token_store

    def http_cache(self, *, default_ttl: float = 3600, max_local_entries: int = 1000) -> HTTPCache:
        """The HTTP cache on this Redis (one per state): answers stored for at most
        ``default_ttl`` seconds (``max-age`` decides freshness), and a local fallback."""
        if self._cache is None:
            hishel_logger = logging.getLogger(hishel.AsyncRedisStorage.__module__)
            if _QUIET_STORAGE_ERRORS not in hishel_logger.filters:
                hishel_logger.addFilter(_QUIET_STORAGE_ERRORS)
            storage = _FailoverStorage(
                self,
                hishel.AsyncRedisStorage(self._redis, default_ttl=default_ttl, key_prefix=self.key("cache")),
                MemoryCacheStorage(max_entries=max_local_entries, default_ttl=default_ttl),
            )
            self._cache = HTTPCache(storage=storage, generations=RedisCacheGenerations(self))
        return self._cache

    def rate_budget(self, name: str, per_second: float) -> RedisRateBudget:
        """A rate budget shared by every client using ``name`` on this Redis."""
        return RedisRateBudget(self, name, per_second)

    def lock(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """An exclusive lock across processes (a Redis lock, which expires after ``lock_timeout``
        should its holder die); only local while Redis is unavailable."""
        return _shared_lock(self, name, self._lock_timeout)

    async def aclose(self) -> None:
        """Close the Redis connection pool."""
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisState(prefix={self._prefix!r}, available={self.available})"


@contextlib.asynccontextmanager
async def _shared_lock(state: RedisState, name: str, timeout: float) -> AsyncIterator[None]:
    async with state._local_locks.hold(name):  # one coroutine of this process at a time, Redis or not
        lock = state.redis.lock(state.key("lock", name), timeout=timeout, blocking_timeout=timeout + 5)

        async def acquire() -> bool:
            return bool(await lock.acquire())

        async def no_lock() -> bool:
            return False

        held = await state.run("lock", acquire, no_lock)
        if not held and state.available:
            logger.warning("waited %g s for the Redis lock %r; going on without it", timeout + 5, name)
        try:
            yield
        finally:
            if held:
                with contextlib.suppress(LockError, *_UNAVAILABLE):
                    await lock.release()


class RedisTokenStore:
    """A :class:`~carecloud_async.TokenStore` on Redis, shared by every process using it: Customer
    device tokens, and the Enterprise token of each user (JSON with its validity).

    ``lock(key)`` is a Redis lock: the token under ``key`` is loaded, created and saved by one
    process at a time, so replicas starting together create one token. While Redis is
    unavailable, tokens are kept in this process (the last ones read or written stay usable).

        state = RedisState("redis://127.0.0.1:6379/0")
        cc = CareCloud.customer(..., token_store=state.token_store())
    """

    def __init__(self, state: RedisState) -> None:
        self._state = state
        self._local: dict[str, str] = {}

    async def load(self, key: str) -> str | None:
        """The token saved under ``key``, or None."""

        async def from_redis() -> str | None:
            value = await self._state.redis.get(self._state.key("token", key))
            if value is None:
                self._local.pop(key, None)
                return None
            text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
            self._local[key] = text
            return text

        async def from_memory() -> str | None:
            return self._local.get(key)

        return await self._state.run("token load", from_redis, from_memory)

    async def save(self, key: str, token_id: str) -> None:
        """Save ``token_id`` under ``key``."""
        check_token_entry(key, token_id)
        self._local[key] = token_id

        async def to_redis() -> None:
            ttl = token_ttl(key, token_id, datetime.now(timezone.utc))
            await self._state.redis.set(self._state.key("token", key), token_id.encode("utf-8"), ex=ttl)

        await self._state.run("token save", to_redis, _nothing)

    async def delete(self, key: str) -> None:
        """Forget the token under ``key``."""
        self._local.pop(key, None)

        async def from_redis() -> None:
            await self._state.redis.delete(self._state.key("token", key))

        await self._state.run("token delete", from_redis, _nothing)

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held across load, create and save of the token under ``key``: exclusive for every
        process using this Redis (local only while Redis is unavailable)."""
        return self._state.lock(f"token:{key}")

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self._state.prefix!r})"


async def _nothing() -> None:
    return None


# The field of the generations hash that every scope's generation adds: raised after an outage.
_EVERY_SCOPE = "*"


class RedisCacheGenerations:
    """Resource generations of the HTTP cache on Redis (one hash), so a write through any replica
    invalidates the cached answers of every replica; local while Redis is unavailable.

    When Redis comes back with its data after an outage this process saw (persistence, failover, a
    healed split), the answers from before the outage must not be served again, since writes were
    made meanwhile. Before this process next reads or writes a generation on Redis, it replays the
    invalidations it made during the outage, and raises the generation every scope adds (the field
    ``*``): entries from before the outage are stale for every replica, even when the replica that
    wrote ended before it could replay. While Redis is unavailable the local generation is
    returned negative (``-1 - n``), so a key made then never names an entry stored on Redis.
    """

    def __init__(self, state: RedisState) -> None:
        self._state = state
        self._local = MemoryCacheGenerations()
        self._key = state.key("cache", "generations")
        self._unsent: set[str] = set()  # scopes invalidated while Redis was unavailable
        self._outage_seen = False  # a generation was read or written locally: Redis was away

    async def _resume(self) -> None:
        """First thing on Redis after an outage: replay and make older entries stale."""
        if not self._outage_seen and not self._unsent:
            return
        scopes = sorted(self._unsent)
        async with self._state.redis.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.hincrby(self._key, scope, 1)
            pipe.hincrby(self._key, _EVERY_SCOPE, 1)
            await pipe.execute()
        self._unsent.difference_update(scopes)
        self._outage_seen = False
        logger.info(
            "cache entries from before the Redis outage made stale; %d invalidation(s) made during it replayed",
            len(scopes),
        )

    async def get(self, scope: str) -> int:
        """The current generation of ``scope``: its own count plus the count every scope adds
        (both only grow, so their sum never names an older entry again)."""

        async def from_redis() -> int:
            await self._resume()
            own, every = await self._state.redis.hmget(self._key, [scope, _EVERY_SCOPE])
            return int(own or 0) + int(every or 0)

        async def from_memory() -> int:
            self._outage_seen = True
            return -1 - await self._local.get(scope)

        return await self._state.run("cache generation", from_redis, from_memory)

    async def bump(self, scope: str) -> None:
        """Invalidate every cached answer of ``scope``, on every replica (replayed later if Redis
        is unavailable now)."""
        await self._local.bump(scope)

        async def on_redis() -> None:
            await self._resume()
            await self._state.redis.hincrby(self._key, scope, 1)

        async def later() -> None:
            self._outage_seen = True
            self._unsent.add(scope)

        await self._state.run("cache invalidation", on_redis, later)

    @property
    def unsent(self) -> int:
        """How many resource scopes were invalidated while Redis was unavailable and are not yet
        replayed there."""
        return len(self._unsent)


class RedisRateBudget:
    """``per_second`` requests for every client sharing ``name`` on one Redis (slots on the Redis
    clock, so the replicas' clocks need not agree); this process's own budget of ``per_second``
    while Redis is unavailable.

        budget = RedisState("redis://127.0.0.1:6379/0").rate_budget("demo.example/enterprise", 20)
    """

    def __init__(self, state: RedisState, name: str, per_second: float) -> None:
        self._state = state
        self._per_second = check_rate(per_second)
        self._key = state.key("rate", name)
        self._local = LocalRateBudget(self._per_second)
        self._queue = asyncio.Lock()
        self._script: Any = state.redis.register_script(_TRY_TAKE_SLOT)

    @property
    def per_second(self) -> float:
        """Requests per second allowed, all clients together."""
        return self._per_second

    async def wait_for_slot(self) -> None:
        """Wait until a shared slot is free and take it (this process's waiters in turn)."""

        async def on_redis() -> float:
            value = await self._script(keys=[self._key], args=[f"{1.0 / self._per_second:.9f}"])
            return float(value.decode() if isinstance(value, bytes) else value)

        async def locally() -> float:
            return self._local.try_take()

        async with self._queue:
            while (wait := await self._state.run("rate budget", on_redis, locally)) > 0:  # noqa: ASYNC110 - polls a shared slot
                await asyncio.sleep(wait)

    def __repr__(self) -> str:
        return f"RedisRateBudget(per_second={self._per_second})"


class _FailoverStorage(hishel.AsyncBaseStorage):
    """hishel's Redis storage while Redis is available, a local one while it is not."""

    def __init__(self, state: RedisState, shared: hishel.AsyncBaseStorage, local: MemoryCacheStorage) -> None:
        super().__init__()
        self._state = state
        self._shared = shared
        self._local = local

    def _current(self) -> hishel.AsyncBaseStorage:
        return self._shared if self._state.available else self._local

    async def create_entry(
        self,
        request: hishel.Request,
        response: hishel.Response,
        key: str,
        *,
        ttl: float | None = None,
        tti: float | None = None,
    ) -> hishel.Entry:
        return await self._current().create_entry(request, response, key, ttl=ttl, tti=tti)

    async def get_entries(self, key: str) -> list[hishel.Entry]:
        return await self._current().get_entries(key)

    async def update_headers(self, id: uuid.UUID, headers: hishel.Headers) -> None:
        await self._current().update_headers(id, headers)

    async def remove_entry(self, id: uuid.UUID) -> None:
        await self._local.remove_entry(id)
        if self._state.available:
            await self._shared.remove_entry(id)

    def __repr__(self) -> str:
        return f"RedisCacheStorage(available={self._state.available})"
