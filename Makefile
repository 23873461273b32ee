# feed-archiver: every command a person or CI needs. Needs only python3 and make;
# uv (the project's package manager) is installed into .tools/ when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Scripts called from here (infra/sam-checks.sh) find the same uv.
export PATH := $(CURDIR)/.tools/bin:$(PATH)
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --locked
# `make dashboard` serves the page with your AWS credentials and no login: on this
# machine only, unless you opt in (`make dashboard DASHBOARD_ADDRESS=0.0.0.0`, see README).
DASHBOARD_ADDRESS ?= 127.0.0.1

.PHONY: help setup demo dashboard test unit lint format browser-deps sam-checks bench bench-quick gazetteer pr clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

setup: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) ## install the locked Python packages into .venv
	$(UV) sync --locked

demo: setup ## the main job locally: moto + sample feed + archiver + dashboard on http://localhost:8501
	$(RUN) python -m dashboard.demo

dashboard: setup ## the dashboard against a deployed stack (ARCHIVE_BUCKET, ARCHIVE_TABLE, AWS_PROFILE/AWS_REGION)
	$(RUN) streamlit run dashboard/app.py --server.headless true --server.address $(DASHBOARD_ADDRESS)

test: setup lint ## everything CI checks: lint, types, all tests (browser included when Chromium is there), SAM checks, quick benchmark
	$(RUN) pytest
	$(RUN) python scripts/reliability_table.py
	bash infra/sam-checks.sh
	$(RUN) python -m benchmarks --quick

unit: setup ## the pytest suite alone
	$(RUN) pytest

lint: setup ## ruff lint + format check, mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: setup ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

browser-deps: ## install Debian's Chromium for the browser test (needs root)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

sam-checks: setup ## sam validate --lint, cfn-lint, sam build and the artifact's size
	bash infra/sam-checks.sh

bench: setup ## the full benchmark table (docs/benchmarks.md)
	$(RUN) python -m benchmarks

bench-quick: setup ## the benchmark at small sizes (CI: no timings asserted)
	$(RUN) python -m benchmarks --quick

gazetteer: setup ## regenerate the committed gazetteer data from pycountry/country_converter
	$(RUN) python scripts/build_gazetteer.py

pr: test ## alias: run everything before a pull request

clean: ## remove build outputs and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache artifacts
