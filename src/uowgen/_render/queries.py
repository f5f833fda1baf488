"""A list's query parameters: its filters and the keys it may sort by.

The query convention lives here, once: `?name=value` is equality,
`?name__<op>=value` the rest, and `?sort=` names keys from `sort_keys`.
"""

from __future__ import annotations

from collections.abc import Sequence

from uowgen._render.contract import Field, Filter, Link, SortKey
from uowgen._render.literals import py_str
from uowgen._schema.tables import Column, Table
from uowgen._schema.types import TYPES
from uowgen._spec.models import SUBJECT_FIELD

# The range operators of ordered types (numbers, dates, times, the timestamps).
_RANGES = {
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
}
# What a query string's text is read as for a ref's id, and for the timestamps.
_ID_FILTER = "QueryId"
_TIMESTAMP_FILTER = "Instant"


def spec_columns(table: Table) -> list[Column]:
    """The columns of the spec's fields, in order (not `auth.user_model`'s subject)."""
    return [c for c in table.columns.values() if c.field is not SUBJECT_FIELD]


def filters(
    table: Table, fields: list[Field], links: Sequence[Link] = ()
) -> list[Filter]:
    """A list's filters: equality on each field, ranges, null checks, search.

    The query convention: `?name=value` is equality, `?name__<op>=value` the rest
    (gt, gte, lt, lte, isnull, icontains), as in Django and fastcrud.
    """
    found: list[Filter] = []

    def add(
        attr: str,
        operator: str,
        annotation: str,
        description: str,
        *,
        linked: bool = False,
    ) -> None:
        param = f"{attr}__{operator}" if operator else attr
        found.append(
            Filter(param, attr, operator, annotation, py_str(description), linked)
        )

    for f, column in zip(fields, spec_columns(table), strict=True):
        kind = TYPES.get(f.kind)
        if kind is not None and not kind.filterable:
            continue
        annotation = (
            _ID_FILTER if kind is None else column.params.fill(kind.query_annotation())
        )
        add(f.attr, "", annotation, f"Rows whose `{f.attr}` equals this.")
        if kind is not None and kind.ordered:
            for operator, words in _RANGES.items():
                add(
                    f.attr, operator, annotation, f"Rows whose `{f.attr}` {words} this."
                )
        if f.optional:
            add(
                f.attr,
                "isnull",
                "bool",
                f"true: rows without a `{f.attr}`; false: rows with one.",
            )
        if column.field.searchable:
            add(
                f.attr,
                "icontains",
                annotation,
                f"Rows whose `{f.attr}` contains this text, in any letter case.",
            )
    for name in ("created_at", "updated_at"):
        for operator, words in _RANGES.items():
            add(name, operator, _TIMESTAMP_FILTER, f"Rows whose `{name}` {words} this.")
    for link in links:
        # `?tag_id=3`: the rows linked to that tag (EXISTS on the table of links).
        add(
            link.other,
            "",
            _ID_FILTER,
            f"Rows whose `{link.name}` include the {link.target} with this id.",
            linked=True,
        )
    return found


def sort_keys(table: Table, fields: list[Field]) -> list[SortKey]:
    """What a list may sort by: the id, the timestamps, and each indexed field.

    Indexed: unique, `index`, `sortable` or a ref; the ORDER BY and the keyset
    pages read that index.
    """
    keys = [
        SortKey("id", "int", optional=False),
        SortKey("created_at", "datetime", optional=False),
        SortKey("updated_at", "datetime", optional=False),
    ]
    for f, column in zip(fields, spec_columns(table), strict=True):
        if column.unique_name is not None or column.index_name is not None:
            keys.append(SortKey(f.attr, f.read_type, optional=f.optional))
    return keys


def sort_pattern(keys: list[SortKey]) -> str:
    """The regular expression of `?sort=`: keys, each maybe `-`, comma-separated."""
    names = "|".join(key.name for key in keys)
    return f"^-?({names})(,-?({names}))*$"
