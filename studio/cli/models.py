"""``python -m studio models [--json] [--modality text]``: the models each tab (and every API) can use.

The same listing as the ``/models`` Gradio endpoint and ``/v1/models``: the id to pass as ``model``, where the
model comes from, its kind, and the params it does not use. The first model of each modality is its default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from studio.cli.common import fail
from studio.settings import Settings

MODALITIES = ("text", "image", "music", "terrain")


def add_parser(sub: Any) -> None:
    """The ``models`` subcommand."""
    p = sub.add_parser("models", help="list the models each modality can use")
    p.add_argument("--json", action="store_true", help="print JSON (modality -> list of models)")
    p.add_argument("--modality", choices=MODALITIES, default=None, help="only this modality")
    p.add_argument("--cache-dir", type=Path, default=None, help="the studio's cache folder")
    p.add_argument("--model-dir", type=Path, action="append", default=[], help="a folder of models (repeatable)")


def run(args: argparse.Namespace) -> int:
    """Print the listing as a table (or JSON)."""
    from studio.listing import listing
    from studio.services import build_services

    try:
        settings = Settings(
            **({"cache_dir": args.cache_dir} if args.cache_dir else {}), model_dirs=tuple(args.model_dir)
        )
        models = listing(build_services(settings).studio)
    except (ValueError, RuntimeError, OSError) as exc:
        return fail(exc, 1)
    if args.modality is not None:
        models = {args.modality: models.get(args.modality, [])}
    if args.json:
        print(json.dumps(models, indent=2, ensure_ascii=False))
        return 0
    for modality, entries in models.items():
        print(f"{modality}:")
        if not entries:
            print("  (none available)")
        for e in entries:
            mark = " (default)" if e["default"] else ""
            unused = f"  unused: {', '.join(e['unused'])}" if e["unused"] else ""
            print(f"  {e['id']:32s} {e['source']:10s} {e['kind']:16s} {e['label']}{mark}{unused}")
    return 0
