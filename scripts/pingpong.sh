#!/usr/bin/env bash
# Round-trip latency between two JVMs over two shm-heap channels ("ping" and "pong").
# The pinger claims room on "ping" and writes a sequence number in place (a message of up to
# up to the inline capacity, 1008 B by default, inside the ring, a longer one in a heap block); the
# ponger (a child JVM) reads it in place and sends it back on "pong" (copied into the ring if
# inline, forwarded by offset if not); the pinger records the round trip. Prints
# p50/p99/p99.9/max of the round trip and of round trip / 2, and as its last line:
#   rtt_p50_ns=... rtt_p99_ns=... rtt_p999_ns=...
#
# usage: scripts/pingpong.sh [--size 64] [--count 100000] [--warmup 20000] [--mode spin|block]
#                             [--slot-length 32]
#   --slot-length: bytes per ring slot of both channels, a multiple of 16 from 32 to 65536
#   spin:  both sides busy-poll (lowest latency; each side keeps a core busy)
#   block: blocking poll (brief spin, yield, then futex sleep until a producer wakes it)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
run_ipc_demo pingpong "$@"
