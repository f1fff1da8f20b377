"""The pages of the docs site that the build makes: the navigation, the API reference and the
changelog. Run by mkdocs-gen-files at every ``make docs`` (``mkdocs.yml``: ``gen-files``), so
they exist only in the build, never in ``docs/``.

- ``SUMMARY.md``, the navigation (read by mkdocs-literate-nav): the hand-written pages, then
  **every** Markdown file under ``docs/guide/`` (the known topics in reading order, any other
  page after them by title), so a guide page needs no edit of ``mkdocs.yml`` to appear;
- ``reference/carecloud_async/*.md``: one page per concern of the hand-written layer, rendered by
  mkdocstrings from the code (the names ``carecloud_async`` exports, grouped by the module that
  defines them, and every public submodule);
- ``reference/operations/**`` and ``reference/models/*.md``: the generated package, by
  :mod:`scripts.docs_reference`;
- ``changelog.md``: ``CHANGELOG.md`` as it is.

    >>> guide_order(["zebra.md", "pagination.md", "auth.md"])
    ['auth.md', 'pagination.md', 'zebra.md']
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from scripts import docs_reference

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LAYER = "carecloud_async"

#: The guide's reading order; any other page in docs/guide/ comes after these, by title.
GUIDE_ORDER = (
    "configuration.md",
    "resources.md",
    "auth.md",
    "retries-and-errors.md",
    "models.md",
    "pagination.md",
    "actions.md",
    "workflows.md",
    "use-cases.md",
    "frameworks.md",
    "testing.md",
    "outbox.md",
    "caching.md",
    "logging.md",
    "tracing-and-metrics.md",
    "cli.md",
    "spec-updates.md",
    "development.md",
    "releases.md",
    "measured.md",
)
#: Hand-written pages before the guide, in order, and where the changelog goes.
START_PAGES = (("Home", "index.md"),)
GETTING_STARTED = (("Enterprise API", "getting-started/enterprise.md"), ("Customer API", "getting-started/customer.md"))

_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def title_of(text: str, fallback: str) -> str:
    """A page's title: its first ``# heading``, else ``fallback``.

    >>> title_of("intro\\n# Caching answers\\n", "caching")
    'Caching answers'
    """
    match = _HEADING.search(text)
    return match[1].strip() if match else fallback


def guide_order(names: Iterable[str]) -> list[str]:
    """The guide's files in reading order: the known ones first, then the rest by name."""
    known = {name: index for index, name in enumerate(GUIDE_ORDER)}
    return sorted(names, key=lambda name: (known.get(name, len(known)), name))


def guide_pages(docs: Path) -> list[tuple[str, str]]:
    """``(title, path from the docs root)`` of every Markdown page under ``docs/guide/``."""
    guide = docs / "guide"
    files = {path.relative_to(guide).as_posix(): path for path in guide.rglob("*.md")} if guide.is_dir() else {}
    return [
        (
            title_of(files[name].read_text(encoding="utf-8"), Path(name).stem.replace("-", " ").capitalize()),
            f"guide/{name}",
        )
        for name in guide_order(files)
    ]


def layer_pages() -> dict[str, tuple[str, str]]:
    """``{page path: (title, mkdocstrings directive)}`` for the hand-written layer.

    The names ``carecloud_async`` exports, grouped by the private module that defines them (one
    page per concern: client, auth, errors, ...), and one page per public submodule. Derived from
    the package at build time, so a new export or module gets its page without an edit here.
    """
    package = importlib.import_module(LAYER)
    by_module: dict[str, list[str]] = {}
    for name, module in sorted(package._MODULE_OF.items()):
        if name.startswith("__"):
            continue
        by_module.setdefault(module.lstrip("."), []).append(name)
    pages: dict[str, tuple[str, str]] = {
        "reference/carecloud_async/index.md": (LAYER, f"::: {LAYER}\n    options:\n      members: false\n"),
    }
    for module, names in sorted(by_module.items()):
        concern = module.lstrip("_")
        members = "\n".join(f"        - {name}" for name in names)
        directive = f"::: {LAYER}.{module}\n    options:\n      show_root_heading: false\n      members:\n{members}\n"
        pages[f"reference/carecloud_async/{concern}.md"] = (concern.replace("_", " ").capitalize(), directive)
    for name in public_modules(Path(package.__file__ or "").parent):
        page = "reference/" + name.replace(".", "/") + ".md"
        pages[page] = (name.removeprefix(f"{LAYER}."), f"::: {name}\n")
    return pages


