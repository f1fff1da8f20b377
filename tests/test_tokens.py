"""Token stores: the in-memory default and the JSON file store (atomic, 0600, off the event loop)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from carecloud_async._errors import ConfigurationError, TokenStoreError
from carecloud_async._tokens import (
    BasicTokenStore,
    FileTokenStore,
    MemoryTokenStore,
    TokenStore,
    customer_token_key,
    store_lock,
)

T = TypeVar("T")

TOKEN = "4d8121dea8ae3c7b7fc66e6924ecc466dc7aa13e299ac757"
OTHER_TOKEN = "702baa4a40a57694831321e5d02605d46c189369126ae43a"
KEY = "demo.example/82de12eb8b138791e678fd11c3/kiosk-7"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ---------------------------------------------------------------- keys


def test_key_is_host_application_and_device() -> None:
    base = "https://Demo.Example/webservice/rest-api/customer-interface/v1.0"
    assert customer_token_key(base, "app1", "kiosk-7") == "demo.example/app1/kiosk-7"
    assert customer_token_key("demo.example", "app1", "kiosk-7") == "demo.example/app1/kiosk-7"


def test_key_differs_by_port_application_and_device() -> None:
    keys = {
        customer_token_key("https://demo.example/x", "app1", "kiosk-7"),
        customer_token_key("http://127.0.0.1:4010/x", "app1", "kiosk-7"),
        customer_token_key("https://demo.example/x", "app2", "kiosk-7"),
        customer_token_key("https://demo.example/x", "app1", "kiosk-8"),
    }
    assert len(keys) == 4


# ---------------------------------------------------------------- memory store


async def test_memory_store_round_trip_and_delete() -> None:
    store = MemoryTokenStore()
    assert await store.load(KEY) is None
    await store.save(KEY, TOKEN)
    assert await store.load(KEY) == TOKEN
    await store.save(KEY, OTHER_TOKEN)
    assert await store.load(KEY) == OTHER_TOKEN
    await store.delete(KEY)
    assert await store.load(KEY) is None
    await store.delete(KEY)  # deleting a missing key is fine


class ThreeMethodStore:
    """A store written for an earlier version: no lock()."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    async def load(self, key: str) -> str | None:
        return self.tokens.get(key)

    async def save(self, key: str, token_id: str) -> None:
        self.tokens[key] = token_id

    async def delete(self, key: str) -> None:
        self.tokens.pop(key, None)


async def test_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    memory: TokenStore = MemoryTokenStore()  # and for mypy
    file: TokenStore = FileTokenStore(tmp_path / "t.json")
    assert isinstance(memory, TokenStore)
    assert isinstance(file, TokenStore)
    basic: BasicTokenStore = ThreeMethodStore()
    assert isinstance(basic, BasicTokenStore)
    assert not isinstance(basic, TokenStore)


async def test_memory_store_repr_hides_tokens() -> None:
    store = MemoryTokenStore()
    await store.save(KEY, TOKEN)
    assert TOKEN not in repr(store)
    assert "1 token" in repr(store)


@pytest.mark.parametrize(("key", "token_id"), [("", TOKEN), (KEY, "")])
async def test_empty_key_or_token_is_refused(key: str, token_id: str, tmp_path: Path) -> None:
    for store in (MemoryTokenStore(), FileTokenStore(tmp_path / "t.json")):
        with pytest.raises(TokenStoreError):
            await store.save(key, token_id)


# ---------------------------------------------------------------- file store


async def test_file_store_round_trip_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    await FileTokenStore(path).save(KEY, TOKEN)
    await FileTokenStore(path).save("other/app/device", OTHER_TOKEN)

    fresh = FileTokenStore(path)
    assert await fresh.load(KEY) == TOKEN
    assert await fresh.load("other/app/device") == OTHER_TOKEN
    assert json.loads(path.read_text()) == {"version": 1, "tokens": {KEY: TOKEN, "other/app/device": OTHER_TOKEN}}

    await fresh.delete(KEY)
    assert await FileTokenStore(path).load(KEY) is None
    assert await FileTokenStore(path).load("other/app/device") == OTHER_TOKEN


