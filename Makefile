# Failure Catalog. Quick start: `make run` (dashboard :8501, API :8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
ROWS ?= 1000000

.PHONY: install services test test-fast lint run api dashboard migrate seed bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

services:
	@scripts/ensure_services.sh

test: install services
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -x -q -m "not e2e and not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check core queries loaders api dashboard pages app.py

migrate: install
	$(BIN)/failcat migrate

run: install
	@scripts/run.sh

bench: install services
	$(BIN)/python -m bench --rows $(ROWS)

clean:
	rm -rf $(VENV) data/*.db data/*.db-* .pytest_cache
