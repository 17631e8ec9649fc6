"""Learning-rate schedules: a factor of the base learning rate for each step, a pure function of the step.

Because the factor depends only on (step, total steps, warm-up), a resumed run needs no schedule state beyond
its step count: the learning rate after Resume is exactly what the uninterrupted run would have used.
"""

from __future__ import annotations

import math

FLOOR = 0.1  # warm-up + decay ends at 10% of the base rate (a rate of 0 would waste the last steps)


def lr_factor(schedule: str, step: int, total: int, warmup: int = 0) -> float:
    """The learning-rate factor at ``step`` (1-based) of ``total``.

    - "constant": 1.
    - "warmup-decay": linear from ~0 to 1 over ``warmup`` steps, then linear down to ``FLOOR`` at ``total``.
    - "cosine": half a cosine from 1 to 0 over ``total`` (with the same linear warm-up, if any).
    """
    if schedule == "constant":
        return 1.0
    warm = min(1.0, step / warmup) if warmup > 0 else 1.0
    if warmup and step <= warmup:
        return warm
    span = max(1, total - warmup)
    progress = min(1.0, max(0.0, (step - warmup) / span))
    if schedule == "warmup-decay":
        return 1.0 - (1.0 - FLOOR) * progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"schedule {schedule!r} is not one of: constant, warmup-decay, cosine")
