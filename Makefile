# The two set-up commands: `make demo` and `make test`. Everything else is a step they use.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
CITYOPS_DATA_DIR ?= ./var
export CITYOPS_DATA_DIR

.PHONY: demo test install web browser serve lint bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "CityOps needs Python >= 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalled only when pyproject.toml changes, so a second `make demo` starts at once.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

# The screens (web/) are built into the package, which serves them. npm ci runs again only when the
# lock file changes, the build only when a file under web/ does.
WEB_BUILT := src/cityops/web/dist/.built
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -type f -print 2>/dev/null)

web/node_modules/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "building the screens needs Node.js >= 20.19 and npm"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILT): web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

web: $(WEB_BUILT)

# The browser tests drive Debian's chromium (Playwright's own download cannot be reached here) with a
# Chinese font for readable screenshots.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM) $(CJK_FONT):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei

browser: $(CHROMIUM) $(CJK_FONT)

demo: install web
	$(BIN)/cityops demo
	$(BIN)/cityops serve --port $(PORT)

serve: install
	$(BIN)/cityops serve --port $(PORT)

test: install web browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests bench

bench: install
	$(BIN)/python bench/locate.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis web/node_modules src/cityops/web/dist
