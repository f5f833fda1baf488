"""Swagger UI's Authorize button, in a real browser with no internet.

A project with `auth` (tests/specs/auth.yml) is served on SQLite with its own stub
provider; headless Chromium opens `/docs` (its assets come from the app), tries a
guarded list without a token and gets 401, pastes the provider's token into the
Authorize dialog, tries it again and gets 200. Every request to another host is
blocked and recorded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chromium import CHROMIUM, offline_page
from tests.browser.test_admin_browser import SCREENSHOTS
from tests.lifecycle import registration
from tests.lifecycle.harness import REPO_ROOT, AppServer, migrate

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SPEC = REPO_ROOT / "tests" / "specs" / "auth.yml"
GUARDED = "orders"  # its reads need a valid token (the default rule)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The project served by uvicorn, and a valid token: (its URL, the token)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    from uowgen import generate, load_spec

    root = generate(load_spec(SPEC), tmp_path_factory.mktemp("docs") / "bookshop")
    database = f"sqlite+aiosqlite:///{root / 'bookshop.db'}"
    migrate(root, database)
    with registration.provider(root) as provider:
        app = AppServer(
            target="tests.lifecycle.apps.plain:create_app",
            env={
                "APP_PACKAGE": "bookshop",
                "DATABASE_URL": database,
                "AUTH_ISSUER_URL": provider.issuer,
                "AUTH_AUDIENCE": "api-tests",
            },
            log_path=root / "server.log",
            pythonpath=[root / "src", REPO_ROOT],
        )
        app.start()
        try:
            yield app.url, provider.token
        finally:
            app.stop()


def try_the_list(page: Page, expected: str) -> None:
    """Try out GET /orders in Swagger UI; it shows the `expected` status code."""
    operation = page.locator(f"#operations-{GUARDED}-read_{GUARDED}_{GUARDED}_get")
    if not operation.get_by_role("button", name="Execute").is_visible():
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status")
    expect(status).to_have_text(expected)


def test_authorize_takes_a_pasted_token_offline(served: tuple[str, str]) -> None:
    url, token = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with offline_page(url) as browser:
        page, blocked, errors = browser.page, browser.blocked, browser.errors
        page.goto(f"{url}/docs")
        expect(page.locator(".opblock").first).to_be_visible()

        # Without a token: refused.
        try_the_list(page, "401")

        # Authorize: the bearer scheme's dialog takes the token alone.
        page.locator("button.authorize").first.click()
        dialog = page.locator(".dialog-ux .modal-ux")
        dialog.locator("input").first.fill(token)
        dialog.locator("button.modal-btn.authorize").click()
        # Accepted: the dialog now offers to forget it.
        expect(dialog.locator("button.modal-btn", has_text="Logout")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "docs-authorized.png")
        dialog.locator("button.btn-done").click()

        # With it: served.
        try_the_list(page, "200")
    assert blocked == [], f"/docs asked another host for {blocked}"
    assert errors == [], errors
