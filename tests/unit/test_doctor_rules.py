"""uowgen doctor finds exactly the marked mistakes: seeds, rule pairs, look-alikes,
and nothing at all in the projects uowgen generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import EDGE_SPECS, EXAMPLES
from tests.unit.doctor_helpers import CASES, expected, found, materialize
from uowgen import generate, load_spec
from uowgen._doctor import RULES, Rule, run_doctor

RULE_CASES = sorted((CASES / "rules").glob("*.py.txt"))
PRECISION_CASES = sorted(
    p
    for p in (CASES / "precision").iterdir()
    if p.is_dir() or p.name.endswith(".py.txt")
)

# The seeds' findings, pinned here as well as by the markers in their files.
SEED_FINDINGS = {
    "singleton_uow": {
        ("app/backend/services.py", 8, "UOW001"),
        ("app/backend/services.py", 9, "UOW001"),
    },
    "idle_in_transaction": {
        ("app/repositories/base.py", 10, "UOW005"),
        ("app/repositories/base.py", 19, "UOW002"),
        ("app/create_user.py", 62, "UOW003"),
        ("app/answer.py", 15, "UOW004"),
        ("app/answer.py", 47, "UOW003"),
    },
}


@pytest.mark.parametrize("seed", sorted(SEED_FINDINGS))
def test_the_seeds_get_exactly_their_findings(seed: str, tmp_path: Path) -> None:
    root = materialize(CASES / "seeds" / seed, tmp_path)

    report = run_doctor([root], use_config=False)

    assert found(report, root) == SEED_FINDINGS[seed] == expected(root)
    assert report.warnings == ()


@pytest.mark.parametrize(
    "case", RULE_CASES + PRECISION_CASES, ids=lambda p: p.name.removesuffix(".py.txt")
)
def test_each_case_gets_exactly_its_marked_findings(case: Path, tmp_path: Path) -> None:
    path = materialize(case, tmp_path)

    report = run_doctor([path], use_config=False)

    assert found(report, path) == expected(path)
    assert report.warnings == ()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_has_a_wrong_and_a_right_case(rule: Rule, tmp_path: Path) -> None:
    code = rule.code
    wrong = materialize(CASES / "rules" / f"{code.lower()}_wrong.py.txt", tmp_path)
    right = materialize(CASES / "rules" / f"{code.lower()}_right.py.txt", tmp_path)

    assert {c for _, _, c in expected(wrong)} == {code}
    assert expected(right) == set()


@pytest.mark.parametrize("spec", EXAMPLES + EDGE_SPECS, ids=lambda p: p.stem)
def test_generated_projects_get_no_findings(spec: Path, tmp_path: Path) -> None:
    project = generate(load_spec(spec), tmp_path / "project")

    report = run_doctor([project], use_config=False)

    assert report.findings == ()
    assert report.warnings == ()
    assert report.files > 40


def test_the_generated_readme_example_is_clean_and_its_inverse_is_not(
    tmp_path: Path,
) -> None:
    project = generate(load_spec(EXAMPLES[0]), tmp_path / "project")
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Slow calls", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    package = next(p.parent for p in (project / "src").glob("*/__init__.py"))
    right = package / "services" / "register.py"
    right.write_text(example.group(1), encoding="utf-8")

    assert run_doctor([project], use_config=False).findings == ()

    # The same flow with the slow call moved inside the write scope: the seed's
    # mistake, in the generated project's own API.
    lines = example.group(1).splitlines()
    call = next(i for i, line in enumerate(lines) if "await directory.get(" in line)
    moved = lines[call]
    del lines[call]
    write = next(i for i, line in enumerate(lines) if "uow.write()" in line)
    lines.insert(write + 1, "    " + moved)
    right.write_text("\n".join(lines) + "\n", encoding="utf-8")

    findings = run_doctor([project], use_config=False).findings
    assert [(f.code, f.line) for f in findings] == [("UOW003", write + 2)]
