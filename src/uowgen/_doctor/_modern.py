"""Read code written for a newer Python than the one doctor runs in.

`ast` parses with the running interpreter's grammar, so on Python 3.11 a file with
PEP 695 type parameters (`def f[T]`, `type X = ...`), PEP 701 f-strings
(`f"{d["key"]}"`), PEP 758 `except A, B:` or PEP 750 t-strings is a syntax error.
Such a file is parsed again with LibCST, whose grammar covers Python 3.0 to 3.15,
and rewritten into the older grammar with every line kept in place (and columns
too, except after an edit that has to insert characters):

- type parameters (`[T: int = str]`) become blanks, and `type X = v` becomes
  `_=0; X = v` (the alias is a plain assignment to the rules);
- `except A, B:` gets its parentheses;
- a t-string becomes an f-string, and an f-string the old grammar cannot read
  becomes the tuple of its expressions: what the rules look at (calls, awaits)
  is kept, the literal text is not.

The rules then read the rewritten code with `ast`, as any other file.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider


class ModernSyntaxError(Exception):
    """LibCST cannot parse the file either: it is not valid Python of any version."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


def downgrade(text: str) -> str:
    """`text` rewritten into the running interpreter's grammar, lines kept.

    Raises:
        ModernSyntaxError: the code is not valid in any grammar LibCST knows.
    """
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise ModernSyntaxError(exc.message, exc.raw_line, exc.raw_column + 1) from exc
    edits = _statement_edits(module, text)
    if edits is None:
        edits = _edits(module, text)
    return _apply(text, edits)


def _edits(module: cst.Module, text: str, start: int = 0) -> list[_Edit]:
    """The edits a walk of `module`, whose code is `text`, finds (shifted by `start`).

    The walk needs every node's position, which LibCST works out by generating the
    code of the whole module again: most of the cost of reading a file.
    """
    collector = _Collector(text)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return [_Edit(e.start + start, e.end + start, e.text) for e in collector.edits]


def _statement_edits(module: cst.Module, text: str) -> list[_Edit] | None:
    """The same edits, walking only the statements the old grammar cannot read.

    A top-level statement `ast` reads needs no edit. None when a statement's code
    cannot be placed in `text`: the whole module is walked instead.
    """
    edits: list[_Edit] = []
    header = "".join(module.code_for_node(line) for line in module.header)
    if not text.startswith(header):
        return None
    cursor = len(header)
    for statement in module.body:
        code = module.code_for_node(statement)
        if not text.startswith(code, cursor):
            if statement is module.body[-1] and text.startswith(code[:-1], cursor):
                code = code[:-1]  # the file's last line has no line break
            else:
                return None
        if not _parses(code):
            edits.extend(_one_statement_edits(module, statement, code, cursor))
        cursor += len(code)
    return edits


def _one_statement_edits(
    module: cst.Module, statement: cst.CSTNode, code: str, start: int
) -> list[_Edit]:
    """The edits of one top-level statement the old grammar cannot read.

    A class or function is walked by parts: its header, then each statement of its
    body that does not parse once the header's edits are made (a method with a
    newer f-string). Walking a whole class was most of the cost of such a file;
    a part that parses needs no edit.
    """
    if isinstance(statement, cst.ClassDef | cst.FunctionDef) and isinstance(
        statement.body, cst.IndentedBlock
    ):
        edits = _edits_by_part(module, statement, statement.body, code)
        if edits is not None:
            return [_Edit(e.start + start, e.end + start, e.text) for e in edits]
    whole = _alone(module, statement)
    return _edits(whole, whole.code, start)


def _edits_by_part(
    module: cst.Module,
    statement: cst.ClassDef | cst.FunctionDef,
    block: cst.IndentedBlock,
    code: str,
) -> list[_Edit] | None:
    """The edits of `statement`, whose code is `code`, made part by part.

    None when the parts cannot be placed in `code`: the whole is walked instead.
    """
    if not block.body:
        return None
    # The code before the body's first statement: up to the colon, its comment and
    # line break. Each statement of the body follows, as in a class of its own.
    block_code = module.code_for_node(block)
    if not code.endswith(block_code):
        return None
    head = len(code) - len(block_code) + len(module.code_for_node(block.header))
    alone = [
        _alone(
            module,
            statement.with_changes(body=block.with_changes(body=(inner,), footer=())),
        )
        for inner in block.body
    ]
    parts = [part.code[head:] for part in alone]
    if any(part.code[:head] != code[:head] for part in alone) or not code.startswith(
        "".join(parts), head
    ):
        return None
    bare = _alone(
        module, statement.with_changes(body=cst.SimpleStatementSuite((cst.Pass(),)))
    )
    header = _edits(bare, bare.code)
    if any(edit.end > head for edit in header):
        return None
    edits = list(header)
    cursor = head
    for part, piece in zip(alone, parts, strict=True):
        if not _parses(_apply(part.code, header)):
            edits += [
                _Edit(e.start - head + cursor, e.end - head + cursor, e.text)
                for e in _edits(part, part.code)
                if e.start >= head
            ]
        cursor += len(piece)
    return edits


