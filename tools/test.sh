#!/usr/bin/env bash
# test.sh - the README's test command: installs what is missing, builds
# ftsb twice (normal, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole test suite in both builds.  Long fuzz campaigns and
# benchmarks are not part of it (see tests/fuzz/README.md, benchmarks/perf/).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {   # run_suite BUILD_DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure
}

echo "== build and test =="
run_suite build
echo "== ASan + UBSan build and test =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DFTSB_SANITIZE=ON
