#!/usr/bin/env bash
# Makes the services callplatform's test suite needs run on this machine (Debian 12):
# PostgreSQL, Redis (Celery broker) and an S3 server (Ceph RGW, via infra/ceph-s3.sh).
# Installs what is missing with apt-get. Idempotent; about a second when all already run.
#
# Usage: infra/services.sh [up]    start what is not running, print env lines on stdout:
#                                    set -a; eval "$(infra/services.sh up)"; set +a
#        infra/services.sh down    stop the S3 server (PostgreSQL and Redis are left alone)
#        infra/services.sh status  say what runs (exit 0 if all answer, 3 if not)
#
# stdout of `up` (nothing else goes to stdout; messages go to stderr):
#   DATABASE_URL=postgres://callplatform:callplatform@127.0.0.1:5432/callplatform
#   CELERY_BROKER_URL=redis://127.0.0.1:6379/0
#   RECORDINGS_STORAGE=s3
#   S3_BUCKET=callplatform-test
#   S3_ENDPOINT_URL=http://127.0.0.1:7480
#   AWS_ACCESS_KEY_ID=testaccesskey
#   AWS_SECRET_ACCESS_KEY=testsecretkey
#   AWS_DEFAULT_REGION=us-east-1
#
# Overrides: if DATABASE_URL, CELERY_BROKER_URL or S3_ENDPOINT_URL (with AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) are already set, they are printed as they are
# and that service is not managed (CI or a developer pointing at other services).
# S3_BUCKET may be overridden too. See infra/ceph-s3.sh for the S3 server's settings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DB_URL_DEFAULT=postgres://callplatform:callplatform@127.0.0.1:5432/callplatform
BROKER_URL_DEFAULT=redis://127.0.0.1:6379/0
PG_PORT=5432
REDIS_PORT=6379

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() {
  # cd / : the postgres user cannot read the caller's working directory (psql warns).
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && sudo -u postgres "$@"); fi
}

apt_install() {
  local aptlog=${TMPDIR:-/tmp}/callplatform-apt.log
  log "installing $* with apt-get (log: $aptlog)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q "$@" >"$aptlog" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    if ! { as_root apt-get update -q && as_root apt-get install -y -q "$@"; } >>"$aptlog" 2>&1; then
      tail -n 20 "$aptlog" >&2
      die "could not install $* (see $aptlog)"
    fi
  fi
}

# emit KEY VALUE: one KEY=VALUE line, single-quoted only if VALUE has shell-special characters,
# so the lines work both with eval and as a dotenv / systemd EnvironmentFile.
SAFE_VALUE='^[A-Za-z0-9_@%+=:,./-]*$'
OUT=()
emit() {
  local q="'\\''"
  if [[ $2 =~ $SAFE_VALUE ]]; then OUT+=("$1=$2"); else OUT+=("$1='${2//\'/$q}'"); fi
}

# --- PostgreSQL ------------------------------------------------------------------------
pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1; }
db_login_ok() { PGCONNECT_TIMEOUT=5 psql "$DB_URL_DEFAULT" -qAtX -c 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! pg_up; then
    if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
      apt_install postgresql
    fi
    local ver
    ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$ver" ] || [ ! -d "/etc/postgresql/$ver/main" ]; then
      [ -n "$ver" ] || ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
      log "creating PostgreSQL $ver cluster 'main'"
      as_root pg_createcluster "$ver" main >&2
    fi
    if ! pg_up; then
      log "starting PostgreSQL $ver/main"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 \
        || log "pg_ctlcluster start failed (already running on another port?)"
      local i
      for ((i = 0; i < 50; i++)); do pg_up && break; sleep 0.2; done
      pg_up || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT (see /var/log/postgresql/)"
    fi
  fi

  db_login_ok && return 0
  log "creating/updating PostgreSQL role and database 'callplatform'"
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callplatform') THEN
    CREATE ROLE callplatform LOGIN PASSWORD 'callplatform' CREATEDB;
  ELSE
    ALTER ROLE callplatform LOGIN PASSWORD 'callplatform' CREATEDB;
  END IF;
END
$$;
SELECT 'CREATE DATABASE callplatform OWNER callplatform'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'callplatform')\gexec
SQL
  db_login_ok || die "cannot log in with $DB_URL_DEFAULT; check pg_hba.conf allows password (scram-sha-256/md5) or trust for host 127.0.0.1/32"
}

