"""Field shorthand: every type and option has a token, every mistake a message.

Tables pin the grammar and each error message; hypothesis checks that every valid
field survives `format_field` then `parse_field`, and that no junk token raises
anything but `ShorthandError`.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import importlib.util
import keyword
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import LOWER, json_values, model_names, scalar_fields
from uowgen._schema import naming as _naming
from uowgen._schema.types import FIELD_TYPES
from uowgen._spec.models import RESERVED_FIELD_NAMES, FieldSpec
from uowgen._spec.shorthand import (
    HELP,
    ShorthandError,
    format_field,
    parse_field,
    parse_fields,
)
from uowgen._spec.validate import spec_problems
from uowgen.errors import UowgenError

EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    # The examples of the issue.
    ("name:str:unique", {"name": "name", "type": "str", "unique": True}),
    ("color:str?", {"name": "color", "type": "str", "optional": True}),
    (
        "vocabulary_set:ref:VocabularySet",
        {"name": "vocabulary_set", "type": "ref", "to": "VocabularySet"},
    ),
    ("phone:str?", {"name": "phone", "type": "str", "optional": True}),
    ("score:int=0", {"name": "score", "type": "int", "default": 0}),
    (
        "status:enum[active,blocked]=active",
        {
            "name": "status",
            "type": "enum",
            "values": ["active", "blocked"],
            "default": "active",
        },
    ),
    # Every type.
    ("title:str", {"name": "title", "type": "str"}),
    ("code:str(32)", {"name": "code", "type": "str", "max_length": 32}),
    ("body:text", {"name": "body", "type": "text"}),
    ("count:int", {"name": "count", "type": "int"}),
    (
        "big:bigint=-9000000000",
        {"name": "big", "type": "bigint", "default": -9 * 10**9},
    ),
    ("ratio:float=0.5", {"name": "ratio", "type": "float", "default": 0.5}),
    ("price:decimal", {"name": "price", "type": "decimal"}),
    (
        "price:decimal(10,2)=9.99",
        {
            "name": "price",
            "type": "decimal",
            "precision": 10,
            "scale": 2,
            "default": "9.99",
        },
    ),
    ("price:decimal(10)", {"name": "price", "type": "decimal", "precision": 10}),
    ("price:decimal(,4)", {"name": "price", "type": "decimal", "scale": 4}),
    ("active:bool=true", {"name": "active", "type": "bool", "default": True}),
    ("active:bool=false", {"name": "active", "type": "bool", "default": False}),
    ("day:date=2024-02-29", {"name": "day", "type": "date", "default": "2024-02-29"}),
    ("opens:time=09:30", {"name": "opens", "type": "time", "default": "09:30"}),
    (
        "at:datetime=2024-02-29T12:30:00+00:00",
        {"name": "at", "type": "datetime", "default": "2024-02-29T12:30:00+00:00"},
    ),
    (
        "key:uuid=12345678-1234-5678-1234-567812345678",
        {
            "name": "key",
            "type": "uuid",
            "default": "12345678-1234-5678-1234-567812345678",
        },
    ),
    ("meta:json={}", {"name": "meta", "type": "json", "default": {}}),
    (
        'meta:json={"tags":["a=b"],"n":1.5}',
        {"name": "meta", "type": "json", "default": {"tags": ["a=b"], "n": 1.5}},
    ),
    ("level:enum", {"name": "level", "type": "enum"}),
    (
        'deal:enum["sold out","2-for-1",new]="sold out"',
        {
            "name": "deal",
            "type": "enum",
            "values": ["sold out", "2-for-1", "new"],
            "default": "sold out",
        },
    ),
    (
        "deal:enum[ a , b ]=b",
        {"name": "deal", "type": "enum", "values": ["a", "b"], "default": "b"},
    ),
    (
        'deal:enum[a:b,"x\\"y",c=d?]',
        {"name": "deal", "type": "enum", "values": ["a:b", 'x"y', "c=d?"]},
    ),
    ("owner:ref:User", {"name": "owner", "type": "ref", "to": "User"}),
    # Optional: after the name, the type, the target or a modifier.
    ("color?:str", {"name": "color", "type": "str", "optional": True}),
    (
        "code:str(8)?",
        {"name": "code", "type": "str", "max_length": 8, "optional": True},
    ),
    (
        "name:str:unique?",
        {"name": "name", "type": "str", "optional": True, "unique": True},
    ),
    (
        "owner:ref:User?",
        {"name": "owner", "type": "ref", "to": "User", "optional": True},
    ),
    (
        "owner:ref?:User",
        {"name": "owner", "type": "ref", "to": "User", "optional": True},
    ),
    (
        "level:enum[a,b]?=a",
        {
            "name": "level",
            "type": "enum",
            "values": ["a", "b"],
            "optional": True,
            "default": "a",
        },
    ),
    # Modifiers.
    ("email:str:index", {"name": "email", "type": "str", "index": True}),
    (
        "email:str(320):index:unique",
        {
            "name": "email",
            "type": "str",
            "max_length": 320,
            "unique": True,
            "index": True,
        },
    ),
    (
        "owner:ref:User:cascade",
        {"name": "owner", "type": "ref", "to": "User", "on_delete": "cascade"},
    ),
    (
        "owner:ref:User:restrict",
        {"name": "owner", "type": "ref", "to": "User", "on_delete": "restrict"},
    ),
    (
        "owner:ref:User?:set_null:related=owned_sets:unique:index",
        {
            "name": "owner",
            "type": "ref",
            "to": "User",
            "optional": True,
            "on_delete": "set_null",
            "related_name": "owned_sets",
            "unique": True,
            "index": True,
        },
    ),
    (
        "owner:ref:User:related=owned_sets?",
        {
            "name": "owner",
            "type": "ref",
            "to": "User",
            "optional": True,
            "related_name": "owned_sets",
        },
    ),
    # Many-to-many: links to any number of rows of the target.
    ("tags:many:Tag", {"name": "tags", "type": "many", "to": "Tag"}),
    (
        "tags:many:Tag:related=sets",
        {"name": "tags", "type": "many", "to": "Tag", "related_name": "sets"},
    ),
    # Defaults: the rest of the token, read as the field's type.
    ("n:int=+7", {"name": "n", "type": "int", "default": 7}),
    ("ratio:float=1", {"name": "ratio", "type": "float", "default": 1}),
    ("ratio:float=-1.5e-3", {"name": "ratio", "type": "float", "default": -0.0015}),
    ("ratio:float=.5", {"name": "ratio", "type": "float", "default": 0.5}),
    ("note:str=hello world", {"name": "note", "type": "str", "default": "hello world"}),
    (
        "url:str=http://x.org/?a=1",
        {"name": "url", "type": "str", "default": "http://x.org/?a=1"},
    ),
    ('note:str=say "hi"', {"name": "note", "type": "str", "default": 'say "hi"'}),
    (
        "title:str(200):sortable:searchable",
        {
            "name": "title",
            "type": "str",
            "max_length": 200,
            "sortable": True,
            "searchable": True,
        },
    ),
    ('note:text="a b"', {"name": "note", "type": "text", "default": "a b"}),
    (
        'note:str="two\\nlines\\u00e9"',
        {"name": "note", "type": "str", "default": "two\nlinesé"},
    ),
    ("note:str=", {"name": "note", "type": "str", "default": ""}),
    ('note:str=""', {"name": "note", "type": "str", "default": ""}),
    ('day:date="2024-02-29"', {"name": "day", "type": "date", "default": "2024-02-29"}),
    ("price:decimal=abc", {"name": "price", "type": "decimal", "default": "abc"}),
]


@pytest.mark.parametrize(("token", "expected"), EXAMPLES, ids=[t for t, _ in EXAMPLES])
def test_parse_field_turns_each_example_token_into_its_spec_field(
    token: str, expected: dict[str, Any]
) -> None:
    field = parse_field(token)

    assert field == expected
    assert all(type(field[key]) is type(expected[key]) for key in expected)
    FieldSpec.model_validate(field)


def test_parse_field_writes_keys_in_the_order_the_token_reads() -> None:
    token = "owner:ref:User:index:unique:related=items:cascade?"

    assert list(parse_field(token)) == [
        "name",
        "type",
        "to",
        "optional",
        "on_delete",
        "related_name",
        "unique",
        "index",
    ]
    assert list(parse_field("code:str(9):unique=x")) == [
        "name",
        "type",
        "max_length",
        "unique",
        "default",
    ]


def test_every_type_and_option_has_an_example() -> None:
    parsed = [parse_field(token) for token, _ in EXAMPLES]

    assert {field["type"] for field in parsed} == set(FIELD_TYPES)
    options = set(FieldSpec.model_fields)
    assert {key for field in parsed for key in field} == options


CANONICAL = [
    ("color?:str", "color:str?"),
    ("name:str:unique?", "name:str?:unique"),
    ("owner:ref?:User:index:unique:cascade", "owner:ref:User?:cascade:unique:index"),
    ("deal:enum[ a , b ]", "deal:enum[a,b]"),
    ('deal:enum["plain","sold out",""," x"]', 'deal:enum[plain,"sold out",""," x"]'),
    ('deal:enum["a,b","[c]","d\\"e"]', 'deal:enum["a,b","[c]","d\\"e"]'),
    ('note:str="a b"', "note:str=a b"),
    ("note:str=", 'note:str=""'),
    ('note:str="\\"quoted\\""', 'note:str="\\"quoted\\""'),
    ('note:str=" padded "', 'note:str=" padded "'),
    ('note:str="tab\\there\\u0085"', 'note:str="tab\\there\\u0085"'),
    ('note:str="\\ud83d\\ude00"', "note:str=\U0001f600"),
    ("n:int=+07", "n:int=7"),
    ("r:float=1.", "r:float=1.0"),
    ("r:float=1e16", "r:float=1e+16"),
    ('meta:json= { "a" : [ 1 , 2 ] }', 'meta:json={"a":[1,2]}'),
    ('meta:json={"s":"\\u0007é"}', 'meta:json={"s":"\\u0007é"}'),
    ("price:decimal( 10 , 2 )", "price:decimal(10,2)"),
    ("t:text:searchable:sortable:index", "t:text:index:sortable:searchable"),
]


@pytest.mark.parametrize(("token", "canonical"), CANONICAL)
def test_format_field_writes_the_canonical_token(token: str, canonical: str) -> None:
    field = parse_field(token)

    assert format_field(field) == canonical
    assert parse_field(canonical) == field


@pytest.mark.parametrize("expected", [field for _, field in EXAMPLES])
def test_format_field_inverts_parse_field_on_every_example(
    expected: dict[str, Any],
) -> None:
    assert parse_field(format_field(expected)) == expected


def test_format_field_takes_a_field_spec_too() -> None:
    field = FieldSpec(name="code", type="str", max_length=8, unique=True)

    assert format_field(field) == "code:str(8):unique"


@pytest.mark.parametrize(
    ("field", "token", "parsed_default"),
    [
        ({"name": "p", "type": "decimal", "default": 5}, "p:decimal=5", "5"),
        ({"name": "p", "type": "decimal", "default": 0.25}, "p:decimal=0.25", "0.25"),
        (
            {"name": "p", "type": "decimal", "default": decimal.Decimal("1.50")},
            "p:decimal=1.50",
            "1.50",
        ),
        (
            {"name": "d", "type": "date", "default": dt.date(2024, 2, 29)},
            "d:date=2024-02-29",
            "2024-02-29",
        ),
        (
            {
                "name": "d",
                "type": "datetime",
                "default": dt.datetime(2024, 2, 29, 1, 2, tzinfo=dt.UTC),
            },
            "d:datetime=2024-02-29T01:02:00+00:00",
            "2024-02-29T01:02:00+00:00",
        ),
        (
            {"name": "k", "type": "uuid", "default": uuid.UUID(int=1)},
            "k:uuid=00000000-0000-0000-0000-000000000001",
            "00000000-0000-0000-0000-000000000001",
        ),
    ],
)
def test_defaults_the_spec_reads_as_text_come_back_as_text(
    field: dict[str, Any], token: str, parsed_default: str
) -> None:
    assert format_field(field) == token
    assert parse_field(token)["default"] == parsed_default


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"name": "x", "type": "str", "colour": "red"}, "colour"),
        ({"name": "x", "type": "integer"}, "unknown type 'integer'"),
        ({"name": "x", "type": "int", "max_length": 3}, "cannot take max_length"),
        ({"name": "x", "type": "enum", "to": "User"}, "cannot take to"),
        (
            {"name": "x", "type": "ref", "to": "User", "default": 1},
            "cannot take default",
        ),
        ({"name": "x", "type": "ref"}, "a ref needs `to`"),
        ({"name": "a:b", "type": "str"}, "name 'a:b' cannot be written"),
        ({"name": "", "type": "str"}, "name '' cannot be written"),
        ({"name": "x", "type": "ref", "to": "U?"}, "to 'U\\?' cannot be written"),
        ({"name": "x", "type": "int", "default": True}, "cannot default to True"),
        ({"name": "x", "type": "bool", "default": 1}, "cannot default to 1"),
        ({"name": "x", "type": "str", "default": 1}, "cannot default to 1"),
        ({"name": "x", "type": "float", "default": float("inf")}, "default to inf"),
        ({"name": "x", "type": "json", "default": {"a": float("nan")}}, "JSON"),
        ({"name": "x", "type": "json", "default": {"a": dt.date(2024, 1, 1)}}, "date"),
    ],
)
def test_format_field_refuses_a_field_it_cannot_write(
    field: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        format_field(field)


TYPES = ", ".join(FIELD_TYPES)
ERRORS = [
    ("", "'': empty; expected NAME:TYPE such as 'title:str'"),
    (":str", "':str': expected a field name at the start, as in 'title:str'"),
    ("?:str", "'?:str': expected a field name at the start, as in 'title:str'"),
    (
        "score",
        "'score': expected ':' and a type after the name 'score', as in 'score:str'",
    ),
    (
        "score=0",
        "'score=0': expected ':' and a type after the name 'score', as in 'score:str'",
    ),
    ("score:", f"'score:': missing the type after 'score:'; expected one of {TYPES}"),
    (
        "score:=0",
        f"'score:=0': missing the type after 'score:'; expected one of {TYPES}",
    ),
    (
        "score:integer=0",
        (
            f"'score:integer=0': unknown type 'integer' (did you mean 'int'?); "
            f"expected one of {TYPES}"
        ),
    ),
    (
        "score:Int",
        f"'score:Int': unknown type 'Int' (did you mean 'int'?); expected one of {TYPES}",
    ),
    (
        "at:timestamp",
        (
            f"'at:timestamp': unknown type 'timestamp' (did you mean 'datetime'?); "
            f"expected one of {TYPES}"
        ),
    ),
    ("x:blob", f"'x:blob': unknown type 'blob'; expected one of {TYPES}"),
    ("price:decimal(10", "'price:decimal(10': unclosed '(' in 'decimal(10'"),
    (
        "n:int(4)",
        (
            "'n:int(4)': type 'int' takes no arguments in 'int(4)'; only str(LENGTH) and "
            "decimal(PRECISION,SCALE) do"
        ),
    ),
    ("s:enum(a,b)", "'s:enum(a,b)': write enum as in 'enum[a,b]', not 'enum(a,b)'"),
    ("o:ref(User)", "'o:ref(User)': write ref as in 'ref:User', not 'ref(User)'"),
    ("code:str()", "'code:str()': expected a length in 'str()', as in 'str(32)'"),
    (
        "code:str(3,4)",
        "'code:str(3,4)': expected one length in 'str(3,4)', as in 'str(32)'",
    ),
    (
        "code:str(abc)",
        "'code:str(abc)': expected a whole number as the length in 'str(abc)', got 'abc'",
    ),
    (
        "code:str(-1)",
        "'code:str(-1)': expected a whole number as the length in 'str(-1)', got '-1'",
    ),
    (
        "code:str(\u0663)",
        (
            "'code:str(\u0663)': expected a whole number as the length in 'str(\u0663)', "
            "got '\u0663'"
        ),
    ),
    (
        "price:decimal()",
        (
            "'price:decimal()': expected a precision and maybe a scale in 'decimal()', "
            "as in 'decimal(10,2)' or 'decimal(10)'"
        ),
    ),
    (
        "price:decimal(1,2,3)",
        (
            "'price:decimal(1,2,3)': expected a precision and maybe a scale in "
            "'decimal(1,2,3)', as in 'decimal(10,2)' or 'decimal(10)'"
        ),
    ),
    (
        "price:decimal(10,)",
        (
            "'price:decimal(10,)': expected a scale after ',' in 'decimal(10,)', as in "
            "'decimal(10,2)' or 'decimal(10)'"
        ),
    ),
    (
        "price:decimal(x,2)",
        (
            "'price:decimal(x,2)': expected a whole number as the precision in "
            "'decimal(x,2)', got 'x'"
        ),
    ),
    (
        "tags:str[a,b]",
        "'tags:str[a,b]': type 'str' takes no [values] in 'str[a,b]'; only enum[...] does",
    ),
    ("s:enum[a,b", "'s:enum[a,b': unclosed '[' in 'enum[a,b'"),
    ("s:enum[", "'s:enum[': unclosed '[' in 'enum['"),
    (
        "s:enum[a,,b]",
        "'s:enum[a,,b]': empty enum value at column 10; quote an empty value as \"\"",
    ),
    (
        "s:enum[a,]",
        "'s:enum[a,]': empty enum value at column 10; quote an empty value as \"\"",
    ),
    (
        "s:enum[sold out]",
        (
            "'s:enum[sold out]': unexpected 'o' in enum values (column 13); expected ',' or "
            "']'; quote a value with spaces, commas, brackets or quotes, as in "
            'enum["sold out","2-for-1"]'
        ),
    ),
    (
        's:enum[a"b]',
        (
            "'s:enum[a\"b]': unexpected '\"' in enum values (column 9); expected ',' or "
            "']'; quote a value with spaces, commas, brackets or quotes, as in "
            'enum["sold out","2-for-1"]'
        ),
    ),
    ('s:enum["a]', "'s:enum[\"a]': unclosed '\"' in '\"a]'"),
    (
        's:enum["\\x"]',
        "'s:enum[\"\\\\x\"]': bad JSON string '\"\\\\x\"': Invalid \\escape",
    ),
    (
        "s:enum[a]b",
        (
            "'s:enum[a]b': unexpected 'b' after 'enum[a]' (column 10); expected ':', '=' "
            "or the end"
        ),
    ),
    (
        "code:str?(32)",
        (
            "'code:str?(32)': unexpected '(' after 'str?' (column 10); expected ':', '=' "
            "or the end"
        ),
    ),
    ("x?:str?", "'x?:str?': '?' appears twice; one '?' makes the field optional"),
    ("x:str??", "'x:str??': '?' appears twice; one '?' makes the field optional"),
    (
        "owner:ref",
        (
            "'owner:ref': expected ':' and the target model after 'ref', as in "
            "'owner:ref:User'"
        ),
    ),
    (
        "owner:ref:",
        "'owner:ref:': expected the target model after 'ref:', as in 'owner:ref:User'",
    ),
    (
        "owner:ref:cascade",
        (
            "'owner:ref:cascade': expected the target model after 'ref:', got the "
            "modifier 'cascade'; as in 'owner:ref:User:cascade'"
        ),
    ),
    (
        "x:str:",
        (
            "'x:str:': empty modifier at column 7; expected one of unique, index, "
            "sortable, searchable"
        ),
    ),
    (
        "x:str::unique",
        (
            "'x:str::unique': empty modifier at column 7; expected one of unique, index, "
            "sortable, searchable"
        ),
    ),
    (
        "x:str:uniq",
        (
            "'x:str:uniq': unknown modifier 'uniq' (did you mean 'unique'?); expected one "
            "of unique, index, sortable, searchable"
        ),
    ),
    (
        "x:str:optional",
        (
            "'x:str:optional': unknown modifier 'optional'; write '?' after the type, as "
            "in 'str?'"
        ),
    ),
    (
        "owner:ref:User:set-null",
        (
            "'owner:ref:User:set-null': unknown modifier 'set-null' (did you mean "
            "'set_null'?); expected one of unique, index, sortable, searchable, cascade, "
            "restrict, set_null, related=NAME"
        ),
    ),
    (
        "x:str:cascade",
        "'x:str:cascade': modifier 'cascade' applies only to a ref, not to a str",
    ),
    (
        "x:str:related=y",
        "'x:str:related=y': modifier 'related=y' applies only to a ref, not to a str",
    ),
    (
        "o:ref:User:related",
        "'o:ref:User:related': expected 'related=NAME', as in 'related=owned_sets'",
    ),
    (
        "o:ref:User:related=",
        (
            "'o:ref:User:related=': expected a name after 'related=', as in "
            "'related=owned_sets'"
        ),
    ),
    ("x:str:unique:unique", "'x:str:unique:unique': modifier 'unique' is given twice"),
    (
        "o:ref:User:cascade:restrict",
        (
            "'o:ref:User:cascade:restrict': 'restrict' conflicts with 'cascade'; pick one "
            "on_delete"
        ),
    ),
    (
        "o:ref:User:cascade:cascade",
        "'o:ref:User:cascade:cascade': modifier 'cascade' is given twice",
    ),
    (
        "o:ref:User:related=a:related=b",
        "'o:ref:User:related=a:related=b': modifier 'related' is given twice",
    ),
    ("o:ref:User=1", "'o:ref:User=1': a ref takes no default; drop the '=' part"),
    (
        "t:many:Tag=1",
        "'t:many:Tag=1': a many field takes no default; drop the '=' part",
    ),
    (
        "tags:many",
        (
            "'tags:many': expected ':' and the target model after 'many', as in "
            "'tags:many:User'"
        ),
    ),
    (
        "tags:many:Tag:unique",
        (
            "'tags:many:Tag:unique': modifier 'unique' does not apply to a many field; "
            "it takes only 'related=NAME'"
        ),
    ),
    (
        "tags:many:Tag:cascade",
        (
            "'tags:many:Tag:cascade': modifier 'cascade' does not apply to a many field; "
            "it takes only 'related=NAME'"
        ),
    ),
    (
        "tags:many(3):Tag",
        "'tags:many(3):Tag': write many as in 'many:User', not 'many(3)'",
    ),
    ("n:int=abc", "'n:int=abc': expected an integer as the default, got 'abc'"),
    ("n:int=1.5", "'n:int=1.5': expected an integer as the default, got '1.5'"),
    ("n:int=", "'n:int=': expected an integer as the default, got ''"),
    ("n:bigint=1e3", "'n:bigint=1e3': expected an integer as the default, got '1e3'"),
    ("r:float=abc", "'r:float=abc': expected a number as the default, got 'abc'"),
    ("r:float=inf", "'r:float=inf': expected a number as the default, got 'inf'"),
    (
        "r:float=1e999",
        "'r:float=1e999': the default '1e999' is out of range for a float",
    ),
    ("a:bool=yes", "'a:bool=yes': expected true or false as the default, got 'yes'"),
    ("a:bool=True", "'a:bool=True': expected true or false as the default, got 'True'"),
    (
        "m:json={",
        (
            "'m:json={': expected a JSON default: Expecting property name enclosed in "
            "double quotes (column 9)"
        ),
    ),
    ("m:json=", "'m:json=': expected a JSON default: Expecting value (column 8)"),
    ("m:json=null", "'m:json=null': a null default is no default; drop '=null'"),
    ("m:json=NaN", "'m:json=NaN': expected a JSON default: NaN is not a JSON number"),
    (
        'm:json={"a":1e999}',
        (
            "'m:json={\"a\":1e999}': expected a JSON default: 1e999 is out of range for a "
            "float"
        ),
    ),
    (
        'n:str="a"b',
        (
            "'n:str=\"a\"b': unexpected 'b' after the quoted default; a quoted default is "
            "one JSON string"
        ),
    ),
    ('n:str="abc', "'n:str=\"abc': unclosed '\"' in '\"abc'"),
    ('n:str="\\q"', "'n:str=\"\\\\q\"': bad JSON string '\"\\\\q\"': Invalid \\escape"),
    (
        "n:int=" + "9" * 5000,
        f"'n:int={'9' * 5000}': the default has 5000 digits, too many",
    ),
    (
        "code:str(" + "9" * 5000 + ")",
        f"'code:str({'9' * 5000})': the length has 5000 digits, too many",
    ),
]


@pytest.mark.parametrize(("token", "message"), ERRORS, ids=[t[:40] for t, _ in ERRORS])
def test_parse_field_refuses_a_bad_token_saying_where_and_what_was_expected(
    token: str, message: str
) -> None:
    with pytest.raises(ShorthandError, match=f"^{re.escape(message)}$") as info:
        parse_field(token)

    assert info.value.problems == [info.value.message]
    assert info.value.exit_code == 2
    assert isinstance(info.value, UowgenError)


def test_parse_fields_parses_each_token_in_order() -> None:
    assert parse_fields(["title:str", "score:int=0"]) == [
        {"name": "title", "type": "str"},
        {"name": "score", "type": "int", "default": 0},
    ]
    assert parse_fields([]) == []


def test_parse_fields_reports_every_bad_token_at_once() -> None:
    with pytest.raises(ShorthandError) as info:
        parse_fields(["title:str", "score:integer=0", "ok:int", "price:decimal(10"])

    assert info.value.problems == [
        (
            f"'score:integer=0': unknown type 'integer' (did you mean 'int'?); "
            f"expected one of {TYPES}"
        ),
        "'price:decimal(10': unclosed '(' in 'decimal(10'",
    ]
    assert info.value.message == "2 invalid fields:\n" + "".join(
        f"  - {problem}\n" for problem in info.value.problems
    ).rstrip("\n")


def test_parse_fields_with_one_bad_token_gives_its_message_alone() -> None:
    with pytest.raises(ShorthandError, match=r"^'x': expected ':' and a type"):
        parse_fields(["title:str", "x"])


def test_parse_fields_refuses_one_string_instead_of_a_list() -> None:
    with pytest.raises(TypeError, match="not one string"):
        parse_fields("title:str")


def test_help_is_short_and_every_example_in_it_parses() -> None:
    lines = HELP.splitlines()
    tokens = re.findall(r"(?<![\w\"])[a-z_]+\??:[^\s']+", HELP)

    assert len(lines) <= 30
    assert max(len(line) for line in lines) <= 88
    assert len(tokens) >= 20
    for token in tokens:
        field = parse_field(token)
        FieldSpec.model_validate(field)


def imported_modules(module: str) -> set[str]:
    """The modules `module` imports, following imports of other uowgen modules."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "uowgen":
                    names = [f"uowgen.{alias.name}" for alias in node.names]
            else:
                continue
            for imported in names:
                if imported.startswith("uowgen.") and imported not in seen:
                    pending.append(imported)
                seen.add(imported)
    return seen


