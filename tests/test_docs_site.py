"""The docs site's build: the reference of the generated package read from the code
(scripts/docs_reference.py), the navigation that takes every guide page (scripts/docs_site.py),
and the strictness of mkdocs.yml (a broken link, a missing reference or a docstring warning
fails the build). The built site itself is opened in a browser by tests/test_docs_browser.py."""

from __future__ import annotations

import doctest
import importlib
import inspect
import logging
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from scripts import docs_browser, docs_reference, docs_site

ROOT = Path(__file__).resolve().parent.parent
# The docs toolchain (mkdocs-material 9.8, griffelib 2.4) needs Python 3.11 (pyproject: docs);
# on 3.10 the reference is still read and rendered, and the 3.11+ CI jobs run the builds.
needs_docs_toolchain = pytest.mark.skipif(sys.version_info < (3, 11), reason="the docs toolchain needs Python 3.11")
MODELS_DIR = ROOT / "generated" / "carecloud_api" / "models"


@pytest.fixture(scope="module")
def reference() -> docs_reference.Reference:
    return docs_reference.collect()


@pytest.fixture(scope="module")
def pages(reference: docs_reference.Reference) -> dict[str, str]:
    return docs_reference.pages(reference)


@pytest.mark.parametrize("module", [docs_reference, docs_site, docs_browser])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


@needs_docs_toolchain
def test_sphinx_roles_become_code() -> None:
    from scripts import docs_griffe

    assert doctest.testmod(docs_griffe).failed == 0
    assert (
        docs_griffe.plain_roles(":class:`~a.B` and :func:`c.d` and :attr:`.e` and `f`")
        == "`B` and `c.d` and `e` and `f`"
    )


# --------------------------------------------------------------------------- read from the code


