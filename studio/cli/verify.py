"""``python -m studio verify FILE... [--json]``: what each file is, in one line (or JSON), from its Content
Credentials, watermark and recipe (``studio/checker.py``). A ``NAME.c2pa`` beside a file is read as its sidecar.

Exit code 0 when every file was read (whatever it turned out to be), 1 when one could not be read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """The ``verify`` subcommand."""
    p = sub.add_parser("verify", help="say what files are: made by this studio, edited since, or not the studio's")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to check (any format)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (a list for several)")


def run(args: argparse.Namespace) -> int:
    """Check each file and print its verdict; returns 1 if any could not be read."""
    from studio.checker import check_path

    checks = [check_path(path) for path in args.files]
    if args.json:
        objs = [c.as_dict() for c in checks]
        print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, ensure_ascii=False, default=str))
    else:
        for path, c in zip(args.files, checks, strict=True):
            print(f"{path}: {c.verdict}")
    bad = any(c.verdict.startswith(("unreadable", "too large")) for c in checks)
    return 1 if bad else 0
