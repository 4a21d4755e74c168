#!/usr/bin/env bash
# Checks the systemd units: `systemd-analyze verify` accepts them (with ExecStart pointing at
# the binaries just built), the timer fires at 09:30 Paris time on both sides of the 2026 DST
# changes, and a missed run is caught up (Persistent=true).
# Usage: check-units.sh SOURCE_DIR RDZD RDZCTL RDZ_GATEWAY
set -euo pipefail
src=$1 rdzd=$2 rdzctl=$3 gateway=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/units"
ln -s "$rdzd" "$work/bin/rdzd"
ln -s "$rdzctl" "$work/bin/rdzctl"
ln -s "$gateway" "$work/bin/rdz-gateway"
for unit in "$src"/systemd/*.service "$src"/systemd/*.timer; do
  sed "s#/usr/local/bin/#$work/bin/#g" "$unit" > "$work/units/$(basename "$unit")"
done
fail=0
if ! out=$(cd "$work/units" && systemd-analyze verify ./*.service ./*.timer 2>&1); then
  echo "systemd-analyze verify failed:"; echo "$out"; fail=1
fi
# Lines about our units only: anything said of them is a defect.
if echo "$out" | grep -E "rdz(d|-delivery|-gateway)" >/dev/null; then
  echo "systemd-analyze verify complained:"; echo "$out"; fail=1
fi

timer="$src/systemd/rdz-delivery.timer"
grep -qx 'OnCalendar=\*-\*-\* 09:30:00 Europe/Paris' "$timer" || { echo "OnCalendar is not 09:30 Paris"; fail=1; }
grep -qx 'Persistent=true' "$timer" || { echo "timer is not Persistent"; fail=1; }

spec=$(sed -n 's/^OnCalendar=//p' "$timer")
expect() {  # base-time, then the expected next three elapses in UTC
  local base=$1; shift
  local got
  got=$(TZ=UTC systemd-analyze calendar --iterations=3 --base-time="$base" "$spec" \
        | sed -n 's/.*\(Next elapse\|Iter\. #[0-9]\): [A-Z][a-z][a-z] \(.*\) UTC$/\2/p' | tr '\n' '|')
  local want
  want=$(printf '%s|' "$@")
  if [ "$got" != "$want" ]; then
    echo "from $base: expected $want got $got"; fail=1
  fi
}
# Spring forward on 2026-03-29: 09:30 CET = 08:30 UTC, then 09:30 CEST = 07:30 UTC.
expect '2026-03-27 12:00 UTC' '2026-03-28 08:30:00' '2026-03-29 07:30:00' '2026-03-30 07:30:00'
# Fall back on 2026-10-25: 07:30 UTC, then 08:30 UTC.
expect '2026-10-23 12:00 UTC' '2026-10-24 07:30:00' '2026-10-25 08:30:00' '2026-10-26 08:30:00'
if [ $fail = 0 ]; then echo "systemd units: ok"; fi
exit $fail
