#!/usr/bin/env bash
# Fuzzing: installs what is missing, builds the libFuzzer targets of tests/fuzz/ with clang under
# ASan+UBSan into ./build-fuzz, and runs each for SECONDS (default 60) over a copy of its seed
# corpus (tests/fuzz/corpus/<name>/; new inputs stay in the copy, the repository is not written).
# Prints executions per target. Exits 1 when a target crashed (sanitizer finding, failed property,
# timeout, out of memory or leak), with the reproducer's path and the command that replays it.
#
#   tools/fuzz.sh [SECONDS]          every target
#   RDZ_FUZZ_TARGETS="spool rpc" tools/fuzz.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
all=(validation json-body form-body import-rows spool config gateway-config rpc)
read -r -a targets <<< "${RDZ_FUZZ_TARGETS:-${all[*]}}"

tools/install-deps.sh
# The same configuration as tools/sanitize.sh's (the unit tests under ASan+UBSan, in this same
# build directory).
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRDZ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--copy-dt-needed-entries >/dev/null
cmake --build build-fuzz -j"${RDZ_JOBS:-2}" --target "${targets[@]/#/fuzz-}"

bin="$PWD/build-fuzz/tests/fuzz"
out="$PWD/build-fuzz/fuzz-out"
rm -rf "$out"
mkdir -p "$out"
# The targets make temp dirs (spool segments, a RocksDB): on tmpfs, fsync costs nothing.
tmp=${TMPDIR:-/tmp}
[ -w /dev/shm ] && tmp=/dev/shm
scratch=$(mktemp -d "$tmp/rdz-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
printf '%-16s %8s %12s %10s  %s\n' target seconds executions "execs/s" result
for t in "${targets[@]}"; do
  dir="$out/$t"
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  extra=()
  # The spool and rdzd log one line per damaged segment or refused connection: silenced, the
  # sanitizers' reports (and the targets' failed properties) still reach the log.
  case "$t" in spool | rpc) extra+=(-close_fd_mask=2) ;; esac
  start=$(date +%s)
  status=0
  (cd "$dir" && TMPDIR="$scratch" nice -n "${RDZ_FUZZ_NICE:-10}" \
     "$bin/fuzz-$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
     -print_final_stats=1 -artifact_prefix="$dir/" "${extra[@]}" corpus >"$dir/log" 2>&1) ||
    status=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  execs=${execs:-0}
  reproducer=$(ls "$dir"/{crash,timeout,oom,leak}-* 2>/dev/null | head -1 || true)
  if [ "$status" -ne 0 ] || [ -n "$reproducer" ]; then
    result="CRASH ${reproducer:-(no reproducer written; exit $status)}"
    failed+=("$t")
  else
    result=ok
  fi
  rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
  printf '%-16s %8s %12s %10s  %s\n' "$t" "$elapsed" "$execs" "$rate" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo
    echo "== fuzz-$t crashed; log: $out/$t/log"
    grep -E 'ERROR|SUMMARY|fuzz property failed|runtime error|Test unit written' "$out/$t/log" |
      head -20 || true
    for r in "$out/$t"/{crash,timeout,oom,leak}-*; do
      [ -e "$r" ] && echo "replay: build-fuzz/tests/fuzz/fuzz-$t $r"
    done
  done
  exit 1
fi
