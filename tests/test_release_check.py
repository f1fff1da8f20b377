"""scripts/release_check.py: what the release workflow checks before it publishes (``make dist``):
the tag is the version, the changelog has its notes, dist/ holds one wheel and one sdist of it,
twine accepts them, and each installs alone into a fresh virtualenv and imports."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from scripts import changelog, release_check

ROOT = Path(__file__).resolve().parent.parent
NOTES = "# Changelog\n\n## 0.2.0 (2026-12-01)\n\nThe second.\n\n## 0.3.0 (unreleased)\n\nsoon\n"


def test_the_tag_must_be_the_version() -> None:
    assert release_check.check_version("v0.2.0", "0.2.0", NOTES) == "0.2.0"
    assert release_check.check_version(None, "0.2.0", NOTES) == "0.2.0"
    with pytest.raises(release_check.ReleaseError, match=r"the tag v0\.2\.1 is not the version"):
        release_check.check_version("v0.2.1", "0.2.0", NOTES)
    with pytest.raises(release_check.ReleaseError, match="a release tag is v<version>"):
        release_check.check_version("0.2.0", "0.2.0", NOTES)
    with pytest.raises(changelog.ChangelogError, match="not a release version"):
        release_check.tag_version("vnext")


def test_the_version_needs_dated_release_notes() -> None:
    with pytest.raises(release_check.ReleaseError, match="still marked unreleased"):
        release_check.check_version("v0.3.0", "0.3.0", NOTES)
    with pytest.raises(release_check.ReleaseError, match=r"no section for 0\.4\.0"):
        release_check.check_version("v0.4.0", "0.4.0", NOTES)


def test_dist_must_hold_one_wheel_and_one_sdist_of_the_version(tmp_path: Path) -> None:
    wheel = tmp_path / "carecloud_async-0.2.0-py3-none-any.whl"
    sdist = tmp_path / "carecloud_async-0.2.0.tar.gz"
    wheel.touch()
    sdist.touch()
    assert release_check.artifacts(tmp_path, "0.2.0") == (wheel, sdist)
    with pytest.raises(release_check.ReleaseError, match=r"is not version 0\.2\.1"):
        release_check.artifacts(tmp_path, "0.2.1")
    (tmp_path / "carecloud_async-0.1.0-py3-none-any.whl").touch()
    with pytest.raises(release_check.ReleaseError, match="one wheel and one sdist"):
        release_check.artifacts(tmp_path, "0.2.0")


def test_slow_built_distributions_pass_the_release_check(tmp_path: Path) -> None:
    """The real thing, as `make dist` runs it: build both, then the whole check (twine, two fresh
    virtualenvs). The version comes from carecloud_async/_version.py alone."""
    dist = tmp_path / "dist"
    built = subprocess.run(  # noqa: S603 (the build frontend on our own tree)
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    version = changelog.read_version()
    wheel, sdist = release_check.artifacts(dist, version)
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"carecloud_async-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata
    with tarfile.open(sdist) as archive:
        assert f"carecloud_async-{version}/carecloud_async/_version.py" in archive.getnames()

    # the whole check as the release workflow runs it, with the tag a release of this version has
    # and its dated notes (the tree's CHANGELOG says "unreleased" until the release commit)
    notes = tmp_path / "CHANGELOG.md"
    notes.write_text(f"# Changelog\n\n## {version} (2026-12-01)\n\nnotes\n", encoding="utf-8")
    checked = subprocess.run(  # noqa: S603 (our own script)
        [
            sys.executable,
            "-m",
            "scripts.release_check",
            "--tag",
            f"v{version}",
            "--dist",
            str(dist),
            "--changelog",
            str(notes),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == [
        f"{wheel.name}: installed alone, imports, version {version}",
        f"{sdist.name}: installed alone, imports, version {version}",
    ]