def test_shorthand_imports_neither_copier_nor_jinja_nor_typer() -> None:
    imported = imported_modules("uowgen._spec.shorthand")

    assert "uowgen._spec.models" in imported
    assert not {name.split(".")[0] for name in imported} & {
        "copier",
        "jinja2",
        "typer",
        "click",
    }


# Strategies: valid fields of every type, with every option.

snake_names = st.from_regex(
    r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,8}){0,2}", fullmatch=True
).filter(
    lambda name: (
        not keyword.iskeyword(name)
        and name not in RESERVED_FIELD_NAMES
        and not name.startswith("model_")
    )
)
# Values a shell user would have to quote: spaces, commas, brackets, quotes.
odd_enum_values = st.lists(
    st.tuples(
        st.sampled_from(LOWER),
        st.text(LOWER + "0123456789 ,[]\"'\\-=:?()é", max_size=12),
    ).map("".join),
    min_size=1,
    max_size=5,
    unique_by=_naming.enum_member,
)


@st.composite
def ref_fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    target = draw(model_names.filter(lambda model: model != "Holder"))
    field: dict[str, Any] = {"name": name, "type": "ref", "to": target}
    optional = draw(st.booleans())
    if optional:
        field["optional"] = True
    on_delete = ["cascade", "restrict", *(["set_null"] if optional else [])]
    if (choice := draw(st.none() | st.sampled_from(on_delete))) is not None:
        field["on_delete"] = choice
    if draw(st.booleans()):
        field["related_name"] = draw(snake_names)
    for flag in ("unique", "index"):
        if draw(st.booleans()):
            field[flag] = True
    return field


