# Shared by the scripts in this folder (sourced, not run). Sets ROOT to the repository root.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Flags for `java -jar` of our executable jars. Their manifests carry Add-Opens, Add-Exports and
# Enable-Native-Access; a manifest cannot allow sun.misc.Unsafe's memory access, which Chronicle
# Core uses and Java 24+ warns about. This property is what Java 24's
# --sun-misc-unsafe-memory-access=allow sets; Java 17 ignores it (it would reject the option).
JAVA_JAR_FLAGS=(-Dsun.misc.unsafe.memory.access=allow)

# run_mvn ARGS...: Maven in batch mode without colour. Debian's Maven 3.8 still writes ANSI
# resets (ESC[0m) with -B and -Dstyle.color=never, so when stdout is not a terminal they are
# stripped. Exits with Maven's status.
run_mvn() {
  if [ -t 1 ]; then
    mvn -B -Dstyle.color=never "$@"
  else
    mvn -B -Dstyle.color=never "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
    return "${PIPESTATUS[0]}"
  fi
}

# ensure_jar MODULE JAR [UPSTREAM...]: builds MODULE's runnable JAR when it is missing or older
# than any source or POM it is built from: shm-heap's, MODULE's and each UPSTREAM module's.
ensure_jar() {
  local module=$1 jar=$2 sources=("$ROOT/pom.xml") m
  shift 2
  for m in shm-heap "$@" "$module"; do
    sources+=("$ROOT/$m/pom.xml" "$ROOT/$m/src/main")
  done
  if [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar" -print -quit 2>/dev/null)" ]; then
    command -v mvn >/dev/null || { echo "$jar is missing or stale and mvn (Maven 3.8+) is not installed to build it" >&2; return 2; }
    echo "building $jar ..." >&2
    (cd "$ROOT" && run_mvn -q -ntp -pl "$module" -am package -DskipTests) >&2 || { echo "the build failed (see above)" >&2; return 2; }
  fi
}

# IPC_DEMO_JAR, ensure_ipc_demo_jar: the demo programs' runnable jar, built from ipc-demo and the
# modules it runs (the messaging library and the Aeron bridge).
IPC_DEMO_JAR="$ROOT/ipc-demo/target/ipc-demo.jar"
ensure_ipc_demo_jar() {
  ensure_jar ipc-demo "$IPC_DEMO_JAR" shm-messaging shm-bridge
}

# heap_dir: where heaps go: /dev/shm when writable, else java.io.tmpdir.
heap_dir() {
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    echo /dev/shm
  else
    local dir
    dir=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.io.tmpdir = //p')
    echo "${dir:-/tmp}"
  fi
}

# run_ipc_demo COMMAND ARGS...: `java -jar ipc-demo.jar COMMAND --heap HEAP ARGS` on a new heap
# in heap_dir, building the jar first when it is missing or stale; the heap is deleted on exit.
run_ipc_demo() {
  local command=$1
  shift
  command -v java >/dev/null || { echo "java not found: install a JDK 17+" >&2; exit 1; }
  local jar="$IPC_DEMO_JAR"
  ensure_ipc_demo_jar || exit 2
  IPC_DEMO_HEAP="$(heap_dir)/shmheap-$command-$$.heap"
  trap 'rm -f "$IPC_DEMO_HEAP"' EXIT
  trap 'exit 130' INT TERM
  java "${JAVA_JAR_FLAGS[@]}" -jar "$jar" "$command" --heap "$IPC_DEMO_HEAP" "$@"
}

# wait_for FILE TEXT SECONDS: until FILE contains TEXT; else prints FILE and returns 1.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): '$2' did not appear in $1 within $3 s:" >&2
  cat "$1" >&2
  return 1
}
