"""Turn `rails generate model`-style field tokens into spec fields, and back; pure.

`parse_field("score:int=0")` gives the spec field `{"name": "score", "type": "int",
"default": 0}`; `format_field` writes a field back as its canonical token. The
grammar (`HELP` shows it to users, with examples):

    token    = NAME ["?"] ":" type ["?"] {":" modifier ["?"]} ["=" DEFAULT]
    type     = "str" ["(" LENGTH ")"]
             | "decimal" ["(" (PRECISION ["," SCALE] | "," SCALE) ")"]
             | "enum" ["[" [value {"," value}] "]"]
             | "ref" ["?"] ":" MODEL
             | "many" ":" MODEL
             | "text" | "int" | "bigint" | "float" | "bool"
             | "date" | "datetime" | "time" | "uuid" | "json"
    modifier = "unique" | "index" | "sortable" | "searchable"
             | "cascade" | "restrict" | "set_null" | "related=" NAME   (refs only)
             | "related=" NAME                                       (many)
    value    = BARE | JSON_STRING

- One `?` marks the field optional; it may end the name, the type (after its
  arguments, values or target model) or a modifier; `format_field` puts it after
  the type, and the modifiers in the order on_delete, related, unique, index, sortable,
  searchable.
- NAME, MODEL and the related NAME run up to the next `:`, `?` or `=`; the spec
  validator checks that they are identifiers. LENGTH, PRECISION and SCALE are
  whole numbers.
- An enum value is a BARE word (no whitespace, commas, brackets or double quotes)
  or a JSON string such as `"sold out"`; spaces around the commas are ignored.
- After the type and the modifiers, `=` starts the default: the rest of the token,
  read as the field's type. int: an integer; float: a number (an integer stays an
  int); bool: `true` or `false`; json: a JSON value. Every other type keeps it as
  text, unless it starts with `"`: then it is one JSON string, so `="a b"` and
  `=""` work. A ref or a many field takes no default.

Parsing checks only what it needs to build the field with the right option types;
names, references, ranges and whether a default fits are the spec validator's job.
`parse_field(format_field(f)) == f` for every valid field, except that a decimal
default written as a number, or a date, datetime or uuid default given as an
object, comes back as the string the spec reads it as.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from uowgen._schema.types import FIELD_TYPES, TYPES
from uowgen._spec.models import FieldSpec
from uowgen.errors import UowgenError

HELP = """\
Each field is NAME:TYPE, then any modifiers, then an optional default:
  NAME:TYPE[?][:MODIFIER...][=DEFAULT]

Types: TYPES
  code:str(32)                  a str of at most 32 characters
  price:decimal(10,2)           precision 10, scale 2; decimal(10) sets precision
  status:enum[active,blocked]   enum values; quote odd ones: enum["sold out",new]
  owner:ref:User                a reference to the model User
  tags:many:Tag                 links to any number of Tag rows (many-to-many)
A `?` after the name, the type or a modifier makes the field optional:
  color:str?   color?:str   owner:ref:User?
Modifiers: unique, index, sortable (lists may sort by it: ?sort=-NAME) and
searchable (a text lists may search: ?NAME__icontains=); a ref also takes
cascade, restrict or set_null (what happens on delete of the target) and
related=NAME (its collection on the target):
  email:str(320):unique   owner:ref:User:cascade:related=owned_sets
  title:str(200):sortable:searchable
`=` ends the field with its default, read as the field's type:
  score:int=0   ratio:float=0.5   active:bool=false   price:decimal(10,2)=9.99
  day:date=2024-02-29   meta:json={"tags":[]}   status:enum[active,blocked]=active
  note:str=hello world   note:str="two\\nlines"  (a quoted default is a JSON string)
