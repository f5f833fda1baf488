"""`uowgen check`: whether a generated project is in step with the template and spec.

One run collects every finding, each with a stable code, where it is and the
command that fixes it:

- UG1xx: the template version that rendered the project against this uowgen (and,
  with `latest=True`, the newest release on the package index);
- UG2xx: `uowgen.yml` against the spec the project was last rendered from;
- UG3xx: the registries uowgen maintains (models, repositories, routes) against the
  spec's models, read with `ast`;
- UG4xx: conflict markers, `.rej` files and `.uowgen-conflicts` left by a merge;
- UG5xx: the models against the Alembic migrations, as `alembic check` compares them,
  on a scratch SQLite database, in the project's own interpreter.

Pure engine: nothing here prints or exits; `format_report` returns the text the CLI
prints.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal

import yaml
from packaging.version import InvalidVersion, Version

from uowgen._evolve.merge import find_conflict_markers
from uowgen._evolve.project import (
    ANSWERS_FILE,
    CONFLICTS_FILE,
    SPEC_FILE,
    VERSION_KEY,
    Project,
)
from uowgen._render.context import build_context
from uowgen._spec.models import ProjectSpec
from uowgen._version import __version__
from uowgen.errors import SpecError, UowgenError

# The version of the JSON report's shape; bumped only for incompatible changes.
JSON_SCHEMA: Final = 1

# Every finding's kind and its stable code. Codes are never reused for another kind.
CODES: Final[Mapping[str, str]] = {
    "template-behind": "UG101",
    "template-ahead": "UG102",
    "version-unrecorded": "UG103",
    "release-available": "UG104",
    "spec-unapplied": "UG201",
    "spec-invalid": "UG202",
    "answers-invalid": "UG203",
    "wiring-missing": "UG301",
    "wiring-stale": "UG302",
    "wiring-file-missing": "UG303",
    "wiring-file-invalid": "UG304",
    "conflict-marker": "UG401",
    "reject-file": "UG402",
    "conflicts-listed": "UG403",
    "migration-drift": "UG501",
    "migration-failed": "UG502",
    "migrations-unchecked": "UG503",
}

# Folders never scanned outside git: environments, caches, other tools' trees.
SKIPPED_DIRS: Final = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)
# How long the migration check and the package index may take before giving up.
MIGRATION_TIMEOUT_S: Final = 600
INDEX_TIMEOUT_S: Final = 120


class ReportFormat(StrEnum):
    """How `format_report` writes a report."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


@dataclass(frozen=True)
class Finding:
    """One way the project is out of step.

    Attributes:
        code: Stable code, e.g. `UG201` (see `CODES`).
        kind: Stable name of the code, e.g. `spec-unapplied`.
        message: What is wrong, on one line.
        fix: The command (or edit) that fixes it.
        path: POSIX path relative to the project root, when the finding has one.
        line: 1-based line in `path`, when there is one.
    """

    code: str
    kind: str
    message: str
    fix: str
    path: str | None = None
    line: int | None = None

    def to_data(self) -> dict[str, Any]:
        """The finding as JSON data: every key always present."""
        return {
            "code": self.code,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
            "path": self.path,
            "line": self.line,
        }


def finding(
    kind: str, message: str, fix: str, path: str | None = None, line: int | None = None
) -> Finding:
    """A finding of `kind`, with its code from `CODES`."""
    return Finding(CODES[kind], kind, message, fix, path, line)


@dataclass(frozen=True)
class Report:
    """Everything one `uowgen check` found."""

    project: Path
    uowgen_version: str
    recorded_version: str | None
    findings: tuple[Finding, ...]
    latest_version: str | None = None  # only asked for with `latest=True`

    @property
    def ok(self) -> bool:
        """Whether the project is in step: no findings."""
        return not self.findings

    def to_data(self) -> dict[str, Any]:
        """The report as JSON data, in the documented shape (`JSON_SCHEMA`)."""
        return {
            "schema": JSON_SCHEMA,
            "project": str(self.project),
            "uowgen_version": self.uowgen_version,
            "recorded_version": self.recorded_version,
            "latest_version": self.latest_version,
            "ok": self.ok,
            "findings": [item.to_data() for item in self.findings],
        }


def check_project(project: Project, *, latest: bool = False) -> Report:
    """Check `project` against this uowgen's template and its own spec.

    The migration check runs in a subprocess while the others run here.

    Args:
        project: The generated project.
        latest: Also ask the package index for the newest uowgen release (off by
            default, so that CI gives the same answer for the same commit).

    Returns:
        The report, with every finding of every check.

    Raises:
        UowgenError: `latest` and the package index cannot be asked.
    """
    newest = latest_release() if latest else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        migrations = pool.submit(run_migration_check, project.root)
        recorded, version = _version_findings(project, newest)
        current, rendered, spec = _spec_findings(project)
        wiring = _wiring_findings(project, current, rendered)
        conflicts = conflict_findings(project.root)
        spec_changed = any(item.kind == "spec-unapplied" for item in spec)
        drift = migration_findings(migrations.result(), spec_changed=spec_changed)
    return Report(
        project=project.root,
        uowgen_version=__version__,
        recorded_version=recorded,
        findings=(*version, *spec, *wiring, *conflicts, *drift),
        latest_version=newest,
    )