# --- Redis -----------------------------------------------------------------------------
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
  command -v redis-cli >/dev/null 2>&1 && redis_up && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis_up && return 0  # the package's postinst may have started it
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    </dev/null >&2
  local i
  for ((i = 0; i < 50; i++)); do redis_up && return 0; sleep 0.2; done
  die "Redis does not answer on 127.0.0.1:$REDIS_PORT"
}

# --- commands --------------------------------------------------------------------------
up() {
  if [ -n "${DATABASE_URL:-}" ]; then
    log "DATABASE_URL is set: using it, not managing PostgreSQL"
    emit DATABASE_URL "$DATABASE_URL"
  else
    ensure_postgres
    emit DATABASE_URL "$DB_URL_DEFAULT"
  fi

  if [ -n "${CELERY_BROKER_URL:-}" ]; then
    log "CELERY_BROKER_URL is set: using it, not managing Redis"
    emit CELERY_BROKER_URL "$CELERY_BROKER_URL"
  else
    ensure_redis
    emit CELERY_BROKER_URL "$BROKER_URL_DEFAULT"
  fi

  emit RECORDINGS_STORAGE s3
  emit S3_BUCKET "${S3_BUCKET:-callplatform-test}"

  if [ -n "${S3_ENDPOINT_URL:-}" ]; then
    log "S3_ENDPOINT_URL is set: using it, not managing the S3 server"
    emit S3_ENDPOINT_URL "$S3_ENDPOINT_URL"
    local k
    for k in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
      if [ -n "${!k:-}" ]; then emit "$k" "${!k}"; else log "warning: $k is not set"; fi
    done
    emit AWS_DEFAULT_REGION "${AWS_DEFAULT_REGION:-us-east-1}"
  else
    local s3_env line
    s3_env=$("$HERE/ceph-s3.sh" start) || die "infra/ceph-s3.sh start failed"
    while IFS= read -r line; do [ -n "$line" ] && OUT+=("$line"); done <<<"$s3_env"
  fi

  # Print only once everything is up, so `eval` never sees half a configuration.
  printf '%s\n' "${OUT[@]}"
}

status() {
  local rc=0 db=${DATABASE_URL:-$DB_URL_DEFAULT} broker=${CELERY_BROKER_URL:-$BROKER_URL_DEFAULT}
  if PGCONNECT_TIMEOUT=3 psql "$db" -qAtX -c 'select 1' >/dev/null 2>&1; then
    echo "PostgreSQL: up, login ok (${DATABASE_URL:+from DATABASE_URL: }${db%%://*}://...@${db#*@})"
  elif command -v pg_isready >/dev/null 2>&1 && pg_isready -q -d "$db" -t 3 >/dev/null 2>&1; then
    echo "PostgreSQL: answers, but login as in the URL fails (run: infra/services.sh up)"; rc=3
  else
    echo "PostgreSQL: down"; rc=3
  fi
  if [ "$(redis-cli -u "$broker" ping 2>/dev/null)" = PONG ]; then
    echo "Redis: up ($broker)"
  else
    echo "Redis: down ($broker)"; rc=3
  fi
  if [ -n "${S3_ENDPOINT_URL:-}" ]; then
    if curl -s -o /dev/null -m 3 "$S3_ENDPOINT_URL"; then
      echo "S3: answers at $S3_ENDPOINT_URL (from S3_ENDPOINT_URL, not managed)"
    else
      echo "S3: no answer at $S3_ENDPOINT_URL (from S3_ENDPOINT_URL)"; rc=3
    fi
  else
    "$HERE/ceph-s3.sh" status || rc=3
  fi
  return "$rc"
}

case ${1:-up} in
  up) up ;;
  down) "$HERE/ceph-s3.sh" stop ;;
  status) status ;;
  *) echo "usage: $0 [up|down|status]" >&2; exit 2 ;;
esac
