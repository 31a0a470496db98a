"""A fleet CA for tests, issuing certificates exactly as deploy/pki/fleet_ca.py does for fleets.

API (all keys EC P-256, PEM files, key files mode 0600):

    ca = FleetCA.create(tmp_path / "pki")          # "Test Fleet CA"
    ca.ca_cert                                     # Path of the CA certificate
    server = ca.server()                           # CertPair, SAN localhost + 127.0.0.1, serverAuth
    dev = ca.client("edge-001")                    # CertPair, CN = device id, clientAuth (30 days)
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    old = ca.client("edge-002", days=1, not_before=past)  # expired: the broker refuses it
    ca.revoke(dev)                                 # into the CRL, ca.crl (crl.pem) re-signed
    col = ca.client("collector")                   # CertPair for the collector
    pem = ca.sign_device_csr(csr_pem)              # what `fleet_ca.py sign-device` does
    evil = evil_ca(tmp_path / "evil")              # an untrusted CA ("Evil CA") for refusal tests
    evil.client("edge-001")                        # same CN, wrong issuer: the broker refuses it

A `CertPair` has `.cert`, `.key` and `.ca` (the issuing CA's certificate), ready for
`ssl`/paho `tls_set(ca_certs=pair.ca, certfile=pair.cert, keyfile=pair.key)`.
"""

from __future__ import annotations

import datetime
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _load_fleet_ca() -> ModuleType:
    """Import deploy/pki/fleet_ca.py by path: one implementation for deploy and tests."""
    path = REPO / "deploy" / "pki" / "fleet_ca.py"
    spec = importlib.util.spec_from_file_location("vnotary_deploy_fleet_ca", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fleet_ca = _load_fleet_ca()


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class FleetCA:
    directory: Path

    @classmethod
    def create(cls, directory: Path, name: str = "Test Fleet CA") -> FleetCA:
        fleet_ca.init_ca(directory, name)
        return cls(directory)

    @property
    def ca_cert(self) -> Path:
        return self.directory / fleet_ca.CA_CERT

    def server(self, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> CertPair:
        cert, key = fleet_ca.issue_server(self.directory, hosts)
        return CertPair(cert, key, self.ca_cert)

    def client(
        self, cn: str, days: float | None = None, not_before: datetime.datetime | None = None
    ) -> CertPair:
        cert, key = fleet_ca.issue_client(self.directory, cn, days, not_before)
        return CertPair(cert, key, self.ca_cert)

    @property
    def crl(self) -> Path:
        """The CA's revocation list (crl.pem), written by `create` and every `revoke`."""
        return self.directory / fleet_ca.CRL_FILE

    def revoke(self, pair: CertPair, reason: str = "key_compromise") -> None:
        """What `fleet_ca.py revoke --cert` does: list it in the CRL and re-sign the CRL."""
        fleet_ca.revoke(self.directory, cert_pem=pair.cert.read_bytes(), reason=reason)

    def sign_device_csr(self, csr_pem: bytes) -> bytes:
        _cn, pem = fleet_ca.sign_device_csr(self.directory, csr_pem)
        return bytes(pem)


def evil_ca(directory: Path) -> FleetCA:
    """A CA the broker does not trust: its certificates must be refused."""
    return FleetCA.create(directory, "Evil CA")