# --- UG1xx: the template version --------------------------------------------------


def version_findings(
    installed: str,
    recorded: str | None,
    *,
    latest: str | None = None,
    line: int | None = None,
) -> list[Finding]:
    """Compare the installed uowgen, the recorded one and the newest release.

    Args:
        installed: This uowgen's version.
        recorded: `_uowgen_version` of the project's answers (None: not recorded).
        latest: The newest release on the package index, when it was asked.
        line: The line of `_uowgen_version` in the answers file.

    Returns:
        The findings, in the order UG101-UG104.
    """
    found: list[Finding] = []
    mine = Version(installed)
    theirs: Version | None = None
    if recorded is None:
        found.append(
            finding(
                "version-unrecorded",
                f"{ANSWERS_FILE} does not record the uowgen version that rendered "
                f"the project ({VERSION_KEY})",
                f"add `{VERSION_KEY}: <that version>` to {ANSWERS_FILE}, then "
                "`uowgen update`",
                ANSWERS_FILE,
            )
        )
    else:
        try:
            theirs = Version(recorded)
        except InvalidVersion:
            found.append(
                finding(
                    "version-unrecorded",
                    f"{VERSION_KEY} in {ANSWERS_FILE} is {recorded!r}, not a version",
                    f"set `{VERSION_KEY}` to the uowgen version that rendered the "
                    "project, then `uowgen update`",
                    ANSWERS_FILE,
                    line,
                )
            )
    if theirs is not None and theirs < mine:
        found.append(
            finding(
                "template-behind",
                f"the project was rendered by uowgen {recorded}'s template; this is "
                f"uowgen {installed}",
                "uowgen update",
                ANSWERS_FILE,
                line,
            )
        )
    elif theirs is not None and theirs > mine:
        found.append(
            finding(
                "template-ahead",
                f"the project was rendered by uowgen {recorded}, newer than this "
                f"uowgen {installed}",
                f"pip install 'uowgen>={recorded}'",
                ANSWERS_FILE,
                line,
            )
        )
    if latest is not None and Version(latest) > max(mine, theirs or mine):
        found.append(
            finding(
                "release-available",
                f"uowgen {latest} is released; this is uowgen {installed}",
                "pip install -U uowgen && uowgen update",
            )
        )
    return found


def _version_findings(
    project: Project, latest: str | None
) -> tuple[str | None, list[Finding]]:
    try:
        recorded = project.rendered_version()
    except UowgenError:
        return None, []  # an unreadable answers file is reported with the spec
    text = _read_text(project.answers_path) or ""
    line = next(
        (
            number
            for number, content in enumerate(text.splitlines(), start=1)
            if content.startswith(f"{VERSION_KEY}:")
        ),
        None,
    )
    return recorded, version_findings(__version__, recorded, latest=latest, line=line)


def parse_pip_versions(output: str) -> str | None:
    """The newest version in the output of `pip index versions uowgen`."""
    match = re.search(r"^uowgen \(([^)\s]+)\)", output, flags=re.MULTILINE)
    if match is None:
        return None
    try:
        return str(Version(match.group(1)))
    except InvalidVersion:
        return None


