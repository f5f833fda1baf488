"""The real codebases `uowgen doctor` is measured on, fetched from PyPI into a cache.

Each is a pinned release, downloaded with `pip download --no-deps` (so pip's own
configuration and index apply) and unpacked once into
`~/.cache/uowgen/doctor-corpus/<name>-<version>/` (`UOWGEN_CACHE_DIR` moves it).
Nothing fetched is committed.

Run: .venv/bin/python benchmarks/doctor_corpus.py   (or scripts/doctor-corpus)
Prints the folder of each codebase.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# FastAPI + SQLAlchemy codebases on PyPI: libraries built on both, and three
# applications (fief-server, prefect's server, Open WebUI).
CORPUS: tuple[tuple[str, str], ...] = (
    ("fastapi-users-db-sqlalchemy", "7.0.0"),
    ("sqlmodel", "0.0.50"),
    ("fastapi-pagination", "0.16.1"),
    ("fastcrud", "0.23.0"),
    ("sqladmin", "0.32.0"),
    ("advanced-alchemy", "1.12.0"),
    ("fief-server", "0.27.0"),
    ("prefect", "3.9.1"),
    ("open-webui", "0.12.4"),  # a 100 MB wheel: the web app's assets; only .py kept
)


def cache_dir() -> Path:
    """Where the unpacked codebases live."""
    base = os.environ.get("UOWGEN_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "uowgen"
    return root / "doctor-corpus"


def fetch(name: str, version: str) -> Path:
    """The unpacked wheel of `name==version`, downloading it the first time."""
    target = cache_dir() / f"{name}-{version}"
    if (target / ".complete").is_file():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                scratch,
                f"{name}=={version}",
            ],
            check=True,
        )
        (wheel,) = Path(scratch).glob("*.whl")
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            sources = [n for n in archive.namelist() if n.endswith((".py", ".pyi"))]
            archive.extractall(target, members=sources)
    (target / ".complete").write_text(f"{name}=={version}\n", encoding="utf-8")
    return target


def fetch_all() -> dict[str, Path]:
    """Every codebase of the corpus, by `name==version`."""
    return {f"{name}=={version}": fetch(name, version) for name, version in CORPUS}


if __name__ == "__main__":
    for label, path in fetch_all().items():
        print(f"{label}\t{path}")