def public_modules(package_dir: Path, package: str = LAYER) -> list[str]:
    """Every public module and subpackage under ``package_dir``, found on disk (nothing is
    imported: a module may import an optional dependency that is not installed).

    >>> public_modules(ROOT / "carecloud_async")[:2]
    ['carecloud_async.cli', 'carecloud_async.integrations']
    """
    found: list[str] = []
    for info in pkgutil.iter_modules([str(package_dir)]):
        if info.name.startswith("_"):
            continue
        name = f"{package}.{info.name}"
        found.append(name)
        if info.ispkg:
            found += public_modules(package_dir / info.name, name)
    return sorted(found)


def _nav_line(depth: int, title: str, target: str | None = None) -> str:
    indent = "    " * depth
    return f"{indent}* [{title}]({target})" if target else f"{indent}* {title}"


def summary(
    guide: list[tuple[str, str]],
    layer: dict[str, tuple[str, str]],
    tags: list[tuple[str, str]],
    operations: dict[str, list[tuple[str, str]]] | None = None,
) -> str:
    """The navigation in mkdocs-literate-nav's Markdown list syntax. ``operations`` gives each
    tag's operation pages (title, path) under it, so that the navigation marks the one shown
    (mkdocs.yml's ``navigation.prune`` keeps only the open group's in each page)."""
    lines = [_nav_line(0, title, path) for title, path in START_PAGES]
    lines.append(_nav_line(0, "Getting started"))
    lines += [_nav_line(1, title, path) for title, path in GETTING_STARTED]
    lines.append(_nav_line(0, "Guide"))
    lines += [_nav_line(1, title, path) for title, path in guide]
    lines.append(_nav_line(0, "Reference"))
    lines.append(_nav_line(1, "carecloud_async", "reference/carecloud_async/index.md"))
    lines += [
        _nav_line(2, title, path)
        for path, (title, _) in sorted(layer.items())
        if path != "reference/carecloud_async/index.md"
    ]
    lines.append(_nav_line(1, "carecloud_api: operations", f"{docs_reference.OPERATIONS_DIR}/index.md"))
    for tag, title in tags:
        lines.append(_nav_line(2, title, f"{docs_reference.OPERATIONS_DIR}/{tag}/index.md"))
        lines += [_nav_line(3, op_title, path) for op_title, path in (operations or {}).get(tag, [])]
    # a section of its own: a page index.md directly under "Reference" would become the Reference
    # section's own page (Material's navigation.indexes)
    lines.append(_nav_line(1, "carecloud_api: models"))
    lines.append(_nav_line(2, "All models", f"{docs_reference.MODELS_DIR}/index.md"))
    lines.append(_nav_line(0, "Changelog", "changelog.md"))
    return "\n".join(lines) + "\n"


def site_pages(docs: Path = DOCS, root: Path = ROOT) -> dict[str, str]:
    """Every page the build adds: ``{path from the docs root: Markdown}``."""
    reference = docs_reference.collect()
    out = docs_reference.pages(reference)
    layer = layer_pages()
    for path, (title, directive) in layer.items():
        out[path] = f"# {title}\n\n{directive}"
    by_tag = docs_reference.tags_of(reference)
    tags = [(tag, reference.tag_titles[tag]) for tag in by_tag]
    operations = {
        tag: [
            (f"{op.method} {op.path}", docs_reference.operation_path(op))
            for op in sorted(ops, key=lambda o: (o.path, o.method))
        ]
        for tag, ops in by_tag.items()
    }
    out["SUMMARY.md"] = summary(guide_pages(docs), layer, tags, operations)
    out["changelog.md"] = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    return out


def write(pages: dict[str, str], opener: Callable[[str, str], object]) -> None:
    """Write ``pages`` through ``opener`` (``mkdocs_gen_files.open``, or ``open`` for a folder)."""
    for path, text in pages.items():
        with opener(path, "w") as handle:  # type: ignore[attr-defined]
            handle.write(text)


def main() -> None:
    import mkdocs_gen_files
    from mkdocs.structure.files import InclusionLevel
    from mkdocs_gen_files.editor import FilesEditor

    write(site_pages(), mkdocs_gen_files.open)
    # SUMMARY.md is literate-nav's input, not a page: not built, not searchable (literate-nav
    # reads it all the same). mkdocs.yml's exclude_docs cannot say so: literate-nav marks the
    # file "not in nav" before mkdocs applies it to generated files.
    nav_file = FilesEditor.current().files.get_file_from_path("SUMMARY.md")
    if nav_file is not None:
        nav_file.inclusion = InclusionLevel.EXCLUDED


if __name__ in {"__main__", "<run_path>"}:
    main()
