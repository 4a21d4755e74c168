#!/usr/bin/env bash
# Installs every Debian package RDZ needs to build, test and run (idempotent; needs root).
set -euo pipefail
packages=(
  build-essential cmake pkg-config ccache
  capnproto libcapnp-dev librocksdb-dev libboost-program-options-dev libssl-dev libfmt-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libphonenumber-dev libhowardhinnant-date-dev
  libsystemd-dev tzdata python3 python3-aiosmtpd curl systemd
  # rdz-console: Chart.js served from the package; the browser tests of the console and of the
  # gateway's landing-page form (headless Chromium, Selenium)
  libjs-chart.js chromium chromium-driver python3-selenium
  # tools/fuzz.sh: clang, its libFuzzer/ASan/UBSan runtimes, llvm-symbolizer for the reports
  clang libclang-rt-14-dev llvm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (missing: ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
