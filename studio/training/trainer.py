"""The training loop every technique runs in: batches, augmentation, schedule, logging, validation, samples,
checkpoints, Stop and Resume.

    train(run, params, technique, data, cancel)

1. Seed a torch generator and a numpy generator from ``params.seed``; build one optimiser per parameter group.
2. If the run has a checkpoint, restore weights, optimisers, step and both generators from it (Resume), and drop
   the logged rows past that step (they are about to be repeated, identically).
3. For each step: draw a batch of training pictures (numpy), augment it (torch), set the learning rate from the
   schedule, run the technique's step; every ``log_every`` steps append the mean of each term to
   ``metrics.jsonl``, every ``val_every`` steps the held-out loss; every ``sample_every`` a sheet of samples from
   the fixed prompt; every ``checkpoint_every`` a checkpoint. Stop (``cancel``) checkpoints and returns at the
   next step.
4. At the end: fit the sampler's statistics, save the model in the built-ins' layout into ``model/`` with its card.

Validation and samples draw from generators of their own (fixed seeds), so they never shift the training's random
sequence: a resumed run ends on exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from studio.training.augment import Augment, augment
from studio.training.checkpoint import TrainState, has_checkpoint, load_checkpoint, save_checkpoint
from studio.training.dataset import ImageData, grid, split, to_tensor
from studio.training.optimisers import build_optimiser, set_lr
from studio.training.params import TrainParams
from studio.training.run_folder import RunFolder
from studio.training.schedules import lr_factor
from studio.training.techniques.base import Batch

log = logging.getLogger(__name__)

SAMPLE_SEEDS = (0, 1, 2, 3, 4, 5, 6, 7)
VAL_BATCH = 32
FIT_PICTURES = 512
STATUS_EVERY_S = 1.0


def intervals(steps: int) -> tuple[int, int]:
    """(log_every, val_every): about 400 logged rows and up to 40 validations a run (at most one per 10 steps, so a
    short run does not spend its time on validation)."""
    return max(1, steps // 400), max(10, steps // 40)


def sample_prompt(params: TrainParams, data: ImageData) -> str:
    return params.sample_prompt or (data.captions[0] if len(data) else "")


def train(
    run: RunFolder,
    params: TrainParams,
    technique: Any,
    data: ImageData,
    cancel: threading.Event,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Train until ``params.steps`` or Stop; returns "finished" or "stopped" (see the module docstring)."""
    import torch

    gen = torch.Generator().manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    opts = {
        name: build_optimiser(params.optimizer, group, params.lr, technique.betas)
        for name, group in technique.param_groups().items()
    }
    state = TrainState(technique.modules, opts, 0, gen, rng)
    if has_checkpoint(run):
        load_checkpoint(run, state)
        run.truncate_metrics(state.step)
        log.info("run %s resumes at step %d", run.name, state.step)
    train_idx, val_idx = split(len(data), params.val_fraction, params.seed)
    caption_ids = (
        technique.table.ids(data.captions) if hasattr(technique, "table") else torch.zeros(len(data), dtype=torch.long)
    )
    aug = Augment(params.flips, params.crops, params.jitter)
    val = _val_batch(data, val_idx, caption_ids, technique) if len(val_idx) else None
    log_every, val_every = intervals(params.steps)
    prompt = sample_prompt(params, data)
    sums: dict[str, float] = {}
    count = 0
    started, last_status, start_step = time.perf_counter(), 0.0, state.step
    technique.train_mode(True)
    for step in range(state.step + 1, params.steps + 1):
        if cancel.is_set():
            state.step = step - 1
            save_checkpoint(run, state)
            return "stopped"
        lr = params.lr * lr_factor(params.schedule, step, params.steps, params.warmup_steps)
        for opt in opts.values():
            set_lr(opt, lr)
        idx = train_idx[rng.integers(0, len(train_idx), size=params.batch_size)]
        x = augment(to_tensor(data.images[idx]), aug, gen).to(technique.device)
        losses = technique.train_step(Batch(x, caption_ids[idx]), opts, gen, step, params.steps)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        state.step = step
        if step % log_every == 0 or step == params.steps:
            row: dict[str, Any] = {"step": step, "lr": lr, **{k: v / count for k, v in sums.items()}}
            if val is not None and (step % val_every == 0 or step == params.steps):
                row["val_loss"] = technique.val_loss(val, torch.Generator().manual_seed(params.seed + 1))
            run.log_metrics(row)
            sums, count = {}, 0
        if step % params.sample_every == 0 or step == params.steps:
            write_samples(run, technique, data, train_idx, prompt, step)
        if step % params.checkpoint_every == 0 and step < params.steps:
            save_checkpoint(run, state)
        now = time.perf_counter()
        if on_progress is not None and (now - last_status >= STATUS_EVERY_S or step == params.steps):
            rate = (step - start_step) / max(now - started, 1e-9)
            on_progress(
                {
                    "step": step,
                    "steps": params.steps,
                    "steps_per_s": rate,
                    "eta_s": (params.steps - step) / max(rate, 1e-9),
                }
            )
            last_status = now
    state.step = params.steps
    save_checkpoint(run, state)
    return "finished"


def _val_batch(data: ImageData, val_idx: np.ndarray, caption_ids: Any, technique: Any) -> Batch:
    """The fixed held-out batch (no augmentation): the same pictures every validation."""
    chosen = val_idx[:VAL_BATCH]
    return Batch(to_tensor(data.images[chosen]).to(technique.device), caption_ids[chosen])


def fit_pictures(data: ImageData, train_idx: np.ndarray) -> Any:
    """The training pictures (at most ``FIT_PICTURES``, evenly spread) a sampler's statistics are fitted on."""
    chosen = train_idx[:: max(1, len(train_idx) // FIT_PICTURES)][:FIT_PICTURES]
    return to_tensor(data.images[chosen])


def write_samples(
    run: RunFolder, technique: Any, data: ImageData, train_idx: np.ndarray, prompt: str, step: int
) -> None:
    """A sheet of samples from the fixed prompt and seeds into ``samples/step-N.png``."""
    import io

    from studio.training.run_folder import write_atomic

    technique.train_mode(False)
    try:
        technique.fit(fit_pictures(data, train_idx))
        images = technique.sample(prompt, list(SAMPLE_SEEDS))
    finally:
        technique.train_mode(True)
    buf = io.BytesIO()
    grid([im.resize((64, 64)) for im in images], columns=8).save(buf, format="PNG")
    write_atomic(run.path(f"samples/step-{step:07d}.png"), buf.getvalue())


def finish(run: RunFolder, technique: Any, data: ImageData, params: TrainParams) -> None:
    """Fit the sampler's statistics and save the model (built-ins' layout) with its card into ``model/``."""
    import shutil

    from studio.training.card import write_card

    train_idx, _ = split(len(data), params.val_fraction, params.seed)
    technique.train_mode(False)
    technique.fit(fit_pictures(data, train_idx))
    tmp = run.path("model.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    technique.save(tmp)
    write_card(tmp, run, params, technique)
    final = run.path("model")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
