""".github/workflows/: tests.yml (every push and pull request, `make test` on each supported
Python), release.yml (on a version tag: tests, then build and check, then publish with trusted
publishing, then a GitHub release with the CHANGELOG notes) and docs.yml (the site from main to
GitHub Pages). Each is loaded and its triggers, matrix, permissions and steps checked, and tied
to what the rest of the project says (the supported Pythons, the docs' site folder, the
screenshot folder, the release notes file).

The supply-chain rules (issue 28) are checked here on every workflow file, so that a change that
breaks one fails `pytest` as it fails `make zizmor`: each action pinned to a full commit hash with
its version in a comment (one commit per action across the files), each checkout without persisted
credentials, no cache restored in the release's build, publishing jobs, Dependabot keeping the pins
current, and zizmor itself (pinned, offline, in `make lint`) finding nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
ALL_WORKFLOWS = sorted(path.name for path in WORKFLOWS.glob("*.y*ml"))


def load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as True
    result: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return result


def uses(steps: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [step for step in steps if str(step.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"{action} is used {len(found)} times"
    return found[0]


def commands(steps: list[dict[str, Any]]) -> list[str]:
    return [line.strip() for step in steps if "run" in step for line in step["run"].splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tests_workflow() -> dict[Any, Any]:
    return load("tests.yml")


@pytest.fixture(scope="module")
def release() -> dict[Any, Any]:
    return load("release.yml")


@pytest.fixture(scope="module")
def docs() -> dict[Any, Any]:
    return load("docs.yml")


def test_every_workflow_is_checked() -> None:
    assert ALL_WORKFLOWS == ["docs.yml", "release.yml", "tests.yml", "update-spec.yml"]


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_no_expression_is_pasted_into_a_shell_command(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert not re.search(r"run:.*\$\{\{", text)
    for job in load(name)["jobs"].values():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", "")
            assert "timeout-minutes" in job or "uses" in job


# --------------------------------------------------------------------------- tests.yml


def test_tests_run_on_every_push_and_pull_request(tests_workflow: dict[Any, Any]) -> None:
    on = triggers(tests_workflow)
    assert set(on) == {"push", "pull_request", "workflow_call"}
    assert on["push"] == {"branches": ["**"]}, "every branch; tags go through the release workflow"
    assert on["pull_request"] is None
    assert tests_workflow["permissions"] == {"contents": "read"}


def test_tests_matrix_is_every_supported_python(tests_workflow: dict[Any, Any]) -> None:
    (job,) = tests_workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert job["strategy"]["matrix"] == {"python-version": PYTHONS}
    assert job["strategy"]["fail-fast"] is False, "one Python failing must not hide the others"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={PYTHONS[0]}"' in pyproject
    assert 'target-version = "py310"' in pyproject


def test_tests_steps_cache_pip_and_npm_and_run_make_test(tests_workflow: dict[Any, Any]) -> None:
    (job,) = tests_workflow["jobs"].values()
    steps = job["steps"]
    names = [str(step.get("uses", "")).split("@")[0] for step in steps]
    assert names.index("actions/checkout") < names.index("actions/setup-python") < names.index("actions/setup-node")
    python = uses(steps, "actions/setup-python")["with"]
    assert python == {
        "python-version": "${{ matrix.python-version }}",
        "cache": "pip",
        "cache-dependency-path": "pyproject.toml",
    }
    node = uses(steps, "actions/setup-node")["with"]
    assert node == {"node-version": "20", "cache": "npm", "cache-dependency-path": "package-lock.json"}
    assert (ROOT / node["cache-dependency-path"]).is_file()
    assert commands(steps) == ["make zizmor", "make shared-specs", "make test"]
    # the workflows' audit comes first: a weakened workflow fails in seconds, not after the tests
    assert steps.index(next(s for s in steps if s.get("run") == "make zizmor")) < steps.index(
        next(s for s in steps if s.get("run") == "make test")
    )
    shots = uses(steps, "actions/upload-artifact")
    assert shots["if"] == "always()", "the screenshots matter most when the browser test failed"
    assert shots["with"]["path"] == "build/docs-screenshots/"
    browser_test = (ROOT / "tests" / "test_docs_browser.py").read_text(encoding="utf-8")
    assert 'SHOTS = ROOT / "build" / "docs-screenshots"' in browser_test


def test_make_test_builds_the_docs_and_has_a_browser() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (line,) = [line for line in makefile.splitlines() if line.startswith("test:")]
    prerequisites = set(line.split("##")[0].split()[1:])
    assert {"docs", "browser", "servers", "lint", "typecheck", "check-generated"} <= prerequisites
    docs_recipe = makefile.split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    assert "$(PY) -m mkdocs build --strict" in docs_recipe


def test_make_lint_runs_zizmor_offline_at_a_pinned_version() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (lint,) = [line for line in makefile.splitlines() if line.startswith("lint:")]
    assert "zizmor" in lint.split("##")[0].split()[1:], "make test runs lint, lint runs the audit"
    recipe = makefile.split("\nzizmor:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/zizmor --offline" in recipe
    assert "--collect=workflows,dependabot ." in recipe
    assert "--persona" not in recipe, "the default settings, nothing relaxed"
    assert "--min-" not in recipe, "the default settings, nothing relaxed"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^    "zizmor==\d+\.\d+\.\d+",$', pyproject, re.MULTILINE), "an exact pin in the dev extra"


# --------------------------------------------------------------------------- release.yml


def test_release_runs_on_version_tags_only(release: dict[Any, Any]) -> None:
    assert triggers(release) == {"push": {"tags": ["v*.*.*"]}}
    assert release["permissions"] == {"contents": "read"}, "jobs ask for more only where they need it"


def test_release_is_tested_then_built_then_published_then_announced(release: dict[Any, Any]) -> None:
    jobs = release["jobs"]
    assert set(jobs) == {"test", "build", "publish", "github-release"}
    # `$/`: this repository at the running commit, never what a step left in the workspace
    assert jobs["test"]["uses"] == "$/.github/workflows/tests.yml"
    assert jobs["build"]["needs"] == "test"
    assert jobs["publish"]["needs"] == "build"
    assert jobs["github-release"]["needs"] == "publish"


def test_release_build_checks_the_distributions(release: dict[Any, Any]) -> None:
    build = release["jobs"]["build"]
    assert "permissions" not in build
    assert build["env"] == {
        "RELEASE_TAG": "${{ github.ref_name }}",
        "REPOSITORY_URL": "${{ github.server_url }}/${{ github.repository }}",
    }
    assert commands(build["steps"]) == ["make dist", "make release-notes"]
    assert uses(build["steps"], "actions/setup-python")["with"] == {"python-version": "3.11"}, "no cache"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '$(PY) -m scripts.changelog notes $(if $(REPOSITORY_URL),--repository "$(REPOSITORY_URL)")' in makefile
    assert "$(PY) -m build --outdir dist\n\t$(PY) -m scripts.release_check" in makefile
    release_check = (ROOT / "scripts" / "release_check.py").read_text(encoding="utf-8")
    assert 'os.environ.get("RELEASE_TAG")' in release_check
    assert '"twine", "check", "--strict"' in release_check
    kept = {
        step["with"]["name"]: step["with"]["path"]
        for step in build["steps"]
        if "upload-artifact" in step.get("uses", "")
    }
    assert kept == {"dist": "dist/", "release-notes": "build/release-notes.md"}
    assert "> build/release-notes.md" in makefile


def test_release_publishes_with_trusted_publishing(release: dict[Any, Any]) -> None:
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}, "OIDC for PyPI, nothing else"
    assert publish["environment"]["name"] == "pypi"
    step = uses(publish["steps"], "pypa/gh-action-pypi-publish")
    # no password or token (trusted publishing), and a PEP 740 attestation for each file
    assert step["with"] == {"attestations": True}
    download = uses(publish["steps"], "actions/download-artifact")["with"]
    assert download == {"name": "dist", "path": "dist/"}
    assert not commands(publish["steps"]), "publish only what the build job checked"


def test_github_release_notes_are_the_changelog_section(release: dict[Any, Any]) -> None:
    job = release["jobs"]["github-release"]
    assert job["permissions"] == {"contents": "write"}
    downloads = {
        step["with"]["name"]: step["with"]["path"] for step in job["steps"] if "download" in step.get("uses", "")
    }
    assert downloads == {"dist": "dist/", "release-notes": "notes/"}
    # the runner's own gh: no third-party action holds this job's write token
    assert [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step] == ["actions/download-artifact"] * 2
    assert commands(job["steps"]) == [
        'gh release create "$RELEASE_TAG" dist/* --verify-tag --title "$RELEASE_TAG"'
        " --notes-file notes/release-notes.md"
    ]
    assert job["env"] == {
        "RELEASE_TAG": "${{ github.ref_name }}",
        "GH_TOKEN": "${{ github.token }}",
        "GH_REPO": "${{ github.repository }}",
    }


# --------------------------------------------------------------------------- docs.yml


def test_docs_deploy_from_main_to_pages(docs: dict[Any, Any]) -> None:
    assert triggers(docs) == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert docs["permissions"] == {"contents": "read"}
    build, deploy = docs["jobs"]["build"], docs["jobs"]["deploy"]
    assert commands(build["steps"]) == ["make docs"]
    site_dir = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["site_dir"]
    assert uses(build["steps"], "actions/upload-pages-artifact")["with"] == {"path": site_dir}
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert uses(deploy["steps"], "actions/deploy-pages")["id"] == "deployment"
    assert docs["concurrency"] == {"group": "pages", "cancel-in-progress": False}


# --------------------------------------------------------------------------- supply chain (issue 28)

# owner/name[/path]@<the commit's full hash>; the version it is goes in a trailing `# vX.Y.Z`
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[^@\s]+)?)@(?P<sha>[0-9a-f]{40})$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*?))?\s*$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")


def all_uses(workflow: dict[Any, Any]) -> list[str]:
    """Every `uses:` of a workflow: reusable-workflow jobs and steps."""
    found = []
    for job in workflow["jobs"].values():
        if "uses" in job:
            found.append(str(job["uses"]))
        found += [str(step["uses"]) for step in job.get("steps", []) if "uses" in step]
    return found


def pin_problems(text: str) -> list[str]:
    """What in one workflow file's text breaks the pinning rule (empty: nothing)."""
    lines = [match for line in text.splitlines() if (match := USES_LINE.match(line))]
    problems = []
    if sorted(match["ref"].strip("'\"") for match in lines) != sorted(all_uses(yaml.safe_load(text))):
        problems.append("a `uses:` this check cannot read (flow style or an anchor): write one `uses:` a line")
    for match in lines:
        ref = match["ref"].strip("'\"")
        if ref.startswith("$/"):  # this repository at the running commit
            continue
        if ref.startswith("./"):
            problems.append(f"{ref}: `$/` for this repository's own workflows (not what the workspace holds)")
        elif ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"{ref}: pin the image by its digest")
        elif not PINNED.match(ref):
            problems.append(f"{ref}: pin to the full commit hash (40 hex digits), not a tag or a branch")
        elif not (match["comment"] and VERSION_COMMENT.match(match["comment"])):
            problems.append(f"{ref}: the version the commit is, in a comment (`# vX.Y.Z`): Dependabot updates both")
    return problems


