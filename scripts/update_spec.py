"""Move the project to a new version of the CareCloud OpenAPI spec, with a report of what changed.

    make update-spec SPEC=path/to/openapi.yaml
    make update-spec SPEC=https://raw.githubusercontent.com/crmcarecloud/api-spec/<commit>/_build/openapi.yaml
    make update-spec                     # the head of the upstream repository (needs a network)

    python -m scripts.update_spec [SPEC] [--root DIR] [--report PATH] [--commit SHA] [--date DATE]
                                  [--old PATH] [--ok-if-unchanged] [--accept-breakage]

SPEC is a file, an https URL, or nothing: then the newest commit of the file recorded in
``api-spec/source.json`` is asked of the GitHub API and downloaded (falling back to the
``HEAD`` URL with an "unknown" commit when the API does not answer). A local file without
``--commit`` is recorded by its path (a ``file://`` URL in ``source.json``) and sha256, and the
report's source line names both.

Steps, all before the tree is touched: the new spec must parse and be OpenAPI 3.x with paths;
it is compared with the current one (:mod:`scripts.spec_diff`, on the normalised forms) and the
package is generated into a temporary directory with :func:`scripts.generate.build` (which fails
on any generator warning) and imported once. Only then are ``generated/carecloud_api`` replaced,
``api-spec/source.json`` updated (sha256, commit, url, date: what is known, else "unknown"),
the report written to ``build/spec-update/CHANGES.md`` (and ``CHANGES.json`` beside it) and an
entry prepended to ``CHANGELOG.md``. On any failure the tree is left as it was.

The current spec, for the comparison, is the first file with the recorded sha256 among
``--old``, ``$CARECLOUD_SPEC``, the shared spec folder beside the checkout
(``../shared/api-spec/*.yaml``) and ``build/spec/``; else it is downloaded from the recorded URL.

The gate, also before the tree is touched: every example of the new spec (operation and schema
examples, and the bodies Prism builds from schemas) is parsed in strict mode with the regenerated
models (:mod:`scripts.spec_examples`), and mypy checks ``carecloud_async`` against the regenerated
package. What fails is named at the top of the report (operation or model, field path, value;
file, line, error), all of it in ``GATE.json`` beside it, and the update stops there (exit 4)
unless ``--accept-breakage`` is given.

Exit codes: 0 updated; 1 error (invalid spec, download or generation failed; nothing changed);
4 the gate failed (the report is written; nothing else changed);
3 nothing to do, the spec has the sha256 already recorded (0 with ``--ok-if-unchanged`` or
``UPDATE_SPEC_OK_IF_UNCHANGED=1``, for ``make``, which turns every failing code into 2).

Afterwards: the project never keeps a copy of the spec, and ``make generate``,
``make check-generated`` and ``make test`` verify the spec against the new sha256. Point
``CARECLOUD_SPEC`` at the new file (``export CARECLOUD_SPEC=/path/to/openapi.yaml``), or put it
at ``../shared/api-spec/openapi.yaml``, or call ``python -m scripts.generate --spec PATH``. A spec
that came from a URL is kept in ``build/spec/openapi-<commit>.yaml``, the download cache of
:mod:`scripts.spec_source`, so it is found there without a download.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scripts import changelog, generate, spec_diff, spec_examples, spec_source
from scripts.normalise import HTTP_METHODS, Spec

ROOT = Path(__file__).resolve().parent.parent
EXIT_UPDATED = 0
EXIT_ERROR = 1
EXIT_UNCHANGED = 3
EXIT_GATE = 4
GATE_LINES = 40  # failures listed in the report per kind; all of them are in GATE.json
MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): error: (?P<message>.*)$")
UNKNOWN = "unknown"
OK_IF_UNCHANGED_ENV = "UPDATE_SPEC_OK_IF_UNCHANGED"
NEXT_STEPS = (
    "The spec is not kept in the project: for `make generate`, `make check-generated` and "
    "`make test`, export CARECLOUD_SPEC={path} (or put the file at ../shared/api-spec/openapi.yaml), "
    "or run `python -m scripts.generate --spec {path}`."
)
RAW_COMMIT_URL = re.compile(r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/(?P<commit>[0-9a-f]{40})/")
DOWNLOAD_TIMEOUT = 60
REPORT_MAX_CHARS = 60_000  # the report is a pull request body (at most 65,536 characters)


class UpdateError(Exception):
    """The new spec could not be obtained, validated or generated; the tree is unchanged."""


@dataclass
class Paths:
    """The files of the project (or of a copy of it, with ``--root``) that an update touches."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "api-spec" / "source.json"

    @property
    def package(self) -> Path:
        return self.root / "generated" / generate.PACKAGE

    @property
    def report(self) -> Path:
        return self.root / "build" / "spec-update" / "CHANGES.md"

    @property
    def changelog(self) -> Path:
        return self.root / "CHANGELOG.md"

    @property
    def version_file(self) -> Path:
        return self.root / "carecloud_async" / "_version.py"

    @property
    def download_dir(self) -> Path:
        return self.root / "build" / "spec"

    @property
    def shared_dir(self) -> Path:
        return self.root.parent / "shared" / "api-spec"


