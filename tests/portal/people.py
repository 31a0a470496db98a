"""The portal's people, each in their own browser context (own IndexedDB, own key): what a
person does on the page, as Playwright steps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

PASSPHRASE = "correct horse battery staple"


@dataclass
class Person:
    context: BrowserContext
    page: Page
    base: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    errors: list[str] = field(default_factory=list)  # console errors, page errors

    @classmethod
    def open(cls, context: BrowserContext, base: str) -> Person:
        page = context.new_page()
        p = cls(context, page, base)
        page.on("request", lambda r: p.requests.append(r.url))
        page.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: p.errors.append(str(e)))
        return p

    def go(self, hash_: str = "#home") -> None:
        """Open a view afresh (a same-URL navigation would not reload the page)."""
        url = f"{self.base}/portal/{hash_}"
        if self.page.url == url:
            self.page.reload()
        else:
            self.page.goto(url)
        self.page.wait_for_selector("main h2")

    def make_key(self, label: str, backup: Path) -> str:
        """A new key; its backup file saved to `backup`; returns the raw public key."""
        self.go("#keys")
        self.page.fill("#new-label", label)
        self.page.fill("#new-pass", PASSPHRASE)
        self.page.fill("#new-pass2", PASSPHRASE)
        self.page.click("button:has-text('Make the key')")
        with self.page.expect_download() as dl:
            self.page.click("a:has-text('Save the backup file')")
        dl.value.save_as(backup)
        return self.page.locator("#created code").inner_text()

    def restore_key(self, label: str, backup: Path, passphrase: str = PASSPHRASE) -> None:
        self.go("#keys")
        self.page.set_input_files("#restore-file", str(backup))
        self.page.fill("#restore-pass", passphrase)
        self.page.fill("#restore-label", label)
        self.page.click("button:has-text('Recover the key')")
        self.page.wait_for_selector("#status:has-text('Key recovered'), #alert:not(:empty)")

    def pin_trust(self, trust: Path) -> None:
        self.go("#keys")
        self.page.set_input_files("#trust-file", str(trust))
        self.page.click("button:has-text('Pin this trust file')")
        self.page.wait_for_selector("[data-testid=trust-state]:has-text('Pinned from')")

    def history(self, *steps: str, timeout_s: float = 60) -> None:
        """Open the owner's view until the checked history shows every step: an entry is
        listed once a checkpoint covering it is cosigned by the witnesses (seconds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.go()
            self.page.wait_for_selector(
                "[data-testid=history-banner][data-complete]", timeout=60_000
            )
            text = self.page.locator("ol.history").inner_text()
            if all(s in text for s in steps) or time.monotonic() > deadline:
                return
            self.page.wait_for_timeout(1000)

    def alert(self) -> str:
        return self.page.locator("#alert").inner_text()
