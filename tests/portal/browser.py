"""Playwright (Python) driving Debian's Chromium for the portal tests: no browser download.

`chromium()` launches /usr/bin/chromium headless with the flags that work on a closed
network (tests/report/chromium.py); the tests fail, never skip, without it. `serve_static`
answers a page's requests for the portal's files from the same set the collector serves
(collector.api.portal.load_files, with its headers), for the tests that need no collector.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, Route, sync_playwright

from collector.api.portal import HEADERS, load_files
from tests.report.chromium import CHROMIUM, FLAGS, require_chromium

ORIGIN = "http://localhost:9"  # a secure context (localhost) that no server answers on


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    args = [f for f in FLAGS if f not in ("--headless", "--hide-scrollbars")]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def serve_static(page: Page) -> None:
    """Fulfil ORIGIN/portal/* from the portal's files; anything else is refused."""
    files = load_files()

    def handle(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN + "/portal/").split("?")[0] or "index.html"
        found = files.get(path)
        if found is None:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, body=found[0], headers={**HEADERS, "Content-Type": found[1]})

    page.route(ORIGIN + "/**", handle)
