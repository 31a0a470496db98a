"""A key backup written outside the browser (the demo's, by Python's cryptography: encrypted
PKCS#8, PBES2) is recovered by the portal into a non-extractable key with the same id; a
wrong passphrase is refused with a reason."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.grant import thumbprint
from tests.portal.browser import ORIGIN, chromium, serve_static
from tests.portal.people import Person
from vnotary_cli.demo.access import key_backup


def test_a_backup_made_by_the_demo_is_recovered_in_the_browser(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    key_backup(key, tmp_path / "owner-key.pem", "vnotary demo")
    with chromium() as browser:
        p = Person.open(browser.new_context(), ORIGIN)
        serve_static(p.page)
        p.restore_key("demo owner", tmp_path / "owner-key.pem", "not it at all")
        assert "BAD_KEY" in p.alert() or "passphrase" in p.alert(), p.alert()
        p.restore_key("demo owner", tmp_path / "owner-key.pem", "vnotary demo")
        shown = p.page.locator("[data-testid=thumbprint]").all_inner_texts()
        assert shown == [thumbprint(key.public_key())]
        extractable = p.page.evaluate("""async () => {
          const [id] = await (await import("/portal/js/keys.js")).list();
          return id.privateKey.extractable; }""")
        assert extractable is False
