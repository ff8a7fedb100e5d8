#!/usr/bin/env bash
# quickstart.sh - the README's first command: installs what is missing,
# builds ftsb (Release) and runs the quickstart experiment.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
mkdir -p results
exec build/core/ftsb --store results/quickstart.db run scripts/quickstart.lua "$@"
