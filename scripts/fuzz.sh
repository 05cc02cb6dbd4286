#!/usr/bin/env bash
# Fuzzes the decoders a peer reaches before authenticating (the frame decoder,
# the handshake state machine, membership datagrams) with libFuzzer, clang,
# ASan and UBSan, each for SECONDS (default 60), starting from the seed corpus
# in tests/fuzz/corpus/<target> (read only: new inputs go to a scratch
# directory). Fails on any finding; the crashing input is kept in
# build-fuzz/findings/ and its path printed. CI runs it (.ci/run).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (targets: wire handshake membership)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire handshake membership)
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }

bash scripts/install-deps.sh
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null  # libFuzzer comes with the latter
fi
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLUSTER_SANITIZE=fuzzer >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
mkdir -p build-fuzz/findings
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "fuzzing $t for ${seconds}s"
  if ! (cd build-fuzz/findings && "../tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 "$scratch" "../../tests/fuzz/corpus/$t" 2> "fuzz_$t.log"); then
    tail -n 40 "build-fuzz/findings/fuzz_$t.log" >&2
    echo "fuzz_$t found a problem: the input is in build-fuzz/findings/ (see fuzz_$t.log)" >&2
    rm -rf "$scratch"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build-fuzz/findings/fuzz_$t.log" | tr '\n' ' '
  echo
  rm -rf "$scratch"
done
echo "fuzzing: no findings"
