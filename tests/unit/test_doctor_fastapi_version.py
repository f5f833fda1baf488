"""UOW002 is worded for the FastAPI the project runs, read from its lock file,
requirements or pyproject.toml, and left out where that FastAPI runs a dependency's
exit code before the response (0.106 to 0.117)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uowgen._doctor import run_doctor
from uowgen._doctor._fastapi import FastapiVersion, find_fastapi_version

DEPENDENCY = """\
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite://")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


async def get_session():
    async with SessionLocal() as session:
        yield session
        await session.commit()


@app.get("/")
async def read(session=Depends(get_session)) -> None:
    await engine.dispose()
"""

UV_LOCK = """\
version = 1

[[package]]
name = "fastapi"
version = "{version}"
"""


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "uv.lock",
            UV_LOCK.format(version="0.124.4"),
            FastapiVersion((0, 124, 4), "uv.lock"),
        ),
        (
            "poetry.lock",
            UV_LOCK.format(version="0.110.0"),
            FastapiVersion((0, 110, 0), "poetry.lock"),
        ),
        (
            "requirements.txt",
            "uvicorn==0.30\nFastAPI[standard]==0.119.1 ; python_version>'3'\n",
            FastapiVersion((0, 119, 1), "requirements.txt"),
        ),
        (
            "pyproject.toml",
            '[project]\ndependencies = ["fastapi>=0.118,<1", "httpx"]\n',
            FastapiVersion((0, 118), "pyproject.toml", exact=False),
        ),
        ("requirements.txt", "fastapi>=0.100\n", None),  # no exact pin: unknown
    ],
)
def test_the_version_is_read_from_the_project(
    name: str, text: str, expected: FastapiVersion | None, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()  # the search stops at the repository's root
    (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "app").mkdir()

    assert find_fastapi_version(tmp_path / "app") == expected


def run(tmp_path: Path, version: str | None) -> list[str]:
    (tmp_path / ".git").mkdir()
    if version is not None:
        (tmp_path / "uv.lock").write_text(
            UV_LOCK.format(version=version), encoding="utf-8"
        )
    (tmp_path / "deps.py").write_text(DEPENDENCY, encoding="utf-8")
    report = run_doctor([tmp_path], use_config=False)
    return [f.message for f in report.findings if f.code == "UOW002"]


def test_from_0_121_the_fix_is_scope_function(tmp_path: Path) -> None:
    (message,) = run(tmp_path, "0.124.4")

    assert "after the response is sent (FastAPI 0.124.4, from uv.lock)" in message
    assert 'use `Depends(get_session, scope="function")`' in message


def test_before_0_121_scope_function_is_not_offered_as_is(tmp_path: Path) -> None:
    (message,) = run(tmp_path, "0.119.0")

    assert "(FastAPI 0.119.0, from uv.lock)" in message
    assert "needs FastAPI 0.121" in message


@pytest.mark.parametrize("version", ["0.106.0", "0.112.2", "0.117.1"])
def test_0_106_to_0_117_tear_down_before_the_response(
    version: str, tmp_path: Path
) -> None:
    assert run(tmp_path, version) == []


def test_unknown_version_says_which_versions(tmp_path: Path) -> None:
    (message,) = run(tmp_path, None)

    assert "(FastAPI before 0.106, and 0.118 on)" in message
