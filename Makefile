# Failure Catalog. Quick start: `make run` (dashboard :8501, API :8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
DEV := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)
# Two pytest workers: the suite's wall time on 2 cores (docs/dev-conventions.md, "Tests").
PYTEST_ARGS ?= -n 2
ROWS ?= 1000000

.PHONY: install install-dev services test test-fast lint run migrate bench clean

# What running needs (make run): requirements.txt only.
install: $(RUNTIME)

$(RUNTIME): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.runtime-* && touch $@

# What tests, benchmarks and lint need on top of it: requirements-dev.txt.
install-dev: $(DEV)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.dev-* && touch $@

services:
	@scripts/ensure_services.sh

test: install-dev services
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install-dev
	$(BIN)/pytest -x -q -m "not e2e and not slow" $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check core queries loaders api cli demo dashboard pages app.py bench tests/test_layout.py
	$(BIN)/mypy

migrate: install
	$(BIN)/failcat migrate

run: install
	@scripts/run.sh

bench: install-dev services
	$(BIN)/python -m bench --rows $(ROWS)

clean:
	rm -rf $(VENV) data/*.db data/*.db-* .pytest_cache .mypy_cache
