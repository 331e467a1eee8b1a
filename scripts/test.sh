#!/usr/bin/env bash
# Builds every module and runs all tests: unit, multi-process, and the quick stress passes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+" >&2; exit 1; }
mvn -B -ntp verify "$@"
