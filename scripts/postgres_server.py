"""A real PostgreSQL server on a temporary directory, for the outbox tests and ``make bench-outbox``.

Where the ``pgserver`` wheel is installed (Python 3.10 to 3.12; ``make install``) it brings the
server; elsewhere (Python 3.13: no wheel) Debian's PostgreSQL binaries are used
(``/usr/lib/postgresql/<version>/bin``, installed by ``make servers``): ``initdb`` and ``pg_ctl``
on the directory, listening on a unix socket inside it only, never on a TCP port. PostgreSQL
refuses to run as root, so as root the server runs as the unprivileged user ``nobody`` (pgserver
does the same with a user of its own). Both kinds have the same interface: ``psql(sql)``,
``get_uri(database)``, ``cleanup()``.

    server = start_postgres(Path(tempfile.mkdtemp()))
    try:
        uri = server.get_uri("postgres")  # postgresql://postgres:@/postgres?host=/tmp/...
    finally:
        server.cleanup()
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, Protocol

# Debian's layout: one directory per major version, the newest wins.
DEBIAN_POSTGRES = Path("/usr/lib/postgresql")
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT = 30


class PostgresServerError(RuntimeError):
    """No PostgreSQL could be found or started."""


class PostgresLike(Protocol):
    """What the tests and the benchmark use of a server (pgserver's ``PostgresServer`` has it too)."""

    def psql(self, command: str) -> str: ...

    def get_uri(self, database: str | None = None) -> str: ...

    def cleanup(self) -> None: ...


def newest_bin_dir(versions: list[str]) -> str | None:
    """The Debian version directory to use: the highest major version present.

    >>> newest_bin_dir(["9.6", "15", "13"])
    '15'
    >>> newest_bin_dir([]) is None
    True
    """
    numbered = [v for v in versions if re.fullmatch(r"\d+(\.\d+)?", v)]
    return max(numbered, key=lambda v: tuple(int(part) for part in v.split("."))) if numbered else None


def system_postgres_bin() -> Path | None:
    """Debian's PostgreSQL ``bin`` directory (with ``initdb``), or one on PATH; None when absent."""
    if DEBIAN_POSTGRES.is_dir():
        versions = [p.name for p in DEBIAN_POSTGRES.iterdir() if (p / "bin" / "initdb").is_file()]
        chosen = newest_bin_dir(versions)
        if chosen is not None:
            return DEBIAN_POSTGRES / chosen / "bin"
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def pgserver_installed() -> bool:
    """Whether the ``pgserver`` wheel (which bundles the server) is importable."""
    try:
        import pgserver  # noqa: F401
    except ImportError:
        return False
    return True


class SystemPostgres:
    """A server from the system's binaries on ``directory`` (its data directory and socket)."""

    def __init__(self, directory: Path, bin_dir: Path) -> None:
        self.directory = directory
        self.bin_dir = bin_dir
        self.log = directory / "server.log"
        self.data = directory / "data"
        self._run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam(UNPRIVILEGED_USER)
            self._run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        result = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 10,
            check=False,
            **self._run_as,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-600:] if self.log.exists() else ""
            raise PostgresServerError(f"{program} failed ({result.returncode}): {result.stderr.strip()[-600:]} {log}")

    def start(self) -> SystemPostgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            os.chown(self.directory, self._run_as["user"], self._run_as["group"])
            self.directory.chmod(0o700)
            # the server user must reach it through root's folders (mkdtemp makes them 0700):
            # search permission only (as pgserver does, which adds read too)
            for parent in self.directory.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--encoding=UTF8", "--no-locale", "-U", "postgres")
        options = f"-c listen_addresses='' -k {self.directory}"
        timeout = str(START_TIMEOUT)
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", timeout, "-o", options, "-l", str(self.log), "start")
        return self

    def get_uri(self, database: str | None = None) -> str:
        """The connection URI (pgserver's format: user postgres, the unix socket's directory)."""
        return f"postgresql://postgres:@/{database or 'postgres'}?host={self.directory}"

    def psql(self, command: str) -> str:
        """Run ``command`` with psql on the server; its output."""
        result = subprocess.run(
            [str(self.bin_dir / "psql"), "-v", "ON_ERROR_STOP=1", self.get_uri()],
            input=command,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresServerError(f"psql failed ({result.returncode}): {result.stderr.strip()[-600:]}")
        return result.stdout

    def cleanup(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres(directory: Path) -> PostgresLike:
    """A running server on ``directory`` (empty or absent; deleted by ``cleanup()``): pgserver's
    when installed, else the system's. Raises when neither can start."""
    if pgserver_installed():
        from pgserver.postgres_server import get_server

        server: PostgresLike = get_server(directory, cleanup_mode="delete")
        return server
    bin_dir = system_postgres_bin()
    if bin_dir is None:
        raise PostgresServerError(
            "no PostgreSQL: neither the pgserver wheel nor Debian's postgresql package is installed; run make servers"
        )
    return SystemPostgres(directory, bin_dir).start()


if __name__ == "__main__":
    # make servers: exit 0 when a server is available (wheel or system binaries), 1 when not
    raise SystemExit(0 if pgserver_installed() or system_postgres_bin() is not None else 1)
