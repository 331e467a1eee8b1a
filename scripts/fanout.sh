#!/usr/bin/env bash
# Fan-out over one shm-heap: 1 publisher JVM, 3 subscriber JVMs, each subscriber reading every
# message in place (zero copy); the channel frees a block once every subscriber has passed it.
#
# Midway, subscriber 3 stops reading (it holds the publisher at the bounded lag, the ring's
# capacity) and is killed with SIGKILL. The publisher drops it (dead: pid + start time) and goes
# on; subscribers 1 and 2 receive every message, in order, intact. At the end the heap's used
# bytes are back at the baseline measured before the channel existed. Ends with RESULT: PASS.
#
# usage: scripts/fanout.sh [messages (default 200000)] [message size in bytes (default 256)]
#        scripts/fanout.sh bench [messages (default 500000)] [size (default 256)]
#          throughput with 1, 2 and 3 subscribers (no kill), one line each
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }
MODE=demo
if [ "${1:-}" = bench ]; then MODE=bench; shift; fi
COUNT=${1:-$([ "$MODE" = bench ] && echo 500000 || echo 200000)}
SIZE=${2:-256}
SLOTS=1024
JAR="$IPC_DEMO_JAR"
ensure_ipc_demo_jar

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shmheap-fanout.XXXXXX")
HEAP="$(heap_dir)/shmheap-fanout-$$.heap"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$HEAP"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# run SUBSCRIBERS [STALL_AFTER]: one publisher and SUBSCRIBERS subscribers; the last one stalls
# after STALL_AFTER messages and is killed. Sets status; output in $WORK.
run() {
  local subscribers=$1 stall=${2:-} i status=0
  rm -f "$HEAP" "$WORK"/*.log
  PIDS=()
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" fanout publisher --heap "$HEAP" --capacity 64m --slots "$SLOTS" --count "$COUNT" --size "$SIZE" \
    --subscribers "$subscribers" >"$WORK/publisher.log" 2>&1 &
  local publisher=$!
  PIDS+=("$publisher")
  wait_for "$WORK/publisher.log" "ready" 60
  local subs=()
  for ((i = 1; i <= subscribers; i++)); do
    local extra=()
    if [ -n "$stall" ] && [ "$i" -eq "$subscribers" ]; then extra=(--stall-after "$stall"); fi
    java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" fanout subscriber --heap "$HEAP" "${extra[@]}" >"$WORK/subscriber$i.log" 2>&1 &
    subs+=("$!")
    PIDS+=("$!")
  done
  if [ -n "$stall" ]; then
    local victim=${subs[$((subscribers - 1))]}
    wait_for "$WORK/subscriber$subscribers.log" "STALLED" 60
    sleep 0.5   # the publisher is now blocked at the bounded lag behind it
    echo "fanout: subscriber $subscribers (pid $victim) stalled after $stall messages: the publisher is held at most $SLOTS messages (the ring) ahead of it"
    echo "fanout: kill -9 $victim"
    kill -9 "$victim"
    wait "$victim" 2>/dev/null || true
    unset 'subs[$((subscribers - 1))]'
  fi
  for pid in "${subs[@]}"; do wait "$pid" || status=1; done
  wait "$publisher" || status=1
  PIDS=()
  return $status
}

if [ "$MODE" = bench ]; then
  echo "fanout bench: $COUNT messages of $SIZE B, $SLOTS slots; load: $(uptime | sed 's/.*load average: //')"
  for n in 1 2 3; do
    run "$n" || { cat "$WORK"/*.log; echo "RESULT: FAIL"; exit 1; }
    echo "  subscribers=$n: $(grep -h 'msg/s' "$WORK/publisher.log" | sed 's/^publisher: //')"
  done
  echo "RESULT: PASS"
  exit 0
fi

STALL=$((COUNT / 3))
echo "fanout: heap $HEAP; 1 publisher, 3 subscribers, $COUNT messages of $SIZE B, ring of $SLOTS slots;" \
  "subscriber 3 stalls after $STALL messages and is killed"
status=0
run 3 "$STALL" || status=1
for f in "$WORK"/subscriber*.log "$WORK/publisher.log"; do grep -v '^PUBLISHED' "$f" | sed 's/^/  /'; done
ok=1
[ "$status" -eq 0 ] || ok=0
for i in 1 2; do
  grep -q "received $COUNT messages (positions 0..$COUNT).*errors 0" "$WORK/subscriber$i.log" || { echo "fanout: subscriber $i did not receive all $COUNT messages intact" >&2; ok=0; }
done
grep -q "dead subscribers dropped: 1" "$WORK/publisher.log" || { echo "fanout: the killed subscriber was not dropped" >&2; ok=0; }
grep -q "back at baseline" "$WORK/publisher.log" || { echo "fanout: the heap did not return to its baseline" >&2; ok=0; }
grep -q "^RESULT: PASS" "$WORK/publisher.log" || ok=0
if [ "$ok" -eq 1 ]; then
  echo "fanout: the others continued after the kill; every message reached them intact and in order; heap back at baseline"
  echo "RESULT: PASS"
  exit 0
fi
echo "RESULT: FAIL"
exit 1
