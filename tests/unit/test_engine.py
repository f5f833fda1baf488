"""The render engine's one reach into copier's internals."""

import jinja2
import pytest
import yaml
from copier._main import Worker

from uowgen._render.context import build_context
from uowgen._render.engine import _ScratchWorker, template_root
from uowgen._spec.validate import parse_spec


def test_the_render_skips_only_copiers_per_file_git_call() -> None:
    """The engine overrides one private method of the pinned copier: if an upgrade
    renames it, this fails instead of the renders silently slowing down again."""
    assert callable(Worker._sync_git_index_executable_bit)
    assert "_sync_git_index_executable_bit" in vars(_ScratchWorker)


SPEC = {
    "project_name": "P",
    "models": [{"name": "Box", "fields": [{"name": "x", "type": "str"}]}],
}


def test_the_template_renders_with_strict_undefined() -> None:
    """A misspelt key in a template fails the render with its name."""
    root = yaml.safe_load((template_root() / "copier.yml").read_text())
    assert root["_envops"]["undefined"] == "jinja2.StrictUndefined"
    data = build_context(parse_spec(SPEC)).template_data()
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert environment.from_string("{{ entities[0].table }}").render(data) == "boxes"
    with pytest.raises(jinja2.UndefinedError, match="tabel"):
        environment.from_string("{{ entities[0].tabel }}").render(data)
