"""The Image tab's parameters: ``ImageParams`` and the ranges each field declares (they drive the widgets and the
server-side validation alike)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from studio.generators.image.checkpoints import SCHEDULERS
from studio.generators.image.upload import open_checked
from studio.params import SEED_MAX, ParamError, param

MODES = ("txt2img", "img2img", "inpaint")
BUILTIN_SIZE = 64  # the first built-ins' size, and the size a small unconditional Train-tab model is shown at
# The emoji sets the built-in models learnt to draw in (studio/training/emoji_sources.py fetches each one).
DRAWING_STYLES = ("twemoji", "noto", "openmoji", "fluent")
AUTO_STYLE = "auto"


def with_style(prompt: str, style: str) -> str:
    """The prompt that asks a built-in model for one drawing style ("red apple, noto style"), as its training
    captions did; ``auto`` leaves the prompt alone."""
    return prompt if style == AUTO_STYLE else f"{prompt}, {style} style"


def names_style(prompt: str, styles: Sequence[str]) -> bool:
    """Whether the prompt already asks for one of ``styles`` in words ("... noto style")."""
    return any(re.search(rf"\b{re.escape(s)}\s+style\b", prompt, re.IGNORECASE) for s in styles)


def image_styles(prompt: str, style: str, seeds: Sequence[int], learnt: Sequence[str]) -> list[str]:
    """The drawing style of each image: the chosen one; with ``auto``, for a model that learnt styles, the style
    ``learnt[seed % len(learnt)]`` of each image's seed (four consecutive seeds, four styles) unless the prompt
    names one itself; ``auto`` (the prompt as it is) for a model that learnt none."""
    if style != AUTO_STYLE or not learnt or names_style(prompt, learnt):
        return [style] * len(seeds)
    return [learnt[seed % len(learnt)] for seed in seeds]


@dataclass(frozen=True)
class ImageParams:
    """Parameters of one image request.

    ``width``/``height`` of None mean the model's native size (128 for the built-ins, 512 for SD 1.5, 1024
    for SDXL). ``style`` is a built-in model's drawing style (``with_style``); models that learnt no styles
    do not use it. ``strength`` applies to image-to-image and inpainting: how far from the init image to go
    (1 = ignore it). ``init_image`` and ``mask_image`` are image file bytes (empty = none); in the mask,
    white (or painted, for a transparent brush layer) marks what to repaint.
    """

    prompt: str = param("", max_len=1000, multiline=True, label="Prompt", info='e.g. "red apple", "smiling face"')
    negative_prompt: str = param("", max_len=1000, label="Negative prompt", info="what to steer away from")
    model: str = param("", max_len=300, label="Model", info="empty = the built-in diffusion model")
    style: str = param(
        AUTO_STYLE,
        choices=(AUTO_STYLE, *DRAWING_STYLES),
        label="Style",
        info="the built-ins' drawing style: auto = each seed picks one (4 seeds, 4 styles); or always that set's",
    )
    mode: str = param("txt2img", choices=MODES, label="Mode")
    scheduler: str = param("Default", choices=SCHEDULERS, label="Scheduler", info="the sampler of diffusion models")
    num_steps: int = param(25, min=1, max=150, step=1, label="Steps")
    guidance_scale: float = param(5.0, min=0.0, max=30.0, step=0.5, label="Guidance scale", info="0-1 = off")
    width: int | None = param(None, min=64, max=2048, step=8, label="Width (px)", info="empty = the model's size")
    height: int | None = param(None, min=64, max=2048, step=8, label="Height (px)", info="empty = the model's size")
    num_images: int = param(1, min=1, max=8, step=1, label="Number of images")
    seed: int = param(-1, min=-1, max=SEED_MAX, step=1, label="Seed", info="-1 draws a random seed")
    strength: float = param(0.75, min=0.01, max=1.0, step=0.01, label="Strength", info="img2img / inpaint")
    interpolate_seed: int = param(
        -1,
        min=-1,
        max=SEED_MAX,
        step=1,
        label="Interpolate to seed",
        info="-1 = off; otherwise the images walk from the noise of Seed to this seed's",
        advanced=True,
    )
    init_image: bytes = param(b"", label="Init image (img2img / inpaint)")
    mask_image: bytes = param(b"", label="Mask (inpaint; white = repaint)")

    def check(self) -> None:
        """Cross-field checks: sizes are multiples of 8, modes have their images, uploads are safe to decode."""
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and value % 8:
                raise ParamError(name, f"must be a multiple of 8, got {value}")
        for name in ("init_image", "mask_image"):
            if not isinstance(getattr(self, name), (bytes, bytearray)):
                raise ParamError(name, "must be image file bytes (empty for none)")
        if self.mode in ("img2img", "inpaint") and not self.init_image:
            raise ParamError("init_image", f"{self.mode} needs an init image")
        if self.mode == "inpaint" and not self.mask_image:
            raise ParamError("mask_image", "inpaint needs a mask (white = repaint)")
        if self.init_image:
            open_checked("init_image", self.init_image)
        if self.mask_image:
            open_checked("mask_image", self.mask_image)


def seeds_of(params: ImageParams) -> list[int]:
    """The seed of each image: ``seed + i`` (wrapping at 2**31 - 1), so image i is reproducible alone."""
    base = max(params.seed, 0)
    return [(base + i) % (SEED_MAX + 1) for i in range(params.num_images)]
