# Two commands: `make run` (the app with embedded servers and a demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck format-check bench clean help browser

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

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

test: $(VENV)/.dev browser typecheck format-check  ## set up, lint, type- and format-check, then run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

# The browser tests drive Debian's chromium (with an emoji font: page icons and flash messages
# use them, and a missing glyph draws a box in screenshots); as root (CI) we install both,
# elsewhere the tests report a visible skip. No browser is ever downloaded by a test tool.
BROWSER_PACKAGES := chromium fonts-noto-color-emoji
browser:
	@if { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ]; } && \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's $(BROWSER_PACKAGES) for the browser tests ..."; \
	  apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1; } || \
	  echo "chromium could not be installed: the browser test will be skipped"; \
	fi

lint: $(VENV)/.dev  ## ruff
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev  ## mypy, configured in pyproject.toml (strict for the engine and services)
	$(BIN)/mypy

format-check: $(VENV)/.dev  ## ruff format --check: is the tree formatted?
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev  ## run the benchmarks under bench/
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:  ## remove the virtualenv and the embedded servers' data
	rm -rf $(VENV) .metricx
