"""Where Customer API device tokens are kept between processes.

A Customer API token (``POST /tokens``) never expires, but creating a new one for the same device
and application invalidates the old one. So a token is created once and kept in a store, and
every process for that device reads it from there instead of creating its own.

    store = FileTokenStore("~/.carecloud/tokens.json")
    key = customer_token_key("demo.crmcarecloud.com", "82de12eb8b138791e678fd11c3", "kiosk-7")
    await store.save(key, token_id)
    assert await store.load(key) == token_id

Creating a token is guarded by the store's :meth:`~TokenStore.lock`: ``CustomerAuth`` holds it
across load, create and save, so two processes starting at once on one store make one token, not
two (the second would invalidate the first). ``FileTokenStore`` locks across processes (a lock file
next to the store), ``MemoryTokenStore`` within the process.

Any object with the async methods of :class:`TokenStore` works (Redis, a database, a secrets
manager). A store written for an earlier version, with ``load``/``save``/``delete`` only
(:class:`BasicTokenStore`), keeps working: ``CustomerAuth`` then locks within the process only, so
processes sharing such a store can still race; add ``lock`` to make them take turns. Stores never
show token ids in their reprs or error messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

from ._errors import ConfigurationError, TokenStoreError
from ._locks import FIRST_POLL, MAX_POLL, KeyLocks, LoopSafeLock

try:  # POSIX: serialise writers across processes; elsewhere os.replace keeps the file whole.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "BasicTokenStore",
    "FileTokenStore",
    "MemoryTokenStore",
    "TokenStore",
    "customer_token_key",
    "store_lock",
]

_FILE_VERSION = 1

#: How long :meth:`FileTokenStore.lock` waits for another holder (a token creation takes one
#: request, with its retries) before it raises ``TokenStoreError``.
DEFAULT_LOCK_TIMEOUT = 60.0


def customer_token_key(project: httpx.URL | str, external_application_id: str, device_id: str) -> str:
    """The store key of one device's token: project host, external application and device.

    ``project`` is the project's host or any URL on it (the API base URL, for instance).

    >>> customer_token_key("https://demo.example/webservice/rest-api/v1.0", "app1", "kiosk-7")
    'demo.example/app1/kiosk-7'
    """
    text = str(project)
    host = httpx.URL(text).netloc.decode("ascii") if "://" in text else text.strip("/")
    return f"{host.lower()}/{external_application_id}/{device_id}"


@runtime_checkable
class BasicTokenStore(Protocol):
    """A token store without :meth:`TokenStore.lock`, as written for earlier versions.

    Still accepted: ``CustomerAuth`` then guards token creation with a lock of this process only
    (see :func:`store_lock`), which does not stop two processes from creating a token each.
    """

    async def load(self, key: str) -> str | None:
        """The token id saved under ``key``, or None."""
        ...

    async def save(self, key: str, token_id: str) -> None:
        """Save ``token_id`` under ``key``, replacing any previous one."""
        ...

    async def delete(self, key: str) -> None:
        """Forget the token saved under ``key`` (no error if there is none)."""
        ...


@runtime_checkable
class TokenStore(Protocol):
    """Keeps Customer API token ids by key (see :func:`customer_token_key`).

    Implementations raise :class:`~carecloud_async.TokenStoreError` when they cannot read or
    write, and never put a token id into an error message or repr. ``lock`` makes token creation
    one at a time for every client sharing the store.

        class RedisTokenStore:
            async def load(self, key: str) -> str | None:
                return await redis.get(f"carecloud:{key}")
            async def save(self, key: str, token_id: str) -> None:
                await redis.set(f"carecloud:{key}", token_id)
            async def delete(self, key: str) -> None:
                await redis.delete(f"carecloud:{key}")
            def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
                return redis.lock(f"carecloud:{key}:lock", timeout=60)
    """

    async def load(self, key: str) -> str | None:
        """The token id saved under ``key``, or None."""
        ...

    async def save(self, key: str, token_id: str) -> None:
        """Save ``token_id`` under ``key``, replacing any previous one."""
        ...

    async def delete(self, key: str) -> None:
        """Forget the token saved under ``key`` (no error if there is none)."""
        ...

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held across load, create and save of the token under `key`: exclusive for every client sharing this store (across processes for stores that are shared across processes)."""  # noqa: E501
        ...


