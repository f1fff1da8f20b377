# carecloud-async: every task of the project. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: install install-mock generate check-generated lint format typecheck unit test mock demo \
        bench bench-import bench-pagination bench-percall update-spec clean

install: $(STAMP) ## virtualenv with the package (editable) and every dev/codegen tool

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,codegen,integrations]'
	touch $@

install-mock: $(NODE_STAMP) ## Prism (npm, pinned by package-lock.json)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

generate: install ## regenerate generated/carecloud_api from the pinned, verified spec
	$(PY) -m scripts.generate

check-generated: install ## fail if generated/ differs from what `make generate` makes
	$(PY) -m scripts.generate --check

lint: install
	$(BIN)/ruff check carecloud_async scripts tests examples
	$(BIN)/ruff format --check carecloud_async scripts tests examples

format: install
	$(BIN)/ruff check --fix carecloud_async scripts tests examples
	$(BIN)/ruff format carecloud_async scripts tests examples

typecheck: install
	$(BIN)/mypy

unit: install ## unit tests only (no Prism)
	$(PY) -m pytest -m "not prism"

test: install install-mock lint typecheck check-generated ## every check and every test
	$(PY) -m pytest

mock: install install-mock ## Prism on 127.0.0.1 until Ctrl-C
	$(PY) -m scripts.mock_server

demo: install install-mock ## the main job, against the local mock (or CARECLOUD_* if set)
	$(PY) -m examples.demo

bench: bench-import bench-pagination bench-percall

bench-import: install
	$(PY) -m scripts.bench_import

bench-pagination: install
	$(PY) -m scripts.bench_pagination

bench-percall: install ## typed call vs raw httpx + JSON, model parse vs json.loads (issue 15)
	$(PY) -m scripts.bench_percall

update-spec: install ## SPEC=path-or-url: regenerate for a new spec and write a change report
	$(PY) -m scripts.update_spec $(SPEC)

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
