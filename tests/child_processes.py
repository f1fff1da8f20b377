"""Several real child processes released at the same moment, for the tests that prove something
happens once across processes (one device token on one file, one login on Redis).

Each child prints ``ready`` once started, then for every line it reads on stdin does one round
and prints one line of result; closing stdin ends it.

    with ChildProcesses([sys.executable, str(CHILD), url], count=4, timeout=60) as children:
        assert children.release("go round-1") == ["ok"] * 4
"""

from __future__ import annotations

import select
import subprocess
import time
from types import TracebackType


def read_line(process: subprocess.Popen[str], deadline: float) -> str:
    """The next line ``process`` prints, or AssertionError once ``deadline`` (monotonic) passes."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        raise AssertionError(f"process {process.pid} said nothing within the time limit")
    return process.stdout.readline().strip()


class ChildProcesses:
    """``count`` processes of ``command``; entering waits (``timeout`` s) until each says ``ready``."""

    def __init__(self, command: list[str], *, count: int, timeout: float) -> None:
        self.command = command
        self.count = count
        self.timeout = timeout
        self.processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> ChildProcesses:
        self.processes = [
            subprocess.Popen(  # noqa: S603 (our own interpreter and code)
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(self.count)
        ]
        try:
            deadline = time.monotonic() + self.timeout
            assert [read_line(p, deadline) for p in self.processes] == ["ready"] * self.count
        except BaseException:
            self.stop()
            raise
        return self

    def release(self, line: str) -> list[str]:
        """Send ``line`` to every child at once; each one's answer, within ``timeout`` s."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(f"{line}\n")
            process.stdin.flush()
        deadline = time.monotonic() + self.timeout
        return [read_line(process, deadline) for process in self.processes]

    def stop(self) -> None:
        """Close every stdin (the children end), killing any still running after 10 s."""
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
