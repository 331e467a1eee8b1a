#!/usr/bin/env bash
# One-way throughput between JVMs over one shm-heap channel: this JVM consumes (and checks
# every message in place), P producer JVMs each send COUNT messages of N bytes. Messages up to
# the channel's inline capacity (a record of up to 1 KiB and a quarter of the ring: 1008 B with
# the default 8192 slots of 32 B) are written into the ring itself, as records of as many slots
# as they need; longer ones into heap blocks whose offsets travel through the ring. The summary
# says how many went each way.
# The last line of output is:  msgs_per_s=... mb_per_s=...   (MB = 10^6 payload bytes)
#
# usage: scripts/throughput.sh [--size 1k] [--producers 2] [--count 200000] [--slots 8192]
#                              [--slot-length 32]
#   --slot-length: bytes per ring slot, a multiple of 16 from 32 to 65536
set -euo pipefail
source "$(dirname "$0")/lib.sh"
run_ipc_demo throughput "$@"
