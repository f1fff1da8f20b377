"""Obtain the pinned CareCloud OpenAPI spec and verify it against ``api-spec/source.json``.

The project never keeps a copy of the spec. It is read, in order, from:

1. ``$CARECLOUD_SPEC`` (a path),
2. ``../shared/api-spec/openapi.yaml`` beside the checkout,
3. the pinned upstream file (downloaded into ``build/spec/`` where a network allows).

Whatever the source, its sha256 must match the recorded one, or we refuse it.

    python -m scripts.spec_source          # prints the verified path
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FILE = ROOT / "api-spec" / "source.json"
SHARED_SPEC = ROOT.parent / "shared" / "api-spec" / "openapi.yaml"
DOWNLOAD_DIR = ROOT / "build" / "spec"


class SpecError(Exception):
    """The spec could not be found, downloaded or verified."""


@dataclass(frozen=True)
class SpecSource:
    """Where the pinned spec comes from (the content of ``api-spec/source.json``)."""

    repository: str
    path: str
    commit: str
    url: str
    sha256: str
    date: str = ""

    @classmethod
    def load(cls, path: Path = SOURCE_FILE) -> SpecSource:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected_sha256: str) -> Path:
    """Return ``path`` if its sha256 is the expected one, else raise :class:`SpecError`."""
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise SpecError(
            f"spec {path} has sha256 {actual}, but api-spec/source.json pins {expected_sha256}. "
            "Refusing to generate from an unverified spec; use `make update-spec SPEC=...` "
            "to move to a new version on purpose."
        )
    return path


def _download(source: SpecSource) -> Path:
    DOWNLOAD_DIR.mkdir(parents=True, exist_ok=True)
    target = DOWNLOAD_DIR / f"openapi-{source.commit[:12]}.yaml"
    if not target.exists():
        try:
            with urllib.request.urlopen(source.url, timeout=30) as response:
                data = response.read()
        except OSError as exc:
            raise SpecError(
                f"no local spec (set $CARECLOUD_SPEC or provide {SHARED_SPEC}) and the download of "
                f"{source.url} failed: {exc}"
            ) from exc
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def obtain(source: SpecSource | None = None) -> Path:
    """Find the spec, verify its sha256 and return its path."""
    source = source or SpecSource.load()
    env = os.environ.get("CARECLOUD_SPEC")
    if env:
        if not Path(env).is_file():
            raise SpecError(
                f"CARECLOUD_SPEC={env} is not a file: point it at the pinned openapi.yaml "
                f"(sha256 {source.sha256[:12]}...), or unset it to use {SHARED_SPEC} or the download"
            )
        return verify(Path(env), source.sha256)
    if SHARED_SPEC.is_file():
        return verify(SHARED_SPEC, source.sha256)
    return verify(_download(source), source.sha256)


def main() -> int:
    try:
        print(obtain())
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
