"""What the template receives for examples/shop.yml: names, tables, routes, literals."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from uowgen._render.context import build_context
from uowgen._render.contract import Context, Entity, Enum, Field, Reverse
from uowgen._render.spec_text import spec_yaml
from uowgen._spec.models import ProjectSpec
from uowgen._spec.validate import load_spec, parse_spec, parse_spec_text

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))


@pytest.fixture(scope="module")
def shop_spec() -> ProjectSpec:
    return load_spec(REPO / "examples" / "shop.yml")


@pytest.fixture(scope="module")
def shop(shop_spec: ProjectSpec) -> Context:
    return build_context(shop_spec)


def entity(context: Context, name: str) -> Entity:
    found = [e for e in context.entities if e.name == name]
    assert len(found) == 1
    return found[0]


def field_of(context: Context, model: str, name: str) -> Field:
    fields = entity(context, model).fields
    found = [f for f in fields if f.name == name]
    assert len(found) == 1
    return found[0]


def test_project_level_names_come_from_the_spec(shop: Context) -> None:
    assert shop.package == "shop"
    assert shop.distribution == "shop"
    assert ast.literal_eval(shop.title_literal) == 'Shop "Deluxe" API'
    assert shop.title_toml == '"Shop \\"Deluxe\\" API"'
    # One flag per field type (does a model have one?), and whether samples need
    # the tests' `values` helpers.
    assert all(shop.uses.values())  # shop has every field type, a many field too
    assert shop.uses["sample_values"] is True


@pytest.mark.parametrize(
    ("model", "module", "table", "route", "id_param"),
    [
        ("Category", "category", "categories", "/categories", "category_id"),
        ("Customer", "customer", "customers", "/customers", "customer_id"),
        ("Product", "product", "products", "/products", "product_id"),
        ("Order", "order", "orders", "/orders", "order_id"),
        ("OrderLine", "order_line", "order_lines", "/order-lines", "order_line_id"),
        ("HTTPLog", "http_log", "http_logs", "/http-logs", "http_log_id"),
    ],
)
def test_each_model_gets_a_module_table_and_kebab_case_route(
    shop: Context, model: str, module: str, table: str, route: str, id_param: str
) -> None:
    found = entity(shop, model)
    assert found.module == module
    assert found.table == found.plural == table
    assert found.route == route
    assert found.tag == route[1:]
    assert found.id_param == id_param
    assert found.pk_name == f"pk_{table}"


def test_each_model_gets_its_schema_and_repository_class_names(
    shop: Context,
) -> None:
    line = entity(shop, "OrderLine")
    assert [
        getattr(line, key)
        for key in (
            "create_schema",
            "update_schema",
            "public_schema",
            "list_schema",
            "summary_schema",
            "repository",
        )
    ] == [
        "OrderLineCreate",
        "OrderLineUpdate",
        "OrderLinePublic",
        "OrderLineList",
        "OrderLineSummary",
        "OrderLineRepository",
    ]


@pytest.mark.parametrize(
    ("model", "reverse"),
    [
        ("Category", ["children", "products"]),
        ("Customer", ["orders_by_buyer", "orders_by_gift_for"]),
        ("Product", ["order_lines"]),
        ("Order", ["order_lines"]),
        ("OrderLine", []),
    ],
)
def test_refs_add_reverse_collections_to_their_targets(
    shop: Context, model: str, reverse: list[str]
) -> None:
    assert [r.name for r in entity(shop, model).reverse] == reverse


def test_a_reverse_collection_points_back_at_the_ref(shop: Context) -> None:
    by_gift = entity(shop, "Customer").reverse[1]
    assert by_gift == Reverse(
        name="orders_by_gift_for",
        source="Order",
        source_module="order",
        source_admin_key="orders",
        back_populates="gift_for",
        column="gift_for_id",
        self_reference=False,
    )
    children = entity(shop, "Category").reverse[0]
    assert children.self_reference is True
    assert children.back_populates == "parent"


def test_a_ref_becomes_an_id_column_with_a_named_foreign_key(
    shop: Context,
) -> None:
    gift = field_of(shop, "Order", "gift_for")
    assert gift.attr == "gift_for_id"
    assert gift.annotation == "int | None"
    assert gift.column_args == (
        "ForeignKey('customers.id', ondelete='SET NULL'), index=True"
    )
    assert gift.ref is not None
    assert gift.ref.back_populates == "orders_by_gift_for"
    assert gift.ref.fk_name == "fk_orders_gift_for_id_customers"
    assert gift.ix_name == "ix_orders_gift_for_id"
    assert gift.uq_name is None
    parent = field_of(shop, "Category", "parent")
    assert parent.ref is not None
    assert parent.ref.self_reference is True
    assert parent.ref.back_populates == "children"


@pytest.mark.parametrize(
    ("model", "field", "uq_name", "ix_name"),
    [
        ("Category", "slug", "uq_categories_slug", None),
        ("Customer", "external_id", "uq_customers_external_id", None),
        ("Product", "name", None, "ix_products_name"),
        ("OrderLine", "product", None, "ix_order_lines_product_id"),
        ("HTTPLog", "status_code", None, "ix_http_logs_status_code"),
        ("HTTPLog", "path", None, None),
    ],
)
def test_constraint_names_follow_the_naming_convention(
    shop: Context,
    model: str,
    field: str,
    uq_name: str | None,
    ix_name: str | None,
) -> None:
    info = field_of(shop, model, field)
    assert (info.uq_name, info.ix_name) == (uq_name, ix_name)


def test_enum_values_get_member_names_and_a_class_named_after_model_and_field(
    shop: Context,
) -> None:
    (status,) = entity(shop, "Product").enums
    assert status == Enum(
        class_name="ProductStatus",
        members=[
            ("DRAFT", "'draft'"),
            ("ON_SALE", "'on-sale'"),
            ("SOLD_OUT", "'sold out'"),
            ("V_2_FOR_1", "'2-for-1'"),
        ],
        length=8,
        type_name="product_status",
    )
    assert field_of(shop, "Product", "status").default_literal == "ProductStatus.DRAFT"


@pytest.mark.parametrize(
    ("model", "field", "literal"),
    [
        ("Product", "price", "Decimal('9.99')"),
        ("Product", "stock", "0"),
        ("Customer", "vip", "False"),
        ("HTTPLog", "day", "date(2024, 2, 29)"),
        (
            "Order",
            "placed_at",
            "datetime.fromisoformat('2024-01-01T00:00:00+00:00')",
        ),
        ("Order", "note", "'line one\\nline two'"),
        ("Product", "weight_kg", None),
    ],
)
def test_defaults_become_python_expressions(
    shop: Context, model: str, field: str, literal: str | None
) -> None:
    assert field_of(shop, model, field).default_literal == literal


def test_a_default_needing_escapes_evaluates_back_to_the_spec_text(
    shop: Context, shop_spec: ProjectSpec
) -> None:
    (blurb,) = [f for m in shop_spec.models for f in m.fields if f.name == "blurb"]
    literal = field_of(shop, "Product", "blurb").default_literal
    assert literal is not None
    assert ast.literal_eval(literal) == blurb.default
    assert "\n" not in literal


@pytest.mark.parametrize(
    ("model", "field", "column_args"),
    [
        ("Category", "slug", "String(64), unique=True"),
        (
            "Product",
            "price",
            "ExactDecimal(10, 2), index=True, default=Decimal('9.99')",
        ),
        ("OrderLine", "unit_price", "ExactDecimal(12, 2)"),
        ("Order", "number", "BigInteger, unique=True"),
        ("Order", "placed_at", "UTCDateTime, default=datetime.fromisoformat("),
        ("Customer", "external_id", "Uuid, unique=True"),
        ("Product", "attributes", "JSON(none_as_null=True)"),
    ],
)
def test_columns_get_sqlalchemy_types_and_options(
    shop: Context, model: str, field: str, column_args: str
) -> None:
    assert field_of(shop, model, field).column_args.startswith(column_args)


def test_a_json_default_is_copied_per_row() -> None:
    data = {
        "project_name": "J",
        "models": [
            {
                "name": "Doc",
                "fields": [
                    {"name": "empty", "type": "json", "default": {}},
                    {"name": "tags", "type": "json", "default": {"b": None}},
                    {"name": "extra", "type": "json", "default": {"a": [1]}},
                ],
            }
        ],
    }
    context = build_context(parse_spec(data))
    args = [f.column_args for f in context.entities[0].fields]
    assert args == [
        "JSON(none_as_null=True), default=dict",
        "JSON(none_as_null=True), default=lambda: {'b': None}",
        "JSON(none_as_null=True), default=lambda: {'a': [1]}",
    ]


def test_dependency_order_puts_ref_targets_first(shop: Context) -> None:
    ordered = [e.name for e in shop.entities_in_dependency_order]
    assert sorted(ordered) == sorted(e.name for e in shop.entities)
    assert ordered.index("Category") < ordered.index("Product")
    assert ordered.index("Customer") < ordered.index("Order")
    assert ordered.index("Order") < ordered.index("OrderLine")
    assert ordered.index("Product") < ordered.index("OrderLine")


def test_dependency_order_does_not_follow_the_spec_order() -> None:
    data = {
        "project_name": "Deps",
        "models": [
            {"name": "Leaf", "fields": [{"name": "mid", "type": "ref", "to": "Mid"}]},
            {"name": "Mid", "fields": [{"name": "root", "type": "ref", "to": "Root"}]},
            {"name": "Root", "fields": [{"name": "title", "type": "str"}]},
        ],
    }
    context = build_context(parse_spec(data))
    ordered = [e.name for e in context.entities_in_dependency_order]
    assert ordered == ["Root", "Mid", "Leaf"]


def test_the_worked_example_prefers_a_unique_email(shop: Context) -> None:
    assert shop.example.entity.name == "Customer"
    assert shop.example.field is not None
    assert shop.example.field.name == "email"


def thing(name: str, *fields: dict[str, object]) -> dict[str, object]:
    return {"name": name, "fields": [{"name": "title", "type": "str"}, *fields]}


UNIQUE_CODE = {"name": "code", "type": "str", "unique": True}
UNIQUE_EMAIL = {"name": "email", "type": "str", "unique": True}
# Specs, and the model `uowgen add-model` appends to each.
APPENDED = {
    # The issue's: no model has a unique text field, and the new one has.
    "none unique": (
        [thing(f"Thing{i}") for i in range(30)],
        thing("Tag", {"name": "name", "type": "str", "unique": True}),
    ),
    "a later model unique": (
        [thing("Plain"), thing("Coded", UNIQUE_CODE)],
        thing("Other", UNIQUE_CODE),
    ),
    "an email": (
        [thing("Kind", UNIQUE_CODE), thing("Member", UNIQUE_EMAIL)],
        thing("Subscriber", UNIQUE_EMAIL),
    ),
    "two models": ([thing("Note", UNIQUE_CODE), thing("Tag")], thing("Label")),
}


def readme_picks(context: Context) -> tuple[object, ...]:
    """What the generated README derives from the models, but its per-model rows."""
    example = context.example
    return (
        example.entity.name,
        example.field.name if example.field else None,
        context.entities[0].plural,  # `tx.<plural>` names the first model's
    )


@pytest.mark.parametrize("case", APPENDED, ids=str)
def test_appending_a_model_moves_nothing_the_readme_derives(case: str) -> None:
    models, appended = APPENDED[case]
    before = build_context(parse_spec({"project_name": "P", "models": models}))
    after = build_context(
        parse_spec({"project_name": "P", "models": [*models, appended]})
    )

    assert readme_picks(after) == readme_picks(before)
    # The API table has a row per model, in spec order: one more, at the end.
    assert [e.route for e in after.entities][:-1] == [e.route for e in before.entities]


def test_the_worked_example_is_the_first_model_without_a_unique_email() -> None:
    models = [thing("Plain"), thing("Coded", UNIQUE_CODE)]
    context = build_context(parse_spec({"project_name": "P", "models": models}))
    assert readme_picks(context) == ("Plain", None, "plains")
    coded_first = build_context(
        parse_spec({"project_name": "P", "models": models[::-1]})
    )
    assert readme_picks(coded_first) == ("Coded", "code", "codeds")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_spec_yaml_parses_back_to_an_equal_spec(path: Path) -> None:
    spec = load_spec(path)
    text = spec_yaml(spec)
    again = parse_spec_text(text)
    # A YAML date default comes back as its ISO string: equal as spec data.
    assert again.to_data() == spec.to_data()
    assert build_context(again) == build_context(spec)
    assert spec_yaml(again) == text


def test_spec_yaml_is_the_canonical_text_in_the_context(
    shop: Context, shop_spec: ProjectSpec
) -> None:
    assert shop.spec_yaml == spec_yaml(shop_spec)
    assert shop.spec_yaml.startswith('project_name: Shop "Deluxe" API\n')
    assert "      - {name: slug, type: str, unique: true, max_length: 64}\n" in (
        shop.spec_yaml
    )
    # A string with a line break stays on its field's line.
    assert (
        '      - {name: note, type: str, optional: true, default: "line one\\nline '
        'two"}\n'
    ) in shop.spec_yaml


# Keys in the documented order (docs/spec.md), and lines longer than any wrap width.
WRITTEN = """\
project_name: Courses
package_name: courses
models:
  - name: VocabularySet
    plural: vocabulary_sets
    fields:
      - {name: title, type: str, max_length: 200, optional: true}
      - {name: code, type: str, unique: true, max_length: 32, index: true}
      - {name: level, type: enum, values: [beginner, intermediate, advanced, fluent, native, expert, master, grandmaster, legend], default: beginner}
      - {name: price, type: decimal, precision: 10, scale: 2, optional: true, default: '9.99'}
      - {name: blurb, type: text, default: 'a very long default text that goes on and on, well past any wrap width a YAML dumper may have'}
      - {name: owner, type: ref, to: VocabularySet, optional: true, on_delete: set_null, related_name: sets}
