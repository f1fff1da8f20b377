"""The built docs site, opened in a real headless Chromium (the system's, driven by playwright):
the home page, the search (a query typed, results shown), one operation page, one model page
and one page of the hand-written layer render with their content. A screenshot of each is kept
in build/docs-screenshots/ (a CI artifact).

The site is the one ``make docs`` built into build/site (``make test`` builds it first); when it
is missing, the fixture builds it. No browser, or one that does not start, fails the test: it
never skips.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from thread_server import FolderHandler, serving

from scripts.docs_browser import HEADLESS_ARGS, find_browser

if sys.version_info < (3, 11):  # the docs toolchain needs 3.11 (pyproject: docs); the 3.11+ CI jobs run these
    pytest.skip("the docs site is built with Python 3.11 or newer", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "site"
SHOTS = ROOT / "build" / "docs-screenshots"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-5000:]
    return SITE


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The site over HTTP on a free loopback port (the search loads its index with fetch)."""
    with serving(FolderHandler.of(site)) as origin:
        yield origin


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_browser()
    if executable is None:
        pytest.fail("no Chromium found: run `make browser` (installs Debian's chromium) or set $CHROMIUM")
    with sync_playwright() as playwright:
        # playwright gives the browser a fresh profile (--user-data-dir) of its own
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[arg for arg in HEADLESS_ARGS if arg != "--headless"],
            timeout=TIMEOUT_MS,
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def heading(text: str) -> re.Pattern[str]:
    """A heading's text: the page's own, then the permalink sign the build adds."""
    return re.compile(rf"^{re.escape(text)}\s*¶?\s*$")


def screenshot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000, f"{path} is too small to show a rendered page"


def test_home_page(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_title("carecloud-async")
    expect(page.locator("article h1")).to_have_text(heading("carecloud-async"))
    nav = page.locator("nav.md-nav--primary")
    for section in (
        "Getting started",
        "Guide",
        "Reference",
        "Changelog",
        "carecloud_async",
        "carecloud_api: operations",
    ):
        expect(nav.get_by_text(section, exact=True).first).to_be_attached()
    models = nav.get_by_role("link", name="carecloud_api: models").first
    expect(models).to_have_attribute("href", "reference/models/")
    reference = nav.get_by_role("link", name="Reference", exact=True)
    expect(reference).to_have_count(0)  # a section title, not a link to one of its pages
    screenshot(page, "home")


def test_search_finds_an_operation(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    search = page.locator("input.md-search__input")
    search.fill("vouchers")
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible()
    assert results.count() > 3
    expect(page.locator(".md-search-result__meta")).to_contain_text("matching")
    expect(page.locator(".md-search-result__list")).to_contain_text("vouchers")
    screenshot(page, "search")


def test_operation_page(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/reference/operations/vouchers/get_vouchers/")
    expect(page.locator("article h1")).to_have_text(heading("GET /vouchers"))
    article = page.locator("article")
    for text in ("Enterprise API", "reward_id[]", "GetVouchers200Response", "BadRequest", "cc.paginate(get_vouchers)"):
        expect(article).to_contain_text(text)
    success = article.get_by_role("link", name="GetVouchers200Response").first
    expect(success).to_have_attribute("href", "../../../models/get_vouchers_200_response/")
    screenshot(page, "operation")


def test_model_page(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/reference/models/voucher/")
    expect(page.locator("article h1")).to_have_text(heading("Voucher"))
    table = page.locator("article table").first
    for text in ("customer_id", "valid_to", "VoucherState", "Code of the voucher."):
        expect(table).to_contain_text(text)
    screenshot(page, "model")


def test_layer_reference_page(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/reference/carecloud_async/client/")
    article = page.locator("article")
    expect(article.locator('[id="carecloud_async._client.CareCloud"]')).to_be_attached()
    expect(article).to_contain_text("paginate")
    screenshot(page, "layer")


# --------------------------------------------------------------------------- first hour (issue 26)


def search_for(page: Page, base_url: str, query: str) -> None:
    page.goto(f"{base_url}/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator("input.md-search__input").fill(query)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("GET /customers", "GET /customers"),  # method and path
        ("getCustomers", "GET /customers"),  # operationId: not getCustomerSources, not a model
        ("get_customers", "GET /customers"),  # the Python module
        ("Get all customers", "GET /customers"),  # the summary
        ("getCustomer", "GET /customers/{customer_id}"),
        ("GET /customers/{customer_id}", "GET /customers/{customer_id}"),
        ("send-purchase", "POST /purchases/actions/send-purchase"),
        ("POST /purchases/actions/send-purchase", "POST /purchases/actions/send-purchase"),
        ("postPurchaseSend", "POST /purchases/actions/send-purchase"),
        ("GET /vouchers", "GET /vouchers"),
    ],
)
def test_search_puts_the_operations_page_first(page: Page, base_url: str, query: str, title: str) -> None:
    search_for(page, base_url, query)
    first = page.locator(".md-search-result__item").first.locator("h1")
    expect(first).to_have_text(re.compile(rf"^\s*{re.escape(title)}\s*$"), timeout=10_000)


def test_the_navigation_marks_the_operation_page_shown(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/reference/operations/vouchers/get_vouchers/")
    active = page.locator("nav.md-nav--primary a.md-nav__link--active")
    expect(active).to_have_count(1)
    expect(active).to_have_text(re.compile(r"^\s*GET /vouchers\s*$"))


def test_the_navigation_file_is_no_page(page: Page, base_url: str) -> None:
    assert page.request.get(f"{base_url}/SUMMARY/").status == 404
    index = page.request.get(f"{base_url}/search/search_index.json").json()
    assert not [doc["location"] for doc in index["docs"] if "SUMMARY" in doc["location"]]


@pytest.mark.parametrize(
    "path",
    [
        "reference/operations/customers_actions/post_customers_verify_auth_token/",
        "reference/operations/purchases/post_purchase_send/",
        "reference/carecloud_async/client/",
        "guide/cli/",
    ],
)
def test_no_code_runs_out_of_the_content_column(page: Page, base_url: str, path: str) -> None:
    page.goto(f"{base_url}/{path}")
    cut = page.evaluate(
        """() => [...document.querySelectorAll("article pre, article pre > code")]
            .filter(element => element.scrollWidth > element.clientWidth + 1)
            .map(element => element.textContent.slice(0, 80))"""
    )
    assert cut == [], cut


def test_the_operation_table_has_a_header(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/reference/operations/vouchers/get_vouchers/")
    header = page.locator("article table").first.locator("thead th")
    expect(header).to_have_text(["Property", "Value"])
