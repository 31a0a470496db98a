#!/usr/bin/env bash
# Installs the real systems the tests run against. Idempotent: does nothing when all are there.
# Debian packages: mosquitto (MQTT broker), postgresql (scale-out store), gcc (C reference
# encoder and the optional C accelerators), libssl-dev (OpenSSL headers for the evidence
# verifier's accelerator), chromium (renders the evidence report in its test; no browser is
# downloaded), systemd (only for `systemd-analyze verify` of the gateway units), chrony
# (its chronyd runs with -x in the clock tests: it never touches the host's clock).
# npm: @foundry-rs/anvil (local EVM node; the package ships its binary).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
[ -f /usr/include/openssl/sha.h ] || need_apt+=(libssl-dev)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)  # checks deploy/gateway units
[ -x /usr/sbin/chronyd ] || need_apt+=(chrony)  # clock discipline tests (chronyd -x)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x tools/node_modules/.bin/anvil ]; then
  echo "installing anvil from npm into tools/node_modules"
  npm install --prefix tools --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "system dependencies ready"