Quote each field in the shell: 'price:decimal(10,2)' 'color:str?'
""".replace("TYPES", " ".join(FIELD_TYPES), 1)

_ON_DELETE = ("cascade", "restrict", "set_null")
_MODIFIERS = ("unique", "index", "sortable", "searchable")
_REF_MODIFIERS = (*_ON_DELETE, "related=NAME")
_TEXT_DEFAULTS = frozenset(name for name, kind in TYPES.items() if kind.default_is_text)
# The order a field's keys are written in: the order the token reads.
_KEY_ORDER = (
    "name",
    "type",
    "max_length",
    "precision",
    "scale",
    "values",
    "to",
    "optional",
    "on_delete",
    "related_name",
    "unique",
    "index",
    "sortable",
    "searchable",
    "default",
)
_FLAGS = ("optional", "unique", "index", "sortable", "searchable")
# What `rails generate model` users type, and what they mean here.
_RAILS_TYPES = {
    "string": "str",
    "integer": "int",
    "boolean": "bool",
    "references": "ref",
    "belongs_to": "ref",
    "timestamp": "datetime",
    "jsonb": "json",
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[0-9]+")
_NOT_BARE = frozenset(',[]"')
_STOPS = frozenset(":?=")
_TYPE_STOPS = frozenset(":?=([")


class ShorthandError(UowgenError):
    """Field shorthand that cannot be parsed; `problems` has one line per bad token."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = problems[0]
        else:
            lines = "\n".join(f"  - {problem}" for problem in problems)
            message = f"{len(problems)} invalid fields:\n{lines}"
        super().__init__(message)


def parse_field(token: str) -> dict[str, Any]:
    """Parse one field token such as `status:enum[active,blocked]=active`.

    Args:
        token: one field in the shorthand (see `HELP`).

    Returns:
        The spec field: name, type, then only the options the token sets.

    Raises:
        ShorthandError: the token does not follow the grammar; the message quotes
            the token, names the part that is wrong and says what was expected.
    """
    return _Parser(token).parse()


def parse_fields(tokens: Sequence[str]) -> list[dict[str, Any]]:
    """Parse several field tokens, reporting every bad one at once.

    Raises:
        ShorthandError: listing the problem of each bad token.
    """
    if isinstance(tokens, str):
        raise TypeError("parse_fields takes a sequence of tokens, not one string")
    fields: list[dict[str, Any]] = []
    problems: list[str] = []
    for token in tokens:
        try:
            fields.append(parse_field(token))
        except ShorthandError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ShorthandError(problems)
    return fields


def format_field(field: Mapping[str, Any] | FieldSpec) -> str:
    """Write a spec field as its canonical shorthand token.

    Args:
        field: a valid spec field, as data or as a `FieldSpec`.

    Returns:
        The token, which `parse_field` turns back into `field`.

    Raises:
        ValueError: `field` is not a field the shorthand can write (an unknown key
            or type, an option its type does not take, a name with `:`, `?` or `=`,
            or a default of the wrong kind).
    """
    spec = (
        field if isinstance(field, FieldSpec) else FieldSpec.model_validate(dict(field))
    )
    data = spec.model_dump(exclude_defaults=True)
    kind: str = data["type"]
    if kind not in FIELD_TYPES:
        raise ValueError(f"unknown type {kind!r}")
    written = {"name", "type"}

    def option(key: str) -> Any:
        written.add(key)
        return data.get(key)

    text = f"{_word('name', data['name'])}:{kind}"
    if kind == "str" and (length := option("max_length")) is not None:
        text += f"({length})"
    if kind == "decimal":
        precision, scale = option("precision"), option("scale")
        if precision is not None or scale is not None:
            text += "(" + ("" if precision is None else str(precision))
            text += ("" if scale is None else f",{scale}") + ")"
    if kind == "enum" and (values := option("values")) is not None:
        text += "[" + ",".join(_format_value(value) for value in values) + "]"
    if kind in ("ref", "many"):
        target = option("to")
        if target is None:
            raise ValueError(f"{_kind_words(kind)} needs `to`")
        text += ":" + _word("to", target)
    text += "?" if option("optional") else ""
    if kind == "ref" and (on_delete := option("on_delete")) is not None:
        text += f":{on_delete}"
    if kind in ("ref", "many") and (related := option("related_name")) is not None:
        text += ":related=" + _word("related_name", related)
    text += ":unique" if option("unique") else ""
    text += ":index" if option("index") else ""
    text += ":sortable" if option("sortable") else ""
    text += ":searchable" if option("searchable") else ""
    if kind not in ("ref", "many") and (default := option("default")) is not None:
        text += "=" + _format_default(kind, default)
    left = sorted(set(data) - written)
    if left:
        raise ValueError(f"a {kind} field cannot take {', '.join(left)}")
    return text


