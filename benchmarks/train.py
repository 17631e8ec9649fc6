"""Training benchmark: the studio's loop against a bare torch loop on the same model and batch size, side by side;
then the time to the first sample sheet.

    python -m benchmarks.train                               # autoencoder, 150 steps, batch 16, 3 rounds
    python -m benchmarks.train --technique dbn --steps 300

Part 1 (``loop_overhead``): the bare loop is forward, loss, backward and step on a batch drawn from the same
pictures (index + tensor conversion only), nothing else. The studio's loop (``studio.training.trainer.train``) adds
its data pipeline (augmentation: flips, crops, colour jitter), the schedule, logging to ``metrics.jsonl``,
validation, a sample sheet and a checkpoint every ``--every`` steps. The two run interleaved, ``--rounds`` times
each, and the median steps/s are compared; the target is studio ≤ 1.10× the bare loop's time per step.
Part 2 (``first_sample``): seconds from creating a run (data saved, job queued) to its first sample sheet on disk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def pictures(n: int = 256) -> Any:
    """n 64×64 pictures of coloured squares on coloured grounds (seeded), with one caption each."""
    from studio.training.dataset import ImageData

    rng = np.random.default_rng(0)
    images = np.zeros((n, 64, 64, 3), np.uint8)
    for i in range(n):
        images[i] = rng.integers(0, 255, 3)
        x, y = rng.integers(0, 32, 2)
        images[i, y : y + 32, x : x + 32] = rng.integers(0, 255, 3)
    return ImageData(images, ["square"] * n)


def params(technique: str, steps: int, batch: int, every: int, name: str = "bench") -> Any:
    from studio.params import check_params
    from studio.training.params import TrainParams

    values = {"name": name, "technique": technique, "steps": steps, "batch_size": batch, "lr": 1e-3}
    values.update(crops=True, jitter=0.1, sample_every=every, checkpoint_every=every, val_fraction=0.1)
    return check_params(TrainParams, values)


def bare_loop(technique: str, data: Any, steps: int, batch: int) -> float:
    """Steps/s of forward + loss + backward + step on the technique's own networks, nothing else."""
    import torch

    from studio.settings import Settings
    from studio.training.dataset import to_tensor
    from studio.training.optimisers import build_optimiser
    from studio.training.techniques import build_technique
    from studio.training.techniques.base import Batch

    p = params(technique, steps, batch, 100_000)
    tech = build_technique(p, data.captions, Settings().assets_dir)
    opts = {k: build_optimiser("adam", g, 1e-3, tech.betas) for k, g in tech.param_groups().items()}
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    ids = torch.zeros(len(data), dtype=torch.long)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(data), size=batch)
        tech.train_step(Batch(to_tensor(data.images[idx]), ids[idx]), opts, gen, step, steps)
    return steps / (time.perf_counter() - start)


def studio_loop(technique: str, data: Any, steps: int, batch: int, every: int) -> float:
    """Steps/s of ``trainer.train`` with augmentation, logging, validation, samples and checkpoints."""
    from studio.settings import Settings
    from studio.training.run_folder import RunFolder
    from studio.training.techniques import build_technique
    from studio.training.trainer import train

    p = params(technique, steps, batch, every)
    tech = build_technique(p, data.captions, Settings().assets_dir)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunFolder(Path(tmp), "bench")
        run.dir.mkdir()
        start = time.perf_counter()
        train(run, p, tech, data, threading.Event())
        return steps / (time.perf_counter() - start)


def first_sample(technique: str, batch: int) -> float:
    """Seconds from ``Jobs.create`` to the first sample sheet (sample_every = 1)."""
    from studio.services import build_services
    from studio.settings import Settings
    from studio.training.data_check import DataReport

    data = pictures(64)
    report = DataReport(data.images, data.captions, [f"{i}.png" for i in range(64)], [(64, 64)] * 64)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = build_services(Settings(cache_dir=Path(tmp))).jobs
        assert jobs is not None
        start = time.perf_counter()
        run = jobs.create(params(technique, 50, batch, 1, name="first"), report)
        while not run.sample_paths():
            time.sleep(0.01)
        took = time.perf_counter() - start
        jobs.stop("first")
        jobs.wait("first", 60)
        return took


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--technique", default="autoencoder", choices=("autoencoder", "dbn", "gan", "vae", "diffusion"))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--every", type=int, default=50, help="samples and checkpoints every N steps (studio loop)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    data = pictures()
    bare_loop(args.technique, data, 5, args.batch)  # warm-up: imports, first allocations
    bare, ours = [], []
    for _ in range(args.rounds):
        bare.append(bare_loop(args.technique, data, args.steps, args.batch))
        ours.append(studio_loop(args.technique, data, args.steps, args.batch, args.every))
    b, s = statistics.median(bare), statistics.median(ours)
    report = {
        "loop_overhead": {
            "technique": args.technique,
            "steps": args.steps,
            "batch": args.batch,
            "every": args.every,
            "bare_steps_per_s": round(b, 2),
            "studio_steps_per_s": round(s, 2),
            "time_per_step_ratio": round(b / s, 3),
            # Each round runs the two loops back to back; the median of those paired ratios is steadier on a busy
            # machine than the ratio of the two medians.
            "paired_ratio_median": round(statistics.median(x / y for x, y in zip(bare, ours, strict=True)), 3),
            "target": "<= 1.10",
            "rounds": {"bare": [round(x, 2) for x in bare], "studio": [round(x, 2) for x in ours]},
        },
        "first_sample_s": round(first_sample(args.technique, args.batch), 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
