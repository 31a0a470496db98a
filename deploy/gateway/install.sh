#!/usr/bin/env bash
# Install, upgrade or roll back the vnotary edge agent on a Raspberry Pi OS / Debian gateway
# (run as root). Only a package you name by file or https URL *and* its sha256 is installed,
# never a name looked up on an index, and every dependency is pinned and hash-checked by the
# lock (requirements.lock, the same one `make setup` and CI use).
#
#   install.sh install  --device-id ID --package FILE|URL --sha256 HEX [--can networkd|oneshot|none]
#   install.sh upgrade  --package FILE|URL --sha256 HEX     a new release; the current one is kept
#   install.sh rollback                                     back to the previous release, one step
#   install.sh status                                       the current and the previous release
#
# Common options: --lock FILE (default: the checkout's requirements.lock); --root DIR and
# --no-system install under DIR without apt, users, udev or systemd (tests, image builds).
#
# Layout: /opt/vnotary/releases/<version>-<sha256[:12]>/ is one virtual environment per
# release; /opt/vnotary/current and /opt/vnotary/previous are symlinks, switched atomically
# (rename), and the unit runs /opt/vnotary/current/bin/vnotary. Keys and /etc/vnotary/edge.toml
# are never overwritten. See docs/deploy.md.
set -euo pipefail
shopt -s inherit_errexit  # `x="$(f)"` stops at the first failure inside f too

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT=""
SYSTEM=1
DEVICE_ID=""
PACKAGE=""
SHA256=""
LOCK="$REPO/requirements.lock"
CAN_MODE=networkd

die() { echo "install.sh: $1" >&2; exit "${2:-2}"; }
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -gt 0 ] || { usage >&2; exit 2; }
CMD="$1"; shift
case "$CMD" in install|upgrade|rollback|status) ;; -h|--help) usage; exit 0 ;;
  *) die "unknown command: $CMD (install, upgrade, rollback, status)" ;; esac
need() { [ "$1" -ge 2 ] || die "$2 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in --no-system|-h|--help) ;; *) need $# "$1" ;; esac
  case "$1" in
    --device-id) DEVICE_ID="$2"; shift 2 ;;
    --package) PACKAGE="$2"; shift 2 ;;
    --sha256) SHA256="$2"; shift 2 ;;
    --lock) LOCK="$2"; shift 2 ;;
    --can) CAN_MODE="$2"; shift 2 ;;
    --root) ROOT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --no-system) SYSTEM=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
PREFIX="$ROOT/opt/vnotary"
ETC="$ROOT/etc/vnotary"
STATE="$ROOT/var/lib/vnotary"
[ "$SYSTEM" = 0 ] || [ "$(id -u)" -eq 0 ] || die "run as root" 1

# --- releases ---------------------------------------------------------------------------

release_of() { readlink "$PREFIX/$1" 2>/dev/null | sed 's|.*/||' || true; }

switch() {  # switch NAME RELEASE: point the NAME symlink at releases/RELEASE atomically
  ln -sfn "releases/$2" "$PREFIX/.$1.new"
  mv -T "$PREFIX/.$1.new" "$PREFIX/$1"
}

restart() {
  [ "$SYSTEM" = 1 ] || return 0
  systemctl daemon-reload
  if systemctl is-active --quiet vnotary-edge.service; then systemctl restart vnotary-edge.service; fi
}

lock_block() {  # the lock's lines for one package (its pin and hashes), for a bootstrap
  awk -v n="$1" '$0 ~ "^"n"==" {p=1} p && /^ *#/ {exit} p {print} p && !/\\$/ {exit}' "$LOCK"
}

fetch() {  # fetch SOURCE DIR: a local file as is, an https URL downloaded; print the path
  case "$1" in
    https://*)
      local out; out="$2/$(basename "${1%%\?*}")"
      curl --fail --silent --show-error --location --proto '=https' -o "$out" "$1" \
        || die "cannot download $1" 4
      echo "$out" ;;
    http://*) die "refusing $1: download over https only" ;;
    *://*) die "refusing $1: a local file or an https URL" ;;
    *) [ -f "$1" ] || die "no such file: $1 (give the wheel or sdist by path or https URL, never a package name)" 4
       (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")") ;;
  esac
}

install_release() {  # build releases/<version>-<sha12>, print its name
  [ -n "$PACKAGE" ] || die "--package FILE|URL is required"
  [[ "$SHA256" =~ ^[0-9a-f]{64}$ ]] || die "--sha256 must be the 64 hex digits of the package"
  [ -f "$LOCK" ] || die "no lock at $LOCK (--lock FILE)" 4
  install -d -m 0755 "$PREFIX/releases" "$PREFIX/downloads"
  local file name version kind
  file="$(fetch "$PACKAGE" "$PREFIX/downloads")"
  name="$(basename "$file")"
  if [[ "$name" =~ ^vnotary-([0-9][0-9A-Za-z.+!]*)-.*\.whl$ ]]; then kind=wheel
  elif [[ "$name" =~ ^vnotary-([0-9][0-9A-Za-z.+!]*)\.tar\.gz$ ]]; then kind=sdist
  else die "$name is not a vnotary wheel (.whl) or sdist (.tar.gz)"; fi
  version="${BASH_REMATCH[1]}"
  local got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  [ "$got" = "$SHA256" ] || die "sha256 mismatch for $name: expected $SHA256, got $got" 3
  local release="$version-${SHA256:0:12}" dir
  dir="$PREFIX/releases/$version-${SHA256:0:12}"
  # A venv is not relocatable, so it is built in place; RELEASE, written last, marks it
  # complete (a run cut short leaves none, and the next one starts that release again).
  if [ -f "$dir/RELEASE" ]; then echo "$release"; return; fi  # the same file: reuse
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  local pip=("$dir/bin/python" -m pip --disable-pip-version-check --quiet)
  # The venv's own pip may predate hash-checked constraints: replace it with the locked one.
  lock_block pip > "$dir/pip.txt"
  [ -s "$dir/pip.txt" ] || die "the lock pins no pip"
  "${pip[@]}" install --require-hashes --no-deps -r "$dir/pip.txt" >&2
  local extra=()
  if [ "$kind" = sdist ]; then  # built here, by the locked setuptools (C accelerators too)
    "${pip[@]}" install -c "$LOCK" setuptools >&2
    extra=(--no-build-isolation)
  fi
  echo "vnotary[edge] @ file://$file --hash=sha256:$SHA256" > "$dir/package.txt"
  "${pip[@]}" install "${extra[@]}" -c "$LOCK" -r "$dir/package.txt" >&2 \
    || die "installing $name failed (nothing was switched)" 1
  "$dir/bin/vnotary" --version >&2 || die "the new release does not run" 1
  printf 'package %s\nsha256 %s\nlock %s\ninstalled %s\n' "$name" "$SHA256" \
    "$(sha256sum "$LOCK" | cut -d' ' -f1)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$dir/RELEASE.tmp"
  mv -T "$dir/RELEASE.tmp" "$dir/RELEASE"
  echo "$release"
}

