"""Find the Python files to check, read and parse them, and read their `# noqa`s."""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
import warnings
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from uowgen._doctor._config import DoctorConfig
from uowgen._doctor._parts import Part, part_source

# Read from comment tokens only: a bare noqa (every rule) or noqa: UOW001, UOW003.
_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)

_LINE_BREAK = re.compile(r"\r\n?|\n")

NoqaMap = dict[int, frozenset[str] | None]
"""Line -> the codes its `# noqa` names, or None for a bare `# noqa` (all)."""


@dataclass(frozen=True)
class FileWarning:
    """A file that could not be checked (or not wholly), and why."""

    path: Path
    display: str
    line: int
    column: int
    message: str


class TreeKeeper(Protocol):
    """Told when a file's tree is parsed again, so that it can let it go later."""

    def parsed(self, source: SourceFile, size: int) -> None:
        """`size` characters of the file were parsed again: held from now on."""


@dataclass(eq=False)
class SourceFile:
    """A parsed Python file: its tree, its text for columns, and its `# noqa`s.

    The tree can be let go (`forget_tree`) and is parsed again from the text when it
    is next asked for: a large codebase's trees do not all fit in memory at once.
    """

    path: Path
    display: str
    _tree: ast.Module | None = field(repr=False)
    text: str = field(repr=False)
    _noqa: NoqaMap | None = field(default=None, repr=False)
    _lines: list[str] | None = field(default=None, repr=False)
    # Where each line starts in `text` (4 bytes a line, not a string each).
    _starts: array[int] | None = field(default=None, repr=False)
    keeper: TreeKeeper | None = field(default=None, repr=False)
    # Parsed again after `forget_tree` (for the benchmarks).
    reparsed: int = field(default=0, repr=False)
    # Asked for since the keeper last looked (which trees were used last).
    used: bool = field(default=False, repr=False)

    @property
    def tree(self) -> ast.Module:
        """The file's syntax tree (parsed again from its text if it was let go)."""
        tree = self._tree
        if tree is None:
            # The text parsed before (or its rewrite in this grammar): it parses
            # again, to the same tree.
            tree = self._tree = _parse(self.text, self.path)
            self.reparsed += 1
            if self.keeper is not None:
                self.keeper.parsed(self, len(self.text))
        self.used = True
        return tree

    def parse_part(self, part: Part) -> ast.Module | None:
        """One statement of the file parsed alone, its nodes where they are.

        None if it cannot be (the whole tree is parsed instead).
        """
        try:
            code = self._line_text(part.start, part.end)
            tree = _parse(part_source(code, part), self.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        self.reparsed += 1
        if self.keeper is not None:
            self.keeper.parsed(self, len(code))
        return tree

    @property
    def noqa(self) -> NoqaMap:
        """The lines' `# noqa` comments (read when first asked: for a finding)."""
        if self._noqa is None:
            self._noqa = _noqa(self.text)
        return self._noqa

    @property
    def has_tree(self) -> bool:
        """Whether the tree is held now."""
        return self._tree is not None

    def forget_tree(self) -> None:
        """Let the tree go: it is parsed again when next asked for."""
        self._tree = None

    def _line_text(self, first: int, last: int) -> str:
        """The text of lines `first` to `last` (1-based, both included)."""
        starts = self._starts
        if starts is None:
            # ast counts lines at \n, \r\n and \r only (str.splitlines splits more).
            starts = self._starts = array(
                "I", [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]
            )
        end = starts[last] if last < len(starts) else len(self.text)
        return self.text[starts[first - 1] : end]

    def _split_lines(self) -> list[str]:
        if self._lines is None:
            # ast counts lines at \n, \r\n and \r only (str.splitlines splits more).
            self._lines = (
                self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            )
        return self._lines

    def column(self, line: int, byte_offset: int) -> int:
        """The 1-based character column of an ast node's UTF-8 `col_offset`."""
        lines = self._split_lines()
        if not 1 <= line <= len(lines):
            return byte_offset + 1
        encoded = lines[line - 1].encode("utf-8", errors="surrogatepass")
        return len(encoded[:byte_offset].decode("utf-8", errors="replace")) + 1


def python_files(
    paths: Sequence[Path], config: DoctorConfig
) -> Iterator[tuple[Path, Path]]:
    """Each Python file under `paths` once, with the path it was named by.

    Folders are walked in sorted order, skipping excluded ones; a file named
    directly is checked even if excluded, as ruff does.
    """
    seen: set[Path] = set()
    for named in paths:
        if named.is_file():
            candidates: Iterator[Path] = iter([named])
        else:
            candidates = _walk(named, config)
        for path in candidates:
            key = path.absolute()
            if key not in seen:
                seen.add(key)
                yield path, named


def _walk(folder: Path, config: DoctorConfig) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, onerror=None):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not config.excluded(here / d))
        for name in sorted(files):
            path = here / name
            if name.endswith((".py", ".pyi")) and not config.excluded(path):
                yield path


