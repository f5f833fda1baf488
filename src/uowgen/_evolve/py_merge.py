"""Three-way merge of Python source by statements, not lines.

A line merge (`git merge-file`) calls two edits a conflict when they touch the same
or neighbouring lines, even when they are different statements: an insertion after
a class whose last field the template changed, or two insertions at the same point.
This merge parses the three versions with `ast` and merges statements:

- each block (the module, and recursively the body of a class, a def, or a `with`,
  `for`, `while` or `if` without `else`) is cut into chunks, one per statement,
  whose text is the statement's exact source lines with the decorators, comments
  and blank lines above it, so the merged text is the inputs' own text, comments
  and all;
- each chunk has a key: the name of a def or class, the target of an assignment,
  the module of an import, the test of an `if`, else the statement's syntax tree;
- the three sequences of keys are aligned (`difflib`), and each side's changes are
  the runs of chunks it inserted, deleted or replaced, plus the aligned chunks whose
  text it changed.

The rules (`docs/update.md` has them with examples):

- a chunk changed on one side takes that side; changed alike on both, either;
- a chunk changed differently on both sides is merged inside when it is a class,
  a def or another block whose header both sides kept (or only one changed), and
  is a conflict otherwise;
- a chunk one side deleted (or replaced) and the other changed is a conflict; a
  run of chunks one side deleted, where the other only inserted, gives the
  insertions;
- insertions by both sides at the same point are all kept, yours first and then
  the new render's: your code stays next to the statement you put it after. A
  statement both inserted alike is kept once; inserted differently under one key
  (two defs of one name), a conflict. So are insertions whose order is behaviour:
  calls of `ORDERED_CALLS` on the same object (two `app.add_middleware(...)`), or
  defs registered by such a decorator;
- anything else both sides changed (overlapping runs) is a conflict.

A conflict makes `merge_python` return None: the caller falls back to the line
merge, which writes markers. A merged text is not trusted yet either: the caller
checks that it parses and that ruff finds no new error in it (`merge.py`).
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from uowgen._evolve.line_merge import merge_file
from uowgen.errors import UowgenError

# Methods whose calls register something in order: two inserted at one point on the
# same object conflict, because their order is behaviour. Middleware wraps in the
# reverse order of registration; a mount or a list item is matched or read in order.
ORDERED_CALLS = frozenset(
    {
        "add_middleware",  # app.add_middleware(...): the last added runs first
        "middleware",  # @app.middleware("http") on a def
        "mount",  # app.mount("/", ...): the first matching mount wins
        "append",  # items.append(...): the list's order
        "insert",
        "extend",
    }
)

# Statements whose body the merge enters when both sides changed them.
_BLOCKS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.With,
    ast.AsyncWith,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
)


class _Conflict(Exception):
    """Both sides changed the same statement: the caller falls back to lines."""


@dataclass(frozen=True)
class _Chunk:
    """One statement (or statements sharing a line) with the lines above it."""

    key: tuple[str, ...]
    text: str
    node: ast.stmt | None  # None for the module's tail and for shared lines
    start: int  # its first line, 1-based

    @property
    def gap(self) -> str:
        """The blank lines it starts with."""
        return _gap(self.text)[0]

    @property
    def content(self) -> str:
        """Its text after those blank lines."""
        return _gap(self.text)[1]


def _gap(text: str) -> tuple[str, str]:
    """`text` cut after its leading blank lines."""
    rest = text.lstrip(" \t\n")
    cut = text.rfind("\n", 0, len(text) - len(rest)) + 1
    return text[:cut], text[cut:]


def merge_python(base: str, ours: str, theirs: str) -> str | None:
    """Merge two edits of a Python module by statements.

    Args:
        base: The common ancestor.
        ours: The user's version.
        theirs: The new render.

    Returns:
        The merged source, or None when a side does not parse, or both sides
        changed the same statement (then the line merge decides).
    """
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    try:
        blocks = [_module_chunks(text) for text in (base, ours, theirs)]
        return "".join(_merge_block(*blocks))
    except (SyntaxError, ValueError, RecursionError, _Conflict):
        return None


def conflict_reason(base: str, ours: str, theirs: str) -> str | None:
    """Why `merge_python` gives up on these three texts (None if it does not)."""
    try:
        blocks = [_module_chunks(text) for text in (base, ours, theirs)]
        _merge_block(*blocks)
    except (SyntaxError, ValueError, RecursionError) as exc:
        return f"does not parse: {exc}"
    except _Conflict as exc:
        return str(exc)
    return None


# Cutting source into chunks


def _lines(text: str) -> list[str]:
    if "\r" in text or "\f" in text:
        # ast counts lines differently from a split on "\n": not worth the risk.
        raise ValueError("carriage returns or form feeds")
    return text.splitlines(keepends=True)


def _module_chunks(text: str) -> list[_Chunk]:
    tree = ast.parse(text)
    lines = _lines(text)
    chunks = _block_chunks(tree.body, lines, start=1)
    end = tree.body[-1].end_lineno if tree.body else 0
    assert end is not None
    # Comments and blank lines after the last statement: always there, even empty,
    # so that both sides' appended statements land before it.
    chunks.append(_Chunk(("tail",), "".join(lines[end:]), None, end + 1))
    return chunks


def _block_chunks(
    body: Sequence[ast.stmt], lines: list[str], start: int
) -> list[_Chunk]:
    """The chunks of a block whose first chunk starts at line `start`."""
    groups: list[list[ast.stmt]] = []
    for node in body:
        if groups and node.lineno <= _end(groups[-1][-1]):
            groups[-1].append(node)  # `a = 1; b = 2`: one chunk
        else:
            groups.append([node])
    chunks: list[_Chunk] = []
    for index, group in enumerate(groups):
        last = _end(group[-1])
        text = "".join(lines[start - 1 : last])
        if len(group) == 1:
            chunks.append(
                _Chunk(_key(group[0], first=index == 0), text, group[0], start)
            )
        else:
            key = ("stmts", *(ast.dump(node) for node in group))
            chunks.append(_Chunk(key, text, None, start))
        start = last + 1
    return chunks


def _end(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno


def _key(node: ast.stmt, *, first: bool) -> tuple[str, ...]:
    """What a statement is, whatever its text: how it is found on each side."""
    match node:
        case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name):
            return ("def", name)
        case ast.ClassDef(name=name):
            return ("class", name)
        case ast.Import(names=names):
            return ("import", *(alias.name for alias in names))
        case ast.ImportFrom(module=module, level=level):
            return ("from", "." * level + (module or ""))
        case ast.Assign(targets=targets):
            return ("=", *(ast.dump(target) for target in targets))
        case ast.AnnAssign(target=target):
            return ("=", ast.dump(target))
        case ast.Expr(value=ast.Constant(value=str())) if first:
            return ("docstring",)
        case ast.If(test=test) | ast.While(test=test):
            return (type(node).__name__, ast.dump(test))
        case ast.With(items=items) | ast.AsyncWith(items=items):
            return (type(node).__name__, *(ast.dump(item) for item in items))
        case (
            ast.For(target=target, iter=iter_) | ast.AsyncFor(target=target, iter=iter_)
        ):
            return (type(node).__name__, ast.dump(target), ast.dump(iter_))
    return ("stmt", ast.dump(node))


# Merging


def _merge_block(
    base: list[_Chunk], ours: list[_Chunk], theirs: list[_Chunk]
) -> list[str]:
    """The merged texts of one block's chunks, in order."""
    base_keys = [chunk.key for chunk in base]
    ours_match, ours_hunks = _diff(base_keys, [chunk.key for chunk in ours])
    theirs_match, theirs_hunks = _diff(base_keys, [chunk.key for chunk in theirs])
    hunks = [_Hunk(*h, side=0) for h in ours_hunks] + [
        _Hunk(*h, side=1) for h in theirs_hunks
    ]
    sides = (ours, theirs)
    matches = (ours_match, theirs_match)
    out: list[str] = []
    position = 0  # the next base chunk to emit
    for group in _groups(hunks):
        start = min(h.i1 for h in group)
        for index in range(position, start):
            out.append(_merge_aligned(base, sides, matches, index))
        out.extend(_merge_group(group, base, sides, matches))
        position = max(position, max(h.i2 for h in group))
    for index in range(position, len(base)):
        out.append(_merge_aligned(base, sides, matches, index))
    return out


