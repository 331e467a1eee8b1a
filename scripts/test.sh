#!/usr/bin/env bash
# Builds every module and runs all tests: unit, multi-process, crash-point, CLI, messaging,
# the 60 s chaos run (mvn verify), then the quick jcstress pass on the jar verify built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+" >&2; exit 1; }
run_mvn -ntp verify "$@"
scripts/jcstress.sh --quick
