#!/usr/bin/env bash
# Throwaway S3 server for callplatform's integration tests: a single-node Ceph cluster
# (1 monitor, 1 memstore OSD, no mgr, cephx off) plus the RADOS Gateway (beast frontend).
# Ceph RGW is the S3 implementation that really enforces signatures, presigned-URL expiry,
# SSE-C and Object Lock, which the recording tests rely on (see infra/README.md).
#
# Usage: infra/ceph-s3.sh [start]   start if needed (idempotent; ~1 s when already running),
#                                   then print the env lines below on stdout
#        infra/ceph-s3.sh stop      stop the daemons this script started and wipe their data
#        infra/ceph-s3.sh status    say what runs (exit 0 if S3 answers, 3 if not)
#
# stdout (start only), for `set -a; eval "$(infra/ceph-s3.sh)"; set +a`:
#   S3_ENDPOINT_URL=http://127.0.0.1:7480
#   AWS_ACCESS_KEY_ID=testaccesskey
#   AWS_SECRET_ACCESS_KEY=testsecretkey
#   AWS_DEFAULT_REGION=us-east-1
# Everything else goes to stderr.
#
# Settings (environment): RGW_PORT (7480), CEPH_MON_PORT (6789), CEPH_S3_DIR
# (/tmp/callplatform-ceph), S3_ACCESS_KEY / S3_SECRET_KEY (test user's keys),
# CEPH_OBJECTSTORE (memstore | bluestore, file-backed).
# Debian 12 packages (installed with apt-get when missing):
#   radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl
set -euo pipefail

BASE=${CEPH_S3_DIR:-/tmp/callplatform-ceph}
BASE=${BASE%/}
PORT=${RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}
ACCESS_KEY=${S3_ACCESS_KEY:-testaccesskey}
SECRET_KEY=${S3_SECRET_KEY:-testsecretkey}
REGION=us-east-1
OBJSTORE=${CEPH_OBJECTSTORE:-memstore}
CONF=$BASE/ceph.conf
LOCK=$BASE.lock
C=(-c "$CONF")
PKGS=(radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl)
CMDS=(radosgw radosgw-admin ceph-mon ceph-osd ceph ceph-authtool monmaptool uuidgen curl flock)

log() { printf 'ceph-s3: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case $BASE in
  /?*) ;;
  *) die "CEPH_S3_DIR must be an absolute path other than / (got '${CEPH_S3_DIR:-}')" ;;
esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local missing=() c
  for c in "${CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local aptlog=${TMPDIR:-/tmp}/callplatform-apt.log
  log "missing ${missing[*]}: installing ${PKGS[*]} with apt-get (a minute or two; log: $aptlog)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q --no-install-recommends "${PKGS[@]}" >"$aptlog" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    if ! { as_root apt-get update -q && as_root apt-get install -y -q --no-install-recommends "${PKGS[@]}"; } >>"$aptlog" 2>&1; then
      tail -n 20 "$aptlog" >&2
      die "could not install ${PKGS[*]} (see $aptlog)"
    fi
  fi
  for c in "${CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || die "$c still missing after install"; done
}

EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# 0: an S3 server answers on the port and accepts the test user's keys (SigV4-signed
#    ListBuckets); 1: nothing listens; 2: something answers but refuses the keys / is not S3.
probe() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 \
           --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
           -H "x-amz-content-sha256: $EMPTY_SHA256" \
           "http://127.0.0.1:$PORT/" 2>/dev/null) || code=000
  case $code in
    200) return 0 ;;
    000) return 1 ;;
    *) return 2 ;;
  esac
}

print_env() {
  echo "S3_ENDPOINT_URL=http://127.0.0.1:$PORT"
  echo "AWS_ACCESS_KEY_ID=$ACCESS_KEY"
  echo "AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
  echo "AWS_DEFAULT_REGION=$REGION"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A pid is ours if it is a ceph daemon started with our ceph.conf.
is_ours() {
  local comm cmd
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  case $comm in ceph-mon|ceph-osd|radosgw) ;; *) return 1 ;; esac
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$CONF"* ]]
}

