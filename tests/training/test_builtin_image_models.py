"""The shipped built-in diffusion model follows the five prompts the Image issue names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "models"
# The showcase prompts and the Twemoji file each one names (the training picture captioned so).
SHOWCASE = {"red apple": "1f34e", "smiling face": "263a", "rocket": "1f680", "heart": "2764", "dog": "1f415"}
SEEDS = (0, 1, 2)


def pooled(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, 3) in [0, 1] -> (N, 3072): 32×32 average-pooled RGB, the evaluation's pixel features."""
    n = len(images)
    return images.reshape(n, 32, 2, 32, 2, 3).mean(axis=(2, 4)).reshape(n, -1)


def nearest_showcase(pipe, prompt: str, refs: np.ndarray) -> list[int]:
    import torch

    out = pipe(
        prompt,
        num_images_per_prompt=len(SEEDS),
        generator=[torch.Generator().manual_seed(s) for s in SEEDS],
        num_inference_steps=25,
        output_type="np",
    ).images
    d = ((pooled(out)[:, None, None, :] - refs[None]) ** 2).sum(-1)  # (seeds, prompts, 2 = as drawn / mirrored)
    return d.min(-1).argmin(-1).tolist()


def test_each_showcase_prompt_draws_its_own_emoji() -> None:
    """Every seed's picture is nearer the prompt's own Twemoji (or its mirror image) than any of the other four.

    An untrained copy lands on one of them at chance (1 in 5); the model shipped before the token-state UNet
    missed "rocket" and "dog" this way.
    """
    import torch

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.training.emoji_data import load_rgb, twemoji_dir

    torch.manual_seed(0)
    pictures = np.stack([load_rgb(twemoji_dir() / f"{stem}.png") for stem in SHOWCASE.values()]) / 255.0
    refs = np.stack([pooled(pictures), pooled(pictures[:, :, ::-1])], axis=1)  # (prompts, 2, 3072)
    pipe = EmojiDiffusionPipeline.load(ASSETS / "emoji-diffusion")
    pipe.set_progress_bar_config(disable=True)
    got = {prompt: nearest_showcase(pipe, prompt, refs) for prompt in SHOWCASE}
    assert got == {prompt: [i] * len(SEEDS) for i, prompt in enumerate(SHOWCASE)}
