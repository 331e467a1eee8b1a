#!/usr/bin/env bash
# The chaos run ("survive kill -9"): N worker JVMs churn on one shared heap while random ones
# are SIGKILLed and replaced; at the end the heap is recovered and verified and one summary
# line is printed. Exit status 0 only if the heap verifies, no block pattern was broken, the
# watchdog never fired and every worker that was not killed stopped cleanly.
#
#   scripts/stress.sh                      # 60 s, 4 workers
#   scripts/stress.sh --minutes 10         # a long run
#   scripts/stress.sh --workers 6 --seconds 120 --seed 42 --verbose
#
# Other options go to dev.shmheap.stress.chaos.ChaosRun as they are: a heap file or directory,
# --seed X, --capacity-mib M, --held-kib K, --kill-min-ms A, --kill-max-ms B,
# --reclaim heap|ledger|none (who frees a killed worker's blocks; heap is the default),
# --keep, --verbose. --no-build skips the (incremental) Maven build. See stress-tests/CHAOS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) [ $# -ge 2 ] || { echo "--minutes needs a value" >&2; exit 2; }
               args+=(--seconds "$(( $2 * 60 ))"); shift 2 ;;
    --no-build) build=0; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

cpfile=stress-tests/target/chaos.classpath
flagsfile=shm-heap/target/classes/dev/shmheap/jvm-flags.properties
if [ "$build" = 1 ] || [ ! -f "$cpfile" ] || [ ! -f "$flagsfile" ]; then
  command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+" >&2; exit 1; }
  # test-compile (not install): the reactor resolves shm-heap to shm-heap/target/classes and its
  # test-jar (BlockPattern) to shm-heap/target/test-classes, which only test-compile fills.
  run_mvn -q -ntp -pl stress-tests -am test-compile dependency:build-classpath \
      -Dmdep.outputFile=target/chaos.classpath -DincludeScope=runtime >&2
fi

flags=$(sed -n 's/^flags=//p' "$flagsfile")
[ -n "$flags" ] || { echo "no JVM flags in $flagsfile" >&2; exit 1; }
cp="stress-tests/target/classes:$(cat "$cpfile")"
# The workers get the same classpath (java.class.path) and JvmFlags.required().
# shellcheck disable=SC2086
exec java $flags -Xmx256m -cp "$cp" dev.shmheap.stress.chaos.ChaosRun ${args[@]+"${args[@]}"}