"""


def test_spec_yaml_writes_a_spec_in_the_documented_key_order_as_written() -> None:
    assert max(len(line) for line in WRITTEN.splitlines()) > 120
    assert spec_yaml(parse_spec_text(WRITTEN)) == WRITTEN


def test_spec_yaml_of_fastbot_is_its_example_file_without_the_comments() -> None:
    """The issue's spec: `optional` after `max_length`, the enum on one line."""
    text = (REPO / "examples" / "fastbot.yml").read_text(encoding="utf-8")
    written = "".join(line for line in text.splitlines(True) if line[:1] != "#")
    assert spec_yaml(parse_spec_text(written)) == written


@pytest.mark.parametrize(
    "text",
    ["next\x85line", "\u2028", "tab\tand\r\nnewline", "'quoted' \"twice\"", "é 🐍 \\"],
)
def test_spec_yaml_keeps_awkward_string_defaults_exactly(text: str) -> None:
    data = {
        "project_name": "Awkward",
        "models": [
            {
                "name": "Note",
                "fields": [{"name": "body", "type": "text", "default": text}],
            }
        ],
    }
    spec = parse_spec(data)
    assert parse_spec_text(spec_yaml(spec)) == spec


def one_field(field: str) -> Field:
    spec = parse_spec_text(
        f"project_name: P\nmodels:\n  - name: Thing\n    fields:\n      - {field}\n"
    )
    return build_context(spec).entities[0].fields[0]