async def test_missing_file_loads_nothing_and_delete_creates_nothing(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "absent.json")
    assert await store.load(KEY) is None
    await store.delete(KEY)
    assert not (tmp_path / "absent.json").exists()


@posix_only
async def test_file_is_private_and_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "tokens.json"
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the file's mode
    try:
        await FileTokenStore(path).save(KEY, TOKEN)
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700


@posix_only
async def test_token_ids_are_never_written_to_a_readable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file is private from its creation, not only after a chmod."""
    modes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            modes.append(stat.S_IMODE(info.st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    old_umask = os.umask(0o000)
    try:
        await FileTokenStore(tmp_path / "tokens.json").save(KEY, TOKEN)
    finally:
        os.umask(old_umask)
    assert modes == [0o600]


@posix_only
async def test_rewriting_a_world_readable_file_makes_it_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"version": 1, "tokens": {}}))
    path.chmod(0o644)
    await FileTokenStore(path).save(KEY, TOKEN)
    assert mode_of(path) == 0o600


async def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    for i in range(5):
        await store.save(f"k{i}", f"{TOKEN}{i}")
    await store.delete("k0")
    leftovers = names_in(tmp_path)
    assert leftovers in (["tokens.json"], ["tokens.json", "tokens.json.lock"])


async def test_replacement_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store file is replaced by os.replace from a temporary file in the same directory."""
    path = tmp_path / "tokens.json"
    await FileTokenStore(path).save(KEY, TOKEN)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        replaced.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    await FileTokenStore(path).save(KEY, OTHER_TOKEN)
    assert len(replaced) == 1
    src, dst = replaced[0]
    assert dst == str(path)
    assert Path(src).parent == tmp_path
    assert src != dst


async def test_failed_write_keeps_the_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    await FileTokenStore(path).save(KEY, TOKEN)

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(TokenStoreError, match="No space left") as caught:
        await FileTokenStore(path).save(KEY, OTHER_TOKEN)
    assert OTHER_TOKEN not in str(caught.value)
    monkeypatch.undo()
    assert await FileTokenStore(path).load(KEY) == TOKEN
    assert not [name for name in names_in(tmp_path) if name.endswith(".tmp")]


