#!/usr/bin/env bash
# The tests under ASan+UBSan: builds them with clang into ./build-fuzz (the fuzzing build,
# tools/fuzz.sh: every library instrumented; the end-to-end tests then run the instrumented rdzd,
# rdzctl and rdz-bench) and runs each test in a process of its own, two at a time, so that one
# finding does not hide the next. Prints the tests that failed, with their
# logs' paths; exits 1 if any did. Not part of the README's test command: the instrumented build
# of everything takes ~20 minutes on 2 cores from scratch.
#
#   tools/sanitize.sh                      domain, store, service, gateway, client, tools, e2e
#   RDZ_SANITIZE_TESTS="store service" tools/sanitize.sh
#   RDZ_SANITIZE_FILTER='RunOffWriter*' RDZ_SANITIZE_TESTS=service tools/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
all=(domain store service gateway client tools e2e)
read -r -a suites <<< "${RDZ_SANITIZE_TESTS:-${all[*]}}"
filter=${RDZ_SANITIZE_FILTER:-*}

tools/install-deps.sh
# The same configuration as tools/fuzz.sh's (one build directory for both); the linker flag lets
# the test executables link libphonenumber's protobuf under clang.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRDZ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--copy-dt-needed-entries >/dev/null
cmake --build build-fuzz -j"${RDZ_JOBS:-2}" --target "${suites[@]/%/-test}"

out="$PWD/build-fuzz/sanitize-out"
rm -rf "$out"
mkdir -p "$out"
# verify_asan_link_order=0: the storage-fault tests preload their shim (tests/faults) before ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:verify_asan_link_order=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for suite in "${suites[@]}"; do
  exe="$PWD/build-fuzz/tests/$suite-test"
  "$exe" --gtest_list_tests --gtest_filter="$filter" |
    awk '/^[^ ]/{s=$1} /^  /{print s $1}' > "$out/$suite.list"
  : > "$out/$suite.failed"
  # A test's log is named after it, its slashes (parameterised tests) made dots.
  (cd build-fuzz/tests &&
    xargs -P2 -I{} sh -c 'log="'"$out"'/$(echo "{}" | tr / .).log";
      timeout 600 "'"$exe"'" --gtest_filter="{}" > "$log" 2>&1 || echo "{} $log" >> "'"$out/$suite.failed"'"' \
      < "$out/$suite.list")
  n=$(wc -l < "$out/$suite.list")
  f=$(wc -l < "$out/$suite.failed")
  printf '%-8s %4d tests, %d failed\n' "$suite" "$n" "$f"
  if [ "$f" -gt 0 ]; then
    sed 's/^/  /' "$out/$suite.failed"
    failed=1
  fi
done
exit "$failed"
