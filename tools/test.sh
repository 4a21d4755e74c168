#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test with ctest, then fuzzes
# every parser of outside input for RDZ_FUZZ_SECONDS per target (default 60: 8 targets, 8 min 15 s
# measured with build-fuzz up to date, plus its clang build on a fresh machine; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
RDZ_FAULT_POINTS=ON tools/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j1)
fuzz_seconds=${RDZ_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ]; then
  tools/fuzz.sh "$fuzz_seconds"
fi
