#!/usr/bin/env bash
# Makes ./secrets/ for the compose stack, every file owned by the container user that reads
# it and every key mode 0600 (the collector refuses a key group or others can read; mosquitto
# reads its certificates after dropping to its own user). Run as root (chown), from anywhere,
# with the project's virtual environment on PATH (python with `cryptography`, `vnotary`).
#
#   deploy/compose/setup-secrets.sh [--ca DIR] [--host broker.example.net ...]
#   deploy/compose/setup-secrets.sh --fix-owners      # only re-apply owners and modes
#   deploy/compose/setup-secrets.sh --refresh-crl     # copy the CA's current crl.pem to the broker
#
# The users (README.md § Secrets):  mosquitto 1883:1883 (eclipse-mosquitto image),
# postgres 999:999 (postgres image), collector and api 10001:10001 (Dockerfile.collector).
# Existing keys are never replaced: delete a file to have it made again.
# Environment: SECRETS (default: secrets/ beside this script), PYTHON (python3), VNOTARY
# (vnotary), ORIGIN (the log's origin, as in collector.toml), and MOSQUITTO_UID, POSTGRES_UID, COLLECTOR_UID to override the ids above.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
S="${SECRETS:-$here/secrets}"
PYTHON="${PYTHON:-python3}"
VNOTARY="${VNOTARY:-vnotary}"
FLEET_CA="$here/../pki/fleet_ca.py"
MOSQUITTO_UID="${MOSQUITTO_UID:-1883}"
POSTGRES_UID="${POSTGRES_UID:-999}"
COLLECTOR_UID="${COLLECTOR_UID:-10001}"

ca="$S/ca"
hosts=(mosquitto localhost)
mode=all
while [ $# -gt 0 ]; do
  case "$1" in
    --ca) ca="$2"; shift 2 ;;
    --host) hosts+=("$2"); shift 2 ;;
    --fix-owners) mode=owners; shift ;;
    --refresh-crl) mode=crl; shift ;;
    *) echo "usage: $0 [--ca DIR] [--host NAME ...] | --fix-owners | --refresh-crl" >&2; exit 2 ;;
  esac
done

owners() {
  # directory 0700 and files 0600 (certificates too: nothing here is for anyone else)
  local dir="$1" uid="$2"
  chown -R "$uid:$uid" "$dir"
  chmod 700 "$dir"
  find "$dir" -type f -exec chmod 600 {} +
}

fix_owners() {
  chmod 700 "$S"
  owners "$S/broker" "$MOSQUITTO_UID"
  owners "$S/postgres" "$POSTGRES_UID"
  owners "$S/collector" "$COLLECTOR_UID"
}

if [ "$mode" = owners ]; then fix_owners; exit 0; fi
if [ "$mode" = crl ]; then
  install -m 600 -o "$MOSQUITTO_UID" -g "$MOSQUITTO_UID" "$ca/crl.pem" "$S/broker/crl.pem"
  echo "copied $ca/crl.pem; now: docker compose kill -s SIGHUP mosquitto (new handshakes)" \
       "or docker compose restart mosquitto (also cuts open sessions)"
  exit 0
fi

umask 077
mkdir -p "$S/broker" "$S/postgres" "$S/collector"
fleet() { "$PYTHON" "$FLEET_CA" "$@" >/dev/null; }
# The fleet CA (its ca.key belongs offline: --ca names a directory on removable media).
[ -f "$ca/ca.key" ] || fleet init --dir "$ca"
[ -f "$ca/crl.pem" ] || fleet crl --dir "$ca"
host_args=(); for h in "${hosts[@]}"; do host_args+=(--host "$h"); done
[ -f "$S/broker/server.key" ] || {
  fleet server --dir "$ca" "${host_args[@]}"
  cp "$ca/server.crt" "$ca/server.key" "$S/broker/"
}
[ -f "$S/broker/healthcheck.key" ] || {
  fleet client --dir "$ca" --cn healthcheck
  cp "$ca/healthcheck.crt" "$ca/healthcheck.key" "$S/broker/"
}
[ -f "$S/collector/collector.key.pem" ] || {
  fleet client --dir "$ca" --cn collector
  cp "$ca/collector.crt" "$S/collector/collector.crt"
  cp "$ca/collector.key" "$S/collector/collector.key.pem"
}
cp "$ca/ca.crt" "$S/broker/ca.crt"
cp "$ca/ca.crt" "$S/collector/ca.crt"
cp "$ca/crl.pem" "$S/broker/crl.pem"
# The collector's Ed25519 keys, one per statement (docs/collector.md § Keys); each public key
# is written beside it in the form it is pinned: log.pub (the signed-note verifier key for
# trust files and witnesses), receipt.pub (PEM, the agents' collector_public_key), bundle.pub
# (base64 SPKI, trust files' collector_keys). ORIGIN must match collector.toml's origin.
ORIGIN="${ORIGIN:-collector.example.net/vnotary/log}"
[ -f "$S/collector/log.key" ] || "$VNOTARY" collector keygen --for log --origin "$ORIGIN" \
  --out "$S/collector/log.key" > "$S/collector/log.pub"
for k in receipt bundle; do
  [ -f "$S/collector/$k.key" ] || "$VNOTARY" collector keygen --for "$k" \
    --out "$S/collector/$k.key" > "$S/collector/$k.pub"
done
# The database password: one copy for PostgreSQL, one for the collector and the API (each
# owned by its reader, so neither file needs to be readable by a group).
if [ ! -f "$S/postgres/postgres_password" ]; then
  "$PYTHON" -c 'import secrets; print(secrets.token_hex(24))' > "$S/postgres/postgres_password"
fi
cp "$S/postgres/postgres_password" "$S/collector/postgres_password"
# The chain sender's key (hex): write your funded key there; a placeholder until then.
[ -f "$S/collector/eth.key" ] || echo "0x<the anchor sender's private key>" > "$S/collector/eth.key"
fix_owners
echo "secrets in $S: broker (uid $MOSQUITTO_UID), postgres (uid $POSTGRES_UID)," \
     "collector (uid $COLLECTOR_UID); the CA in $ca"
