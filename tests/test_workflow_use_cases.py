"""Every use case of the vendor's integration guide has a row in the table of the workflows guide
(docs/guide/workflows.md), with the API the vendor names, helpers that exist and carry an example,
and the Prism tests the row claims.

The guide is ``use-cases.md`` in the shared folder beside the checkout, found the way
scripts/spec_source.py finds the spec (``../shared``). A missing guide fails these tests: they
must run wherever the suite runs.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from carecloud_async import CareCloud, workflows
from carecloud_async.outbox import Outbox
from carecloud_async.workflows import purchases
from scripts import spec_source

GUIDE = spec_source.ROOT.parent / "shared" / "vendor" / "use-cases.md"
README = spec_source.ROOT / "README.md"
WORKFLOWS = spec_source.ROOT / "docs" / "guide" / "workflows.md"
TESTS = Path(__file__).resolve().parent
TABLE_HEADING = "## Which helper for which use case"
API_LABELS = {
    frozenset({"Customer API", "Enterprise API"}): "both",
    frozenset({"Enterprise API"}): "Enterprise",
    frozenset({"Customer API"}): "Customer",
}


@dataclass(frozen=True)
class UseCase:
    group: str
    title: str
    api: str


@dataclass(frozen=True)
class Row:
    api: str
    helpers: tuple[str, ...]
    tested: str


def guide_text() -> str:
    if not GUIDE.is_file():
        pytest.fail(
            f"the vendor's use-case guide is missing: {GUIDE} (it lives in the shared folder beside the "
            "checkout, as ../shared/api-spec/openapi.yaml does)",
            pytrace=False,
        )
    return GUIDE.read_text(encoding="utf-8")


def use_cases() -> list[UseCase]:
    """The ``###`` headings of the guide, each under its ``##`` group, with the API its label names."""
    found: list[UseCase] = []
    group = ""
    lines = guide_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("## "):
            group = line[3:].strip()
        elif line.startswith("### "):
            label = next((text for text in lines[index + 1 : index + 6] if "**API:**" in text), "")
            names = frozenset(name.strip() for name in label.split("**API:**")[-1].split(","))
            found.append(UseCase(group, line[4:].strip(), API_LABELS.get(names, f"unlabelled: {label!r}")))
    return found


def readme_rows() -> dict[str, Row]:
    text = WORKFLOWS.read_text(encoding="utf-8")
    assert TABLE_HEADING in text, f"docs/guide/workflows.md has no {TABLE_HEADING!r} section"
    section = text.split(TABLE_HEADING, 1)[1]
    rows: dict[str, Row] = {}
    for line in section.splitlines():
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("Use case", "---"):
            continue
        helpers = tuple(re.findall(r"`([A-Za-z_][\w.]*)`", cells[2]))
        rows[cells[0]] = Row(cells[1], helpers, cells[3])
    return rows


def resolve(name: str) -> object:
    owner, _, attribute = name.rpartition(".")
    if not owner:
        return getattr(workflows, name)
    holder = {"CareCloud": CareCloud, "Outbox": Outbox, "purchases": purchases}.get(owner) or getattr(workflows, owner)
    return getattr(holder, attribute)


def test_the_guide_has_the_22_use_cases_in_its_5_groups() -> None:
    cases = use_cases()
    assert len(cases) == 22
    assert sorted({case.group for case in cases}) == [
        "Cards",
        "Checkout process",
        "Customer account management",
        "Marketing automation",
        "Newsletter",
    ]
    assert all(not case.api.startswith("unlabelled") for case in cases), [c for c in cases if "unlabelled" in c.api]


def test_every_use_case_has_a_row_with_the_api_the_vendor_names() -> None:
    rows = readme_rows()
    missing = [case.title for case in use_cases() if case.title not in rows]
    assert missing == [], f"use cases without a row in docs/guide/workflows.md: {missing}"
    extra = sorted(set(rows) - {case.title for case in use_cases()})
    assert extra == [], f"rows for no use case of the guide: {extra}"
    wrong = {case.title: (rows[case.title].api, case.api) for case in use_cases() if rows[case.title].api != case.api}
    assert wrong == {}


def test_the_row_check_fails_for_a_missing_row() -> None:
    # The check above is only worth something if a heading without a row is noticed.
    rows = readme_rows()
    title = use_cases()[0].title
    del rows[title]
    assert [case.title for case in use_cases() if case.title not in rows] == [title]


def test_every_helper_named_exists_and_has_a_docstring_example() -> None:
    for title, row in readme_rows().items():
        assert row.helpers, f"{title}: no helper named"
        for name in row.helpers:
            helper = resolve(name)
            doc = inspect.getdoc(helper) or ""
            short = name.rpartition(".")[2]
            if name.startswith("CareCloud."):  # the client's own methods: the README's Customer quickstart runs them
                doc = README.read_text(encoding="utf-8").split("## Quickstart: Customer API", 1)[1].split("\n## ", 1)[0]
            assert f"{short}(" in doc or inspect.isclass(helper), f"{title}: {name} has no example in its docstring"


def test_rows_claiming_prism_have_prism_tests_calling_their_helpers() -> None:
    prism_tests = [
        path.read_text(encoding="utf-8")
        for path in TESTS.glob("test_*.py")
        if "prism: mock_server.PrismServer" in path.read_text(encoding="utf-8")
    ]
    for title, row in readme_rows().items():
        if "Prism" not in row.tested:
            continue
        for name in row.helpers:
            short = name.rpartition(".")[2]
            called = re.compile(rf"\b{re.escape(short)}\(")
            assert any(called.search(text) for text in prism_tests), f"{title}: no Prism test calls {name}"


def test_every_public_workflow_function_has_an_example() -> None:
    for name in workflows.__all__:
        item = getattr(workflows, name)
        if inspect.isfunction(item):
            assert f"{name}(" in (item.__doc__ or ""), f"{name} has no example in its docstring"
        elif inspect.isclass(item) and typing.get_origin(item) is None:  # 3.10: a Callable[...] alias is a class
            assert (item.__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("module", ["carecloud_async.workflows.signup", "carecloud_async.workflows.abandoned_cart"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_missing_guide_fails_never_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(f"{__name__}.GUIDE", tmp_path / "use-cases.md")
    with pytest.raises(pytest.fail.Exception, match="use-case guide is missing"):
        use_cases()
