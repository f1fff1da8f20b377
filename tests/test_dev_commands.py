"""The developer commands a new user types first: ``make mock`` and ``make demo``.

``make mock PORT=N`` serves on that port and prints the base URLs last (Prism's own route listing
and request log go to a file). ``make demo`` without a spec prints one line saying what is missing,
not tracebacks.
"""

from __future__ import annotations

import os
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
def test_make_mock_takes_port_and_prints_its_urls_last(tmp_path: Path) -> None:
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
        while "customer:" not in (tmp_path / "out.txt").read_text() and time.monotonic() < deadline:
            assert make.poll() is None, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        answer = httpx.get(f"http://127.0.0.1:{port}/webservice/rest-api/enterprise-interface/v1.0/tests/connection")
        time.sleep(1.0)  # anything Prism would print after its start-up would show by now
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
        out.close()
    lines = [line for line in (tmp_path / "out.txt").read_text().splitlines() if line.strip()]
    urls = [line for line in lines if f"http://127.0.0.1:{port}/" in line]
    assert answer.status_code < 500, answer.text
    assert len(urls) == 2, lines
    # The two base URLs end the output (make's own "Terminated"/"Error" lines come after SIGTERM).
    ours = [line for line in lines if not line.startswith("make")]
    assert ours[-2:] == urls, lines
    assert ours[-2].strip() == f"enterprise: http://127.0.0.1:{port}/webservice/rest-api/enterprise-interface/v1.0"
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