@dataclass
class NewSpec:
    """Where the new spec was read from, and what is known of its origin."""

    path: Path
    url: str
    commit: str = UNKNOWN
    date: str = UNKNOWN
    downloaded: bool = False


@dataclass
class Gate:
    """What the new spec breaks before anyone runs a test: its own examples that the regenerated
    models do not parse (:mod:`scripts.spec_examples`), and the type errors mypy finds in
    ``carecloud_async`` against the regenerated package."""

    examples: int = 0
    example_failures: list[dict[str, str]] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)
    type_check: str = ""  #: how the type check ran ("mypy --strict"), or why it did not

    @property
    def failed(self) -> bool:
        return bool(self.example_failures or self.type_errors)

    def summary(self) -> str:
        return (
            f"{len(self.example_failures)} examples of the new spec do not parse with the regenerated models, "
            f"{len(self.type_errors)} type errors in carecloud_async against the regenerated package"
        )

    def render(self) -> str:
        """The report's gate section (Markdown)."""
        lines = ["## Gate: the new spec's examples, and the hand-written code", ""]
        if not self.failed:
            lines += [
                f"Passed: all {self.examples} examples of the new spec parse with the regenerated models "
                f"(strict mode), and {self.type_check} finds no error in carecloud_async.",
                "",
            ]
            return "\n".join(lines)
        lines += [f"**Failed: {self.summary()}.**", ""]
        if self.example_failures:
            # one line per model, field path, problem and value, with the examples that have it
            grouped: dict[tuple[str, str, str], list[str]] = {}
            for failure in self.example_failures:
                key = (failure["location"], failure["problem"], failure["value"])
                grouped.setdefault(key, []).append(f"`{failure['where']}` ({failure['source']})")
            lines += [
                f"Examples that do not parse ({len(self.example_failures)} of {self.examples}; parsed in strict "
                "mode, as Prism serves them; model and field path, problem, value: the operations or schemas "
                "whose example has it, and where in them the example comes from):",
                "",
            ]
            for (location, problem, value), wheres in list(grouped.items())[:GATE_LINES]:
                where = f"`{location}` " if location else ""
                shown = f"; value `{value}`" if value else ""
                more = f" and {len(wheres) - 3} more" if len(wheres) > 3 else ""
                lines.append(f"- {where}{problem}{shown}: {', '.join(wheres[:3])}{more}")
            lines += _more(len(grouped))
        if self.type_errors:
            lines += [f"Type errors in carecloud_async ({self.type_check}):", ""]
            lines += [f"- `{error}`" for error in self.type_errors[:GATE_LINES]]
            lines += _more(len(self.type_errors))
        lines += [
            "Fix the normaliser or the templates (examples), or the hand-written code (type errors), or "
            "rerun with `--accept-breakage` to update anyway.",
            "",
        ]
        return "\n".join(lines)


def _more(count: int) -> list[str]:
    extra = [f"- ... and {count - GATE_LINES} more (all in GATE.json beside this report)"] if count > GATE_LINES else []
    return [*extra, ""]


@dataclass
class Outcome:
    status: int
    message: str
    changes: list[spec_diff.Change] = field(default_factory=list)
    report: Path | None = None


# --------------------------------------------------------------------------- where specs come from


