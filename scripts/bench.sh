#!/usr/bin/env bash
# Runs every benchmark (allocator JMH suite, multi-process driver, scale, memory efficiency,
# messaging against Aeron IPC) and prints one markdown table, also kept in
# benchmarks/target/bench-results.md. --quick: fewer sizes, shorter runs (about 4 min instead of 16).
# Progress goes to stderr; stdout is the table only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

quick=()
case "${1:-}" in
  --quick) quick=(--quick) ;;
  "") ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac

JAR="$ROOT/benchmarks/target/benchmarks.jar"
ensure_jar benchmarks "$JAR" shm-messaging
command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
failed=()
for suite in alloc multi-process scale memory messaging; do
  echo "== $suite ${quick[*]:-} ($(date +%T))" >&2
  # a suite prints its figures as "| ..." rows; anything else it prints is progress
  # the safepoint interval is what Aeron's benchmark scripts set; MessagingBench's peers get it too
  if ! java "${JAVA_JAR_FLAGS[@]}" -XX:+UnlockDiagnosticVMOptions -XX:GuaranteedSafepointInterval=300000 -jar "$JAR" "$suite" "${quick[@]}" \
      | tee -a /dev/stderr | grep '^| ' >> "$rows"; then
    failed+=("$suite")
  fi
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
jvm=$(java -version 2>&1 | head -1)
{
  echo "Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $jvm."
  echo "Command: scripts/bench.sh ${quick[*]:-}, $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  java "${JAVA_JAR_FLAGS[@]}" -jar "$JAR" --table-header
  cat "$rows"
} | tee "$ROOT/benchmarks/target/bench-results.md"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}" >&2
  exit 1
fi
