"""The merge corpus replayed across real releases: issue 22's proof.

Each edit of tests/fixtures/merge_corpus/edits.yml is merged alone into each pair
of releases (0.2.0 -> this version, 0.2.0 -> 0.4.0, 0.4.0 -> this version), by lines
only and by statements. Then a project made by 0.2.0 (and one by 0.4.0) with every
edit that is not a true conflict is brought to this version by `uowgen update`,
and passes its checks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import check_project, run
from tests.merge_corpus import (
    PAIRS,
    RELEASES,
    Renders,
    Tally,
    load_edits,
    render_project,
    renders,
    tally,
)
from uowgen._cli.commands import app
from uowgen._version import __version__

EDITS = load_edits()


@pytest.fixture(scope="module")
def tallies(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], tuple[Tally, Tally]]:
    """(by lines, by statements) for each pair."""
    scratch = tmp_path_factory.mktemp("corpus")
    found = {}
    for old, new in PAIRS:
        pair: Renders = renders(old, new, scratch)
        found[old, new] = (
            tally(pair, EDITS, by_statements=False, scratch=scratch / f"{old}-lines"),
            tally(pair, EDITS, by_statements=True, scratch=scratch / f"{old}-py"),
        )
    return found


def test_the_corpus_covers_the_generated_files_and_every_kind_of_edit() -> None:
    assert len(EDITS) >= 30
    assert len({edit.id for edit in EDITS}) == len(EDITS)
    kinds = Counter(edit.kind for edit in EDITS)
    assert set(kinds) == {"adjacent", "same-point", "deletion", "elsewhere", "conflict"}
    places = {
        "api/routes/",
        "services/",
        "repositories/",
        "models/",
        "schemas/",
        "settings.py",
        "main.py",
        "unit_of_work.py",
        "tests/",
        "pyproject.toml",
        "README.md",
        ".github/workflows/",
    }
    for place in places:
        assert any(place in edit.path for edit in EDITS), place


def test_every_edit_is_kept_and_every_true_conflict_reported(
    tallies: dict[tuple[str, str], tuple[Tally, Tally]],
) -> None:
    for (old, new), (by_lines, by_statements) in tallies.items():
        for counted in (by_lines, by_statements):
            assert counted.applied >= 30, (old, new)
            assert counted.lost == [], (old, new)
            assert counted.missed == [], (old, new)
        assert by_statements.true_conflicts > 0, (old, new)


def test_false_conflicts_are_at_least_80_percent_fewer_by_statements(
    tallies: dict[tuple[str, str], tuple[Tally, Tally]],
) -> None:
    by_lines = sum(lines.false_conflicts for lines, _ in tallies.values())
    by_statements = sum(py.false_conflicts for _, py in tallies.values())

    assert by_lines >= 10  # the line merge alone does stumble on this corpus
    assert by_statements <= 0.2 * by_lines
    for lines, py in tallies.values():
        # Never more: a statement merge that cannot help leaves it to the lines.
        assert set(py.false) <= set(lines.false)


@pytest.mark.slow
@pytest.mark.parametrize("old", ["0.2.0", "0.4.0"])
def test_a_project_edited_for_months_updates_cleanly(
    old: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Done means, for issue 22: a person is needed only for true conflicts.

    From the oldest release of the fixtures, and from the one before this version.
    """
    monkeypatch.setenv("PIP_FIND_LINKS", str(RELEASES))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("UOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    project = render_project(old, tmp_path / "fastbot", tmp_path)
    applied = []
    for edit in EDITS:
        if edit.true_conflict(old, __version__):
            continue
        target = project / edit.path
        if not target.is_file():
            continue
        edited = edit.apply(target.read_text(encoding="utf-8"))
        if edited is not None:
            target.write_text(edited, encoding="utf-8")
            applied.append(edit)
    assert len(applied) >= 25
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "ours"]):
        run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], project)

    pretend = CliRunner().invoke(
        app, ["update", "--project", str(project), "--pretend"]
    )
    assert pretend.exit_code == 0, pretend.output
    assert "would merge src/fastbot/main.py (by statements)" in pretend.output
    assert "would merge README.md (by lines)" in pretend.output

    result = CliRunner().invoke(app, ["update", "--project", str(project)])

    assert result.exit_code == 0, result.output
    assert "CONFLICT" not in result.output
    assert "merged     src/fastbot/main.py (by statements)" in result.output
    if old == "0.2.0":  # 0.4.0 and this version render the same pyproject.toml
        assert (
            "merged     pyproject.toml (by lines, both insertions kept)"
            in result.output
        )
    for edit in applied:
        text = (project / edit.path).read_text(encoding="utf-8")
        for find, replace in edit.patches:
            # The lines the edit added (the template may change its context).
            for line in set(replace.splitlines()) - set(find.splitlines()):
                assert line in text, (edit.id, line)
        assert edit.append.strip() in text, edit.id
    # The merged project passes its own ruff, ruff format, mypy --strict and tests.
    check_project(project)