def github_repo(repository: str) -> tuple[str, str]:
    """``https://github.com/owner/name`` -> (owner, name)."""
    parsed = urllib.parse.urlparse(repository)
    parts = [part for part in parsed.path.split("/") if part]
    if parsed.netloc != "github.com" or len(parts) < 2:
        raise UpdateError(f"api-spec/source.json: repository {repository!r} is not a GitHub repository")
    return parts[0], parts[1].removesuffix(".git")


def raw_url(repository: str, ref: str, path: str) -> str:
    """The raw.githubusercontent.com address of ``path`` at ``ref`` (a commit or ``HEAD``)."""
    owner, name = github_repo(repository)
    return f"https://raw.githubusercontent.com/{owner}/{name}/{ref}/{path.lstrip('/')}"


def upstream_head_url(source: spec_source.SpecSource) -> str:
    return raw_url(source.repository, "HEAD", source.path)


def commit_from_url(url: str) -> str | None:
    match = RAW_COMMIT_URL.match(url)
    return match["commit"] if match else None


def _get(url: str, *, accept: str | None = None) -> bytes:
    if urllib.parse.urlparse(url).scheme != "https":
        raise UpdateError(f"only https URLs are fetched, not {url!r}")
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
        data: bytes = response.read()
    return data


def latest_commit(source: spec_source.SpecSource) -> tuple[str, str] | None:
    """(commit, date) of the newest upstream commit that touched the spec file, from the GitHub
    API; None when it cannot be asked (no network, rate limit)."""
    owner, name = github_repo(source.repository)
    query = urllib.parse.urlencode({"path": source.path, "per_page": 1})
    url = f"https://api.github.com/repos/{owner}/{name}/commits?{query}"
    try:
        commits = json.loads(_get(url, accept="application/vnd.github+json"))
        commit = commits[0]
        return str(commit["sha"]), str(commit["commit"]["committer"]["date"])[:10]
    except (OSError, ValueError, LookupError, TypeError):
        return None


def download(url: str, dest_dir: Path) -> Path:
    target = dest_dir / "openapi.download.yaml"
    try:
        data = _get(url)
    except (OSError, urllib.error.URLError) as exc:
        raise UpdateError(
            f"could not download {url}: {exc}. Without a network, pass a local file: "
            "make update-spec SPEC=/path/to/openapi.yaml"
        ) from exc
    target.write_bytes(data)
    return target


def obtain_new(
    spec: str | None,
    source: spec_source.SpecSource,
    tmp: Path,
    *,
    commit: str | None,
    date: str | None,
) -> NewSpec:
    """Fetch or locate the new spec; work out its origin (commit, date, URL) as far as known."""
    if spec is None or spec == "":
        head = latest_commit(source)
        if head is not None:
            url = raw_url(source.repository, head[0], source.path)
            found = NewSpec(download(url, tmp), url, head[0], head[1], downloaded=True)
        else:
            url = upstream_head_url(source)
            found = NewSpec(download(url, tmp), url, downloaded=True)
    elif "://" in spec:
        if not spec.startswith("https://"):
            raise UpdateError(f"SPEC must be a file path or an https URL, not {spec!r}")
        found = NewSpec(download(spec, tmp), spec, commit_from_url(spec) or UNKNOWN, downloaded=True)
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UpdateError(f"spec file not found: {path}")
        # A local file's origin is its path (recorded as a file:// URI) and its sha256, not the
        # upstream HEAD, which may hold anything by now; --commit names the upstream commit.
        found = NewSpec(path.resolve(), path.resolve().as_uri())
    if commit:
        found.commit = commit
    if date:
        found.date = date
    if found.commit != UNKNOWN and not found.downloaded:
        found.url = raw_url(source.repository, found.commit, source.path)
    return found


