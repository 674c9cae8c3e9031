#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer for the tests; start them where this machine allows, else say what is missing.
#   PGHOST/PGPORT (default 127.0.0.1:5432, user postgres, trust auth) and REDIS_HOST/REDIS_PORT (127.0.0.1:6379).
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

wait_for() {  # wait_for NAME COMMAND... : up to 30 s
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ensure-services: $name did not come up" >&2
  return 1
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null || (exec 3<>"/dev/tcp/$PGHOST/$PGPORT") 2>/dev/null; }
redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    (exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT") 2>/dev/null
  fi
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ "$(id -u)" = 0 ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "ensure-services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL pg_up
  else
    cat >&2 <<MSG
ensure-services: PostgreSQL is not reachable at $PGHOST:$PGPORT.
  The tests need a PostgreSQL server that user 'postgres' can reach without a password (trust auth), e.g. on Debian:
    apt-get install postgresql && pg_ctlcluster <version> main start
  and 'host all all 127.0.0.1/32 trust' in pg_hba.conf; or point DATABASE_URL at a server you have.
MSG
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "ensure-services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis redis_up
  else
    echo "ensure-services: Redis is not reachable at $REDIS_HOST:$REDIS_PORT; install it (apt-get install redis-server) or set CELERY_BROKER_URL." >&2
    exit 1
  fi
fi
echo "ensure-services: PostgreSQL $PGHOST:$PGPORT and Redis $REDIS_HOST:$REDIS_PORT are up"
