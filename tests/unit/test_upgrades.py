"""Upgrade steps and release lookup: the parts of `uowgen update` that need no render."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from uowgen._evolve.past_releases import locate
from uowgen._evolve.project import Project
from uowgen._evolve.sync import plan_sync
from uowgen._evolve.upgrade_steps import (
    STEPS,
    UpgradeStep,
    edits_of,
    moves_of,
    spec_of,
    steps_between,
)
from uowgen._render.answers import spec_answers
from uowgen._schema import naming
from uowgen._spec.validate import parse_spec_text
from uowgen._version import __version__
from uowgen.errors import UowgenError

RELEASES = Path(__file__).resolve().parents[1] / "fixtures" / "releases"

SYNTHETIC = (
    UpgradeStep("0.4.0", "b", moves={"src/{package}/a.py": "src/{package}/b.py"}),
    UpgradeStep("0.3.0", "a"),
    UpgradeStep("0.10.0", "c", moves={"src/{package}/b.py": "src/{package}/c.py"}),
)


def test_steps_between_takes_the_versions_crossed_in_order() -> None:
    crossed = steps_between("0.2.0", "0.10.0", SYNTHETIC)
    assert [step.version for step in crossed] == ["0.3.0", "0.4.0", "0.10.0"]
    assert [s.version for s in steps_between("0.3.0", "0.4.0", SYNTHETIC)] == ["0.4.0"]
    assert steps_between("0.10.0", "0.10.0", SYNTHETIC) == []


def test_a_file_moved_twice_moves_once_from_its_first_path() -> None:
    crossed = steps_between("0.2.0", "0.10.0", SYNTHETIC)
    assert moves_of(crossed, "shop") == {"src/shop/c.py": "src/shop/a.py"}


def test_every_shipped_step_belongs_to_a_released_or_the_current_version() -> None:
    assert STEPS, "0.3.0 renamed two settings"
    for step in STEPS:
        assert steps_between("0.0.0", __version__, (step,)) == [step]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("DB_POOL_TIMEOUT=3\n", "DB_POOL_TIMEOUT_S=3\n"),
        ("export db_connect_timeout = 4\n", "export DB_CONNECT_TIMEOUT_S = 4\n"),
        # Other variables, longer names and comments stay as they are.
        ("DB_POOL_TIMEOUT_S=3\n", None),
        ("# DB_POOL_TIMEOUT=3 was too long\nDB_POOL_SIZE=5\n", None),
    ],
)
def test_the_0_3_0_step_renames_the_timeouts_in_env_files(
    tmp_path: Path, before: str, after: str | None
) -> None:
    (tmp_path / ".env.production").write_text(before)
    (tmp_path / ".envrc").mkdir()  # a folder named like one is left alone
    edits = edits_of(steps_between("0.2.0", "0.3.0"), tmp_path)
    expected = {} if after is None else {".env.production": after.encode()}
    assert edits == expected
    assert (tmp_path / ".env.production").read_text() == before  # a plan only


def test_a_wheel_from_elsewhere_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(UowgenError, match="not a uowgen wheel"):
        locate("0.2.0", source=str(fake), ref=None, answers={}, scratch=tmp_path)
    evil = tmp_path / "uowgen-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escaped.py", "")
    with pytest.raises(UowgenError, match="unsafe path"):
        locate("0.2.0", source=str(evil), ref=None, answers={}, scratch=tmp_path)
    assert not (tmp_path.parent / "escaped.py").exists()


def test_the_release_wheel_is_read_without_importing_it(tmp_path: Path) -> None:
    wheel = RELEASES / "uowgen-0.2.0-py3-none-any.whl"
    release = locate("0.2.0", source=str(wheel), ref=None, answers={}, scratch=tmp_path)
    assert release.version == "0.2.0"
    assert (release.path / "uowgen" / "_template" / "copier.yml").is_file()
    with pytest.raises(
        UowgenError, match=r"holds uowgen 0\.2\.0.*rendered by uowgen 0\.1\.0"
    ):
        locate("0.1.0", source=str(wheel), ref=None, answers={}, scratch=tmp_path / "b")


def test_an_unknown_version_needs_a_source(tmp_path: Path) -> None:
    with pytest.raises(UowgenError, match="records no uowgen version"):
        locate(None, source=None, ref=None, answers={}, scratch=tmp_path)
    with pytest.raises(UowgenError, match="not a git URL"):
        locate("0.2.0", source="nowhere", ref=None, answers={}, scratch=tmp_path)


# A project rendered by 0.4.0, whose plurals 0.5.0 derives otherwise for two models.
LIBRARY = """\
# Our library.
project_name: Library
models:
  - name: BookShelf   # where the books go
    fields:
      - {name: label, type: str, max_length: 40, unique: true}
      - {name: kind, type: enum, values: [oak, pine, birch, maple, walnut, cherry, teak, mahogany, ash, beech, cedar], default: oak}
  - name: Hero
    plural: champions
    fields: [{name: alias, type: str}]
  - name: Book
    fields:
      - { name: title, type: str }
      - {name: shelf, type: ref, to: BookShelf, on_delete: cascade}
  - name: Leaf
    fields:
      - {name: text, type: text}
