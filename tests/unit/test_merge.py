"""Three-way merge of a new render into an edited project: every rule, on tmp trees."""

from __future__ import annotations

import re
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uowgen._evolve.line_merge import (
    conflict_marker_lines,
    find_conflict_markers,
    has_conflict_markers,
    merge_file,
)
from uowgen._evolve.merge import (
    FileChange,
    MergePlan,
    apply_plan,
    diff_plan,
    plan_merge,
)
from uowgen.errors import UowgenError

POSIX_ONLY = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX permissions, links and /bin/sh"
)

SERVICE = b"""\
from shop.errors import NotFoundError


def read_order(order_id: int) -> int:
    return order_id


def delete_order(order_id: int) -> None:
    return None
"""


def write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def actions(plan: MergePlan) -> dict[str, str]:
    return {change.path: change.action for change in plan.changes}


def test_a_user_edit_where_the_template_did_not_change_survives_the_template_change(
    tmp_path: Path,
) -> None:
    ours = SERVICE.replace(b"return order_id", b"return order_id * 2  # mine")
    theirs = SERVICE.replace(b"return None", b"raise NotFoundError(order_id)")
    write_tree(tmp_path, {"services/order.py": ours})

    plan = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": theirs},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.merged == ("services/order.py",)
    assert plan.conflicts == ()
    merged = (tmp_path / "services/order.py").read_bytes()
    assert b"return order_id * 2  # mine" in merged
    assert b"raise NotFoundError(order_id)" in merged
    assert not has_conflict_markers(merged.decode())


def test_both_sides_changing_the_same_line_writes_conflict_markers_with_both_versions(
    tmp_path: Path,
) -> None:
    ours = SERVICE.replace(b"return order_id\n", b"return order_id + 1\n")
    theirs = SERVICE.replace(b"return order_id\n", b"return abs(order_id)\n")
    write_tree(tmp_path, {"services/order.py": ours})

    plan = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": theirs},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.conflicts == ("services/order.py",)
    text = (tmp_path / "services/order.py").read_text()
    assert "<<<<<<< yours\n    return order_id + 1\n" in text
    assert "||||||| last render\n    return order_id\n" in text
    assert "=======\n    return abs(order_id)\n>>>>>>> new render\n" in text
    assert conflict_marker_lines(text) == [5]


def test_a_file_the_user_deleted_stays_deleted_and_is_reported(tmp_path: Path) -> None:
    theirs = SERVICE.replace(b"return None", b"pass")

    plan = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": theirs},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.kept_deleted == ("services/order.py",)
    assert plan.changes[0].new is None
    assert read_tree(tmp_path) == {}


def test_a_file_no_longer_generated_is_deleted_with_its_empty_folders_when_unedited(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path, {"src/shop/services/order.py": SERVICE, "README.md": b"shop\n"}
    )

    plan = plan_merge(
        base={"src/shop/services/order.py": SERVICE}, theirs={}, ours=tmp_path
    )
    apply_plan(plan, tmp_path)

    assert plan.deleted == ("src/shop/services/order.py",)
    assert not (tmp_path / "src").exists()
    assert read_tree(tmp_path) == {"README.md": b"shop\n"}


def test_pruning_stops_at_a_folder_that_still_holds_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"src/shop/services/order.py": SERVICE, "src/shop/mine.py": b""}
    )

    apply_plan(
        plan_merge(
            base={"src/shop/services/order.py": SERVICE}, theirs={}, ours=tmp_path
        ),
        tmp_path,
    )

    assert not (tmp_path / "src/shop/services").exists()
    assert read_tree(tmp_path) == {"src/shop/mine.py": b""}


