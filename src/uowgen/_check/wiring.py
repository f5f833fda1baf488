"""UG3xx: the registries uowgen maintains, against the spec's models.

`models/__init__.py`, `repositories/registry.py` and `api/router.py`, read with
`ast`: every model wired in, and no import of a module that is gone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from uowgen._check.findings import Finding, finding, read_text
from uowgen._evolve.project import Project
from uowgen._schema import naming
from uowgen._spec.models import ProjectSpec


@dataclass(frozen=True)
class ModelWiring:
    """The names one model is wired under (as the template context names them)."""

    name: str  # the class: User
    module: str  # its module in models/, repositories/, api/routes/: user
    plural: str  # its attribute in Repositories: users
    repository: str  # UserRepository


def expected_wiring(spec: ProjectSpec) -> list[ModelWiring]:
    """Each model's wiring names, from the names module the template context uses."""
    return [
        ModelWiring(
            name=model.name,
            module=naming.snake(model.name),
            plural=naming.table(model.name, model.plural),
            repository=naming.model_classes(model.name)["repository"],
        )
        for model in spec.models
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


def project_wiring_findings(
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
        wiring_file = WiringFile(path, read_text(project.root / path))
        found += analyse(wiring_file, spec.package, wanted, exists)
    return found
