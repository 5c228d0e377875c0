# Cutout: `make run` serves the app, `make test` runs lint and the whole suite.
# `make run` also starts one Celery worker for batch jobs (scripts/with_worker.py) and stops it with the server.
# Both work on a fresh machine: they create .venv, install, provision the model and
# make sure Redis is there (REDIS_URL if it answers, else a private redis-server).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
export U2NET_HOME ?= $(CURDIR)/var/models

.PHONY: run test install model migrate static chromium lint clean
MANIFEST := var/staticfiles/staticfiles.json

$(STAMP): pyproject.toml client/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]' -e ./client
	touch $@

install: $(STAMP)

model: $(STAMP)
	$(PY) -m removal.provision --home $(U2NET_HOME)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0

# Hashing and compressing every static file takes ~30 s; redo it only when a source changed.
$(MANIFEST): $(STAMP) $(shell find static -type f 2>/dev/null)
	$(PY) manage.py collectstatic --noinput -v 0

static: $(MANIFEST)

# Browser tests drive Debian's Chromium; install it when missing and we may (root + apt).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: chromium missing and cannot be installed; browser tests will fail"; fi; }

run: model migrate static
	@echo "Cutout: http://$(HOST):$(PORT)/"
	WARM_UP=true $(PY) scripts/with_redis.py -- $(PY) scripts/with_worker.py -- \
	  $(PY) -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --ws websockets --no-access-log

# ruff, then the import contracts of pyproject.toml (the layers of docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Tests use Redis database 15 (flushed between tests) so a developer's data in db 0 is safe.
test: model chromium lint
	STATIC_MANIFEST=false $(PY) scripts/with_redis.py --db 15 -- $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