our_pids() {
  local f pid
  {
    for f in "$BASE"/run/*.pid; do [ -f "$f" ] && cat "$f"; done
    pgrep -f -- "$CONF" || true
  } | sort -un | while read -r pid; do
    [ -n "$pid" ] && is_ours "$pid" && echo "$pid"
  done
}

stop_daemons() {
  local pids=() pid
  mapfile -t pids < <(our_pids)
  [ ${#pids[@]} -eq 0 ] && return 0
  log "stopping ceph daemons (pids ${pids[*]})"
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if is_ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  done
}

wipe() {
  [ -e "$BASE" ] || return 0
  # Refuse to delete a directory this script did not create.
  if [ -n "$(ls -A "$BASE")" ] && [ ! -f "$BASE/ceph.conf" ] && [ ! -f "$BASE/.callplatform-ceph" ]; then
    die "$BASE exists and does not look like this script's data dir; not deleting it"
  fi
  rm -rf -- "$BASE"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.2 s.
wait_for() {
  local secs=$1 what=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do "$@" && return 0; sleep 0.2; done
  log "$what did not come up within ${secs}s; logs in $BASE/log:"
  tail -n 15 "$BASE"/log/*.log "$BASE"/log/*.out >&2 2>/dev/null || true
  exit 1
}

write_conf() {
  cat >"$CONF" <<EOF
[global]
fsid = $1
mon_host = v1:127.0.0.1:$MON_PORT
mon_initial_members = a
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
run_dir = $BASE/run
admin_socket = $BASE/run/\$name.asok
log_file = $BASE/log/\$name.log
pid_file = $BASE/run/\$name.pid
keyring = $BASE/keyring
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
ms_bind_msgr2 = false
[mon]
mon_data = $BASE/mon.\$id
[osd]
osd_data = $BASE/osd.\$id
osd_objectstore = $OBJSTORE
memstore_device_bytes = 2147483648
bluestore_block_path = $BASE/osd.\$id/block.file
bluestore_block_create = true
bluestore_block_size = 4294967296
osd_memory_target = 939524096
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
# SSE-C over plain HTTP (tests only; production RGW sits behind TLS)
rgw_crypt_require_ssl = false
rgw_dns_name = localhost
rgw_thread_pool_size = 64
EOF
}

mon_up() { ceph "${C[@]}" --connect-timeout 2 mon stat >/dev/null 2>&1; }
osd_up() { ceph "${C[@]}" --connect-timeout 2 osd dump 2>/dev/null | grep -q "^osd\.$1 up"; }
rgw_up() { local rc=0; probe || rc=$?; [ "$rc" -ne 1 ]; }

start() {
  ensure_packages
  if probe; then print_env; return 0; fi

  # One starter at a time (parallel CI jobs / test runners on one machine).
  # The lock fd is closed for the daemons (9>&-) so they do not keep holding it.
  exec 9>"$LOCK"
  flock -w 300 9 || die "timed out waiting for $LOCK"
  local rc=0
  probe || rc=$?
  if [ "$rc" -eq 0 ]; then print_env; return 0; fi
  [ "$rc" -eq 2 ] && die "something on 127.0.0.1:$PORT answers but refuses the test keys (not our RGW?); stop it or set RGW_PORT"

  # Stale state from a previous run (daemon died, machine rebooted): start clean.
  stop_daemons
  wipe
  port_busy "$MON_PORT" && die "port $MON_PORT (Ceph monitor) is taken by another process; set CEPH_MON_PORT"

  log "starting Ceph (mon + $OBJSTORE OSD + RGW) in $BASE"
  mkdir -p "$BASE"/{run,log,mon.a,osd.0}
  touch "$BASE/.callplatform-ceph"
  local fsid osd_uuid osd_id
  fsid=$(uuidgen)
  write_conf "$fsid"

  # --- monitor
  ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$BASE/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/keyring" \
    </dev/null >>"$BASE/log/mkfs.out" 2>&1
  ceph-mon "${C[@]}" -i a </dev/null >>"$BASE/log/mon.a.out" 2>&1 9>&-
  wait_for 30 "ceph-mon" mon_up

  # --- one OSD
  osd_uuid=$(uuidgen)
  osd_id=$(ceph "${C[@]}" osd new "$osd_uuid" 2>>"$BASE/log/mkfs.out")
  ceph-osd "${C[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" </dev/null >>"$BASE/log/mkfs.out" 2>&1
  ceph-osd "${C[@]}" -i "$osd_id" </dev/null >>"$BASE/log/osd.$osd_id.out" 2>&1 9>&-
  wait_for 60 "ceph-osd" osd_up "$osd_id"

  # --- RADOS Gateway
  radosgw "${C[@]}" -n client.rgw </dev/null >>"$BASE/log/client.rgw.out" 2>&1 9>&-
  wait_for 90 "radosgw" rgw_up

  if ! radosgw-admin "${C[@]}" user info --uid=tester >/dev/null 2>&1; then
    radosgw-admin "${C[@]}" user create --uid=tester --display-name=tester \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$BASE/log/mkfs.out" \
      || die "radosgw-admin user create failed (see $BASE/log/mkfs.out)"
  fi
  wait_for 15 "S3 login as $ACCESS_KEY" probe
  log "S3 ready on http://127.0.0.1:$PORT (data in $BASE)"
  print_env
}

stop() {
  exec 9>"$LOCK"
  flock -w 300 9 || die "timed out waiting for $LOCK"
  stop_daemons
  wipe
  log "stopped; $BASE wiped"
}

status() {
  local name pid f rc=0
  for name in mon.a osd.0 client.rgw; do
    f=$BASE/run/$name.pid
    if [ -f "$f" ] && pid=$(cat "$f") && is_ours "$pid"; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: not running"
    fi
  done
  probe || rc=$?
  case $rc in
    0) echo "S3: answering on http://127.0.0.1:$PORT (test user $ACCESS_KEY accepted)" ;;
    1) echo "S3: nothing listening on 127.0.0.1:$PORT"; return 3 ;;
    *) echo "S3: something on 127.0.0.1:$PORT answers but refuses the test keys"; return 3 ;;
  esac
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
