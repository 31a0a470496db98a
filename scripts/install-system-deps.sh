#!/usr/bin/env bash
# Installs the real systems the demo or the tests run against. Idempotent: does nothing when
# all are there.
#
#   scripts/install-system-deps.sh demo   what `make demo` uses: mosquitto (MQTT broker) and
#                                         anvil (local EVM node, npm @foundry-rs/anvil, which
#                                         ships its binary)
#   scripts/install-system-deps.sh test   the demo's, and what the tests add: postgresql
#                                         (scale-out store), gcc (C reference encoder, the
#                                         optional C accelerators), libssl-dev (OpenSSL headers
#                                         for the verifier's accelerator), chromium (renders the
#                                         evidence report in its test; no browser is
#                                         downloaded), systemd (`systemd-analyze verify` of
#                                         the gateway units), and the consent portal's
#                                         tools from npm into web/node_modules (TypeScript,
#                                         ESLint, axe-core: web/package-lock.json), chrony
#                                         (chronyd -x in the clock tests: it never
#                                         touches the host's clock), mosquitto-clients
#                                         (mosquitto_sub: the compose broker healthcheck)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
  [ -f /usr/include/openssl/sha.h ] || need_apt+=(libssl-dev)
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
  [ -x /usr/sbin/chronyd ] || need_apt+=(chrony)
  command -v mosquitto_sub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x tools/node_modules/.bin/anvil ]; then
  echo "installing anvil from npm into tools/node_modules"
  npm ci --prefix tools --no-audit --no-fund --loglevel=error >/dev/null
fi
if [ "$mode" = test ] && { [ ! -x web/node_modules/.bin/tsc ] || [ ! -x web/node_modules/.bin/eslint ] \
     || [ ! -f web/node_modules/axe-core/axe.min.js ]; }; then
  echo "installing the portal's tools from npm into web/node_modules"
  npm ci --prefix web --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "system dependencies for the $mode ready"
