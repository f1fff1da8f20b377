"""``carecloud spec diff``: the change report ``make update-spec`` writes, for two spec files.

    print(spec_report(Path("openapi-old.yaml"), Path("openapi.yaml")))

Both files are normalised as the code-generation pipeline does (``scripts/normalise.py``) when
that script is at hand (a source checkout of carecloud-async); an installed wheel does not ship
the code-generation pipeline and compares the two documents as they are, which differs only in
how array filters are named (``email_list`` rather than ``email_list[]``) and says so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._spec_diff import Change, SpecLabel, diff, load_spec, render_report, suggest_bump
from .._version import __version__

Normaliser = Callable[[dict[str, Any]], dict[str, Any]]


def pipeline_normaliser() -> Normaliser | None:
    """``scripts/normalise.py``'s ``normalise`` from the source checkout this package runs from,
    or None when installed from a wheel."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "normalise.py"
    if not script.is_file():
        return None
    name = "_carecloud_pipeline_normalise"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, script)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    normalise: Normaliser = module.normalise
    return normalise


def _label(path: Path) -> SpecLabel:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return SpecLabel(sha256=digest, commit="unknown", date="", url=str(path))


def spec_changes(old: Path, new: Path, normaliser: Normaliser | None = None) -> list[dict[str, Any]]:
    """The changes between two spec files, as JSON-ready dicts (``breaking`` included)."""
    return [asdict(change) for change in _changes(old, new, normaliser)]


def _changes(old: Path, new: Path, normaliser: Normaliser | None) -> list[Change]:
    return diff(load_spec(old), load_spec(new), normaliser=normaliser or pipeline_normaliser())


def spec_report(
    old: Path, new: Path, normaliser: Normaliser | None = None, *, current_version: str = __version__
) -> str:
    """The Markdown report of ``make update-spec`` for two spec files, with the suggested bump
    from ``current_version`` (this package's version by default)."""
    used = normaliser or pipeline_normaliser()
    changes = _changes(old, new, used)
    text = render_report(changes, old=_label(old), new=_label(new), bump=suggest_bump(changes, current_version))
    if used is None:
        text += (
            "\n\n*Compared as published: the code-generation normaliser is not installed (a source "
            "checkout has it), so array filters are named without their `[]`.*\n"
        )
    return text
