"""``python -m studio train image --data DIR --technique autoencoder --steps 200 --name NAME``.

Checks the data (a folder or a zip; every refused file is printed with its reason), then trains in the foreground
through the same job runner and memory manager as the Train tab, printing progress; the finished model is in the
cache folder's ``training/NAME/model`` and ``python -m studio generate image --model NAME`` uses it. Ctrl+C stops
the run after a checkpoint; ``--resume`` continues a stopped run exactly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.cli.common import fail
from studio.training.params import DEFAULT_LR, OPTIMISERS, SCHEDULES, TECHNIQUES


def add_parser(sub: Any) -> None:
    """The ``train image`` subcommand."""
    train = sub.add_parser("train", help="train a model of your own")
    modality = train.add_subparsers(dest="modality", required=True)
    p = modality.add_parser("image", help="train an image model on a folder or zip of pictures")
    p.add_argument("--data", type=Path, default=None, help="a folder or a zip of pictures (captions: see docs)")
    p.add_argument("--example", choices=("fashion-mnist", "twemoji"), default=None, help="use example data instead")
    p.add_argument("--example-limit", type=int, default=1000, help="how many example pictures (default 1000)")
    p.add_argument("--technique", choices=TECHNIQUES, default="autoencoder")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--name", required=True, help="the new model's name (a-z, 0-9, '.', '-', '_')")
    p.add_argument("--base", default=None, help="start from a built-in model (emoji-gan, emoji-vae; diffusion: always)")
    p.add_argument("--optimizer", choices=OPTIMISERS, default="adam")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the technique's)")
    p.add_argument("--schedule", choices=SCHEDULES, default="constant")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-flips", action="store_true", help="no random horizontal flips")
    p.add_argument("--crops", action="store_true", help="random crops")
    p.add_argument("--jitter", type=float, default=0.0, help="colour jitter strength (0-0.5)")
    p.add_argument("--sample-every", type=int, default=50)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--licence", default="", help="the data's licence or source, for the model card")
    p.add_argument("--resume", action="store_true", help="continue the stopped run called --name")
    p.add_argument("--cache-dir", type=Path, default=None, help="the studio's cache folder")


def _values(args: argparse.Namespace) -> dict[str, Any]:
    base = "scratch"
    if args.base:
        expected = {"gan": "emoji-gan", "vae": "emoji-vae", "diffusion": "emoji-diffusion"}.get(args.technique)
        if args.base != expected:
            raise ValueError(
                f"--base {args.base}: the {args.technique} technique can start from {expected or 'scratch only'}"
            )
        base = "builtin"
    return {
        "name": args.name,
        "technique": args.technique,
        "base": base,
        "optimizer": args.optimizer,
        "lr": args.lr if args.lr is not None else DEFAULT_LR[args.technique],
        "schedule": args.schedule,
        "warmup_steps": args.warmup_steps,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "flips": not args.no_flips,
        "crops": args.crops,
        "jitter": args.jitter,
        "seed": args.seed,
        "sample_every": args.sample_every,
        "checkpoint_every": args.checkpoint_every,
        "licence": args.licence or (f"example data: {args.example}" if args.example else ""),
    }


def run(args: argparse.Namespace) -> int:
    """Check the data, train, and print where the model is."""
    from studio.params import ParamError, check_params
    from studio.services import build_services
    from studio.settings import Settings
    from studio.training.data_check import DataError, check_path
    from studio.training.examples import example_data
    from studio.training.params import TrainParams

    try:
        services = build_services(Settings(**({"cache_dir": args.cache_dir} if args.cache_dir else {})))
        jobs = services.jobs
        assert jobs is not None
        if not args.resume:
            params = check_params(TrainParams, _values(args))
            if (args.data is None) == (args.example is None):
                raise ParamError("--data", "give a folder or zip with --data, or --example (not both)")
            report = check_path(args.data) if args.data else example_data(str(args.example), args.example_limit)
            print(f"data: {report.usable} usable picture(s) from {report.source}", file=sys.stderr)
            for refused in report.refused:
                print(f"  refused {refused.name}: {refused.reason}", file=sys.stderr)
            jobs.create(params, report)
        else:
            jobs.resume(args.name)
    except (ParamError, DataError, ValueError) as exc:
        return fail(exc, 2)
    state = _follow(jobs, args.name)
    info = jobs.info(args.name)
    if state == "finished":
        print(jobs.folder(args.name).path("model"))
        print(
            f"finished {info.steps} steps; use it: python -m studio generate image --model {args.name}", file=sys.stderr
        )
        return 0
    if state == "stopped":
        print(f"stopped at step {info.step}; continue with --resume --name {args.name}", file=sys.stderr)
        return 1
    return fail(f"training failed: {info.error}", 1)


def _follow(jobs: Any, name: str) -> str:
    """Print progress until the run ends; Ctrl+C stops it after a checkpoint."""
    import time

    last = -1
    try:
        while True:
            info = jobs.info(name)
            if info.state not in ("queued", "running"):
                return str(info.state)
            if info.step != last and info.step:
                print(
                    f"step {info.step}/{info.steps} · {info.steps_per_s:.1f} steps/s · ETA {info.eta_s:.0f} s",
                    file=sys.stderr,
                )
                last = info.step
            time.sleep(1.0)
    except KeyboardInterrupt:
        jobs.stop(name)
        return jobs.wait(name)
