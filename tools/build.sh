#!/usr/bin/env bash
# Configures and builds RDZ into ./build (RelWithDebInfo, ccache when present, 2 jobs).
# The named crash points (docs/FAULTS.md) are compiled in only with RDZ_FAULT_POINTS=ON in the
# environment (tools/test.sh sets it); the default, also after a test build, is without them.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRDZ_FAULT_POINTS="${RDZ_FAULT_POINTS:-OFF}" >/dev/null
cmake --build build -j"${RDZ_JOBS:-2}"
