"""What the built-in image models' evaluation, variety measure and contact sheets draw: the showcase and held-out
prompts, fixed seeds, each seed in the style the Image tab's Style "auto" gives it, as float pictures in [0, 1] at
the model's own size."""

from __future__ import annotations

from typing import Any

SHOWCASE = ["red apple", "smiling face", "rocket", "heart", "dog"]
HELD_OUT = [
    "a shiny red apple",
    "happy smiling face",
    "space rocket",
    "love heart",
    "a puppy",
    "a cute cat",
    "yellow star",
    "slice of pizza",
    "a red car",
    "green tree",
    "the sun",
    "tropical fish",
    "a pink flower",
    "a ghost",
    "fire",
    "a banana",
    "crying face",
    "a snowman",
    "a blue heart",
    "a house",
]
SEEDS = (0, 1, 2, 3)
PREVIOUS = " (previous)"  # the suffix of a previous built-in evaluated beside the current one


def draw(pipe: Any, prompt: str, seeds: tuple[int, ...], steps: int, guidance: float, latents: Any = None) -> Any:
    """(len(seeds), S, S, 3) float pictures in [0, 1] for one prompt, at the model's own size S, each seed in the
    style the Image tab's "auto" gives it (``image_styles``; the prompt as it is for a model without styles)."""
    import torch

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.generators.image.params import AUTO_STYLE, image_styles, with_style

    styles = image_styles(prompt, AUTO_STYLE, seeds if latents is None else seeds[:1] * len(seeds), pipe.styles)
    prompts = [with_style(prompt, s) for s in styles]
    if isinstance(pipe, EmojiDiffusionPipeline):
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        out = pipe(
            prompts,
            num_images_per_prompt=1,
            generator=gens,
            num_inference_steps=steps,
            guidance_scale=guidance,
            latents=latents,
            output_type="np",
        )
    else:
        codes = latents if latents is not None else pipe.codes(list(seeds))
        out = pipe(prompts, num_images_per_prompt=1, latents=codes, output_type="np")
    return out.images