def test_a_str_without_max_length_is_bounded_to_255() -> None:
    field = one_field("{name: label, type: str}")

    assert field.sa_type == "String(255)"
    assert field.schema_type == "Annotated[Text, Field(max_length=255)]"


def test_a_unique_indexed_field_gets_one_unique_constraint_and_no_second_index() -> (
    None
):
    # Once the model rendered a unique index and the migration a unique constraint
    # plus an index: `alembic check` failed on a valid spec.
    field = one_field("{name: code, type: str, unique: true, index: true}")

    assert "unique=True" in field.column_args
    assert "index=True" not in field.column_args
    assert field.uq_name == "uq_things_code"
    assert field.ix_name is None


@pytest.mark.parametrize(
    ("field", "input_type", "read_type"),
    [
        ("{name: f, type: text}", "Text", "str"),
        ("{name: f, type: float}", "Finite", "float"),
        ("{name: f, type: datetime}", "Instant", "datetime"),
        ("{name: f, type: json}", "JsonObject", "dict[str, Any]"),
        (
            "{name: f, type: str, max_length: 9}",
            "Annotated[Text, Field(max_length=9)]",
            "str",
        ),
        (
            "{name: f, type: decimal, precision: 5, scale: 1}",
            "Annotated[Decimal, Field(max_digits=5, decimal_places=1)]",
            "Decimal",
        ),
    ],
)
def test_input_types_are_checked_and_read_types_are_plain(
    field: str, input_type: str, read_type: str
) -> None:
    # A value stored by other means (SQL, a migration) must still read back.
    info = one_field(field)

    assert info.schema_type == input_type
    assert info.read_type == read_type


