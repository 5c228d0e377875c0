# Cutout: `make run` serves the app, `make test` runs the linters and the whole suite.
# `make run` also starts one Celery worker for batch jobs (scripts/with_worker.py) and stops it with the server.
# Both work on a fresh machine: they create .venv, install, provision the model and
# make sure Redis is there (REDIS_URL if it answers, else a private redis-server).
#
# Every set-up step leaves a stamp, so a second run repeats only what changed:
#   .venv/.installed                 pyproject.toml, client/pyproject.toml, constraints.txt changed
#   var/models/u2netp.onnx           missing (removal.provision fetches and checks it, then
#                                    builds its int8 variant once; `make model` always asks it)
#   var/.migrated-<database>         a migration file changed, a reinstall, a missing SQLite file
#   var/staticfiles/staticfiles.json a file under static/ changed, a reinstall

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
export U2NET_HOME ?= $(CURDIR)/var/models

.PHONY: run test test-rabbitmq install model migrate static chromium lint typecheck lock clean

# --- install -------------------------------------------------------------------------------
# uv (from PyPI) creates the venv and installs the heavy wheels (onnxruntime, scipy, numba,
# scikit-image...) several times faster than pip. It is the one on PATH, else the one pip puts
# into the venv on the first run. Without uv (or with `make UV=`) plain pip does the same job,
# and pip is always in the venv (removal.provision and `.venv/bin/pip install` use it).
# --compile-bytecode writes the .pyc files at install time as pip does: without them every start
# compiles its imports again where PYTHONDONTWRITEBYTECODE is set (~1.5 s more per start).
# constraints.txt (written by `make lock`) pins the versions both installers pick, so uv and pip
# build the same environment; pyproject.toml stays the place that says what we need.
UV ?= $(or $(shell command -v uv 2>/dev/null),$(VENV)/bin/uv)
LOCK := constraints.txt
REQUIREMENTS := -e '.[test]' -e ./client -c $(LOCK)
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

$(STAMP): pyproject.toml client/pyproject.toml $(LOCK)
	test -x $(PY) || { test -x "$(UV)" && $(UV) venv --quiet --seed --python $(PYTHON) $(VENV); } \
	  || $(PYTHON) -m venv $(VENV)
	test -z "$(UV)" || test -x "$(UV)" || $(PIP_INSTALL) 'uv>=0.5' || echo "no uv: installing with pip"
	if test -n "$(UV)" && test -x "$(UV)"; then \
	  $(UV) pip install --quiet --compile-bytecode --python $(PY) $(REQUIREMENTS) \
	    || { echo "uv failed; falling back to pip"; $(PIP_INSTALL) $(REQUIREMENTS); }; \
	else $(PIP_INSTALL) $(REQUIREMENTS); fi
	touch $@

install: $(STAMP)

# Re-resolve constraints.txt after changing a dependency in a pyproject.toml. The current pins
# are kept where they still fit (uv prefers them), so only what had to move moves.
lock: $(STAMP)
	$(UV) pip compile pyproject.toml client/pyproject.toml --extra test --universal \
	  --python-version 3.11 --quiet --custom-compile-command "make lock" -o $(LOCK)

# --- model, database, static files -----------------------------------------------------------
# Order-only on the venv: a reinstall does not fetch the model again. Always asked (it answers
# "already present" in a fraction of a second): it knows which files of the model are due.
model: | $(STAMP)
	$(PY) -m removal.provision --home $(U2NET_HOME)

# One stamp per database (DATABASE_URL), redone when a migration file changes, after a
# reinstall (Django's own migrations) or when the default SQLite file is gone.
# `make migrate` always migrates; `make run` and `make test` go through the stamp.
MIGRATIONS := $(shell find . \( -name .git -o -name $(VENV) -o -name var \) -prune \
  -o -path '*/migrations/*.py' -print)
MIGRATED := var/.migrated-$(shell printf '%s' "$$DATABASE_URL" | cksum | cut -d' ' -f1)
SQLITE_MISSING := $(if $(DATABASE_URL),,$(if $(wildcard var/cutout.sqlite3),,FORCE))

$(MIGRATED): $(STAMP) $(MIGRATIONS) $(SQLITE_MISSING)
	$(PY) manage.py migrate --noinput -v 0
	touch $@

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0
	touch $(MIGRATED)

# Hashing and compressing every static file takes a while; redo it only when a source changed.
MANIFEST := var/staticfiles/staticfiles.json
$(MANIFEST): $(STAMP) $(shell find static -type f 2>/dev/null)
	$(PY) manage.py collectstatic --noinput -v 0

static: $(MANIFEST)

FORCE:

# Browser tests drive Debian's Chromium; install it when missing and we may (root + apt).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: chromium missing and cannot be installed; browser tests will fail"; fi; }

# --- the two commands ------------------------------------------------------------------------
run: model $(MIGRATED) $(MANIFEST)
	@echo "Cutout: http://$(HOST):$(PORT)/"
	WARM_UP=true PORT=$(PORT) $(PY) scripts/with_redis.py -- $(PY) scripts/with_worker.py -- \
	  $(PY) -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --ws websockets --no-access-log

# Static types of every package (settings: [tool.mypy] in pyproject.toml).
TYPED := removal core accounts billing cutouts jobs api editor config
MYPY := $(PY) -m mypy $(TYPED)

typecheck: $(STAMP)
	$(MYPY)

# ruff, the import contracts of pyproject.toml (the layers of docs/architecture.md), then mypy.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(MYPY)

# Tests use Redis database 15 (flushed between tests) so a developer's data in db 0 is safe.
# The whole suite (no PYTEST_ARGS) then runs the batch tests once more with RabbitMQ as the broker
# (`make test-rabbitmq`, on a queue of its own); without a RabbitMQ server at RABBITMQ_URL they are
# skipped, saying so.
RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672//
test: model chromium lint
	STATIC_MANIFEST=false $(PY) scripts/with_redis.py --db 15 -- $(PY) -m pytest $(PYTEST_ARGS)
	$(if $(PYTEST_ARGS),,$(MAKE) --no-print-directory test-rabbitmq)

test-rabbitmq: model
	STATIC_MANIFEST=false CELERY_BROKER_URL='$(RABBITMQ_URL)' CELERY_QUEUE=cutout-test-$$$$ \
	  $(PY) scripts/with_redis.py --db 15 -- \
	  $(PY) -m pytest tests/jobs -rs

clean:
	rm -rf $(VENV) var
