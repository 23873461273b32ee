# feed-archiver: every command a person or CI needs. Needs only python3 and make;
# uv (the project's package manager) is installed into .tools/ when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The suite starts many Python processes (xdist workers, the CLI, Streamlit, the benchmark's
# fresh interpreters): with .pyc files (ignored by git) none of them recompiles every import.
unexport PYTHONDONTWRITEBYTECODE
# Scripts called from here (infra/sam-checks.sh) find the same uv.
export PATH := $(CURDIR)/.tools/bin:$(PATH)
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --locked
# `make dashboard` serves the page with your AWS credentials and no login: on this
# machine only, unless you opt in (`make dashboard DASHBOARD_ADDRESS=0.0.0.0`, see README).
DASHBOARD_ADDRESS ?= 127.0.0.1
# `make test` runs the suite on this many xdist workers (one per CPU); the tests marked `serial`
# (the browser, the overlapping runs, sub-second deadlines) all go to one of them, in turn.
PYTEST_WORKERS ?= auto

.PHONY: help setup demo dashboard test unit lint format browser-deps screenshots reliability-table sam-checks bench bench-quick gazetteer pr clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

setup: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) ## install the locked Python packages into .venv
	$(UV) sync --locked

demo: setup ## the main job locally: moto + sample feed + archiver + dashboard on http://localhost:8501
	$(RUN) python -m dashboard.demo

dashboard: setup ## the dashboard against a deployed stack (ARCHIVE_BUCKET, ARCHIVE_TABLE, AWS_PROFILE/AWS_REGION)
	$(RUN) streamlit run dashboard/app.py --server.headless true --server.address $(DASHBOARD_ADDRESS)

test: setup lint ## lint, types and every test once (browser included when Chromium is there): about 2.5 min on 2 cores
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadgroup
	$(RUN) python scripts/reliability_table.py --check

unit: setup ## the fast tier: tests/unit (no moto, no servers, no subprocess)
	$(RUN) pytest tests/unit

reliability-table: setup ## write docs/reliability.md from the last `make test` run's results
	$(RUN) python scripts/reliability_table.py

lint: setup ## ruff lint + format check, mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: setup ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

browser-deps: ## install Debian's Chromium (needs root) and axe-core (npm ci) for the browser test
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund

screenshots: setup ## run the browser test and copy its screenshots and render times into docs/screenshots
	rm -rf artifacts/screenshots
	FEED_ARCHIVER_REQUIRE_BROWSER=1 $(RUN) pytest tests/integration/test_browser.py
	cp artifacts/screenshots/*.png artifacts/screenshots/render-times.json docs/screenshots/

sam-checks: setup ## sam validate --lint, cfn-lint, checkov, sam build and the artifacts' sizes
	bash infra/sam-checks.sh

bench: setup ## the full benchmark table (docs/benchmarks.md)
	$(RUN) python -m benchmarks

bench-quick: setup ## the benchmark at small sizes (CI: no timings asserted)
	$(RUN) python -m benchmarks --quick

gazetteer: setup ## regenerate the committed gazetteer data from pycountry/country_converter
	$(RUN) python scripts/build_gazetteer.py

pr: test sam-checks bench-quick ## everything CI runs: make test, then the SAM checks and the quick benchmark

clean: ## remove build outputs and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache artifacts
