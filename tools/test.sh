#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
RDZ_FAULT_POINTS=ON tools/build.sh
cd build
ctest --output-on-failure --timeout 600 -j1
