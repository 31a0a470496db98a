#!/usr/bin/env python3
"""Fleet CA for vnotary's MQTT mTLS: create the CA, sign device CSRs, issue broker certs,
revoke certificates and publish the revocation list (CRL) the broker checks.

The certificate CN is the MQTT username (mosquitto `use_identity_as_username`), and the
broker ACL confines each CN to its own topics, so this script refuses a CN that is not a
valid device id or that names the collector (or the broker's healthcheck) when signing a
device CSR.

    fleet_ca.py init        --dir DIR [--name "Fleet CA"]          # also writes an empty crl.pem
    fleet_ca.py server      --dir DIR --host localhost --host 127.0.0.1 [--days 365]
    fleet_ca.py sign-device --dir DIR --csr edge-001.csr --out edge-001.crt [--days 30]
    fleet_ca.py client      --dir DIR --cn collector [--days 365]
    fleet_ca.py revoke      --dir DIR (--cn edge-001 | --cert edge-001.crt | --serial HEX)
                            [--reason key_compromise]               # and rewrites crl.pem
    fleet_ca.py crl         --dir DIR [--days 90]                   # re-sign crl.pem (refresh)
    fleet_ca.py list        --dir DIR [--expiring-within DAYS]     # what was issued, its state

Device certificates live DEVICE_CERT_DAYS (30) days by default: a device renews by having
the CA sign its CSR again (the same key; docs/deploy.md § Device certificates). Every
certificate the CA issues is kept under DIR/issued/<serial>.crt, so a device can be revoked
by its CN. The CRL (DIR/crl.pem) is valid CRL_DAYS (90) days: past its nextUpdate the broker
refuses every client, so re-sign it (`crl`) well before.

Keys are EC P-256, written with mode 0600. Only `cryptography` is needed, so the script
runs on a plain admin machine. tests/infra/pki.py imports this file: tests and real fleets
issue certificates the same way.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import re
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEVICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # = notary_core.header
# `collector`: the collector's ACL block; `healthcheck`: the broker's own liveness probe
# (deploy/compose/compose.yaml), which may read $SYS/broker/uptime.
RESERVED_CNS = frozenset({"collector", "healthcheck"})
CA_CERT, CA_KEY = "ca.crt", "ca.key"
CRL_FILE, REVOKED_FILE, ISSUED_DIR = "crl.pem", "revoked.json", "issued"
CA_DAYS = 3650
CERT_DAYS = CA_DAYS  # the CA's life (the old name)
SERVICE_CERT_DAYS = 365  # the broker's and the collector's certificates
DEVICE_CERT_DAYS = 30  # device certificates: short, renewed by re-signing the device's CSR
CRL_DAYS = 90  # the CRL's nextUpdate: the broker refuses every client past it
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a private key readable by its owner only (created 0600, never wider)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)


def write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside and rename over: a broker (re)reading the file never sees half of it."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def init_ca(directory: Path, name: str = "vnotary Fleet CA") -> tuple[Path, Path]:
    """Create a self-signed P-256 CA in `directory`; return (cert path, key path)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    write_key(directory / CA_KEY, key)
    write_cert(directory / CA_CERT, cert)
    write_crl(directory)
    return directory / CA_CERT, directory / CA_KEY


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
    key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key")
    return cert, key


def _issue(
    directory: Path,
    cn: str,
    public_key: ec.EllipticCurvePublicKey,
    usage: x509.ObjectIdentifier,
    hosts: tuple[str, ...] = (),
    days: float = SERVICE_CERT_DAYS,
    not_before: datetime.datetime | None = None,
) -> x509.Certificate:
    """Sign a certificate valid `days` from `not_before` (default: 5 minutes ago, for clock
    skew) and keep a copy under DIR/issued/ (what `revoke --cn` and `list` read)."""
    if days <= 0:
        raise ValueError(f"a certificate's life must be positive, got {days} days")
    ca_cert, ca_key = _load_ca(directory)
    start = not_before or _now() - datetime.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    issued = directory / ISSUED_DIR
    issued.mkdir(exist_ok=True)
    write_cert(issued / f"{cert.serial_number:x}.crt", cert)
    return cert


