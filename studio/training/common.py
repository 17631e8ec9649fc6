"""What every training script shares: the command line, thread and seed setup, batches, EMA, timing.

Every built-in model is reproduced by one command of the shape
``python -m studio.training.train_<model> --steps N --seed S --out assets/models/<name>``; the scripts run
on the CPU with one thread by default (the machine is shared), log to stderr and checkpoint every
``--ckpt-every`` steps so that an interrupted run still leaves usable weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def base_parser(description: str, steps: int, out: str) -> argparse.ArgumentParser:
    """The arguments every training script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--steps", type=int, default=steps, help="optimiser steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(out), help="output folder (Hugging Face layout)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--time-limit-min", type=float, default=0.0, help="stop (and save) after this many minutes")
    p.add_argument("--limit", type=int, default=None, help="use only this many emoji (smoke tests)")
    return p


def setup(args: argparse.Namespace) -> Any:
    """Threads, logging and a seeded local torch.Generator; returns the generator."""
    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.manual_seed(args.seed)  # module initialisation draws from the global generator
    return torch.Generator().manual_seed(args.seed)


def add_device_flag(p: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda``: the same command trains on this CPU or on a GPU where one is."""
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: cuda when available")


def device_of(args: argparse.Namespace) -> Any:
    """The torch device of ``--device`` (auto: the first GPU when torch sees one, else the CPU)."""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU here")
    return torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")


def batch_indices(n: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """``batch_size`` random indices in ``range(n)``."""
    return rng.integers(0, n, size=batch_size)


def to_tensor(images: np.ndarray) -> Any:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1]."""
    import torch

    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class EMA:
    """Exponential moving average of a module's parameters (the weights that get shipped)."""

    def __init__(self, module: Any, decay: float = 0.999) -> None:
        import copy

        self.decay = decay
        self.shadow = copy.deepcopy(module).eval().requires_grad_(False)
        self.updates = 0

    def update(self, module: Any) -> None:
        import torch

        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))  # warm-up: follow closely early on
        with torch.no_grad():
            for e, p in zip(self.shadow.parameters(), module.parameters(), strict=True):
                e.lerp_(p.detach(), 1.0 - d)
            for e, b in zip(self.shadow.buffers(), module.buffers(), strict=True):
                e.copy_(b)


@dataclass
class RunLog:
    """Facts about a training run that the model card reports."""

    script: str
    args: dict[str, Any]
    started: float = field(default_factory=time.time)
    steps_done: int = 0
    losses: dict[str, float] = field(default_factory=dict)

    def wall_min(self) -> float:
        return (time.time() - self.started) / 60.0

    def write(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Write the run facts as JSON (``training.json`` beside the weights)."""
        import torch

        facts = {
            "script": self.script,
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in self.args.items()},
            "steps_done": self.steps_done,
            "wall_minutes": round(self.wall_min(), 1),
            "final_losses": {k: round(v, 5) for k, v in self.losses.items()},
            "hardware": _hardware(),
            "torch": torch.__version__,
            **(extra or {}),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(facts, indent=2) + "\n")


def out_of_time(args: argparse.Namespace, run: RunLog) -> bool:
    """True once the run has used its ``--time-limit-min`` (0 = no limit)."""
    return bool(args.time_limit_min) and run.wall_min() >= args.time_limit_min


def _hardware() -> str:
    """Where the run ran, for the model card."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return f"GPU ({torch.cuda.get_device_name()}), {torch.get_num_threads()} torch CPU thread(s)"
    return f"CPU ({platform.machine()}), {torch.get_num_threads()} torch thread(s)"
