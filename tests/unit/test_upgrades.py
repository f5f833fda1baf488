"""Upgrade steps and release lookup: the parts of `uowgen update` that need no render."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from uowgen._evolve.past_releases import locate
from uowgen._evolve.upgrade_steps import (
    STEPS,
    UpgradeStep,
    edits_of,
    moves_of,
    steps_between,
)
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
