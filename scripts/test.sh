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

# A sanitizer report in any process (noded included) fails that process, and
# so the test that started it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

cd "$dir"
ctest --output-on-failure -j 2 "$@"
