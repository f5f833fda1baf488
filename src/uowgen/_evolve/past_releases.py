"""Find the template and generator code of a uowgen release, and render with it.

`uowgen update` merges against the project as the version that rendered it would
render it today: that version's own template *and* its own Python code (the spec
parser and the context the templates read), not the installed ones. Every uowgen
wheel carries its template, so a release is fetched from where a user has it:

- the package index (`pip download uowgen==X`, so pip's configuration applies),
  unpacked once into a cache;
- a wheel file, a checkout of uowgen's repository, or a git URL and ref (`--from`);
- for a project made by `copier copy` from git, the URL and commit it recorded.

A release renders in a separate Python process with its own code first on the
import path: one process cannot hold two versions of one package.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml

from uowgen import _yaml
from uowgen._render.answers import ANSWERS_FILE, recorded_spec
from uowgen.errors import UowgenError

PACKAGE = "uowgen"


@dataclass(frozen=True)
class Release:
    """A uowgen version on disk, ready to render.

    Attributes:
        version: Its `__version__`.
        path: The folder to put first on the import path: it holds `uowgen/`.
        origin: Where it came from, for messages.
    """

    version: str
    path: Path
    origin: str


def cache_dir() -> Path:
    """Where fetched releases are unpacked: `$UOWGEN_CACHE_DIR`, else the user cache."""
    if os.environ.get("UOWGEN_CACHE_DIR"):
        return Path(os.environ["UOWGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uowgen"


def locate(
    version: str | None,
    *,
    source: str | None,
    ref: str | None,
    answers: dict[str, Any],
    scratch: Path,
) -> Release:
    """The release that rendered a project, from `source` or where it recorded.

    Args:
        version: The version the project recorded (None: unknown; then `source`
            must say where the template is).
        source: `--from`: a wheel, a folder (a checkout or an unpacked wheel) or a
            git URL; None to use the project's record or the package index.
        ref: The git ref to check out of a git `source` (default: `v<version>`).
        answers: The project's copier answers (`_src_path`, `_commit` for
            projects made by `copier copy` from git).
        scratch: A folder for clones; removed by the caller.

    Raises:
        UowgenError: it cannot be found, or it is another version than `version`.
    """
    if source is not None:
        release = _from_source(source, ref, version, scratch)
    elif isinstance(answers.get("_src_path"), str) and answers.get("_commit"):
        url, commit = str(answers["_src_path"]), str(answers["_commit"])
        checkout = _clone(url, commit, scratch / "template")
        release = Release(
            _read_version(checkout / "src"),
            checkout / "src",
            f"{url} at {commit} (the project's _src_path and _commit)",
        )
    elif version is None:
        raise UowgenError(
            "the project records no uowgen version (_uowgen_version in "
            ".copier-answers.yml): pass --from with the wheel, checkout or git URL "
            "of the uowgen that rendered it"
        )
    else:
        release = _from_index(version)
    if version is not None and release.version != version:
        raise UowgenError(
            f"{release.origin} holds uowgen {release.version}, but the project was "
            f"rendered by uowgen {version}: pass that release (for a git URL, "
            f"--ref v{version})"
        )
    return release


def _from_source(
    source: str, ref: str | None, version: str | None, scratch: Path
) -> Release:
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix != ".whl":
            raise UowgenError(
                f"--from {source}: a file must be a uowgen wheel (.whl); pass --from "
                "with a uowgen wheel, checkout or git URL"
            )
        unpacked = _unpack_wheel(path, scratch / "wheel")
        return Release(_read_version(unpacked), unpacked, f"the wheel {path}")
    if path.is_dir():
        if (path / PACKAGE / "_template" / "copier.yml").is_file():
            return Release(_read_version(path), path, f"the unpacked wheel {path}")
        is_checkout = (path / "copier.yml").is_file() and (
            path / "src" / PACKAGE / "__init__.py"
        ).is_file()
        if is_checkout and ref is None:
            return Release(_read_version(path / "src"), path / "src", f"{path}")
        if not is_checkout and not (path / ".git").exists():
            raise UowgenError(
                f"--from {source}: not a uowgen checkout (copier.yml and "
                "src/uowgen/), an unpacked wheel or a git repository; pass --from "
                "with a uowgen wheel, checkout or git URL"
            )
    elif "://" not in source and not source.startswith("git@"):
        raise UowgenError(
            f"--from {source}: no such file or folder, and not a git URL "
            "(https://…, ssh://…, git@…, file://…); pass --from with a uowgen "
            "wheel, checkout or git URL"
        )
    wanted = ref or (f"v{version}" if version else None)
    if wanted is None:
        raise UowgenError(
            f"--from {source}: say which version with --ref, as in "
            f"`uowgen update --from {source} --ref vX.Y.Z`"
        )
    checkout = _clone(source, wanted, scratch / "template")
    return Release(
        _read_version(checkout / "src"), checkout / "src", f"{source} at {wanted}"
    )


def _clone(url: str, ref: str, into: Path) -> Path:
    """A checkout of `ref` (tag, branch or commit) of the git repository at `url`."""
    for command in (
        ["git", "clone", "--quiet", "--no-checkout", url, str(into)],
        ["git", "-C", str(into), "checkout", "--quiet", ref],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise UowgenError(
                f"cannot get {url} at {ref} (check the URL and --ref, or pass --from "
                f"with a wheel or a checkout): {done.stderr.strip() or done.stdout}"
            )
    if not (into / "copier.yml").is_file() or not (into / "src" / PACKAGE).is_dir():
        raise UowgenError(
            f"{url} at {ref} is not uowgen's repository (no copier.yml): pass --from "
            "with uowgen's repository, a wheel or a checkout"
        )
    return into


def _from_index(version: str) -> Release:
    """`uowgen==version` from the package index, unpacked once into the cache."""
    unpacked = cache_dir() / "releases" / f"{PACKAGE}-{version}"
    origin = f"uowgen {version} from the package index (cached in {unpacked})"
    if (unpacked / PACKAGE / "_version.py").is_file():
        return Release(_read_version(unpacked), unpacked, origin)
    unpacked.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=unpacked.parent) as scratch:
        download = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"{PACKAGE}=={version}",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                scratch,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wheels = sorted(Path(scratch).glob("*.whl"))
        if download.returncode != 0 or not wheels:
            said = (download.stderr or download.stdout).strip().splitlines()
            raise UowgenError(
                f"cannot fetch uowgen=={version} from the package index"
                + (f" (pip: {said[-1]})" if said else "")
                + ": pass --from with its wheel, a checkout or a git URL"
            )
        staged = _unpack_wheel(wheels[0], Path(scratch) / "unpacked")
        # Another update may have filled the cache meanwhile: theirs is as good.
        if not unpacked.exists():
            staged.rename(unpacked)
    return Release(_read_version(unpacked), unpacked, origin)


def _unpack_wheel(wheel: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                target = (into / member).resolve()
                if not target.is_relative_to(into.resolve()):
                    raise UowgenError(
                        f"{wheel}: unsafe path in the archive: {member}; pass --from "
                        "with another uowgen wheel"
                    )
            archive.extractall(into)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UowgenError(
            f"{wheel}: not a readable wheel: {exc}; pass --from with another uowgen "
            "wheel"
        ) from exc
    if not (into / PACKAGE / "_template" / "copier.yml").is_file():
        raise UowgenError(
            f"{wheel}: not a uowgen wheel (no uowgen/_template); pass --from with a "
            "uowgen wheel"
        )
    return into


def _read_version(path: Path) -> str:
    """`__version__` of the `uowgen` package under `path`, read without importing."""
    version_file = path / PACKAGE / "_version.py"
    try:
        tree = ast.parse(version_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError) as exc:
        raise UowgenError(
            f"{version_file}: cannot read uowgen's version: {exc}; pass --from with "
            "a uowgen wheel, checkout or git URL"
        ) from exc
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
            )
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise UowgenError(
        f"{version_file}: no __version__ in it; pass --from with a uowgen wheel, "
        "checkout or git URL"
    )


class ReleaseRender:
    """A project rendered by `release`, in its own process; `result()` waits for it.

    It starts at once, so the caller can render the other side meanwhile.
    """

    def __init__(self, release: Release, answers: dict[str, Any], scratch: Path):
        self.release = release
        spec = scratch / "recorded-spec.yml"
        # The answers as recorded, so that version reads exactly what it rendered
        # (`admin` is recorded only when on, so a release before it never sees it).
        recorded = recorded_spec(answers)
        spec.write_text(yaml.safe_dump(recorded, sort_keys=False), encoding="utf-8")
        self._root = scratch / "base"
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                PACKAGE,
                "new",
                str(self._root),
                "--spec",
                str(spec),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                # Its own code, not the installed uowgen (nor a user's PYTHONPATH).
                "PYTHONPATH": str(release.path),
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process.poll() is None:  # the caller failed first: stop it
            self._process.kill()
            self._process.communicate()

    def result(self) -> dict[str, bytes]:
        """The rendered files: {POSIX path relative to the root: bytes}."""
        out, err = self._process.communicate()
        if self._process.returncode != 0:
            raise UowgenError(
                f"uowgen {self.release.version} ({self.release.origin}) could not "
                f"render the project's recorded spec:\n{(err or out).strip()}"
            )
        tree = {
            path.relative_to(self._root).as_posix(): path.read_bytes()
            for path in sorted(self._root.rglob("*"))
            if path.is_file()
        }
        shutil.rmtree(self._root)
        # Guards the import path: an import hook of another uowgen installation
        # would render with the wrong code, and the merge base would be wrong.
        recorded = _yaml.safe_load(tree.get(ANSWERS_FILE, b"{}")) or {}
        if str(recorded.get("_uowgen_version")) != self.release.version:
            raise UowgenError(
                f"{self.release.origin} rendered as uowgen "
                f"{recorded.get('_uowgen_version')}, not {self.release.version}: "
                "another uowgen installation shadows it on the import path: unset "
                "PYTHONPATH, then run the command again"
            )
        return tree