activate() {  # make RELEASE current, keep the one it replaces as previous, drop older ones
  local new="$1" old
  old="$(release_of current)"
  if [ "$old" != "$new" ]; then
    [ -z "$old" ] || switch previous "$old"
    switch current "$new"
  fi
  local keep_prev; keep_prev="$(release_of previous)"
  for d in "$PREFIX"/releases/*/; do
    local r; r="$(basename "$d")"
    [ "$r" = "$new" ] || [ "$r" = "$keep_prev" ] || rm -rf "$d"
  done
  echo "current: $new${keep_prev:+ (previous: $keep_prev; roll back with: $0 rollback)}"
}

# --- commands ---------------------------------------------------------------------------

system_setup() {
  [ "$SYSTEM" = 1 ] || return 0
  echo "== system packages"
  apt-get install -y --no-install-recommends python3-venv iproute2 can-utils curl >/dev/null
  echo "== user vnotary (system account, no login, member of dialout for the serial ports)"
  id vnotary >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/vnotary \
    --no-create-home --shell /usr/sbin/nologin vnotary
  usermod -a -G dialout vnotary
}

provision() {
  install -d -m 0700 "$STATE"
  install -d -m 0750 "$ETC"
  if [ "$SYSTEM" = 1 ]; then chown vnotary:vnotary "$STATE"; chgrp vnotary "$ETC"; fi
  echo "== device keys (never overwritten)"
  if [ ! -e "$STATE/device.key" ]; then
    local run=("$PREFIX/current/bin/vnotary" edge provision --device-id "$DEVICE_ID" --dir "$STATE")
    if [ "$SYSTEM" = 1 ]; then runuser -u vnotary -- "${run[@]}" > "$STATE/provision.txt"
    else "${run[@]}" > "$STATE/provision.txt"; fi
    cat "$STATE/provision.txt"
    sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$STATE/provision.txt" > "$ETC/device.pub"
  fi
  if [ ! -e "$ETC/edge.toml" ]; then
    sed "s/^device_id = .*/device_id = \"$DEVICE_ID\"/" "$REPO/deploy/edge/agent.toml" \
      > "$ETC/edge.toml"
    chmod 0640 "$ETC/edge.toml"
    [ "$SYSTEM" = 0 ] || chgrp vnotary "$ETC/edge.toml"
    echo "   wrote $ETC/edge.toml: set the broker host and the sources"
  fi
}

units() {
  [ "$SYSTEM" = 1 ] || return 0
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
}

case "$CMD" in
  install)
    [ -n "$DEVICE_ID" ] || die "--device-id is required"
    case "$CAN_MODE" in networkd|oneshot|none) ;; *) die "--can networkd|oneshot|none" ;; esac
    system_setup
    echo "== package $PACKAGE into $PREFIX/releases"
    rel="$(install_release)"
    activate "$rel"
    provision
    units
    cat <<NEXT
== next
1. Have the fleet CA sign $STATE/tls.csr (deploy/pki/fleet_ca.py sign-device) and
   install the certificate as $ETC/tls.crt, the CA as $ETC/ca.crt.
2. Enrol the device key at the collector:
   vnotary collector device add --config collector.toml $DEVICE_ID \\
     --public-key device.pub   (a copy of $ETC/device.pub)
3. Put the collector's public key in $ETC/collector.pub, check $ETC/edge.toml,
   then: systemctl start vnotary-edge && journalctl -fu vnotary-edge
NEXT
    ;;
  upgrade)
    [ -n "$(release_of current)" ] || die "nothing installed yet: use install"
    echo "== package $PACKAGE into $PREFIX/releases"
    rel="$(install_release)"
    activate "$rel"
    restart
    ;;
  rollback)
    cur="$(release_of current)"; prev="$(release_of previous)"
    [ -n "$prev" ] && [ -d "$PREFIX/releases/$prev" ] || die "no previous release to roll back to" 1
    switch current "$prev"
    switch previous "$cur"
    restart
    echo "current: $prev (previous: $cur)"
    ;;
  status)
    for link in current previous; do
      r="$(release_of "$link")"
      echo "$link: ${r:-none}"
      [ -z "$r" ] || sed 's/^/  /' "$PREFIX/releases/$r/RELEASE"
    done
    ;;
esac
