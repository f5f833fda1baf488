"""Copier extension: validate the answers as a uowgen spec and add the derived names.

Both `uowgen new` and plain `copier copy` render through this hook, so both produce
the same project. The generator code it runs is the one shipped with this very
template: `src/uowgen` beside it in a checkout (or a git tag of one), or the package
that bundles it in a wheel (`uowgen/_template/extensions/`).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment, Template

_HERE = Path(__file__).resolve().parent


def _own_source() -> Path | None:
    """The folder holding the `uowgen` package of this template version."""
    checkout = _HERE.parent / "src"
    if (checkout / "uowgen" / "__init__.py").is_file():
        return checkout
    if _HERE.parent.name == "_template" and _HERE.parent.parent.name == "uowgen":
        return _HERE.parent.parent.parent  # the wheel's uowgen/_template/extensions
    return None


def _import_own(names: tuple[str, ...]) -> dict[str, ModuleType]:
    """Import `names` from this template version's own `uowgen`, whatever is loaded.

    `copier update` renders two versions of the template in one process, and Python
    keeps the first `uowgen` it imported in `sys.modules`: without this, the new
    template files would be rendered by the old generator code (or the reverse).
    When another version's `uowgen` is loaded, this one is imported beside it with
    its own source first on `sys.path`, and the loaded one is put back afterwards.
    """
    source = _own_source()
    loaded = sys.modules.get("uowgen")
    loaded_file = getattr(loaded, "__file__", None)
    if source is None or (
        loaded_file is not None and Path(loaded_file).resolve().parent.parent == source
    ):
        return {name: importlib.import_module(name) for name in names}
    saved = {
        name: module
        for name, module in sys.modules.items()
        if name == "uowgen" or name.startswith("uowgen.")
    }
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(source))
    try:
        return {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(source))
        if saved:  # leave the caller's uowgen as it was
            for name in [n for n in sys.modules if n.split(".")[0] == "uowgen"]:
                del sys.modules[name]
            sys.modules.update(saved)


_own = _import_own(
    (
        "uowgen._schema.naming",
        "uowgen._render.answers",
        "uowgen._render.context",
        "uowgen._spec.validate",
        "uowgen._version",
    )
)
_naming = _own["uowgen._schema.naming"]
# The one mapping between the spec and copier's answers (uowgen._render.answers).
_spec_data = _own["uowgen._render.answers"].asked_spec
_recorded = _own["uowgen._render.answers"].recorded_answers
build_context = _own["uowgen._render.context"].build_context
parse_spec = _own["uowgen._spec.validate"].parse_spec
spec_problems = _own["uowgen._spec.validate"].spec_problems
__version__: str = _own["uowgen._version"].__version__
# The error class of this version's own spec module (`isinstance` needs the same one).
SpecError = _own["uowgen._spec.validate"].SpecError


def _report(problems: list[str]) -> str:
    return "invalid spec:\n" + "\n".join(f"  - {problem}" for problem in problems)


def check_models(
    models: Any,
    project_name: Any,
    package_name: Any,
    admin: Any = False,
    auth: Any = None,
) -> str:
    """Copier validator: empty when the models make a valid spec, else the problems."""
    problems = spec_problems(
        _spec_data(models, project_name, package_name, admin, auth)
    )
    return _report(problems) if problems else ""


def check_project_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return "project_name must not be empty"
    if not value.isprintable() or len(value) > 100:
        return "project_name must be one printable line of at most 100 characters"
    return ""


def check_package_name(value: Any) -> str:
    probe = {"project_name": "x", "package_name": value, "models": [_PROBE_MODEL]}
    problems = [p for p in spec_problems(probe) if "package_name" in p]
    return _report(problems) if problems else ""


_PROBE_MODEL = {"name": "Probe", "fields": [{"name": "label", "type": "str"}]}


def _compile_each_string_once(environment: Environment) -> None:
    """Make `environment.from_string` compile each distinct string once.

    Copier renders every path part and the answers file's name with `from_string`,
    once per file: about 800 compilations of a few dozen distinct strings for 30
    models, most of a second. Jinja caches templates it loads by name, not these.
    The cache belongs to this environment, which copier makes for one render.
    """
    compile_string = environment.from_string
    compiled: dict[str, Template] = {}

    def from_string(
        source: Any, globals: Any = None, template_class: Any = None
    ) -> Template:
        if not isinstance(source, str) or globals or template_class:
            return compile_string(source, globals, template_class)
        # What compiling does besides the compilation: the extensions' preprocess
        # hooks (copier's `yield` tag resets its loop there).
        environment.preprocess(source)
        template = compiled.get(source)
        if template is None:
            template = compiled[source] = compile_string(source)
        return template

    environment.from_string = from_string  # type: ignore[method-assign]


class UowgenContext(ContextHook):
    """Adds `entities`, `package` and the other derived values to copier's context."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        _compile_each_string_once(environment)
        environment.filters["uowgen_package_name"] = _naming.package_name
        environment.filters["uowgen_check_models"] = check_models
        environment.filters["uowgen_check_project_name"] = check_project_name
        environment.filters["uowgen_check_package_name"] = check_package_name
        # One render calls the hook for every file and every file name (about a
        # thousand times for 30 models) with the same answers: derive them once per
        # environment, which copier makes anew for each render, so nothing carries
        # over from one render (or template version) to the next.
        self._answers: tuple[Any, Any, Any, Any, Any] | None = None
        self._derived: dict[str, Any] = {}
        self._keyed: dict[str, dict[str, Any]] = {}

    def hook(self, context: dict[str, Any]) -> None:
        if "models" not in context or "project_name" not in context:
            return
        answers = (
            context["models"],
            context["project_name"],
            context.get("package_name"),
            context.get("admin", False),
            context.get("auth"),
        )
        if self._answers is None or any(
            new is not old for new, old in zip(answers, self._answers, strict=True)
        ):
            data = _spec_data(*answers)
            # Key order counts: uowgen.yml keeps the order the spec was written in.
            key = json.dumps(data, default=str)
            if key not in self._keyed:
                try:
                    spec = parse_spec(data, source="copier answers")
                except SpecError as exc:
                    raise ValueError(exc.message) from exc
                self._keyed[key] = build_context(spec, answers[0]).template_data()
            self._answers, self._derived = answers, self._keyed[key]
        context.update(
            self._derived,
            uowgen_version=__version__,
            recorded_answers=_recorded(context.get("_copier_answers", {})),
        )
