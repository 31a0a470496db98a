#!/usr/bin/env bash
# Install the vnotary edge agent on a Raspberry Pi OS / Debian gateway (run as root).
#
#   deploy/gateway/install.sh --device-id veh-0001 [--package 'vnotary[edge]' | --package ./vnotary-*.whl]
#                             [--can networkd|oneshot|none]
#
# Idempotent: re-running upgrades the package and the unit files and never overwrites the
# device keys or an existing /etc/vnotary/edge.toml. See docs/deploy.md for the whole
# procedure (CSR signing by the fleet CA, enrolment at the collector).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PREFIX=/opt/vnotary
DEVICE_ID=""
PACKAGE="vnotary[edge]"
CAN_MODE=networkd

while [ $# -gt 0 ]; do
  case "$1" in
    --device-id) DEVICE_ID="$2"; shift 2 ;;
    --package) PACKAGE="$2"; shift 2 ;;
    --can) CAN_MODE="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ -n "$DEVICE_ID" ] || { echo "--device-id is required" >&2; exit 2; }
case "$CAN_MODE" in networkd|oneshot|none) ;; *) echo "--can networkd|oneshot|none" >&2; exit 2 ;; esac

echo "== system packages"
apt-get install -y --no-install-recommends python3-venv iproute2 can-utils >/dev/null

echo "== user vnotary (system account, no login, member of dialout for the serial ports)"
id vnotary >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/vnotary \
  --no-create-home --shell /usr/sbin/nologin vnotary
usermod -a -G dialout vnotary
install -d -o vnotary -g vnotary -m 0700 /var/lib/vnotary
install -d -o root -g vnotary -m 0750 /etc/vnotary

echo "== package $PACKAGE into $PREFIX"
[ -x "$PREFIX/bin/python" ] || python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install --quiet --upgrade "$PACKAGE"

echo "== device keys (never overwritten)"
if [ ! -e /var/lib/vnotary/device.key ]; then
  runuser -u vnotary -- "$PREFIX/bin/vnotary" edge provision --device-id "$DEVICE_ID" \
    --dir /var/lib/vnotary | tee /var/lib/vnotary/provision.txt
  sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' /var/lib/vnotary/provision.txt \
    > /etc/vnotary/device.pub
fi
if [ ! -e /etc/vnotary/edge.toml ]; then
  sed "s/^device_id = .*/device_id = \"$DEVICE_ID\"/" "$REPO/deploy/edge/agent.toml" \
    > /etc/vnotary/edge.toml
  chmod 0640 /etc/vnotary/edge.toml; chgrp vnotary /etc/vnotary/edge.toml
  echo "   wrote /etc/vnotary/edge.toml: set the broker host and the sources"
fi

echo "== udev rule, CAN bring-up ($CAN_MODE), systemd unit"
install -m 0644 "$HERE/99-vnotary-board.rules" /etc/udev/rules.d/99-vnotary-board.rules
udevadm control --reload-rules && udevadm trigger --subsystem-match=tty || true
if [ "$CAN_MODE" = networkd ]; then
  install -m 0644 "$HERE/80-can0.network" /etc/systemd/network/80-can0.network
  systemctl enable --now systemd-networkd
elif [ "$CAN_MODE" = oneshot ]; then
  install -m 0644 "$HERE/vnotary-can@.service" /etc/systemd/system/vnotary-can@.service
  systemctl daemon-reload
  systemctl enable --now vnotary-can@can0.service
fi
install -m 0644 "$HERE/vnotary-edge.service" /etc/systemd/system/vnotary-edge.service
systemctl daemon-reload
systemctl enable vnotary-edge.service

cat <<NEXT
== next
1. Have the fleet CA sign /var/lib/vnotary/tls.csr (deploy/pki/fleet_ca.py sign-device) and
   install the certificate as /etc/vnotary/tls.crt, the CA as /etc/vnotary/ca.crt.
2. Enrol the device key at the collector:
   vnotary collector device add --config collector.toml $DEVICE_ID \\
     --public-key device.pub   (a copy of /etc/vnotary/device.pub)
3. Put the collector's public key in /etc/vnotary/collector.pub, check /etc/vnotary/edge.toml,
   then: systemctl start vnotary-edge && journalctl -fu vnotary-edge
NEXT
