#!/usr/bin/env bash
# Configures and builds libcluster into build/ (or build-<sanitizer>/).
# Usage: scripts/build.sh [--sanitize address|thread] [--type Release|Debug|RelWithDebInfo]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize="" type="RelWithDebInfo"
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="$2"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

dir=build${sanitize:+-$sanitize}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DCLUSTER_SANITIZE="$sanitize" >/dev/null
cmake --build "$dir" -j "$(nproc)"
echo "$dir"
