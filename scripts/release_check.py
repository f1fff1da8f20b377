"""Check what a release would publish, before it is published (``make dist``; the release workflow).

1. The tag names the version written in ``carecloud_async/_version.py`` (``v0.2.0`` for
   ``0.2.0``), and CHANGELOG.md has that version's dated section (the release notes).
2. ``dist/`` holds exactly one wheel and one sdist of that version, and ``twine check --strict``
   passes (metadata, README rendering).
3. Each of them, installed alone into a fresh virtualenv (its dependencies from the index),
   imports both packages outside the source tree and reports the version.

    python -m scripts.release_check --tag v0.2.0 [--dist dist] [--changelog CHANGELOG.md]
    python -m scripts.release_check            # no tag: the version file's version is used

    >>> tag_version("v1.2.3")
    '1.2.3'
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from scripts import changelog

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
SMOKE = "import carecloud_api, carecloud_api.client, carecloud_async; print(carecloud_async.__version__)"


class ReleaseError(Exception):
    """The release is not ready: the message says what to fix."""


def tag_version(tag: str) -> str:
    """The version a release tag names: ``vX.Y.Z``."""
    if not tag.startswith("v"):
        raise ReleaseError(f"a release tag is v<version>, not {tag!r}")
    version = tag[1:]
    changelog.parse_version(version)
    return version


def check_version(tag: str | None, version: str, changelog_text: str) -> str:
    """The version to release; raise :class:`ReleaseError` if the tag, the version file and the
    changelog disagree."""
    if tag is not None and tag_version(tag) != version:
        raise ReleaseError(
            f"the tag {tag} is not the version in carecloud_async/_version.py ({version}): "
            "run `python -m scripts.changelog release` and tag that commit"
        )
    try:
        changelog.release_notes(changelog_text, version)
    except changelog.ChangelogError as exc:
        raise ReleaseError(str(exc)) from exc
    return version


def artifacts(dist: Path, version: str) -> tuple[Path, Path]:
    """The wheel and the sdist of ``version`` in ``dist`` (exactly one of each, nothing else)."""
    files = sorted(path for path in dist.iterdir() if path.is_file())
    wheels = [path for path in files if path.name.endswith(".whl")]
    sdists = [path for path in files if path.name.endswith(".tar.gz")]
    if len(wheels) != 1 or len(sdists) != 1 or len(files) != 2:
        raise ReleaseError(f"{dist} must hold one wheel and one sdist, not {[path.name for path in files]}")
    expected = f"carecloud_async-{version}"
    for path in (wheels[0], sdists[0]):
        if not path.name.startswith(f"{expected}-") and not path.name.startswith(f"{expected}.tar"):
            raise ReleaseError(f"{path.name} is not version {version}")
    return wheels[0], sdists[0]


def _run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReleaseError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def smoke_install(artifact: Path, version: str) -> None:
    """Install ``artifact`` alone into a fresh virtualenv and import it from outside the tree."""
    with tempfile.TemporaryDirectory(prefix="carecloud-release-") as tmp:
        home = Path(tmp)
        venv.create(home / "venv", with_pip=True)
        python = home / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
        _run([str(python), "-m", "pip", "install", "--quiet", str(artifact)], home)
        printed = _run([str(python), "-c", SMOKE], home).strip()
        if printed != version:
            raise ReleaseError(f"{artifact.name} installed reports version {printed!r}, not {version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.release_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=os.environ.get("RELEASE_TAG") or None)
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument("--changelog", type=Path, default=changelog.CHANGELOG)
    args = parser.parse_args(argv)
    try:
        version = check_version(args.tag, changelog.read_version(), args.changelog.read_text(encoding="utf-8"))
        wheel, sdist = artifacts(args.dist, version)
        _run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)], ROOT)
        for artifact in (wheel, sdist):
            smoke_install(artifact, version)
            print(f"{artifact.name}: installed alone, imports, version {version}")
    except (ReleaseError, changelog.ChangelogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
