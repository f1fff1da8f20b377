"""Put the specs the tests compare into ``../shared/api-spec/`` where they are missing.

The project keeps no copy of the spec; its tests read the pinned spec and the older one
(``openapi-2026-03-21.yaml``, for the spec-update tests) from the shared folder beside the
checkout, and fail in CI when it is missing. A GitHub-hosted runner has no such folder: this
downloads each file from the upstream repository at its commit and keeps it only if its sha256
is the recorded one (``make shared-specs``; the test workflow runs it before ``make test``).

    python -m scripts.shared_specs [--dest DIR] [--base-url URL]

    >>> raw_url("https://raw.githubusercontent.com/crmcarecloud/api-spec", "fbd908f")
    'https://raw.githubusercontent.com/crmcarecloud/api-spec/fbd908f/_build/openapi.yaml'
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scripts import spec_source

UPSTREAM_RAW = "https://raw.githubusercontent.com/crmcarecloud/api-spec"
DOWNLOAD_TIMEOUT = 60


@dataclass(frozen=True)
class SharedSpec:
    """One file of the shared spec folder: its name there, its upstream commit, its sha256."""

    name: str
    commit: str
    sha256: str


def specs(source: spec_source.SpecSource | None = None) -> tuple[SharedSpec, ...]:
    """The pinned spec (from ``api-spec/source.json``) and the older one the update tests use."""
    source = source or spec_source.SpecSource.load()
    return (
        SharedSpec(spec_source.SHARED_SPEC.name, source.commit, source.sha256),
        SharedSpec(
            "openapi-2026-03-21.yaml", "fbd908f", "21bc0c12f2a8b58457620e9c08e168e622b1d9bc51ecba9a46eec5a03627f0fd"
        ),
    )


def raw_url(base_url: str, commit: str) -> str:
    return f"{base_url.rstrip('/')}/{commit}/_build/openapi.yaml"


def fetch(dest: Path, wanted: tuple[SharedSpec, ...], base_url: str = UPSTREAM_RAW) -> list[str]:
    """Download every missing file of ``wanted`` into ``dest``; raise ``SpecError`` on a failed
    download or a wrong sha256 (nothing is kept then). A present file is verified, not replaced."""
    done: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    for spec in wanted:
        target = dest / spec.name
        if target.is_file():
            spec_source.verify(target, spec.sha256)
            done.append(f"{target}: present, sha256 verified")
            continue
        url = raw_url(base_url, spec.commit)
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                data = response.read()
        except OSError as exc:
            raise spec_source.SpecError(f"download of {url} failed: {exc}") from exc
        with tempfile.NamedTemporaryFile(dir=dest, prefix=f".{spec.name}.", delete=False) as part:
            part.write(data)
        partial = Path(part.name)
        try:
            spec_source.verify(partial, spec.sha256)
        except spec_source.SpecError:
            partial.unlink()
            raise
        partial.replace(target)
        done.append(f"{target}: downloaded from {url}, sha256 verified")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.shared_specs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=spec_source.SHARED_SPEC.parent)
    parser.add_argument("--base-url", default=UPSTREAM_RAW)
    args = parser.parse_args(argv)
    try:
        for line in fetch(args.dest, specs(), args.base_url):
            print(line)
    except spec_source.SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