@st.composite
def many_fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    target = draw(model_names.filter(lambda model: model != "Holder"))
    field: dict[str, Any] = {"name": name, "type": "many", "to": target}
    if draw(st.booleans()):
        field["related_name"] = draw(snake_names)
    return field


@st.composite
def odd_fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """Fields `scalar_fields` does not make: partial decimals, odd enums, int floats."""
    kind = draw(st.sampled_from(["decimal", "enum", "float", "json", "str"]))
    field: dict[str, Any] = {"name": name, "type": kind}
    if kind == "decimal":
        # Alone, each must fit the other's default: precision 12, scale 2.
        option = draw(st.sampled_from(["precision", "scale"]))
        field[option] = draw(
            st.integers(2, 38) if option == "precision" else st.integers(0, 12)
        )
    elif kind == "enum":
        field["values"] = values = draw(odd_enum_values)
        if draw(st.booleans()):
            field["default"] = draw(st.sampled_from(values))
    elif kind == "float":
        field["default"] = draw(st.integers(-(2**70), 2**70))
    elif kind == "json":
        field["default"] = draw(st.dictionaries(st.text(), json_values, max_size=4))
    else:
        field["default"] = draw(st.text(st.characters(exclude_characters="\x00")))
    return field


@st.composite
def valid_fields(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(snake_names)
    strategy = draw(
        st.sampled_from([scalar_fields, ref_fields, many_fields, odd_fields])
    )
    field: dict[str, Any] = draw(strategy(name))
    return field


def spec_with(field: dict[str, Any]) -> dict[str, Any]:
    """A spec whose model `Holder` has `field`; a ref's target is a second model."""
    models = [{"name": "Holder", "fields": [field]}]
    if field["type"] in ("ref", "many"):
        # A field name `snake_names` never makes, so no related_name clashes with it.
        target_fields = [{"name": "x_0_0_0", "type": "str"}]
        models.insert(0, {"name": field["to"], "fields": target_fields})
    return {"project_name": "App", "models": models}


@settings(deadline=None, max_examples=300)
@given(valid_fields())
def test_format_field_then_parse_field_gives_back_every_valid_field(
    field: dict[str, Any],
) -> None:
    assert spec_problems(spec_with(field)) == []  # the strategy makes valid fields

    token = format_field(field)

    assert parse_field(token) == field
    assert format_field(parse_field(token)) == token


# Junk made of the grammar's own pieces reaches deeper than random text.
PIECES = [
    *FIELD_TYPES,
    *'?:=()[]," \\',
    "name",
    "User",
    "unique",
    "index",
    "cascade",
    "set_null",
    "related=",
    "32",
    "1.5",
    "true",
    "{}",
    '"a b"',
    "\\u00e9",
    "é",
    "\x00",
    "\U0001f600",
    "null",
    "NaN",
    "1e999",
]
junk = st.text(max_size=40) | st.lists(st.sampled_from(PIECES), max_size=12).map(
    "".join
)
likely_fields = st.tuples(
    st.sampled_from(["a", "a?", "é", ""]),
    st.sampled_from([":", ""]),
    st.sampled_from(FIELD_TYPES),
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
).map("".join)


@settings(deadline=None, max_examples=500)
@given(junk | likely_fields)
def test_junk_raises_nothing_but_shorthand_error_and_what_parses_round_trips(
    token: str,
) -> None:
    try:
        field = parse_field(token)
    except ShorthandError as exc:
        assert exc.message.startswith(repr(token))
        return

    FieldSpec.model_validate(field)
    assert parse_field(format_field(field)) == field


@settings(deadline=None)
@given(st.lists(junk | likely_fields, max_size=6))
def test_parse_fields_reports_one_problem_per_bad_token(tokens: list[str]) -> None:
    bad = []
    for token in tokens:
        try:
            parse_field(token)
        except ShorthandError:
            bad.append(token)

    if not bad:
        assert len(parse_fields(tokens)) == len(tokens)
        return
    with pytest.raises(ShorthandError) as info:
        parse_fields(tokens)
    assert len(info.value.problems) == len(bad)