def test_a_patch_may_not_send_null_for_a_not_null_column(shop: Context) -> None:
    assert field_of(shop, "Product", "sku").update_annotation == (
        "Annotated[Text, Field(max_length=40)] | SkipJsonSchema[None]"
    )
    assert field_of(shop, "Product", "weight_kg").update_annotation == ("Finite | None")


def test_refs_are_64_bit_ids_on_input(shop: Context) -> None:
    ref = field_of(shop, "Product", "category")

    assert (ref.schema_type, ref.read_type) == ("Id", "int")


def test_schema_modules_import_exactly_the_names_they_use(
    shop: Context,
) -> None:
    imports = entity(shop, "Product").schema_imports

    # DecimalText and QueryId: the list query's filters on the price and the ref.
    assert imports.base == [
        "DecimalText",
        "Finite",
        "Id",
        "Instant",
        "JsonObject",
        "QueryId",
        "Text",
    ]
    assert imports.pydantic == ["Field"]
    assert imports.pydantic_json_schema == ["SkipJsonSchema"]
    assert "from datetime import datetime" in imports.stdlib


def test_hostile_input_tests_aim_at_the_first_field_of_each_kind(
    shop: Context,
) -> None:
    hostile = shop.hostile
    picked = {
        kind: (pick.entity.name, pick.field.name if pick.field else None)
        if pick
        else None
        for kind, pick in hostile.items()
    }

    assert picked == {
        "text": ("Category", "slug"),
        "float": ("Product", "weight_kg"),
        "decimal": ("Product", "price"),
        "json": ("Product", "attributes"),
        "datetime": ("Product", "released_at"),
        "ref": ("Category", "parent"),
        "restrict": ("Product", "category"),
        "self_ref": ("Category", "parent"),
    }