def validate(path: Path) -> Spec:
    """Parse the spec and check that it is an OpenAPI 3.x document with operations; return it.
    (openapi-python-client's own parsing follows, when the package is generated.)"""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as fh:
            data: Any = yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UpdateError(f"{path} is not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UpdateError(f"{path} is not an OpenAPI document: its top level is a {type(data).__name__}")
    version = data.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        found = f"openapi: {version!r}" if "openapi" in data else "no 'openapi' field"
        if "swagger" in data:
            found = f"swagger: {data['swagger']!r}"
        raise UpdateError(f"{path} is not an OpenAPI 3.x document ({found})")
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise UpdateError(f"{path} is an OpenAPI document without paths")
    operations = sum(
        1 for item in paths.values() if isinstance(item, dict) for m in HTTP_METHODS if isinstance(item.get(m), dict)
    )
    if not operations:
        raise UpdateError(f"{path} has paths but no operations")
    return data


def find_current(paths: Paths, source: spec_source.SpecSource, explicit: Path | None) -> Path:
    """The current spec (the one whose sha256 is recorded), for the comparison."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    if os.environ.get("CARECLOUD_SPEC"):
        candidates.append(Path(os.environ["CARECLOUD_SPEC"]))
    if paths.shared_dir.is_dir():
        shared = sorted(paths.shared_dir.glob("*.yaml")) + sorted(paths.shared_dir.glob("*.json"))
        candidates += sorted(shared, key=lambda p: p.name != "openapi.yaml")
    if paths.download_dir.is_dir():
        candidates += sorted(paths.download_dir.glob("openapi-*.yaml"))
    for candidate in candidates:
        if candidate.is_file() and spec_source.sha256_of(candidate) == source.sha256:
            return candidate
    try:
        with tempfile.TemporaryDirectory(prefix="carecloud-old-spec-") as tmp:
            fetched = download(source.url, Path(tmp))
            if spec_source.sha256_of(fetched) != source.sha256:
                raise UpdateError(f"{source.url} does not have the recorded sha256 {source.sha256}")
            paths.download_dir.mkdir(parents=True, exist_ok=True)
            cached = paths.download_dir / f"openapi-{source.commit[:12]}.yaml"
            shutil.copyfile(fetched, cached)
            return cached
    except UpdateError as exc:
        raise UpdateError(
            f"the current spec (sha256 {source.sha256}) is needed for the comparison and was not "
            f"found: pass --old PATH or set CARECLOUD_SPEC ({exc})"
        ) from exc


def current_version(version_file: Path) -> str:
    """The project version, from ``carecloud_async/_version.py`` (the one place it is written)."""
    try:
        return changelog.read_version(version_file)
    except (OSError, changelog.ChangelogError):
        return "0.0.0"


# --------------------------------------------------------------------------- writing


def replace_package(fresh: Path, target: Path) -> None:
    """Swap the generated package for the fresh one (copied beside it first, then renamed)."""
    staging = target.with_name(f".{target.name}.new")
    retired = target.with_name(f".{target.name}.old")
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(fresh, staging, ignore=shutil.ignore_patterns("__pycache__"))
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    if retired.exists():
        shutil.rmtree(retired)


def write_source(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def prepend_changelog(path: Path, entry: str) -> None:
    """Put ``entry`` (a ``## ...`` section) first in the changelog, below its title; create the
    file when missing."""
    entry = entry.rstrip("\n") + "\n"
    if not path.exists():
        path.write_text(f"# Changelog\n\n{entry}", encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# "):
        index = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
        head = "".join(lines[:index]).rstrip("\n") + "\n\n"
        rest = "".join(lines[index:])
        path.write_text(head + entry + ("\n" + rest if rest else ""), encoding="utf-8")
    else:
        path.write_text(entry + ("\n" + text if text else ""), encoding="utf-8")


def smoke_import(package_parent: Path) -> None:
    """Import the fresh package once, in a child interpreter, before it replaces the old one."""
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    code = f"import {generate.PACKAGE}, {generate.PACKAGE}.client, {generate.PACKAGE}._catalog"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False, cwd=package_parent
    )
    if result.returncode != 0:
        raise UpdateError(f"the generated package does not import:\n{result.stderr[-3000:]}")


def check_examples(normalised: Path, package_parent: Path, root: Path) -> tuple[int, list[dict[str, str]]]:
    """(examples parsed, failures): every example of the new spec parsed with the fresh package, in
    a child interpreter with that package first on its path (:mod:`scripts.spec_examples`)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_parent), str(root)]))
    command = [sys.executable, "-m", "scripts.spec_examples", str(normalised), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=root)
    if result.returncode not in (0, 1):
        raise UpdateError(f"the examples of the new spec could not be checked:\n{result.stderr[-3000:]}")
    failures: list[dict[str, str]] = json.loads(result.stdout)
    counted = re.search(r"(\d+) examples", result.stderr)
    spec = json.loads(normalised.read_text(encoding="utf-8"))
    return (int(counted[1]) if counted else len(spec_examples.collect(spec))), failures