async def test_corrupt_file_raises_a_clear_error_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"version": 1, "tokens": {"k": "' + TOKEN + '"')  # truncated JSON
    with pytest.raises(TokenStoreError) as caught:
        await FileTokenStore(path).load(KEY)
    text = str(caught.value)
    assert str(path) in text
    assert "not valid JSON" in text
    assert TOKEN not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    "content",
    ['["a list"]', '{"tokens": ["x"]}', '{"tokens": {"k": 1}}', '{"version": 1}'],
)
async def test_unexpected_structure_raises(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(TokenStoreError, match="does not hold"):
        await FileTokenStore(path).load(KEY)


async def test_unreadable_path_raises_token_store_error(tmp_path: Path) -> None:
    directory = tmp_path / "is-a-directory"
    directory.mkdir()
    store = FileTokenStore(directory)
    with pytest.raises(TokenStoreError, match="cannot read token store"):
        await store.load(KEY)
    with pytest.raises(TokenStoreError):
        await store.save(KEY, TOKEN)


async def test_unwritable_location_raises_token_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(TokenStoreError, match="cannot create the directory"):
        await FileTokenStore(blocker / "tokens.json").save(KEY, TOKEN)


async def test_file_io_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_to_thread = asyncio.to_thread

    async def spy(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        calls.append(getattr(func, "__name__", repr(func)))
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", spy)
    store = FileTokenStore(tmp_path / "tokens.json")
    await store.save(KEY, TOKEN)
    await store.load(KEY)
    await store.delete(KEY)
    assert calls == ["_update", "_read", "_update"]


async def test_concurrent_saves_from_two_instances_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    first, second = FileTokenStore(path), FileTokenStore(path)
    await asyncio.gather(
        *((first if i % 2 else second).save(f"host/app/device-{i}", f"{TOKEN}-{i}") for i in range(40))
    )
    stored = json.loads(path.read_text())["tokens"]
    assert stored == {f"host/app/device-{i}": f"{TOKEN}-{i}" for i in range(40)}


async def test_file_store_repr_shows_path_not_tokens(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    await store.save(KEY, TOKEN)
    assert repr(store) == f"FileTokenStore(path={str(tmp_path / 'tokens.json')!r})"
    assert TOKEN not in repr(store)


def test_file_store_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert FileTokenStore("~/tokens.json").path == tmp_path / "tokens.json"


# ---------------------------------------------------------------- locks


class Overlap:
    """Records who is inside a locked block, failing if two ever are at once."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entered = 0

    async def visit(self, hold: float = 0.01) -> None:
        with self.guard:
            self.inside += 1
            self.entered += 1
            self.most = max(self.most, self.inside)
        await asyncio.sleep(hold)
        with self.guard:
            self.inside -= 1


@pytest.mark.parametrize("kind", ["memory", "file", "basic"])
async def test_lock_is_exclusive_within_one_event_loop(kind: str, tmp_path: Path) -> None:
    stores: dict[str, Any] = {
        "memory": MemoryTokenStore(),
        "file": FileTokenStore(tmp_path / "tokens.json"),
        "basic": ThreeMethodStore(),
    }
    store, seen = stores[kind], Overlap()

    async def locked() -> None:
        async with store_lock(store, KEY):
            await seen.visit()

    await asyncio.gather(*(locked() for _ in range(10)))
    assert (seen.entered, seen.most) == (10, 1)


async def test_lock_of_one_key_does_not_hold_up_another() -> None:
    store = MemoryTokenStore()

    async def other_key() -> None:
        async with store.lock("other/app/device"):
            pass

    async with store.lock(KEY):
        await asyncio.wait_for(other_key(), timeout=1)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_lock_is_exclusive_across_threads_with_their_own_event_loops(kind: str, tmp_path: Path) -> None:
    # Two instances of FileTokenStore on one path stand for two clients of one process.
    shared = MemoryTokenStore()
    seen, errors = Overlap(), []

    def worker() -> None:
        store = shared if kind == "memory" else FileTokenStore(tmp_path / "tokens.json")

        async def run() -> None:
            for _ in range(5):
                async with store.lock(KEY):
                    await seen.visit(0.005)

        try:
            asyncio.run(run())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert (seen.entered, seen.most) == (15, 1)


HOLDER = """
import asyncio, sys
from carecloud_async import FileTokenStore

async def main() -> None:
    async with FileTokenStore(sys.argv[1]).lock(sys.argv[2]):
        print("held", flush=True)
        await asyncio.sleep(float(sys.argv[3]))
    print("released", flush=True)

asyncio.run(main())
"""


def hold_in_another_process(path: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", HOLDER, str(path), KEY, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


@posix_only
async def test_file_lock_times_out_with_a_clear_error_while_another_process_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    holder = hold_in_another_process(path, 5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        with pytest.raises(TokenStoreError, match=r"timed out after 0\.3 s waiting for the lock of token store"):
            async with FileTokenStore(path, lock_timeout=0.3).lock(KEY):
                pass
    finally:
        ticking.cancel()
        holder.kill()
        holder.wait()
    assert ticks >= 10  # the event loop kept running while the lock was awaited


@posix_only
async def test_file_lock_is_taken_once_another_process_releases_it(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    holder = hold_in_another_process(path, 0.5)
    started = time.monotonic()
    try:
        async with FileTokenStore(path, lock_timeout=20).lock(KEY):
            waited = time.monotonic() - started
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "released"  # it let go before we got in
    finally:
        holder.wait(timeout=10)
    assert waited > 0.2


@pytest.mark.parametrize("timeout", [0, -1, "5", True])
def test_file_lock_timeout_must_be_positive_seconds(tmp_path: Path, timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="lock_timeout must be a number of seconds"):
        FileTokenStore(tmp_path / "tokens.json", lock_timeout=timeout)