def test_the_admin_adds_its_logins_table_last_and_names_every_view() -> None:
    spec = load_spec(REPO / "examples" / "fastbot.yml")
    off = build_context(spec)
    on = build_context(parse_spec({**spec.to_data(), "admin": True}))

    assert not off.admin and off.admin_session is None
    assert "admin_sessions" not in str(off.initial_migration)
    assert on.admin and on.admin_session is not None
    assert on.admin_session.table == "admin_sessions"
    # The initial migration creates the logins table after the models' tables (the
    # tables of many-to-many links, which are no model's, come last).
    created = re.findall(r'op.create_table\(\s*"(\w+)"', str(on.initial_migration))
    models = [e.table for e in on.entities]
    assert set(models) < set(created) and "vocabulary_sets_tags" in created
    assert created.index("admin_sessions") == len(models)
    vocabulary_set = next(e for e in on.entities if e.name == "VocabularySet")
    assert (
        vocabulary_set.admin_view,
        vocabulary_set.admin_key,
        vocabulary_set.admin_name_plural,
        vocabulary_set.admin_label_field,
    ) == ("VocabularySetAdmin", "vocabulary-sets", "Vocabulary sets", "title")
    # The admin tests edit the model whose form loads the most related rows.
    assert on.admin_tests.main is vocabulary_set


def test_the_admin_tests_pick_rows_in_a_many_field_to_another_model_first() -> None:
    tag = {"name": "Tag", "fields": [{"name": "name", "type": "str"}]}
    self_link = {"name": "related", "type": "many", "to": "Article"}
    tags = {"name": "tags", "type": "many", "to": "Tag"}
    title = {"name": "title", "type": "str"}

    def pick(*fields: dict[str, str]) -> tuple[str, str] | None:
        article = {"name": "Article", "fields": [title, *fields]}
        spec = {"project_name": "Links", "models": [tag, article], "admin": True}
        chosen = build_context(parse_spec(spec)).admin_tests.link
        return None if chosen is None else (chosen.entity.name, chosen.link.name)

    # A link to another model is picked over a self link, whatever the order.
    assert pick(self_link, tags) == ("Article", "tags")
    assert pick(self_link) == ("Article", "related")
    assert pick() is None


LISTS = {
    "project_name": "Lists",
    "models": [
        {"name": "Owner", "fields": [{"name": "name", "type": "str"}]},
        {
            "name": "Book",
            "fields": [
                {"name": "title", "type": "str", "searchable": True},
                {"name": "isbn", "type": "str", "unique": True},
                {"name": "pages", "type": "int", "optional": True, "sortable": True},
                {"name": "meta", "type": "json", "default": {}},
                {"name": "owner", "type": "ref", "to": "Owner"},
            ],
        },
    ],
}


