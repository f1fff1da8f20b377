"""What changed for a client between two versions of the CareCloud OpenAPI spec.

The comparison and the report live in the package (:mod:`carecloud_async._spec_diff`, shipped in
the wheel for ``carecloud spec diff``); here they are re-exported with the normaliser of the
code-generation pipeline, so that ``make update-spec`` compares what the generator sees.

    python -m scripts.spec_diff OLD.yaml NEW.yaml     # prints the Markdown report
"""

from __future__ import annotations

import sys
from pathlib import Path

from carecloud_async import _spec_diff
from carecloud_async._spec_diff import (
    BREAKING_RULES,
    MAX_DEPTH,
    RECURSIVE,
    SECTION_TITLES,
    SECTIONS,
    SEMVER_RULE,
    Bump,
    Change,
    Field,
    Kind,
    Level,
    Section,
    SpecLabel,
    counts,
    diff_normalised,
    flatten,
    group_changes,
    headline,
    is_subtype,
    render_changelog,
    render_report,
    render_section,
    suggest_bump,
    type_direction,
    type_name,
)
from scripts.normalise import Spec, normalise

__all__ = [
    "BREAKING_RULES",
    "MAX_DEPTH",
    "RECURSIVE",
    "SECTIONS",
    "SECTION_TITLES",
    "SEMVER_RULE",
    "Bump",
    "Change",
    "Field",
    "Kind",
    "Level",
    "Section",
    "SpecLabel",
    "counts",
    "diff",
    "diff_normalised",
    "flatten",
    "group_changes",
    "headline",
    "is_subtype",
    "render_changelog",
    "render_report",
    "render_section",
    "suggest_bump",
    "type_direction",
    "type_name",
]


def diff(old: Spec, new: Spec) -> list[Change]:
    """Normalise both (raw, parsed) specs and compare them; the inputs are not modified."""
    return _spec_diff.diff(old, new, normaliser=normalise)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    from scripts.normalise import load

    changes = diff(load(Path(argv[1])), load(Path(argv[2])))
    print(render_report(changes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