def _alone(module: cst.Module, statement: cst.CSTNode) -> cst.Module:
    """A module of the one statement."""
    return module.with_changes(
        body=(statement,), header=(), footer=(), has_trailing_newline=True
    )


def _parses(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _line_offsets(text: str) -> list[int]:
    """The offset in `text` where each line starts (index 0 is line 1)."""
    starts = [0]
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\r":
            if index + 1 < length and text[index + 1] == "\n":
                index += 1
            starts.append(index + 1)
        elif char == "\n":
            starts.append(index + 1)
        index += 1
    return starts


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    parts: list[str] = []
    last = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < last:
            continue  # inside a span already rewritten (never happens by design)
        parts.append(text[last : edit.start])
        parts.append(edit.text)
        last = edit.end
    parts.append(text[last:])
    return "".join(parts)


def _blank(span: str) -> str:
    """Spaces for every character of `span`, its line breaks kept as continuations."""
    out: list[str] = []
    for char in span:
        if char in "\r\n":
            if out and out[-1] == " ":
                out[-1] = "\\"  # no bracket holds the lines together any more
            out.append(char)
        else:
            out.append(" ")
    return "".join(out)


def _fill(token: str, span: str) -> str:
    """`token` in place of `span`'s first characters, the rest blank, lines kept.

    Inside brackets, line breaks are harmless; the span is as long as the token in
    every case but a gap between two fields with a line break in it.
    """
    out = list(token)
    skip = len(token)
    for char in span:
        if char in "\r\n":
            out.append(char)
        elif skip:
            skip -= 1
        else:
            out.append(" ")
    return "".join(out)


def _parses_alone(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(f"({source}\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


class _Collector(cst.CSTVisitor):
    """Walks the CST and collects the edits."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.offsets = _line_offsets(text)
        self.edits: list[_Edit] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.TypeAlias):
            start, _ = self.span(node)
            self.edits.append(_Edit(start, start + 4, "_=0;"))
        if isinstance(node, cst.TypeAlias | cst.FunctionDef | cst.ClassDef):
            params = node.type_parameters
            if params is not None:
                start, end = self.span(params)
                self.edits.append(_Edit(start, end, _blank(self.text[start:end])))
        elif isinstance(node, cst.ExceptHandler | cst.ExceptStarHandler):
            kind = node.type
            if isinstance(kind, cst.Tuple) and not kind.lpar:
                start, end = self.span(kind)
                if start and self.text[start - 1] == " ":
                    self.edits.append(_Edit(start - 1, start, "("))
                else:
                    self.edits.append(_Edit(start, start, "("))
                self.edits.append(_Edit(end, end, ")"))
        elif isinstance(node, cst.FormattedString | cst.TemplatedString):
            return self.string(node)
        return True

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        where: CodeRange = self.get_metadata(PositionProvider, node)
        start = self.offsets[where.start.line - 1] + where.start.column
        end = self.offsets[where.end.line - 1] + where.end.column
        return start, end

    def string(self, node: cst.FormattedString | cst.TemplatedString) -> bool:
        start, end = self.span(node)
        source = self.text[start:end]
        if isinstance(node, cst.TemplatedString):
            # t"..." reads as f"..." to the rules: the same expressions, evaluated.
            at = node.start.lower().find("t")
            letter = "F" if node.start[at] == "T" else "f"
            source = source[:at] + letter + source[at + 1 :]
            if _parses_alone(source):
                self.edits.append(_Edit(start + at, start + at + 1, letter))
                return False
        elif _parses_alone(source):
            return False  # the old grammar reads it, and what it holds
        # Its expressions in brackets, `((a)[b][c])`, each where it was: the calls
        # in them are kept, and the visit goes on into them.
        expressions = [
            part.expression
            for part in node.parts
            if isinstance(
                part, cst.FormattedStringExpression | cst.TemplatedStringExpression
            )
        ]
        if not expressions:
            self.edits.append(_Edit(start, end, _fill("''", source)))
            return False
        cursor = start
        for index, expression in enumerate(expressions):
            expr_start, expr_end = self.span(expression)
            token = "((" if index == 0 else (")[" if index == 1 else "][")
            self.edits.append(
                _Edit(cursor, expr_start, _fill(token, self.text[cursor:expr_start]))
            )
            cursor = expr_end
        token = "))" if len(expressions) == 1 else "])"
        self.edits.append(_Edit(cursor, end, _fill(token, self.text[cursor:end])))
        return True
