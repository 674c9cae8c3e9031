#!/usr/bin/env bash
# `make stack`: the whole distributed stack on this machine under honcho (Procfile): web (gunicorn), a ticks worker,
# a sandbox worker, beat and Flower, against PostgreSQL and Redis. Ctrl-C stops every process.
#
# Environment (each has a default, so two stacks can run side by side with different values):
#   DATABASE_URL        postgres://postgres@127.0.0.1:5432/bp_stack  (the database is created when missing)
#   CELERY_BROKER_URL   redis://127.0.0.1:6379/0                      (use another Redis db per stack)
#   PORT                8000   the web process (API, admin, dashboard, docs, /healthz, /metrics)
#   FLOWER_PORT         5555   Flower
#   FLOWER_BASIC_AUTH   user:password for Flower; default ops:<random>, kept in $STACK_DIR/flower-auth
#   STACK_ID            $PORT  distinguishes this stack's Celery node names and worker token
#   STACK_DIR           var/stack-$STACK_ID  this stack's state (worker token, beat schedule, secrets)
#   BP_OPERATOR, BP_OPERATOR_PASSWORD  the operator (superuser) created on the first start
# The make target has already run bootstrap, ensure-services and ensure-docker (with the runtime image).
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT=${PORT:-8000}
export FLOWER_PORT=${FLOWER_PORT:-5555}
export STACK_ID=${STACK_ID:-$PORT}
export STACK_DIR=${STACK_DIR:-var/stack-$STACK_ID}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bp_stack}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export BP_API_URL=${BP_API_URL:-http://127.0.0.1:$PORT}
export BP_PUBLIC_URL=${BP_PUBLIC_URL:-http://127.0.0.1:$PORT}
export SANDBOX_DISPATCH=celery
export PYTHONUNBUFFERED=1
mkdir -p "$STACK_DIR"
chmod 700 "$STACK_DIR"
say() { printf 'stack: %s\n' "$*"; }

case $DATABASE_URL in
postgres://* | postgresql://*)
    .venv/bin/python - <<'PY'
import os
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

url = urlsplit(os.environ["DATABASE_URL"])
name = unquote(url.path.lstrip("/")) or "postgres"
admin = url._replace(path="/postgres", query="").geturl()
with psycopg.connect(admin, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"stack: created database {name}")
PY
    ;;
*) say "DATABASE_URL is not PostgreSQL; the stack expects PostgreSQL (several processes write at once)" ;;
esac

if [[ -z ${FLOWER_BASIC_AUTH:-} ]]; then
    if [[ ! -s $STACK_DIR/flower-auth ]]; then
        (umask 077 && printf 'ops:%s\n' "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')" >"$STACK_DIR/flower-auth")
        say "Flower login (shown once; kept in $STACK_DIR/flower-auth): $(cat "$STACK_DIR/flower-auth")"
    fi
    FLOWER_BASIC_AUTH=$(cat "$STACK_DIR/flower-auth")
fi
export FLOWER_BASIC_AUTH

# The worker token's name is the worker's name (BP_WORKER_NAME): executions and the market agree on it.
worker_name=${BP_WORKER_NAME:-$(hostname -s)-$STACK_ID}
.venv/bin/python manage.py setup_stack --worker-name "$worker_name" --token-file "$STACK_DIR/worker-token"
read -r BP_WORKER_NAME BP_WORKER_TOKEN <"$STACK_DIR/worker-token"
export BP_WORKER_NAME BP_WORKER_TOKEN

say "web       http://127.0.0.1:$PORT/  (admin /admin/, dashboard /dashboard/, docs /api/docs/, /healthz, /metrics)"
say "flower    http://127.0.0.1:$FLOWER_PORT/"
say "nodes     ticks-$STACK_ID@$(hostname), sandbox-$STACK_ID@$(hostname); worker $BP_WORKER_NAME"
say "Ctrl-C stops everything"
exec .venv/bin/honcho start --no-colour -f Procfile -d . -p "$PORT"
