"""Naming rules: every generated name is derived here, so pin them with tables."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uowgen._schema import naming as _naming

SNAKE_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")

# PascalCase names: capitalised words, optionally an acronym or digits inside.
pascal_words = st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True)
pascal_names = st.lists(pascal_words, min_size=1, max_size=4).map("".join)
ordinary_words = st.from_regex(
    r"[bcdfghklmnprstvw][aeiou][bcdfghklmnprtv]", fullmatch=True
).filter(
    lambda word: (
        word not in _naming._IRREGULAR_PLURALS and word not in _naming._UNCOUNTABLE
    )
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("User", "user"),
        ("UserType", "user_type"),
        ("HTTPLog", "http_log"),
        ("OrderLine", "order_line"),
        ("IOError", "io_error"),
        ("getHTTPResponse", "get_http_response"),
        ("User2Factor", "user2_factor"),
        ("ABC", "abc"),
        ("A", "a"),
    ],
)
def test_snake_splits_camel_case_and_acronyms_into_words(
    name: str, expected: str
) -> None:
    assert _naming.snake(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("User", "users"),
        ("Category", "categories"),
        ("HTTPLog", "http_logs"),
        ("Address", "addresses"),
        ("Person", "people"),
        ("Child", "children"),
        ("Box", "boxes"),
        ("Key", "keys"),
        ("Day", "days"),
        ("Church", "churches"),
        ("Wish", "wishes"),
        ("Quiz", "quizzes"),
        ("Knife", "knives"),
        ("Index", "indices"),
        ("Analysis", "analyses"),
        ("OrderLine", "order_lines"),
        ("UserCategory", "user_categories"),
        ("SalesPerson", "sales_people"),
        ("Series", "series"),
        ("Sheep", "sheep"),
    ],
)
def test_plural_snake_pluralizes_the_last_word(name: str, expected: str) -> None:
    assert _naming.plural_snake(name) == expected


# Common English nouns and their plurals (Merriam-Webster's first form, but where
# noted). Where a dictionary gives two, inflect's modern choice is kept.
NOUNS = {
    # -s
    "user": "users", "account": "accounts", "order": "orders", "product": "products",
    "item": "items", "customer": "customers", "invoice": "invoices",
    "payment": "payments", "comment": "comments", "post": "posts",
    "article": "articles", "book": "books", "author": "authors", "tag": "tags",
    "project": "projects", "task": "tasks", "ticket": "tickets", "event": "events",
    "message": "messages", "team": "teams", "member": "members", "role": "roles",
    "permission": "permissions", "file": "files", "image": "images",
    "review": "reviews", "rating": "ratings", "note": "notes", "course": "courses",
    "lesson": "lessons", "student": "students", "room": "rooms", "booking": "bookings",
    "vehicle": "vehicles", "device": "devices", "sensor": "sensors", "song": "songs",
    "album": "albums", "game": "games", "player": "players", "level": "levels",
    "recipe": "recipes", "plan": "plans", "subscription": "subscriptions",
    "coupon": "coupons", "store": "stores", "cart": "carts", "shipment": "shipments",
    "route": "routes", "question": "questions", "answer": "answers",
    "session": "sessions", "token": "tokens", "page": "pages", "record": "records",
    "job": "jobs", "log": "logs", "metric": "metrics", "alert": "alerts",
    "report": "reports", "setting": "settings", "profile": "profiles",
    "license": "licenses", "release": "releases", "issue": "issues",
    "horse": "horses", "house": "houses", "phone": "phones", "cafe": "cafes",
    "bookmark": "bookmarks", "webhook": "webhooks", "stomach": "stomachs",
    "epoch": "epochs", "monarch": "monarchs", "tech": "techs",
    # -y
    "category": "categories", "company": "companies", "city": "cities",
    "country": "countries", "story": "stories", "policy": "policies",
    "reply": "replies", "query": "queries", "party": "parties",
    "library": "libraries", "entry": "entries", "delivery": "deliveries",
    "currency": "currencies", "property": "properties", "survey": "surveys",
    "key": "keys", "day": "days", "journey": "journeys", "toy": "toys",
    "holiday": "holidays",
    # -es after a sibilant
    "address": "addresses", "box": "boxes", "tax": "taxes", "church": "churches",
    "wish": "wishes", "match": "matches", "batch": "batches", "branch": "branches",
    "dish": "dishes", "brush": "brushes", "bus": "buses", "class": "classes",
    "process": "processes", "business": "businesses", "gas": "gases",
    "status": "statuses", "campus": "campuses", "bonus": "bonuses",
    "virus": "viruses", "lens": "lenses", "alias": "aliases", "bias": "biases",
    "census": "censuses", "fox": "foxes", "inbox": "inboxes", "prefix": "prefixes",
    "quiz": "quizzes", "fez": "fezzes", "waltz": "waltzes", "quartz": "quartzes",
    "hash": "hashes", "cache": "caches",
    # -f and -fe
    "shelf": "shelves", "leaf": "leaves", "half": "halves", "wolf": "wolves",
    "knife": "knives", "life": "lives", "wife": "wives", "calf": "calves",
    "loaf": "loaves", "thief": "thieves", "elf": "elves", "self": "selves",
    "scarf": "scarves", "wharf": "wharves", "sheaf": "sheaves", "roof": "roofs",
    "chief": "chiefs", "belief": "beliefs", "proof": "proofs", "cliff": "cliffs",
    "chef": "chefs", "safe": "safes", "giraffe": "giraffes", "gulf": "gulfs",
    "reef": "reefs", "staff": "staffs",
    "hoof": "hoofs",  # also hooves
    # -o
    "hero": "heroes", "potato": "potatoes", "tomato": "tomatoes", "echo": "echoes",
    "veto": "vetoes", "torpedo": "torpedoes", "volcano": "volcanoes",
    "photo": "photos", "piano": "pianos", "video": "videos", "radio": "radios",
    "studio": "studios", "zoo": "zoos", "memo": "memos", "logo": "logos",
    "demo": "demos", "todo": "todos", "zero": "zeros", "kilo": "kilos",
    "auto": "autos", "casino": "casinos", "portfolio": "portfolios",
    "scenario": "scenarios", "repo": "repos", "typo": "typos", "promo": "promos",
    "combo": "combos", "disco": "discos", "expo": "expos", "ego": "egos",
    "intro": "intros", "condo": "condos", "taco": "tacos", "burrito": "burritos",
    "tango": "tangos", "avocado": "avocados",
    # irregular
    "ox": "oxen", "child": "children", "person": "people", "man": "men",
    "woman": "women", "mouse": "mice", "goose": "geese", "foot": "feet",
    "tooth": "teeth", "die": "dice", "louse": "lice", "salesperson": "salespeople",
    "chairman": "chairmen", "fireman": "firemen",
    # from Latin and Greek
    "analysis": "analyses", "thesis": "theses", "crisis": "crises", "axis": "axes",
    "basis": "bases", "diagnosis": "diagnoses", "hypothesis": "hypotheses",
    "synopsis": "synopses", "criterion": "criteria", "phenomenon": "phenomena",
    "datum": "data", "matrix": "matrices", "vertex": "vertices",
    "index": "indices",  # uowgen's since 0.2 (also indexes)
    "alumnus": "alumni", "nucleus": "nuclei", "stimulus": "stimuli",
    "bacterium": "bacteria", "genus": "genera", "schema": "schemas",
    "formula": "formulas",
    "antenna": "antennas",  # of radios (an insect's: antennae)
    "appendix": "appendixes",  # also appendices
    "cactus": "cactuses",  # also cacti
    "radius": "radiuses",  # also radii
    "curriculum": "curriculums",  # also curricula
    "memorandum": "memorandums",  # also memoranda
    "corpus": "corpuses",  # also corpora
    # uncountable: the word itself (a model so named sets `plural`)
    "sheep": "sheep", "fish": "fish", "series": "series", "species": "species",
    "news": "news", "equipment": "equipment", "information": "information",
    "data": "data", "deer": "deer", "moose": "moose", "aircraft": "aircraft",
    "offspring": "offspring", "salmon": "salmon", "trout": "trout",
}  # fmt: skip


def test_the_noun_table_is_long() -> None:
    assert len(NOUNS) >= 150


@pytest.mark.parametrize(("word", "expected"), NOUNS.items())
def test_common_nouns_get_their_english_plural(word: str, expected: str) -> None:
    assert _naming.pluralize_word(word) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BookShelf", "book_shelves"),
        ("SuperHero", "super_heroes"),
        ("MuskOx", "musk_oxen"),
        ("TodoItem", "todo_items"),
        ("ShelfLabel", "shelf_labels"),  # only the last word is pluralized
        ("HTTPProxy", "http_proxies"),
        # Pronouns are words of a name here, not pronouns (inflect: `about_us`).
        ("AboutMe", "about_mes"),
        ("ForIt", "for_its"),
        # Only the listed words are uncountable.
        ("Spacecraft", "spacecrafts"),
        ("Cod", "cods"),
        ("Sms", "smses"),
    ],
)
def test_plural_snake_of_compound_and_odd_names(name: str, expected: str) -> None:
    assert _naming.plural_snake(name) == expected


@pytest.mark.parametrize(
    ("name", "old"),
    [
        ("Shelf", "shelfs"),
        ("Leaf", "leafs"),
        ("Half", "halfs"),
        ("Wolf", "wolfs"),
        ("Hero", "heros"),
        ("Ox", "oxes"),
        ("Safe", "saves"),
        ("Moose", "mooses"),
        ("BookShelf", "book_shelfs"),
        # Where the rules agree.
        ("Category", "categories"),
        ("SalesPerson", "sales_people"),
        ("Index", "indices"),
        ("Knife", "knives"),
        ("Todo", "todos"),
    ],
)
def test_the_plural_before_0_5_0_is_kept_for_existing_projects(
    name: str, old: str
) -> None:
    assert _naming.legacy_plural_snake(name) == old


@pytest.mark.parametrize(
    ("project_name", "expected"),
    [
        ("My App", "my_app"),
        ('Shop "Deluxe" API', "shop_deluxe_api"),
        ("  spaced  ", "spaced"),
        ("123 go", "app_123_go"),
        ("HTTPServer", "http_server"),
        ("already_snake", "already_snake"),
        ("a--b__c", "a_b_c"),
        ("Café Bar", "caf_bar"),
        ("!!!", ""),
    ],
)
def test_package_name_is_derived_from_free_text(
    project_name: str, expected: str
) -> None:
    assert _naming.package_name(project_name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("draft", "DRAFT"),
        ("in-progress", "IN_PROGRESS"),
        ("sold out", "SOLD_OUT"),
        ("2-for-1", "V_2_FOR_1"),
        ("class", "V_CLASS"),
        ("a.b.c", "A_B_C"),
        ("--trimmed--", "TRIMMED"),
        ("", ""),
        ("---", ""),
        ("ÄÖ", ""),
    ],
)
def test_enum_member_names_a_value_as_an_upper_case_identifier(
    value: str, expected: str
) -> None:
    assert _naming.enum_member(value) == expected


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        (_naming.kebab, "order_lines", "order-lines"),
        (_naming.pascal, "user_status", "UserStatus"),
        (_naming.pascal, "type", "Type"),
        (_naming.distribution_name, "my_app", "my-app"),
    ],
)
def test_small_converters_turn_snake_case_into_other_styles(
    function: Callable[[str], str], value: str, expected: str
) -> None:
    assert function(value) == expected


@given(pascal_names)
def test_snake_of_a_pascal_case_name_is_a_snake_case_identifier(name: str) -> None:
    assert SNAKE_IDENTIFIER.fullmatch(_naming.snake(name))


@given(pascal_names)
def test_pascal_of_snake_gives_back_a_pascal_case_name(name: str) -> None:
    assert _naming.pascal(_naming.snake(name)) == name


@given(pascal_names)
def test_plural_snake_keeps_every_word_but_the_last(name: str) -> None:
    singular = _naming.snake(name).split("_")
    plural = _naming.plural_snake(name).split("_")
    assert plural[:-1] == singular[:-1]
    assert SNAKE_IDENTIFIER.fullmatch("_".join(plural))


@given(ordinary_words)
def test_plural_differs_from_singular_for_ordinary_words(word: str) -> None:
    plural = _naming.pluralize_word(word)
    assert plural != word
    assert plural.startswith(word[:-1])


@given(st.text(max_size=30))
def test_package_name_is_empty_or_an_importable_name(project_name: str) -> None:
    package = _naming.package_name(project_name)
    assert package == "" or re.fullmatch(r"[a-z_][a-z0-9_]*", package)


@given(st.text(max_size=30))
def test_enum_member_is_empty_or_an_upper_case_non_keyword_identifier(
    value: str,
) -> None:
    member = _naming.enum_member(value)
    if member:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", member)
        assert member.isidentifier()
        assert not keyword.iskeyword(member)
