"""Files in a newer grammar than the running Python's are checked, not skipped, and
a file no grammar reads is a UOW000 finding, counted in the summary and the JSON."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from uowgen._cli.commands import app
from uowgen._doctor import run_doctor
from uowgen._doctor._modern import ModernSyntaxError, downgrade

HEADER = """\
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

factory = async_sessionmaker(expire_on_commit=False)
"""

# Each body is valid only from the Python version named, and makes an HTTP call
# inside a transaction on its last line, at the column of `client`.
MODERN = {
    "pep695_function": """
async def handle[T: int = int](session: AsyncSession, client: httpx.AsyncClient, x: T) -> T:
    await session.execute("select 1")
    await client.get("https://example.com")
""",
    "pep695_alias_and_class": """
type Pair[K, V] = tuple[K, V]

class Service[
    T,
](object):
    async def run(self, session: AsyncSession, client: httpx.AsyncClient) -> None:
        await session.execute("select 1")
        await client.get("https://example.com")
""",
    "pep701_fstring": """
async def handle(session: AsyncSession, client: httpx.AsyncClient, d: dict) -> None:
    await session.execute(f"select {d["column"]} from {'\\n'.join(d)}")
    await client.get(f"https://example.com/{d["id"]}")
""",
    "pep758_except": """
async def handle(session: AsyncSession, client: httpx.AsyncClient) -> None:
    try:
        await session.execute("select 1")
    except ValueError, TypeError:
        pass
    await client.get("https://example.com")
""",
    "pep750_tstring": """
async def handle(session: AsyncSession, client: httpx.AsyncClient, n: int) -> None:
    await session.execute(t"select {n}")
    await client.get(t"https://example.com/{n!r:>{n}}")
""",
}


@pytest.mark.parametrize("name", sorted(MODERN))
def test_newer_syntax_is_checked_at_the_right_place(name: str, tmp_path: Path) -> None:
    source = HEADER + MODERN[name]
    with pytest.raises(SyntaxError):
        ast.parse(source)  # the premise: this interpreter's grammar rejects it
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")

    report = run_doctor([path], use_config=False)

    lines = source.splitlines()
    last = len(lines)
    assert report.not_checked == ()
    assert [(f.code, f.line, f.column) for f in report.findings] == [
        ("UOW003", last, lines[-1].index("client") + 1)
    ]


def test_the_rewrite_keeps_every_line_and_parses() -> None:
    source = HEADER + "".join(MODERN.values())

    rewritten = downgrade(source)

    assert len(rewritten.splitlines()) == len(source.splitlines())
    ast.parse(rewritten)
    for before, after in zip(source.splitlines(), rewritten.splitlines(), strict=True):
        if "except" not in before:  # the only edit that inserts characters
            assert len(before) == len(after)


def test_code_no_grammar_reads_is_an_error() -> None:
    with pytest.raises(ModernSyntaxError):
        downgrade("def broken(:\n")


def test_unparsable_files_are_uow000_and_counted(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("x = 1\ndef broken(:\n", encoding="utf-8")
    (tmp_path / "latin.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (tmp_path / "fine.py").write_text("x = 1\n", encoding="utf-8")
    runner = CliRunner()

    text = runner.invoke(app, ["doctor", "--no-config", str(tmp_path)])
    data = json.loads(
        runner.invoke(
            app, ["doctor", "--no-config", "--format", "json", str(tmp_path)]
        ).stdout
    )
    ignored = runner.invoke(
        app, ["doctor", "--no-config", "--ignore", "UOW000", str(tmp_path)]
    )

    assert text.exit_code == 1
    assert "broken.py:2:12: UOW000 not checked: cannot parse it" in text.stdout
    assert (
        "(3 files checked, 2 not checked (1 cannot decode it, 1 cannot parse it))"
        in text.stdout
    )
    assert sorted(w["path"].rsplit("/", 1)[-1] for w in data["not_checked"]) == [
        "broken.py",
        "latin.py",
    ]
    assert {f["code"] for f in data["findings"]} == {"UOW000"}
    # Ignored, the files are still counted as not checked, but do not fail the run.
    assert ignored.exit_code == 0
    assert "2 not checked" in ignored.stdout
