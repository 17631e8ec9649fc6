"""Variety: how different the pictures of one prompt are across seeds, against how different real drawings of one
emoji are across styles, measured the same way.

Both are a mean pairwise distance between pictures of one caption: RMS pixel difference in [0, 1] on white at
32×32 (average-pooled, so the 64 px and 128 px models are measured alike). For a model, the pictures of one prompt
are its four seeds; for the reference, the same emoji drawn by Twemoji, Noto, OpenMoji and Fluent
(``emoji_styles``). A model whose seeds differ as much as real styles do scores 1; one that draws one picture four
times scores 0. Issue 17's target: at least 0.75.

    python -m studio.training.variety --assets assets/models   # the built-ins' variety beside the styles'
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SIDE = 32


def pooled(images: np.ndarray, side: int = SIDE) -> np.ndarray:
    """(N, H, W, 3) pictures (uint8 or floats in [0, 1]) average-pooled to (N, side, side, 3) floats in [0, 1]."""
    x = images.astype(np.float32)
    if x.max() > 1.5:
        x = x / 255.0
    n, h, w, c = x.shape
    if h % side or w % side:
        raise ValueError(f"{h}×{w} pictures do not pool evenly to {side}×{side}")
    return x.reshape(n, side, h // side, side, w // side, c).mean(axis=(2, 4))


def spread(pictures: np.ndarray) -> float:
    """Mean pairwise RMS difference between the pictures of one caption (0 for one picture or copies)."""
    x = pooled(pictures)
    pairs = list(itertools.combinations(range(len(x)), 2))
    if not pairs:
        return 0.0
    return float(np.mean([np.sqrt(((x[i] - x[j]) ** 2).mean()) for i, j in pairs]))


def style_variety(images: np.ndarray, captions: list[str], min_styles: int = 4) -> float:
    """Mean ``spread`` over the captions drawn in at least ``min_styles`` styles (one picture per style)."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, caption in enumerate(captions):
        rows[caption].append(i)
    spreads = [spread(images[r]) for r in rows.values() if len(r) >= min_styles]
    if not spreads:
        raise ValueError(f"no caption is drawn in {min_styles} styles")
    return float(np.mean(spreads))


def seed_variety(draw: Any, prompts: list[str], seeds: tuple[int, ...]) -> float:
    """Mean ``spread`` of ``draw(prompt, seeds)`` (an (S, H, W, 3) array per prompt) over ``prompts``."""
    return float(np.mean([spread(np.asarray(draw(p, seeds))) for p in prompts]))


def main(argv: list[str] | None = None) -> None:
    """Print each built-in diffusion model's seed variety, the styles' variety and their ratio."""
    import torch

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.training.emoji_styles import load
    from studio.training.image_draw import HELD_OUT, SEEDS, SHOWCASE, draw

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=Path, default=Path("assets/models"))
    p.add_argument("--model", action="append", default=None, help="diffusion model folder(s) under --assets")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO)
    styles = load(size=128)  # the training cache; pooled to 32×32 like the models
    reference = style_variety(styles.images, styles.captions)
    print(f"{'real styles of one emoji':40s} {reference:.4f}")
    for name in args.model or ["emoji-diffusion"]:
        pipe = EmojiDiffusionPipeline.load(args.assets / name)
        pipe.set_progress_bar_config(disable=True)
        ours = seed_variety(partial(draw, pipe, steps=args.steps, guidance=args.guidance), SHOWCASE + HELD_OUT, SEEDS)
        print(f"{name + ' (4 seeds of a prompt)':40s} {ours:.4f}  ratio {ours / reference:.2f}")


if __name__ == "__main__":
    main()
