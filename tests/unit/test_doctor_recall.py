"""Recall on seeded instances of the patterns doctor must find (issue 21): every
`# expect:` marker of `tests/doctor_cases/recall/` is found, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.doctor_helpers import CASES, expected, found, materialize
from uowgen._doctor import run_doctor

RECALL_CASES = sorted((CASES / "recall").iterdir())


@pytest.mark.parametrize(
    "case", RECALL_CASES, ids=lambda p: p.name.removesuffix(".py.txt")
)
def test_every_seeded_instance_is_found(case: Path, tmp_path: Path) -> None:
    root = materialize(case, tmp_path)

    report = run_doctor([root], cwd=root)

    marks = expected(root)
    assert marks, "a recall case seeds at least one instance"
    assert marks - found(report, root) == set(), "missed"
    assert found(report, root) - marks == set(), "reported beyond the seeds"
    assert report.not_checked == ()


def test_there_are_at_least_ten_seeded_instances(tmp_path: Path) -> None:
    total = sum(
        len(expected(materialize(case, tmp_path / case.name))) for case in RECALL_CASES
    )

    assert total >= 10