def check_types(package_parent: Path, root: Path, tmp: Path) -> tuple[str, list[str]]:
    """(how it ran, errors): mypy over ``carecloud_async`` with the fresh package in front of the
    installed one (``MYPYPATH``), with the project's settings (strict)."""
    config = root / "pyproject.toml"
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(tmp / "mypy-cache"), "-p", "carecloud_async"]
    if config.is_file():
        command[3:3] = ["--config-file", str(config)]
    env = dict(os.environ, MYPYPATH=str(package_parent))
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=root)
    if result.returncode not in (0, 1) or "No module named mypy" in result.stderr:
        return f"mypy did not run ({(result.stderr or result.stdout).strip()[-300:]})", []
    errors = [line for line in result.stdout.splitlines() if MYPY_LINE.match(line)]
    return "mypy --strict", errors


def run_gate(fresh: Path, root: Path, tmp: Path) -> Gate:
    """The gate over the freshly generated package ``fresh`` (see :class:`Gate`)."""
    gate = Gate()
    gate.examples, gate.example_failures = check_examples(fresh.parent / "openapi.normalised.json", fresh.parent, root)
    gate.type_check, gate.type_errors = check_types(fresh.parent, root, tmp)
    return gate


def gate_report(
    gate: Gate,
    changes: list[spec_diff.Change],
    *,
    old: spec_diff.SpecLabel,
    new: spec_diff.SpecLabel,
    bump: spec_diff.Bump,
) -> str:
    """The change report with the gate's section first, right below where the spec came from."""
    gate_text = gate.render()
    text = spec_diff.render_report(changes, old=old, new=new, bump=bump, max_chars=REPORT_MAX_CHARS - len(gate_text))
    first_count = text.index("\n**")
    return text[: first_count + 1] + gate_text + "\n" + text[first_count + 1 :]


# --------------------------------------------------------------------------- the update


