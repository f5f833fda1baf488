"""Spec text as literals of the languages the template writes."""

from __future__ import annotations


def py_str(value: str) -> str:
    """A Python string literal for any text: quotes, backslashes, newlines escaped."""
    return repr(value)


def markdown(value: str) -> str:
    """Text shown literally in Markdown: its markup characters escaped."""
    return "".join(
        f"\\{char}" if char in "\\`*_{}[]<>()#+-.!|" else char for char in value
    )
