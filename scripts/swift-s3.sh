#!/usr/bin/env bash
# A real S3-compatible object store on loopback for Airstrip's tests and benchmarks:
# single-node OpenStack Swift (Debian 12: python3-swift 2.30) with its s3api middleware and
# tempauth, storage in a plain directory. Unlike in-process S3 fakes it verifies SigV4
# signatures for real (tampered, expired, wrong-secret and wrong-region requests are refused).
#
# Needs only: apt-get install --no-install-recommends python3-swift memcached
# Everything it writes lives under $SWIFT_S3_BASE; /etc/swift is not used.
#
#   SWIFT_S3_BASE=/tmp/x PROXY_PORT=18080 scripts/swift-s3.sh start   # ~2 s; waits until ready
#   SWIFT_S3_BASE=/tmp/x scripts/swift-s3.sh stop                     # by PID
#
# SWIFT_S3_PROCESSES=one (the default) runs the four servers in one Python process: importing Swift
# costs ~1.5 s of CPU per process, which makes start-up 3-4× slower on a busy 2-core machine.
# SWIFT_S3_PROCESSES=per-server runs one process each, as a real deployment does (benchmarks:
# the proxy and the object server then get a CPU core each).
#
# S3 endpoint http://127.0.0.1:$PROXY_PORT, region us-east-1, path-style,
# access key "test:tester", secret "testing". Client settings that matter: see test/support/s3-engine.ts.
#
# Part of Airstrip (MIT licence).
set -euo pipefail

BASE=${SWIFT_S3_BASE:?set SWIFT_S3_BASE to a directory for configs, data and PIDs}
PROXY_PORT=${PROXY_PORT:-18080}
OBJ_PORT=${OBJ_PORT:-16010}
CONT_PORT=${CONT_PORT:-16011}
ACC_PORT=${ACC_PORT:-16012}
MEMCACHED_PORT=${MEMCACHED_PORT:-11311}   # not 11211: a system memcached may run there
RUN_USER=${RUN_USER:-$(id -un)}
PROCESSES=${SWIFT_S3_PROCESSES:-one}
PYTHON=${PYTHON:-/usr/bin/python3}        # Debian's python, which has the swift package (not a pyenv shim)
ETC=$BASE/etc
DATA=$BASE/data
RUN=$BASE/run

setup() {
  mkdir -p "$ETC" "$DATA/d1" "$RUN"

  # Swift reads swift.conf from a module global (default /etc/swift/swift.conf); run-server.py
  # points it here before any Swift module reads it.
  cat > "$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = airstrip
swift_hash_path_suffix = airstrip

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
# Swift allows 256 bytes per metadata value, S3 2 KiB in total; s3api turns a violation into a 500.
max_meta_value_length = 2048
EOF

  cat > "$ETC/run-server.py" <<'PY'
# usage: run-server.py account|container|object|proxy CONF [-v]
# = /usr/bin/swift-<kind>-server, with swift.conf taken from this folder
import os
import sys
from swift.common import utils
utils.SWIFT_CONF_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'swift.conf')
from swift.common.utils import parse_options  # noqa: E402
from swift.common.wsgi import run_wsgi  # noqa: E402
kind = sys.argv.pop(1)
kwargs = {}
if kind == 'object':
    from swift.obj import server
    kwargs['global_conf_callback'] = server.global_conf_callback
conf_file, options = parse_options()
sys.exit(run_wsgi(conf_file, kind + '-server', **kwargs, **options))
PY

  cat > "$ETC/run-all.py" <<'PY'
# usage: run-all.py — the account, container, object and proxy servers in one process, each on
# the port of its .conf, served by eventlet green threads (what run_wsgi does with workers = 0).
import os
from configparser import ConfigParser
from swift.common import utils
here = os.path.dirname(os.path.abspath(__file__))
utils.SWIFT_CONF_FILE = os.path.join(here, 'swift.conf')
import eventlet  # noqa: E402
eventlet.monkey_patch(all=False, socket=True, select=True, thread=True)
import eventlet.wsgi  # noqa: E402
from swift.common.wsgi import loadapp  # noqa: E402
for kind in ('account', 'container', 'object', 'proxy'):
    conf_path = os.path.join(here, kind + '-server.conf')
    parser = ConfigParser(interpolation=None)
    parser.read(conf_path)
    sock = eventlet.listen(('127.0.0.1', int(parser.defaults()['bind_port'])))
    eventlet.spawn(eventlet.wsgi.server, sock, loadapp(conf_path), log_output=False)
