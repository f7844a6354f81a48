# Two entry points for a fresh machine (Python 3.11+): `make run` and `make test`.
# Each creates .venv on first use and installs the pinned versions from constraints.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run chat test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "one-bot needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/one-bot run

chat: $(VENV)/.installed
	$(BIN)/one-bot chat

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The Bot API emulator the Telegram end-to-end tests start (tests/e2e/emulator, npm packages).
# Without npm those tests skip, except under CI, where they must run.
EMULATOR := tests/e2e/emulator

test: $(EMULATOR)/node_modules/.installed

$(EMULATOR)/node_modules/.installed: $(EMULATOR)/package.json $(EMULATOR)/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd $(EMULATOR) && npm ci --no-audit --no-fund && touch node_modules/.installed; \
	elif [ -n "$$CI" ]; then \
	  echo "npm not found: CI must run the Telegram emulator tests"; exit 1; \
	else \
	  echo "npm not found: the Telegram emulator tests will be skipped"; \
	fi

# The JSON-RPC node (ganache) tests/chain/test_rpc_node.py starts (tests/chain/node, npm packages).
# Without npm those tests skip, except under CI, where they must run.
CHAIN_NODE := tests/chain/node

test: $(CHAIN_NODE)/node_modules/.installed

$(CHAIN_NODE)/node_modules/.installed: $(CHAIN_NODE)/package.json $(CHAIN_NODE)/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd $(CHAIN_NODE) && npm ci --no-audit --no-fund && touch node_modules/.installed; \
	elif [ -n "$$CI" ]; then \
	  echo "npm not found: CI must run the JSON-RPC node tests"; exit 1; \
	else \
	  echo "npm not found: the JSON-RPC node tests will be skipped"; \
	fi

bench: $(VENV)/.installed
	$(BIN)/python bench/core_commands.py
	$(BIN)/python bench/telegram_updates.py
	$(BIN)/python bench/purchases.py
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/journeys.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
