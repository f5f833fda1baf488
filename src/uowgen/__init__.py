"""uowgen: generate FastAPI + SQLAlchemy projects with a sound unit of work."""

from uowgen._engine import generate
from uowgen._spec import FieldSpec, ModelSpec, ProjectSpec, load_spec, parse_spec
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