def test_removing_every_file_never_removes_the_project_root(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    write_tree(root, {"a.py": b"a\n"})

    apply_plan(plan_merge(base={"a.py": b"a\n"}, theirs={}, ours=root), root)

    assert root.is_dir()
    assert read_tree(root) == {}


def test_a_file_no_longer_generated_is_kept_and_reported_when_the_user_edited_it(
    tmp_path: Path,
) -> None:
    edited = SERVICE + b"# mine\n"
    write_tree(tmp_path, {"services/order.py": edited})

    plan = plan_merge(base={"services/order.py": SERVICE}, theirs={}, ours=tmp_path)
    apply_plan(plan, tmp_path)

    assert plan.kept_edited == ("services/order.py",)
    assert read_tree(tmp_path) == {"services/order.py": edited}


def test_a_file_no_longer_generated_and_already_gone_is_not_mentioned(
    tmp_path: Path,
) -> None:
    assert plan_merge(base={"gone.py": SERVICE}, theirs={}, ours=tmp_path).changes == ()


def test_a_newly_generated_file_is_created_with_its_folders(tmp_path: Path) -> None:
    plan = plan_merge(
        base={},
        theirs={"src/shop/models/order.py": SERVICE, "src/shop/__init__.py": b""},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.created == ("src/shop/__init__.py", "src/shop/models/order.py")
    assert read_tree(tmp_path) == {
        "src/shop/__init__.py": b"",
        "src/shop/models/order.py": SERVICE,
    }


def test_a_newly_generated_file_the_user_already_has_is_not_mentioned(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"models/order.py": SERVICE})

    assert (
        plan_merge(base={}, theirs={"models/order.py": SERVICE}, ours=tmp_path).changes
        == ()
    )


def test_a_newly_generated_file_clashing_with_a_user_file_is_a_conflict(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"models/order.py": b"# mine\nx = 1\n"})

    plan = plan_merge(
        base={}, theirs={"models/order.py": b"# generated\nx = 1\n"}, ours=tmp_path
    )
    apply_plan(plan, tmp_path)

    assert plan.conflicts == ("models/order.py",)
    text = (tmp_path / "models/order.py").read_text()
    assert (
        text
        == "<<<<<<< yours\n# mine\n=======\n# generated\n>>>>>>> new render\nx = 1\n"
    )


def test_an_unedited_file_takes_the_new_render(tmp_path: Path) -> None:
    theirs = SERVICE.replace(b"int", b"str")
    write_tree(tmp_path, {"services/order.py": SERVICE})

    plan = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": theirs},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.updated == ("services/order.py",)
    assert read_tree(tmp_path) == {"services/order.py": theirs}


@pytest.mark.parametrize(
    "ours", [SERVICE + b"# mine\n", SERVICE.replace(b"int", b"str")]
)
def test_nothing_happens_when_the_template_did_not_change_or_the_user_made_its_change(
    tmp_path: Path, ours: bytes
) -> None:
    write_tree(tmp_path, {"services/order.py": ours})
    theirs = SERVICE.replace(b"int", b"str")
    base_unchanged = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": SERVICE},
        ours=tmp_path,
    )
    same_edit = plan_merge(
        base={"services/order.py": SERVICE},
        theirs={"services/order.py": theirs},
        ours=tmp_path,
    )

    assert base_unchanged.changes == ()
    if ours == theirs:
        assert same_edit.changes == ()


