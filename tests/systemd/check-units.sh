#!/usr/bin/env bash
# Checks the systemd units: `systemd-analyze verify` accepts them (with ExecStart pointing at
# the binaries just built), every service's exposure (`systemd-analyze security --offline=yes`)
# is at most 2.0, rdzd tells systemd when it serves (Type=notify), secrets arrive as credentials,
# the timer fires at 09:30 Paris time on both sides of the 2026 DST
# changes, and a missed run is caught up (Persistent=true).
# Usage: check-units.sh SOURCE_DIR RDZD RDZCTL RDZ_GATEWAY RDZ_CONSOLE
set -euo pipefail
src=$1 rdzd=$2 rdzctl=$3 gateway=$4 console=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/units"
ln -s "$rdzd" "$work/bin/rdzd"
ln -s "$rdzctl" "$work/bin/rdzctl"
ln -s "$gateway" "$work/bin/rdz-gateway"
ln -s "$console" "$work/bin/rdz-console"
for unit in "$src"/systemd/*.service "$src"/systemd/*.timer; do
  sed "s#/usr/local/bin/#$work/bin/#g" "$unit" > "$work/units/$(basename "$unit")"
done
fail=0
if ! out=$(cd "$work/units" && systemd-analyze verify ./*.service ./*.timer 2>&1); then
  echo "systemd-analyze verify failed:"; echo "$out"; fail=1
fi
# Lines about our units only: anything said of them is a defect.
if echo "$out" | grep -E "rdz(d|-delivery|-gateway|-console)" >/dev/null; then
  echo "systemd-analyze verify complained:"; echo "$out"; fail=1
fi

for unit in "$work"/units/*.service; do
  name=$(basename "$unit")
  score=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>/dev/null |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$score" ] || ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    echo "$name: exposure ${score:-unknown} > 2.0"; fail=1
  else
    echo "$name: exposure $score"
  fi
done
grep -qx 'Type=notify' "$src/systemd/rdzd.service" || { echo "rdzd.service is not Type=notify"; fail=1; }
grep -q '^LoadCredential=rdz-delivery.token$' "$src/systemd/rdz-delivery.service" ||
  { echo "the delivery token is not a credential"; fail=1; }
grep -q 'wait-rdzd' "$src/systemd/rdz-delivery.service" ||
  { echo "rdz-delivery does not wait for rdzd"; fail=1; }
if grep -E '^Environment=.*(TOKEN|PASSWORD)=' "$src"/systemd/*.service; then
  echo "a secret is passed in the environment"; fail=1
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
