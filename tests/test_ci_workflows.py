""".github/workflows/: tests.yml (every push and pull request, `make test` on each supported
Python), release.yml (on a version tag: tests, then build and check, then publish with trusted
publishing, then a GitHub release with the CHANGELOG notes) and docs.yml (the site from main to
GitHub Pages). Each is loaded and its triggers, matrix, permissions and steps checked, and tied
to what the rest of the project says (the supported Pythons, the docs' site folder, the
screenshot folder, the release notes file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


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


@pytest.mark.parametrize("name", ["tests.yml", "release.yml", "docs.yml", "update-spec.yml"])
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
    assert commands(steps) == ["make shared-specs", "make test"]
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


# --------------------------------------------------------------------------- release.yml


def test_release_runs_on_version_tags_only(release: dict[Any, Any]) -> None:
    assert triggers(release) == {"push": {"tags": ["v*.*.*"]}}
    assert release["permissions"] == {"contents": "read"}, "jobs ask for more only where they need it"


def test_release_is_tested_then_built_then_published_then_announced(release: dict[Any, Any]) -> None:
    jobs = release["jobs"]
    assert set(jobs) == {"test", "build", "publish", "github-release"}
    assert jobs["test"]["uses"] == "./.github/workflows/tests.yml"
    assert jobs["build"]["needs"] == "test"
    assert jobs["publish"]["needs"] == "build"
    assert jobs["github-release"]["needs"] == "publish"


def test_release_build_checks_the_distributions(release: dict[Any, Any]) -> None:
    build = release["jobs"]["build"]
    assert "permissions" not in build
    assert build["env"] == {"RELEASE_TAG": "${{ github.ref_name }}"}
    assert commands(build["steps"]) == ["make dist", "make release-notes"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
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
    assert step["uses"].endswith("@release/v1")
    assert not step.get("with"), "no password or token: trusted publishing"
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
    create = uses(job["steps"], "softprops/action-gh-release")["with"]
    assert create == {"body_path": "notes/release-notes.md", "files": "dist/*"}


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
