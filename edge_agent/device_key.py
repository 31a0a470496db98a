"""The device's keys on disk: the Ed25519 signing key and the mTLS key + CSR (provisioning).

A private key file must be readable by its owner only: a key others can read may already
be copied, and every batch it signs would be worthless as evidence. So we create keys with
mode 0600 and refuse to load one with any group or other permission bit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from notary_core import cose
from notary_core.errors import BadData, Reason


def _write_private(path: Path, pem: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadData(Reason.BAD_KEY, f"{path} exists: refusing to overwrite a key") from None
    except OSError as exc:
        raise BadData(Reason.BAD_KEY, f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())


def _pkcs8(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def check_private_file(path: Path) -> bytes:
    """Read a private key file, refusing one that is missing, unreadable or group/other-readable."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BadData(Reason.BAD_KEY, f"key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadData(
            Reason.BAD_KEY,
            f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: others can read it; "
            f"run `chmod 600 {path}` (and consider the key compromised if it was copied)",
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadData(Reason.BAD_KEY, f"key file {path} is unreadable: {exc.strerror}") from None


def load_signer(path: Path) -> cose.Signer:
    data = check_private_file(path)
    try:
        key = serialization.load_pem_private_key(data, None)
    except (ValueError, TypeError) as exc:
        raise BadData(Reason.BAD_KEY, f"key file {path} is not a private key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, f"{path}: only Ed25519 and P-256 keys")
    return cose.Signer.from_key(key)


def load_public(path: Path) -> cose.PublicKey:
    """A pinned public key (PEM SubjectPublicKeyInfo), e.g. the collector's."""
    try:
        data = path.read_bytes()
        key = serialization.load_pem_public_key(data)
    except OSError as exc:
        raise BadData(Reason.BAD_KEY, f"public key {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BadData(Reason.BAD_KEY, f"{path} is not a PEM public key: {exc}") from None
    return cose.PublicKey.from_spki(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def public_pem(public: cose.PublicKey) -> str:
    return (
        public.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
        .strip()
    )


def provision(directory: Path, device_id: str) -> tuple[Path, Path, Path, cose.PublicKey]:
    """Create device.key (Ed25519, signs batches), tls.key (P-256) and tls.csr (CN = device id).

    Returns (device key, TLS key, CSR, device public key). Never overwrites a key."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    device_key, tls_key, csr_path = (
        directory / "device.key",
        directory / "tls.key",
        directory / "tls.csr",
    )
    signing = ed25519.Ed25519PrivateKey.generate()
    tls = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .sign(tls, hashes.SHA256())
    )
    _write_private(device_key, _pkcs8(signing))
    _write_private(tls_key, _pkcs8(tls))
    csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return device_key, tls_key, csr_path, cose.PublicKey.from_key(signing.public_key())
