# `make run`  installs everything and starts the service with demo data (SQLite, filesystem broker).
# `make test` installs everything and runs the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# axe-core (package.json) for the browser tests' accessibility checks; without npm
# those checks skip locally, naming the fix (CI=true makes them fail instead).
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && touch $(AXE); \
	else echo "npm not found: the accessibility checks will be skipped"; fi

install: $(STAMP)

# The web server, worker and beat default to production settings when
# DJANGO_SETTINGS_MODULE is unset (config/wsgi.py, config/celery.py); the
# local run names the development settings for all of them.  run_demo runs
# the Procfile and prints the address and demo accounts once the site answers;
# Ctrl-C stops it cleanly (it exits 0, so make reports no error).  seed_demo uses
# factory_boy (accounts/factories.py), a dev dependency: that is why this
# target installs requirements-dev.txt.
run: export DJANGO_SETTINGS_MODULE = config.settings.dev
run: export DEBUG = 1
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_demo

test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest -q

# ruff, then mypy on the services and selectors (mypy.ini), then the import
# contracts between config, the apps and signing (.importlinter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf var
