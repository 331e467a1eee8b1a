#!/usr/bin/env bash
# Round-trip latency between two JVMs over two shm-heap channels ("ping" and "pong").
# The pinger allocates a block, writes a sequence number and offers it on "ping"; the ponger
# (a child JVM) offers the same block back on "pong"; the pinger records the round trip and
# frees the block. Prints p50/p99/p99.9/max of the round trip and of round trip / 2.
#
# usage: scripts/pingpong.sh [--size 64] [--count 100000] [--warmup 20000] [--mode spin|block]
#   spin:  both sides busy-poll (lowest latency; each side keeps a core busy)
#   block: blocking poll (brief spin, yield, then futex sleep until a producer wakes it)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }
JAR=ipc-demo/target/ipc-demo.jar
ensure_jar ipc-demo "$JAR"
HEAP="$(heap_dir)/shmheap-pingpong-$$.heap"
trap 'rm -f "$HEAP"' EXIT
trap 'exit 130' INT TERM

java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" pingpong --heap "$HEAP" --size 64 "$@"