def update(
    spec: str | None,
    *,
    root: Path = ROOT,
    report: Path | None = None,
    commit: str | None = None,
    date: str | None = None,
    old: Path | None = None,
    ok_if_unchanged: bool = False,
    accept_breakage: bool = False,
) -> Outcome:
    """Run the update (see the module docstring); raise :class:`UpdateError` on failure."""
    paths = Paths(root.resolve())
    report_path = (report or paths.report).resolve()
    try:
        source_data: dict[str, Any] = json.loads(paths.source.read_text(encoding="utf-8"))
        source = spec_source.SpecSource(**source_data)
    except (OSError, ValueError, TypeError) as exc:
        raise UpdateError(f"cannot read {paths.source}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="carecloud-update-") as tmp_name:
        tmp = Path(tmp_name)
        new = obtain_new(spec, source, tmp, commit=commit, date=date)
        sha256 = spec_source.sha256_of(new.path)
        if sha256 == source.sha256:
            status = EXIT_UPDATED if ok_if_unchanged else EXIT_UNCHANGED
            return Outcome(status, f"spec unchanged: {new.path} has the recorded sha256 {sha256}; nothing to do")
        new_spec = validate(new.path)
        old_spec = validate(find_current(paths, source, old))
        try:
            changes = spec_diff.diff(old_spec, new_spec)
        except Exception as exc:  # the normaliser met something it does not know
            raise UpdateError(f"the new spec could not be normalised: {type(exc).__name__}: {exc}") from exc
        try:
            fresh = generate.build(new.path, tmp / "generated", verbose=False, root=paths.root)
        except (generate.GenerationError, subprocess.CalledProcessError) as exc:
            raise UpdateError(f"generation from the new spec failed; nothing was changed.\n{exc}") from exc
        smoke_import(fresh.parent)
        gate = run_gate(fresh, paths.root, tmp)

        bump = spec_diff.suggest_bump(changes, current_version(paths.version_file))
        old_label = spec_diff.SpecLabel(source.sha256, source.commit, source.date, source.url)
        new_label = spec_diff.SpecLabel(sha256, new.commit, new.date, new.url)
        text = gate_report(gate, changes, old=old_label, new=new_label, bump=bump)
        entry = spec_diff.render_changelog(changes, new=new_label, bump=bump)
        report_path.parent.mkdir(parents=True, exist_ok=True)
        gate_json = report_path.with_name("GATE.json")
        gate_json.write_text(json.dumps(dataclasses.asdict(gate), indent=1) + "\n", encoding="utf-8")
        if gate.failed and not accept_breakage:
            # Nothing in the project changes; the report says what the new spec breaks.
            report_path.write_text(text, encoding="utf-8")
            message = "\n".join(
                [
                    f"the spec {new_label.short()} was not applied: {gate.summary()}.",
                    *(f"  {line}" for line in gate.render().splitlines()[4:][: GATE_LINES + 4] if line),
                    f"report: {report_path}",
                    "Fix them, or rerun with --accept-breakage to update anyway.",
                ]
            )
            return Outcome(EXIT_GATE, message, changes, report_path)

        # Everything is ready: now, and only now, the tree changes.
        replace_package(fresh, paths.package)
        # The resource tree generated from it lives in the hand-written package (scripts/resources.py).
        replace_package(fresh.parent / generate.RESOURCES, paths.root / "carecloud_async" / generate.RESOURCES)
        source_data.update(commit=new.commit, date=new.date, url=new.url, sha256=sha256)
        write_source(paths.source, source_data)
        if new.downloaded:
            paths.download_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new.path, paths.download_dir / f"openapi-{new.commit[:12]}.yaml")
        report_path.write_text(text, encoding="utf-8")
        report_path.with_suffix(".json").write_text(
            json.dumps([dataclasses.asdict(change) for change in changes], indent=1) + "\n", encoding="utf-8"
        )
        prepend_changelog(paths.changelog, entry)

    kept = paths.download_dir / f"openapi-{new.commit[:12]}.yaml" if new.downloaded else new.path
    message = "\n".join(
        [
            f"updated to the spec {new_label.short()}: {spec_diff.headline(changes)}; "
            f"suggested version bump: {bump.level} ({bump.current} -> {bump.suggested})",
            f"gate: {gate.summary()}" + (" (accepted with --accept-breakage)" if gate.failed else ""),
            f"report: {report_path}",
            f"changelog: {paths.changelog}",
            NEXT_STEPS.format(path=kept),
        ]
    )
    return Outcome(EXIT_UPDATED, message, changes, report_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.update_spec",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", nargs="?", help="new spec: a file or an https URL (default: upstream head)")
    parser.add_argument("--root", type=Path, default=ROOT, help="project to update (default: this one)")
    parser.add_argument("--report", type=Path, help="report path (default: build/spec-update/CHANGES.md)")
    parser.add_argument("--commit", help="upstream commit of the new spec, when it is not in its URL")
    parser.add_argument("--date", help="date of that commit (YYYY-MM-DD)")
    parser.add_argument("--old", type=Path, help="the current spec, when it is not found by itself")
    parser.add_argument(
        "--ok-if-unchanged",
        action="store_true",
        default=os.environ.get(OK_IF_UNCHANGED_ENV, "") not in ("", "0"),
        help=f"exit 0, not {EXIT_UNCHANGED}, when the spec is unchanged (also ${OK_IF_UNCHANGED_ENV}=1)",
    )
    parser.add_argument(
        "--accept-breakage",
        action="store_true",
        help="update even when examples of the new spec do not parse or carecloud_async no longer type-checks "
        f"(otherwise exit {EXIT_GATE} and change nothing)",
    )
    args = parser.parse_args(argv)
    try:
        outcome = update(
            args.spec,
            root=args.root,
            report=args.report,
            commit=args.commit,
            date=args.date,
            old=args.old,
            ok_if_unchanged=args.ok_if_unchanged,
            accept_breakage=args.accept_breakage,
        )
    except (UpdateError, spec_source.SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The project was not changed.", file=sys.stderr)
        return EXIT_ERROR
    print(outcome.message)
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
