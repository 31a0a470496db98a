"""The whole consent story in Chromium, on a real collector (tests/portal/stack.py): keys
made in the browser and registered by the operator; the insurer asks; the owner approves a
narrowed grant signed in the page; the insurer downloads the bundle and `vnotary verify`
answers OK; the owner revokes; the insurer's next request is refused; the owner's history
shows every step, each entry and the completeness proof verified in the browser. Then: the
screenshots at 390x844 and at a desktop size hold the content, axe-core finds no serious or
critical violation, a tampered history entry is marked failing, the backup file recovers
the key in a fresh browser, and nothing was loaded from anywhere but the collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import Image
from playwright.sync_api import Browser, Route

from notary_core import bundle
from notary_core import records as r
from notary_core.grant import thumbprint
from tests.portal.browser import chromium
from tests.portal.people import PASSPHRASE, Person
from tests.portal.stack import VEHICLE, PortalStack, portal_stack
from tests.report import pixels

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots go to the test's folder; VNOTARY_PORTAL_SHOTS=docs/portal refreshes the docs'.
SHOTS = os.environ.get("VNOTARY_PORTAL_SHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Story:
    stack: PortalStack
    browser: Browser
    owner: Person
    insurer: Person
    tmp: Path
    bundle: Path
    shots: Path
    verify: subprocess.CompletedProcess[str]
    refused: str
    owner_key: str


def _utc(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns // 10**9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("portal")
    with portal_stack(tmp / "stack", shared_data) as s, chromium() as browser:
        owner = Person.open(browser.new_context(viewport=PHONE, accept_downloads=True), s.url)
        insurer = Person.open(browser.new_context(viewport=DESKTOP, accept_downloads=True), s.url)
        owner_pub = owner.make_key("My RAV4", tmp / "owner-key.pem")
        insurer_pub = insurer.make_key("Example Mutual claims", tmp / "insurer-key.pem")
        owner_id = s.register("owner", "A. Owner", owner_pub)
        s.register("insurer", "Example Mutual", insurer_pub)
        s.bind_owner(owner_id)
        owner.pin_trust(s.trust)

        # The insurer asks for speed, brake and wheel speeds over three seconds.
        first, last = s.batches[1][0], s.batches[-1][1]
        insurer.go()
        page = insurer.page
        page.fill("#ask-vehicle", VEHICLE)
        page.fill("#ask-from", _utc(first))
        page.fill("#ask-to", _utc(last))
        page.check("#ask-wheels")
        page.uncheck("#ask-gnss")
        page.fill("#ask-purpose", "claim 2026-0042: braking event")
        page.click("button:has-text('Send the request')")
        page.wait_for_selector("li.request:has-text('waiting for the owner')")

        # The owner narrows it: no wheel speeds, one second shorter, 7 days, no delegation.
        owner.go()
        o = owner.page
        o.wait_for_selector("li.request")
        o.click("button:has-text('Approve narrowed…')")
        o.uncheck("li.request input[data-scope='can0#0aa']")
        o.fill("li.request input[id^='to-']", _utc(last - 10**9))
        o.fill("li.request input[id^='days-']", "7")
        o.click("button:has-text('Sign and approve this grant')")
        o.wait_for_selector("li.grant:has-text('active')")

        # The insurer downloads the bundle and checks it offline.
        insurer.go()
        page.click("button:has-text('Download the evidence bundle')")
        page.wait_for_selector("a:has-text('Save bundle-')", timeout=120_000)
        with page.expect_download() as dl:
            page.click("a:has-text('Save bundle-')")
        path = tmp / "bundle.vnb"
        dl.value.save_as(path)
        verify = subprocess.run(
            [sys.executable, "-m", "vnotary_cli.main", "verify", str(path), "--trust",
             str(s.trust)], capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

        # The owner revokes; the insurer's next request is refused.
        owner.go()
        o.click("li.grant button:has-text('Revoke…')")
        o.click("button:has-text('Confirm: revoke')")
        o.wait_for_selector("li.grant:has-text('revoked')")
        insurer.go()
        page.click("button:has-text('Download the evidence bundle')")
        page.wait_for_selector("#alert:not(:empty)")
        refused = insurer.alert()

        owner.history("grant revoked", "attempt refused")
        shots = Path(SHOTS) if SHOTS else tmp / "shots"
        shots.mkdir(parents=True, exist_ok=True)
        yield Story(s, browser, owner, insurer, tmp, path, shots, verify, refused, owner_id)


def test_the_bundle_under_the_narrowed_grant_verifies(story: Story) -> None:
    assert story.verify.returncode == 0, story.verify.stdout + story.verify.stderr
    assert story.verify.stdout.startswith("verdict: OK")
    b = bundle.parse_bundle(story.bundle.read_bytes()).bundle
    ids = {rec.body.can_id for x in b.batches for d in x.disclosed
           if isinstance((rec := r.decode(d.record)).body, r.CanFrame)}  # fmt: skip
    assert ids == {0x0B4, 0x224}  # the owner took the wheel speeds (0x0AA) out
    first, last = story.stack.batches[1][0], story.stack.batches[-1][1]
    assert b.request.window_start_ns == first // 10**9 * 10**9
    assert b.request.window_end_ns < last  # a second shorter than asked


def test_after_the_revocation_the_insurers_next_request_is_refused(story: Story) -> None:
    assert "GRANT_REVOKED" in story.refused, story.refused


def test_the_owners_history_shows_every_step_verified(story: Story) -> None:
    o = story.owner.page
    banner = o.locator("[data-testid=history-banner]")
    assert banner.get_attribute("data-complete") == "true", banner.inner_text()
    entries = o.locator("ol.history > li")
    n = entries.count()
    assert n == 7  # installed, owner bound, request, grant, export, revoke, refused
    assert o.locator("ol.history > li[data-ok=true]").count() == n
    text = o.locator("ol.history").inner_text()
    for step in ("recorder installed", "ownership began", "access requested", "access granted",
                 "evidence downloaded", "grant revoked", "attempt refused"):  # fmt: skip
        assert step in text, step
    checks = o.locator("ul.checks > li.pass").all_text_contents()  # inside a closed <details>
    assert any("cosigned by 2 pinned witnesses" in c for c in checks), checks
    assert o.locator("ul.checks > li.fail").count() == 0


def test_screenshots_at_phone_and_desktop_size_hold_the_content(story: Story) -> None:
    o = story.owner.page
    phone = story.shots / "owner-history-390x844.png"
    o.screenshot(path=str(phone), full_page=True)
    desktop_ctx = story.browser.new_context(viewport=DESKTOP)
    d = Person.open(desktop_ctx, story.stack.url)
    d.restore_key("My RAV4", story.tmp / "owner-key.pem")
    d.pin_trust(story.stack.trust)
    d.history("grant revoked", "attempt refused")
    desktop = story.shots / "owner-desktop.png"
    d.page.screenshot(path=str(desktop), full_page=True)
    story.insurer.page.screenshot(path=str(story.shots / "insurer-desktop.png"), full_page=True)
    for shot, width in ((phone, 390), (desktop, 1280)):
        im = Image.open(shot).convert("RGB")
        assert im.width == width and im.height > 1000
        # The green "complete" banner and the green marks of verified entries are drawn.
        green = pixels.count(pixels.mask(im, (0x17, 0x62, 0x3A), tol=30))
        assert green > 2000, (shot, green)
        assert pixels.count(pixels.mask(im, (0xA4, 0x16, 0x1A), tol=20)) < 50  # nothing failing
        # Text fills the page: dark ink over most of its height.
        rows = pixels.bands(pixels.mask(im, (0x1B, 0x1F, 0x24), tol=60), 5)
        assert len(rows) > 30, (shot, len(rows))
    desktop_ctx.close()


def _axe(person: Person) -> list[dict[str, object]]:
    person.page.evaluate(AXE.read_text() + "\n;0")  # CDP evaluation: the page's CSP stays on
    result = person.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_no_serious_or_critical_accessibility_violation(story: Story) -> None:
    assert AXE.exists(), "axe-core is missing: npm ci --prefix web"
    story.owner.go()
    story.owner.page.wait_for_selector("[data-testid=history-banner][data-complete]")
    bad = _axe(story.owner) + _axe(story.insurer)
    story.owner.go("#keys")
    bad += _axe(story.owner)
    assert bad == [], json.dumps([{"id": v["id"], "help": v["help"]} for v in bad], indent=1)


def test_a_tampered_history_entry_is_shown_failing(story: Story) -> None:
    o = story.owner.page
    tampered: list[int] = []

    def lie(route: Route) -> None:
        res = route.fetch()
        page = res.json()
        for e in page["entries"]:
            if e["action"] == "EXPORT":  # rewrite what the export said, keep its proof
                leaf = bytes.fromhex(e["leaf"])
                at = leaf.rindex(b"\x0a\x83")  # the vehicle link (key 10) follows the detail
                e["leaf"] = (leaf[: at - 1] + bytes([leaf[at - 1] ^ 0x01]) + leaf[at:]).hex()
                tampered.append(e["index"])
        route.fulfill(response=res, body=json.dumps(page))

    o.route("**/access-log*", lie)
    story.owner.go()
    o.wait_for_selector("[data-testid=history-banner][data-complete]", timeout=60_000)
    o.screenshot(path=str(story.shots / "owner-history-tampered-390x844.png"), full_page=True)
    o.unroute("**/access-log*")
    assert len(tampered) == 1
    assert o.locator("[data-testid=history-banner]").get_attribute("data-complete") == "false"
    bad = o.locator("ol.history > li[data-ok=false]")
    assert bad.count() == 1
    assert bad.get_attribute("data-index") == str(tampered[0])
    problems = bad.locator(".problems").inner_text()
    assert "ENTRY_OMITTED" in problems and "NOT_IN_LOG" in problems, problems
    assert "FAILS" in bad.inner_text()
    total = o.locator("ol.history > li").count()
    assert o.locator("ol.history > li[data-ok=true]").count() == total - 1


def test_the_key_never_leaves_the_browser_and_its_backup_recovers_it(story: Story) -> None:
    pem = (story.tmp / "owner-key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # The backup opens with Python's cryptography (and so OpenSSL) for the CLI: same key.
    key = serialization.load_pem_private_key(pem, PASSPHRASE.encode())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert thumbprint(key.public_key()) == story.owner_key
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong passphrase")
    o = story.owner.page
    stored = o.evaluate("""async () => {
      const keys = await import("/portal/js/keys.js");
      const [id] = await keys.list();
      let exported = "refused";
      try { await crypto.subtle.exportKey("pkcs8", id.privateKey); exported = "EXPORTED"; } catch {}
      return {extractable: id.privateKey.extractable, usages: id.privateKey.usages, exported};
    }""")
    assert stored == {"extractable": False, "usages": ["sign"], "exported": "refused"}
    fresh = Person.open(story.browser.new_context(viewport=PHONE), story.stack.url)
    fresh.restore_key("again", story.tmp / "owner-key.pem", "not the passphrase")
    assert "BAD_KEY" in fresh.alert() or "passphrase" in fresh.alert()
    fresh.restore_key("again", story.tmp / "owner-key.pem")
    fresh.page.wait_for_selector(f"[data-testid=thumbprint]:has-text('{story.owner_key}')")
    fresh.go()
    fresh.page.wait_for_selector("li.grant")  # the recovered key signs requests the collector takes
    fresh.context.close()


def test_nothing_loads_from_anywhere_but_the_collector_and_the_csp_holds(story: Story) -> None:
    for person in (story.owner, story.insurer):
        outside = [u for u in person.requests if not u.startswith((story.stack.url, "blob:"))]
        assert outside == []
        assert [e for e in person.errors if "Content Security Policy" in e] == []
    res = story.owner.page.request.get(story.stack.url + "/portal/")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    # An inline script is refused by the browser under the served CSP.
    o = story.owner.page
    o.evaluate("""() => { const s = document.createElement('script');
      s.textContent = 'window.__inline = 1'; document.body.append(s); }""")
    assert o.evaluate("window.__inline === undefined")
