# Sprintboard: `make run` serves the demo, `make test` runs every test.
# `make run PORT=8001 HOST=0.0.0.0` serves it on another port or on every interface.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_DEBUG ?= 1

.PHONY: run port-check test static bench load lint clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Browser libraries come from the npm registry at set-up; nothing third-party is committed.
static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.js static/vendor/htmx.js
	cp node_modules/sortablejs/Sortable.js static/vendor/Sortable.js
	cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map static/vendor/
	touch $@

static: static/vendor/.installed

# First of all, before anything is installed or a URL printed: is the port free? (Python's socket, no venv needed.)
port-check:
	@$(PYTHON) -c "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$(HOST)', int('$(PORT)')))" 2>/dev/null || { \
	  echo "Port $(PORT) on $(HOST) is taken (another Sprintboard or server?): stop it, or choose another port:"; \
	  echo "  make run PORT=8001"; exit 1; }

run: port-check $(VENV)/.runtime static
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Sprintboard is at http://$(HOST):$(PORT)/"
	@echo "  Log in as admin, owner, member or stakeholder; the password is: demo"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo ""
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
	  trap 'kill 0' EXIT; \
	  $(VENV)/bin/celery -A config worker --loglevel INFO & \
	  $(VENV)/bin/celery -A config beat --loglevel INFO --schedule /tmp/sprintboard-celerybeat & \
	  $(PY) manage.py runserver $(HOST):$(PORT); \
	else \
	  $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

test: lint static
	DJANGO_DEBUG=0 $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev static
	DJANGO_DEBUG=0 $(PY) -m tests.benchmarks

# The load test's tools live in their own virtualenv: locust talks HTTP to the app and shares nothing with it.
.venv-load/.installed: requirements-load.txt
	test -x .venv-load/bin/python || $(PYTHON) -m venv .venv-load
	.venv-load/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-load.txt
	touch $@

load: $(VENV)/.runtime static .venv-load/.installed
	$(PY) tests/load/run.py

# mypy: sprintboard/ --strict, apps/ and config/ with django-stubs (pyproject.toml); its Django plugin imports
# config.settings, which needs DJANGO_DEBUG=1 or a secret key.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=1 $(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .venv-load node_modules static/vendor staticfiles db.sqlite3
