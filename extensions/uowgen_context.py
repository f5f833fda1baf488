"""Copier extension: validate the answers as a uowgen spec and add the derived names.

Both `uowgen new` and plain `copier copy` render through this hook, so both produce
the same project. It imports uowgen from the template's own checkout when there is
one (`src/` beside this folder), else from the installed package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment

_SOURCE = Path(__file__).resolve().parent.parent / "src"
if (_SOURCE / "uowgen" / "__init__.py").is_file() and str(_SOURCE) not in sys.path:
    sys.path.insert(0, str(_SOURCE))

from uowgen import _naming
from uowgen._context import build_context
from uowgen._spec import parse_spec, spec_problems
from uowgen._version import __version__
from uowgen.errors import SpecError


def _spec_data(models: Any, project_name: Any, package_name: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"project_name": project_name, "models": models}
    if package_name and package_name != _naming.package_name(str(project_name)):
        data["package_name"] = package_name
    return data


def _report(problems: list[str]) -> str:
    return "invalid spec:\n" + "\n".join(f"  - {problem}" for problem in problems)


def check_models(models: Any, project_name: Any, package_name: Any) -> str:
    """Copier validator: empty when the models make a valid spec, else the problems."""
    problems = spec_problems(_spec_data(models, project_name, package_name))
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


class UowgenContext(ContextHook):
    """Adds `entities`, `package` and the other derived values to copier's context."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["uowgen_package_name"] = _naming.package_name
        environment.filters["uowgen_check_models"] = check_models
        environment.filters["uowgen_check_project_name"] = check_project_name
        environment.filters["uowgen_check_package_name"] = check_package_name
        # One render calls the hook for every file and every file name (about a
        # thousand times for 30 models) with the same answers: derive them once per
        # environment, which copier makes anew for each render, so nothing carries
        # over from one render (or template version) to the next.
        self._answers: tuple[Any, Any, Any] | None = None
        self._derived: dict[str, Any] = {}
        self._keyed: dict[str, dict[str, Any]] = {}

    def hook(self, context: dict[str, Any]) -> None:
        if "models" not in context or "project_name" not in context:
            return
        answers = (
            context["models"],
            context["project_name"],
            context.get("package_name"),
        )
        if self._answers is None or any(
            new is not old for new, old in zip(answers, self._answers, strict=True)
        ):
            data = _spec_data(*answers)
            key = json.dumps(data, sort_keys=True, default=str)
            if key not in self._keyed:
                try:
                    spec = parse_spec(data, source="copier answers")
                except SpecError as exc:
                    raise ValueError(exc.message) from exc
                self._keyed[key] = build_context(spec)
            self._answers, self._derived = answers, self._keyed[key]
        context.update(self._derived, uowgen_version=__version__)
