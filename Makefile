# Roadwise: `make run` starts the demo site, `make test` runs the whole suite.
# Both create the virtualenv and install what is missing first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUN_ADDR ?= 127.0.0.1:8000
E2E_STAMP := tests/e2e/node_modules/.installed
# Debian packages the site needs: CJK fonts (certificates, screenshots), gettext
# (translations), Pango/HarfBuzz for WeasyPrint's PDFs, Chromium for browser tests.
SYSTEM_PACKAGES := fonts-noto-cjk gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
  chromium poppler-utils

.PHONY: run test setup system-packages lint format messages worker screenshots bench bench-system-packages load clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving Roadwise on http://$(RUN_ADDR)/ (Ctrl-C stops it)"
	$(PY) manage.py runserver $(RUN_ADDR)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: system-packages $(VENV)/.installed $(E2E_STAMP)

system-packages:
	@missing=""; \
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "Not a Debian/Ubuntu machine: install these yourself if missing: $(SYSTEM_PACKAGES)"; exit 0; \
	fi; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "Please install:$$missing (needs root; continuing without them)"; exit 0; fi; \
	echo "Installing system packages:$$missing"; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Roadwise needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# axe-core for the browser accessibility tests (tests/e2e/test_accessibility.py), pinned in
# tests/e2e/package-lock.json. Without npm the tests skip (CI, REQUIRE_SERVICES=1, fails them).
$(E2E_STAMP): tests/e2e/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm is missing: install the Debian package npm (apt-get install npm) to run the accessibility tests"; \
	  exit 0; \
	fi; \
	npm ci --prefix tests/e2e --no-audit --no-fund && touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: setup
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=node_modules
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

# A Celery worker (and the beat scheduler) for when CELERY_BROKER_URL is set.
worker: setup
	$(VENV)/bin/celery -A cms worker -B -l INFO

# Phone-width screenshots of the learning pages (docs/screenshots/), in both languages.
screenshots: setup
	$(PY) docs/screenshots/take_screenshots.py

# Benchmarks (issue 8) on the local PostgreSQL (its own database, roadwise_bench, re-created)
# and Redis; writes docs/benchmarks.md. BENCH_ARGS="--only verify --quick" for a subset.
# The reference verifier (Node) is pinned in bench/node/package-lock.json.
# wrk is the HTTP load generator of benchmarks 3 and 6 (Debian package wrk).
BENCH_STAMP := bench/node/node_modules/.installed
bench: setup $(VENV)/.bench-installed $(BENCH_STAMP) bench-system-packages
	$(PY) bench/run.py $(BENCH_ARGS)

# Load test (issue 9): the verify and ingestion APIs together for 5 minutes on the loopback
# (its own database, roadwise_load); writes docs/load-test.md. LOAD_ARGS="--minutes 10".
load: setup $(VENV)/.bench-installed bench-system-packages
	$(PY) bench/load.py $(LOAD_ARGS)

bench-system-packages:
	@command -v wrk >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "Please install wrk (apt-get install wrk): benchmarks 3 and 6 need it"; exit 0; fi; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q wrk

$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r bench/requirements.txt
	touch $@

$(BENCH_STAMP): bench/node/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm is missing: the benchmarks run without their Node reference (apt-get install npm)"; \
	  exit 0; \
	fi; \
	npm ci --prefix bench/node --no-audit --no-fund && touch $@

clean:
	rm -rf var/test-media var/test-roadwise-*.sqlite3 .pytest_cache
