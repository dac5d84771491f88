# The command surface of the project. `make run` and `make test` work on a fresh machine
# with only Python 3.11 and make: they create the virtual environment first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := lib/svckit[ops] services/org services/performance services/activity services/ledger gateway \
            clients/partner_bank .
MANIFESTS := constraints.txt pyproject.toml lib/svckit/pyproject.toml gateway/pyproject.toml \
             clients/partner_bank/pyproject.toml \
             $(wildcard services/*/pyproject.toml)
# Constraints also bind the build environments pip makes for our own packages.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test lint bench lock clean

$(VENV)/.installed: $(MANIFESTS)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(PACKAGES))
	touch $@

install: $(VENV)/.installed

## Run the whole system: embedded PostgreSQL unless DATABASE_URL is set, migrations, five processes.
## `make run DEMO=2000` first fills an empty organisation with a generated demo company.
run: install
	STACK_DEMO_AGENTS=$(DEMO) $(BIN)/python -m svckit.ops.stack run

## Run every test (unit, integration on a real PostgreSQL, end-to-end with real processes).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy -p svckit -p gateway_service -p org_service -p performance_service -p activity_service -p ledger_service \
		-p partner_bank_client

## Benchmarks: `make bench` for all, `make bench BENCH=ledger` for one service's.
bench: install
	$(BIN)/python -m svckit.ops.bench $(BENCH)

## Re-resolve the newest allowed versions and rewrite constraints.txt.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	PIP_CONSTRAINT= .lockenv/bin/pip install --quiet $(addprefix -e ,$(PACKAGES))
	{ echo "# Exact versions every install resolves to (regenerate with 'make lock')."; \
	  .lockenv/bin/pip freeze --all --exclude-editable | grep -vE '^(pip|wheel)==' | sort -f; } > constraints.txt
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
