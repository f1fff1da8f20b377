"""CHANGELOG.md: its one format, the release notes of a version, and the next version.

The format (newest first, below the ``# Changelog`` title and its intro paragraph):

- ``## X.Y.Z (YYYY-MM-DD)``: a release;
- ``## X.Y.Z (unreleased)``: the version being prepared;
- ``## Unreleased: <title>``: an entry waiting for a version, as ``make update-spec`` writes them,
  each with a line ``Suggested version bump: <major|minor|patch> (...)``.

Commands (``python -m scripts.changelog ...``):

- ``notes [VERSION] [--repository URL]``: the section of a released VERSION, by default the
  current one (the release workflow's notes); exit 1 if it is missing or still undated. With
  ``--repository`` (the release workflow gives its own), a last part says how to verify the
  downloaded files against their PyPI attestations;
- ``next``: the version the pending entries ask for: the largest suggested bump applied to the
  current version (``carecloud_async/_version.py``, the one place the version is written);
- ``release [VERSION] [--date YYYY-MM-DD]``: fold every pending section into one
  ``## VERSION (date)`` section and write VERSION to ``_version.py`` (VERSION defaults to
  ``next``).

    >>> parse_heading("0.2.0 (2026-12-01)")
    ('0.2.0', '2026-12-01')
    >>> parse_heading("Unreleased: CareCloud API spec ea7923aa7681")
    (None, None)
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"
VERSION_FILE = ROOT / "carecloud_async" / "_version.py"
DIST_NAME = "carecloud_async"  # the wheel's and the sdist's file names (carecloud-async, normalised)
UNRELEASED = "unreleased"
LEVELS = ("patch", "minor", "major")

_VERSION_LINE = re.compile(r'^__version__\s*=\s*"([^"]+)"\s*$', re.MULTILINE)
_RELEASE = re.compile(r"^(\d+\.\d+\.\d+(?:[.-]?\w+)?) \((\d{4}-\d{2}-\d{2}|unreleased)\)$")
_PENDING = re.compile(r"^Unreleased: .+$")
_BUMP = re.compile(r"^Suggested version bump: (major|minor|patch)\b", re.MULTILINE)


class ChangelogError(Exception):
    """CHANGELOG.md does not have what was asked (a version's section), or breaks the format."""


@dataclass(frozen=True)
class Section:
    """One ``## `` section: its heading (without ``## ``) and its body."""

    heading: str
    body: str

    @property
    def version(self) -> str | None:
        return parse_heading(self.heading)[0]

    @property
    def date(self) -> str | None:
        return parse_heading(self.heading)[1]

    @property
    def pending(self) -> bool:
        """Not released yet: an ``Unreleased: ...`` entry or an undated version."""
        return bool(_PENDING.match(self.heading)) or self.date == UNRELEASED

    @property
    def bump(self) -> str | None:
        """The version bump an entry suggests (spec updates write one), if any."""
        match = _BUMP.search(self.body)
        return match[1] if match else None


def parse_heading(heading: str) -> tuple[str | None, str | None]:
    """``(version, date or "unreleased")`` of a release heading; ``(None, None)`` otherwise."""
    match = _RELEASE.match(heading.strip())
    return (match[1], match[2]) if match else (None, None)


def parse(text: str) -> tuple[str, list[Section]]:
    """The text before the first section (title and intro) and every section, in order.

    A ``## `` heading that is neither a release nor an ``Unreleased:`` entry is an error: the
    release notes could not be found in it.
    """
    head: list[str] = []
    sections: list[Section] = []
    heading: str | None = None
    body: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if line.startswith("## ") and not in_code:
            if heading is not None:
                sections.append(Section(heading, "\n".join(body).strip("\n")))
            heading, body = line[3:].strip(), []
            if parse_heading(heading)[0] is None and not _PENDING.match(heading):
                raise ChangelogError(
                    f"heading {line!r} is not `## X.Y.Z (YYYY-MM-DD)`, `## X.Y.Z (unreleased)` or `## Unreleased: ...`"
                )
        elif heading is None:
            head.append(line)
        else:
            body.append(line)
    if heading is not None:
        sections.append(Section(heading, "\n".join(body).strip("\n")))
    return "\n".join(head).strip("\n"), sections


def render(head: str, sections: list[Section]) -> str:
    parts = [head.rstrip("\n")]
    parts += [f"## {section.heading}\n\n{section.body}".rstrip("\n") for section in sections]
    return "\n\n".join(parts) + "\n"


def release_notes(text: str, version: str) -> str:
    """The body of ``## <version> (<date>)``: the release notes of a released version."""
    _, sections = parse(text)
    for section in sections:
        if section.version == version.removeprefix("v"):
            if section.date == UNRELEASED:
                raise ChangelogError(
                    f"{version} is still marked unreleased: run `python -m scripts.changelog release {version}`"
                )
            return section.body + "\n"
    raise ChangelogError(f"CHANGELOG.md has no section for {version}")


def verification_notes(version: str, repository: str) -> str:
    """How to check that a downloaded wheel or sdist of ``version`` is the one this repository built.

    The release workflow publishes with trusted publishing, and PyPI keeps a PEP 740 attestation
    for each file: signed (Sigstore) by the workflow of ``repository`` that built it.
    ``pypi-attestations verify pypi`` fetches it and checks the signature, the file's SHA-256 and
    the signer.

    >>> notes = verification_notes("v0.2.0", "https://github.com/o/r")
    >>> for line in notes.splitlines():
    ...     if line.startswith("pypi-attestations"):
    ...         print(line)
    pypi-attestations verify pypi --repository https://github.com/o/r carecloud_async-0.2.0-py3-none-any.whl
    pypi-attestations verify pypi --repository https://github.com/o/r carecloud_async-0.2.0.tar.gz
    """
    version = version.removeprefix("v")
    parse_version(version)
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", repository):
        raise ChangelogError(f"not a repository URL (https://host/owner/name): {repository!r}")
    files = [f"{DIST_NAME}-{version}-py3-none-any.whl", f"{DIST_NAME}-{version}.tar.gz"]
    commands = "\n".join(f"pypi-attestations verify pypi --repository {repository} {name}" for name in files)
    return f"""### Verifying a download

The wheel and the sdist were built by this repository's release workflow and published to PyPI
with trusted publishing; PyPI keeps a signed [PEP 740](https://peps.python.org/pep-0740/)
attestation for each, naming the workflow and the commit that built it. To check a file you
downloaded (from PyPI or from this release), in the folder that holds it:

```sh
python -m pip install pypi-attestations
{commands}
```

Each command fetches the file's attestation from PyPI and checks its signature (Sigstore, with its
public transparency log), that it names this repository's workflow, and that the file's SHA-256 is
the one signed. It prints `OK: <file>`; anything else means the file is not the one published.
"""


def parse_version(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", version.strip())
    if not match:
        raise ChangelogError(f"not a release version X.Y.Z: {version!r}")
    return int(match[1]), int(match[2]), int(match[3])


def bump_version(current: str, level: str) -> str:
    """``current`` moved up by ``level`` (semver).

    >>> bump_version("0.1.3", "minor"), bump_version("1.4.2", "major"), bump_version("0.1.0", "patch")
    ('0.2.0', '2.0.0', '0.1.1')
    """
    major, minor, patch = parse_version(current)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ChangelogError(f"unknown bump level {level!r}")


def next_version(text: str, current: str) -> tuple[str, str]:
    """The version the pending entries ask for and why.

    A pending ``X.Y.Z (unreleased)`` section names it outright; otherwise the largest bump the
    ``Unreleased:`` entries suggest (a spec update's suggestion is already 0.x-aware: a
    breaking change is "minor" while the major version is 0) is applied to ``current``.
    """
    _, sections = parse(text)
    pending = [section for section in sections if section.pending]
    if not pending:
        raise ChangelogError("nothing to release: CHANGELOG.md has no unreleased section")
    named = [section.version for section in pending if section.version]
    if named:
        return named[0], f"CHANGELOG.md prepares {named[0]}"
    levels = [section.bump or "patch" for section in pending]
    level = max(levels, key=LEVELS.index)
    return bump_version(current, level), f"{len(pending)} pending entries, largest suggested bump: {level}"


def release(text: str, version: str, date: str) -> str:
    """The changelog with every pending section folded into ``## <version> (<date>)``.

    A pending ``<version> (unreleased)`` section keeps its text; each ``Unreleased: <title>``
    entry becomes a ``### <title>`` part of it (its own ``###`` headings one level lower).
    """
    parse_version(version)
    dt.date.fromisoformat(date)
    head, sections = parse(text)
    if any(section.version == version and not section.pending for section in sections):
        raise ChangelogError(f"{version} is released already")
    pending = [section for section in sections if section.pending]
    if not pending:
        raise ChangelogError("nothing to release: CHANGELOG.md has no unreleased section")
    parts: list[str] = []
    for section in pending:
        if section.version is not None:
            if section.version != version:
                raise ChangelogError(f"CHANGELOG.md prepares {section.version}, not {version}")
            parts.append(section.body)
        else:
            title = section.heading.removeprefix("Unreleased:").strip()
            body = re.sub(r"^### ", "#### ", section.body, flags=re.MULTILINE)
            parts.append(f"### {title}\n\n{body}")
    merged = Section(f"{version} ({date})", "\n\n".join(part.strip("\n") for part in parts))
    first = sections.index(pending[0])
    rest = [section for section in sections if not section.pending]
    return render(head, [*rest[:first], merged, *rest[first:]])


def read_version(version_file: Path = VERSION_FILE) -> str:
    """The version written in ``carecloud_async/_version.py``."""
    match = _VERSION_LINE.search(version_file.read_text(encoding="utf-8"))
    if not match:
        raise ChangelogError(f'{version_file} has no `__version__ = "..."` line')
    return match[1]


def write_version(version: str, version_file: Path = VERSION_FILE) -> None:
    text = version_file.read_text(encoding="utf-8")
    if not _VERSION_LINE.search(text):
        raise ChangelogError(f'{version_file} has no `__version__ = "..."` line')
    version_file.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.changelog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--changelog", type=Path, default=CHANGELOG)
    parser.add_argument("--version-file", type=Path, default=VERSION_FILE)
    commands = parser.add_subparsers(dest="command", required=True)
    notes = commands.add_parser("notes", help="print the release notes of VERSION (default: the current one)")
    notes.add_argument("version", nargs="?")
    notes.add_argument("--repository", help="https URL of the repository that built the release: add how to verify it")
    commands.add_parser("next", help="print the version the pending entries ask for")
    prepare = commands.add_parser("release", help="date the pending entries as VERSION and set the version")
    prepare.add_argument("version", nargs="?")
    prepare.add_argument("--date", default=dt.datetime.now(dt.timezone.utc).date().isoformat())
    args = parser.parse_args(argv)
    try:
        text = args.changelog.read_text(encoding="utf-8")
        if args.command == "notes":
            version = args.version or read_version(args.version_file)
            notes_text = release_notes(text, version)
            if args.repository:
                notes_text += "\n" + verification_notes(version, args.repository)
            sys.stdout.write(notes_text)
        elif args.command == "next":
            version, why = next_version(text, read_version(args.version_file))
            print(version)
            print(why, file=sys.stderr)
        else:
            version = args.version or next_version(text, read_version(args.version_file))[0]
            args.changelog.write_text(release(text, version, args.date), encoding="utf-8")
            write_version(version, args.version_file)
            print(f"CHANGELOG.md: {version} ({args.date}); {args.version_file.name}: {version}")
    except (ChangelogError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
