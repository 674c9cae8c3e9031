# bp-agents: the two commands a newcomer needs are `make run` (the economy, embedded default) and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bp
export BP_INSECURE_DEV_KEY ?= 1

.PHONY: run serve stack test test-pg test-sqlite bootstrap services docker chromium lint check bench bench-execution bench-weasel bench-replay experiment clean

## The main job: the economy on the embedded default (SQLite, one process, real Docker sandboxes).
## TICKS=0 runs until Ctrl-C; SEED is the economy's seed (a fresh database with the same seed replays exactly).
run: bootstrap docker
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py run_economy --ticks $${TICKS:-40} --seed $${SEED:-0} --program $${PROGRAM:-evolver}

## The API alone on the embedded default (no ticks), for poking at it.
serve: bootstrap
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py runserver --noreload 127.0.0.1:$${PORT:-8000}

## The whole distributed stack on this machine (web, ticks worker, sandbox worker, beat, Flower) under honcho;
## Ctrl-C stops it. PORT (8000), FLOWER_PORT (5555), DATABASE_URL, CELERY_BROKER_URL, FLOWER_BASIC_AUTH: see README.
stack: bootstrap services docker
	@bash scripts/stack.sh

## The whole test suite on real PostgreSQL, Redis, Docker and headless Chromium (tests/browser), then the ledger
## tests again on SQLite.
test: bootstrap services docker chromium test-pg test-sqlite

test-pg:
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest

test-sqlite:
	BP_TEST_SQLITE=1 DATABASE_URL=sqlite:///var/test-sqlite.sqlite3 $(PY) -m pytest tests/economy tests/market tests/attention tests/evolution tests/test_api_fuzz.py -m "not postgres"

bootstrap:
	@bash scripts/bootstrap.sh

services:
	@bash scripts/ensure-services.sh

## Headless Chromium and chromedriver for the browser tests (Debian packages, installed when missing).
chromium:
	@bash scripts/ensure-chromium.sh

docker: bootstrap
	@bash scripts/ensure-docker.sh
	$(PY) -m sandbox.image

## Static checks: lint, format, import layering, OpenAPI schema, migrations.
lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(PY) manage.py makemigrations --check --dry-run

check: lint test

## Every benchmark (ledger, tick, execution with and without the warm pool, API, executions/minute) on PostgreSQL and
## real Docker, then one table: figure, baseline measured in the same run, ratio, target; then exact replay at
## experiment scale. Not part of `make test`. BENCH_ARGS=--quick for shorter runs; BENCH_ARGS="--only tick,api".
bench: bootstrap services docker
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/all.py $(BENCH_ARGS)
	$(PY) bench/replay.py

## The evolution experiment (embedded economy, real Docker): judged score by generation.
bench-weasel: bootstrap docker
	$(PY) bench/weasel.py --ticks $${TICKS:-50} --seed $${SEED:-1}

## Arms x seeds of the embedded economy (defaults: `manage.py experiment --help`); ARGS passes more options.
experiment: bootstrap docker
	$(PY) manage.py experiment $${ARGS:-}

## Exact replay at experiment scale: two side-by-side runs of a 20-tick experiment write identical ticks.csv.
bench-replay: bootstrap docker
	$(PY) bench/replay.py

## Dispatch-to-result time of a trivial execution (warm pool and none) beside a plain `docker run` of the runtime
## image, and executions per minute with the pool and without.
bench-execution: bootstrap docker
	$(PY) bench/execution.py

clean:
	rm -rf .venv var/*.sqlite3*
