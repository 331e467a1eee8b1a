#!/usr/bin/env bash
# Two hosts' heaps joined by Aeron UDP, on one machine: two heap files play the two hosts.
#
#   producer JVMs -> heap A (shm channel) -> bridge out -> Aeron UDP 127.0.0.1 -> bridge in
#   -> heap B (shm channel) -> consumer JVM
#
# Producers write each message (header with producer id, sequence, send time, CRC32C; payload
# 64 B..64 KiB) into heap A. The consumer checks every message on heap B: checksum, per-producer
# order, none lost, none duplicated; it prints throughput and end-to-end latency percentiles
# (producer's send stamp to the consumer's receipt: one clock, since both run on this machine).
# Both bridges must end with their heaps back at baseline. Ends with RESULT: PASS and exit 0.
#
# usage: scripts/bridge-demo.sh [messages-per-producer (default 20000)] [extra producer options...]
#        scripts/bridge-demo.sh compare [messages (default 100000)] [size (default 256)] [rate (default 10000)]
#          the same messages through the bridge (shm-send -> heap A -> bridge out -> UDP -> bridge in
#          -> heap B -> shm-receive) and over plain Aeron UDP (udp-send -> udp-receive, same embedded
#          driver setup, same per-message work), unpaced (throughput) and paced at RATE msg/s (latency)
# env:   BRIDGE_PORT (default 40000 + pid % 10000): the UDP port on 127.0.0.1
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }
MODE=demo
if [ "${1:-}" = compare ]; then MODE=compare; shift; fi
JAR="$IPC_DEMO_JAR"
ensure_ipc_demo_jar