class _Parser:
    """Reads one token from left to right; fails on the first problem."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.pos = 0
        self.field: dict[str, Any] = {}
        self.kind = ""

    def fail(self, problem: str) -> NoReturn:
        raise ShorthandError([f"{self.token!r}: {problem}"])

    def peek(self) -> str:
        """The next character, or "" at the end."""
        return self.token[self.pos : self.pos + 1]

    def read_until(self, stops: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.token) and self.token[self.pos] not in stops:
            self.pos += 1
        return self.token[start : self.pos]

    def parse(self) -> dict[str, Any]:
        if not self.token:
            self.fail("empty; expected NAME:TYPE such as 'title:str'")
        name = self.read_until(_STOPS)
        if not name:
            self.fail("expected a field name at the start, as in 'title:str'")
        self.field["name"] = name
        self.end_part(name)
        if self.peek() != ":":
            self.fail(
                f"expected ':' and a type after the name {name!r}, as in '{name}:str'"
            )
        self.pos += 1
        self.read_type()
        if self.kind in ("ref", "many"):
            self.read_target()
        while self.peek() == ":":
            self.pos += 1
            self.read_modifier()
        if self.peek() == "=":
            self.pos += 1
            self.field["default"] = self.read_default()
        return {key: self.field[key] for key in _KEY_ORDER if key in self.field}

    def end_part(self, part: str) -> None:
        """Take the `?` that may end a part; then only `:`, `=` or the end may follow."""
        if self.peek() == "?":
            if self.field.get("optional") or self.token[self.pos + 1 :][:1] == "?":
                self.fail("'?' appears twice; one '?' makes the field optional")
            self.field["optional"] = True
            self.pos += 1
            part += "?"
        if self.peek() not in ("", ":", "="):
            self.fail(
                f"unexpected {self.peek()!r} after {part!r} (column {self.pos + 1}); "
                "expected ':', '=' or the end"
            )

    def read_type(self) -> None:
        start = self.pos
        kind = self.read_until(_TYPE_STOPS)
        expected = f"expected one of {', '.join(FIELD_TYPES)}"
        if not kind:
            self.fail(f"missing the type after {self.token[:start]!r}; {expected}")
        if kind not in FIELD_TYPES:
            hint = _suggest(kind, FIELD_TYPES, _RAILS_TYPES)
            self.fail(f"unknown type {kind!r}{hint}; {expected}")
        self.kind = self.field["type"] = kind
        if self.peek() == "(":
            self.read_arguments(start)
        elif self.peek() == "[":
            self.read_values(start)
        self.end_part(self.token[start : self.pos])

    def read_arguments(self, start: int) -> None:
        close = self.token.find(")", self.pos)
        if close < 0:
            self.fail(f"unclosed '(' in {self.token[start:]!r}")
        text = self.token[start : close + 1]
        arguments = [
            part.strip() for part in self.token[self.pos + 1 : close].split(",")
        ]
        self.pos = close + 1
        if self.kind == "str":
            if arguments == [""]:
                self.fail(f"expected a length in {text!r}, as in 'str(32)'")
            if len(arguments) > 1:
                self.fail(f"expected one length in {text!r}, as in 'str(32)'")
            self.field["max_length"] = self.whole(arguments[0], "length", text)
        elif self.kind == "decimal":
            expected = f"in {text!r}, as in 'decimal(10,2)' or 'decimal(10)'"
            if arguments == [""] or len(arguments) > 2:
                self.fail(f"expected a precision and maybe a scale {expected}")
            if arguments[0]:
                self.field["precision"] = self.whole(arguments[0], "precision", text)
            if len(arguments) == 2:
                if not arguments[1]:
                    self.fail(f"expected a scale after ',' {expected}")
                self.field["scale"] = self.whole(arguments[1], "scale", text)
        elif self.kind in ("enum", "ref", "many"):
            example = "enum[a,b]" if self.kind == "enum" else f"{self.kind}:User"
            self.fail(f"write {self.kind} as in {example!r}, not {text!r}")
        else:
            self.fail(
                f"type {self.kind!r} takes no arguments in {text!r}; only "
                "str(LENGTH) and decimal(PRECISION,SCALE) do"
            )

    def whole(self, text: str, what: str, context: str) -> int:
        if not _WHOLE.fullmatch(text):
            self.fail(
                f"expected a whole number as the {what} in {context!r}, got {text!r}"
            )
        try:
            return int(text)
        except ValueError:  # more digits than Python converts
            self.fail(f"the {what} has {len(text)} digits, too many")

    def read_values(self, start: int) -> None:
        if self.kind != "enum":
            self.fail(
                f"type {self.kind!r} takes no [values] in {self.token[start:]!r}; "
                "only enum[...] does"
            )
        self.pos += 1
        values: list[str] = []
        self.field["values"] = values
        self.skip_space()
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.skip_space()
            at = self.pos
            if self.peek() == '"':
                values.append(self.read_json_string())
            else:
                while self.peek() and not (
                    self.peek().isspace() or self.peek() in _NOT_BARE
                ):
                    self.pos += 1
                if self.pos == at and self.peek() in (",", "]"):
                    self.fail(
                        f"empty enum value at column {at + 1}; "
                        'quote an empty value as ""'
                    )
                values.append(self.token[at : self.pos])
            self.skip_space()
            next_char = self.peek()
            if not next_char:
                self.fail(f"unclosed '[' in {self.token[start:]!r}")
            self.pos += 1
            if next_char == "]":
                return
            if next_char != ",":
                self.fail(
                    f"unexpected {next_char!r} in enum values (column {self.pos}); "
                    "expected ',' or ']'; quote a value with spaces, commas, brackets "
                    'or quotes, as in enum["sold out","2-for-1"]'
                )

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def read_json_string(self) -> str:
        """Read the JSON string starting at the current `"`."""
        start = end = self.pos
        while True:
            end += 1
            if end >= len(self.token):
                self.fail(f"unclosed '\"' in {self.token[start:]!r}")
            if self.token[end] == "\\":
                end += 1
            elif self.token[end] == '"':
                break
        quoted = self.token[start : end + 1]
        try:
            # A JSON text from one double quote to the next unescaped one is a string.
            value: str = json.loads(quoted, strict=False)
        except json.JSONDecodeError as exc:
            self.fail(f"bad JSON string {quoted!r}: {exc.msg}")
        self.pos = end + 1
        return value

    def read_target(self) -> None:
        kind = self.kind
        example = f"{self.field['name']}:{kind}:User"
        if self.peek() != ":":
            self.fail(
                f"expected ':' and the target model after {kind!r}, as in {example!r}"
            )
        self.pos += 1
        target = self.read_until(_STOPS)
        if not target:
            self.fail(f"expected the target model after '{kind}:', as in {example!r}")
        if target in (*_MODIFIERS, *_ON_DELETE, "related"):
            self.fail(
                f"expected the target model after '{kind}:', got the modifier "
                f"{target!r}; as in {example + ':' + target!r}"
            )
        self.field["to"] = target
        self.end_part(target)

    def read_modifier(self) -> None:
        at = self.pos
        word = self.read_until(_STOPS)
        allowed = {
            "ref": (*_MODIFIERS, *_REF_MODIFIERS),
            "many": ("related=NAME",),
        }.get(self.kind, _MODIFIERS)
        expected = f"expected one of {', '.join(allowed)}"
        if word == "related" and self.peek() == "=":
            self.pos += 1
            related = self.read_until(_STOPS)
            if not related:
                self.fail(
                    "expected a name after 'related=', as in 'related=owned_sets'"
                )
            self.set_option("related_name", related, f"related={related}")
            self.end_part(f"related={related}")
            return
        if not word:
            self.fail(f"empty modifier at column {at + 1}; {expected}")
        if word in _ON_DELETE:
            self.set_option("on_delete", word, word)
        elif word in _MODIFIERS:
            self.set_option(word, True, word)
        elif word == "related":
            self.fail("expected 'related=NAME', as in 'related=owned_sets'")
        elif word == "optional":
            self.fail(
                "unknown modifier 'optional'; write '?' after the type, as in 'str?'"
            )
        else:
            names = (*_MODIFIERS, *_ON_DELETE, "related")
            self.fail(f"unknown modifier {word!r}{_suggest(word, names)}; {expected}")
        self.end_part(word)

    def set_option(self, key: str, value: object, written: str) -> None:
        if key in ("on_delete", "related_name") and self.kind not in ("ref", "many"):
            self.fail(
                f"modifier {written!r} applies only to a ref, not to a {self.kind}"
            )
        if self.kind == "many" and key != "related_name":
            self.fail(
                f"modifier {written!r} does not apply to a many field; it takes only "
                "'related=NAME'"
            )
        if key in self.field:
            previous = self.field[key]
            if key == "on_delete" and previous != value:
                self.fail(f"{value!r} conflicts with {previous!r}; pick one on_delete")
            self.fail(f"modifier {written.partition('=')[0]!r} is given twice")
        self.field[key] = value

    def read_default(self) -> object:
        text = self.token[self.pos :]
        kind = self.kind
        if kind in ("ref", "many"):
            self.fail(f"{_kind_words(kind)} takes no default; drop the '=' part")
        if kind in _TEXT_DEFAULTS:
            if not text.startswith('"'):
                return text
            value = self.read_json_string()
            if self.pos < len(self.token):
                self.fail(
                    f"unexpected {self.token[self.pos :]!r} after the quoted default; "
                    "a quoted default is one JSON string"
                )
            return value
        if kind == "bool":
            if text not in ("true", "false"):
                self.fail(f"expected true or false as the default, got {text!r}")
            return text == "true"
        if kind == "json":
            return self.json_default(text)
        if _INTEGER.fullmatch(text):
            try:
                return int(text)
            except ValueError:  # more digits than Python converts
                self.fail(f"the default has {len(text)} digits, too many")
        if kind == "float" and _NUMBER.fullmatch(text):
            number = float(text)
            if not math.isfinite(number):
                self.fail(f"the default {text!r} is out of range for a float")
            return number
        what = "a number" if kind == "float" else "an integer"
        self.fail(f"expected {what} as the default, got {text!r}")

    def json_default(self, text: str) -> object:
        try:
            value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        except json.JSONDecodeError as exc:
            column = self.pos + exc.pos + 1
            self.fail(f"expected a JSON default: {exc.msg} (column {column})")
        except (ValueError, RecursionError) as exc:
            self.fail(f"expected a JSON default: {exc}")
        if value is None:
            self.fail("a null default is no default; drop '=null'")
        return value


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range for a float")
    return number


def _suggest(
    word: str, choices: Sequence[str], synonyms: Mapping[str, str] | None = None
) -> str:
    """`" (did you mean 'int'?)"` for a synonym or a near miss, else ""."""
    close = (synonyms or {}).get(word)
    if close is None:
        matches = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.75)
        close = matches[0] if matches else None
    return f" (did you mean {close!r}?)" if close else ""


def _word(key: str, value: str) -> str:
    if not value or any(char in _STOPS for char in value):
        raise ValueError(f"{key} {value!r} cannot be written: it is empty or has : ? =")
    return value


def _quote(text: str) -> str:
    """`text` as a JSON string, readable: only unprintable characters escaped."""
    return _escape_unprintable(json.dumps(text, ensure_ascii=False))


def _escape_unprintable(json_text: str) -> str:
    """Escape the unprintable characters `json.dumps(ensure_ascii=False)` leaves."""
    escaped = []
    for char in json_text:
        if char.isprintable():
            escaped.append(char)
        elif ord(char) > 0xFFFF:
            high, low = divmod(ord(char) - 0x10000, 0x400)
            escaped.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            escaped.append(f"\\u{ord(char):04x}")
    return "".join(escaped)


def _format_value(value: str) -> str:
    bare = value.isprintable() and not any(
        char.isspace() or char in _NOT_BARE for char in value
    )
    return value if value and bare else _quote(value)


def _format_text(text: str) -> str:
    plain = text and text[0] != '"' and text.isprintable() and text == text.strip()
    return text if plain else _quote(text)


def _format_default(kind: str, value: object) -> str:
    text: str | None = None
    if kind == "json":
        try:
            dumped = json.dumps(
                value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        except TypeError:  # e.g. a date inside: not JSON
            dumped = None
        text = None if dumped is None else _escape_unprintable(dumped)
    elif isinstance(value, bool):
        text = ("true" if value else "false") if kind == "bool" else None
    elif isinstance(value, int) and kind in ("int", "bigint", "float", "decimal"):
        text = str(value)
    elif isinstance(value, float) and kind in ("float", "decimal"):
        text = repr(value) if math.isfinite(value) else None
    elif isinstance(value, decimal.Decimal) and kind == "decimal":
        text = _format_text(str(value))
    elif (
        isinstance(value, dt.date)
        and kind in ("date", "datetime")
        or isinstance(value, dt.time)
        and kind == "time"
    ):
        text = value.isoformat()
    elif isinstance(value, uuid.UUID) and kind == "uuid":
        text = str(value)
    elif isinstance(value, str) and kind in _TEXT_DEFAULTS:
        text = _format_text(value)
    if text is None:
        raise ValueError(f"a {kind} field cannot default to {value!r}")
    return text


def _kind_words(kind: str) -> str:
    """A ref or a many field, in messages: "a ref", "a many field"."""
    return "a ref" if kind == "ref" else f"a {kind} field"
