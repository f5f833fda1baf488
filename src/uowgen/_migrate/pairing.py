"""Which model and field of the old spec each one of the new spec is.

Models and fields are matched by name, then by the renames the spec gives, then by
table or column name (a model renamed with its `plural` kept is the same table).
"""

from __future__ import annotations

from dataclasses import dataclass

from uowgen._schema.tables import Schema
from uowgen._spec.models import Renames
from uowgen.errors import UowgenError


@dataclass(frozen=True)
class _Pairs:
    """Which target model and field each source one becomes."""

    models: dict[str, str]  # target model -> source model
    fields: dict[tuple[str, str], str]  # (target model, target field) -> source field

    def inverse(self) -> _Pairs:
        models = {source: target for target, source in self.models.items()}
        fields = {
            (self.models[model], source): target
            for (model, target), source in self.fields.items()
        }
        return _Pairs(models, fields)


def _pair(old: Schema, new: Schema, renames: Renames) -> _Pairs:
    problems: list[str] = []
    old_models = {m.name: m for m in old.models}
    new_models = {m.name: m for m in new.models}
    models: dict[str, str] = {}
    for new_name, old_name in renames.models.items():
        where = f"model {new_name!r}"
        if new_name not in new_models:
            problems.append(f"{where}: renamed, but the new spec has no such model")
        elif old_name not in old_models:
            problems.append(
                f"{where}: renamed from {old_name!r}, which the old spec does not have"
            )
        elif old_name in models.values():
            problems.append(f"{where}: model {old_name!r} is renamed twice")
        else:
            models[new_name] = old_name
    taken = set(models.values())
    for name in new_models:
        if name not in models and name in old_models and name not in taken:
            models[name] = name
            taken.add(name)
    # A model renamed with its table kept (`plural`) is the same table.
    unpaired_old = {
        old.table_names[name]: name for name in old_models if name not in taken
    }
    for name in new_models:
        if name not in models and new.table_names[name] in unpaired_old:
            models[name] = unpaired_old.pop(new.table_names[name])
    for new_name, old_name in models.items():
        table, before = new.table_names[new_name], old.table_names[old_name]
        owner = next((m for m, t in old.table_names.items() if t == table), None)
        if table != before and owner is not None:
            problems.append(
                f"model {new_name!r}: its table {table!r} is still model {owner!r}'s "
                "in the old spec; rename in two steps"
            )
    fields = _pair_fields(old, new, models, renames, problems)
    _check_link_names(old, new, models, fields, problems)
    if problems:
        raise UowgenError("\n".join(problems))
    return _Pairs(models, fields)


def _pair_fields(
    old: Schema,
    new: Schema,
    models: dict[str, str],
    renames: Renames,
    problems: list[str],
) -> dict[tuple[str, str], str]:
    fields: dict[tuple[str, str], str] = {}
    used: dict[str, set[str]] = {model: set() for model in models}
    for (model, new_field), old_field in renames.fields.items():
        where = f"model {model!r}, field {new_field!r}"
        if model not in models:
            problems.append(
                f"{where}: renamed, but model {model!r} is not in both specs"
            )
            continue
        old_model = models[model]
        if new_field not in _field_names(new, model):
            problems.append(f"{where}: renamed, but the new spec has no such field")
        elif old_field not in _field_names(old, old_model):
            problems.append(
                f"{where}: renamed from {old_field!r}, which model {old_model!r} "
                "does not have in the old spec"
            )
        elif old_field in used[model]:
            problems.append(f"{where}: field {old_field!r} is renamed twice")
        else:
            fields[model, new_field] = old_field
            used[model].add(old_field)
    for model, old_model in models.items():
        before, after = old.tables[old_model].columns, new.tables[model].columns
        taken = used[model]
        # Many fields (tables of links) by name; a rename said so above.
        old_links = {link.field.name for link in old.links_of(old_model)}
        for link in new.links_of(model):
            name = link.field.name
            if (model, name) not in fields and name in old_links and name not in taken:
                fields[model, name] = name
                taken.add(name)
        for name in after:
            if (model, name) not in fields and name in before and name not in taken:
                fields[model, name] = name
                taken.add(name)
        # A field whose column is the same column (`owner` ref -> `owner_id` int).
        unpaired = {c.name: f for f, c in before.items() if f not in taken}
        for name, column in after.items():
            if (model, name) not in fields and column.name in unpaired:
                fields[model, name] = unpaired.pop(column.name)
                taken.add(fields[model, name])
        for name, column in after.items():
            source = fields.get((model, name))
            if source is None or before[source].name == column.name:
                continue
            # Columns are renamed after the dropped ones go, one rename at a time.
            owner = next(
                (f for f, c in before.items() if c.name == column.name and f in taken),
                None,
            )
            if owner is not None:
                problems.append(
                    f"model {model!r}, field {name!r}: its column {column.name!r} "
                    f"is still field {owner!r}'s in the old spec; rename in two steps"
                )
    return fields


def _check_link_names(
    old: Schema,
    new: Schema,
    models: dict[str, str],
    fields: dict[tuple[str, str], str],
    problems: list[str],
) -> None:
    """A table of links may not move to a name another kept table still has.

    Links move one table at a time (`_Diff._move_links`): a swap of two many
    fields' names would make the second table before the first is gone.
    """
    kept: dict[str, tuple[str, str]] = {}  # table -> the old (model, field)
    for (model, _), source in fields.items():
        key = models[model], source
        if key in old.links:
            kept[old.links[key].name] = key
    for (model, field), source in fields.items():
        after = new.links.get((model, field))
        before = old.links.get((models[model], source))
        if after is None or before is None or after.name == before.name:
            continue
        holder = kept.get(after.name)
        if holder is not None:
            problems.append(
                f"model {model!r}, field {field!r}: its table of links "
                f"{after.name!r} is still {holder[0]}.{holder[1]}'s in the old "
                "spec; rename in two steps"
            )


def _field_names(schema: Schema, model: str) -> set[str]:
    """A model's fields: its columns' and its many fields'."""
    columns = set(schema.tables[model].columns)
    return columns | {link.field.name for link in schema.links_of(model)}
