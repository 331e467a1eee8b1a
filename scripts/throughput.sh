#!/usr/bin/env bash
# One-way throughput between JVMs over one shm-heap channel: this JVM consumes (and checks
# every message in place), P producer JVMs each send COUNT messages of N bytes. Messages up to
# the channel's inline capacity (240 B with the default 256-byte slots) are written into the
# ring itself; longer ones into heap blocks whose offsets travel through the ring.
# The last line of output is:  msgs_per_s=... mb_per_s=...   (MB = 10^6 payload bytes)
#
# usage: scripts/throughput.sh [--size 1k] [--producers 2] [--count 200000] [--slots 1024]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
run_ipc_demo throughput "$@"
