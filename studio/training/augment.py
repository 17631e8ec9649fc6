"""Augmentation of a training batch: random horizontal flips, random crops and colour jitter.

Every random draw comes from the run's ``torch.Generator``, so a seed fixes the augmentations and a resumed run
continues the same sequence. The data check's example grid goes through this same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CROP_MIN_SCALE = 0.8


@dataclass(frozen=True)
class Augment:
    """Which augmentations a run applies (``jitter`` is the strength of brightness/contrast/saturation changes)."""

    flips: bool = True
    crops: bool = False
    jitter: float = 0.0


def augment(x: Any, aug: Augment, gen: Any) -> Any:
    """``x`` (B, 3, H, W) in [-1, 1] with the augmentations of ``aug`` drawn from ``gen``; same shape and range."""
    import torch

    b = x.shape[0]
    if aug.flips:
        mask = torch.rand(b, generator=gen) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    if aug.crops:
        x = _random_crops(x, gen)
    if aug.jitter > 0:
        x = _jitter(x, aug.jitter, gen)
    return x


def _random_crops(x: Any, gen: Any) -> Any:
    """A random square crop of each picture (side a CROP_MIN_SCALE..1 share of the side), resized back: one
    batched ``grid_sample`` (bilinear) instead of a loop over pictures."""
    import torch
    from torch.nn import functional

    b = x.shape[0]
    scales = CROP_MIN_SCALE + (1 - CROP_MIN_SCALE) * torch.rand(b, generator=gen)  # (B,)
    offsets = (2 * torch.rand(b, 2, generator=gen) - 1) * (1 - scales)[:, None]  # centre within the picture
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scales
    theta[:, 1, 1] = scales
    theta[:, :, 2] = offsets
    grid = functional.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _jitter(x: Any, strength: float, gen: Any) -> Any:
    """Brightness, contrast and saturation each scaled by a factor in [1 - strength, 1 + strength]."""
    import torch

    b = x.shape[0]
    factors = 1 + strength * (2 * torch.rand(b, 3, generator=gen) - 1)  # (B, 3)
    img = (x + 1) / 2  # [0, 1]
    img = img * factors[:, 0, None, None, None]
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = (img - mean) * factors[:, 1, None, None, None] + mean
    grey = img.mean(dim=1, keepdim=True)
    img = (img - grey) * factors[:, 2, None, None, None] + grey
    return img.clamp(0, 1) * 2 - 1