# The end.
"""
PINNED = LIBRARY.replace(
    "  - name: BookShelf   # where the books go\n",
    "  - name: BookShelf   # where the books go\n    plural: book_shelfs\n",
).replace("  - name: Leaf\n", "  - name: Leaf\n    plural: leafs\n")


def step_0_5_0() -> list[UpgradeStep]:
    steps = steps_between("0.4.0", "0.5.0")
    assert [step.version for step in steps] == ["0.5.0"]
    return steps


def test_the_0_5_0_step_pins_the_old_plurals_that_changed_and_keeps_the_layout(
    tmp_path: Path,
) -> None:
    (tmp_path / "uowgen.yml").write_text(LIBRARY)
    edits = edits_of(step_0_5_0(), tmp_path)
    # Only BookShelf and Leaf: Hero sets its plural, Book's is the same.
    assert edits == {"uowgen.yml": PINNED.encode()}
    assert (tmp_path / "uowgen.yml").read_text() == LIBRARY  # a plan only
    spec = parse_spec_text(PINNED)
    assert [naming.table(m.name, m.plural) for m in spec.models] == [
        "book_shelfs",
        "champions",
        "books",
        "leafs",
    ]


@pytest.mark.parametrize(
    "text",
    [
        PINNED,  # pinned already: a second update changes nothing
        "project_name: P\nmodels: [{name: User, fields: [{name: e, type: str}]}]\n",
        "models: [",  # not YAML: sync will say so
        "project_name: P\n",
    ],
)
def test_the_0_5_0_step_leaves_a_spec_without_changed_plurals_alone(
    tmp_path: Path, text: str
) -> None:
    (tmp_path / "uowgen.yml").write_text(text)
    assert edits_of(step_0_5_0(), tmp_path) == {}
    (tmp_path / "uowgen.yml").unlink()
    assert edits_of(step_0_5_0(), tmp_path) == {}


def test_the_0_5_0_step_renders_the_recorded_spec_with_the_old_plurals() -> None:
    recorded = parse_spec_text(LIBRARY)
    amended = spec_of(step_0_5_0(), recorded)
    assert [m.plural for m in amended.models] == [
        "book_shelfs",
        "champions",
        None,
        "leafs",
    ]
    # What the new answers record is what uowgen.yml says after the update: `sync`
    # finds the project in step, and no table is renamed.
    assert amended.renders_like(parse_spec_text(PINNED))
    assert spec_of(step_0_5_0(), amended) == amended
    assert spec_of(steps_between("0.5.0", "0.5.0"), recorded) is recorded


def test_sync_refuses_a_project_of_an_older_version_and_points_at_update(
    tmp_path: Path,
) -> None:
    """Until `uowgen update` pins them, sync cannot rename an old project's tables."""
    (tmp_path / "uowgen.yml").write_text(LIBRARY)
    answers = {
        **spec_answers(parse_spec_text(LIBRARY)),
        "_uowgen_version": "0.4.0",
    }
    (tmp_path / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    with pytest.raises(UowgenError, match=r"rendered by uowgen 0\.4\.0.*uowgen update"):
        plan_sync(Project(tmp_path))
