"""A spec as the text kept in a generated project's `uowgen.yml`."""

from __future__ import annotations

from typing import Any

import yaml

from uowgen._render.answers import in_written_order
from uowgen._spec.models import ProjectSpec

# A field's keys in the order people write them (docs/spec.md): the name, the type,
# what it refers to or allows, unique, its size, then optional, index, sortable,
# searchable, default, and a ref's on_delete and related_name. A key not listed
# (none yet) goes last.
FIELD_KEY_ORDER = (
    "name",
    "type",
    "to",
    "values",
    "unique",
    "max_length",
    "precision",
    "scale",
    "optional",
    "index",
    "sortable",
    "searchable",
    "default",
    "on_delete",
    "related_name",
)
_FIELD_KEY_RANK = {key: rank for rank, key in enumerate(FIELD_KEY_ORDER)}


def spec_yaml(spec: ProjectSpec, written: object = None) -> str:
    """The text of a spec, as kept in the generated `uowgen.yml`.

    One field a line, and no line wrapped however long (an enum's values stay on
    their field's line). Keys are in the order the spec was written in (`written`:
    its `models` as YAML read them), else a field's in `FIELD_KEY_ORDER`.
    """
    data = spec.to_data()
    models = [
        {**model, "fields": [_in_key_order(field) for field in model["fields"]]}
        for model in data["models"]
    ]
    data["models"] = [
        {
            **model,
            **({"access": _flow(model["access"])} if "access" in model else {}),
            "fields": [_flow(field) for field in model["fields"]],
        }
        for model in in_written_order(models, written)
    ]
    return yaml.dump(
        data,
        Dumper=_SpecDumper,
        sort_keys=False,
        allow_unicode=True,
        width=float("inf"),  # PyYAML only compares it: never wrap
    )


def _in_key_order(field: dict[str, Any]) -> dict[str, Any]:
    last = len(FIELD_KEY_ORDER)
    return {
        key: field[key]
        for key in sorted(field, key=lambda key: _FIELD_KEY_RANK.get(key, last))
    }


class _Flow(dict[str, Any]):
    """A mapping dumped on one line: `{name: email, type: str}`."""


def _flow(value: dict[str, Any]) -> _Flow:
    return _Flow(value)


class _SpecDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as people write YAML by hand.
        del indentless
        super().increase_indent(flow, False)


_SpecDumper.add_representer(
    _Flow,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=True
    ),
)
# A string with a line break is double-quoted, where PyYAML escapes it (`\n`): single
# quotes would fold it over lines, and it would break its field's line. U+0085 (NEXT
# LINE) is one: PyYAML writes it raw in plain and single-quoted scalars, where it
# reads back as a line break; double quotes escape it as `\N`.
_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")
_SpecDumper.add_representer(
    str,
    lambda dumper, data: dumper.represent_scalar(
        "tag:yaml.org,2002:str",
        data,
        style='"' if _LINE_BREAKS.intersection(data) else None,
    ),
)
