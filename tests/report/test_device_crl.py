"""Device certificates with a short life and a revocation list, against the real mosquitto.

deploy/pki/fleet_ca.py gives device certificates DEVICE_CERT_DAYS (30) days, keeps every
certificate it issues, revokes by CN, certificate or serial, and signs crl.pem;
deploy/mosquitto/render.py --crlfile puts that CRL on the listener. A revoked or an expired
certificate is refused at the TLS handshake; the others connect. mosquitto reads the CRL when
it starts and again on SIGHUP (a reload keeps the connections already open: a restart is what
cuts a revoked device off at once). Past the CRL's nextUpdate the broker refuses everyone.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from tests.infra.mqtt_broker import (
    MosquittoBroker,
    close_client,
    connect_client,
    tls_probe,
)
from tests.infra.pki import REPO, CertPair, FleetCA, fleet_ca

FLEET_CA = REPO / "deploy" / "pki" / "fleet_ca.py"


def _broker(tmp_path: Path) -> tuple[MosquittoBroker, FleetCA]:
    ca = FleetCA.create(tmp_path / "pki")
    return MosquittoBroker(tmp_path / "broker", ca, crlfile=ca.crl), ca


def _refused(broker: MosquittoBroker, creds: str | CertPair) -> str:
    """The client's view of the refusal: the TLS alert the broker sent (its log only says
    "certificate verify failed")."""
    pair = broker.credentials(creds) if isinstance(creds, str) else creds
    with pytest.raises(ConnectionRefusedError) as err:
        tls_probe(broker, pair)
    return str(err.value)


def _connects(broker: MosquittoBroker, cn: str) -> None:
    close_client(connect_client(broker, cn))


def test_device_certificates_are_short_lived_and_services_are_not(tmp_path: Path) -> None:
    ca = FleetCA.create(tmp_path / "pki")
    day = datetime.timedelta(days=1)

    def life(pair_cert: Path) -> datetime.timedelta:
        c = x509.load_pem_x509_certificate(pair_cert.read_bytes())
        return c.not_valid_after_utc - c.not_valid_before_utc

    assert life(ca.client("edge-001").cert) == fleet_ca.DEVICE_CERT_DAYS * day == 30 * day
    assert life(ca.client("collector").cert) == fleet_ca.SERVICE_CERT_DAYS * day
    assert life(ca.server().cert) == fleet_ca.SERVICE_CERT_DAYS * day
    assert life(ca.client("edge-002", days=7).cert) == 7 * day
    # sign-device (the CLI a fleet uses): 30 days by default, --days to change it; signing
    # the same CSR again is the renewal (same key, new serial).
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "veh-0001")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    (tmp_path / "tls.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    certs = []
    for extra in ([], ["--days", "14"]):
        out = tmp_path / f"tls{len(certs)}.crt"
        args = ["sign-device", "--dir", str(ca.directory), "--csr", str(tmp_path / "tls.csr")]
        assert fleet_ca.main([*args, "--out", str(out), *extra]) == 0
        certs.append(x509.load_pem_x509_certificate(out.read_bytes()))
    assert [c.not_valid_after_utc - c.not_valid_before_utc for c in certs] == [30 * day, 14 * day]
    assert certs[0].public_key() == certs[1].public_key() == key.public_key()
    assert certs[0].serial_number != certs[1].serial_number
    # The broker's liveness probe has a reserved CN: no device CSR may take it.
    hc = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "healthcheck")])
    )
    with pytest.raises(ValueError, match="not an acceptable device id"):
        ca.sign_device_csr(hc.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


def test_revoke_by_cn_lists_every_unexpired_certificate_of_the_device(tmp_path: Path) -> None:
    ca = FleetCA.create(tmp_path / "pki")
    serials = set()
    for cn in ("edge-001", "edge-001", "edge-002"):  # a renewal: the file is replaced
        pem = ca.client(cn).cert.read_bytes()
        serials.add(x509.load_pem_x509_certificate(pem).serial_number)
    d = str(ca.directory)
    crl0 = x509.load_pem_x509_crl(ca.crl.read_bytes())
    assert list(crl0) == [] and crl0.next_update_utc is not None
    assert fleet_ca.main(["revoke", "--dir", d, "--cn", "edge-001"]) == 0
    crl = x509.load_pem_x509_crl(ca.crl.read_bytes())
    revoked = {r.serial_number for r in crl}
    assert len(revoked) == 2 and revoked < serials
    assert crl.is_signature_valid(
        x509.load_pem_x509_certificate(ca.ca_cert.read_bytes()).public_key()  # type: ignore[arg-type]
    )
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > crl0.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    # Revoking again is an error (nothing new); `crl` re-signs with a later nextUpdate.
    assert fleet_ca.main(["revoke", "--dir", d, "--cn", "edge-001"]) == 1
    assert fleet_ca.main(["crl", "--dir", d, "--crl-days", "120"]) == 0
    again = x509.load_pem_x509_crl(ca.crl.read_bytes())
    assert {r.serial_number for r in again} == revoked
    assert again.next_update_utc is not None and crl.next_update_utc is not None
    assert again.next_update_utc > crl.next_update_utc
    listing = subprocess.run([sys.executable, str(FLEET_CA), "list", "--dir", d],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    states = sorted(line.split()[1] + " " + line.split()[3] for line in listing.splitlines())
    assert states == ["edge-001 REVOKED", "edge-001 REVOKED", "edge-002 valid"]


def test_revoked_and_expired_certificates_are_refused_at_the_handshake(tmp_path: Path) -> None:
    broker, ca = _broker(tmp_path)
    broker.credentials("edge-001")
    broker.credentials("edge-002")
    ca.revoke(broker.credentials("edge-001"))
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    expired = ca.client("edge-003", days=1, not_before=past)
    with broker:
        assert "revoked" in _refused(broker, "edge-001")
        assert "expired" in _refused(broker, expired)
        _connects(broker, "edge-002")
        _connects(broker, "collector")
        assert "certificate verify failed" in broker.log_text()


def test_a_revocation_reaches_a_running_broker_on_sighup_or_restart(tmp_path: Path) -> None:
    broker, ca = _broker(tmp_path)
    with broker:
        _connects(broker, "edge-001")
        open_session = connect_client(broker, "edge-002")
        ca.revoke(broker.credentials("edge-001"))
        ca.revoke(broker.credentials("edge-002"))
        # Not yet: the running broker holds the CRL it read at start.
        _connects(broker, "edge-001")
        broker.reload()
        _wait_refused(broker, "edge-001")
        # A reload re-reads the CRL for new handshakes only: the revoked device's open
        # connection goes on until the broker restarts.
        assert open_session.is_connected()
        close_client(open_session)
        broker.stop()
        broker.start()
        _refused(broker, "edge-001")
        _refused(broker, "edge-002")
        _connects(broker, "edge-003")


def _wait_refused(broker: MosquittoBroker, cn: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            tls_probe(broker, broker.credentials(cn))
        except ConnectionRefusedError:
            return
        assert time.monotonic() < deadline, "SIGHUP did not bring the new CRL in"
        time.sleep(0.1)


def test_a_crl_past_its_next_update_refuses_every_client(tmp_path: Path) -> None:
    broker, ca = _broker(tmp_path)
    fleet_ca.write_crl(ca.directory, days=1 / 86400)  # nextUpdate one second from now
    crl = x509.load_pem_x509_crl(ca.crl.read_bytes())
    assert crl.next_update_utc is not None
    while datetime.datetime.now(datetime.UTC) <= crl.next_update_utc:
        time.sleep(0.1)
    with broker:
        # The collector's certificate is good for a year: the stale CRL is what fails (TLS
        # has no alert for it, OpenSSL sends "certificate expired"), and for every client.
        assert "certificate expired" in _refused(broker, "collector")
        assert "certificate expired" in _refused(broker, "edge-001")
        # Re-signing the CRL (`fleet_ca.py crl`) and a SIGHUP let clients in again.
        fleet_ca.write_crl(ca.directory)
        broker.reload()
        deadline = time.monotonic() + 10
        while True:
            try:
                _connects(broker, "collector")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