def test_each_list_filters_every_scalar_and_ref_by_the_query_convention() -> None:
    book = entity(build_context(parse_spec(LISTS)), "Book")
    params = {f.param: (f.operator, f.annotation) for f in book.filters}

    # Equality on every field but json; ranges on numbers and the timestamps;
    # null checks on optional fields; a search on searchable text only.
    assert params["title"] == ("", "Annotated[Text, Field(max_length=255)]")
    assert params["title__icontains"][0] == "icontains"
    assert "isbn__icontains" not in params
    assert params["pages"] == (
        "",
        "Annotated[int, Field(ge=-2147483648, le=2147483647)]",
    )
    assert {f"pages__{op}" for op in ("gt", "gte", "lt", "lte", "isnull")} <= set(
        params
    )
    assert not any(param.startswith("meta") for param in params)
    assert params["owner_id"] == ("", "QueryId")
    assert "owner_id__gte" not in params
    assert "title__gte" not in params and "title__isnull" not in params
    assert params["created_at__gte"] == ("gte", "Instant")


def test_lists_sort_by_the_id_the_timestamps_and_indexed_fields() -> None:
    book = entity(build_context(parse_spec(LISTS)), "Book")

    keys = {key.name: (key.annotation, key.optional) for key in book.sort_keys}

    assert keys == {
        "id": ("int", False),
        "created_at": ("datetime", False),
        "updated_at": ("datetime", False),
        "isbn": ("str", False),  # unique
        "pages": ("int", True),  # sortable
        "owner_id": ("int", False),  # a ref: indexed
    }
    pattern = re.compile(ast.literal_eval(book.sort_pattern))
    assert pattern.fullmatch("-pages,isbn")
    assert not pattern.fullmatch("title")


def test_a_sortable_field_gets_the_index_its_order_reads() -> None:
    book = entity(build_context(parse_spec(LISTS)), "Book")
    pages = next(f for f in book.fields if f.name == "pages")

    assert pages.ix_name == "ix_books_pages"
    assert "index=True" in pages.column_args


LINKED = """
project_name: Blog
models:
  - name: Tag
    fields:
      - {name: label, type: str, unique: true}
      - {name: creator, type: ref, to: Article, optional: true, on_delete: set_null, related_name: created_tags}
  - name: Article
    fields:
      - {name: title, type: str}
      - {name: tags, type: many, to: Tag}
      - {name: related, type: many, to: Article}
"""


def test_a_many_field_is_a_link_not_a_field() -> None:
    context = build_context(parse_spec_text(LINKED))
    tag, article = context.entities
    assert [f.name for f in article.fields] == ["title"]
    tags, related = article.links
    assert (tags.table, tags.owner, tags.other, tags.ids) == (
        "articles_tags",
        "article_id",
        "tag_id",
        "tag_ids",
    )
    assert (tags.route, tags.stem, tags.summary) == ("/tags", "tag", "TagSummary")
    # A link to its own model names its second column after the field.
    assert (related.other, related.ids, related.self_reference) == (
        "related_article_id",
        "related_article_ids",
        True,
    )
    assert [(by.name, by.source) for by in tag.linked_by] == [("articles", "Article")]
    assert [f.param for f in article.filters if f.linked] == [
        "tag_id",
        "related_article_id",
    ]
    assert article.create_dump == (
        'data.model_dump(exclude={"tag_ids", "related_article_ids"})'
    )
    assert article.link_targets == ["Tag"]
    assert "tag_ids" in article.not_null


def test_summaries_of_linked_models_are_in_their_own_module() -> None:
    context = build_context(parse_spec_text(LINKED))
    tag, article = context.entities
    # Tag refers to Article and Article links to Tag: with the summaries in each
    # other's modules, the two schema modules would import each other.
    assert context.summaries is not None
    assert [e.name for e in context.summaries.entities] == ["Tag", "Article"]
    assert tag.summary_imports == [("summaries", ["ArticleSummary"])]
    assert article.summary_imports == [("summaries", ["ArticleSummary", "TagSummary"])]
    assert (
        build_context(parse_spec_text(LINKED.split("      - {name: tags")[0])).summaries
        is None
    )