PORT=${BRIDGE_PORT:-$((40000 + $$ % 10000))}
ENDPOINT="127.0.0.1:$PORT"
DIR=$(heap_dir)
HEAP_A="$DIR/shmheap-bridge-a-$$.heap"
HEAP_B="$DIR/shmheap-bridge-b-$$.heap"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shmheap-bridge.XXXXXX")
PIDS=()
cleanup() {
  # TERM first: the bridges then close their embedded drivers, which delete their directories.
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "$HEAP_A" "$HEAP_B"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# bridged PRODUCERS COUNT [producer options...]: the whole path; sets BRIDGED_OK=1 if it passed.
bridged() {
  local producers=$1 count=$2 id status=0
  shift 2
  rm -f "$HEAP_A" "$HEAP_B" "$WORK"/*.log
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" consumer --heap "$HEAP_B" --capacity 256m --channel demo --producers "$producers" \
    >"$WORK/consumer.log" 2>&1 &
  local consumer=$!
  PIDS=("$consumer")
  wait_for "$WORK/consumer.log" "ready" 60
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge in --heap "$HEAP_B" --channel demo --bind "$ENDPOINT" --exit-when-idle-seconds 3 >"$WORK/bridge-in.log" 2>&1 &
  local bin=$!
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge out --heap "$HEAP_A" --capacity 256m --channel demo --slots 1024 --to "$ENDPOINT" \
    --exit-when-idle-seconds 3 >"$WORK/bridge-out.log" 2>&1 &
  local bout=$!
  PIDS+=("$bin" "$bout")
  wait_for "$WORK/bridge-in.log" "ready" 60
  wait_for "$WORK/bridge-out.log" "ready" 60
  local prods=()
  for ((id = 1; id <= producers; id++)); do
    java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" producer --heap "$HEAP_A" --capacity 256m --channel demo --id "$id" --count "$count" "$@" \
      >"$WORK/producer$id.log" 2>&1 &
    prods+=("$!")
    PIDS+=("$!")
  done
  for pid in "${prods[@]}"; do wait "$pid" || status=1; done
  wait "$consumer" || status=1
  wait "$bout" || status=1
  wait "$bin" || status=1
  PIDS=()
  BRIDGED_OK=0
  if [ "$status" -eq 0 ] && grep -q "^RESULT: PASS" "$WORK/consumer.log" && grep -q "back at baseline" "$WORK/bridge-out.log" \
      && grep -q "not delivered at stop: 0" "$WORK/bridge-in.log"; then
    BRIDGED_OK=1
  fi
}

show() {
  for f in "$@"; do [ -f "$f" ] && sed 's/^/  /' "$f"; done
}

# bench_bridged COUNT SIZE RATE: shm-send -> heap A -> bridge out -> UDP -> bridge in -> heap B -> shm-receive.
bench_bridged() {
  local status=0
  rm -f "$HEAP_A" "$HEAP_B" "$WORK"/*.log
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge shm-receive --heap "$HEAP_B" --capacity 256m --channel bench --count "$1" >"$WORK/receive.log" 2>&1 &
  local receiver=$!
  PIDS=("$receiver")
  wait_for "$WORK/receive.log" "ready" 60
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge in --heap "$HEAP_B" --channel bench --bind "$ENDPOINT" --exit-when-idle-seconds 2 >"$WORK/bridge-in.log" 2>&1 &
  local bin=$!
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge out --heap "$HEAP_A" --capacity 256m --channel bench --to "$ENDPOINT" --exit-when-idle-seconds 2 \
    >"$WORK/bridge-out.log" 2>&1 &
  local bout=$!
  PIDS+=("$bin" "$bout")
  wait_for "$WORK/bridge-in.log" "ready" 60
  wait_for "$WORK/bridge-out.log" "ready" 60
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge shm-send --heap "$HEAP_A" --channel bench --count "$1" --size "$2" --rate "$3" >"$WORK/send.log" 2>&1 &
  local sender=$!
  PIDS+=("$sender")
  for pid in "$sender" "$receiver" "$bout" "$bin"; do wait "$pid" || status=1; done
  PIDS=()
  grep -q "back at baseline" "$WORK/bridge-out.log" || status=1
  grep -q "back at baseline" "$WORK/receive.log" || status=1
  return $status
}

# bench_plain COUNT SIZE RATE: udp-send -> UDP -> udp-receive.
bench_plain() {
  local status=0
  rm -f "$WORK"/*.log
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge udp-receive --bind "$ENDPOINT" --count "$1" >"$WORK/receive.log" 2>&1 &
  local receiver=$!
  PIDS=("$receiver")
  wait_for "$WORK/receive.log" "ready" 60
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" bridge udp-send --to "$ENDPOINT" --count "$1" --size "$2" --rate "$3" >"$WORK/send.log" 2>&1 &
  local sender=$!
  PIDS+=("$sender")
  for pid in "$receiver" "$sender"; do wait "$pid" || status=1; done
  PIDS=()
  return $status
}

if [ "$MODE" = compare ]; then
  COUNT=${1:-100000}
  SIZE=${2:-256}
  RATE=${3:-10000}
  echo "bridge-demo compare: $COUNT messages of $SIZE B over $ENDPOINT; cores: $(nproc); load: $(uptime | sed 's/.*load average: //')"
  for rate in 0 "$RATE"; do
    label=$([ "$rate" -eq 0 ] && echo "unpaced (throughput; latency is queueing)" || echo "paced at $rate msg/s (latency)")
    echo "$label:"
    bench_bridged "$COUNT" "$SIZE" "$rate" || { show "$WORK"/*.log; echo "RESULT: FAIL"; exit 1; }
    echo "  bridged    $(grep -h '^shm-receive: received' "$WORK/receive.log" | sed 's/^shm-receive: //')"
    bench_plain "$COUNT" "$SIZE" "$rate" || { show "$WORK"/*.log; echo "RESULT: FAIL"; exit 1; }
    echo "  plain UDP  $(grep -h '^udp-receive: received' "$WORK/receive.log" | sed 's/^udp-receive: //')"
  done
  echo "load after: $(uptime | sed 's/.*load average: //')"
  echo "RESULT: PASS"
  exit 0
fi

PER_PRODUCER=${1:-20000}
shift || true
echo "bridge-demo: heap A $HEAP_A -> UDP $ENDPOINT -> heap B $HEAP_B; 2 producers x $PER_PRODUCER messages of 64 B..64 KiB"
bridged 2 "$PER_PRODUCER" --min-size 64 --max-size 64k "$@"
show "$WORK"/producer*.log "$WORK/bridge-out.log" "$WORK/bridge-in.log" "$WORK/consumer.log" | grep -v "^  RESULT"
if [ "$BRIDGED_OK" -eq 1 ]; then
  echo "bridge-demo: every message crossed intact and in order; both heaps back at baseline"
  echo "RESULT: PASS"
  exit 0
fi
echo "RESULT: FAIL"
exit 1
