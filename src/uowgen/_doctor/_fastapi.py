"""Which FastAPI a project runs, from its lock file, requirements or pyproject.toml.

When a dependency's code after `yield` runs depends on it (UOW002):

- before 0.106: after the response is sent;
- 0.106 to 0.117: before the response is sent;
- from 0.118: after the response again, and from 0.121 `Depends(..., scope=
  "function")` runs it before.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

Version = tuple[int, ...]

TEARDOWN_BEFORE_RESPONSE = ((0, 106), (0, 118))
SCOPE_FUNCTION = (0, 121)

# Read in this order in each folder, from the checked path up: the first that
# names FastAPI gives the version.
_LOCKS = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "Pipfile.lock")
_PIN = re.compile(
    r"^\s*fastapi(?:\[[^\]]*\])?\s*(?P<op>==|>=|~=)\s*(?P<version>[0-9][0-9.]*)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class FastapiVersion:
    """A project's FastAPI version and where it was read.

    `exact` is False for a lower bound (`fastapi>=0.118` in pyproject.toml).
    """

    version: Version
    source: str
    exact: bool = True

    @property
    def text(self) -> str:
        """`0.124.0`, or `>=0.118` for a lower bound."""
        number = ".".join(map(str, self.version))
        return number if self.exact else f">={number}"

    @property
    def teardown_before_response(self) -> bool:
        """Whether this FastAPI runs dependencies' exit code before the response."""
        low, high = TEARDOWN_BEFORE_RESPONSE
        if self.exact:
            return low <= self.version[:2] < high
        return False  # a lower bound may be 0.118 or later

    @property
    def has_scope_function(self) -> bool:
        """Whether `Depends(..., scope="function")` exists in it."""
        return self.version[:2] >= SCOPE_FUNCTION


def find_fastapi_version(start: Path) -> FastapiVersion | None:
    """The FastAPI version of the project `start` is in, or None if nothing says."""
    folder = start.absolute() if start.is_dir() else start.absolute().parent
    for candidate in (folder, *folder.parents):
        found = _in_folder(candidate)
        if found is not None:
            return found
        if (candidate / ".git").exists():
            return None  # the repository's root: nothing above belongs to it
    return None


def _in_folder(folder: Path) -> FastapiVersion | None:
    for name in _LOCKS:
        path = folder / name
        if path.is_file():
            version = _read_lock(path)
            if version is not None:
                return FastapiVersion(version, name)
    for path in sorted(folder.glob("requirements*.txt")):
        found = _read_pins(path, exact_only=True)
        if found is not None:
            return found
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        return _read_pins(pyproject, exact_only=False)
    return None


def _read_lock(path: Path) -> Version | None:
    try:
        text = path.read_text(encoding="utf-8")
        if path.name == "Pipfile.lock":
            data = json.loads(text)
            pinned = data.get("default", {}).get("fastapi", {}).get("version", "")
            return _version(str(pinned).lstrip("="))
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    for package in data.get("package", data.get("packages", [])):
        if isinstance(package, dict) and package.get("name") == "fastapi":
            return _version(str(package.get("version", "")))
    return None


def _read_pins(path: Path, *, exact_only: bool) -> FastapiVersion | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix == ".toml":
        # Only the dependency strings: `"fastapi[standard]>=0.118"`.
        text = "\n".join(re.findall(r"[\"']([^\"'\n]+)[\"']", text))
    for match in _PIN.finditer(text):
        exact = match.group("op") == "=="
        version = _version(match.group("version"))
        if version is None or (exact_only and not exact):
            continue
        return FastapiVersion(version, path.name, exact=exact)
    return None


def _version(text: str) -> Version | None:
    parts = text.strip().split(".")
    numbers: list[int] = []
    for part in parts:
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) if len(numbers) >= 2 else None
