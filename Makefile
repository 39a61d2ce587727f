# Every target creates .venv on first use; only python3 (3.11+) is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: plan test lint bench clean asl-validator

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

## plan: the offline plan of a stack (STACK=dev|staging|prod|local), no cloud, no Pulumi CLI
plan: $(STAMP)
	$(BIN)/resilient-serverless plan --stack $(STACK)

## test: the whole test suite (unit, handlers, whole stacks, install)
test: $(STAMP)
	$(BIN)/python -m pytest

## lint: ruff and mypy on the whole tree
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: benchmarks with their targets (not tests)
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

## asl-validator: the npm ASL validator the state-machine tests also run (skipped without it)
asl-validator:
	npm install --no-save --no-package-lock --no-audit --no-fund asl-validator