def test_the_pin_rule_finds_a_tag_a_missing_version_and_a_workspace_path() -> None:
    text = """
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065
      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0
      - uses: docker://alpine:3
  test:
    uses: ./.github/workflows/tests.yml
"""
    assert pin_problems(text) == [
        "actions/checkout@v4: pin to the full commit hash (40 hex digits), not a tag or a branch",
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065: the version the commit is, in a comment"
        " (`# vX.Y.Z`): Dependabot updates both",
        "docker://alpine:3: pin the image by its digest",
        "./.github/workflows/tests.yml: `$/` for this repository's own workflows (not what the workspace holds)",
    ]
    hidden = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{uses: actions/checkout@v4}]\n"
    assert pin_problems(hidden) == [
        "a `uses:` this check cannot read (flow style or an anchor): write one `uses:` a line"
    ]


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_every_action_is_pinned_to_a_commit_with_its_version(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert all_uses(load(name)), f"{name} uses no action: is it still a workflow?"
    assert pin_problems(text) == []


def test_one_commit_and_version_per_action_across_the_workflows() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for name in ALL_WORKFLOWS:
        for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines():
            if (match := USES_LINE.match(line)) and (pinned := PINNED.match(match["ref"])):
                pins.setdefault(pinned["action"], set()).add((pinned["sha"], match["comment"]))
    assert "actions/checkout" in pins
    assert "pypa/gh-action-pypi-publish" in pins
    assert {action: found for action, found in pins.items() if len(found) > 1} == {}


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_checkouts_keep_no_credentials(name: str) -> None:
    for job in load(name)["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).split("@")[0] == "actions/checkout":
                assert "persist-credentials" in step.get("with", {}), f"{name}: a checkout without persist-credentials"
    for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines():
        if "persist-credentials:" in line:
            value, _, reason = line.split("persist-credentials:", 1)[1].partition("#")
            # true only for a step that pushes with git, and the line says why
            assert value.strip() == "false" or (value.strip() == "true" and reason.strip()), line


def test_release_builds_and_publishes_without_any_cache(release: dict[Any, Any]) -> None:
    jobs = {name: job for name, job in release["jobs"].items() if name != "test"}
    # (the `test` job is tests.yml with its pip and npm caches: nothing it makes reaches the build)
    assert set(jobs) == {"build", "publish", "github-release"}
    for name, job in jobs.items():
        for step in job["steps"]:
            assert not str(step.get("uses", "")).startswith("actions/cache"), f"{name}: {step}"
            inputs = step.get("with") or {}
            cached = {key: value for key, value in inputs.items() if "cache" in key and value not in (False, "false")}
            assert cached == {}, f"{name} restores a cache: {step}"


def test_dependabot_keeps_the_pinned_actions_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    (actions,) = [update for update in config["updates"] if update["package-ecosystem"] == "github-actions"]
    assert actions["directory"] == "/", "the root: Dependabot reads .github/workflows/ from there"
    assert actions["schedule"]["interval"] in {"daily", "weekly"}
    assert actions["cooldown"]["default-days"] >= 7, "a new release waits a week (zizmor's dependabot-cooldown)"


def test_zizmor_finds_nothing_offline() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run(  # noqa: S603 (the pinned dev tool, our own files)
        [str(zizmor), "--offline", "--no-progress", "--format", "json", "--collect=workflows,dependabot", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    findings = [
        (finding["ident"], finding["locations"][0]["symbolic"]["key"], finding["desc"])
        for finding in json.loads(result.stdout or "null") or []
    ]
    assert findings == [], result.stderr
    assert result.returncode == 0, result.stderr
