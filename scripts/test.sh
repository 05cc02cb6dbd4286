#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite
# (ctest labels: unit, sim, integration).
# Usage: scripts/test.sh [--sanitize address|thread] [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

build_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build_args=(--sanitize "$2")
  shift 2
fi

bash scripts/install-deps.sh
dir=$(bash scripts/build.sh "${build_args[@]}" | tail -n 1)

# Sanitizer options are set per test (tests/CMakeLists.txt) and inherited by
# the noded processes the tests start: a report anywhere fails the test.
cd "$dir"
ctest --output-on-failure -j 2 "$@"