def test_every_operation_and_every_model_has_a_page(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    catalog = importlib.import_module("carecloud_api._catalog")
    assert len(reference.operations) == len(catalog.OPERATIONS) == 322
    modules = [path for path in MODELS_DIR.glob("*.py") if not path.stem.startswith("_")]
    assert len(reference.models) == len(modules) > 800
    for op in reference.operations:
        assert docs_reference.operation_path(op) in pages
    for model in reference.models:
        assert docs_reference.model_path(model) in pages
    assert f"{docs_reference.OPERATIONS_DIR}/index.md" in pages
    assert f"{docs_reference.MODELS_DIR}/index.md" in pages


def test_operation_pages_show_method_path_interface_parameters_success_and_errors(pages: dict[str, str]) -> None:
    for path, text in pages.items():
        if not path.startswith(docs_reference.OPERATIONS_DIR) or path.endswith("index.md"):
            continue
        front, body = re.fullmatch(r"---\n(.*?)\n---\n\n(.*)", text, re.DOTALL).groups()  # type: ignore[union-attr]
        assert yaml.safe_load(front)["tags"], path  # the search keys (docs_reference.search_tags)
        assert re.match(r"# (GET|POST|PUT|DELETE) /", body), path
        for part in ("| Method |", "| Path |", "| Interface |", "## Parameters", "## Success", "## Errors"):
            assert part in text, f"{path}: {part}"


def test_an_operation_as_the_code_says(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    op = next(op for op in reference.operations if op.module.endswith(".get_vouchers"))
    module = importlib.import_module(op.module)
    assert (op.method, op.path) == (module.METHOD, module.PATH)
    assert set(op.interfaces) == {"customer", "enterprise"}
    assert op.paginated
    assert op.list_key == "vouchers"
    names = [p.name for p in op.parameters]
    assert names == [name for name in inspect.signature(module.call).parameters if name != "client"]
    reward = next(p for p in op.parameters if p.name == "reward_id")
    # one value as reward_id=x, a list in array syntax (issue 22, item 4)
    assert (reward.wire_name, reward.location, reward.required) == ("reward_id or reward_id[]", "query", False)
    language = next(p for p in op.parameters if p.name == "accept_language")
    assert (language.wire_name, language.location) == ("Accept-Language", "header")
    assert op.success_type == "GetVouchers200Response"
    statuses = {response.status: response.model for response in op.responses}
    assert statuses[200] == "GetVouchers200Response"
    assert statuses[400] == "BadRequestErrorBody"
    assert statuses[429] is None
    text = pages[docs_reference.operation_path(op)]
    assert "| 400 | [BadRequestErrorBody](../../models/bad_request_error_body.md) | `BadRequest` |" in text
    assert "`reward_id` (sent as `reward_id` or `reward_id[]`)" in text


def test_parameter_rows_show_the_spec_description_and_constraints(
    reference: docs_reference.Reference, pages: dict[str, str]
) -> None:
    """Issue 26, item 1: the operation page's parameter table says what the vendor says of each
    parameter (``birthdate``: its two formats) and what its schema allows (``count``: at least 1)."""
    op = next(op for op in reference.operations if (op.method, op.path) == ("GET", "/customers"))
    rows = {
        row.split(" | ", 1)[0].removeprefix("| "): row
        for row in pages[docs_reference.operation_path(op)].splitlines()
        if row.startswith("| `")
    }
    assert "| Name | In | Type | Required | Default | Description |" in pages[docs_reference.operation_path(op)]
    assert rows["`birthdate`"].endswith(
        "| Customer's date of birth. Accepts the format `YYYY-MM-DD` or `DD.MM.YYYY`. |"
    )
    assert "(at least 1; default: 100) |" in rows["`count`"]
    assert "(one of: ASC, DESC) |" in rows["`sort_direction`"]
    assert "(at most 1000 items) |" in rows["`email_list` (sent as `email_list[]`)"]
    # every parameter of every operation (1,391) has a description in its row
    assert not [(op.path, p.name) for op in reference.operations for p in op.parameters if not p.description]


def test_a_list_page_says_that_the_paginator_takes_page_size_instead_of_count_and_offset(
    reference: docs_reference.Reference, pages: dict[str, str]
) -> None:
    """Issue: the page of GET /customers showed cc.customers.list() and a parameter table with
    count and offset, which the list method refuses, and no word of page_size or max_items."""
    by_route = {(op.method, op.path): op for op in reference.operations}
    listing = pages[docs_reference.operation_path(by_route["GET", "/customers"])]
    parameters = listing[listing.index("## Parameters") : listing.index("## Success")]
    assert (
        "`count` and `offset` are for `cc.call`. `cc.customers.list()` and `cc.paginate` set them on every "
        "request (passing them is refused) and take instead `page_size` (the `count` sent, 1 to 1,000; "
        "default 100), `max_items` (stop after that many items; default: all)"
    ) in parameters
    assert "See [Pagination](../../../guide/pagination.md)." in parameters
    lists = [op for op in reference.operations if op.paginated]
    assert len(lists) == 111
    assert all("take instead `page_size`" in pages[docs_reference.operation_path(op)] for op in lists)
    one = pages[docs_reference.operation_path(by_route["GET", "/customers/{customer_id}"])]
    assert "page_size" not in one


@needs_docs_toolchain
def test_a_pattern_shows_whole_in_its_table_cell(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    """PersonalInformation.email's pattern (a long regex with a backslash, a backtick and pipes)
    reaches the built page as one code span, in its own cell, character for character."""
    import html

    import markdown  # type: ignore[import-untyped]  # (no stubs; a docs dependency)

    from scripts import normalise, spec_source

    schema = normalise.load(spec_source.obtain())["components"]["schemas"]["PersonalInformation"]
    model = next(model for model in reference.models if model.name == "PersonalInformation")
    built = markdown.markdown(pages[docs_reference.model_path(model)], extensions=["tables"])
    rows = {
        cells[0]: cells
        for row in re.findall(r"<tr>(.*?)</tr>", built, re.DOTALL)
        if (cells := re.findall(r"<td>(.*?)</td>", row, re.DOTALL))
    }
    for name in ("email", "phone"):
        cells = rows[f"<code>{name}</code>"]
        assert len(cells) == 4, cells
        pattern = html.escape(schema["properties"][name]["pattern"], quote=False)
        assert f"(matches <code>{pattern}</code>)" in cells[3], name


def test_model_fields_under_an_indented_attributes_heading(reference: docs_reference.Reference) -> None:
    """A model description ending in a line break leaves its ``Attributes:`` indented (Audience):
    its fields are still read, as they are under a heading at the left margin."""
    audience = next(model for model in reference.models if model.name == "Audience")
    assert inspect.cleandoc(importlib.import_module(audience.module).Audience.__doc__ or "").count("\n    Attributes:")
    fields = {field.name: field.description for field in audience.fields}
    assert fields["name"] == "Name of the audience. Example: Newsletter subscribers."
    assert fields["state"].startswith("State of the audience.")


def test_path_parameters_body_and_actions(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    put = next(op for op in reference.operations if op.module.endswith(".stores.put_store"))
    assert [(p.name, p.location, p.required) for p in put.parameters[:2]] == [
        ("store_id", "path", True),
        ("body", "body", True),
    ]
    assert "`call` returns nothing: the answer has no body." in pages[docs_reference.operation_path(put)]
    assert "cc.call(put_store.call, store_id, body=...)" in pages[docs_reference.operation_path(put)]
    verify = next(op for op in reference.operations if op.path == "/customers/actions/verify-credentials")
    assert verify.action == "customers.verify_credentials"
    assert "`cc.actions.customers.verify_credentials`" in pages[docs_reference.operation_path(verify)]
    login = next(op for op in reference.operations if op.path == "/users/actions/login")
    assert not login.auth
    assert "none (`security: []`)" in pages[docs_reference.operation_path(login)]


def test_model_pages_show_every_field(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    models = importlib.import_module("carecloud_api.models")
    for model in reference.models:
        cls = getattr(models, model.name)
        text = pages[docs_reference.model_path(model)]
        assert text.startswith(f"# {model.name}\n")
        if model.kind == "enum":
            assert [name for name, _ in model.members] == [member.name for member in cls]
            assert all(f"| `{name}` |" in text for name, _ in model.members)
        else:
            declared = [field.name for field in attrs.fields(cls) if field.init]
            assert [field.name for field in model.fields] == declared
            assert all(f"| `{name}` |" in text for name in declared), model.name


def test_a_model_as_the_code_says(reference: docs_reference.Reference, pages: dict[str, str]) -> None:
    voucher = next(model for model in reference.models if model.name == "Voucher")
    fields = {field.name: field for field in voucher.fields}
    assert fields["customer_id"].required
    assert not fields["code"].required
    assert fields["code"].description == "Code of the voucher. Example: w7TU7KfeE."
    assert fields["state"].type == "VoucherState | Unset"
    text = pages[docs_reference.model_path(voucher)]
    assert "| `state` | [VoucherState](voucher_state.md) | no |" in text
    response = pages[f"{docs_reference.MODELS_DIR}/get_vouchers_200_response.md"]
    assert "- [GET /vouchers](../operations/vouchers/get_vouchers.md)" in response  # "Returned by"


def test_responses_and_wire_names_from_source() -> None:
    source = textwrap.dedent(
        """
        def _parse_response(*, client, response):
            if response.status_code == 201:
                response_201 = Created.from_dict(response.json())
                return response_201
            if response.status_code == 503:
                return cast(Any, None)
        def _get_kwargs(*, tag_ids, accept_language):
            headers = {}
            if not isinstance(accept_language, Unset):
                headers["Accept-Language"] = accept_language
            params = {}
            params["tag_ids[]"] = json_tag_ids
        """
    )
    assert docs_reference.responses_of(source) == (
        docs_reference.Response(201, "Created"),
        docs_reference.Response(503, None),
    )
    assert docs_reference.wire_names_of(source) == {"accept_language": "Accept-Language", "tag_ids": "tag_ids[]"}


def test_spec_text_is_made_safe_for_tables() -> None:
    assert docs_reference.table_text("a | b\n  <b>c</b>") == r"a \| b &lt;b&gt;c&lt;/b&gt;"
    # a constraint's pattern (scripts/normalise.py) is a double-backtick code span: left whole
    assert docs_reference.table_text("x | (matches ``^[a|b]`<$``)") == r"x \| (matches ``^[a|b]`<$``)"
    assert docs_reference.render_type("Reward | None | Unset", {"Reward": "r.md"}) == r"[Reward](r.md) \| None"
    assert docs_reference.render_type("Unset", {}) == "Any"


# --------------------------------------------------------------------------- navigation


def test_every_guide_page_is_in_the_navigation(tmp_path: Path) -> None:
    guide = tmp_path / "guide"
    guide.mkdir()
    for name, title in {
        "outbox.md": "The outbox",
        "auth.md": "Authentication",
        "zz-new-topic.md": "A topic nobody listed",
        "caching.md": "Caching",
    }.items():
        (guide / name).write_text(f"# {title}\n\ntext\n", encoding="utf-8")
    (guide / "untitled.md").write_text("no heading\n", encoding="utf-8")
    found = docs_site.guide_pages(tmp_path)
    assert found == [
        ("Authentication", "guide/auth.md"),
        ("The outbox", "guide/outbox.md"),
        ("Caching", "guide/caching.md"),
        ("Untitled", "guide/untitled.md"),
        ("A topic nobody listed", "guide/zz-new-topic.md"),
    ]
    nav = docs_site.summary(found, {}, [("vouchers", "Vouchers")])
    for title, path in found:
        assert f"    * [{title}]({path})\n" in nav


def test_the_real_navigation(reference: docs_reference.Reference) -> None:
    layer = docs_site.layer_pages()
    tags = [(tag, reference.tag_titles[tag]) for tag in docs_reference.tags_of(reference)]
    nav = docs_site.summary(docs_site.guide_pages(ROOT / "docs"), layer, tags)
    for page in sorted((ROOT / "docs" / "guide").glob("*.md")):
        assert f"(guide/{page.name})" in nav
    for written in ("index.md", "getting-started/enterprise.md", "getting-started/customer.md"):
        assert f"]({written})" in nav
        assert (ROOT / "docs" / written).is_file()
    assert "* [Changelog](changelog.md)\n" in nav
    assert "(reference/carecloud_async/client.md)" in nav
    assert "(reference/carecloud_async/workflows/checkout.md)" in nav
    assert "(reference/operations/vouchers/index.md)" in nav
    # the layer's pages come from what the package exports: every exported name is on one
    package = importlib.import_module("carecloud_async")
    directives = "\n".join(directive for _, directive in layer.values())
    for name in package.__all__:
        if not name.startswith("__"):
            assert f"        - {name}\n" in directives, name


# --------------------------------------------------------------------------- strict


def test_mkdocs_config_is_strict() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["strict"] is True
    assert set(config["validation"].values()) == {"warn"}
    assert set(config["validation"]) == {
        "omitted_files",
        "not_found",
        "absolute_links",
        "unrecognized_links",
        "anchors",
    }
    plugins = {next(iter(p)) if isinstance(p, dict) else p: p for p in config["plugins"]}
    assert plugins["gen-files"]["gen-files"]["scripts"] == ["scripts/docs_site.py"]
    assert plugins["literate-nav"]["literate-nav"]["nav_file"] == "SUMMARY.md"
    # only the per-operation and per-model pages may stay out of the navigation
    assert config["not_in_nav"].split() == ["/reference/operations/*/*.md", "/reference/models/*.md", "!index.md"]


MODULE = '''
"""A module for the strictness test."""


def documented(value: int) -> int:
    """Double a value.

    Args:
        value: the value.
        {extra}
    """
    return value * 2
'''


def strict_build(tmp_path: Path, page: str, extra_arg: str = "") -> tuple[bool, list[str]]:
    """Build a one-page site with mkdocs.yml's own theme, extensions, validation and strictness
    (and mkdocstrings on a small module of its own): (did the strict build abort, warnings)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(page, encoding="utf-8")
    (docs / "other.md").write_text("# Other\n\n## Known part\n", encoding="utf-8")
    (tmp_path / "strictmod.py").write_text(MODULE.replace("{extra}", extra_arg), encoding="utf-8")
    config = load_config(
        str(ROOT / "mkdocs.yml"),
        docs_dir=str(docs),
        site_dir=str(tmp_path / "site"),
        plugins=[
            "search",
            {
                "mkdocstrings": {
                    "handlers": {"python": {"paths": [str(tmp_path)], "options": {"docstring_style": "google"}}}
                }
            },
        ],
        nav=["index.md", "other.md"],
        not_in_nav="",
    )
    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    handler = Collect()
    logging.getLogger("mkdocs").addHandler(handler)
    try:
        build(config)
    except Abort:
        return True, warnings
    finally:
        logging.getLogger("mkdocs").removeHandler(handler)
    return False, warnings


GOOD = "# Home\n\nSee [the other page](other.md#known-part).\n\n::: strictmod.documented\n"


@needs_docs_toolchain
def test_strict_build_passes_a_clean_site(tmp_path: Path) -> None:
    assert strict_build(tmp_path, GOOD) == (False, [])
    assert (tmp_path / "site" / "index.html").is_file()


@needs_docs_toolchain
@pytest.mark.parametrize(
    ("page", "extra_arg", "warning"),
    [
        (GOOD.replace("other.md#", "missing.md#"), "", "missing.md"),
        (GOOD.replace("#known-part", "#unknown-part"), "", "unknown-part"),
        (GOOD + "\nSee [CareCloud][carecloud_async.NoSuchThing].\n", "", "NoSuchThing"),
        (GOOD, "missing: not a parameter of the function.", "missing"),
    ],
    ids=["broken-link", "broken-anchor", "missing-reference", "docstring-warning"],
)
def test_strict_build_fails_on_warnings(tmp_path: Path, page: str, extra_arg: str, warning: str) -> None:
    aborted, warnings = strict_build(tmp_path, page, extra_arg)
    assert aborted
    assert any(warning in message for message in warnings), warnings


# --------------------------------------------------------------------------- examples

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


MARKED_BLOCK = re.compile(r"^<!-- tested: \w+[^\n]*-->\n```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def marked_examples() -> set[str]:
    """The code of every block tests/test_readme.py runs: those marked on the README or a docs page."""
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    return {code for page in pages for code in MARKED_BLOCK.findall(page.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(
    "page",
    [
        "getting-started/enterprise.md",
        "getting-started/customer.md",
        "guide/pagination.md",
        "guide/actions.md",
        "guide/frameworks.md",
        "guide/models.md",
    ],
)
def test_the_docs_examples_are_tested_ones(page: str) -> None:
    """Every example on these pages is one tests/test_readme.py runs against the Prism mock: marked
    on the page itself, or word for word one marked elsewhere (the getting started pages show the
    README's quickstarts), so the two cannot drift apart."""
    tested = marked_examples()
    examples = PYTHON_BLOCK.findall((ROOT / "docs" / page).read_text(encoding="utf-8"))
    assert examples
    for code in examples:
        assert code in tested, f"{page}: an example no test runs:\n{code}"


def test_the_install_instructions_work_before_the_first_release() -> None:
    """`pip install carecloud-async` fails until the first release is on PyPI: a page whose
    commands install from PyPI also says how to install from a checkout and from the wheel
    `make dist` builds (a file pattern that matches that wheel's name)."""
    import fnmatch

    from carecloud_async import __version__

    wheel = f"dist/carecloud_async-{__version__}-py3-none-any.whl"  # setuptools' name for `make dist`'s wheel
    blocks = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
    checked = 0
    for page in sorted((ROOT / "docs").rglob("*.md")):
        commands = "\n".join(blocks.findall(page.read_text(encoding="utf-8")))
        if not re.search(r"^pip install carecloud-async\b", commands, re.MULTILINE):
            continue
        checked += 1
        name = page.relative_to(ROOT)
        assert re.search(r"^pip install ['\"]?\.", commands, re.MULTILINE), f"{name}: no install from a checkout"
        assert re.search(r"^make dist\b", commands, re.MULTILINE), f"{name}: no `make dist`"
        patterns = re.findall(r"^pip install (dist/\S+\.whl)", commands, re.MULTILINE)
        assert any(fnmatch.fnmatch(wheel, pattern) for pattern in patterns), f"{name}: no wheel matching {wheel}"
    assert checked >= 1  # the home page's install section
