"""`make demo` runs the main job against a Prism it starts itself, and exits 0 with readable output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


#: The mock's bearer token and the demo password: never in the demo's output.
SECRETS = ("09359095c5da43c7ae11e710eabce49418715a6a", "demo-password")


def run_demo(**extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m examples.demo`` without the caller's CARECLOUD_* settings (so it starts its
    own mock); fail unless it exits 0 with no secret in its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLOUD_")} | extra_env
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


@pytest.mark.prism
def test_demo_runs_every_step_against_the_local_mock() -> None:
    out = run_demo().stdout
    for expected in (
        "login ",
        "listing ",
        "lookup by card ",
        "recommended ",
        "accept-payment ",
        "send-purchase ",
        "outbox submit ",
        "outbox sent ",
        "outbox cancel ",
        "outbox states ",
        "customer login ",
        "customer logout ",
        "reused the stored device token",
        "Mock stopped. Done.",
    ):
        assert expected in out, expected
    assert "pending 0, sending 0, sent 4, manual 0, discarded 0" in out  # the outbox sent all four


@pytest.mark.prism
def test_demo_prints_spans_and_metrics_when_asked() -> None:
    result = run_demo(CARECLOUD_DEMO_TRACING="1")
    out = result.stdout
    for expected in (
        "span op     postUserLogin",
        "span op     getCustomers",
        "span client GET /customers ",
        "span op     carecloud.outbox submit",
        "span op     carecloud.outbox send",
        "span op     postTokenLogin",
        "url.template=/tokens/{token_id}/actions/login",
        "== Metrics (OpenTelemetry)",
        "metric carecloud.client.operation.duration",
        "metric carecloud.client.logins",
    ):
        assert expected in out, expected
    assert "jane@example.com" not in out + result.stderr  # no query string in spans or logs
