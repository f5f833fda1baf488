"""Derive every generated name from a model or field name; pure and unit-tested."""

from __future__ import annotations

import keyword
import re

_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")

# English plurals, by rules and short lists, checked against a table of 246 common
# nouns (tests/unit/test_naming.py) that inflect agrees with, but for the choices
# noted there. No library at run time: inflect 7 costs 1.2 s to import.
_IRREGULAR_PLURALS = {
    "child": "children",
    "person": "people",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "louse": "lice",
    "goose": "geese",
    "foot": "feet",
    "tooth": "teeth",
    "ox": "oxen",
    "die": "dice",
    "datum": "data",
    "index": "indices",  # uowgen's since 0.2 (also indexes)
    "matrix": "matrices",
    "vertex": "vertices",
    "axis": "axes",
    "criterion": "criteria",
    "phenomenon": "phenomena",
    "alumnus": "alumni",
    "nucleus": "nuclei",
    "stimulus": "stimuli",
    "bacterium": "bacteria",
    "genus": "genera",
    "quiz": "quizzes",
    "fez": "fezzes",
}
# A compound ending in one of these is irregular too: `salesperson`, `chairman`.
_IRREGULAR_ENDINGS = ("person", "woman", "man", "child")
_REGULAR_MAN = frozenset(
    {"human", "roman", "german", "shaman", "talisman", "caiman", "ottoman", "walkman"}
)
# Words whose plural is the word itself; a model called `Series` must set `plural`.
_UNCOUNTABLE = frozenset(
    {
        *("data", "equipment", "information", "news", "series", "species", "sheep"),
        *("fish", "deer", "moose", "aircraft", "offspring", "salmon", "trout"),
    }
)
# -f and -fe nouns that take -ves (and compounds ending in them: `bookshelf`); every
# other takes -s (`roof`, `chief`, `safe`, `cafe`).
_VES = {
    **{word: word[:-1] for word in ("shelf", "leaf", "half", "wolf", "calf", "loaf")},
    **{word: word[:-1] for word in ("thief", "elf", "self", "scarf", "wharf", "sheaf")},
    **{word: word[:-2] for word in ("knife", "life", "wife")},
}
# -o nouns that take -oes; every other takes -s (`photos`, `todos`, `repos`).
_OES = frozenset(
    {
        *("hero", "potato", "tomato", "echo", "veto", "torpedo", "embargo"),
        *("domino", "cargo", "volcano", "tornado", "mosquito", "buffalo", "no"),
    }
)
# -ch said as k takes -s.
_HARD_CH = frozenset(
    {
        *("stomach", "epoch", "monarch", "patriarch", "matriarch", "oligarch"),
        *("tech", "loch", "psych", "triptych"),
    }
)


def snake(name: str) -> str:
    """Turn a CamelCase name into snake_case: `HTTPLog` -> `http_log`."""
    name = _ACRONYM_BOUNDARY.sub(r"\1_\2", name)
    name = _WORD_BOUNDARY.sub(r"\1_\2", name)
    return name.lower()


