# Two commands on a fresh machine: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

# Debian packages: Pango, CJK fonts and HarfBuzz subsetting for printed forms (without the
# latter a one-page PDF takes 1.6 s instead of 0.1 s), gettext for the English translation.
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk libharfbuzz-subset0 gettext
# Tests add a browser, PDF tools and PostgreSQL 15 for the second run of the suite.
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils postgresql-15

.PHONY: run test lint bench messages clean

.venv/.installed: requirements.lock
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -qq --disable-pip-version-check -r requirements.lock
	touch $@

messages: .venv/.installed
	$(PY) manage.py compilemessages -v0 --ignore=.venv

run: .venv/.installed
	scripts/system-packages.sh $(RUN_PACKAGES)
	$(MAKE) -s messages
	$(PY) manage.py migrate -v0
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/  (Ctrl-C stops)"
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: .venv/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) manage.py makemigrations --check --dry-run -v0

test: .venv/.installed
	scripts/system-packages.sh $(TEST_PACKAGES)
	$(MAKE) -s messages
	$(MAKE) -s lint
	@echo "== test suite on SQLite"
	$(PY) -m pytest -q
	@echo "== test suite on PostgreSQL 15"
	scripts/with-postgres.sh $(PY) -m pytest -q

# Benchmarks on generated data in their own database (var/bench.sqlite3): 3,000 accounts, then
# grown to 150,000. Figures are ratios against baselines measured in the same run.
BENCH_DB := sqlite:///$(CURDIR)/var/bench.sqlite3
bench: .venv/.installed
	mkdir -p var && rm -f var/bench.sqlite3
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench --large 150000

# The production stack (scripts/serve.sh) on a throw-away PostgreSQL with the scale data, under
# 100 concurrent users for 60 s; prints p50/p95/p99 and checks nothing was lost (scripts/loadtest.py).
.PHONY: loadtest
loadtest: .venv/.installed
	scripts/system-packages.sh $(RUN_PACKAGES) postgresql-15
	$(MAKE) -s messages
	scripts/with-postgres.sh $(PY) scripts/loadtest.py --users 100 --duration 60

# The production stack on this node (scripts/serve.sh: migrate, collectstatic, the tasks worker and
# gunicorn). Needs DATABASE_URL=postgres://… and the production environment (README, Deployment).
.PHONY: serve
serve:
	HOST=$(HOST) PORT=$(PORT) scripts/serve.sh

clean:
	rm -rf .venv var