def issue_server(
    directory: Path,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    stem: str = "server",
    days: float = SERVICE_CERT_DAYS,
) -> tuple[Path, Path]:
    """Broker certificate (serverAuth, SAN = hosts); return (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        directory, hosts[0], key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, hosts, days
    )
    write_key(directory / f"{stem}.key", key)
    write_cert(directory / f"{stem}.crt", cert)
    return directory / f"{stem}.crt", directory / f"{stem}.key"


def issue_client(
    directory: Path,
    cn: str,
    days: float | None = None,
    not_before: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """Client certificate (clientAuth) with a fresh key, CN = device id or `collector`.
    `days`: SERVICE_CERT_DAYS for a reserved CN (the collector, the healthcheck), else
    DEVICE_CERT_DAYS; `not_before` (default now) lets tests make an expired one."""
    if not DEVICE_ID_RE.fullmatch(cn):
        raise ValueError(f"CN {cn!r} is not a valid device id")
    if days is None:
        days = SERVICE_CERT_DAYS if cn in RESERVED_CNS else DEVICE_CERT_DAYS
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        directory,
        cn,
        key.public_key(),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        days=days,
        not_before=not_before,
    )
    write_key(directory / f"{cn}.key", key)
    write_cert(directory / f"{cn}.crt", cert)
    return directory / f"{cn}.crt", directory / f"{cn}.key"


def sign_device_csr(
    directory: Path, csr_pem: bytes, days: float = DEVICE_CERT_DAYS
) -> tuple[str, bytes]:
    """Check a device CSR (valid signature, CN a device id, not reserved); return (cn, cert),
    valid `days`. Renewal signs the same CSR again: a new serial, the same key."""
    csr = x509.load_pem_x509_csr(csr_pem)
    if not csr.is_signature_valid:
        raise ValueError("the CSR signature does not verify")
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if len(cns) == 1 else ""
    if not DEVICE_ID_RE.fullmatch(cn) or cn in RESERVED_CNS:
        raise ValueError(f"CSR CN {cn!r} is not an acceptable device id")
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError("device TLS keys must be EC P-256")
    cert = _issue(directory, cn, public, ExtendedKeyUsageOID.CLIENT_AUTH, days=days)
    return cn, cert.public_bytes(serialization.Encoding.PEM)


def _revoked(directory: Path) -> tuple[int, list[dict[str, str]]]:
    """DIR/revoked.json: {"crl_number": N, "revoked": [{serial, cn, date, reason}, ...]}."""
    path = directory / REVOKED_FILE
    if not path.exists():
        return 0, []
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("revoked"), list):
        raise ValueError(f"{path}: not a revocation record")
    return int(doc.get("crl_number", 0)), [dict(e) for e in doc["revoked"]]


def _save_revoked(directory: Path, number: int, entries: list[dict[str, str]]) -> None:
    doc = {"crl_number": number, "revoked": entries}
    _write_atomic(directory / REVOKED_FILE, (json.dumps(doc, indent=1) + "\n").encode())


def write_crl(directory: Path, days: float = CRL_DAYS) -> Path:
    """Sign DIR/crl.pem afresh from DIR/revoked.json (lastUpdate now, nextUpdate in `days`,
    the CRL number one more than the last); return its path."""
    if days <= 0:
        raise ValueError(f"a CRL's life must be positive, got {days} days")
    ca_cert, ca_key = _load_ca(directory)
    last, entries = _revoked(directory)
    number = last + 1
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(minutes=5))
        .next_update(now + datetime.timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry["serial"], 16))
            .revocation_date(datetime.datetime.fromisoformat(entry["date"]))
            .add_extension(x509.CRLReason(REASONS[entry["reason"]]), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(revoked)
    crl = builder.sign(ca_key, hashes.SHA256())
    _save_revoked(directory, number, entries)
    _write_atomic(directory / CRL_FILE, crl.public_bytes(serialization.Encoding.PEM))
    return directory / CRL_FILE


def issued(directory: Path) -> list[x509.Certificate]:
    """Every certificate this CA issued (DIR/issued/), oldest first."""
    folder = directory / ISSUED_DIR
    certs = [x509.load_pem_x509_certificate(p.read_bytes()) for p in folder.glob("*.crt")]
    return sorted(certs, key=lambda c: c.not_valid_before_utc)


def _cn(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else ""


def revoke(
    directory: Path,
    *,
    cn: str | None = None,
    cert_pem: bytes | None = None,
    serial: int | None = None,
    reason: str = "unspecified",
    crl_days: float = CRL_DAYS,
) -> list[int]:
    """Revoke by CN (every unexpired certificate issued to it), by certificate, or by serial;
    rewrite the CRL; return the serials newly revoked (an error when there is none)."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}: one of {', '.join(REASONS)}")
    ca_cert, _ = _load_ca(directory)
    serials: list[tuple[int, str]] = []
    if cert_pem is not None:
        cert = x509.load_pem_x509_certificate(cert_pem)
        if cert.issuer != ca_cert.subject:
            raise ValueError("that certificate was not issued by this CA")
        serials.append((cert.serial_number, _cn(cert)))
    if serial is not None:
        known = {c.serial_number: _cn(c) for c in issued(directory)}
        serials.append((serial, known.get(serial, "")))
    if cn is not None:
        now = _now()
        serials += [
            (c.serial_number, cn)
            for c in issued(directory)
            if _cn(c) == cn and c.not_valid_after_utc > now
        ]
    if ca_cert.serial_number in {s for s, _ in serials}:
        raise ValueError("refusing to revoke the CA itself")
    number, entries = _revoked(directory)
    already = {int(e["serial"], 16) for e in entries}
    new = [(s, c) for s, c in dict(serials).items() if s not in already]
    if not new:
        raise ValueError("nothing to revoke: no such unexpired certificate, or already revoked")
    date = _now().replace(microsecond=0).isoformat()
    entries += [{"serial": f"{s:x}", "cn": c, "date": date, "reason": reason} for s, c in new]
    _save_revoked(directory, number, entries)
    write_crl(directory, crl_days)
    return [s for s, _ in new]


