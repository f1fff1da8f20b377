"""scripts/update_spec.py on a copy of the project: a real update (pinned spec -> the older
2026-03-21 one), the report, source.json, the changelog, the regenerated package, the
hand-written layer's unit tests against it; and invalid or unchanged specs leaving the copy as
it was. The tests that generate code are named ``test_slow_*``."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import normalise, spec_diff, spec_source, update_spec

MAIN = Path(__file__).resolve().parent.parent
VENV_PYTHON = MAIN / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
COPIED = (
    "carecloud_async",
    "scripts",
    "api-spec",
    "generated",
    "tests",
    "examples",
    ".github",
    "pyproject.toml",
    "Makefile",
)
PINNED = spec_source.SHARED_SPEC
OLDER = PINNED.parent / "openapi-2026-03-21.yaml"
OLDER_SHA256 = "21bc0c12f2a8b58457620e9c08e168e622b1d9bc51ecba9a46eec5a03627f0fd"
OLDER_COMMIT = "fbd908f"
NESTED = "CARECLOUD_UPDATE_SPEC_COPY"  # set inside the copy: never update a copy of a copy
LAYER_TESTS_TIMEOUT = 150

pytestmark = pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="already inside a copy of the project")


@contextlib.contextmanager
def own_tmp(label: str) -> Iterator[Path]:
    """A temporary directory of our own: pytest's basetemp keeps only its last three sessions,
    and other sessions started meanwhile (several people share this machine) would delete a
    copy in use by these long tests."""
    with tempfile.TemporaryDirectory(prefix=f"carecloud-update-test-{label}-") as tmp:
        yield Path(tmp)


def copy_project(dest: Path) -> Path:
    """The project without .venv, node_modules, caches or build output."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
    for name in COPIED:
        source = MAIN / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    return dest


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file an update may touch (or create)."""
    digest: dict[str, str] = {}
    for base in ("api-spec", "generated", "build", "CHANGELOG.md"):
        path = root / base
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" not in file.parts:
                digest[str(file.relative_to(root))] = hashlib.sha256(file.read_bytes()).hexdigest()
    return digest


def needs(path: Path) -> Path:
    if not path.is_file():
        if os.environ.get("CI"):  # CI always has the shared spec folder: its absence is a failure
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"{path} is not available here (the shared spec folder is beside the checkout)")
    return path


def child_env(copy: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(copy), str(copy / "generated")]), **extra)
    env[NESTED] = "1"
    return env


# --------------------------------------------------------------------------- helpers, fast


def test_upstream_head_url_comes_from_source_json() -> None:
    source = spec_source.SpecSource.load()
    assert update_spec.upstream_head_url(source) == (
        "https://raw.githubusercontent.com/crmcarecloud/api-spec/HEAD/_build/openapi.yaml"
    )
    assert update_spec.commit_from_url(source.url) == source.commit
    assert update_spec.commit_from_url(update_spec.upstream_head_url(source)) is None


def test_upstream_head_is_resolved_to_a_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = spec_source.SpecSource.load()
    sha = "a" * 40
    asked: list[str] = []

    def fake_get(url: str, *, accept: str | None = None) -> bytes:
        asked.append(url)
        if url.startswith("https://api.github.com/"):
            return json.dumps([{"sha": sha, "commit": {"committer": {"date": "2026-09-01T10:00:00Z"}}}]).encode()
        return b"openapi: 3.0.2\n"

    monkeypatch.setattr(update_spec, "_get", fake_get)
    new = update_spec.obtain_new(None, source, tmp_path, commit=None, date=None)
    assert asked == [
        "https://api.github.com/repos/crmcarecloud/api-spec/commits?path=_build%2Fopenapi.yaml&per_page=1",
        f"https://raw.githubusercontent.com/crmcarecloud/api-spec/{sha}/_build/openapi.yaml",
    ]
    assert (new.commit, new.date, new.url, new.downloaded) == (sha, "2026-09-01", asked[1], True)


def test_upstream_head_without_network_fails_clearly(
    pristine: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, *, accept: str | None = None) -> bytes:
        raise OSError("Name or service not known")

    monkeypatch.setattr(update_spec, "_get", offline)
    before = tree_digest(pristine)
    assert update_spec.main(["--root", str(pristine)]) == update_spec.EXIT_ERROR
    output = capsys.readouterr().err
    assert (
        "could not download https://raw.githubusercontent.com/crmcarecloud/api-spec/HEAD/_build/openapi.yaml" in output
    )
    assert "pass a local file" in output
    assert tree_digest(pristine) == before


def test_local_file_origin(tmp_path: Path) -> None:
    source = spec_source.SpecSource.load()
    spec = tmp_path / "openapi.yaml"
    spec.write_text("openapi: 3.0.2\n")
    unknown = update_spec.obtain_new(str(spec), source, tmp_path, commit=None, date=None)
    # recorded by its path, not as the upstream HEAD (which may hold anything by now)
    assert (unknown.commit, unknown.date, unknown.url) == ("unknown", "unknown", spec.resolve().as_uri())
    label = spec_diff.SpecLabel(spec_source.sha256_of(spec), unknown.commit, unknown.date, unknown.url)
    report = spec_diff.render_report([], old=label, new=label)
    assert f"- source: local file `{spec.resolve()}`, sha256 {spec_source.sha256_of(spec)}" in report
    assert "- to: local file openapi.yaml, sha256 " in report
    assert "HEAD" not in report
    assert "unknown commit" not in report
    known = update_spec.obtain_new(str(spec), source, tmp_path, commit="b" * 40, date="2026-01-01")
    assert known.url == f"https://raw.githubusercontent.com/crmcarecloud/api-spec/{'b' * 40}/_build/openapi.yaml"
    assert (known.path, known.downloaded) == (spec.resolve(), False)


def test_prepend_changelog(tmp_path: Path) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    update_spec.prepend_changelog(changelog, "## Two\n\n- b\n")
    assert changelog.read_text() == "# Changelog\n\n## Two\n\n- b\n"
    update_spec.prepend_changelog(changelog, "## Three\n\n- c\n")
    assert changelog.read_text() == "# Changelog\n\n## Three\n\n- c\n\n## Two\n\n- b\n"
    untitled = tmp_path / "other.md"
    untitled.write_text("## One\n")
    update_spec.prepend_changelog(untitled, "## Two\n")
    assert untitled.read_text() == "## Two\n\n## One\n"


def test_current_version_reads_the_version_file(tmp_path: Path) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", update_spec.current_version(MAIN / "carecloud_async" / "_version.py"))
    version_file = tmp_path / "_version.py"
    version_file.write_text('"""v"""\n\n__version__ = "1.7.2"\n', encoding="utf-8")
    assert update_spec.current_version(version_file) == "1.7.2"
    assert update_spec.current_version(tmp_path / "missing.py") == "0.0.0"


# --------------------------------------------------------------------------- invalid or unchanged


@pytest.fixture(scope="module")
def pristine() -> Iterator[Path]:
    with own_tmp("pristine") as tmp:
        yield copy_project(tmp / "project")


def run_in_process(
    copy: Path, spec: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, dict[str, str]]:
    before = tree_digest(copy)
    code = update_spec.main(["--root", str(copy), spec, *extra])
    out = capsys.readouterr()
    after = tree_digest(copy)
    assert after == before, "the project copy was changed"
    return code, out.out + out.err, after


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("openapi: 3.0.2\npaths: {/x: [unclosed\n  : : :\n", "is not valid YAML or JSON"),
        ("just: a mapping\nof: things\n", "is not an OpenAPI 3.x document (no 'openapi' field)"),
        ("- a list\n- of things\n", "is not an OpenAPI document: its top level is a list"),
        ("swagger: '2.0'\npaths: {}\n", "is not an OpenAPI 3.x document (swagger: '2.0')"),
        ("openapi: 3.0.2\ninfo: {title: t, version: '1'}\n", "is an OpenAPI document without paths"),
        ("\x00\x01binary", "is not valid YAML or JSON"),
    ],
    ids=["garbage-yaml", "yaml-not-openapi", "a-list", "swagger-2", "no-paths", "binary"],
)
def test_invalid_spec_leaves_the_copy_unchanged(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    code, output, _ = run_in_process(pristine, str(bad), capsys)
    assert code == update_spec.EXIT_ERROR
    assert message in output
    assert "The project was not changed." in output


def test_missing_file_and_unreachable_url(pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run_in_process(pristine, str(tmp_path / "nope.yaml"), capsys)
    assert code == update_spec.EXIT_ERROR
    assert "spec file not found" in output
    code, output, _ = run_in_process(pristine, "https://127.0.0.1:9/openapi.yaml", capsys)
    assert code == update_spec.EXIT_ERROR
    assert "could not download https://127.0.0.1:9/openapi.yaml" in output
    assert "make update-spec SPEC=/path/to/openapi.yaml" in output
    code, output, _ = run_in_process(pristine, "http://example.invalid/openapi.yaml", capsys)
    assert code == update_spec.EXIT_ERROR
    assert "SPEC must be a file path or an https URL" in output


def test_same_spec_is_reported_unchanged(pristine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output, _ = run_in_process(pristine, str(needs(PINNED)), capsys)
    assert code == update_spec.EXIT_UNCHANGED
    assert "spec unchanged" in output
    code, output, _ = run_in_process(pristine, str(PINNED), capsys, "--ok-if-unchanged")
    assert code == 0
    assert "spec unchanged" in output


@pytest.mark.skipif(sys.version_info < (3, 11), reason="openapi-python-client 0.29.1 needs Python 3.11")
def test_slow_spec_the_generator_rejects_leaves_the_copy_unchanged(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARECLOUD_SPEC", str(needs(PINNED)))
    dangling = {
        "openapi": "3.0.2",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "operationId": "getX",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}},
                        }
                    },
                }
            }
        },
    }
    spec = tmp_path / "dangling.json"
    spec.write_text(json.dumps(dangling), encoding="utf-8")
    code, output, _ = run_in_process(pristine, str(spec), capsys)
    assert code == update_spec.EXIT_ERROR
    assert "generation from the new spec failed; nothing was changed" in output
    assert "Could not find reference" in output


# --------------------------------------------------------------------------- the real update


@dataclasses.dataclass
class Runs:
    """The two updates of one copy to the 2026-03-21 spec: stopped by the gate, then accepted."""

    copy: Path
    gated: subprocess.CompletedProcess[str]
    unchanged_by_the_gate: bool
    accepted: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    """A copy of the project moved from the pinned spec to the 2026-03-21 one: the gate stops the
    first run (that spec's examples hold nulls its schemas do not allow, and it removes
    ``referral_code``, which the sign-up workflow passes), the second accepts it."""
    if sys.version_info < (3, 11):  # as test_slow_spec_the_generator_rejects_leaves_the_copy_unchanged
        pytest.skip("openapi-python-client 0.29.1 needs Python 3.11")
    needs(PINNED)
    needs(OLDER)
    with own_tmp("updated") as tmp:
        copy = copy_project(tmp / "project")
        before = tree_digest(copy)
        _, gated = update_copy(copy, accept=False)
        after = {name: digest for name, digest in tree_digest(copy).items() if not name.startswith("build/")}
        _, accepted = update_copy(copy)
        yield Runs(copy, gated, after == before, accepted)


@pytest.fixture(scope="module")
def updated(runs: Runs) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The copy after the accepted update, and that run."""
    return runs.copy, runs.accepted


