#!/usr/bin/env bash
# Configures and builds RDZ into ./build (RelWithDebInfo, ccache when present, 2 jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${RDZ_JOBS:-2}"
