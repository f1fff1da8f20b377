"""The `carecloud` command from the wheel: installed with the `cli` extra into a fresh virtualenv
(typer, rich and PyYAML from the package index, nothing of ours), then run from outside the tree.

It catches what the editable install hides: the console script not declared, a module of the
command left out of the wheel, the spec report needing the code-generation scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARECLOUD_")}
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=600)  # noqa: S603
    if check:
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def test_the_console_script_works_from_the_wheel_with_the_cli_extra(tmp_path: Path) -> None:
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(tmp_path)], ROOT)
    (wheel,) = tmp_path.glob("carecloud_async-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / ("Scripts" if os.name == "nt" else "bin")
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[cli]"], tmp_path)
    carecloud = str(bin_dir / "carecloud")

    assert run([carecloud, "--version"], tmp_path).stdout.startswith("carecloud ")
    listed = run([carecloud, "ops", "getCustomers", "--json"], tmp_path).stdout.splitlines()
    assert json.loads(listed[0])["path"] == "/customers"

    missing = run([carecloud, "call", "getCustomers"], tmp_path, check=False)
    assert missing.returncode == 3
    assert "CARECLOUD_PROJECT_URL is not set" in missing.stderr

    # The spec report ships in the wheel; without the code-generation scripts it compares the
    # documents as published and says so.
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text("openapi: 3.0.2\ninfo: {title: t, version: '1'}\npaths: {}\n")
    new.write_text(
        "openapi: 3.0.2\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /a:\n    get:\n      operationId: getA\n      responses: {'200': {description: ok}}\n"
    )
    report = run([carecloud, "spec", "diff", str(old), str(new)], tmp_path).stdout
    assert "`GET /a` (getA) added" in report
    assert "Compared as published" in report