def update_copy(copy: Path, *, accept: bool = True) -> tuple[Path, subprocess.CompletedProcess[str]]:
    command = [PYTHON, "-m", "scripts.update_spec", "--root", str(copy), str(OLDER)]
    command += ["--commit", OLDER_COMMIT, "--date", "2026-03-21"]
    command += ["--accept-breakage"] if accept else []
    result = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        command,
        cwd=copy,
        env=child_env(copy, CARECLOUD_SPEC=str(PINNED)),
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    print(result.stdout, result.stderr)
    return copy, result


def test_slow_update_to_the_older_spec(updated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    copy, result = updated
    assert result.returncode == 0, result.stdout + result.stderr
    report = copy / "build" / "spec-update" / "CHANGES.md"
    assert f"report: {report}" in result.stdout
    assert "export CARECLOUD_SPEC=" in result.stdout

    text = report.read_text(encoding="utf-8")
    assert text.startswith("# CareCloud API spec update\n")
    assert "- to: fbd908f, 2026-03-21, sha256 21bc0c12f2a8" in text
    assert "Suggested version bump: **minor** (0.1.0 -> 0.2.0" in text
    assert "| Operations | 2 | 3 | 0 | 3 |" in text
    assert "| Parameters | 0 | 3 | 0 | 3 |" in text
    for line in (
        "- **BREAKING** `GET /audiences` (getAudiences) removed",
        "- **BREAKING** `GET /audiences/{audience_id}` (getAudience) removed",
        "- `GET /target-groups` (getTargetGroups) added",
        "- `POST /customers` (postCustomer)\n  - **BREAKING** removed field `referral_code`",
        "  - **BREAKING** removed query parameter `text_id`",
        "  - **BREAKING** removed request field `type`: value `referral_code`",
        # a change to a shared schema is one line listing the operations it shows in
        "- **BREAKING** removed `#/components/schemas/MessageTemplate` field `icon_url` — in 2 operations "
        "(response 200): `GET /message-templates`, `GET /message-templates/{message_template_id}`",
    ):
        assert line in text, line
    changes = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert {
        "section": "operations",
        "method": "GET",
        "path": "/audiences",
        "kind": "removed",
        "where": "",
        "name": "",
        "detail": "",
        "breaking": True,
        "operation_id": "getAudiences",
        "component": "",
        "component_field": "",
    } in changes

    changelog = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog\n\n## Unreleased: CareCloud API spec fbd908f, 2026-03-21")
    assert "- **BREAKING** `GET /audiences` (getAudiences) removed" in changelog


def test_slow_gate_stops_an_update_whose_examples_or_types_break(runs: Runs) -> None:
    # issue 22, item 5: this used to exit 0 with a report that said nothing about either
    result = runs.gated
    assert result.returncode == update_spec.EXIT_GATE, result.stdout + result.stderr
    assert runs.unchanged_by_the_gate  # only the report (build/) was written
    report = (runs.copy / "build" / "spec-update" / "CHANGES.md").read_text(encoding="utf-8")
    gate = report[report.index("## Gate") : report.index("| Section |")]
    assert "**Failed: " in gate
    # hand-written code that uses what the spec removed, named by file, line and error
    assert "carecloud_async/workflows/signup.py:" in gate
    assert 'Unexpected keyword argument "referral_code" for "PostCustomerBody"' in gate
    # examples that do not parse: model, field path, problem, value, and the operations
    assert (
        "- `BadRequestErrorBody.error.detail` is null, and the spec does not allow null there; value `null`: " in gate
    )
    assert "`GET /agreements 400` (built)" in gate
    details = json.loads((runs.copy / "build" / "spec-update" / "GATE.json").read_text(encoding="utf-8"))
    assert details["type_errors"]
    assert len(details["example_failures"]) > 100
    assert "--accept-breakage" in result.stdout
    # accepted: the update goes through, and its report keeps the gate's findings
    assert runs.accepted.returncode == 0, runs.accepted.stdout + runs.accepted.stderr
    assert "(accepted with --accept-breakage)" in runs.accepted.stdout


def test_slow_update_records_the_new_spec(updated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    copy, _ = updated
    before = json.loads((MAIN / "api-spec" / "source.json").read_text(encoding="utf-8"))
    after = json.loads((copy / "api-spec" / "source.json").read_text(encoding="utf-8"))
    assert after == {
        **before,
        "sha256": OLDER_SHA256,
        "commit": OLDER_COMMIT,
        "date": "2026-03-21",
        "url": f"https://raw.githubusercontent.com/crmcarecloud/api-spec/{OLDER_COMMIT}/_build/openapi.yaml",
    }
    # the real project is untouched
    assert before["sha256"] == spec_source.sha256_of(PINNED)


def test_slow_updated_package_imports(updated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    copy, _ = updated
    package = copy / "generated" / "carecloud_api"
    assert not (package / "api" / "audiences").exists()
    assert (package / "api" / "target_groups" / "get_target_groups.py").is_file()
    code = (
        "import carecloud_api, carecloud_api.client\n"
        "from carecloud_api.api.customers import get_customers, post_customer\n"
        "from carecloud_api.api.target_groups import get_target_groups\n"
        "from carecloud_api._catalog import OPERATIONS\n"
        f"assert carecloud_api.__file__.startswith({str(package)!r}), carecloud_api.__file__\n"
        "assert not any(op.path.startswith('/audiences') for op in OPERATIONS)\n"
        "print(len(OPERATIONS))\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [PYTHON, "-c", code], cwd=copy, env=child_env(copy), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    older = update_spec.validate(OLDER)
    operations = sum(1 for item in older["paths"].values() for method in item if method in normalise.HTTP_METHODS)
    assert result.stdout.strip() == str(operations)  # every operation of that spec (321), none other


def test_slow_update_again_is_unchanged(updated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    copy, _ = updated
    before = tree_digest(copy)
    result = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [PYTHON, "-m", "scripts.update_spec", "--root", str(copy), str(OLDER)],
        cwd=copy,
        env=child_env(copy),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == update_spec.EXIT_UNCHANGED, result.stdout + result.stderr
    assert "spec unchanged" in result.stdout
    assert tree_digest(copy) == before


def test_slow_layer_unit_tests_against_the_updated_package(
    updated: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The hand-written layer's unit tests, run in the copy against the regenerated package: they
    pass, or fail with a readable list of failing tests (printed), which is what a spec update
    PR must show."""
    copy, _ = updated
    command = [PYTHON, "-m", "pytest", "-m", "not prism", "-q", "-rfE", "-p", "no:cacheprovider"]
    command += ["--ignore=tests/test_update_spec.py", "--ignore=tests/test_spec_diff.py"]
    # not the layer's: the docs site build, the browser and the release build have their own runs
    command += [
        "--ignore=tests/test_docs_browser.py",
        "--ignore=tests/test_docs_site.py",
        "--ignore=tests/test_release_check.py",
    ]
    try:
        result = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            command,
            cwd=copy,
            env=child_env(copy, CARECLOUD_SPEC=str(OLDER)),
            capture_output=True,
            text=True,
            timeout=LAYER_TESTS_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the layer's unit tests took more than {LAYER_TESTS_TIMEOUT}s in the copy")
    failing = [line for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout.strip() else []
    print(f"layer unit tests against the 2026-03-21 spec: exit {result.returncode}, {summary}")
    print("\n".join(failing) or "no failing tests")
    if result.returncode in (0, 5):  # passed, or no test selected
        return
    assert result.returncode in (1, 2), result.stdout[-3000:] + result.stderr[-3000:]
    assert failing, "pytest failed without a list of failing tests:\n" + result.stdout[-3000:]


# --------------------------------------------------------------------------- the gate (issue 22, item 5)

SMALL_SPEC: dict[str, Any] = {
    "openapi": "3.0.2",
    "info": {"title": "small", "version": "1"},
    "paths": {
        "/items": {
            "get": {
                "operationId": "getItems",
                "tags": ["Items"],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "data": {
                                            "type": "object",
                                            "properties": {
                                                "items": {
                                                    "type": "array",
                                                    "items": {"$ref": "#/components/schemas/Item"},
                                                },
                                                "total_items": {"type": "integer", "example": 1},
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/items/{item_id}": {
            "get": {
                "operationId": "getItem",
                "tags": ["Items"],
                "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Item"},
                                "examples": {
                                    "fine": {"value": {"item_id": "i1", "tags": ["a"], "note": "n"}},
                                    "odd": {"value": {"item_id": "i2", "tags": {"0": "a"}}},
                                },
                            }
                        },
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["item_id"],
                "properties": {
                    "item_id": {"type": "string", "example": "i1"},
                    "tags": {"type": "array", "items": {"type": "string"}, "default": False},
                    "note": {"type": "string", "example": "n"},
                },
            },
            "Note": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "example": None},
                    "item": {"$ref": "#/components/schemas/Item"},
                },
                "example": {"text": "t", "item": {"item_id": 5}},
            },
            "Tag": {"type": "object", "properties": {"label": {"type": "string", "example": None}}},
        }
    },
}


@pytest.fixture(scope="module")
def small_package() -> Iterator[Path]:
    """The package generated from SMALL_SPEC, and its normalised spec, in a directory of their own."""
    if sys.version_info < (3, 11):
        pytest.skip("openapi-python-client 0.29.1 needs Python 3.11")
    from scripts import generate

    with own_tmp("small") as tmp:
        spec = tmp / "small.json"
        spec.write_text(json.dumps(SMALL_SPEC), encoding="utf-8")
        yield generate.build(spec, tmp / "out", verbose=False).parent


def test_every_example_of_a_small_spec_is_parsed_and_each_failure_named(small_package: Path) -> None:
    spec = json.loads((small_package / "openapi.normalised.json").read_text(encoding="utf-8"))
    from scripts import spec_examples

    examples = spec_examples.collect(spec)
    assert {(e.where, e.source) for e in examples} == {
        ("GET /items 200", "built"),
        ("GET /items/{item_id} 200", "examples.fine"),
        ("GET /items/{item_id} 200", "examples.odd"),
        ("schema Item", "built"),
        ("schema Note", "example"),
        ("schema Note", "built"),
        ("schema Tag", "built"),
    }
    # Prism's body: each property's example, else its default
    assert spec_examples.prism_value(spec, spec["components"]["schemas"]["Item"]) == {
        "item_id": "i1",
        "tags": False,
        "note": "n",
    }
    total, failures = update_spec.check_examples(small_package / "openapi.normalised.json", small_package, MAIN)
    assert total == 7
    lines = sorted(f"{f['where']} ({f['source']}): {f['location']} {f['problem']}; {f['value']}" for f in failures)
    assert lines == [
        # an array property with default: false, as Prism serves it
        "GET /items 200 (built): GetItemsResponse200.data.items[0].tags is a boolean where the spec says array; false",
        # an explicit example of the operation
        'GET /items/{item_id} 200 (examples.odd): Item.tags is an object where the spec says array; {"0": "a"}',
        "schema Item (built): Item.tags is a boolean where the spec says array; false",
        # a schema example
        "schema Note (built): Note.item.item_id is an integer where the spec says string; 5",
        "schema Note (example): Note.item.item_id is an integer where the spec says string; 5",
        # example: null on a field not marked nullable
        "schema Tag (built): Tag.label is null, and the spec does not allow null there; null",
    ]


def test_the_gate_renders_each_failure_and_the_type_errors() -> None:
    gate = update_spec.Gate(
        examples=10,
        example_failures=[
            {"where": "GET /x 200", "source": "example", "location": "X.a[0]", "problem": "is null", "value": "null"}
        ],
        type_errors=['carecloud_async/workflows/cards.py:139: error: Unexpected keyword argument "card_number"'],
        type_check="mypy --strict",
    )
    text = gate.render()
    assert gate.failed
    assert "**Failed: 1 examples of the new spec do not parse" in text
    assert "- `X.a[0]` is null; value `null`: `GET /x 200` (example)" in text
    assert '- `carecloud_async/workflows/cards.py:139: error: Unexpected keyword argument "card_number"`' in text
    assert "--accept-breakage" in text
    passed = update_spec.Gate(examples=10, type_check="mypy --strict").render()
    assert "Passed: all 10 examples" in passed