@dataclass(frozen=True)
class _Hunk:
    """A run of base chunks [i1, i2) that one side replaced by its chunks [j1, j2)."""

    i1: int
    i2: int
    j1: int
    j2: int
    side: int  # 0: ours, 1: theirs

    @property
    def inserts(self) -> bool:
        return self.i1 == self.i2


def _diff(
    base: list[tuple[str, ...]], side: list[tuple[str, ...]]
) -> tuple[dict[int, int], list[tuple[int, int, int, int]]]:
    """Base chunks aligned with the side's ({base: side}), and the side's hunks."""
    matcher = difflib.SequenceMatcher(None, base, side, autojunk=False)
    aligned: dict[int, int] = {}
    hunks: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            aligned.update(zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            hunks.append((i1, i2, j1, j2))
    return aligned, hunks


def _touch(a: _Hunk, b: _Hunk) -> bool:
    """Whether two hunks of different sides change the same place."""
    if a.side == b.side:
        return False
    if a.inserts and b.inserts:
        return a.i1 == b.i1
    if a.inserts:
        return b.i1 < a.i1 < b.i2
    if b.inserts:
        return a.i1 < b.i1 < a.i2
    return max(a.i1, b.i1) < min(a.i2, b.i2)


def _groups(hunks: list[_Hunk]) -> list[list[_Hunk]]:
    """Hunks joined when they touch (transitively), in base order."""
    parent = list(range(len(hunks)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for a in range(len(hunks)):
        for b in range(a + 1, len(hunks)):
            if _touch(hunks[a], hunks[b]):
                parent[root(a)] = root(b)
    grouped: dict[int, list[_Hunk]] = {}
    for index, hunk in enumerate(hunks):
        grouped.setdefault(root(index), []).append(hunk)
    # An insertion at a point comes before a run that starts there.
    return sorted(
        grouped.values(),
        key=lambda g: (min(h.i1 for h in g), max(h.i2 for h in g)),
    )


def _merge_group(
    group: list[_Hunk],
    base: list[_Chunk],
    sides: tuple[list[_Chunk], list[_Chunk]],
    matches: tuple[dict[int, int], dict[int, int]],
) -> list[str]:
    if len(group) == 1:
        (hunk,) = group
        other = 1 - hunk.side
        for index in range(hunk.i1, hunk.i2):
            kept = sides[other][matches[other][index]]
            if kept.content != base[index].content:
                name = _describe(base[index])
                raise _Conflict(
                    f"{name}: one side removed or replaced it, the other changed it"
                )
        return [chunk.text for chunk in sides[hunk.side][hunk.j1 : hunk.j2]]
    ours_runs = [h for h in group if h.side == 0]
    theirs_runs = [h for h in group if h.side == 1]
    for removing, inserting in ((ours_runs, theirs_runs), (theirs_runs, ours_runs)):
        if (
            len(removing) == 1
            and removing[0].j1 == removing[0].j2
            and all(h.inserts for h in inserting)
        ):
            # One side only deleted a run, the other only inserted inside it: the
            # statements it inserted stay, the ones it kept as they were go.
            return _inserted_into_deleted(removing[0], inserting, base, sides, matches)
    if len(ours_runs) == 1 and len(theirs_runs) == 1:
        mine, new = ours_runs[0], theirs_runs[0]
        mine_chunks = sides[0][mine.j1 : mine.j2]
        new_chunks = sides[1][new.j1 : new.j2]
        if (mine.i1, mine.i2) == (new.i1, new.i2) and [c.text for c in mine_chunks] == [
            c.text for c in new_chunks
        ]:
            return [chunk.text for chunk in mine_chunks]  # the same change
        if mine.inserts and new.inserts:
            return _both_inserted(mine_chunks, new_chunks)
    names = ", ".join(_describe(base[i]) for h in group for i in range(h.i1, h.i2))
    raise _Conflict(f"both sides changed the same statements ({names or 'inserted'})")


def _inserted_into_deleted(
    deletion: _Hunk,
    insertions: list[_Hunk],
    base: list[_Chunk],
    sides: tuple[list[_Chunk], list[_Chunk]],
    matches: tuple[dict[int, int], dict[int, int]],
) -> list[str]:
    inserting = insertions[0].side
    for index in range(deletion.i1, deletion.i2):
        if sides[inserting][matches[inserting][index]].content != base[index].content:
            name = _describe(base[index])
            raise _Conflict(f"{name}: one side removed it, the other changed it")
    chunks = sides[inserting]
    return [
        chunk.text
        for hunk in sorted(insertions, key=lambda h: h.i1)
        for chunk in chunks[hunk.j1 : hunk.j2]
    ]


def _both_inserted(ours: list[_Chunk], theirs: list[_Chunk]) -> list[str]:
    """Insertions by both sides at one point: yours first, then the new render's."""
    ours_by_key = {chunk.key: chunk for chunk in ours}
    kept_theirs: list[_Chunk] = []
    for chunk in theirs:
        mine = ours_by_key.get(chunk.key)
        if mine is None:
            kept_theirs.append(chunk)
        elif mine.content != chunk.content:
            raise _Conflict(f"{_describe(chunk)}: both sides added it, differently")
    ordered = {target for chunk in ours for target in _registrations(chunk)}
    clashing = ordered & {t for chunk in kept_theirs for t in _registrations(chunk)}
    if clashing:
        target, method = min(clashing)
        raise _Conflict(
            f"both sides added {method} calls on {target} at the same point: "
            "their order is behaviour"
        )
    return [chunk.text for chunk in (*ours, *kept_theirs)]


def _registrations(chunk: _Chunk) -> set[tuple[str, str]]:
    """(object, method) of each ordered registration a chunk makes."""
    node = chunk.node
    calls: list[ast.expr] = []
    if isinstance(node, ast.Expr):
        calls.append(node.value)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        calls.extend(node.decorator_list)
    found: set[tuple[str, str]] = set()
    for call in calls:
        func = call.func if isinstance(call, ast.Call) else call
        if isinstance(func, ast.Attribute) and func.attr in ORDERED_CALLS:
            found.add((ast.unparse(func.value), func.attr))
    return found


def _merge_aligned(
    base: list[_Chunk],
    sides: tuple[list[_Chunk], list[_Chunk]],
    matches: tuple[dict[int, int], dict[int, int]],
    index: int,
) -> str:
    """A base chunk both sides kept (maybe changed)."""
    old = base[index]
    mine = sides[0][matches[0][index]]
    new = sides[1][matches[1][index]]
    # Blank lines above a statement are layout: a side that changed them (moving
    # them to a statement it inserted) did not change the statement.
    gap = mine.gap if mine.gap != old.gap else new.gap
    if mine.content == new.content or new.content == old.content:
        return gap + mine.content
    if mine.content == old.content:
        return gap + new.content
    try:
        merged = _merge_inside(old, mine, new)
    except _Conflict as conflict:
        # One statement both sides changed, maybe in different lines of it (the
        # template a signature, you its docstring): the line merge of that
        # statement alone decides, so this never does worse than lines would.
        merged = _merge_statement_lines(old, mine, new, conflict)
    return gap + _gap(merged)[1]


def _merge_statement_lines(
    old: _Chunk, mine: _Chunk, new: _Chunk, conflict: _Conflict
) -> str:
    """One statement merged by lines; `conflict` again if the two changes overlap."""
    try:
        result = merge_file(
            base=old.content.encode(),
            ours=mine.content.encode(),
            theirs=new.content.encode(),
        )
    except UowgenError:
        raise conflict from None  # the file's line merge reports git's failure
    if result.conflicts:
        raise conflict
    return result.content.decode()


def _merge_inside(old: _Chunk, mine: _Chunk, new: _Chunk) -> str:
    """A block both sides changed: merge its header parts and its body."""
    old_parts, my_parts, new_parts = (_split(chunk) for chunk in (old, mine, new))
    if old_parts is None or my_parts is None or new_parts is None:
        raise _Conflict(f"{_describe(old)}: both sides changed it differently")
    old_head, my_head, new_head = (
        _gap(parts[0])[1] for parts in (old_parts, my_parts, new_parts)
    )
    head = _one_side(old_head, my_head, new_head, old, "decorators")
    signature = _one_side(old_parts[1], my_parts[1], new_parts[1], old, "first line")
    body = _merge_block(old_parts[2], my_parts[2], new_parts[2])
    return head + signature + "".join(body)


def _one_side(old: str, mine: str, new: str, chunk: _Chunk, what: str) -> str:
    if mine == new or new == old:
        return mine
    if mine == old:
        return new
    raise _Conflict(f"{_describe(chunk)}: both sides changed its {what}")


def _split(chunk: _Chunk) -> tuple[str, str, list[_Chunk]] | None:
    """A block cut in three: its header, its first line(s), its body's chunks.

    The header is what comes before the `def`/`class`/`if`... line (comments,
    decorators); None for a statement the merge does not enter.
    """
    node = chunk.node
    if not isinstance(node, _BLOCKS) or not node.body:
        return None
    if getattr(node, "orelse", None):
        return None  # an else branch: two bodies, left whole
    lines = chunk.text.splitlines(keepends=True)
    first = node.body[0].lineno
    if first <= node.lineno:
        return None  # `def f(): pass`: the body shares the header's line
    # The body's first chunk takes the comments and blank lines right above it.
    top = first
    while top - 1 > node.lineno and _is_comment_or_blank(lines[top - 1 - chunk.start]):
        top -= 1
    to_line = node.lineno - chunk.start  # index of the `def` line in `lines`
    header_end = top - chunk.start
    head = "".join(lines[:to_line])
    signature = "".join(lines[to_line:header_end])
    # Line numbers of the body are the file's: cut from the file's lines.
    offset = chunk.start - 1
    padded = [""] * offset + lines
    body = _block_chunks(node.body, padded, start=top)
    return head, signature, body


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _describe(chunk: _Chunk) -> str:
    kind, *rest = chunk.key
    if kind in {"def", "class"}:
        return f"{kind} {rest[0]} (line {chunk.start})"
    return f"the statement at line {chunk.start}"


# Checking a merge


@dataclass(frozen=True)
class Candidate:
    """A Python file both sides changed: its path and its three versions."""

    path: str
    base: bytes
    ours: bytes
    theirs: bytes


def merge_checked(path: str, base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """The statement merge of one Python file, if it checks out; else None.

    See `merge_all_checked`, which does many at the cost of one ruff run.
    """
    return merge_all_checked([Candidate(path, base, ours, theirs)])[path]


def merge_all_checked(candidates: Sequence[Candidate]) -> dict[str, bytes | None]:
    """The statement merge of each Python file that checks out; None for the rest.

    A merge is kept only when it parses and `ruff check` (pyflakes' rules and
    syntax errors) finds nothing in it that neither side had: no undefined name,
    no definition made twice, no import left unused. Anything else (a conflict, a
    side that does not parse, no ruff to ask) is None: the line merge decides.
    One ruff process checks every file.

    Args:
        candidates: The files, each with its path in the project (ruff reads
            `__init__.py` and test files by their names).

    Returns:
        {path: the merged content, or None}.
    """
    results: dict[str, bytes | None] = {c.path: None for c in candidates}
    checks: dict[str, dict[str, str]] = {}
    for candidate in candidates:
        try:
            texts = [
                content.decode("utf-8")
                for content in (candidate.base, candidate.ours, candidate.theirs)
            ]
        except UnicodeDecodeError:
            continue
        merged = merge_python(*texts)
        if merged is None:
            continue
        try:
            ast.parse(merged)
        except SyntaxError:
            continue
        checks[candidate.path] = {
            "ours": texts[1],
            "theirs": texts[2],
            "merged": merged,
        }
    if not checks:
        return results
    findings = _ruff_findings(checks)
    if findings is None:
        return results
    for path, check in checks.items():
        found = findings[path]
        allowed = found["ours"] | found["theirs"]  # the most of each either had
        if not found["merged"] - allowed:
            results[path] = check["merged"].encode("utf-8")
    return results


# A finding without where it is: "Redefinition of unused `f` from line 3" names a line.
_LINE = re.compile(r"\bline \d+")


def _ruff_findings(
    checks: dict[str, dict[str, str]],
) -> dict[str, dict[str, Counter[str]]] | None:
    """The findings of ruff in each text, as a multiset of code and message.

    `checks` is {path: {label: text}}. None when ruff cannot run.
    """
    ruff = _ruff_executable()
    if ruff is None:
        return None
    with tempfile.TemporaryDirectory(prefix="uowgen-py-merge-") as scratch:
        folder = Path(scratch).resolve()
        where: dict[Path, tuple[str, str]] = {}
        for number, (path, texts) in enumerate(checks.items()):
            for label, text in texts.items():
                # The file's own name, so ruff reads `__init__.py` as one.
                file = folder / str(number) / label / PurePosixPath(path).name
                file.parent.mkdir(parents=True)
                file.write_text(text, encoding="utf-8")
                where[file] = (path, label)
        try:
            done = subprocess.run(
                [
                    ruff,
                    "check",
                    "--isolated",  # the same rules whatever the project configures
                    "--select",
                    "F,E9",
                    "--output-format",
                    "json",
                    "--no-cache",
                    "--exit-zero",
                    str(folder),
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=folder,
            )
        except OSError:
            return None
        if done.returncode != 0:
            return None
        try:
            reported = json.loads(done.stdout)
        except json.JSONDecodeError:
            return None
        found = {
            path: {label: Counter[str]() for label in texts}
            for path, texts in checks.items()
        }
        for finding in reported:
            path, label = where[Path(finding["filename"])]
            message = _LINE.sub("line", str(finding["message"]))
            found[path][label][f"{finding['code']} {message}"] += 1
    return found


def _ruff_executable() -> str | None:
    """The ruff that uowgen depends on (its package's binary), else one on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        return shutil.which("ruff")
    try:
        return os.fsdecode(find_ruff_bin())
    except FileNotFoundError:
        return shutil.which("ruff")
