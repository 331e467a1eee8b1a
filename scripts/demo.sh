#!/usr/bin/env bash
# Zero-copy messaging between JVMs over one shm-heap: one consumer JVM, two producer JVMs.
#
# Producers claim room for each message and fill it in place (header with producer id,
# sequence, send time and CRC32C; payload 64 B..64 KiB, log-uniform): a message of up to 240 B
# inside the channel's ring itself (inline), a longer one in a heap block whose offset travels
# through the ring. The consumer checks every message in place (checksum, per-producer order,
# no loss, no duplicate), frees the blocks in batches, and prints messages/s, MB/s, one-way
# latency percentiles, how many messages went inline and how many by offset, and the heap's
# usage before and after. Exit status 0 only if every message arrived intact and the heap is
# back to its starting usage.
#
# usage: scripts/demo.sh [messages-per-producer (default 100000)] [extra producer options...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }
PER_PRODUCER=${1:-100000}
shift || true
JAR="$IPC_DEMO_JAR"

ensure_ipc_demo_jar
HEAP="$(heap_dir)/shmheap-demo-$$.heap"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -f "$HEAP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CAPACITY=256m
echo "demo: heap $HEAP, 2 producers x $PER_PRODUCER messages of 64 B..64 KiB"
java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" consumer --heap "$HEAP" --capacity "$CAPACITY" --channel demo --producers 2 &
CONSUMER=$!
PIDS+=("$CONSUMER")
for id in 1 2; do
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" producer --heap "$HEAP" --capacity "$CAPACITY" --channel demo --id "$id" --count "$PER_PRODUCER" \
    --min-size 64 --max-size 64k "$@" &
  PIDS+=("$!")
done

status=0
for pid in "${PIDS[@]:1}"; do
  wait "$pid" || status=$?
done
wait "$CONSUMER" || status=$?
PIDS=()
if [ "$status" -eq 0 ]; then
  echo "demo: OK (every message arrived intact, nothing leaked)"
else
  echo "demo: FAILED (status $status)" >&2
fi
exit "$status"
