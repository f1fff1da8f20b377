""".github/workflows/update-spec.yml: weekly and manual triggers, Python 3.11 and Node 20, every
step that does work is a `make` target (update-spec, then test), and a pull request whose body
is the change report, opened only when an update happened."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "update-spec.yml"
REPORT = "build/spec-update/CHANGES.md"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    jobs = workflow["jobs"]
    assert len(jobs) == 1
    (job,) = jobs.values()
    assert job["runs-on"] == "ubuntu-latest"
    result: list[dict[str, Any]] = job["steps"]
    return result


def uses(steps: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [step for step in steps if str(step.get("uses", "")).startswith(f"{action}@")]
    assert len(found) == 1, f"{action} is used {len(found)} times"
    return found[0]


def test_triggers_weekly_and_manual(workflow: dict[Any, Any]) -> None:
    # YAML 1.1 reads the bare key `on` as True
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (cron,) = (entry["cron"] for entry in triggers["schedule"])
    minute, hour, day, month, weekday = cron.split()
    assert (day, month) == ("*", "*")
    assert re.fullmatch(r"[0-6]", weekday), "once a week"
    assert minute.isdigit()
    assert hour.isdigit()


def test_can_write_the_pull_request(workflow: dict[Any, Any]) -> None:
    # nothing at the workflow level (issue 28); the one job asks for what its pull request needs
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_toolchains(steps: list[dict[str, Any]]) -> None:
    uses(steps, "actions/checkout")
    assert str(uses(steps, "actions/setup-python")["with"]["python-version"]) == "3.11"
    assert str(uses(steps, "actions/setup-node")["with"]["node-version"]) == "20"
    names = [str(step.get("uses", "")).split("@")[0] for step in steps]
    assert names.index("actions/checkout") < names.index("actions/setup-python")


def test_every_working_step_is_a_make_target(steps: list[dict[str, Any]]) -> None:
    commands = [step["run"].strip() for step in steps if "run" in step]
    assert commands
    for command in commands:
        lines = [line for line in command.splitlines() if line.strip()]
        assert all(line.startswith("make ") for line in lines), command
    targets = [command.split()[1:] for command in commands]
    flat = [target for group in targets for target in group]
    # update-spec runs against the upstream head (no SPEC given on the command line), then test
    assert "update-spec" in flat
    assert "test" in flat
    assert flat.index("update-spec") < flat.index("test")
    update = next(step for step in steps if step.get("run", "").strip() == "make update-spec")
    assert "if" not in update


def test_spec_input_goes_through_the_environment(workflow: dict[Any, Any]) -> None:
    (job,) = workflow["jobs"].values()
    assert job["env"]["SPEC"] == "${{ inputs.spec || '' }}"
    assert job["env"]["UPDATE_SPEC_OK_IF_UNCHANGED"] == "1"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert not re.search(r"run:.*\$\{\{", text), "no expression pasted into a shell command"


def test_pull_request_with_the_report_only_when_something_changed(steps: list[dict[str, Any]]) -> None:
    pr = uses(steps, "peter-evans/create-pull-request")
    assert pr["with"]["body-path"] == REPORT
    assert REPORT in pr["if"]
    assert "hashFiles" in pr["if"]
    assert set(pr["with"]["add-paths"].split()) == {"api-spec/source.json", "generated/carecloud_api", "CHANGELOG.md"}
    test_step = next(step for step in steps if step.get("run", "").strip() == "make test")
    assert test_step["if"] == pr["if"]
    assert "continue-on-error" not in test_step, "a failing test suite must not open a pull request"
    assert steps.index(test_step) < steps.index(pr)
