#!/usr/bin/env bash
# Provision, start and stop the local Apache Kafka (KRaft) and FerretDB used by `make run`
# and `make test` on a machine without Docker.
#
#   infra/local.sh provision   fetch Kafka jars (Maven) and build FerretDB (Go) into the cache
#   infra/local.sh up          start both unless MONGODB_URL / KAFKA_BOOTSTRAP_SERVERS point elsewhere
#   infra/local.sh down        stop what `up` started
#   infra/local.sh status
#   infra/local.sh ferretdb-bin  build if needed and print the patched FerretDB binary's path
#
# Binaries and jars are cached outside the repo ($REGULARS_CACHE, default ~/.cache/regulars);
# data and logs live in the git-ignored var/ folder of the checkout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REGULARS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/regulars}"
VAR="${REGULARS_VAR:-$ROOT/var}"

KAFKA_VERSION=4.1.1               # keep equal to <kafka.version> in infra/kafka/pom.xml
FERRETDB_VERSION=v1.24.2          # keep equal to the version in infra/ferretdb/go.mod
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
# The binary's name carries a hash of the patches we carry (infra/ferretdb/patches/*.patch),
# so a changed patch set builds a new binary.
FERRETDB_PATCHES_HASH="$(cat "$ROOT"/infra/ferretdb/patches/*.patch | sha256sum | cut -c1-12)"
FERRETDB_BIN="$CACHE/bin/ferretdb-$FERRETDB_VERSION-$FERRETDB_PATCHES_HASH"
KAFKA_PORT="${LOCAL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${LOCAL_KAFKA_CONTROLLER_PORT:-9093}"
FERRETDB_PORT="${LOCAL_FERRETDB_PORT:-27017}"
KAFKA_HEAP="${LOCAL_KAFKA_HEAP:--Xms256m -Xmx512m}"
FERRETDB_EXTRA_ARGS="${LOCAL_FERRETDB_ARGS:-}"   # e.g. --test-disable-pushdown
# The store's Go garbage collector runs a quarter as often as by default (GOGC=400; measured on
# the relay alone: 10-20 % more events/s and faster inserts, for ~180 MB instead of ~90), held
# back by a soft memory limit.
FERRETDB_GOGC="${LOCAL_FERRETDB_GOGC:-400}"
FERRETDB_MEMLIMIT="${LOCAL_FERRETDB_MEMLIMIT:-4GiB}"

log() { printf '[infra] %s\n' "$*" >&2; }

