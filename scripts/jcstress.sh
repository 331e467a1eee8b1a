#!/usr/bin/env bash
# Runs the jcstress tests of stress-tests/ (package dev.shmheap.stress.jcstress) on real mapped
# memory, and exits non-zero if any test failed or errored.
#
#   scripts/jcstress.sh                full run: jcstress "default" preset (5 iterations of 1 s) in
#                                      8 JVM modes (interpreter, C1, C2, C2 with randomizers; each
#                                      with biased locking on and off), one fork per mode and test
#   scripts/jcstress.sh --quick        CI run: "quick" preset, 3 iterations of 200 ms per test, one
#                                      JVM mode (jcstress still adds biased locking on/off)
#   scripts/jcstress.sh --build ...    rebuild the jar first (it is built only when missing)
#   scripts/jcstress.sh [--quick] -- OPTIONS
#                                      extra jcstress options, e.g. -- -t SpinLock (select tests),
#                                      -- -m tough (another preset; replaces the script's own
#                                      -m/-iters/-time/-sc/-fsm/-c when given)
#
# The forked JVMs need shm-heap's --add-opens/--add-exports flags. The list lives once, in the
# parent POM; the jar carries it (dev.shmheap.JvmFlags), and this script asks the jar for it and
# hands it to jcstress with -jvmArgsPrepend (full run) or -jvmArgs (quick run, which also makes
# jcstress skip its JVM-mode detection).
#
# jcstress 0.16 exits 1 on failed tests only because its report printer throws at the end; the
# verdict here also reads its text report: the "Failed tests" and "Error tests" counts and the
# last "(Results: ...)" progress line, and fails the run if either is missing.
# Report, raw results and the full log go to stress-tests/target/jcstress/<run>/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

quick=false
build=false
extra=()
while (($#)); do
  case "$1" in
    --quick) quick=true ;;
    --build) build=true ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (jcstress options go after --)" >&2; exit 2 ;;
  esac
  shift
done

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
jar="$PWD/stress-tests/target/jcstress.jar"
if $build || [[ ! -f "$jar" ]]; then
  command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+" >&2; exit 1; }
  echo "building $jar"
  run_mvn -q -ntp -pl stress-tests -am package -DskipTests
fi

flags="$("$java_bin" -cp "$jar" dev.shmheap.stress.jcstress.PrintJvmFlags)"
[[ -n "$flags" ]] || { echo "could not read the JVM flags from $jar" >&2; exit 1; }

# Options the caller may override: take ours only when the caller did not give the option.
has_option() {
  local want="$1" arg
  for arg in "${extra[@]+"${extra[@]}"}"; do [[ "$arg" == "$want" ]] && return 0; done
  return 1
}
# The caller's own -jvmArgs/-jvmArgsPrepend are merged with the flags rather than replaced.
merged_option_value() {
  local want="$1" i
  for ((i = 0; i < ${#extra[@]}; i++)); do
    if [[ "${extra[i]}" == "$want" && $((i + 1)) -lt ${#extra[@]} ]]; then
      echo "${extra[i + 1]}"
      return
    fi
  done
}
passthrough=()
for ((i = 0; i < ${#extra[@]}; i++)); do
  case "${extra[i]}" in
    -jvmArgs|-jvmArgsPrepend) i=$((i + 1)) ;;
    *) passthrough+=("${extra[i]}") ;;
  esac
done

if $quick; then
  run="quick"
  defaults=(-m quick -iters 3 -sc false -c 2)
else
  run="full"
  defaults=(-m default -sc false -fsm 1 -c 2)
fi
args=()
for ((i = 0; i < ${#defaults[@]}; i += 2)); do
  has_option "${defaults[i]}" || args+=("${defaults[i]}" "${defaults[i + 1]}")
done
user_jvm_args="$(merged_option_value -jvmArgs)"
user_prepend="$(merged_option_value -jvmArgsPrepend)"
if $quick || [[ -n "$user_jvm_args" ]]; then
  args+=(-jvmArgs "$flags${user_jvm_args:+ $user_jvm_args}")
  [[ -z "$user_prepend" ]] || args+=(-jvmArgsPrepend "$user_prepend")
else
  args+=(-jvmArgsPrepend "$flags${user_prepend:+ $user_prepend}")
fi

out="$PWD/stress-tests/target/jcstress/$run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
log="$out/jcstress.log"
echo "jcstress $run run: report and log in $out"
echo "+ java -jar $jar ${args[*]} ${passthrough[*]+${passthrough[*]}} -r $out/report"

# The quick run is for CI: a wedged fork must not hold the pipeline for long.
limit=()
$quick && limit=(timeout --kill-after=30 900)
start=$(date +%s)
set +e
(cd "$out" && "${limit[@]+"${limit[@]}"}" "$java_bin" -Djcstress.console.printIntervalMs=15000 -jar "$jar" \
  "${args[@]}" "${passthrough[@]+"${passthrough[@]}"}" -r "$out/report") 2>&1 | tee "$log" |
  awk '/Observed forbidden state/ { if (++n > 20) { if (n == 21) print "  ... more forbidden states in the log"; next } } { print }'
status=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - start))

# "  Failed tests: 2 matching test results." or "  Failed tests: No matches."
count_of() {
  local line
  line="$(grep -E "^ +$1 tests: " "$log" | tail -1)"
  [[ -n "$line" ]] || { echo -1; return; }
  if [[ "$line" =~ ([0-9]+)\ matching ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}
interesting=$(count_of Interesting)
failed=$(count_of Failed)
errors=$(count_of Error)
remaining=$(count_of "All remaining")
progress="$(grep -E '^\(Results: ' "$log" | tail -1 || true)"

verdict_ok=true
if ((status != 0)); then
  echo "jcstress exited with status $status" >&2
  verdict_ok=false
fi
if ((interesting < 0 || failed < 0 || errors < 0 || remaining < 0)); then
  echo "jcstress printed no RUN RESULTS summary: see $log" >&2
  verdict_ok=false
  interesting=0 failed=0 errors=0 remaining=0
fi
tests=$((interesting + failed + errors + remaining))
passed=$((interesting + remaining))
if ((tests == 0)); then
  echo "no jcstress test ran" >&2
  verdict_ok=false
fi
if [[ "$progress" =~ ([0-9]+)\ planned\;\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ soft\ errs,\ ([0-9]+)\ hard\ errs ]]; then
  planned=${BASH_REMATCH[1]} runs_passed=${BASH_REMATCH[2]} runs_failed=${BASH_REMATCH[3]}
  soft=${BASH_REMATCH[4]} hard=${BASH_REMATCH[5]}
  echo "jcstress $run: forked runs: $planned planned, $runs_passed passed, $runs_failed failed, $soft soft errors, $hard hard errors"
  if ((runs_failed + soft + hard > 0 || runs_passed < planned)); then
    verdict_ok=false
  fi
else
  echo "jcstress printed no (Results: ...) progress line: see $log" >&2
  verdict_ok=false
fi
if ((failed + errors > 0)); then
  verdict_ok=false
fi
echo "jcstress $run: $tests tests, $passed passed ($interesting with interesting outcomes), $failed failed, $errors errors, ${elapsed}s; report: $out/report/index.html"
echo "jcstress: $passed passed, $((failed + errors)) failed"
$verdict_ok
