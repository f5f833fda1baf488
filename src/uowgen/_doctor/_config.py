"""`[tool.uowgen.doctor]` in the nearest pyproject.toml: which rules, which files."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from uowgen._doctor._rules import selected_codes
from uowgen.errors import UowgenError

# Folders never walked into (ruff's defaults); a path named on the command line is
# checked all the same.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)
_KEYS = {
    "select",
    "ignore",
    "exclude",
    "per-file-ignores",
    "skip-unimported",
    "external-calls",
    "hold-all-trees",
}
# What to do next about a bad configuration (docs/errors.md).
_FIX = "; fix it, or run `uowgen doctor --no-config`"


@dataclass(frozen=True)
class DoctorConfig:
    """The settings of one run: the config file's, then the command line's."""

    root: Path
    source: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, frozenset[str]] = field(default_factory=dict)
    skip_unimported: bool = False
    # Added to the SDK calls UOW003 knows (`_external`).
    external_calls: tuple[str, ...] = ()
    # Every module's syntax tree held for the whole run (`_trees`): faster on a
    # large codebase, at about thirty times its source text in memory.
    hold_all_trees: bool = False

    def codes(self) -> frozenset[str]:
        """The rule codes this configuration checks."""
        return selected_codes(self.select, self.ignore)

    def excluded(self, path: Path) -> bool:
        """Whether `path` (a file or folder met while walking) is excluded."""
        if path.name in DEFAULT_EXCLUDE:
            return True
        return _matches(self._relative(path), self.exclude)

    def ignored_codes(self, path: Path) -> frozenset[str]:
        """The codes `per-file-ignores` turns off for the file at `path`."""
        relative = self._relative(path)
        codes: set[str] = set()
        for pattern, ignored in self.per_file_ignores.items():
            if _matches(relative, (pattern,)):
                codes |= ignored
        return frozenset(codes)

    def _relative(self, path: Path) -> PurePosixPath:
        absolute = path.absolute()
        try:
            return PurePosixPath(absolute.relative_to(self.root).as_posix())
        except ValueError:
            return PurePosixPath(absolute.as_posix())


def _matches(relative: PurePosixPath, patterns: Sequence[str]) -> bool:
    text = relative.as_posix()
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" not in pattern:
            # A bare name or glob matches any component: `migrations`, `*_pb2.py`.
            if any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts):
                return True
        elif fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(
            text, pattern.removesuffix("/**")
        ):
            return True
    return False


def load_config(start: Path) -> DoctorConfig:
    """The `[tool.uowgen.doctor]` table of the nearest pyproject.toml that has one.

    The search goes from `start` (a file's folder, or the folder) up to the root;
    a pyproject.toml without the table is passed over, as ruff passes over one
    without `[tool.ruff]`. Without any, the defaults apply, relative to `start`.

    Raises:
        UowgenError: a pyproject.toml on the way is not valid TOML, or the table
            has an unknown key, a value of the wrong type, or an unknown rule.
    """
    folder = start.absolute() if start.is_dir() else start.absolute().parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if not pyproject.is_file():
            continue
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UowgenError(
                f"{pyproject}: cannot read it as TOML: {exc}{_FIX}"
            ) from exc
        table = data.get("tool", {}).get("uowgen", {}).get("doctor")
        if table is None:
            continue
        return _parse(table, pyproject)
    return DoctorConfig(root=folder)


def _parse(table: Any, source: Path) -> DoctorConfig:
    where = f"{source}: [tool.uowgen.doctor]"
    if not isinstance(table, dict):
        raise UowgenError(f"{where} must be a table{_FIX}")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UowgenError(
            f"{where}: unknown key {unknown[0]!r}; the keys are "
            + ", ".join(sorted(_KEYS))
            + _FIX
        )
    select = table.get("select")
    config = DoctorConfig(
        root=source.parent,
        source=source,
        select=None if select is None else _strings(select, f"{where} select"),
        ignore=_strings(table.get("ignore", []), f"{where} ignore"),
        exclude=_strings(table.get("exclude", []), f"{where} exclude"),
        per_file_ignores=_per_file_ignores(table.get("per-file-ignores", {}), where),
        skip_unimported=_bool(table, "skip-unimported", where),
        hold_all_trees=_bool(table, "hold-all-trees", where),
        external_calls=_strings(
            table.get("external-calls", []), f"{where} external-calls"
        ),
    )
    try:
        config.codes()  # an unknown rule is an error now, with the file's name
    except UowgenError as exc:
        raise UowgenError(f"{where}: {exc.message}{_FIX}") from exc
    return config


def _per_file_ignores(value: Any, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict):
        raise UowgenError(f"{where} per-file-ignores must be a table of lists{_FIX}")
    ignores: dict[str, frozenset[str]] = {}
    for pattern, codes in value.items():
        listed = _strings(codes, f"{where} per-file-ignores {pattern!r}")
        try:
            ignores[pattern] = selected_codes(listed, ())
        except UowgenError as exc:
            raise UowgenError(f"{where} per-file-ignores: {exc.message}{_FIX}") from exc
    return ignores


def _bool(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise UowgenError(f"{where} {key} must be true or false{_FIX}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UowgenError(f"{where} must be a list of strings{_FIX}")
    return tuple(value)