provision_kafka() {
  if [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]; then return; fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (first run only)"
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

provision_ferretdb() {
  if [ -x "$FERRETDB_BIN" ]; then return; fi
  log "building FerretDB $FERRETDB_VERSION with our patches (first run only, about 2 minutes)"
  local src build
  # The tools module pins the version and verifies the module's checksum (go.sum).
  src="$(cd "$ROOT/infra/ferretdb" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    go mod download -json github.com/FerretDB/FerretDB | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  build="$(mktemp -d)"
  cp -r "$src/." "$build/"
  chmod -R u+w "$build"
  # The fixes we carry, in order (each patch's header says what it fixes and why).
  local patch
  for patch in "$ROOT"/infra/ferretdb/patches/*.patch; do
    (cd "$build" && git apply "$patch") || { log "patch $(basename "$patch") does not apply"; exit 1; }
  done
  # The module zip lacks the generated version file and the binary refuses to start without it.
  echo "$FERRETDB_VERSION" > "$build/build/version/version.txt"
  # The one-pass document codec (patch 6) is checked against the original before it is used
  # (the package's test helpers find the source root by its .git).
  mkdir -p "$build/.git"
  (cd "$build" && GOTOOLCHAIN=local go test -count=1 -run Fast ./internal/handler/sjson/) \
    || { log "the patched document codec fails its tests"; exit 1; }
  mkdir -p "$CACHE/bin"
  (cd "$build" && GOTOOLCHAIN=local go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$build"
}

# Run a server in a session of its own, so Ctrl-C on `make run` stops the services but not
# the servers; it writes its own pid before exec, so the pid file is exact.
detach() {
  local pidfile=$1 logfile=$2; shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 < /dev/null &
  for _ in $(seq 1 50); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
  log "could not start $1"; exit 1
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 name=$2 pidfile=$3 logfile=$4
  for _ in $(seq 1 120); do
    if port_open "$port"; then return 0; fi
    if ! pid_alive "$pidfile"; then log "$name exited; last lines of $logfile:"; tail -20 "$logfile" >&2; exit 1; fi
    sleep 0.5
  done
  log "$name did not open port $port in 60 s; see $logfile"; exit 1
}

start_kafka() {
  local dir="$VAR/kafka" pidfile="$VAR/kafka.pid" logfile="$VAR/log/kafka.log"
  if pid_alive "$pidfile"; then log "kafka already running (pid $(cat "$pidfile"))"; return; fi
  if port_open "$KAFKA_PORT"; then log "port $KAFKA_PORT is taken by another process: set LOCAL_KAFKA_PORT"; exit 1; fi
  mkdir -p "$dir/data" "$VAR/log"
  sed -e "s|@DATA_DIR@|$dir/data|" -e "s|@PORT@|$KAFKA_PORT|" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|" \
    "$ROOT/infra/kafka/server.properties.in" > "$dir/server.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >>"$logfile" 2>&1
  fi
  # shellcheck disable=SC2086
  detach "$pidfile" "$logfile" java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  wait_port "$KAFKA_PORT" kafka "$pidfile" "$logfile"
  log "kafka $KAFKA_VERSION (KRaft) listening on 127.0.0.1:$KAFKA_PORT"
}

start_ferretdb() {
  local dir="$VAR/ferretdb" pidfile="$VAR/ferretdb.pid" logfile="$VAR/log/ferretdb.log"
  if pid_alive "$pidfile"; then log "ferretdb already running (pid $(cat "$pidfile"))"; return; fi
  if port_open "$FERRETDB_PORT"; then log "port $FERRETDB_PORT is taken by another process: set LOCAL_FERRETDB_PORT"; exit 1; fi
  mkdir -p "$dir" "$VAR/log"
  # shellcheck disable=SC2086
  detach "$pidfile" "$logfile" env GOGC="$FERRETDB_GOGC" GOMEMLIMIT="$FERRETDB_MEMLIMIT" \
    "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$dir/?_pragma=synchronous(normal)&_txlock=immediate" \
    $FERRETDB_EXTRA_ARGS \
    --state-dir="$dir" --listen-addr="127.0.0.1:$FERRETDB_PORT" --debug-addr=- \
    --telemetry=disable --log-level=error --log-format=json
  wait_port "$FERRETDB_PORT" ferretdb "$pidfile" "$logfile"
  log "ferretdb $FERRETDB_VERSION (SQLite) listening on 127.0.0.1:$FERRETDB_PORT"
}

stop_one() {
  local name=$1 pidfile="$VAR/$1.pid"
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return; fi
  local pid; pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "$name stopped"
}

case "${1:-}" in
  provision)
    [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || provision_kafka
    [ -n "${MONGODB_URL:-}" ] || provision_ferretdb
    ;;
  up)
    "$0" provision
    if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then log "using external Kafka at $KAFKA_BOOTSTRAP_SERVERS"; else start_kafka; fi
    if [ -n "${MONGODB_URL:-}" ]; then log "using external MongoDB (MONGODB_URL is set)"; else start_ferretdb; fi
    ;;
  down) stop_one kafka; stop_one ferretdb ;;
  ferretdb-bin) provision_ferretdb; echo "$FERRETDB_BIN" ;;   # the patched binary (tests start more)
  status)
    for n in kafka ferretdb; do
      if pid_alive "$VAR/$n.pid"; then echo "$n: running (pid $(cat "$VAR/$n.pid"))"; else echo "$n: stopped"; fi
    done
    ;;
  *) echo "usage: $0 provision|up|down|status|ferretdb-bin" >&2; exit 2 ;;
esac
