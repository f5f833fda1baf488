"""The `uowgen` command line: exit codes, messages, and never a half-written project."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from uowgen._cli.commands import app
from uowgen._render.context import spec_yaml
from uowgen._spec.validate import load_spec

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop.yml"

BAD_SPECS = {
    "reserved field": (
        (
            "project_name: App\nmodels:\n  - name: User\n    fields:\n"
            "      - {name: id, type: int}\n"
        ),
        "model 'User', field 'id': name is reserved",
    ),
    "misspelt key": (
        (
            "project_name: App\nmodels:\n  - name: User\n    fields:\n"
            "      - {name: email, type: str, optinal: true}\n"
        ),
        "model 'User', field 'email', `optinal`: unknown key",
    ),
    "unknown ref target": (
        (
            "project_name: App\nmodels:\n  - name: Post\n    fields:\n"
            "      - {name: author, type: ref, to: User}\n"
        ),
        "model 'Post', field 'author': refers to unknown model 'User'",
    ),
    "yaml syntax": (
        "project_name: App\nmodels: [\n",
        "YAML syntax error",
    ),
    "no models": (
        "project_name: App\nmodels: []\n",
        "`models`: needs at least one model",
    ),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, with a digest of each file's bytes."""
    return {
        str(path.relative_to(root)): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        )
        for path in sorted(root.rglob("*"))
    }


def existing_project(root: Path) -> Path:
    root.mkdir()
    write(root / "keep.txt", "mine\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_bytes(b"print('hi')\r\n\x00binary")
    return root


# ---------------------------------------------------------------------------
# --help


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], "Generate FastAPI + SQLAlchemy"),
        (["new", "--help"], "--overwrite"),
        (["validate", "--help"], "Check a model spec"),
    ],
)
def test_help_works_for_the_app_and_each_command(
    runner: CliRunner, args: list[str], expected: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_no_arguments_shows_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, [])
    assert "new" in result.output
    assert "validate" in result.output


# ---------------------------------------------------------------------------
# validate


@pytest.mark.parametrize(
    "path", sorted((REPO / "examples").glob("*.yml")), ids=lambda p: p.name
)
def test_validate_accepts_a_good_spec(runner: CliRunner, path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    count = len(load_spec(path).models)
    assert f"valid ({count} model" in result.stdout


@pytest.mark.parametrize(
    ("text", "problem"), list(BAD_SPECS.values()), ids=list(BAD_SPECS)
)
def test_validate_refuses_a_bad_spec_with_exit_code_2_and_the_problems(
    runner: CliRunner, tmp_path: Path, text: str, problem: str
) -> None:
    spec = write(tmp_path / "bad.yml", text)
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}: invalid spec" in result.stderr
    assert problem in result.stderr
    assert result.stdout == ""


