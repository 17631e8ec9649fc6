"""The built-in image models' contact sheets for the docs and the README: showcase prompts × models, held-out
prompts × four seeds (new model beside the previous one), and latent walks between two seeds.

Each sheet is drawn with ``image_draw.draw`` (fixed seeds, 25 DDIM steps, guidance 5 by default), so running
``python -m studio.training.evaluate_image`` again gives the same pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.image_draw import PREVIOUS, SEEDS, draw

TILE = 96


def _tile(arr: np.ndarray, size: int) -> Any:
    from PIL import Image

    im = Image.fromarray((arr * 255).round().astype(np.uint8))
    return im.resize((size, size), Image.Resampling.LANCZOS if im.width > size else Image.Resampling.NEAREST)


def _label(model: str) -> str:
    return model.replace("emoji-", "")


def sample_grid(
    pipes: dict[str, Any], models: Sequence[str], prompts: Sequence[str], steps: int, guidance: float, out: Path
) -> None:
    """A row per prompt; three seeds of each model (then of each previous model), then the untrained diffusion."""
    from PIL import Image, ImageDraw

    names = [m for m in models if m in pipes] + [m + PREVIOUS for m in models if m + PREVIOUS in pipes]
    columns = [(m, s) for m in names for s in SEEDS[:3]]
    if "emoji-diffusion/untrained" in pipes:
        columns.append(("emoji-diffusion/untrained", SEEDS[0]))
    left, top = 110, 34
    sheet = Image.new("RGB", (left + TILE * len(columns), top + TILE * len(prompts)), "white")
    pen = ImageDraw.Draw(sheet)
    for c, (model, _) in enumerate(columns):
        if c == 0 or columns[c - 1][0] != model:
            pen.text((left + c * TILE + 4, 8), _label(model), fill=(40, 40, 40))
    for r, prompt in enumerate(prompts):
        pen.text((6, top + r * TILE + TILE // 2 - 6), prompt, fill=(20, 20, 20))
        for c, (model, seed) in enumerate(columns):
            picture = draw(pipes[model], prompt, (seed,), steps, guidance)[0]
            sheet.paste(_tile(picture, TILE), (left + c * TILE, top + r * TILE))
    sheet.save(out)


def seed_grid(pipes: dict[str, Any], prompts: Sequence[str], steps: int, guidance: float, out: Path) -> None:
    """The README's sheet: a row per held-out prompt, the four seeds of the diffusion model, then the previous
    model's four seeds of the same prompt (each at 128 px: the previous model's 64 px pictures enlarged)."""
    from PIL import Image, ImageDraw

    names = [m for m in ("emoji-diffusion", "emoji-diffusion" + PREVIOUS) if m in pipes]
    tile, left, top, gap = 128, 130, 30, 16
    width = left + len(names) * (len(SEEDS) * tile + gap)
    sheet = Image.new("RGB", (width, top + tile * len(prompts)), "white")
    pen = ImageDraw.Draw(sheet)
    for k, model in enumerate(names):
        x0 = left + k * (len(SEEDS) * tile + gap)
        pen.text((x0 + 4, 8), f"{_label(model)}: seeds {', '.join(map(str, SEEDS))}", fill=(40, 40, 40))
        for r, prompt in enumerate(prompts):
            pictures = draw(pipes[model], prompt, SEEDS, steps, guidance)
            for c, arr in enumerate(pictures):
                sheet.paste(_tile(arr, tile), (x0 + c * tile, top + r * tile))
    for r, prompt in enumerate(prompts):
        pen.text((6, top + r * tile + tile // 2 - 6), prompt, fill=(20, 20, 20))
    sheet.save(out)


def interpolation_strip(
    pipes: dict[str, Any], models: Sequence[str], steps: int, guidance: float, out: Path, frames: int = 8
) -> None:
    """Each model walks from seed 1 to seed 2 (slerp of its noise), "smiling face"."""
    import torch
    from PIL import Image, ImageDraw

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline, slerp

    rows = [m for m in models if m in pipes]
    tile, left = 80, 90
    sheet = Image.new("RGB", (left + tile * frames, tile * len(rows)), "white")
    pen = ImageDraw.Draw(sheet)
    for r, model in enumerate(rows):
        pipe = pipes[model]
        if isinstance(pipe, EmojiDiffusionPipeline):
            side = int(pipe.unet.config.sample_size)
            shape: tuple[int, ...] = (1, int(pipe.unet.config.in_channels), side, side)
        else:
            shape = pipe.code_shape(1)
        a, b = (torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
        walk = torch.cat([slerp(a, b, i / (frames - 1)) for i in range(frames)])
        pictures = draw(pipe, "smiling face", tuple(range(frames)), steps, guidance, latents=walk)
        pen.text((6, r * tile + tile // 2 - 6), _label(model), fill=(20, 20, 20))
        for c, arr in enumerate(pictures):
            sheet.paste(_tile(arr, tile), (left + c * tile, r * tile))
    sheet.save(out)