while True:
    eventlet.sleep(3600)
PY

  cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = 0
user = $RUN_USER
swift_dir = $ETC
log_name = proxy
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
# AWS allows 10000 parts; Swift's default is 1000 (SLO's limit is raised below too)
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
# S3 access key = "<account>:<user>", secret = password
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000
[filter:dlo]
use = egg:swift#dlo
EOF

  local kind port
  for kind in account container object; do
    case $kind in
      account) port=$ACC_PORT ;;
      container) port=$CONT_PORT ;;
      object) port=$OBJ_PORT ;;
    esac
    cat > "$ETC/$kind-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = $RUN_USER
swift_dir = $ETC
devices = $DATA
mount_check = false
disable_fallocate = true
log_name = $kind
log_level = WARNING

[pipeline:main]
pipeline = $kind-server

[app:$kind-server]
use = egg:swift#$kind
EOF
  done

  # One ring per server type: one device, 1 replica, 64 partitions. The same as
  # swift-ring-builder create/add/rebalance per type, in one Python process (~0.5 s, not ~4 s).
  rm -f "$ETC"/*.ring.gz
  "$PYTHON" - "$ETC" "$ACC_PORT" "$CONT_PORT" "$OBJ_PORT" <<'PY'
import sys
from swift.common.ring import RingBuilder
etc, ports = sys.argv[1], dict(zip(('account', 'container', 'object'), map(int, sys.argv[2:5])))
for kind, port in ports.items():
    b = RingBuilder(6, 1, 1)
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd1', 'weight': 100})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (etc, kind))
PY
  if [ "$(id -u)" = 0 ]; then chown -R "$RUN_USER" "$BASE"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { # pid -> true while running (a zombie counts as gone)
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_ready() { # name port -> waits until the port accepts; fails fast when the process died
  local pid i
  pid=$(cat "$RUN/$1.pid")
  for ((i = 0; i < 1200; i++)); do # 60 s at most (a busy CI machine)
    port_open "$2" && return 0
    alive "$pid" || { echo "$1 server exited; log:" >&2; tail -n 30 "$RUN/$1.log" "$RUN/all.log" 2>/dev/null >&2; return 1; }
    sleep 0.05
  done
  echo "$1 server: port $2 did not open in 60 s" >&2
  return 1
}

healthcheck() { # a plain HTTP GET over bash's /dev/tcp: no curl needed
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT" || return 1
  printf 'GET /healthcheck HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r reply <&3 || true
  exec 3<&-
  [[ $reply == *" 200 "* ]]
}

start() {
  setup
  local p kind
  for p in "$PROXY_PORT" "$ACC_PORT" "$CONT_PORT" "$OBJ_PORT" "$MEMCACHED_PORT"; do
    if port_open "$p"; then echo "port $p is already in use" >&2; return 1; fi
  done
  if command -v memcached >/dev/null; then
    # tempauth works without memcached but logs "Error limiting server" on every request
    memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -u "$RUN_USER" >"$RUN/memcached.log" 2>&1 &
    echo $! > "$RUN/memcached.pid"
  fi
  if [ "$PROCESSES" = one ]; then
    "$PYTHON" "$ETC/run-all.py" >"$RUN/all.log" 2>&1 &
    for kind in account container object proxy; do echo $! > "$RUN/$kind.pid"; done
  else
    for kind in account container object proxy; do
      # -v: log to stderr (there is no syslog in a CI container)
      "$PYTHON" "$ETC/run-server.py" $kind "$ETC/$kind-server.conf" -v >"$RUN/$kind.log" 2>&1 &
      echo $! > "$RUN/$kind.pid"
    done
  fi
  # each server loads its whole pipeline before it binds: an open port means ready
  if ! { wait_ready account "$ACC_PORT" && wait_ready container "$CONT_PORT" && wait_ready object "$OBJ_PORT" && wait_ready proxy "$PROXY_PORT" && healthcheck; }; then
    echo "Swift did not become ready" >&2
    stop
    return 1
  fi
  echo "S3 endpoint http://127.0.0.1:$PROXY_PORT region us-east-1 key test:tester secret testing"
}

stop() {
  local f pid seen=" "
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    rm -f "$f"
    # one process may serve several servers: signal it once (its PID could be reused afterwards)
    [[ $seen == *" $pid "* ]] && continue
    seen+="$pid "
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  done
}

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: SWIFT_S3_BASE=<dir> $0 setup|start|stop" >&2; exit 2 ;;
esac
