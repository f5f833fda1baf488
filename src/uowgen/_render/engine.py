"""Render the template with copier: the only module that imports copier."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from copier._main import Worker  # HACK: see _ScratchWorker
from copier.errors import CopierError

from uowgen._render.answers import ANSWERS_FILE, spec_answers
from uowgen._spec.models import ProjectSpec
from uowgen.errors import UowgenError

_TEMPLATE_FILES = ("copier.yml", "template", "extensions")


def template_root() -> Path:
    """The folder holding `copier.yml`: bundled in the wheel, or this checkout."""
    package = Path(__file__).resolve().parent.parent  # src/uowgen, or the wheel's
    bundled = package / "_template"
    if (bundled / "copier.yml").is_file():
        return bundled
    checkout = package.parent.parent
    if (checkout / "copier.yml").is_file():
        return checkout
    raise UowgenError(
        f"uowgen's template is missing (looked in {bundled}); reinstall uowgen "
        "(`pip install --force-reinstall uowgen`)"
    )


def generate(
    spec: ProjectSpec | None,
    dst: Path,
    *,
    overwrite: bool = False,
    interactive: bool = False,
    written: object = None,
) -> Path:
    """Generate a project from `spec` into `dst` and return `dst`.

    `written` is the spec file's `models` as YAML read them: the project's
    `uowgen.yml` keeps the order their keys were written in.

    The project is rendered and formatted in a scratch folder first and moved into
    place only when everything succeeded, so a failure leaves `dst` as it was.
    With no spec, copier asks its questions (or takes their defaults).

    Raises:
        UowgenError: `dst` is not empty (and `overwrite` is off), or rendering failed.
    """
    dst = dst.resolve()
    _check_destination(dst, overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix="uowgen-") as scratch:
        staged = Path(scratch) / (dst.name or "project")
        _render(spec, staged, interactive=interactive, written=written)
        _place(staged, dst)
    return dst


# Sync and update never merge the migrations a render writes (applied ones are
# history; new revisions come from the diff of the specs): they are not rendered.
_HISTORY: tuple[str, ...] = ("migrations/versions/0001_initial.py",)


def render_tree(spec: ProjectSpec) -> dict[str, bytes]:
    """Render `spec` in a scratch folder: {POSIX path relative to the root: bytes}.

    The tree sync and update merge: everything but the initial migration.
    """
    with tempfile.TemporaryDirectory(prefix="uowgen-") as scratch:
        staged = Path(scratch) / "project"
        _render(spec, staged, interactive=False, exclude=_HISTORY)
        return {
            path.relative_to(staged).as_posix(): path.read_bytes()
            for path in sorted(staged.rglob("*"))
            if path.is_file()
        }


def render_trees(*specs: ProjectSpec) -> list[dict[str, bytes]]:
    """`render_tree` of each spec, in parallel processes where the OS forks.

    A render is CPU-bound (Jinja, then ruff): `sync` renders two trees, and on two
    cores they take the time of one. A forked child starts with everything already
    imported; where fork is not available (or threads run, which fork does not
    copy safely), the renders run one after the other.
    """
    if len(specs) < 2 or not _can_fork():
        return [render_tree(spec) for spec in specs]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(specs), mp_context=context) as pool:
        return list(pool.map(render_tree, specs))


def _can_fork() -> bool:
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


class _ScratchWorker(Worker):
    """copier's worker, for renders into a fresh scratch folder (never a git tree).

    After writing each file, copier 9.19 runs `git config core.fileMode` in the
    destination to carry an executable bit into a git index: one process per file
    (231 for 30 models, a third of a render), each finding no repository here.
    HACK: https://github.com/copier-org/copier (Worker._sync_git_index_executable_bit,
    private; copier is pinned, and a test fails if the method goes away).
    """

    def _sync_git_index_executable_bit(self, dst_relpath: Path, src_mode: int) -> None:
        del dst_relpath, src_mode


def _render(
    spec: ProjectSpec | None,
    staged: Path,
    *,
    interactive: bool,
    written: object = None,
    exclude: tuple[str, ...] = (),
) -> None:
    root = template_root()
    source = _snapshot(root, staged.parent / ".uowgen-template")
    try:
        # What copier.run_copy does, with the worker above.
        with _ScratchWorker(
            src_path=str(source),
            dst_path=staged,
            data=spec_answers(spec, written) if spec is not None else {},
            defaults=not interactive,
            unsafe=True,  # our own template: its tasks run ruff on the output
            quiet=True,
            overwrite=True,
            exclude=exclude,
        ) as worker:
            worker.run_copy()
    except (CopierError, ValueError) as exc:
        raise UowgenError(f"rendering failed: {exc}") from exc
    _portable_answers(staged / ANSWERS_FILE)


def _snapshot(root: Path, into: Path) -> Path:
    """Copy the template out of any git checkout it sits in.

    Copier treats a template inside a git repository as versioned and renders its
    last commit; uowgen renders exactly the files it ships (or has checked out).
    """
    into.mkdir()
    for name in _TEMPLATE_FILES:
        path = root / name
        if path.is_dir():
            shutil.copytree(
                path, into / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(path, into / name)
    return into


def _portable_answers(answers_file: Path) -> None:
    """Drop `_src_path`: copier records the scratch copy uowgen rendered from.

    A machine path in a committed file is wrong on every other machine (and in CI).
    The project records its template version as `_uowgen_version` instead, which is
    all `uowgen update` needs to fetch the exact template that rendered it.
    """
    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    answers_file.write_text(
        "".join(line for line in lines if not line.startswith("_src_path:")),
        encoding="utf-8",
    )


def _check_destination(dst: Path, *, overwrite: bool) -> None:
    if dst.exists() and not dst.is_dir():
        raise UowgenError(
            f"{dst} exists and is not a directory; give `uowgen new` another folder"
        )
    if dst.is_dir() and any(dst.iterdir()) and not overwrite:
        raise UowgenError(f"{dst} is not empty; pass --overwrite to render into it")


def _place(staged: Path, dst: Path) -> None:
    """Move a finished render into `dst`, merging into it if it already exists."""
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(dst))
        return
    shutil.copytree(staged, dst, dirs_exist_ok=True)