def listing(directory: Path, expiring_within: float | None = None) -> list[str]:
    """One line per issued certificate: serial, CN, not-after, state (valid, EXPIRED,
    REVOKED); `expiring_within`: only the valid ones ending within that many days."""
    revoked = {int(e["serial"], 16) for e in _revoked(directory)[1]}
    now = _now()
    lines = []
    for c in issued(directory):
        end = c.not_valid_after_utc
        state = "REVOKED" if c.serial_number in revoked else "EXPIRED" if end <= now else "valid"
        if expiring_within is not None and (
            state != "valid" or end - now > datetime.timedelta(days=expiring_within)
        ):
            continue
        lines.append(f"{c.serial_number:x} {_cn(c)} {end.isoformat()} {state}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("init", "server", "sign-device", "client", "revoke", "crl", "list"):
        s = sub.add_parser(name)
        s.add_argument("--dir", type=Path, required=True, help="CA directory")
        if name == "init":
            s.add_argument("--name", default="vnotary Fleet CA")
        if name == "server":
            s.add_argument("--host", action="append", required=True)
        if name == "sign-device":
            s.add_argument("--csr", type=Path, required=True)
            s.add_argument("--out", type=Path, required=True)
        if name == "client":
            s.add_argument("--cn", required=True)
        if name in ("server", "client", "sign-device"):
            default = DEVICE_CERT_DAYS if name == "sign-device" else None
            s.add_argument(
                "--days",
                type=float,
                default=default,
                help=f"certificate life in days (default {DEVICE_CERT_DAYS} for a device, "
                f"{SERVICE_CERT_DAYS} for the broker and the collector)",
            )
        if name == "revoke":
            what = s.add_mutually_exclusive_group(required=True)
            what.add_argument("--cn", help="every unexpired certificate issued to this CN")
            what.add_argument("--cert", type=Path, help="this certificate (PEM)")
            what.add_argument("--serial", help="this serial number (hex, as `list` prints)")
            s.add_argument("--reason", default="unspecified", choices=sorted(REASONS))
        if name in ("revoke", "crl"):
            s.add_argument("--crl-days", type=float, default=CRL_DAYS, help="CRL life in days")
        if name == "list":
            s.add_argument("--expiring-within", type=float, metavar="DAYS")
    args = p.parse_args(argv)
    try:
        if args.cmd == "init":
            print(*init_ca(args.dir, args.name))
        elif args.cmd == "server":
            days = SERVICE_CERT_DAYS if args.days is None else args.days
            print(*issue_server(args.dir, tuple(args.host), days=days))
        elif args.cmd == "client":
            print(*issue_client(args.dir, args.cn, args.days))
        elif args.cmd == "revoke":
            serials = revoke(
                args.dir,
                cn=args.cn,
                cert_pem=args.cert.read_bytes() if args.cert else None,
                serial=int(args.serial, 16) if args.serial else None,
                reason=args.reason,
                crl_days=args.crl_days,
            )
            print(f"revoked {', '.join(f'{x:x}' for x in serials)}; CRL {args.dir / CRL_FILE}")
            print("copy it to the broker and restart it (docs/deploy.md § Device certificates)")
        elif args.cmd == "crl":
            print(write_crl(args.dir, args.crl_days))
        elif args.cmd == "list":
            for line in listing(args.dir, args.expiring_within):
                print(line)
        else:
            cn, pem = sign_device_csr(args.dir, args.csr.read_bytes(), args.days)
            args.out.write_bytes(pem)
            print(f"signed certificate for device {cn}: {args.out}")
    except (OSError, ValueError) as exc:
        print(f"fleet_ca: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