def latest_release() -> str:
    """The newest uowgen release on the package index, as pip sees it.

    pip runs in a subprocess, so its configuration applies (pip.conf,
    PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX...).

    Raises:
        UowgenError: pip cannot be run, or the index cannot be reached or does not
            list uowgen.
    """
    command = [sys.executable, "-m", "pip", "index", "versions", "uowgen"]
    shown = "python -m pip index versions uowgen"
    try:
        result = subprocess.run(
            [*command, "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=False,
            timeout=INDEX_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise UowgenError(
            f"--latest: `{shown}` took more than {INDEX_TIMEOUT_S} s; is the "
            "package index reachable?"
        ) from exc
    except OSError as exc:
        raise UowgenError(f"--latest: cannot run `{shown}`: {exc}") from exc
    newest = parse_pip_versions(result.stdout) if result.returncode == 0 else None
    if newest is None:
        errors = [
            line.strip()
            for line in (result.stderr + result.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING: pip index is currently")
        ]
        said = "; ".join(errors[-3:]) or f"exit code {result.returncode}"
        raise UowgenError(
            f"--latest: cannot learn uowgen's newest release from the package index "
            f"(`{shown}` says: {said}); check the network and pip's index settings "
            "(PIP_INDEX_URL, PIP_FIND_LINKS), or run without --latest"
        )
    return newest


# --- UG2xx: the spec ------------------------------------------------------------


def spec_changes(old: ProjectSpec, new: ProjectSpec) -> list[tuple[str, str | None]]:
    """What changed from the rendered spec `old` to `new`, in words.

    Returns:
        (description, model it is about, or None) pairs, in the order of `new`.
    """
    changes: list[tuple[str, str | None]] = []
    if old.project_name != new.project_name:
        changes.append((f"project_name is now {new.project_name!r}", None))
    if old.package != new.package:
        changes.append((f"package is now {new.package}", None))
    if old.admin != new.admin:
        changes.append((f"admin is now {'on' if new.admin else 'off'}", None))
    before = {model.name: model for model in old.models}
    after = {model.name: model for model in new.models}
    for name, model in after.items():
        if name not in before:
            changes.append((f"model {name} added", name))
            continue
        was = before[name]
        if was == model:
            continue
        fields_before = {item.name: item for item in was.fields}
        fields_after = {item.name: item for item in model.fields}
        parts = [f"{n} added" for n in fields_after if n not in fields_before]
        parts += [f"{n} removed" for n in fields_before if n not in fields_after]
        parts += [
            f"{n} changed"
            for n, item in fields_after.items()
            if n in fields_before and fields_before[n] != item
        ]
        if was.plural != model.plural:
            parts.append(f"plural is now {model.plural or 'derived'}")
        changes.append((f"{name}: {', '.join(parts) or 'fields reordered'}", name))
    changes += [(f"model {name} removed", None) for name in before if name not in after]
    if not changes and not old.renders_like(new):
        changes.append(("models reordered", None))
    return changes


def spec_lines(text: str) -> dict[str, int]:
    """The 1-based line of each model in a spec's YAML, by name; "" is `models:`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if key.value != "models" or not isinstance(value, yaml.SequenceNode):
            continue
        lines[""] = key.start_mark.line + 1
        for item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            for name_key, name in item.value:
                if name_key.value == "name" and isinstance(name, yaml.ScalarNode):
                    lines.setdefault(str(name.value), item.start_mark.line + 1)
    return lines


def _spec_findings(
    project: Project,
) -> tuple[ProjectSpec | None, ProjectSpec | None, list[Finding]]:
    """The current spec, the rendered one (None when unreadable) and the findings."""
    found: list[Finding] = []
    current: ProjectSpec | None = None
    rendered: ProjectSpec | None = None
    try:
        current = project.spec()
    except SpecError as exc:
        for problem in exc.problems:
            where = re.match(r"line (\d+), column \d+: ", problem)
            found.append(
                finding(
                    "spec-invalid",
                    f"{SPEC_FILE} is not a valid spec: {problem}",
                    f"uowgen validate {SPEC_FILE}",
                    SPEC_FILE,
                    int(where.group(1)) if where else None,
                )
            )
    try:
        rendered = project.rendered_spec()
    except UowgenError as exc:
        problems = exc.problems if isinstance(exc, SpecError) else [exc.message]
        found.append(
            finding(
                "answers-invalid",
                f"{ANSWERS_FILE} does not hold the spec of the last render: "
                + "; ".join(problems),
                f"restore it from git (`git checkout -- {ANSWERS_FILE}`)",
                ANSWERS_FILE,
            )
        )
    if (
        current is not None
        and rendered is not None
        and not current.renders_like(rendered)
    ):
        changes = spec_changes(rendered, current)
        lines = spec_lines(_read_text(project.spec_path) or "")
        first = next((model for _, model in changes if model is not None), "")
        found.append(
            finding(
                "spec-unapplied",
                f"{SPEC_FILE} has changes never applied to the code: "
                + "; ".join(text for text, _ in changes),
                "uowgen sync (`uowgen sync --pretend` shows the diff)",
                SPEC_FILE,
                lines.get(first) or lines.get(""),
            )
        )
    return current, rendered, found


# --- UG3xx: the registries uowgen maintains ---------------------------------------


@dataclass(frozen=True)
class ModelWiring:
    """The names one model is wired under (as `build_context` derives them)."""

    name: str  # the class: User
    module: str  # its module in models/, repositories/, api/routes/: user
    plural: str  # its attribute in Repositories: users
    repository: str  # UserRepository


def expected_wiring(spec: ProjectSpec) -> list[ModelWiring]:
    """Each model's wiring names, from the same context the template renders."""
    return [
        ModelWiring(
            name=entity["name"],
            module=entity["module"],
            plural=entity["plural"],
            repository=entity["repository"],
        )
        for entity in build_context(spec)["entities"]
    ]


@dataclass(frozen=True)
class _Imports:
    """What a module imports: `from x import y` as {(x, y): line}, aliases resolved."""

    names: dict[tuple[str, str], int] = field(default_factory=dict)
    # Local name -> (module, imported name or "" for `import x.y as z`).
    local: dict[str, tuple[str, str]] = field(default_factory=dict)


def _imports(tree: ast.Module, package: str) -> _Imports:
    """The module-level imports of `tree`, relative ones resolved against `package`."""
    found = _Imports()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                found.names.setdefault((module, alias.name), node.lineno)
                found.local[alias.asname or alias.name] = (module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found.local[alias.asname] = (alias.name, "")
    return found


def _submodule(imported: tuple[str, str], parent: str) -> str | None:
    """The module of `parent` an import names, or None when another.

    That is `m` in `from parent import m`, `from parent.m import X` and
    `import parent.m as z`.
    """
    module, name = imported
    if module == parent and name:
        return name
    prefix = parent + "."
    if module.startswith(prefix):
        return module[len(prefix) :].split(".")[0]
    return None


@dataclass(frozen=True)
class WiringFile:
    """One registry file uowgen maintains, as read from the project."""

    path: str  # relative to the project root
    source: str | None  # None when the file is missing


def analyse_models_init(
    wiring_file: WiringFile,
    package: str,
    models: Iterable[ModelWiring],
    exists: Iterable[str],
) -> list[Finding]:
    """Findings for `models/__init__.py`: every model imported, none of a lost module.

    Args:
        wiring_file: The file and its text.
        package: The project's package.
        models: The models whose wiring must be there.
        exists: The modules present in the `models` folder.
    """
    parsed = _parse(wiring_file)
    if isinstance(parsed, Finding):
        return [parsed]
    parent = f"{package}.models"
    imports = _imports(parsed, parent)
    last = max(
        (line for (m, _), line in imports.names.items() if m.startswith(parent)),
        default=1,
    )
    found = [
        finding(
            "wiring-missing",
            f"model {model.name} is not imported, so Base.metadata has no table for it",
            f"restore the line `from {parent}.{model.module} import {model.name}` "
            "(and its `__all__` entry)",
            wiring_file.path,
            last,
        )
        for model in models
        if (f"{parent}.{model.module}", model.name) not in imports.names
    ]
    return found + _stale(wiring_file.path, imports, parent, set(exists), ("base",))


def analyse_registry(
    wiring_file: WiringFile,
    package: str,
    models: Iterable[ModelWiring],
    exists: Iterable[str],
) -> list[Finding]:
    """Findings for `repositories/registry.py`: one `Repositories` attribute a model.

    Args:
        wiring_file: The file and its text.
        package: The project's package.
        models: The models whose wiring must be there.
        exists: The modules present in the `repositories` folder.
    """
    parsed = _parse(wiring_file)
    if isinstance(parsed, Finding):
        return [parsed]
    parent = f"{package}.repositories"
    imports = _imports(parsed, parent)
    init = _method(parsed, "Repositories", "__init__")
    if init is None:
        return [
            finding(
                "wiring-missing",
                "no class Repositories with an __init__: the unit of work's "
                "transactions have no repositories",
                f"restore it (`git checkout -- {wiring_file.path}`)",
                wiring_file.path,
                1,
            )
        ]
    attributes = _self_calls(init)
    found: list[Finding] = []
    for model in models:
        line = f"self.{model.plural} = {model.repository}(session)"
        assigned = attributes.get(model.plural)
        imported = (f"{parent}.{model.module}", model.repository) in imports.names
        if assigned is not None and assigned[0] == model.repository and imported:
            continue
        what = (
            f"Repositories has no `self.{model.plural}` for model {model.name}"
            if assigned is None or assigned[0] != model.repository
            else f"{model.repository} is not imported"
        )
        found.append(
            finding(
                "wiring-missing",
                what,
                f"restore `{line}` in Repositories.__init__ and `from "
                f"{parent}.{model.module} import {model.repository}`",
                wiring_file.path,
                assigned[1] if assigned is not None else init.end_lineno,
            )
        )
    skip = ("base", "registry")
    return found + _stale(wiring_file.path, imports, parent, set(exists), skip)


def analyse_router(
    wiring_file: WiringFile,
    package: str,
    models: Iterable[ModelWiring],
    exists: Iterable[str],
) -> list[Finding]:
    """Findings for `api/router.py`: every model's route module included.

    Args:
        wiring_file: The file and its text.
        package: The project's package.
        models: The models whose wiring must be there.
        exists: The modules present in the `api/routes` folder.
    """
    parsed = _parse(wiring_file)
    if isinstance(parsed, Finding):
        return [parsed]
    parent = f"{package}.api.routes"
    imports = _imports(parsed, f"{package}.api")
    included: dict[str, int] = {}
    for node in ast.walk(parsed):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "include_router"
            and node.args
        ):
            module = _router_module(node.args[0], imports, parent)
            if module is not None:
                included.setdefault(module, node.lineno)
    last = max(included.values(), default=1)
    found = [
        finding(
            "wiring-missing",
            f"the routes of model {model.name} are not mounted",
            f"restore `api_router.include_router({model.module}.router)` and import "
            f"{model.module} from {parent}",
            wiring_file.path,
            last,
        )
        for model in models
        if model.module not in included
    ]
    return found + _stale(wiring_file.path, imports, parent, set(exists), ())


def _router_module(node: ast.expr, imports: _Imports, parent: str) -> str | None:
    """The route module an `include_router(...)` argument comes from."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "router"
        and isinstance(node.value, ast.Name)
    ):
        imported = imports.local.get(node.value.id)
    elif isinstance(node, ast.Name):
        imported = imports.local.get(node.id)
    else:
        return None
    return _submodule(imported, parent) if imported else None


def _stale(
    path: str,
    imports: _Imports,
    parent: str,
    exists: set[str],
    skip: Iterable[str],
) -> list[Finding]:
    """Imports of modules of `parent` that are gone: what removed models leave."""
    found: list[Finding] = []
    reported: set[str] = set()
    for imported, line in sorted(imports.names.items(), key=lambda item: item[1]):
        module = _submodule(imported, parent)
        if module is None or module in skip or module in exists or module in reported:
            continue
        reported.add(module)
        found.append(
            finding(
                "wiring-stale",
                f"imports {parent}.{module}, which does not exist (a model removed "
                "from the spec?)",
                f"delete the lines of {module} in {path}",
                path,
                line,
            )
        )
    return found


def _parse(wiring_file: WiringFile) -> ast.Module | Finding:
    if wiring_file.source is None:
        return finding(
            "wiring-file-missing",
            f"{wiring_file.path} is missing: uowgen keeps the models' wiring there",
            f"restore it (`git checkout -- {wiring_file.path}`)",
            wiring_file.path,
        )
    try:
        return ast.parse(wiring_file.source, filename=wiring_file.path)
    except SyntaxError as exc:
        return finding(
            "wiring-file-invalid",
            f"not valid Python: {exc.msg}",
            "fix the syntax error",
            wiring_file.path,
            exc.lineno,
        )


def _method(tree: ast.Module, cls: str, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item
    return None


def _self_calls(function: ast.FunctionDef) -> dict[str, tuple[str, int]]:
    """`self.<attr> = <Class>(...)` in a method: {attr: (Class, line)}."""
    found: dict[str, tuple[str, int]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        called = (
            value.func.id
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            else ""
        )
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                found.setdefault(target.attr, (called, node.lineno))
    return found


def _wiring_findings(
    project: Project, current: ProjectSpec | None, rendered: ProjectSpec | None
) -> list[Finding]:
    """Check the registries against the models of both specs.

    The code is what the last render made, so names come from the rendered spec;
    a model that only one of the specs has is an unapplied change, reported once
    as `spec-unapplied`, not here as well.
    """
    spec = rendered or current
    if spec is None:
        return []
    wanted = expected_wiring(spec)
    if rendered is not None and current is not None:
        kept = {model.name for model in current.models}
        wanted = [model for model in wanted if model.name in kept]
    source = PurePosixPath("src", spec.package)
    found: list[Finding] = []
    for folder, name, analyse in (
        ("models", "__init__.py", analyse_models_init),
        ("repositories", "registry.py", analyse_registry),
        ("api", "router.py", analyse_router),
    ):
        path = (source / folder / name).as_posix()
        modules = project.root / source / folder
        if folder == "api":
            modules = modules / "routes"
        exists = [
            item.stem if item.suffix == ".py" else item.name
            for item in (modules.iterdir() if modules.is_dir() else [])
        ]
        wiring_file = WiringFile(path, _read_text(project.root / path))
        found += analyse(wiring_file, spec.package, wanted, exists)
    return found


# --- UG4xx: what merges leave behind ----------------------------------------------


def project_files(root: Path) -> list[str]:
    """The project's files, POSIX and relative to `root`.

    In git: the tracked files and the untracked ones that are not ignored. Else
    every file, except in `SKIPPED_DIRS`.
    """
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others"]
            + ["--exclude-standard"],
            capture_output=True,
            check=False,
        )
    except OSError:  # no git: walk the folder instead
        listed = None
    names = (
        listed.stdout.decode("utf-8", errors="surrogateescape").split("\0")
        if listed is not None and listed.returncode == 0
        else []
    )
    plain = {name for name in names if _is_plain_relative(name)}
    # Nothing listed: not a repository, or one that ignores the whole project.
    return sorted(plain) if plain else sorted(_walk(root))


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                yield path.relative_to(root).as_posix()


def _is_plain_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        bool(path)
        and "\\" not in path
        and pure.as_posix() == path
        and not (pure.is_absolute() or any(part in (".", "..") for part in pure.parts))
    )


def conflict_findings(root: Path, files: list[str] | None = None) -> list[Finding]:
    """Conflict markers, `.rej` files and a `.uowgen-conflicts` list.

    Args:
        root: The project root.
        files: The files to scan (default: `project_files(root)`).
    """
    if files is None:
        files = project_files(root)
    listed = root / CONFLICTS_FILE
    open_list = listed.is_file()
    resolve = (
        f"resolve the conflict (keep the right lines, delete the marker lines), "
        f"then delete {CONFLICTS_FILE}"
        if open_list
        else "resolve the conflict (keep the right lines, delete the marker lines)"
    )
    found = [
        finding(
            "conflict-marker",
            "unresolved conflict: a merge left git-style markers here",
            resolve,
            path,
            line,
        )
        for path, line in find_conflict_markers(root, files)
    ]
    found += [
        finding(
            "reject-file",
            f"a merge could not apply these changes to {path.removesuffix('.rej')}",
            f"apply its hunks to {path.removesuffix('.rej')} by hand, then delete "
            f"{path}",
            path,
        )
        for path in files
        if path.endswith(".rej") and (root / path).is_file()
    ]
    if open_list:
        paths = [line for line in (_read_text(listed) or "").splitlines() if line]
        found.append(
            finding(
                "conflicts-listed",
                f"a sync left conflicts in {len(paths)} file"
                f"{'s' if len(paths) != 1 else ''}: {', '.join(paths) or 'none listed'}",
                f"resolve them, then delete {CONFLICTS_FILE}",
                CONFLICTS_FILE,
            )
        )
    return found


# --- UG5xx: models against migrations ---------------------------------------------

# Runs in the project's interpreter, which may not have uowgen: the standard
# library and alembic only. argv: project root, result file. Upgrades the scratch
# database that DATABASE_URL names to head, then runs `alembic check`, and writes
# what happened as JSON. Diffs are turned into plain data here, where alembic's
# objects are; each gets the model class (file and line) it concerns.
_ALEMBIC_SCRIPT: Final = r"""
import inspect, json, re, sys, traceback
from pathlib import Path

root, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])

def write(data):
    out.write_text(json.dumps(data), encoding="utf-8")

try:
    from alembic import command
    from alembic.config import Config
except ImportError as exc:
    write({"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"})
    sys.exit(0)

def inside(file):
    try:
        path = Path(file).resolve()
        rel = path.relative_to(root)
    except (TypeError, ValueError):
        return None
    if not path.is_file():  # "<string>", "<frozen ...>"
        return None
    skipped = {".venv", "venv", "site-packages", ".tox", ".nox"}
    return None if skipped & set(rel.parts) else rel.as_posix()

def failure(stage, exc):
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if missing and not (root / "src" / missing.split(".")[0]).exists():
        # A dependency, not the project's code: the project is not installed here.
        return {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
    where = {}
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        rel = inside(frame.filename)
        if rel is not None:
            where = {"path": rel, "line": frame.lineno}
            break
    text = str(exc).strip() or type(exc).__name__
    return {"status": "failed", "stage": stage,
            "error": f"{type(exc).__name__}: {text}", **where}

def models():
    found = {}
    for module in list(sys.modules.values()):
        rel = inside(getattr(module, "__file__", None))
        if rel is None:
            continue
        for value in list(vars(module).values()):
            table = getattr(value, "__table__", None)
            name = getattr(table, "name", None)
            if (not isinstance(value, type) or not isinstance(name, str)
                    or value.__module__ != module.__name__):
                continue
            try:
                lines, start = inspect.getsourcelines(value)
            except (OSError, TypeError):
                continue
            found.setdefault(name, (rel, start, lines))
    return found

def plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return str(value)
    except Exception:
        return repr(value)

def operation(diff):
    op = {"op": str(diff[0])}
    kind = op["op"]
    try:
        if kind in ("add_table", "remove_table") or kind.endswith("_table_comment"):
            op["table"] = diff[1].name
        elif kind in ("add_column", "remove_column"):
            op["table"], op["column"] = diff[2], diff[3].name
        elif kind.startswith("modify_"):
            op["table"], op["column"] = diff[2], diff[3]
            op["old"], op["new"] = plain(diff[5]), plain(diff[6])
        elif kind in ("add_fk", "remove_fk"):
            fk = diff[1]
            op["table"], op["name"] = fk.parent.name, plain(fk.name)
            op["columns"] = [plain(c) for c in fk.column_keys]
            op["referred"] = fk.referred_table.name
        elif kind.startswith(("add_", "remove_")):
            item = diff[1]
            op["table"], op["name"] = item.table.name, plain(item.name)
            op["columns"] = [plain(getattr(c, "name", c)) for c in item.columns]
            op["unique"] = bool(getattr(item, "unique", False))
    except Exception:
        op["detail"] = repr(diff)[:300]
    return op

def operations(diffs):
    for diff in diffs:
        if isinstance(diff, list):
            yield from operations(diff)
        else:
            yield operation(diff)

config = Config(str(root / "alembic.ini"))
config.attributes["configure_logger"] = False
try:
    command.upgrade(config, "head")
except BaseException as exc:
    write(failure("upgrade", exc))
    sys.exit(0)
try:
    command.check(config)
except BaseException as exc:
    diffs = getattr(exc, "diffs", None)
    if type(exc).__name__ != "AutogenerateDiffsDetected":
        write(failure("check", exc))
        sys.exit(0)
    if diffs is None:
        write({"status": "drift", "message": str(exc)})
        sys.exit(0)
    places = models()
    ops = list(operations(diffs))
    for op in ops:
        place = places.get(op.get("table"))
        if place is None or op["op"] == "remove_table":
            continue
        rel, start, lines = place
        op["path"], op["line"] = rel, start
        column = op.get("column")
        for number, text in enumerate(lines):
            if column and re.match(rf"\s+{re.escape(column)}\s*[:=]", text):
                op["line"] = start + number
                break
    write({"status": "drift", "operations": ops})
    sys.exit(0)
write({"status": "ok"})
"""


@dataclass(frozen=True)
class MigrationOutcome:
    """What the migration check found.

    Attributes:
        status: `ok`, `drift` (the models and the migrated schema differ),
            `failed` (a migration or the models did not run), or `unavailable`
            (alembic could not be run in the project's interpreter).
        operations: For `drift`: alembic's upgrade operations as plain data
            ({"op", "table", "column", "name", "columns", "old", "new", ...,
            "path", "line"}); empty when only `message` came back.
        message: For `drift` without operations: alembic's own message.
        error: For `failed` and `unavailable`: the error.
        stage: For `failed`: `upgrade` or `check`.
        path: For `failed`: the project file the error was raised in.
        line: Its line.
    """

    status: Literal["ok", "drift", "failed", "unavailable"]
    operations: tuple[dict[str, Any], ...] = ()
    message: str = ""
    error: str = ""
    stage: str = ""
    path: str | None = None
    line: int | None = None


def project_python(root: Path) -> str:
    """The interpreter the project runs in: its `.venv`, else this one."""
    for candidate in (
        root / ".venv" / "bin" / "python",
        root / ".venv" / "Scripts" / "python.exe",
    ):
        if candidate.is_file():
            return str(candidate)
    return sys.executable


def run_migration_check(root: Path, python: str | None = None) -> MigrationOutcome:
    """Upgrade a scratch SQLite database to head and compare it with the models.

    Runs in `python` (default: `project_python(root)`), in one process, with
    DATABASE_URL naming a database in a temporary folder; nothing is written to
    the project (bytecode included).
    """
    if not (root / "alembic.ini").is_file():
        return MigrationOutcome("unavailable", error="the project has no alembic.ini")
    python = python or project_python(root)
    with tempfile.TemporaryDirectory(prefix="uowgen-check-") as scratch:
        result_file = Path(scratch) / "result.json"
        database = Path(scratch) / "check.db"
        source = root / "src"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(source), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        try:
            done = subprocess.run(
                [python, "-c", _ALEMBIC_SCRIPT, str(root), str(result_file)],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=MIGRATION_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return MigrationOutcome(
                "failed",
                stage="upgrade",
                error=f"alembic took more than {MIGRATION_TIMEOUT_S} s",
            )
        except OSError as exc:
            return MigrationOutcome("unavailable", error=f"cannot run {python}: {exc}")
        text = _read_text(result_file)
    if text is None:
        said = (done.stderr or done.stdout).strip().splitlines()
        return MigrationOutcome(
            "unavailable",
            error=f"{python} exited {done.returncode}: "
            + (said[-1] if said else "no output"),
        )
    return parse_outcome(json.loads(text))


def parse_outcome(data: Mapping[str, Any]) -> MigrationOutcome:
    """The migration script's JSON as a `MigrationOutcome`."""
    status = data.get("status")
    if status not in ("ok", "drift", "failed", "unavailable"):
        return MigrationOutcome("unavailable", error=f"unexpected result: {data!r}")
    line = data.get("line")
    return MigrationOutcome(
        status=status,
        operations=tuple(data.get("operations") or ()),
        message=str(data.get("message") or ""),
        error=str(data.get("error") or ""),
        stage=str(data.get("stage") or ""),
        path=data.get("path"),
        line=line if isinstance(line, int) else None,
    )


# An operation's tuple opens with a bare parenthesis; `Column('add_on', ...` does not.
_OP_START = re.compile(r"(?<!\w)\('((?:add|remove|modify)_[a-z_]+)', ")


def parse_alembic_message(message: str) -> list[dict[str, Any]]:
    """Read alembic's "New upgrade operations detected: [...]" as plain operations.

    A fallback for an alembic whose exception does not carry its diffs: the
    message is the `repr` of the diff tuples, so this reads the operation names
    and the table and column names in it, and nothing else.
    """
    found: list[dict[str, Any]] = []
    starts = list(_OP_START.finditer(message))
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(message)
        segment = message[match.end() : end]
        op: dict[str, Any] = {"op": match.group(1)}
        column = re.match(
            r"(?:None|'[^']*'), '([^']+)', (?:Column\()?'([^']+)'", segment
        )
        table = re.match(r"Table\('([^']+)'", segment) or re.search(
            r"table=<([^>]+)>", segment
        )
        if column:
            op["table"], op["column"] = column.group(1), column.group(2)
        elif table:
            op["table"] = table.group(1)
        name = re.match(r"\w+\('([^']+)'", segment)
        if name and not segment.startswith("Table("):
            op["name"] = name.group(1)
        found.append(op)
    return found


def describe_operation(op: Mapping[str, Any]) -> str:
    """One alembic upgrade operation in words: what the migrations lack."""
    kind = str(op.get("op", "?"))
    table = op.get("table") or "?"
    column = f"{table}.{op['column']}" if op.get("column") else table
    name = f" {op['name']}" if op.get("name") else ""
    columns = f" ({', '.join(map(str, op['columns']))})" if op.get("columns") else ""
    old, new = op.get("old"), op.get("new")
    if kind == "modify_nullable":
        model = "nullable" if new else "NOT NULL"
        migrated = "nullable" if old else "NOT NULL"
        return f"column {column} is {model} in the model, {migrated} in the migrations"
    described = {
        "add_table": f"table {table} is in the models but no migration creates it",
        "remove_table": f"table {table} is in the migrations but in no model",
        "add_column": f"column {column} is in the model but no migration adds it",
        "remove_column": f"column {column} is in the migrations but not in the model",
        "modify_type": (
            f"column {column} is {new} in the model, {old} in the migrations"
        ),
        "modify_default": f"the server default of column {column} differs",
        "modify_comment": f"the comment of column {column} differs",
        "add_index": f"index{name}{columns} on {table} is in the models only",
        "remove_index": f"index{name}{columns} on {table} is in the migrations only",
        "add_constraint": f"constraint{name}{columns} on {table} is in the models only",
        "remove_constraint": (
            f"constraint{name}{columns} on {table} is in the migrations only"
        ),
        "add_fk": f"foreign key{name}{columns} on {table} is in the models only",
        "remove_fk": f"foreign key{name}{columns} on {table} is in the migrations only",
    }
    if kind in described:
        return described[kind]
    detail = op.get("detail")
    return f"{kind} on {column}" + (f": {detail}" if detail else "")


def _revision_message(operations: Iterable[Mapping[str, Any]]) -> str:
    words = {"add_table": "add table", "remove_table": "drop table"}
    parts: list[str] = []
    for op in operations:
        kind = str(op.get("op", ""))
        target = op.get("column") and f"{op.get('table')}.{op['column']}"
        part = (
            f"{words[kind]} {op.get('table')}"
            if kind in words
            else f"{kind.split('_')[0]} {target or op.get('table') or kind}"
        )
        if part not in parts:
            parts.append(part)
    shown = ", ".join(parts[:2]) + (
        f" and {len(parts) - 2} more" if len(parts) > 2 else ""
    )
    return shown.replace('"', "'") or "match the models"


def migration_findings(
    outcome: MigrationOutcome, *, spec_changed: bool = False
) -> list[Finding]:
    """The findings of a migration check.

    Args:
        outcome: What `run_migration_check` found.
        spec_changed: Whether `uowgen.yml` has unapplied changes; then `uowgen
            sync` writes the missing migration, else alembic autogenerates it.
    """
    if outcome.status == "ok":
        return []
    if outcome.status == "unavailable":
        return [
            finding(
                "migrations-unchecked",
                f"cannot compare the models with the migrations: {outcome.error}",
                "install the project into the interpreter that runs uowgen "
                "(`pip install -e .`), or create the project's .venv",
            )
        ]
    if outcome.status == "failed":
        error = _first_line(outcome.error)
        if outcome.stage == "upgrade":
            what = "`alembic upgrade head` fails on an empty SQLite database"
        else:
            what = "`alembic check` fails after `alembic upgrade head`"
        if "Multiple head revisions" in outcome.error:
            fix = 'alembic merge heads -m "merge heads"'
        elif outcome.stage == "upgrade":
            fix = "fix the error, then `alembic upgrade head` on an empty database"
        else:
            fix = "fix the error, then `alembic check`"
        return [
            finding(
                "migration-failed",
                f"{what}: {error}",
                fix,
                outcome.path,
                outcome.line,
            )
        ]
    operations = list(outcome.operations) or parse_alembic_message(outcome.message)
    fix = (
        "uowgen sync"
        if spec_changed
        else f'alembic revision --autogenerate -m "{_revision_message(operations)}"'
    )
    if not operations:
        return [
            finding(
                "migration-drift",
                f"the models and the migrations differ: {_first_line(outcome.message)}",
                fix,
            )
        ]
    return [
        finding(
            "migration-drift",
            describe_operation(op),
            fix,
            op.get("path") if isinstance(op.get("path"), str) else None,
            op.get("line") if isinstance(op.get("line"), int) else None,
        )
        for op in operations
    ]


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- Output ---------------------------------------------------------------------


def format_report(
    report: Report, output: ReportFormat, *, cwd: Path | None = None
) -> str:
    """The report as the CLI prints it.

    Args:
        report: What `check_project` found.
        output: `text`: one `path:line: CODE message (fix: command)` line per
            finding, then a summary line; `json`: `Report.to_data()`; `github`:
            workflow commands that annotate the files in a pull request.
        cwd: Paths under it are shown relative to it (text and github), as
            GitHub wants them relative to the workspace; default: as in the JSON,
            relative to the project.
    """
    if output is ReportFormat.JSON:
        return json.dumps(report.to_data(), indent=2, ensure_ascii=False)
    lines = [
        _github_line(item, _shown(report.project, item.path, cwd))
        if output is ReportFormat.GITHUB
        else _text_line(item, _shown(report.project, item.path, cwd))
        for item in report.findings
    ]
    count = len(report.findings)
    lines.append(
        f"{report.project} is in step with uowgen {report.uowgen_version} and "
        f"{SPEC_FILE}"
        if report.ok
        else f"{count} finding{'s' if count != 1 else ''}: {report.project} is not in "
        f"step with uowgen {report.uowgen_version} and {SPEC_FILE}"
    )
    return "\n".join(lines)


def _shown(project: Path, path: str | None, cwd: Path | None) -> str | None:
    if path is None or cwd is None:
        return path
    full = project / path
    try:
        return full.relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return str(full)


def _text_line(item: Finding, path: str | None) -> str:
    where = (
        f"{path}:{item.line}: " if path and item.line else f"{path}: " if path else ""
    )
    text = f"{where}{item.code} {item.message} (fix: {item.fix})"
    return " ".join(text.splitlines())


def _github_line(item: Finding, path: str | None) -> str:
    properties = [f"file={_github_property(path)}"] if path else []
    if path and item.line:
        properties.append(f"line={item.line}")
    properties.append(f"title={_github_property(f'{item.code} {item.kind}')}")
    message = _github_data(f"{item.message} (fix: {item.fix})")
    return f"::error {','.join(properties)}::{message}"


def _github_data(text: str) -> str:
    """Escape a workflow command's message, as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """Escape a workflow command's property value (`:` and `,` too)."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
