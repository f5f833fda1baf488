"""The user's project on disk: checked paths, reads, atomic writes and removals."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from uowgen.errors import UowgenError


@dataclass(frozen=True)
class _Found:
    """What the user's project has at a path."""

    content: bytes | None  # None when absent, or when `odd`
    odd: str = ""  # why it is not a plain file (link, folder...): never read or written
    blocked: str = ""  # why it is absent and cannot be created: a parent is a file


def _look(root: Path, path: str) -> _Found:
    for parent in reversed(PurePosixPath(path).parents[:-1]):
        folder = root / parent
        if folder.is_dir():  # a linked folder is a folder too
            continue
        if folder.exists() or folder.is_symlink():
            return _Found(None, blocked=f"{parent} is a file in your project")
        return _Found(None)  # its parent folder is missing, so is the file
    target = root / path
    if target.is_symlink():
        return _Found(None, odd="it is a symbolic link, which uowgen does not write")
    if not target.exists():
        return _Found(None)
    if not target.is_file():
        return _Found(None, odd="it is not a regular file in your project")
    return _Found(_read(target, path))


def _write_atomically(root: Path, path: str, content: bytes) -> None:
    target = root / path
    try:
        if target.is_file():
            if target.read_bytes() == content:
                return
            mode: int | None = stat.S_IMODE(target.stat().st_mode)
        else:
            mode = None
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.uowgen")
        # O_EXCL: never clobber a file that happens to have this name; 0o666 lets the
        # umask decide a new file's permissions, as for any file the user creates.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            if mode is not None:
                temporary.chmod(mode)
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UowgenError(
            f"{path}: cannot write it: {exc.strerror}; fix that, then run the "
            "command again"
        ) from exc


def _remove(root: Path, path: str) -> None:
    try:
        (root / path).unlink(missing_ok=True)
    except OSError as exc:
        raise UowgenError(
            f"{path}: cannot remove it: {exc.strerror}; fix that, then run the "
            "command again"
        ) from exc
    for parent in PurePosixPath(path).parents[:-1]:  # never "." (the root)
        try:
            (root / parent).rmdir()
        except OSError:  # not empty (or not a folder): stop pruning here
            break


def _require_folder(root: Path) -> None:
    if not root.is_dir():
        raise UowgenError(f"{root} is not a folder")


def _check_relative(path: str) -> None:
    pure = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or pure.is_absolute()
        or pure.as_posix() != path
        or any(part in {".", ".."} for part in pure.parts)
    ):
        raise ValueError(f"not a normalised relative POSIX path: {path!r}")


def _read(target: Path, path: str) -> bytes:
    try:
        return target.read_bytes()
    except OSError as exc:
        raise UowgenError(
            f"{path}: cannot read it: {exc.strerror}; fix that, then run the command "
            "again"
        ) from exc


def _is_binary(content: bytes) -> bool:
    if b"\0" in content:
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
