"""A renamed model's files: the user's file moves to the new path with its edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from uowgen._evolve.merge import apply_plan, plan_merge

OLD = b"class Pair:\n    pass\n\n\n# end\n"
NEW = b"class LangPair:\n    pass\n\n\n# end\n"


def test_an_edited_file_moves_to_its_new_name_with_the_edit(tmp_path: Path) -> None:
    (tmp_path / "pair.py").write_bytes(OLD.replace(b"# end", b"# end\n# mine"))

    plan = plan_merge(
        base={"pair.py": OLD},
        theirs={"lang_pair.py": NEW},
        ours=tmp_path,
        moves={"lang_pair.py": "pair.py"},
    )
    apply_plan(plan, tmp_path)

    assert not (tmp_path / "pair.py").exists()
    assert (tmp_path / "lang_pair.py").read_bytes() == NEW.replace(
        b"# end", b"# end\n# mine"
    )


def test_an_unedited_file_just_takes_the_new_render(tmp_path: Path) -> None:
    (tmp_path / "pair.py").write_bytes(OLD)

    plan = plan_merge(
        base={"pair.py": OLD},
        theirs={"lang_pair.py": NEW},
        ours=tmp_path,
        moves={"lang_pair.py": "pair.py"},
    )
    apply_plan(plan, tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["lang_pair.py"]
    assert (tmp_path / "lang_pair.py").read_bytes() == NEW


def test_a_file_the_user_deleted_stays_deleted_under_its_new_name(
    tmp_path: Path,
) -> None:
    plan = plan_merge(
        base={"pair.py": OLD},
        theirs={"lang_pair.py": NEW},
        ours=tmp_path,
        moves={"lang_pair.py": "pair.py"},
    )

    assert plan.kept_deleted == ("lang_pair.py",)
    apply_plan(plan, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_already_at_the_new_name_is_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "pair.py").write_bytes(OLD)
    (tmp_path / "lang_pair.py").write_bytes(b"mine\n")

    plan = plan_merge(
        base={"pair.py": OLD},
        theirs={"lang_pair.py": NEW},
        ours=tmp_path,
        moves={"lang_pair.py": "pair.py"},
    )

    assert plan.conflicts == ("lang_pair.py",)
    assert not any(change.writes for change in plan.changes)


def test_a_move_that_is_no_rename_is_a_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a renamed render"):
        plan_merge(
            base={"a.py": OLD},
            theirs={"a.py": NEW},
            ours=tmp_path,
            moves={"a.py": "b.py"},
        )
