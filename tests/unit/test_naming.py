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
).filter(lambda word: word not in _naming._IRREGULAR_PLURALS)


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
