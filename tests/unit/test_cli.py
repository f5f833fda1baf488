"""The `uowgen` command line: exit codes, messages, and never a half-written project."""

from __future__ import annotations

import hashlib
import inspect
import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
import yaml
from typer.models import ParameterInfo
from typer.testing import CliRunner, Result

from uowgen import generate
from uowgen._cli.commands import app
from uowgen._render.spec_text import spec_yaml
from uowgen._spec.validate import load_spec
from uowgen._version import __version__

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
    # The spec as written: its keys in the file's order.
    written = yaml.safe_load(SHOP.read_text(encoding="utf-8"))["models"]
    assert kept.endswith(spec_yaml(load_spec(SHOP), written))
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


# ---------------------------------------------------------------------------
# --version, and every help page


def test_version_prints_uowgen_and_its_version(runner: CliRunner) -> None:
    for flag in ("--version", "-V"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0, result.output
        assert result.stdout == f"uowgen {__version__}\n"


def command_names() -> list[str]:
    return [
        info.name or info.callback.__name__.replace("_", "-")
        for info in app.registered_commands
        if info.callback is not None
    ]


def help_page(runner: CliRunner, *command: str) -> str:
    result = runner.invoke(
        app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def source_help_texts(command: str) -> list[str]:
    """The help texts of `command` as written in the source (app: "")."""
    if not command:
        assert app.info.help
        callbacks = (
            [app.registered_callback.callback] if app.registered_callback else []
        )
        texts = [app.info.help]
    else:
        [info] = [
            i
            for i in app.registered_commands
            if i.callback and command in (i.name, i.callback.__name__.replace("_", "-"))
        ]
        callbacks = [info.callback]
        texts = [inspect.getdoc(info.callback) or "", info.epilog or ""]
    for callback in callbacks:
        assert callback is not None
        for hint in typing.get_type_hints(callback, include_extras=True).values():
            for meta in getattr(hint, "__metadata__", ()):
                if isinstance(meta, ParameterInfo) and meta.help:
                    texts.append(meta.help)
    return texts


def flat(text: str) -> str:
    """Text without the help's boxes and line breaks: words one space apart."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


# Typer 0.29's type labels: `<bool>`, `<str>`, `<list[Path]>`, `<dir>`, `<a|b>`.
TYPE_LABEL = re.compile(
    r"<(?:bool|str|int|float|path|Path|dir|file|uuid|list\[[^>]*\]"
    r"|[\w-]+(?:\|[\w-]+)+)>"
)


@pytest.mark.parametrize("command", ["", *command_names()], ids=lambda c: c or "app")
def test_help_shows_no_python_types_and_every_bracket_as_written(
    runner: CliRunner, command: str
) -> None:
    page = help_page(runner, *([command] if command else []))

    assert TYPE_LABEL.findall(page) == []
    shown = flat(page)
    brackets = [
        flat(found)
        for text in source_help_texts(command)
        for found in re.findall(r"\[[^\[\]\n]+\]", text)
    ]
    assert [bracket for bracket in brackets if bracket not in shown] == []
    assert "--help Show this message and exit." in shown  # no type after a flag


def test_help_names_values_as_click_does(runner: CliRunner) -> None:
    doctor = flat(help_page(runner, "doctor"))
    check = flat(help_page(runner, "check"))

    assert "Ignore [tool.uowgen.doctor] in pyproject.toml." in doctor
    assert "paths... PATH Files and folders" in doctor
    assert "--format [text|json|github|sarif]" in doctor
    assert "--select CODES" in doctor
    assert "--project -p DIR" in check
    assert "--python PATH" in check
    assert "--latest Also ask" in check
    assert "--version -V Print uowgen's version" in flat(help_page(runner))


# ---------------------------------------------------------------------------
# Every usage error (exit 2) says what to run next


# `uowgen <command>` in the message, or an option to pass.
NEXT_STEP = re.compile(
    r"`uowgen (?:" + "|".join(map(re.escape, command_names())) + r")\b"
    r"|(?<![\w-])--[a-z][\w-]*"
)


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The minimal example, rendered and committed once for the module."""
    root = generate(
        load_spec(REPO / "examples" / "minimal.yml"),
        tmp_path_factory.mktemp("notes") / "notes",
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )
    return root


def assert_next_step(result: Result, *what: str) -> None:
    """Exit 2; the message keeps what went wrong and ends with what to run next."""
    assert result.exit_code == 2, result.output
    for part in what:
        assert part in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert NEXT_STEP.search(last.partition(": ")[2] or last), result.stderr


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["validate", "{bad}"], ["invalid spec", "`uowgen validate {bad}`"]),
        (["new", "{tmp}/out", "--spec", "{bad}"], ["invalid spec", "`uowgen new`"]),
        (["new", "{notes}", "--spec", "{bad}"], ["invalid spec"]),
        (["new", "{notes}", "--spec", str(SHOP)], ["is not empty", "--overwrite"]),
        (["sync", "--project", "{tmp}"], ["not inside a uowgen project", "uowgen new"]),
        (["check", "--project", "{tmp}"], ["not inside a uowgen project"]),
        (["update", "--project", "{tmp}"], ["not inside a uowgen project"]),
        (["add-field", "Nope", "x:int=0", "-p", "{notes}"], ["no model 'Nope'"]),
        (["add-field", "Note", "x:intt", "-p", "{notes}"], ["unknown type 'intt'"]),
        (["add-field", "Note", "-p", "{notes}"], ["at least one field"]),
        (["add-field", "Note", "body:str", "-p", "{notes}"], ["already has field"]),
        (["add-field", "Note", "Bad:int=0", "-p", "{notes}"], ["(as changed)"]),
        (["add-model", "Note", "a:str", "-p", "{notes}"], ["already exists"]),
        (["add-model", "Tag", "-p", "{notes}"], ["give the fields of Tag"]),
        (["remove-model", "Nope", "-p", "{notes}"], ["no model 'Nope'"]),
        (["rename-field", "Note", "nope", "x", "-p", "{notes}"], ["no field 'nope'"]),
        (["rename-model", "Note", "Note", "-p", "{notes}"], ["already exists"]),
        (["update", "--from", "{tmp}/nope", "-p", "{notes}"], ["no such file"]),
        (["check", "--python", "{tmp}/nope", "-p", "{notes}"], ["no such file"]),
        (["doctor", "{tmp}/nope"], ["no such file or folder"]),
        (["doctor", "--select", "UOW9", "{tmp}"], ["unknown rule 'UOW9'"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_every_usage_error_says_what_to_run_next(
    runner: CliRunner, tmp_path: Path, notes: Path, args: list[str], what: list[str]
) -> None:
    bad = write(tmp_path / "bad.yml", BAD_SPECS["reserved field"][0])
    places = {"bad": str(bad), "tmp": str(tmp_path), "notes": str(notes)}
    before = snapshot(notes)

    result = runner.invoke(app, [arg.format(**places) for arg in args])

    assert_next_step(result, *(part.format(**places) for part in what))
    assert snapshot(notes) == before


def test_a_sync_over_uncommitted_changes_says_what_to_run_next(
    runner: CliRunner, tmp_path: Path, notes: Path
) -> None:
    project = Path(shutil.copytree(notes, tmp_path / "notes", symlinks=True))
    spec = project / "uowgen.yml"
    spec.write_text(
        spec.read_text() + "      - {name: title, type: str, optional: true}\n"
    )
    model = project / "src" / "notes" / "models" / "note.py"
    model.write_text(model.read_text() + "\n# mine, uncommitted\n")

    result = runner.invoke(app, ["sync", "--project", str(project)])

    assert_next_step(result, "uncommitted changes", "models/note.py")
    assert "then run `uowgen sync` again (or pass --allow-dirty)" in result.stderr
    assert model.read_text().endswith("# mine, uncommitted\n")


AS_WRITTEN = """\
project_name: Keys As Written
models:
  - name: Level
    fields:
      - {name: title, optional: true, type: str, max_length: 50}
      - {type: enum, name: grade, values: [beginner, intermediate, advanced, expert, master, grandmaster, legendary]}
  - name: Course
    fields:
      - {name: level, type: ref, on_delete: cascade, to: Level}
"""  # its enum line is long, and must stay one line


def test_new_keeps_the_spec_as_written(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(AS_WRITTEN, encoding="utf-8")
    result = runner.invoke(app, ["new", str(tmp_path / "app"), "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    kept = (tmp_path / "app" / "uowgen.yml").read_text(encoding="utf-8")
    # Same key order, one field a line, the long line unwrapped.
    assert kept.endswith(AS_WRITTEN.removeprefix("project_name: Keys As Written\n"))
