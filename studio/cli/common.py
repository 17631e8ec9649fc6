"""What every command shares: how a failure is printed and which exit code it gets."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def fail(problem: Exception | str, code: int) -> int:
    """Print ``error: ...`` (no traceback; it is logged at debug level) and return the exit ``code``.

    2 is a bad parameter or flag; 1 is a failure while running the command or writing its outputs.
    """
    log.debug("the command failed", exc_info=isinstance(problem, Exception))
    text = str(problem) or type(problem).__name__
    print(f"error: {text}", file=sys.stderr)
    return code


def flag(name: str) -> str:
    """The command-line flag of a params field: ``size_px`` -> ``--size-px``."""
    return "--" + name.replace("_", "-")