@dataclass(frozen=True)
class NewerSyntax:
    """A file this interpreter's grammar rejects, to rewrite and then finish.

    `rewrite_newer` may run in a worker process; `finish_newer` parses its result.
    """

    path: Path
    display: str
    text: str
    error: SyntaxError


def read_source(
    path: Path, display: str, *, defer_newer: bool = False
) -> SourceFile | FileWarning | NewerSyntax:
    """Parse one file, or say why it cannot be checked (never raises for content).

    The encoding comes from the file (a BOM or a PEP 263 cookie, else UTF-8). With
    `defer_newer`, a file in a newer grammar comes back as NewerSyntax.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileWarning(path, display, 1, 1, f"cannot read it: {exc.strerror}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return FileWarning(path, display, 1, 1, f"cannot decode it: {exc}")
    try:
        tree = _parse(data, path)
    except SyntaxError as exc:
        # Maybe newer syntax than this interpreter's (PEP 695, 701, 750, 758).
        newer = NewerSyntax(path, display, text, exc)
        if defer_newer:
            return newer
        return finish_newer(newer, rewrite_newer(newer))
    except (ValueError, RecursionError, MemoryError) as exc:
        # Null bytes (ValueError before Python 3.12), or nesting deeper than the
        # parser's stack.
        return FileWarning(path, display, 1, 1, f"cannot parse it: {exc}")
    return SourceFile(path, display, tree, text)


def _parse(source: str | bytes, path: Path) -> ast.Module:
    with warnings.catch_warnings():
        # Invalid escape sequences and the like are the file's business.
        warnings.simplefilter("ignore")
        return ast.parse(source, filename=str(path), type_comments=False)


def rewrite_newer(newer: NewerSyntax) -> tuple[bool, str]:
    """(True, the code in this interpreter's grammar), or (False, why it cannot be).

    The rewritten text keeps every line where it was, so findings, columns and
    `# noqa` comments read from it point into the file as written. Only text comes
    back: a worker process can send it cheaply.
    """
    # Imported here: LibCST loads only for the rare file that needs it.
    from uowgen._doctor._modern import ModernSyntaxError, downgrade

    reason = f"cannot parse it: {newer.error.msg}"
    try:
        return True, downgrade(newer.text)
    except ModernSyntaxError:
        return False, f"{reason} (in any Python version)"
    except RecursionError:
        return False, f"{reason} (nested too deeply to read in a newer grammar)"


def finish_newer(
    newer: NewerSyntax, rewritten: tuple[bool, str]
) -> SourceFile | FileWarning:
    """The file parsed from its rewritten code, or why it cannot be checked."""
    error = newer.error
    done, text = rewritten
    if done:
        try:
            tree = _parse(text, newer.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            done = False
            text = (
                f"cannot parse it: {error.msg} "
                "(newer syntax that doctor cannot read yet)"
            )
        else:
            return SourceFile(newer.path, newer.display, tree, text)
    return FileWarning(
        newer.path, newer.display, error.lineno or 1, error.offset or 1, text
    )


def _noqa(text: str) -> NoqaMap:
    found: NoqaMap = {}
    if "noqa" not in text.lower():
        return found
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.COMMENT:
                continue
            match = _NOQA.search(token.string)
            if match is None:
                continue
            line = token.start[0]
            codes = match.group("codes")
            if codes is None:
                found[line] = None
            elif found.get(line, frozenset()) is not None:
                named = frozenset(c.upper() for c in re.split(r"[\s,]+", codes) if c)
                found[line] = (found.get(line) or frozenset()) | named
    except (tokenize.TokenError, SyntaxError):
        pass  # a file ast accepts but tokenize does not: no noqa, still checked
    return found
