"""scripts/changelog.py: the one CHANGELOG.md format, a version's release notes (what the release
workflow publishes), the next version from the bumps spec updates suggest, and the release step
that dates the pending entries and writes the version to its one place."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import changelog, release_check, spec_diff, update_spec

ROOT = Path(__file__).resolve().parent.parent

RELEASED = """# Changelog

Intro paragraph.

## 0.2.0 (2026-12-01)

Two things.

### Fixed

- one

## 0.1.0 (2026-11-30)

The first version.
"""


def spec_entry(level: str, changes: list[spec_diff.Change], current: str) -> str:
    """A CHANGELOG entry exactly as `make update-spec` writes it."""
    bump = spec_diff.suggest_bump(changes, current)
    assert bump.level == level
    label = spec_diff.SpecLabel("ab" * 32, "c0ffee1234567890", "2026-12-10")
    return spec_diff.render_changelog(changes, new=label, bump=bump)


ADDED = spec_diff.Change("operations", "GET", "/target-groups", "added", "", "", "", False, "getTargetGroups")
REMOVED = spec_diff.Change("operations", "GET", "/audiences", "removed", "", "", "", True, "getAudiences")


def test_docstring_examples() -> None:
    result = doctest.testmod(changelog)
    assert result.attempted > 0
    assert result.failed == 0


def test_release_notes_are_the_versions_section() -> None:
    assert changelog.release_notes(RELEASED, "0.2.0") == "Two things.\n\n### Fixed\n\n- one\n"
    assert changelog.release_notes(RELEASED, "v0.1.0") == "The first version.\n"  # a tag name works too


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RELEASED, "no section for 0.3.0"),
        ("# Changelog\n\n## 0.3.0 (unreleased)\n\nsoon\n", "still marked unreleased"),
        ("# Changelog\n\n## Version 0.3.0\n\nx\n", "is not `## X.Y.Z"),
    ],
)
def test_release_notes_refuse(text: str, message: str) -> None:
    with pytest.raises(changelog.ChangelogError, match=message):
        changelog.release_notes(text, "0.3.0")


def test_headings_inside_code_blocks_are_text() -> None:
    text = "# Changelog\n\n## 1.0.0 (2026-01-02)\n\n```md\n## not a heading\n```\n"
    assert changelog.release_notes(text, "1.0.0") == "```md\n## not a heading\n```\n"


def test_the_spec_updates_suggested_bump_gives_the_next_version(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(RELEASED, encoding="utf-8")
    update_spec.prepend_changelog(path, spec_entry("patch", [ADDED], "0.2.0"))
    text = path.read_text(encoding="utf-8")
    assert changelog.next_version(text, "0.2.0")[0] == "0.2.1"

    # a later update with a breaking change asks for more: the largest pending bump wins
    update_spec.prepend_changelog(path, spec_entry("minor", [REMOVED], "0.2.0"))
    text = path.read_text(encoding="utf-8")
    version, why = changelog.next_version(text, "0.2.0")
    assert version == "0.3.0"
    assert "minor" in why


def test_a_prepared_version_wins_over_suggestions() -> None:
    text = "# Changelog\n\n## Unreleased: spec\n\nSuggested version bump: minor (x).\n\n## 0.5.0 (unreleased)\n\nhand\n"
    assert changelog.next_version(text, "0.4.0")[0] == "0.5.0"


def test_nothing_pending_is_nothing_to_release() -> None:
    with pytest.raises(changelog.ChangelogError, match="nothing to release"):
        changelog.next_version(RELEASED, "0.2.0")


def test_release_folds_pending_entries_into_one_dated_section(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(RELEASED, encoding="utf-8")
    update_spec.prepend_changelog(path, spec_entry("minor", [REMOVED], "0.2.0"))
    released = changelog.release(path.read_text(encoding="utf-8"), "0.3.0", "2026-12-20")

    head, sections = changelog.parse(released)
    assert head == "# Changelog\n\nIntro paragraph."
    assert [s.heading for s in sections] == ["0.3.0 (2026-12-20)", "0.2.0 (2026-12-01)", "0.1.0 (2026-11-30)"]
    notes = changelog.release_notes(released, "0.3.0")
    assert notes.startswith("### CareCloud API spec c0ffee123456, 2026-12-10")
    assert "#### Breaking" in notes  # the entry's own ### headings moved one level down
    assert "`GET /audiences` (getAudiences) removed" in notes
    assert changelog.release_notes(released, "0.2.0") == changelog.release_notes(RELEASED, "0.2.0")
    with pytest.raises(changelog.ChangelogError, match="released already"):
        changelog.release(released, "0.3.0", "2026-12-21")


def test_release_keeps_a_prepared_versions_text() -> None:
    text = "# Changelog\n\n## 0.1.0 (unreleased)\n\nThe first version.\n"
    assert (
        changelog.release(text, "0.1.0", "2026-12-01") == "# Changelog\n\n## 0.1.0 (2026-12-01)\n\nThe first version.\n"
    )
    with pytest.raises(changelog.ChangelogError, match=r"prepares 0\.1\.0, not 0\.2\.0"):
        changelog.release(text, "0.2.0", "2026-12-01")


def test_command_line_release_then_notes(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    version_file = tmp_path / "_version.py"
    path.write_text(RELEASED, encoding="utf-8")
    version_file.write_text('"""The version."""\n\n__version__ = "0.2.0"\n', encoding="utf-8")
    update_spec.prepend_changelog(path, spec_entry("patch", [ADDED], "0.2.0"))
    files = ["--changelog", str(path), "--version-file", str(version_file)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own script)
            [sys.executable, "-m", "scripts.changelog", *files, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    assert run("next").stdout == "0.2.1\n"
    assert run("notes", "0.2.1").returncode == 1  # not released yet
    released = run("release", "--date", "2026-12-24")
    assert released.returncode == 0, released.stderr
    assert changelog.read_version(version_file) == "0.2.1"
    assert version_file.read_text(encoding="utf-8").startswith('"""The version."""')
    notes = run("notes", "v0.2.1")
    assert notes.returncode == 0
    assert "`GET /target-groups` (getTargetGroups) added" in notes.stdout
    assert "## " not in notes.stdout.replace("### ", "")


def test_release_notes_say_how_to_verify_the_files(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(RELEASED, encoding="utf-8")

    def notes(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own script)
            [sys.executable, "-m", "scripts.changelog", "--changelog", str(path), "notes", "v0.2.0", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    plain = notes()
    assert plain.stdout == changelog.release_notes(RELEASED, "0.2.0")  # without a repository: the section only
    verified = notes("--repository", "https://github.com/example/carecloud-async")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(plain.stdout + "\n### Verifying a download\n")
    for name in ("carecloud_async-0.2.0-py3-none-any.whl", "carecloud_async-0.2.0.tar.gz"):
        command = f"pypi-attestations verify pypi --repository https://github.com/example/carecloud-async {name}"
        assert f"\n{command}\n" in verified.stdout
    assert "## " not in verified.stdout.replace("### ", "")  # still one section's body
    bad = notes("--repository", "github.com/example/carecloud-async; rm -rf /")
    assert bad.returncode == 1
    assert "not a repository URL" in bad.stderr


def test_the_files_the_notes_name_are_the_ones_the_release_check_accepts(tmp_path: Path) -> None:
    # the names `make dist` builds (hatch: carecloud_async-0.2.0-py3-none-any.whl, pure Python) and
    # scripts/release_check.py insists on; a renamed package fails here rather than in users' hands
    notes = changelog.verification_notes("0.2.0", "https://github.com/o/r")
    named = [line.rsplit(" ", 1)[1] for line in notes.splitlines() if line.startswith("pypi-attestations verify")]
    assert named == ["carecloud_async-0.2.0-py3-none-any.whl", "carecloud_async-0.2.0.tar.gz"]
    for name in named:
        (tmp_path / name).touch()
    wheel, sdist = release_check.artifacts(tmp_path, "0.2.0")
    assert [wheel.name, sdist.name] == named


def test_the_version_is_written_in_one_place() -> None:
    # (no tomllib: the tests run on Python 3.10 too)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.MULTILINE)
    assert re.search(r'^dynamic = \["version"\]$', project, re.MULTILINE)
    assert '[tool.hatch.version]\npath = "carecloud_async/_version.py"' in pyproject
    import carecloud_async

    assert carecloud_async.__version__ == changelog.read_version()


def test_the_projects_changelog_follows_the_format() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    head, sections = changelog.parse(text)
    assert head.startswith("# Changelog")
    assert sections
    current = changelog.read_version()
    assert any(section.version == current for section in sections), f"no section for {current}"
