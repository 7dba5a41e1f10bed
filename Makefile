# Two commands do all set-up on a fresh machine:
#   make run    the platform up on http://127.0.0.1:8000 (Spark Connect, qcluster, web)
#   make test   the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQS_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQS_HASH)

.PHONY: install run test lint format check-java browser load chaos spark-start spark-stop worker notifier web

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

check-java:
	@$(BIN)/python -c "from spark_client.server.local_server import require_java; require_java()" 2>/dev/null || \
	  { $(BIN)/python -c "from spark_client.server.local_server import require_java; require_java()" 2>&1 | tail -1; exit 1; }

run: install check-java
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py runplatform

# Browser tests drive Debian's Chromium (no browser download): install it if missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }

test: install check-java browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Load test on loopback (5 minutes, 50 users, 10 x 300 MB uploads); see docs/operations.md.
load: install check-java
	$(BIN)/python -m loadtest.run $(LOAD_ARGS)

# The chaos suite alone (it also runs in `make test`).
chaos: install check-java
	$(BIN)/python -m pytest -m chaos

# The pieces, one at a time (each in its own terminal):
spark-start: install check-java
	$(BIN)/python manage.py spark_server start

spark-stop:
	$(BIN)/python manage.py spark_server stop

worker: install
	$(BIN)/python manage.py qcluster

# Alert notifications run on their own cluster, never on the analyses' workers.
notifier: install
	$(BIN)/python manage.py qcluster --cluster notifications

web: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/gunicorn logplatform.wsgi:application --bind 127.0.0.1:8000 --worker-class gthread --threads 4 --timeout 900 --keep-alive 5

# Benchmark harness (docs/performance.md): the platform against a minimal and a
# naive Spark job on generated data. Sizes: make bench SIZES=100k,1m,10m (or BENCH_SIZES).
bench: install check-java
	$(BIN)/python -m bench $(if $(SIZES),--sizes $(SIZES)) $(BENCH_ARGS)

# A Spark standalone cluster on this machine (docs/scaling.md): a master, two
# workers and a Spark Connect server using them; cluster-stop stops it all.
cluster: install check-java
	$(BIN)/python manage.py spark_cluster start

cluster-stop:
	$(BIN)/python manage.py spark_cluster stop

.PHONY: bench cluster cluster-stop
