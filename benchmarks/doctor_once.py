"""One in-process `run_doctor` on a folder: wall and CPU time, its workers', peaks.

Run: .venv/bin/python benchmarks/doctor_once.py FOLDER [JOBS|-] [LABEL]
`-` (the default) calls run_doctor without `jobs`, so that an older uowgen (put first
on PYTHONPATH, e.g. `git archive <commit> src | tar -x -C /tmp/old`) runs the same
way. Prints one line: wall s, this process's CPU s, its workers' CPU s, this
process's peak resident MiB (VmHWM) and its largest worker's, the findings, and
how many times this process parsed (a whole file, or one statement of one).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

from uowgen._doctor import _files, run_doctor

PARSES = [0]


def _counted(parse: Any) -> Any:
    def counted(*args: Any) -> Any:
        PARSES[0] += 1
        return parse(*args)

    return counted


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    jobs = argv[1] if len(argv) > 1 else "-"
    label = argv[2] if len(argv) > 2 else ""
    options: dict[str, Any] = {} if jobs == "-" else {"jobs": int(jobs)}
    _files._parse = _counted(_files._parse)
    start, cpu = time.perf_counter(), time.process_time()
    report = run_doctor([root], use_config=False, cwd=root, **options)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(
        f"{label} {root.name} jobs={jobs} wall={wall:.1f} cpu={cpu:.1f} "
        f"workers_cpu={workers.ru_utime + workers.ru_stime:.1f} "
        f"peak_MiB={peak // 1024} worker_peak_MiB={workers.ru_maxrss // 1024} "
        f"findings={len(report.findings)} parses={PARSES[0]}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
