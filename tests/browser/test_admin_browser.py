"""A real browser on the generated admin and API docs, with no internet.

Headless Chromium (Debian's `chromium` package, driven by playwright; never a
downloaded browser) logs in to a project generated with `admin: true`, opens a
list, opens an edit page whose selects load related rows, changes a field, saves
and sees the change, picks rows in a many field's multi-select and saves them,
meets the stale-version refusal, logs out and is refused;
then it loads `/docs` and finds the operations listed, which only works when the
docs' assets come from the app. Every request to another host is blocked and
recorded. Screenshots go to build/screenshots/ (the path is printed).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect

from tests.browser.chromium import CHROMIUM, offline_page
from tests.lifecycle.harness import REPO_ROOT, AppServer, migrate

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PASSWORD = "a password for the browser"
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
# starlette-admin's theme imports this font stylesheet; offline the page keeps a
# system font. Nothing else may be fetched from another host.
ADMIN_FONT = "https://rsms.me/inter/inter.css"


def with_topics(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with a model Topic, and vocabulary sets linked to topics (a many
    field): the multi-select the browser picks rows in. Its own names, so it stays
    apart from whatever many fields the example has."""
    topic = {
        "name": "Topic",
        "fields": [{"name": "name", "type": "str", "unique": True}],
    }
    models = [
        {
            **model,
            "fields": [
                *model["fields"],
                {"name": "topics", "type": "many", "to": "Topic"},
            ],
        }
        if model["name"] == "VocabularySet"
        else model
        for model in spec["models"]
    ]
    return {**spec, "models": [*models, topic]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """examples/fastbot.yml with `admin: true` and topics, on SQLite, served by
    uvicorn."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(./scripts/test does as root)"
        )
    from uowgen import generate, load_spec, parse_spec

    spec = load_spec(REPO_ROOT / "examples" / "fastbot.yml")
    root = tmp_path_factory.mktemp("browser") / "fastbot"
    generate(parse_spec(with_topics({**spec.to_data(), "admin": True})), root)
    database = f"sqlite+aiosqlite:///{root / 'fastbot.db'}"
    migrate(root, database)
    app = AppServer(
        target="tests.lifecycle.apps.admin:create_app",
        env={
            "DATABASE_URL": database,
            "ADMIN_PASSWORD_HASH": PasswordHasher().hash(PASSWORD),
            "ADMIN_SECRET_KEY": "browser-test-secret-0123456789-abcdefghij",
        },
        log_path=root / "server.log",
        pythonpath=[root / "src", REPO_ROOT],
    )
    app.start()
    yield app
    app.stop()


def seed(server: AppServer) -> dict[str, int]:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        kind = api.post("/user-types", json={"code": "student", "name": "Student"})
        user = api.post(
            "/users",
            json={
                "email": "ada@example.com",
                "first_name": "Ada",
                "type_id": kind.json()["id"],
            },
        ).json()
        pair = api.post(
            "/language-pairs",
            json={"source": "en", "target": "de", "user_id": user["id"]},
        ).json()
        sets = [
            api.post(
                "/vocabulary-sets",
                json={
                    "title": title,
                    "owner_id": user["id"],
                    "language_pair_id": pair["id"],
                    "words": {"hello": "hallo", "thanks": "danke"},
                },
            ).json()
            for title in ("Greetings", "Travel", "Food")
        ]
        topics = {
            name: api.post("/topics", json={"name": name}).json()["id"]
            for name in ("grammar", "holidays", "cooking")
        }
    return {"user": user["id"], "set": sets[-1]["id"], **topics}


def test_a_browser_logs_in_edits_related_rows_logs_out_and_reads_the_docs(
    server: AppServer,
) -> None:
    ids = seed(server)
    shots = SCREENSHOTS
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    with offline_page(server.url) as browser:
        page, blocked, errors = browser.page, browser.blocked, browser.errors

        # Closed until logged in; wrong credentials are refused.
        page.goto(f"{server.url}/admin/vocabulary-sets/list")
        expect(page.get_by_text("Login to your account")).to_be_visible()
        page.fill("#username", "admin")
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")

        # Back at the list it asked for: the rows are there.
        expect(page).to_have_url(f"{server.url}/admin/vocabulary-sets/list")
        expect(page.get_by_role("cell", name="Greetings", exact=True)).to_be_visible()
        page.screenshot(path=shots / "list.png", full_page=True)

        # The edit page: its selects load the related rows by their labels.
        page.goto(f"{server.url}/admin/vocabulary-sets/edit?pk={ids['set']}")
        owner = page.locator("#select2-owner-container")
        expect(owner).to_have_text("ada@example.com")
        expect(page.locator("#select2-language_pair-container")).to_have_text("en")
        expect(page.locator("#version")).to_have_value("1")
        page.fill("#title", "Food and drink")
        page.screenshot(path=shots / "edit.png", full_page=True)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(f"{server.url}/admin/vocabulary-sets/list")
        expect(
            page.get_by_role("cell", name="Food and drink", exact=True)
        ).to_be_visible()
        stored = httpx.get(f"{server.url}/vocabulary-sets/{ids['set']}").json()
        assert (stored["title"], stored["version"]) == ("Food and drink", 2)

        # The many field's multi-select: pick two topics (each found by typing a
        # part of its name), save, and the set links to both.
        page.goto(f"{server.url}/admin/vocabulary-sets/edit?pk={ids['set']}")
        picker = page.locator("#topics + .select2")
        expect(picker.locator(".select2-selection__choice")).to_have_count(0)
        for name in ("cook", "gram"):
            picker.click()
            page.locator(".select2-search__field:focus").fill(name)
            page.locator(".select2-results__option", has_text=name).click()
        expect(picker.locator(".select2-selection__choice")).to_have_count(2)
        page.screenshot(path=shots / "multi-select.png", full_page=True)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(f"{server.url}/admin/vocabulary-sets/list")
        stored = httpx.get(f"{server.url}/vocabulary-sets/{ids['set']}").json()
        assert [topic["id"] for topic in stored["topics"]] == sorted(
            [ids["cooking"], ids["grammar"]]
        )
        assert stored["version"] == 3
        # The list shows them; the edit page opens with them picked, by name.
        row = page.locator("tr", has_text="Food and drink")
        expect(row.get_by_role("link", name="cooking")).to_be_visible()
        page.goto(f"{server.url}/admin/vocabulary-sets/edit?pk={ids['set']}")
        expect(picker.locator(".select2-selection__choice")).to_have_count(2)
        expect(picker).to_contain_text("grammar")
        expect(picker).to_contain_text("cooking")

        # The user's edit page lists the vocabulary sets that refer to them.
        page.goto(f"{server.url}/admin/users/edit?pk={ids['user']}")
        expect(page.get_by_role("link", name="Food and drink")).to_be_visible()

        # A form opened before someone else's save is refused, not applied.
        page.goto(f"{server.url}/admin/vocabulary-sets/edit?pk={ids['set']}")
        expect(owner).to_have_text("ada@example.com")  # the select is filled
        httpx.patch(
            f"{server.url}/vocabulary-sets/{ids['set']}",
            json={"version": 3, "title": "Changed meanwhile"},
        ).raise_for_status()
        page.fill("#title", "Stale edit")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".invalid-feedback").first).to_contain_text("reload")
        expect(owner).to_have_text("ada@example.com")
        page.screenshot(path=shots / "stale.png", full_page=True)
        stored = httpx.get(f"{server.url}/vocabulary-sets/{ids['set']}").json()
        assert stored["title"] == "Changed meanwhile"

        # Log out through the menu; the admin is closed again.
        page.goto(f"{server.url}/admin/")
        page.locator("[data-bs-toggle=dropdown]").last.click()
        page.get_by_role("button", name="Logout").last.click()
        page.goto(f"{server.url}/admin/vocabulary-sets/list")
        expect(page.get_by_text("Login to your account")).to_be_visible()

        admin_blocked = sorted(set(blocked))
        blocked.clear()

        # The API docs, served from the app's own assets.
        page.goto(f"{server.url}/docs")
        expect(page.locator(".opblock").first).to_be_visible()
        assert page.locator(".opblock").count() >= 20
        expect(
            page.get_by_text("/vocabulary-sets/{vocabulary_set_id}").first
        ).to_be_visible()
        page.screenshot(path=shots / "docs.png")
    sys.stdout.write(f"\nscreenshots: {shots}\n")

    assert blocked == [], f"/docs asked another host for {blocked}"
    assert set(admin_blocked) <= {ADMIN_FONT}, admin_blocked
    assert errors == [], errors
    assert sorted(path.name for path in shots.iterdir()) == [
        "docs.png",
        "edit.png",
        "list.png",
        "multi-select.png",
        "stale.png",
    ]
