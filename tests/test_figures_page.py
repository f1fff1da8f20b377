"""The docs site's measured figures (docs/guide/measured.md) are rendered from the benchmarks'
results (docs/figures/<bench>.json), never typed by hand (issue 26): the committed page is what
``scripts.figures_page`` renders from the committed results, every benchmark ``make bench`` runs
has its results there, and each results file says how, where and when it was measured."""

from __future__ import annotations

import doctest
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import bench_common, figures_page

ROOT = Path(__file__).resolve().parents[1]


def make_bench_names() -> list[str]:
    """The benchmarks of ``make bench``, from the Makefile's ``bench:`` line."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = re.search(r"^bench: (.*?)##", makefile, re.M)
    assert line, "no bench: target in the Makefile"
    return [target.removeprefix("bench-") for target in line[1].split()]


def test_the_committed_page_is_what_the_committed_results_give() -> None:
    assert figures_page.PAGE.read_text(encoding="utf-8") == figures_page.render(), (
        "docs/guide/measured.md differs from the results: run `python -m scripts.figures_page` "
        "(or `make figures` to measure again); never edit the page by hand"
    )


def test_every_benchmark_has_results_saying_how_where_and_when() -> None:
    names = make_bench_names()
    assert len(names) >= 9, names
    assert sorted(names) == sorted(bench.name for bench in figures_page.BENCHES)
    for name in names:
        result = json.loads((figures_page.RESULTS / f"{name}.json").read_text(encoding="utf-8"))
        assert result["bench"] == name
        assert result["command"].startswith(f"python -m scripts.bench_{name}"), result["command"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", result["started"]), result["started"]
        assert result["machine"]["cpu"]
        assert result["machine"]["cores"] >= 1
        assert re.fullmatch(r"\d+\.\d+\.\d+\w*", result["machine"]["python"])
        # The measured code is a commit: not "unknown", not "+dirty" (changes no commit holds).
        assert re.fullmatch(r"[0-9a-f]{7,40}", result["commit"]), f"{name}: measured at {result['commit']}"
        tables = [block for block in result["output"] if "rows" in block]
        assert tables, f"{name}: no table recorded"
        assert all(table["rows"] for table in tables), f"{name}: a table without rows"


def test_a_figure_on_the_page_comes_from_its_results_file(tmp_path: Path) -> None:
    # Change one number in a copy of the results: the rendered page follows, and no longer equals
    # the committed one, so a figure typed into the page by hand fails the test above.
    results = tmp_path / "figures"
    shutil.copytree(figures_page.RESULTS, results)
    path = results / "pagination.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    table = next(block for block in result["output"] if "rows" in block)
    table["rows"][0][-1] = "123456.78"
    path.write_text(json.dumps(result), encoding="utf-8")
    page = figures_page.render(results)
    assert "| 123456.78 |" in page
    assert page != figures_page.render()


def test_a_missing_results_file_is_said_on_the_page(tmp_path: Path) -> None:
    page = figures_page.render(tmp_path)
    assert page.count("Not measured yet") == len(figures_page.BENCHES)


def _git(folder: Path, *arguments: str) -> str:
    return subprocess.run(  # noqa: S603 (git with our own arguments)
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *arguments],  # noqa: S607 (git from PATH, as the benchmarks run it)
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_the_commit_of_figures_measured_on_a_changed_tree_says_dirty(tmp_path: Path) -> None:
    # Figures once named a commit without the measured code (it was not committed yet).
    _git(tmp_path, "init", "-q")
    (tmp_path / "bench.py").write_text("v1\n", encoding="utf-8")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.json").write_text("{}\n", encoding="utf-8")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    head = _git(tmp_path, "rev-parse", "--short", "HEAD")
    figures = tmp_path / "figures"
    assert bench_common._commit(tmp_path, figures) == head
    (tmp_path / "figures" / "a.json").write_text('{"new": 1}\n', encoding="utf-8")
    (tmp_path / "figures" / "b.json").write_text("{}\n", encoding="utf-8")
    assert bench_common._commit(tmp_path, figures) == head  # the results of the run itself
    assert bench_common._commit(tmp_path) == f"{head}+dirty"
    (tmp_path / "bench.py").write_text("v2\n", encoding="utf-8")
    assert bench_common._commit(tmp_path, figures) == f"{head}+dirty"  # a changed file
    _git(tmp_path, "commit", "-q", "-am", "two")
    assert bench_common._commit(tmp_path, figures) != head
    assert not bench_common._commit(tmp_path, figures).endswith("+dirty")
    (tmp_path / "new_module.py").write_text("\n", encoding="utf-8")
    assert bench_common._commit(tmp_path, figures).endswith("+dirty")  # a file not committed yet
    # The page rendered from the results between two benchmarks of one run is the run's own too.
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "three")
    (tmp_path / "page.md").write_text("rendered\n", encoding="utf-8")
    assert bench_common._commit(tmp_path, figures).endswith("+dirty")
    assert not bench_common._commit(tmp_path, figures, tmp_path / "page.md").endswith("+dirty")
    assert bench_common._commit(tmp_path / "no-repo", figures) == "unknown"


def test_recording_keeps_what_a_successful_run_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bench_common.RESULTS_ENV, str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["bench_demo.py", "--items", "5"])

    def bench() -> None:
        print("Walking 5 items\n\n| mode | wall s |\n|---|---:|\n| sequential | 0.25 |\n\nTarget: PASS")
        raise SystemExit(0)

    with pytest.raises(SystemExit), bench_common.recording("demo"):
        bench()
    result = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    assert result["command"] == "python -m scripts.bench_demo --items 5"
    assert result["output"] == [
        {"text": "Walking 5 items"},
        {"header": ["mode", "wall s"], "align": ["---", "---:"], "rows": [["sequential", "0.25"]]},
        {"text": "Target: PASS"},
    ]
    assert len(result["load_average"]) == 2


def test_recording_keeps_nothing_of_a_failed_run_or_without_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(bench_common.RESULTS_ENV, str(tmp_path))

    def failing() -> None:
        print("| a |\n|---|\n| 1 |")
        raise SystemExit(2)

    with pytest.raises(SystemExit), bench_common.recording("failed"):
        failing()
    with pytest.raises(RuntimeError), bench_common.recording("crashed"):
        raise RuntimeError("boom")
    monkeypatch.delenv(bench_common.RESULTS_ENV)
    with bench_common.recording("unset"):
        print("| a |\n|---|\n| 1 |")
    assert list(tmp_path.iterdir()) == []


def test_the_output_parser_examples() -> None:
    result = doctest.testmod(bench_common, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
