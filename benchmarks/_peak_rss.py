"""Run one uowgen command and record its peak memory: `_peak_rss.py OUT ARGS...`.

Writes JSON to OUT at exit: the command's own peak resident set and the largest of
its children's (the forked renders, ruff), in MiB, as the kernel counted them.
"""

import atexit
import json
import resource
import sys
from pathlib import Path

out = Path(sys.argv[1])
sys.argv = ["uowgen", *sys.argv[2:]]


def _report() -> None:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.write_text(json.dumps({"own_mib": own, "child_mib": children}))


atexit.register(_report)

# Imported after the hook is set, so the imports count too.
from uowgen._cli import main

main()
