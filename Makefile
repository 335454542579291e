# The two set-up commands: `make demo` and `make test`. Everything else is a step they use.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
CITYOPS_DATA_DIR ?= ./var
export CITYOPS_DATA_DIR

.PHONY: demo test install serve lint bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "CityOps needs Python >= 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalled only when pyproject.toml changes, so a second `make demo` starts at once.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/cityops demo
	$(BIN)/cityops serve --port $(PORT)

serve: install
	$(BIN)/cityops serve --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests bench

bench: install
	$(BIN)/python bench/locate.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