def test_validate_reports_every_problem_at_once(
    runner: CliRunner, tmp_path: Path
) -> None:
    spec = write(
        tmp_path / "bad.yml",
        (
            "project_name: App\nmodels:\n  - name: User\n    fields:\n"
            "      - {name: id, type: int}\n      - {name: class, type: str}\n"
        ),
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    assert "field 'id'" in result.stderr
    assert "field 'class'" in result.stderr


def test_validate_reports_a_misspelt_key_and_the_problems_elsewhere_at_once(
    runner: CliRunner, tmp_path: Path
) -> None:
    spec = write(
        tmp_path / "bad.yml",
        (
            "project_name: App\nmodels:\n  - name: Post\n    feilds:\n"
            "      - {name: title, type: str}\n  - name: user\n    fields:\n"
            "      - {name: post, type: ref, to: Pots}\n"
        ),
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    assert "model 'Post', `feilds`: unknown key" in result.stderr
    assert "model 'user': name 'user' is not a valid identifier" in result.stderr
    assert "model 'user', field 'post': refers to unknown model 'Pots'" in result.stderr


def test_validate_with_a_missing_file_exits_2(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr


# ---------------------------------------------------------------------------
# new: refusals write nothing


@pytest.mark.parametrize(
    ("text", "problem"), list(BAD_SPECS.values()), ids=list(BAD_SPECS)
)
def test_new_with_a_bad_spec_exits_2_and_creates_nothing(
    runner: CliRunner, tmp_path: Path, text: str, problem: str
) -> None:
    spec = write(tmp_path / "bad.yml", text)
    dst = tmp_path / "project"
    result = runner.invoke(app, ["new", str(dst), "--spec", str(spec)])
    assert result.exit_code == 2
    assert problem in result.stderr
    assert not dst.exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_new_with_a_bad_spec_leaves_an_existing_folder_byte_for_byte_unchanged(
    runner: CliRunner, tmp_path: Path, overwrite: bool
) -> None:
    spec = write(tmp_path / "bad.yml", BAD_SPECS["reserved field"][0])
    dst = existing_project(tmp_path / "project")
    before = snapshot(dst)
    args = [
        "new",
        str(dst),
        "--spec",
        str(spec),
        *(["--overwrite"] if overwrite else []),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "name is reserved" in result.stderr
    assert snapshot(dst) == before


def test_new_into_a_non_empty_folder_without_overwrite_exits_2_and_changes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    dst = existing_project(tmp_path / "project")
    before = snapshot(dst)
    result = runner.invoke(app, ["new", str(dst), "--spec", str(SHOP)])
    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    assert "--overwrite" in result.stderr
    assert snapshot(dst) == before


def test_new_into_a_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    dst = write(tmp_path / "project", "a file\n")
    result = runner.invoke(app, ["new", str(dst), "--spec", str(SHOP)])
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
    assert dst.read_text() == "a file\n"


def test_new_with_a_missing_spec_file_exits_2_and_creates_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    dst = tmp_path / "project"
    result = runner.invoke(app, ["new", str(dst), "--spec", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "nope.yml" in result.stderr
    assert "file not found" in result.stderr
    assert not dst.exists()


def test_new_without_spec_or_defaults_and_no_terminal_exits_2_and_creates_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    dst = tmp_path / "project"
    result = runner.invoke(app, ["new", str(dst)])  # CliRunner's stdin is no tty
    assert result.exit_code == 2
    assert "no terminal to ask the questions on" in result.stderr
    assert "pass --spec FILE" in result.stderr
    assert "or --defaults" in result.stderr
    assert result.stdout == ""
    assert not dst.exists()


def test_new_without_a_destination_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["new"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


# ---------------------------------------------------------------------------
# new: one real render


def test_new_renders_the_project_and_prints_next_steps(
    runner: CliRunner, tmp_path: Path
) -> None:
    dst = tmp_path / "shop-project"
    result = runner.invoke(app, ["new", str(dst), "--spec", str(SHOP)])
    assert result.exit_code == 0, result.output
    assert f"Created {dst.resolve()}" in result.stdout
    assert "Next steps:" in result.stdout
    assert f"cd {dst}" in result.stdout
    assert "uvicorn --factory shop.main:create_app" in result.stdout
    kept = (dst / "uowgen.yml").read_text(encoding="utf-8")
    assert kept.endswith(spec_yaml(load_spec(SHOP)))
    assert load_spec(dst / "uowgen.yml").to_data() == load_spec(SHOP).to_data()
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["package_name"] == "shop"
    assert (dst / "src" / "shop" / "models" / "order_line.py").is_file()
    assert (dst / "src" / "shop" / "api" / "routes" / "http_log.py").is_file()
    assert not list(dst.rglob("__pycache__"))


def test_new_with_defaults_needs_no_terminal(runner: CliRunner, tmp_path: Path) -> None:
    dst = tmp_path / "project"
    result = runner.invoke(app, ["new", str(dst), "--defaults"])
    assert result.exit_code == 0, result.output
    assert load_spec(dst / "uowgen.yml").project_name == "My App"
    assert (dst / "src" / "my_app" / "main.py").is_file()


@pytest.mark.parametrize("command", ["add-model", "add-field", "sync"])
def test_the_field_shorthand_is_documented_in_help_as_written(
    runner: CliRunner, command: str
) -> None:
    # Rich markup would eat `[active,blocked]` as a style tag.
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "status:enum[active,blocked]=active" in result.output
    assert "'price:decimal(10,2)'" in result.output
