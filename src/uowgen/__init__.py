"""uowgen: generate FastAPI + SQLAlchemy projects with a sound unit of work."""

from typing import TYPE_CHECKING, Any

from uowgen._spec.models import FieldSpec, ModelSpec, ProjectSpec
from uowgen._spec.validate import load_spec, parse_spec
from uowgen._version import __version__
from uowgen.errors import SpecError, UowgenError

__all__ = [
    "FieldSpec",
    "ModelSpec",
    "ProjectSpec",
    "SpecError",
    "UowgenError",
    "__version__",
    "generate",
    "load_spec",
    "parse_spec",
]

if TYPE_CHECKING:
    from uowgen._render.engine import generate


def __getattr__(name: str) -> Any:
    # `generate` imports copier (most of a second): only when it is used.
    if name == "generate":
        from uowgen._render.engine import generate

        return generate
    raise AttributeError(f"module 'uowgen' has no attribute {name!r}")