def idempotence_scenario(root: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every action but conflict, on one tree."""
    base = {
        "edited.py": SERVICE,
        "unedited.py": SERVICE,
        "deleted_by_user.py": SERVICE,
        "removed/unedited.py": SERVICE,
        "removed/edited.py": SERVICE,
    }
    theirs = {
        "edited.py": SERVICE.replace(b"return None", b"pass"),
        "unedited.py": SERVICE.replace(b"int", b"str"),
        "deleted_by_user.py": SERVICE.replace(b"int", b"str"),
        "new/module.py": b"x = 1\n",
        "new/__init__.py": b"",
    }
    write_tree(
        root,
        {
            "edited.py": SERVICE.replace(b"return order_id", b"return -order_id"),
            "unedited.py": SERVICE,
            "removed/unedited.py": SERVICE,
            "removed/edited.py": SERVICE + b"# mine\n",
            "mine.txt": b"not generated\n",
        },
    )
    return base, theirs


def test_planning_again_after_apply_reports_only_kept_files(tmp_path: Path) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    first = plan_merge(base=base, theirs=theirs, ours=tmp_path)
    assert set(actions(first).values()) == {
        "merge",
        "update",
        "keep_deleted",
        "delete",
        "keep_edited",
        "create",
    }

    apply_plan(first, tmp_path)
    again = plan_merge(base=base, theirs=theirs, ours=tmp_path)
    # The project now records THEIRS as its base: the next sync starts from there.
    next_sync = plan_merge(base=theirs, theirs=theirs, ours=tmp_path)

    assert actions(again) == {
        "deleted_by_user.py": "keep_deleted",
        "removed/edited.py": "keep_edited",
    }
    # A deletion is reported only when the new render changed the deleted file.
    assert actions(next_sync) == {}


def test_applying_a_plan_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    plan = plan_merge(base=base, theirs=theirs, ours=tmp_path)

    apply_plan(plan, tmp_path)
    after_first = read_tree(tmp_path)
    apply_plan(plan, tmp_path)

    assert read_tree(tmp_path) == after_first
    assert after_first["mine.txt"] == b"not generated\n"


def test_a_file_still_in_conflict_is_reported_again_but_never_rewritten(
    tmp_path: Path,
) -> None:
    base = {"a.py": b"x = 1\n"}
    theirs = {"a.py": b"x = 2\n"}
    write_tree(tmp_path, {"a.py": b"x = 3\n"})
    apply_plan(plan_merge(base=base, theirs=theirs, ours=tmp_path), tmp_path)
    with_markers = (tmp_path / "a.py").read_bytes()

    again = plan_merge(base=base, theirs=theirs, ours=tmp_path)
    apply_plan(again, tmp_path)

    assert again.conflicts == ("a.py",)
    assert again.changes[0].new is None
    assert "resolve them" in again.changes[0].note
    assert (tmp_path / "a.py").read_bytes() == with_markers
    assert with_markers.count(b"<<<<<<<") == 1


def test_diff_plan_shows_every_change_and_writes_nothing(tmp_path: Path) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    before = read_tree(tmp_path)
    plan = plan_merge(base=base, theirs=theirs, ours=tmp_path)

    diff = diff_plan(plan)

    assert read_tree(tmp_path) == before
    assert "--- /dev/null\n+++ b/new/module.py\n@@ -0,0 +1 @@\n+x = 1\n" in diff
    assert "--- a/removed/unedited.py\n+++ /dev/null\n" in diff
    assert (
        "-def read_order(order_id: int) -> int:\n+def read_order(order_id: str) -> str:"
        in diff
    )
    assert "-    return None\n+    pass\n" in diff  # the merge
    assert "removed/edited.py" not in diff  # kept: nothing to show
    assert "deleted_by_user.py" not in diff


def test_diff_plan_marks_a_missing_final_newline_and_binary_files() -> None:
    plan = MergePlan(
        changes=(
            FileChange("a.txt", "update", old=b"one\ntwo", new=b"one\nthree\n"),
            FileChange("logo.png", "update", old=b"\x89PNG\0a", new=b"\x89PNG\0b"),
        )
    )

    assert diff_plan(plan) == (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n"
        "\\ No newline at end of file\n+three\n"
        "Binary files a/logo.png and b/logo.png differ\n"
    )


def test_diff_plan_is_empty_when_there_is_nothing_to_write(tmp_path: Path) -> None:
    assert (
        diff_plan(plan_merge(base={"a": b"1\n"}, theirs={"a": b"1\n"}, ours=tmp_path))
        == ""
    )


@pytest.mark.parametrize(
    ("meanwhile", "path"),
    [
        (
            lambda root: (root / "unedited.py").write_bytes(b"edited meanwhile\n"),
            "unedited.py",
        ),
        (
            lambda root: (root / "removed/unedited.py").write_bytes(b"x\n"),
            "removed/unedited.py",
        ),
        (
            lambda root: (
                (root / "new").mkdir() or (root / "new/module.py").write_bytes(b"y\n")
            ),
            "new/module.py",
        ),
        (lambda root: (root / "edited.py").unlink(), "edited.py"),
    ],
    ids=[
        "updated file edited",
        "deleted file edited",
        "created file appeared",
        "merged file removed",
    ],
)
def test_apply_refuses_and_writes_nothing_if_a_file_changed_after_planning(
    tmp_path: Path, meanwhile: Callable[[Path], object], path: str
) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    plan = plan_merge(base=base, theirs=theirs, ours=tmp_path)
    meanwhile(tmp_path)
    before = read_tree(tmp_path)

    message = f"(?s)changed after the merge was planned.*- {re.escape(path)}\n"
    with pytest.raises(UowgenError, match=message):
        apply_plan(plan, tmp_path)

    assert read_tree(tmp_path) == before


def test_apply_ignores_changes_to_files_it_does_not_write(tmp_path: Path) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    plan = plan_merge(base=base, theirs=theirs, ours=tmp_path)
    (tmp_path / "removed/edited.py").write_bytes(b"edited again\n")  # kept_edited
    (tmp_path / "mine.txt").write_bytes(b"also edited\n")  # not in the plan

    apply_plan(plan, tmp_path)

    assert (tmp_path / "removed/edited.py").read_bytes() == b"edited again\n"
    assert (tmp_path / "mine.txt").read_bytes() == b"also edited\n"


def test_a_binary_file_changed_on_both_sides_is_a_conflict_that_keeps_yours(
    tmp_path: Path,
) -> None:
    base, ours, theirs = b"\x89PNG\0base", b"\x89PNG\0yours", b"\x89PNG\0new"
    write_tree(tmp_path, {"logo.png": ours})

    plan = plan_merge(
        base={"logo.png": base}, theirs={"logo.png": theirs}, ours=tmp_path
    )
    apply_plan(plan, tmp_path)

    assert plan.conflicts == ("logo.png",)
    assert plan.changes[0].new is None
    assert "binary" in plan.changes[0].note
    assert read_tree(tmp_path) == {"logo.png": ours}


def test_a_binary_file_changed_on_one_side_only_follows_that_side(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"unedited.png": b"\0old", "edited.png": b"\0mine"})

    plan = plan_merge(
        base={"unedited.png": b"\0old", "edited.png": b"\0old"},
        theirs={"unedited.png": b"\0new", "edited.png": b"\0old"},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert actions(plan) == {"unedited.png": "update"}
    assert read_tree(tmp_path) == {"unedited.png": b"\0new", "edited.png": b"\0mine"}


def test_text_that_is_not_utf8_is_treated_as_binary(tmp_path: Path) -> None:
    write_tree(tmp_path, {"notes.txt": "café, yours\n".encode("latin-1")})

    plan = plan_merge(
        base={"notes.txt": "café\n".encode("latin-1")},
        theirs={"notes.txt": "café, new\n".encode("latin-1")},
        ours=tmp_path,
    )

    assert plan.conflicts == ("notes.txt",)
    assert plan.changes[0].new is None


def test_a_missing_git_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.py": b"x = 3\n"})
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))

    with pytest.raises(
        UowgenError, match="^uowgen needs git for three-way merges: install git"
    ):
        plan_merge(
            base={"a.py": b"x = 1\n"}, theirs={"a.py": b"x = 2\n"}, ours=tmp_path
        )


def test_git_is_only_needed_when_a_file_must_be_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    del theirs["edited.py"]  # the only merge
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))

    plan = plan_merge(base=base, theirs=theirs, ours=tmp_path)

    assert plan.conflicts == ()
    assert plan.merged == ()


@POSIX_ONLY
def test_a_failing_git_merge_is_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    fake_git = bin_folder / "git"
    fake_git.write_text("#!/bin/sh\necho 'error: out of cheese' >&2\nexit 255\n")
    fake_git.chmod(0o755)
    project = tmp_path / "project"
    write_tree(project, {"a.py": b"x = 3\n"})
    monkeypatch.setenv("PATH", str(bin_folder))

    with pytest.raises(
        UowgenError,
        match=r"^a.py: git merge-file failed \(exit code 255\): error: out of cheese",
    ):
        plan_merge(base={"a.py": b"x = 1\n"}, theirs={"a.py": b"x = 2\n"}, ours=project)


def test_the_users_git_config_does_not_change_the_conflict_style(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gitconfig"
    config.write_text("[merge]\n\tconflictStyle = merge\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))

    result = merge_file(base=b"x = 1\n", ours=b"x = 3\n", theirs=b"x = 2\n")

    assert result.conflicts == 1
    assert b"||||||| last render\nx = 1\n" in result.content


@POSIX_ONLY
def test_rewriting_a_file_keeps_its_executable_bit(tmp_path: Path) -> None:
    write_tree(tmp_path, {"scripts/run.sh": b"#!/bin/sh\necho old\n"})
    (tmp_path / "scripts/run.sh").chmod(0o755)

    apply_plan(
        plan_merge(
            base={"scripts/run.sh": b"#!/bin/sh\necho old\n"},
            theirs={"scripts/run.sh": b"#!/bin/sh\necho new\n"},
            ours=tmp_path,
        ),
        tmp_path,
    )

    assert (tmp_path / "scripts/run.sh").read_bytes() == b"#!/bin/sh\necho new\n"
    assert stat.S_IMODE((tmp_path / "scripts/run.sh").stat().st_mode) == 0o755


def test_apply_leaves_no_temporary_files_behind(tmp_path: Path) -> None:
    base, theirs = idempotence_scenario(tmp_path)
    apply_plan(plan_merge(base=base, theirs=theirs, ours=tmp_path), tmp_path)

    assert not [path for path in tmp_path.rglob("*") if ".uowgen" in path.name]


def test_a_folder_where_a_file_is_generated_is_a_conflict_left_alone(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"models/order.py/keep.txt": b"mine\n", "api": b"a file\n"})

    plan = plan_merge(
        base={},
        theirs={"models/order.py": SERVICE, "api/routes.py": SERVICE},
        ours=tmp_path,
    )
    apply_plan(plan, tmp_path)

    assert plan.conflicts == ("api/routes.py", "models/order.py")
    assert "api is a file" in plan.changes[0].note
    assert read_tree(tmp_path) == {
        "models/order.py/keep.txt": b"mine\n",
        "api": b"a file\n",
    }


@POSIX_ONLY
def test_a_symbolic_link_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_bytes(SERVICE)
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").symlink_to(outside)

    plan = plan_merge(
        base={"a.py": SERVICE}, theirs={"a.py": SERVICE + b"# new\n"}, ours=project
    )
    apply_plan(plan, project)

    assert plan.conflicts == ("a.py",)
    assert "symbolic link" in plan.changes[0].note
    assert outside.read_bytes() == SERVICE
    assert (project / "a.py").is_symlink()


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside.py", "a/../b.py", "./a.py", "a//b.py", "a\\b.py", ""],
)
def test_paths_that_are_not_inside_the_project_are_rejected(
    tmp_path: Path, path: str
) -> None:
    with pytest.raises(ValueError, match="relative POSIX path"):
        plan_merge(base={}, theirs={path: b"x"}, ours=tmp_path)


def test_a_project_root_that_is_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UowgenError, match="missing is not a folder"):
        plan_merge(base={}, theirs={"a.py": b""}, ours=tmp_path / "missing")


def test_plan_changes_are_sorted_by_path(tmp_path: Path) -> None:
    plan = plan_merge(
        base={}, theirs={"b.py": b"", "a/z.py": b"", "a.py": b""}, ours=tmp_path
    )

    assert [change.path for change in plan.changes] == sorted(
        ["b.py", "a/z.py", "a.py"]
    )


# Conflict markers


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("<<<<<<< yours\na\n=======\nb\n>>>>>>> new render\n", [1]),
        (
            "x\n<<<<<<< yours\na\n||||||| last render\n=======\nb\n>>>>>>> new render\n",
            [2],
        ),
        ("<<<<<<<\na\n=======\nb\n>>>>>>>\n", [1]),
        ("<<<<<<< yours\r\na\r\n=======\r\nb\r\n>>>>>>> new render\r\n", [1]),
        ("a\nb\n>>>>>>> new render\n", [3]),  # half resolved: the closing line is left
        ("<<<<<<< yours\na\n", [1]),  # half resolved: the opening line is left
    ],
    ids=["two-way", "diff3", "no labels", "CRLF", "stray end", "stray start"],
)
def test_conflict_markers_are_found_at_the_opening_line(
    text: str, lines: list[int]
) -> None:
    assert conflict_marker_lines(text) == lines
    assert has_conflict_markers(text)


@pytest.mark.parametrize(
    "text",
    [
        "Title\n=======\n\nText\n",  # Markdown setext heading
        "| a | b |\n|=======|\n",
        "=======\n|||||||\n",
        "<<<<<<<< eight\n>>>>>>>> eight\n",
        "  <<<<<<< indented\n",
        "x = a <<<<<<< b\n",
        "<<<<<<<yours\n",
        ">>> doctest\n",
    ],
)
def test_lines_that_only_look_like_markers_are_not_conflicts(text: str) -> None:
    assert not has_conflict_markers(text)


def test_find_conflict_markers_lists_paths_and_lines_skipping_missing_and_binary_files(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            "b.py": b"x\n<<<<<<< yours\n1\n=======\n2\n>>>>>>> new render\n<<<<<<< yours\n",
            "a.md": b"Title\n=======\n",
            "c.bin": b"\0<<<<<<< yours\n",
        },
    )

    found = find_conflict_markers(tmp_path, ["c.bin", "b.py", "missing.py", "a.md"])

    assert found == [("b.py", 2), ("b.py", 7)]


def test_find_conflict_markers_finds_what_a_conflicting_merge_wrote(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"a.py": b"x = 3\n"})
    plan = plan_merge(
        base={"a.py": b"x = 1\n"}, theirs={"a.py": b"x = 2\n"}, ours=tmp_path
    )
    apply_plan(plan, tmp_path)

    assert find_conflict_markers(tmp_path, plan.conflicts) == [("a.py", 1)]


# Properties of the line merge

texts = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\0"), max_size=6
)
line_lists = st.lists(texts, max_size=8)


def join(lines: list[str], final_newline: bool = True) -> bytes:
    text = "\n".join(lines)
    return (text + "\n" if lines and final_newline else text).encode()


@settings(deadline=None)
@given(base=line_lists, other=line_lists, final_newline=st.booleans())
def test_merging_against_an_unchanged_side_gives_the_changed_side(
    base: list[str], other: list[str], final_newline: bool
) -> None:
    original, changed = join(base), join(other, final_newline)

    theirs_only = merge_file(base=original, ours=original, theirs=changed)
    ours_only = merge_file(base=original, ours=changed, theirs=original)

    assert (theirs_only.conflicts, theirs_only.content) == (0, changed)
    assert (ours_only.conflicts, ours_only.content) == (0, changed)


@st.composite
def disjoint_edits(
    draw: st.DrawFn,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Base lines and two edits of distinct ranges with an unchanged line between.

    Lines are unique so that each diff can only be the edit that was made.
    """
    size = draw(st.integers(min_value=1, max_value=12))
    base = [f"base {number}" for number in range(size)]
    kept = draw(st.integers(0, size - 1))  # base[kept] stays, between the two edits
    start1 = draw(st.integers(0, kept))
    end1 = draw(st.integers(start1, kept))
    start2 = draw(st.integers(kept + 1, size))
    end2 = draw(st.integers(start2, size))
    replacement1 = [f"first {n}" for n in range(draw(st.integers(0, 3)))]
    replacement2 = [f"second {n}" for n in range(draw(st.integers(0, 3)))]
    edit1 = base[:start1] + replacement1 + base[end1:]
    edit2 = base[:start2] + replacement2 + base[end2:]
    both = base[:start1] + replacement1 + base[end1:start2] + replacement2 + base[end2:]
    return base, edit1, edit2, both


@settings(deadline=None)
@given(edits=disjoint_edits(), first_is_ours=st.booleans())
def test_edits_of_separate_line_ranges_merge_cleanly_and_both_land(
    edits: tuple[list[str], list[str], list[str], list[str]], first_is_ours: bool
) -> None:
    base, edit1, edit2, both = edits
    ours, theirs = (edit1, edit2) if first_is_ours else (edit2, edit1)

    result = merge_file(base=join(base), ours=join(ours), theirs=join(theirs))

    assert result.conflicts == 0
    assert result.content == join(both)


# TOML: insertions at one point are kept on both sides, if the TOML stays valid

PYPROJECT = b"""\
[project]
dependencies = [
  "fastapi==0.163.2",
  "uvicorn==0.54.0",
]

[tool.ruff]
line-length = 88
"""


def test_dependencies_added_after_the_same_line_are_both_kept(tmp_path: Path) -> None:
    anchor = b'  "uvicorn==0.54.0",\n'
    ours = PYPROJECT.replace(anchor, anchor + b'  "structlog==25.4.0",\n')
    theirs = PYPROJECT.replace(anchor, anchor + b'  "prometheus-client==0.26.0",\n')
    write_tree(tmp_path, {"pyproject.toml": ours})

    plan = plan_merge(
        base={"pyproject.toml": PYPROJECT},
        theirs={"pyproject.toml": theirs},
        ours=tmp_path,
    )

    assert [(c.action, c.how) for c in plan.changes] == [("merge", "toml")]
    assert plan.changes[0].new == PYPROJECT.replace(
        anchor, anchor + b'  "structlog==25.4.0",\n  "prometheus-client==0.26.0",\n'
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (b"line-length = 88\nfix = true\n", b"line-length = 88\nfix = false\n"),
        (b"line-length = 100\n", b"line-length = 120\n"),
    ],
    ids=["the same key added twice", "the same line changed"],
)
def test_other_toml_conflicts_stay_conflicts(
    tmp_path: Path, ours: bytes, theirs: bytes
) -> None:
    write_tree(
        tmp_path, {"pyproject.toml": PYPROJECT.replace(b"line-length = 88\n", ours)}
    )

    plan = plan_merge(
        base={"pyproject.toml": PYPROJECT},
        theirs={"pyproject.toml": PYPROJECT.replace(b"line-length = 88\n", theirs)},
        ours=tmp_path,
    )

    assert [(c.action, c.how) for c in plan.changes] == [("conflict", "lines")]
