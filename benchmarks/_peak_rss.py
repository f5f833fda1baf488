"""Run one uowgen command and record its peak memory: `_peak_rss.py OUT ARGS...`.

Writes JSON to OUT at exit: the command's own peak resident set and the largest of
its children's (the forked renders, ruff), in MiB, as the kernel counted them.

The own peak is VmHWM, the high-water mark of this process's memory since its exec:
`getrusage(RUSAGE_SELF).ru_maxrss` would also count the peak of the benchmark that
forked it (Linux carries the old memory's high-water mark across exec).
"""

import atexit
import json
import resource
import sys
from pathlib import Path

out = Path(sys.argv[1])
sys.argv = ["uowgen", *sys.argv[2:]]


def _high_water_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report() -> None:
    own = _high_water_mib()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.write_text(json.dumps({"own_mib": own, "child_mib": children}))


atexit.register(_report)

# Imported after the hook is set, so the imports count too.
from uowgen._cli import main

main()
