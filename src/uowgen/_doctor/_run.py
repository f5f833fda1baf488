"""One doctor run: configuration, files, analysis, then the filters users set."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from uowgen._doctor._check_base import Facts, Hit
from uowgen._doctor._checks import Checker
from uowgen._doctor._config import DoctorConfig, load_config
from uowgen._doctor._external import ExternalCalls
from uowgen._doctor._fastapi import find_fastapi_version
from uowgen._doctor._files import (
    FileWarning,
    NewerSyntax,
    SourceFile,
    finish_newer,
    python_files,
    read_source,
    rewrite_newer,
)
from uowgen._doctor._model import DoctorReport, Finding, Location
from uowgen._doctor._parallel import PARALLEL_FROM, can_fork, default_jobs, forked
from uowgen._doctor._reach import unimported
from uowgen._doctor._rules import selected_codes
from uowgen._doctor._symbols import Module, Project, build_module
from uowgen._doctor._syntax import forget_nodes
from uowgen._doctor._trees import TREE_BUDGET, TreeStore
from uowgen.errors import UowgenError

Rule = Callable[[Module], Iterator[Hit]]
# Rules whose harm is to requests: in a script nothing imports, or in a test, a
# transaction held over an HTTP call blocks no one else (a shared session or a
# MissingGreenlet is a bug wherever it runs).
_REQUEST_PATH_RULES = frozenset({"UOW003"})
UNIMPORTED = "in code nothing imports"
IN_TESTS = "in test code"


def run_doctor(
    paths: Sequence[Path],
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    use_config: bool = True,
    cwd: Path | None = None,
    skip_unimported: bool | None = None,
    jobs: int | None = None,
    hold_all_trees: bool | None = None,
    tree_budget: int | None = None,
) -> DoctorReport:
    """Check the Python files under `paths` as one codebase.

    Args:
        paths: files and folders (folders are walked; excluded folders skipped).
        select: rule codes or prefixes to check, replacing the config's `select`.
        ignore: rule codes or prefixes not to check, added to the config's.
        use_config: read `[tool.uowgen.doctor]` from the nearest pyproject.toml.
        cwd: paths in the report are relative to it when under it.
        skip_unimported: leave out findings in code nothing imports (default: the
            config's `skip-unimported`, else report them with low confidence).
        jobs: processes to check the modules in (default: one per core; a
            codebase under 300 files, or a system without `fork`, uses one).
        hold_all_trees: hold every module's syntax tree for the whole run (faster
            on a large codebase, at about thirty times its source in memory;
            default: the config's `hold-all-trees`, else only the trees used last).
        tree_budget: how much source text's syntax trees to hold at once, in
            characters (default `TREE_BUDGET`); the others are parsed again when
            needed.

    Raises:
        UowgenError: a path does not exist, the configuration is invalid, or a
            rule is unknown (the CLI exits 2).
    """
    named = list(paths) or [Path()]
    for path in named:
        if not path.exists():
            raise UowgenError(f"{path}: no such file or folder")
    config = (
        load_config(named[0]) if use_config else DoctorConfig(root=named[0].absolute())
    )
    codes = selected_codes(
        select if select is not None else config.select, [*config.ignore, *ignore]
    )
    base = (cwd or Path.cwd()).absolute()
    hold = config.hold_all_trees if hold_all_trees is None else hold_all_trees
    if tree_budget is None:
        tree_budget = sys.maxsize if hold else TREE_BUDGET
    with _collector_off():
        # The trees are freed, by their reference counts, before the collector
        # is back on: otherwise its first collection walks them all (2.3 s on a
        # 2,300-file codebase), for nothing.
        try:
            return _run(named, config, codes, base, skip_unimported, jobs, tree_budget)
        finally:
            forget_nodes()


def _run(
    named: list[Path],
    config: DoctorConfig,
    codes: frozenset[str],
    base: Path,
    skip_unimported: bool | None,
    jobs: int | None,
    tree_budget: int,
) -> DoctorReport:
    jobs = default_jobs() if jobs is None else jobs
    store = TreeStore(tree_budget)
    project = Project()
    facts = Facts(project)
    store.on_forget(facts.forget)
    not_checked = _read(named, config, base, jobs, _Index(project, facts, store))
    modules = project.modules
    warnings: list[FileWarning] = []
    fastapi = find_fastapi_version(named[0])
    external = ExternalCalls.with_config(config.external_calls)
    checker = Checker(project, fastapi, external, facts, store.checkpoint)
    findings = _check(checker, store, codes, warnings, jobs)
    with_findings = {f.path for f in findings if f.code in _REQUEST_PATH_RULES}
    left_out = unimported(
        modules, [m for m in modules if m.source.path in with_findings]
    )
    unreached = {m.source.path for m in modules if id(m) in left_out}
    roots = [path.absolute() for path in named]
    findings = [
        _low(f, unreached, roots) if f.code in _REQUEST_PATH_RULES else f
        for f in findings
    ]
    if "UOW000" in codes:
        findings += [_not_checked(w) for w in not_checked]
    sources = {module.source.path: module.source for module in modules}
    kept = [f for f in findings if _kept(f, sources, config)]
    skip = config.skip_unimported if skip_unimported is None else skip_unimported
    skipped = sum(f.confidence == "low" for f in kept) if skip else 0
    if skip:
        kept = [f for f in kept if f.confidence != "low"]
    return DoctorReport(
        findings=tuple(sorted(kept)),
        warnings=tuple(warnings),
        files=len(modules) + len(not_checked),
        selected=codes,
        config=config.source,
        not_checked=tuple(not_checked),
        skipped_unimported=skipped,
    )


def _low(finding: Finding, unreached: set[Path], roots: list[Path]) -> Finding:
    """A request-path finding where no request runs: low confidence, and why."""
    if is_test_code(_within(finding.path, roots)):
        return replace(finding, confidence="low", why_low=IN_TESTS)
    if finding.path in unreached:
        return replace(finding, confidence="low", why_low=UNIMPORTED)
    return finding


def _within(path: Path, roots: list[Path]) -> Path:
    """`path` from the folder doctor was pointed at.

    A `tests/` folder above that one is not the project's.
    """
    for root in roots:
        if path.absolute().is_relative_to(root) and root.is_dir():
            return path.absolute().relative_to(root)
    return Path(path.name)


def is_test_code(path: Path) -> bool:
    """A test module or a test's helper.

    Under `tests/`, or named as pytest finds tests: `test_*.py`, `*_test.py`,
    `conftest.py`.
    """
    name = path.name
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(part in ("tests", "test") for part in path.parts[:-1])
    )


@contextmanager
def _collector_off() -> Iterator[None]:
    """Keep the cyclic garbage collector off while the syntax trees are in use.

    A codebase's trees are millions of objects that live for the whole run: each
    full collection would walk them all, and collections come every few thousand
    allocations (a 1,500-file app parsed 7 times slower, and was checked 2.7 times
    slower, with them). The run makes few reference cycles; whatever it leaves is
    collected as usual once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Index:
    """Where the modules read go: the codebase, their facts, the trees held."""

    project: Project
    facts: Facts
    store: TreeStore

    def add(self, module: Module, order: int) -> None:
        """Take a module in while its tree is held, then maybe let trees go."""
        self.project.add(module, order)
        self.facts.take_in(module)
        self.store.hold(module)
        self.store.checkpoint()


def _read(
    named: Sequence[Path], config: DoctorConfig, base: Path, jobs: int, index: _Index
) -> list[FileWarning]:
    """Parse every file and take it in as it is parsed (its tree may go later).

    Files in a newer grammar wait for their rewrite; the codebase is then put back
    in the files' order.
    """
    newer: list[tuple[int, NewerSyntax, Path]] = []
    not_checked: list[tuple[int, FileWarning]] = []
    files = list(python_files(named, config))
    count = len(files)
    # Last file first: the trees still held at the end are the first files', which
    # the rules check first.
    for order in reversed(range(count)):
        path, given = files[order]
        entry = read_source(path, _display(path, base), defer_newer=True)
        if isinstance(entry, NewerSyntax):
            newer.append((order, entry, given))
        elif isinstance(entry, FileWarning):
            not_checked.append((order, entry))
        else:
            index.add(build_module(entry, _root(given)), order)
    parallel = count >= PARALLEL_FROM and len(newer) > 1 and can_fork()
    shares = min(jobs, len(newer)) if parallel else 1
    if shares > 1:
        # Rewriting newer syntax with LibCST costs a hundred times a parse: the
        # workers rewrite, and send back text only.
        parts = forked(
            lambda share: [rewrite_newer(n) for _, n, _ in newer[share::shares]],
            shares,
            lambda: None,
        )
        rewritten = [parts[at % shares][at // shares] for at in range(len(newer))]
    else:
        rewritten = [rewrite_newer(n) for _, n, _ in newer]
    for (order, waiting, given), text in zip(newer, rewritten, strict=True):
        entry = finish_newer(waiting, text)
        if isinstance(entry, FileWarning):
            not_checked.append((order, entry))
        else:
            index.add(build_module(entry, _root(given)), order)
    index.project.sort()
    return [warning for _, warning in sorted(not_checked, key=lambda w: w[0])]


def _root(given: Path) -> Path:
    """The folder a module's names are found from: the one doctor was given."""
    return (given if given.is_dir() else given.parent).absolute()


def _not_checked(warning: FileWarning) -> Finding:
    """UOW000: a file left out, said as a finding so that it fails the run."""
    return Finding(
        display=warning.display,
        line=warning.line,
        column=warning.column,
        code="UOW000",
        message=f"not checked: {warning.message}",
        end_line=warning.line,
        end_column=warning.column,
        path=warning.path,
    )


# The costliest rule (the flow of every function that makes an outbound call),
# checked in worker processes while this one checks the others.
_FORKED_RULES = frozenset({"UOW003"})

# One module's findings and warnings for one rule.
_Results = dict[tuple[int, str], tuple[list[Finding], list[FileWarning]]]


def _check(
    checker: Checker,
    store: TreeStore,
    codes: frozenset[str],
    warnings: list[FileWarning],
    jobs: int,
) -> list[Finding]:
    modules = checker.project.modules
    rules = [(code, rule) for code, rule in checker.module_rules() if code in codes]
    forked_codes = _FORKED_RULES & codes
    parallel = (
        jobs > 1 and len(modules) >= PARALLEL_FROM and bool(forked_codes) and can_fork()
    )
    shares = jobs - 1 if parallel else 0
    here = [(c, r) for c, r in rules if c not in forked_codes]
    there = [(c, r) for c, r in rules if c in forked_codes]

    def check(chosen: list[tuple[str, Rule]], indexes: range) -> _Results:
        results: _Results = {}
        for at in indexes:
            # The module checked is read whole (its statements are not parsed one by
            # one), before any rule follows a call into it.
            modules[at].tree  # noqa: B018
            for code, rule in chosen:
                results[(at, code)] = _check_module(code, rule, modules[at])
            store.checkpoint()  # between modules: trees may be let go
        return results

    def project_rules() -> list[Finding]:
        found: list[Finding] = []
        if "UOW006" in codes:
            try:
                for hit in checker.expire_on_commit():
                    found.append(_finding(hit))
            except RecursionError:
                pass  # reported as a skipped rule by no file in particular: rare
        return found

    def share(index: int) -> tuple[_Results, list[Finding]]:
        """The forked rules on every `shares`-th module from `index` on.

        The first share also runs the project-wide rule, which has the most in
        common with them (the flow of functions).
        """
        done = check(there, range(index, len(modules), shares))
        return done, project_rules() if index == 0 else []

    results: _Results = {}
    project_findings: list[Finding] = []
    if shares:
        # A worker works out the summaries it needs on its own: a few rules'
        # worth of modules per worker duplicates less of that work than every
        # rule on a share of the modules.
        for done, found in forked(
            share, shares, lambda: results.update(check(here, range(len(modules))))
        ):
            results.update(done)
            project_findings.extend(found)
    else:
        results = check(rules, range(len(modules)))
        project_findings = project_rules()
    findings: list[Finding] = []
    for at in range(len(modules)):  # in the order one process checks them
        for code, _ in rules:
            found, warned = results[(at, code)]
            findings.extend(found)
            warnings.extend(warned)
    return findings + project_findings


def _check_module(
    code: str, rule: Rule, module: Module
) -> tuple[list[Finding], list[FileWarning]]:
    found: list[Finding] = []
    try:
        for hit in rule(module):
            found.append(_finding(hit))
    except RecursionError:
        # Expressions nested deeper than Python's stack: the rest of the module is
        # still checked by the other rules (and what this one found is kept).
        source = module.source
        message = f"{code} skipped: the code is nested too deeply to analyse"
        return found, [FileWarning(source.path, source.display, 1, 1, message)]
    return found, []


def _finding(hit: Hit) -> Finding:
    source: SourceFile = hit.module.source
    node = hit.node
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None) or line
    column = source.column(line, getattr(node, "col_offset", 0))
    end_offset = getattr(node, "end_col_offset", None)
    end_column = (
        source.column(end_line, end_offset) if end_offset is not None else column
    )
    related = tuple(
        Location(
            r.module.source.display,
            r.line,
            r.module.source.column(r.line, r.column),
            r.message,
        )
        for r in hit.related
    )
    return Finding(
        display=source.display,
        line=line,
        column=column,
        code=hit.code,
        message=hit.message,
        end_line=end_line,
        end_column=end_column,
        path=source.path,
        related=related,
    )


def _kept(
    finding: Finding, sources: dict[Path, SourceFile], config: DoctorConfig
) -> bool:
    if finding.code in config.ignored_codes(finding.path):
        return False
    source = sources.get(finding.path)
    if source is None:
        return True
    for line in {finding.line, finding.end_line}:
        if line in source.noqa:
            codes = source.noqa[line]
            if codes is None or finding.code in codes:
                return False
    return True


def _display(path: Path, base: Path) -> str:
    absolute = path.absolute()
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()
