"""The developer commands a new user types first: ``make mock`` and ``make demo``.

``make mock PORT=N`` serves on that port and prints last the ``CARECLOUD_*`` lines that configure a
client (or the ``carecloud`` command) for it, each checked by a call (Prism's own route listing and
request log go to a file). ``make demo`` without a spec prints one line saying what is missing,
not tracebacks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scripts import server_process

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.prism
def test_make_mock_takes_port_and_prints_working_environment_lines_last(tmp_path: Path) -> None:
    port = server_process.free_port()
    out = (tmp_path / "out.txt").open("w+")
    make = subprocess.Popen(  # noqa: S603 (our own Makefile)
        ["make", "--no-print-directory", "mock", f"PORT={port}"],  # noqa: S607 (make from PATH, as a user runs it)
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: stopped as a whole, like Ctrl-C would
    )
    try:
        deadline = time.monotonic() + 120
        while "CARECLOUD_INTERFACE=customer" not in (tmp_path / "out.txt").read_text() and time.monotonic() < deadline:
            assert make.poll() is None, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        answer = httpx.get(f"http://127.0.0.1:{port}/webservice/rest-api/enterprise-interface/v1.0/tests/connection")
        time.sleep(1.0)  # anything Prism would print after its start-up would show by now
        lines = [line for line in (tmp_path / "out.txt").read_text().splitlines() if line.strip()]
        # The environment lines end the output, each one a working configuration of the mock.
        exports = [line.split()[1:] for line in lines if line.strip().startswith("export CARECLOUD_")]
        assert len(exports) == 2, lines
        assert [line.strip() for line in lines[-3:]] == [
            f"export {' '.join(exports[0])}",
            "Customer API:",
            f"export {' '.join(exports[1])}",
        ], lines
        for words in exports:
            env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
            env.update(word.partition("=")[::2] for word in words)
            env["CARECLOUD_TOKEN_FILE"] = str(tmp_path / "tokens.json")  # the Customer API's device token
            called = subprocess.run(  # noqa: S603 (our own console script)
                [str(Path(sys.executable).parent / "carecloud"), "call", "GET /tests/connection"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert called.returncode == 0, (words, called.stderr)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
        out.close()
    assert answer.status_code < 500, answer.text
    assert {word for words in exports for word in words} >= {
        f"CARECLOUD_PROJECT_URL=http://127.0.0.1:{port}",
        "CARECLOUD_INTERFACE=customer",
    }
    ours = [line for line in lines if not line.startswith("make")]
    assert not any("[CLI]" in line or "GET " in line for line in ours), "Prism's own output reached the terminal"


def test_demo_without_a_spec_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-openapi.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")}
    env["CARECLOUD_SPEC"] = str(missing)
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert errors[0].startswith("error: CARECLOUD_SPEC")
    assert str(missing) in errors[0]


def test_demo_without_any_spec_source_says_where_to_put_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No CARECLOUD_SPEC, no ../shared spec, and no network for the download: one line, exit 1.
    from examples import demo
    from scripts import spec_source

    monkeypatch.delenv("CARECLOUD_SPEC", raising=False)
    monkeypatch.delenv("CARECLOUD_PROJECT_URL", raising=False)
    monkeypatch.setattr(spec_source, "SHARED_SPEC", Path("/nonexistent/shared/api-spec/openapi.yaml"))
    monkeypatch.setattr(spec_source, "DOWNLOAD_DIR", tmp_path)

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("Network is unreachable")  # the sandbox of a CI without internet

    monkeypatch.setattr("urllib.request.urlopen", offline)
    lines: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *args, **kwargs: lines.append(" ".join(map(str, args))))
    assert demo.main() == 1
    assert lines[-1].startswith("error: no local spec"), lines
    assert "CARECLOUD_SPEC" in lines[-1]


FAKE_APT_GET = """#!/bin/sh
# A stand-in apt-get: records its arguments, prints as much as the real one, "installs" chromium.
echo "$@" >> "{calls}"
i=0
while [ $i -lt 300 ]; do echo "Unpacking libsomething$i (1.0) ..."; i=$((i+1)); done
case "$*" in
  *install*chromium*)
    if [ -n "{fail}" ]; then echo "E: Unable to locate package chromium" >&2; exit 100; fi
    printf '#!/bin/sh\\n' > "{bin}/chromium"; chmod +x "{bin}/chromium";;
esac
"""


def fake_system(tmp_path: Path, *, fail: bool = False) -> tuple[dict[str, str], Path]:
    """A PATH with the tools `make browser` uses, a stand-in apt-get, and no browser."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("env", "id", "mkdir", "cat", "chmod", "sh"):
        (bin_dir / tool).symlink_to(which(tool))
    calls = tmp_path / "apt-calls.txt"
    apt = bin_dir / "apt-get"
    apt.write_text(FAKE_APT_GET.format(calls=calls, fail="yes" if fail else "", bin=bin_dir))
    apt.chmod(0o755)
    env = {name: value for name, value in os.environ.items() if name not in ("CHROMIUM", "PATH")}
    env["PATH"] = str(bin_dir)
    return env, calls


def make_browser(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own Makefile)
        [which("make"), "--no-print-directory", "browser", "SUDO="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def which(tool: str) -> str:
    found = shutil.which(tool)
    assert found, f"{tool} is not installed"
    return found


@pytest.mark.skipif(sys.version_info < (3, 11), reason="make browser does nothing on Python < 3.11")
def test_make_browser_installs_only_chromium_and_its_dependencies_quietly(tmp_path: Path) -> None:
    env, calls = fake_system(tmp_path)
    result = make_browser(env)
    assert result.returncode == 0, result.stdout + result.stderr
    install = next(line.split() for line in calls.read_text().splitlines() if "install" in line.split())
    assert {"--no-install-recommends", "-qq", "-y", "chromium"} <= set(install), install
    output = (result.stdout + result.stderr).splitlines()
    assert "Unpacking" not in result.stdout + result.stderr  # apt's progress went to the log only
    assert len(output) <= 3, output  # what make does, and the browser's path


@pytest.mark.skipif(sys.version_info < (3, 11), reason="make browser does nothing on Python < 3.11")
def test_make_browser_shows_apts_output_when_it_fails(tmp_path: Path) -> None:
    env, _ = fake_system(tmp_path, fail=True)
    result = make_browser(env)
    assert result.returncode != 0
    assert "E: Unable to locate package chromium" in result.stdout + result.stderr
