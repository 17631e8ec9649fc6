"""``python -m studio generate terrain --prompt "..." --seed 7 --out DIR``.

Writes the same files as the UI (recipe embedded, ``recipe.json`` beside them) and prints their paths. The flags
of each modality are its params' field names (``--size-px``, ``--water-level``), checked with the same ranges.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, get_type_hints

from studio.cli.common import fail, flag
from studio.params import ParamError, spec_of
from studio.settings import Settings


def _add_param_flags(parser: argparse.ArgumentParser, params_type: type) -> None:
    hints = get_type_hints(params_type)
    for f in dataclasses.fields(params_type):
        spec = spec_of(params_type, f.name)
        name = flag(f.name)
        kind = hints[f.name]
        help_text = spec.label or f.name
        if spec.min is not None or spec.max is not None:
            help_text += f" [{spec.min}, {spec.max}]"
        if spec.choices is not None:
            help_text += f" (one of {', '.join(map(str, spec.choices))})"
        if kind is bool:
            parser.add_argument(name, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
        else:
            parser.add_argument(name, dest=f.name, default=argparse.SUPPRESS, help=help_text)


def add_parser(sub: Any) -> None:
    """The ``generate <modality>`` subcommands, one per generator, with its params' fields as flags."""
    from studio.registry import make_generators

    gen = sub.add_parser("generate", help="generate one output")
    sub_modality = gen.add_subparsers(dest="modality", required=True)
    for modality, generator in make_generators(Settings()).items():
        p = sub_modality.add_parser(modality, help=f"generate {modality}")
        p.add_argument("--out", type=Path, required=True, help="folder to write the outputs into")
        p.add_argument("--cache-dir", type=Path, default=None, help="the studio's cache folder")
        p.add_argument("--model-dir", type=Path, action="append", default=[], help="a folder of HF-format models")
        p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
        _add_param_flags(p, generator.params_type)


def run(args: argparse.Namespace) -> int:
    """Generate one output and write its files into ``--out``; prints their paths."""
    from studio.services import build_services

    try:
        settings = Settings(
            **({"cache_dir": args.cache_dir} if args.cache_dir else {}), model_dirs=tuple(args.model_dir)
        )
        studio = build_services(settings).studio
        params_type = studio.params_type(args.modality)
        values: dict[str, Any] = {}
        hints = get_type_hints(params_type)
        for f in dataclasses.fields(params_type):
            if hasattr(args, f.name):
                values[f.name] = _coerce(getattr(args, f.name), hints[f.name], flag(f.name))
        params = studio.check(args.modality, values)
        result = studio.generate(args.modality, params, use_cache=not args.no_cache)
    except ParamError as exc:
        return fail(exc, 2)
    except (ValueError, RuntimeError, OSError) as exc:
        return fail(exc, 1)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for a in result.artifacts:
            (args.out / a.name).write_bytes(a.data)
            print(args.out / a.name)
    except OSError as exc:
        return fail(f"cannot write to --out {args.out}: {exc.strerror or exc}", 1)
    if result.text is not None:
        print(result.text, file=sys.stderr)
    source = "from cache" if result.from_cache else "generated"
    print(f"{source} in {result.elapsed_s:.2f} s, seed {result.seed}", file=sys.stderr)
    return 0


def _read_file_flag(flag_name: str, raw: str) -> bytes:
    """The bytes of the file a file flag names; an empty path means none. Raises ``ParamError`` naming the flag."""
    if not raw:
        return b""
    path = Path(raw)
    if not path.exists():
        raise ParamError(flag_name, f"file not found: {raw}")
    if not path.is_file():
        raise ParamError(flag_name, f"{raw} is not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ParamError(flag_name, f"cannot read {raw}: {exc.strerror or exc}") from None


def _coerce(raw: Any, kind: Any, flag_name: str) -> Any:
    """Turn a flag's text into the field's type where it is unambiguous; validation does the rest."""
    if not isinstance(raw, str):
        return raw
    if kind is bytes:  # file flags (--init-image, --melody-audio, ...) take a path
        return _read_file_flag(flag_name, raw)
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw
