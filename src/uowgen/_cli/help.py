"""How the help pages print: help texts as written, values named as click names them.

Typer's Rich help reads every help text as Rich markup, where `[tool.uowgen.doctor]`
or `[active,blocked]` is a style tag and vanishes. uowgen's help texts are plain
text: the command classes here escape them, once, when a help page is formatted (so
no help text escapes by hand, and a command that runs never imports Rich for it).

Typer 0.29 prints each parameter's Python type in angle brackets: `<bool>` after
every flag (`--help` too), `<list[Path]>`, `<str>`. These classes print what click
prints: nothing after a flag, and `TEXT`, `PATH`, `DIR`, `FILE` or the choices
(`[text|json]`) for a value; a `metavar=` given to an option still wins.

Every command and the app use them (`uowgen._cli.commands`); a test renders every
help page through them (tests/unit/test_cli.py).
"""

from __future__ import annotations

import re
import weakref
from typing import Any, Final

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# The markup mode every help page renders in: Rich (boxes, colour), plain texts.
MARKUP_MODE: Final = "rich"

# Typer's type label (inside its angle brackets) -> the name click prints.
_NAMES: Final = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "path": "PATH",
    "Path": "PATH",
    "dir": "DIR",
    "file": "FILE",
    "uuid": "UUID",
    "UUID": "UUID",
}
_LIST: Final = re.compile(r"list\[(.*)\]")
# The commands whose texts are escaped already: escaping twice would print escapes.
_ESCAPED: Final[weakref.WeakSet[object]] = weakref.WeakSet()


def click_type_name(label: str) -> str:
    """Typer's type label (`<list[Path]>`, `<dir>`, `<a|b>`) as click names it.

    A list is named by its items (the option is repeated, the argument takes
    several); choices are listed in brackets; any other type in capitals.
    """
    inner = label.removeprefix("<").removesuffix(">")
    if match := _LIST.fullmatch(inner):
        inner = match.group(1)
    if "|" in inner:
        return f"[{inner}]"
    return _NAMES.get(inner, inner.upper())


class _Option(TyperOption):
    """An option whose help names its value as click does, and a flag's nothing."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        shown = click_type_name(self.display_type(ctx))
        return f"{shown}..." if self.nargs != 1 else shown


class _Argument(TyperArgument):
    """An argument whose help names its value as click does."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return click_type_name(self.display_type(ctx))


def _plain_params(params: list[Any]) -> list[Any]:
    """The parameters, shown the click way (their class swapped, nothing else)."""
    for param in params:
        if isinstance(param, TyperOption) and not isinstance(param, _Option):
            param.__class__ = _Option
        elif isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument
    return params


def _escape_texts(command: object) -> None:
    """Make every help text of `command` print as written, in Rich's markup mode."""
    if not isinstance(command, TyperCommand | TyperGroup) or command in _ESCAPED:
        return
    _ESCAPED.add(command)
    if command.rich_markup_mode != "rich":
        return  # no markup: the texts print as they are
    from rich.markup import escape

    def escaped(text: str | None) -> str | None:
        return escape(text) if text else text

    command.help = escaped(command.help)
    command.short_help = escaped(command.short_help)
    command.epilog = escaped(command.epilog)
    for param in command.params:
        if isinstance(param, TyperOption | TyperArgument):
            param.help = escaped(param.help)


class UowgenCommand(TyperCommand):
    """A command whose help prints its texts as written and its values click's way."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters (`--help` included), shown the click way."""
        return _plain_params(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Its help page, its texts escaped first."""
        _escape_texts(self)
        super().format_help(ctx, formatter)


class UowgenGroup(TyperGroup):
    """The app: its help prints as its commands' do (their summaries included)."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters (`--help` included), shown the click way."""
        return _plain_params(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Its help page, its texts and its commands' escaped first."""
        for command in (self, *self.commands.values()):
            _escape_texts(command)
        super().format_help(ctx, formatter)