def pluralize_word(word: str) -> str:
    """Pluralize one lower-case English noun: `shelf` -> `shelves`, `ox` -> `oxen`."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word in _UNCOUNTABLE:
        return word
    for ending in _IRREGULAR_ENDINGS:
        if word.endswith(ending) and word not in _REGULAR_MAN:
            return word[: -len(ending)] + _IRREGULAR_PLURALS[ending]
    for singular, stem in _VES.items():
        if word.endswith(singular):
            return word[: -len(singular)] + stem + "ves"
    if word.endswith("sis"):
        return word[:-2] + "es"  # analysis -> analyses
    if word.endswith("o"):
        return word + ("es" if word in _OES else "s")
    if word in _HARD_CH:
        return word + "s"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def plural_snake(name: str) -> str:
    """Pluralize the last word of a CamelCase name: `Category` -> `categories`."""
    head, _, last = snake(name).rpartition("_")
    plural = pluralize_word(last)
    return f"{head}_{plural}" if head else plural


def legacy_plural_snake(name: str) -> str:
    """The plural uowgen derived before 0.5.0 (suffix rules): `Shelf` -> `shelfs`.

    The 0.5.0 upgrade step pins it as `plural` in projects whose tables it named
    (`uowgen._evolve.upgrade_steps`), so their tables and routes keep their names.
    """
    head, _, last = snake(name).rpartition("_")
    plural = _legacy_pluralize_word(last)
    return f"{head}_{plural}" if head else plural


# The rules before 0.5.0, kept as they were: `legacy_plural_snake`.
_LEGACY_IRREGULAR_PLURALS = {
    "child": "children",
    "person": "people",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "goose": "geese",
    "foot": "feet",
    "tooth": "teeth",
    "datum": "data",
    "index": "indices",
    "matrix": "matrices",
    "vertex": "vertices",
    "criterion": "criteria",
    "analysis": "analyses",
    "quiz": "quizzes",
}
_LEGACY_UNCOUNTABLE = frozenset(
    {"data", "equipment", "information", "news", "series", "species", "sheep", "fish"}
)


def _legacy_pluralize_word(word: str) -> str:
    if word in _LEGACY_IRREGULAR_PLURALS:
        return _LEGACY_IRREGULAR_PLURALS[word]
    if word in _LEGACY_UNCOUNTABLE:
        return word
    return _suffix_plural(word)


def _suffix_plural(word: str) -> str:
    """The usual suffix rules: `-ies`, `-es` after a sibilant, `-fe` -> `-ves`, `-s`."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if word.endswith("fe") and len(word) > 3:
        return word[:-2] + "ves"
    return word + "s"


def kebab(snake_name: str) -> str:
    """Turn snake_case into the kebab-case used in URLs."""
    return snake_name.replace("_", "-")


def pascal(snake_name: str) -> str:
    """Turn snake_case into PascalCase: `user_status` -> `UserStatus`."""
    return "".join(part[:1].upper() + part[1:] for part in snake_name.split("_"))


def enum_member(value: str) -> str:
    """Name an enum member after its value: `in-progress` -> `IN_PROGRESS`."""
    member = re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").upper()
    if not member:
        return ""
    if member[0].isdigit() or keyword.iskeyword(member.lower()):
        member = f"V_{member}"
    return member


def package_name(project_name: str) -> str:
    """Derive an importable package name from a free-form project name."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", snake(project_name.strip())).strip("_")
    name = re.sub(r"_+", "_", name).lower()
    if name and name[0].isdigit():
        name = f"app_{name}"
    return name


def distribution_name(package: str) -> str:
    """Name the installable distribution after the package: `my_app` -> `my-app`."""
    return kebab(package)


def enum_class(model: str, field: str) -> str:
    """The enum class of a model's enum field: `Ticket`, `status` -> `TicketStatus`."""
    return f"{model}{pascal(field)}"


def enum_type(model: str, field: str) -> str:
    """The enum's type name (its CHECK constraint's name): `ticket_status`."""
    return f"{snake(model)}_{field}"


def table(model: str, plural: str | None) -> str:
    """A model's table (and route) name: its `plural`, or its name pluralized."""
    return plural or plural_snake(model)


def column(field: str, kind: str) -> str:
    """A field's column: a ref `owner` is the column `owner_id`."""
    return f"{field}_id" if kind == "ref" else field


# The classes each model gets, by the context key that names them; the admin's view
# only in projects with the admin.
MODEL_CLASSES = {
    "create_schema": "Create",
    "update_schema": "Update",
    "public_schema": "Public",
    "list_schema": "List",
    "summary_schema": "Summary",
    "query_schema": "Query",
    "repository": "Repository",
}
ADMIN_CLASS = ("admin_view", "Admin")


def model_classes(model: str, *, admin: bool = True) -> dict[str, str]:
    """The generated classes of a model, by role: `{"repository": "UserRepository"}`."""
    suffixes = {**MODEL_CLASSES, **(dict([ADMIN_CLASS]) if admin else {})}
    return {role: f"{model}{suffix}" for role, suffix in suffixes.items()}
