"""Debian's Chromium, headless, on a machine with no internet: one page of one app.

Never a downloaded browser (playwright drives /usr/bin/chromium). Every request to
another host than the app is blocked and recorded, and so is every error the page
raises, for the test to assert on.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# A machine with no internet: no QUIC, no background fetches, a fresh profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class OfflinePage:
    """The page, and what it tried that the test should know of."""

    page: Page
    blocked: list[str] = field(default_factory=list)  # URLs of other hosts
    errors: list[str] = field(default_factory=list)  # the page's own errors


@contextmanager
def offline_page(app_url: str) -> Iterator[OfflinePage]:
    """A page in a fresh profile that may only reach `app_url`."""
    profile = tempfile.mkdtemp(prefix="uowgen-chromium-")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1280, "height": 1000},
            )
            page = browser.new_page()
            page.set_default_timeout(15_000)
            seen = OfflinePage(page)

            def only_the_app(route: Route) -> None:
                url = route.request.url
                if url.startswith(app_url):
                    route.continue_()
                else:
                    seen.blocked.append(url)
                    route.abort()

            page.route("**/*", only_the_app)
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            try:
                yield seen
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
