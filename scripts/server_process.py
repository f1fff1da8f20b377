"""Local servers the benchmarks and tests start as processes of their own (off the client's CPU
and GIL): a free loopback port, and a server command started and waited for until it accepts
connections there.

    process, port = start_server_process(lambda port: [sys.executable, "-m", "carecloud_async.testing",
                                                       "--port", str(port)], "the fake CareCloud")
    try:
        ...  # http://127.0.0.1:<port>
    finally:
        process.kill()
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the OS picks it).

    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server_process(
    command: Callable[[int], list[str]], what: str, *, timeout: float = 15.0
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``command(port)`` on a free port and return (process, port) once the port accepts a
    connection; the caller kills the process. Raises ``SystemExit`` naming ``what`` (and kills
    the process) when nothing answers within ``timeout`` seconds.

        process, port = start_server_process(lambda port: ["server", "--port", str(port)], "the server")
    """
    port = free_port()
    process = subprocess.Popen(command(port))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{what} did not start within {timeout:g} s")
