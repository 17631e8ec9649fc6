"""Run a decoder on hostile bytes in a fresh interpreter and measure how much its peak memory grew."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import pathlib, resource, sys
{setup}
data = pathlib.Path(sys.argv[1]).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    outcome = repr({call})
except Exception as exc:
    outcome = type(exc).__name__ + ": " + str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
print(outcome)
"""


def peak_growth(setup: str, call: str, data: bytes, tmp_path: Path) -> tuple[float, str]:
    """(growth of the max RSS in MB while ``call`` ran on ``data``, ``repr`` of its result or ``Type: message``).

    ``setup`` runs first, outside the measurement: it imports what ``call`` needs and should warm it up on a
    harmless input, so that only the hostile input's own cost is measured. A fresh process keeps the test
    suite's own high-water mark out of the figure.
    """
    path = tmp_path / "hostile.bin"
    path.write_bytes(data)
    script = SCRIPT.format(setup=textwrap.dedent(setup), call=call)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60, cwd=root, check=True
    )
    growth, outcome = proc.stdout.strip().split("\n", 1)
    return float(growth), outcome
