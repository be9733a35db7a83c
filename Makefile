# Two commands: `make run` (the app with embedded servers and a demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.runtime: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Metricx needs Python 3.11 or newer (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime  ## set up, then run everything (Ctrl-C stops it all)
	$(BIN)/metricx up

test: $(VENV)/.dev  ## set up, lint, then run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(VENV)/.dev  ## ruff
	$(BIN)/ruff check .

bench: $(VENV)/.dev  ## run the benchmarks under bench/
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:  ## remove the virtualenv and the embedded servers' data
	rm -rf $(VENV) .metricx
