# phishline: `make run` (the main job) and `make test` (everything CI checks).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
PACKAGES := lib-version lib-ml model-training model-service app cli
INSTALLED := $(VENV)/.installed
SRC := $(foreach p,$(PACKAGES),$(p)/src)
# checkov pins conflict with the project's dependencies: it lives in its own venv.
CHECKOV := .venv-checkov/.installed
PYTEST_ARGS ?=

.PHONY: help venv bootstrap system run test lint typecheck pylint fmt cov lock clean mutation

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

system:  ## install the system packages the tests and the local stack use (root on Debian; skips otherwise)
	@scripts/bootstrap-system.sh

$(INSTALLED): requirements/bootstrap.txt requirements/dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/bootstrap.txt
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation --reinstall $(foreach p,$(PACKAGES),-e $(p))
	@touch $@

$(CHECKOV): requirements/checkov.txt $(INSTALLED)
	@test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	$(UV) pip sync --quiet --python .venv-checkov/bin/python --require-hashes requirements/checkov.txt
	@touch $@

venv: $(INSTALLED)  ## .venv with the locked dependencies only (no system packages)

bootstrap: system $(INSTALLED)  ## system packages + .venv with the locked dependencies

run: bootstrap  ## get data, train when stale, start the services on 127.0.0.1
	$(BIN)/phishline up

lint: $(INSTALLED)  ## every static gate, failing fast
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) -s typecheck pylint

typecheck: $(INSTALLED)
	$(BIN)/mypy $(SRC)

pylint: $(INSTALLED)
	$(BIN)/pylint $(SRC)

fmt: $(INSTALLED)  ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

cov: $(INSTALLED) $(CHECKOV)  ## tests with the branch coverage report (fails under 90 %)
	rm -f .coverage .coverage.*
	$(BIN)/pytest --cov --cov-report=term --cov-report=xml $(PYTEST_ARGS)

test: bootstrap $(CHECKOV) lint cov  ## everything CI checks

mutation: $(INSTALLED)  ## mutation testing of lib-ml (mutmut, long): writes reports/mutation.md
	$(BIN)/phishline report mutation

lock:  ## recompile the hashed requirements files (no index URL is recorded)
	$(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header \
	  --no-emit-index-url --no-emit-find-links requirements/bootstrap.in -o requirements/bootstrap.txt
	$(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header \
	  --no-emit-index-url --no-emit-find-links requirements/dev.in -o requirements/dev.txt
	# Image locks are constrained by dev.txt (-c), so they follow it; checkov has its own venv.
	for lock in wheel-build model-service app model-training checkov; do \
	  $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header \
	    --no-emit-index-url --no-emit-find-links requirements/$$lock.in -o requirements/$$lock.txt; done

clean:  ## remove the venv and caches (data, models and the DVC cache stay)
	rm -rf $(VENV) .venv-checkov .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* coverage.xml
