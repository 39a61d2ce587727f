# Every target creates .venv on first use; only python3 (3.11+) is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
# Two stamps: the plan needs only the runtime dependencies (pulumi, pulumi-aws, ...); the tests and
# linters add moto, mypy and the stubs, which took most of a fresh clone's first `make plan`.
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

.PHONY: plan test lint bench clean mutation asl-validator

$(RUNTIME): pyproject.toml setup.py
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

# pip 25.1+ (installed above) reads the dependency groups of pyproject.toml.
$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e . --group test --group dev
	touch $(STAMP)

## plan: the offline plan of a stack (STACK=dev|staging|prod|local), no cloud, no Pulumi CLI;
## installs only what the plan needs
plan: $(RUNTIME)
	$(BIN)/resilient-serverless plan --stack $(STACK)

## test: the whole test suite (unit, handlers, whole stacks, install); where npm exists it first
## brings the independent ASL validator the state-machine tests run (they skip, saying so, without it)
test: $(STAMP)
	@test -d node_modules/asl-validator || ! command -v npm >/dev/null || $(MAKE) --no-print-directory asl-validator \
		|| echo "asl-validator could not be installed: its tests will skip"
	$(BIN)/python -m pytest

## lint: ruff and mypy on the whole tree
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: benchmarks with their targets (not tests)
bench: $(STAMP)
	$(BIN)/python -m bench

## mutation: mutation testing (mutmut) of the rules and the handler library; slow, not in CI.
## Runs on a copy in build/mutation (the tree is never mutated); narrow it with
## MUTATE=components/rules/ MUTATION_TESTS=tests/rules/test_rules.py (fast, sharp tests first: -x stops at
## the first failure). Do not run `mutmut results` or `show` in the copy while a run is going: they
## re-index the file as it is on disk (mutated) and the run loses its place.
MUTATE ?= components/rules/,handlers/resilience/
# The rules' edge tests on hand-built resources first (fast), then the rules on programs, then the
# handler library's tests without the job handlers' (slow on moto, and no more of the library).
MUTATION_TESTS ?= tests/rules/test_functions.py tests/rules/test_queues.py tests/rules/test_apigateway.py \
	tests/rules/test_operations.py tests/rules/test_catalogue.py tests/rules/test_iam.py tests/rules/test_rules.py \
	tests/handlers --ignore=tests/handlers/jobs
MUTATION_DIR ?= build/mutation
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet --group mutation
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR)/path/resilient_serverless
	cp -r components handlers app tests environments __main__.py Pulumi.yaml pyproject.toml $(MUTATION_DIR)/
	find $(MUTATION_DIR) -name __pycache__ -prune -exec rm -rf {} +
	# The copy is imported as resilient_serverless.* (ahead of the editable install) through path/;
	# no plugin autoload: pytest starts in half the time, and each mutant is one pytest start.
	ln -s ../../components $(MUTATION_DIR)/path/resilient_serverless/components
	ln -s ../../handlers $(MUTATION_DIR)/path/resilient_serverless/handlers
	cd $(MUTATION_DIR) && PYTHONPATH=path PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 $(abspath $(BIN))/mutmut run \
		--paths-to-mutate "$(MUTATE)" --tests-dir tests --simple-output --no-progress \
		--runner "$(abspath $(BIN))/python -m pytest -x -q -p no:randomly -p no:cacheprovider $(MUTATION_TESTS)" \
		|| true
	cd $(MUTATION_DIR) && $(abspath $(BIN))/mutmut results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

## asl-validator: the npm ASL validator the state-machine tests also run (skipped without it)
asl-validator:
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error asl-validator@4
