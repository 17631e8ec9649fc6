"""Writing a file so that a reader sees the old bytes or the new ones, never half: a temp file beside the target,
fsynced, then renamed over it (``os.replace`` is atomic within one folder). The temp file is removed on failure."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, prefix: str = ".tmp-", suffix: str = "") -> None:
    """Write ``data`` to ``path`` atomically; temp files are named ``prefix…suffix`` (sweepers know them by it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