# The in-process lock for stores that have no ``lock`` of their own.
_FALLBACK_LOCKS = KeyLocks()


def store_lock(store: TokenStore | BasicTokenStore, key: str) -> contextlib.AbstractAsyncContextManager[None]:
    """``store.lock(key)``, or for a store without ``lock`` (:class:`BasicTokenStore`) a lock of
    this process only, keyed by ``key``.

        async with store_lock(store, key):
            token_id = await store.load(key) or await create_and_save()
    """
    lock = getattr(store, "lock", None)
    if callable(lock):
        held: contextlib.AbstractAsyncContextManager[None] = lock(key)
        return held
    return _FALLBACK_LOCKS.hold(key)


class MemoryTokenStore:
    """Keeps tokens in this process only: the default, fine for tests and short scripts.

    A new process creates a new token (invalidating the previous process's one), so long-lived
    or multi-process deployments want :class:`FileTokenStore` or a store of their own.

        store = MemoryTokenStore()
        await store.save("demo.example/app1/kiosk-7", token_id)
    """

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._locks = KeyLocks()

    async def load(self, key: str) -> str | None:
        """The token id saved under ``key``, or None."""
        return self._tokens.get(key)

    async def save(self, key: str, token_id: str) -> None:
        """Save ``token_id`` under ``key``."""
        check_token_entry(key, token_id)
        self._tokens[key] = token_id

    async def delete(self, key: str) -> None:
        """Forget the token saved under ``key``."""
        self._tokens.pop(key, None)

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Exclusive for every client of this process sharing this store (any thread or event loop)."""
        return self._locks.hold(key)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(<{len(self._tokens)} token(s)>)"


class FileTokenStore:
    """Keeps tokens in a JSON file readable by the owner only (mode 0600).

    Writes go to a temporary file in the same directory that then replaces the store
    (``os.replace``), so a reader never sees a half-written file; on POSIX a lock file next to
    it serialises writers of several processes. File I/O runs in a worker thread
    (``asyncio.to_thread``), off the event loop. ``~`` in the path is expanded; missing parent
    directories are created (mode 0700).

    :meth:`lock` is held by ``CustomerAuth`` across load, create and save of a token: an
    exclusive ``flock`` on a second lock file (``<name>.create.lock``), taken without blocking
    the event loop and given up after ``lock_timeout`` seconds with a ``TokenStoreError``. Every
    process using the same file takes turns, so they make one token between them. (Without
    ``fcntl``, on Windows, it locks within the process only.)

        store = FileTokenStore("~/.carecloud/tokens.json")
        cc = CareCloud.customer(..., token_store=store)

    The file holds ``{"version": 1, "tokens": {key: token_id}}``: token ids are credentials, so
    keep it out of backups and repositories like any other secret.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self._path = Path(path).expanduser()
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)) or not lock_timeout > 0:
            raise ConfigurationError(f"lock_timeout must be a number of seconds > 0, got {lock_timeout!r}")
        self._lock_timeout = lock_timeout
        self._writers = LoopSafeLock()  # one save or delete of this process at a time
        self._creators = KeyLocks()

    @property
    def path(self) -> Path:
        """The JSON file."""
        return self._path

    async def load(self, key: str) -> str | None:
        """The token id saved under ``key``, or None (also when the file does not exist yet)."""
        import asyncio  # already loaded: this runs in an event loop (importing the client does not load it)

        tokens = await asyncio.to_thread(self._read)
        return tokens.get(key)

    async def save(self, key: str, token_id: str) -> None:
        """Save ``token_id`` under ``key`` (read, change, replace the file atomically)."""
        import asyncio

        check_token_entry(key, token_id)
        async with self._writers:
            await asyncio.to_thread(self._update, key, token_id)

    async def delete(self, key: str) -> None:
        """Forget the token saved under ``key``."""
        import asyncio

        async with self._writers:
            await asyncio.to_thread(self._update, key, None)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Exclusive for every process (and client) using this file, held for the ``async with``
        block; raises ``TokenStoreError`` after ``lock_timeout`` seconds of waiting.

            async with store.lock(key):
                token_id = await store.load(key) or await create_and_save()
        """
        import asyncio

        deadline = time.monotonic() + self._lock_timeout
        # One waiter per key in this process polls the file lock; the others wait behind it.
        async with self._creators.hold(key):
            fd = await asyncio.to_thread(self._open_lock_file, self._path.with_name(self._path.name + ".create.lock"))
            try:
                await self._acquire(fd, deadline)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    async def _acquire(self, fd: int, deadline: float) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        import asyncio

        delay = FIRST_POLL
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a non-blocking system call
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                raise TokenStoreError(f"cannot lock token store {self._path}: {_reason(exc)}") from None
            if time.monotonic() >= deadline:
                raise TokenStoreError(
                    f"timed out after {self._lock_timeout:g} s waiting for the lock of token store {self._path} "
                    "(another process is creating a token, or stopped while holding the lock file)"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_POLL)

    def __repr__(self) -> str:
        return f"FileTokenStore(path={str(self._path)!r})"

    # -- blocking helpers, run in a worker thread

    def _read(self) -> dict[str, str]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenStoreError(f"cannot read token store {self._path}: {_reason(exc)}") from None
        except UnicodeDecodeError:
            raise TokenStoreError(f"token store {self._path} is not UTF-8 text; fix or delete it") from None
        try:
            data: Any = json.loads(text)
        except ValueError:
            # ``from None``: a JSONDecodeError carries the whole document, token ids included.
            raise TokenStoreError(f"token store {self._path} is not valid JSON; fix or delete it") from None
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
        ):
            raise TokenStoreError(
                f'token store {self._path} does not hold {{"version": 1, "tokens": {{key: token_id}}}}; '
                "fix or delete it"
            )
        return tokens

    def _update(self, key: str, token_id: str | None) -> None:
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TokenStoreError(f"cannot create the directory of token store {self._path}: {_reason(exc)}") from None
        with self._interprocess_lock():
            tokens = self._read()
            if token_id is None:
                if key not in tokens:
                    return
                del tokens[key]
            else:
                tokens[key] = token_id
            self._write({"version": _FILE_VERSION, "tokens": tokens})

    def _write(self, data: dict[str, Any]) -> None:
        directory = self._path.parent
        try:
            # mkstemp creates the file with mode 0600, so the token ids are never world-readable,
            # not even for the moment before the rename.
            fd, temp_name = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise TokenStoreError(f"cannot write token store {self._path}: {_reason(exc)}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2, sort_keys=True)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, self._path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise TokenStoreError(f"cannot write token store {self._path}: {_reason(exc)}") from None
        _fsync_directory(directory)

    def _open_lock_file(self, lock_path: Path) -> int:
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TokenStoreError(f"cannot lock token store {self._path}: {_reason(exc)}") from None

    @contextlib.contextmanager
    def _interprocess_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = self._open_lock_file(self._path.with_name(self._path.name + ".lock"))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def check_token_entry(key: str, token_id: str) -> None:
    """Refuse an empty or non-string key or token id (every token store checks before saving)."""
    if not isinstance(key, str) or not key:
        raise TokenStoreError("a token store key must be a non-empty string")
    if not isinstance(token_id, str) or not token_id:
        raise TokenStoreError("a token id must be a non-empty string")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable on POSIX; not possible (nor needed) everywhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
