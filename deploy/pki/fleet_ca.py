#!/usr/bin/env python3
"""Fleet CA for vnotary's MQTT mTLS: create the CA, sign device CSRs, issue broker certs.

The certificate CN is the MQTT username (mosquitto `use_identity_as_username`), and the
broker ACL confines each CN to its own topics, so this script refuses a CN that is not a
valid device id or that names the collector when signing a device CSR.

    fleet_ca.py init        --dir DIR [--name "Fleet CA"]
    fleet_ca.py server      --dir DIR --host localhost --host 127.0.0.1
    fleet_ca.py sign-device --dir DIR --csr edge-001.csr --out edge-001.crt
    fleet_ca.py client      --dir DIR --cn collector

Keys are EC P-256, written with mode 0600. Only `cryptography` is needed, so the script
runs on a plain admin machine. tests/infra/pki.py imports this file: tests and real fleets
issue certificates the same way.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import re
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEVICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # = notary_core.header
RESERVED_CNS = frozenset({"collector"})
CA_CERT, CA_KEY = "ca.crt", "ca.key"
CERT_DAYS = 3650


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
        .not_valid_after(_now() + datetime.timedelta(days=CERT_DAYS))
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
) -> x509.Certificate:
    ca_cert, ca_key = _load_ca(directory)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CERT_DAYS))
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
    return builder.sign(ca_key, hashes.SHA256())


def issue_server(
    directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"), stem: str = "server"
) -> tuple[Path, Path]:
    """Broker certificate (serverAuth, SAN = hosts); return (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(directory, hosts[0], key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, hosts)
    write_key(directory / f"{stem}.key", key)
    write_cert(directory / f"{stem}.crt", cert)
    return directory / f"{stem}.crt", directory / f"{stem}.key"


def issue_client(directory: Path, cn: str) -> tuple[Path, Path]:
    """Client certificate (clientAuth) with a fresh key, CN = device id or `collector`."""
    if not DEVICE_ID_RE.fullmatch(cn):
        raise ValueError(f"CN {cn!r} is not a valid device id")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(directory, cn, key.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH)
    write_key(directory / f"{cn}.key", key)
    write_cert(directory / f"{cn}.crt", cert)
    return directory / f"{cn}.crt", directory / f"{cn}.key"


def sign_device_csr(directory: Path, csr_pem: bytes) -> tuple[str, bytes]:
    """Check a device CSR (valid signature, CN a device id, not reserved); return (cn, cert)."""
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
    cert = _issue(directory, cn, public, ExtendedKeyUsageOID.CLIENT_AUTH)
    return cn, cert.public_bytes(serialization.Encoding.PEM)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("init", "server", "sign-device", "client"):
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
    args = p.parse_args(argv)
    try:
        if args.cmd == "init":
            print(*init_ca(args.dir, args.name))
        elif args.cmd == "server":
            print(*issue_server(args.dir, tuple(args.host)))
        elif args.cmd == "client":
            print(*issue_client(args.dir, args.cn))
        else:
            cn, pem = sign_device_csr(args.dir, args.csr.read_bytes())
            args.out.write_bytes(pem)
            print(f"signed certificate for device {cn}: {args.out}")
    except (OSError, ValueError) as exc:
        print(f"fleet_ca: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
