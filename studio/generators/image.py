"""Image generator: text-to-image, image-to-image and inpainting with any diffusers checkpoint or the built-ins.

Models:

- Built-in (``assets/models/``, trained here by ``studio/training``): ``emoji-diffusion`` (latent diffusion),
  ``emoji-gan`` and ``emoji-vae``, all 64×64 and conditioned on MiniLM sentence embeddings. A requested size
  other than 64×64 is drawn at 64×64 and resized. GAN and VAE draw from text only (no guidance, no
  image-to-image), in one pass.
- Diffusers checkpoints in the local HF cache or a ``--model-dir`` folder (SD 1.x/2.x, SD-Turbo, SDXL, ...),
  through diffusers' auto pipelines (``image_checkpoints``).

``generate`` makes one image per seed (``seed``, ``seed + 1``, ...; with ``interpolate_seed`` set, the images
walk from the noise of ``seed`` to that of ``interpolate_seed`` instead), reports progress after every
denoising step, shows a preview every few steps and stops at the next step when Stop is pressed (``ctx``).

Placement: the memory manager decides (``place_on_device = "auto"``): the whole pipeline goes to the compute
device when it fits the budget; otherwise it stays on the CPU and, when the compute device is a GPU, runs with
diffusers' model CPU offload (one component on the GPU at a time).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.generators.base import Artifact, Context, ModelSpec, Output
from studio.generators.image_checkpoints import BUILTIN_KINDS, SCHEDULERS, recognise
from studio.generators.image_upload import open_checked
from studio.params import SEED_MAX, ParamError, param

log = logging.getLogger(__name__)

MODES = ("txt2img", "img2img", "inpaint")
BUILTIN_SIZE = 64
BUILTIN_LABELS = {
    "emoji-diffusion": "Emoji diffusion (built-in, 64×64 latent diffusion)",
    "emoji-gan": "Emoji GAN (built-in, 64×64)",
    "emoji-vae": "Emoji VAE (built-in, 64×64 conditional VAE)",
}


@dataclass(frozen=True)
class ImageParams:
    """Parameters of one image request.

    ``width``/``height`` of None mean the model's native size (64 for the built-ins, 512 for SD 1.5, 1024
    for SDXL). ``strength`` applies to image-to-image and inpainting: how far from the init image to go
    (1 = ignore it). ``init_image`` and ``mask_image`` are image file bytes (empty = none); in the mask,
    white (or painted, for a transparent brush layer) marks what to repaint.
    """

    prompt: str = param("", max_len=1000, multiline=True, label="Prompt", info='e.g. "red apple", "smiling face"')
    negative_prompt: str = param("", max_len=1000, label="Negative prompt", info="what to steer away from")
    model: str = param("", max_len=300, label="Model", info="empty = the built-in diffusion model")
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


def png_bytes(image: Any) -> bytes:
    """A PIL image as PNG bytes (the engine adds the recipe chunks)."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class ImageGenerator:
    """The Image tab's generator (see the module docstring)."""

    modality = "image"
    params_type = ImageParams
    place_on_device = "auto"

    def __init__(self, assets_dir: Path | None = None) -> None:
        self.assets_dir = assets_dir

    def models(self) -> list[ModelSpec]:
        """The built-in models present in ``assets_dir``, diffusion first."""
        from studio.catalog import folder_fingerprint

        if self.assets_dir is None:
            return []
        specs = []
        for kind in BUILTIN_KINDS:
            folder = self.assets_dir / kind
            if recognise(folder) == kind:
                specs.append(
                    ModelSpec(
                        id=kind,
                        modality="image",
                        source="builtin",
                        path=str(folder),
                        label=BUILTIN_LABELS[kind],
                        kind=kind,
                        weights_hash=folder_fingerprint(folder),
                    )
                )
        return specs

    def recognise(self, folder: Path) -> str | None:
        """The kind of image model a local folder holds ("sd", "sdxl", ..., or a built-in kind), or None."""
        return recognise(folder)

    def load(self, spec: ModelSpec, device: Any = None, dtype: Any = None) -> Any:
        """Build the pipeline on the CPU (float32 on CPU, float16 for a GPU); the memory manager places it."""
        import torch

        from studio.generators import emoji_pipeline, image_checkpoints

        if spec.path is None:
            raise ParamError("model", f"{spec.id} has no folder")
        folder = Path(spec.path)
        kind = spec.kind or recognise(folder) or ""
        compute = str(device or "cpu")
        builtin: dict[str, Any] = {
            "emoji-diffusion": emoji_pipeline.EmojiDiffusionPipeline,
            "emoji-gan": emoji_pipeline.EmojiGANPipeline,
            "emoji-vae": emoji_pipeline.EmojiVAEPipeline,
        }
        if kind in builtin:
            pipe = builtin[kind].load(folder)
            pipe.set_progress_bar_config(disable=True)
        else:
            if dtype is None:
                dtype = torch.float16 if compute.startswith("cuda") else torch.float32
            pipe = image_checkpoints.load_checkpoint(folder, dtype)
        pipe.studio_kind = kind
        pipe.studio_device = compute
        return pipe

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """The built-in GAN and VAE draw in one pass: no steps, scheduler, guidance or negative prompt."""
        if spec.kind in ("emoji-gan", "emoji-vae"):
            return frozenset({"num_steps", "scheduler", "guidance_scale", "negative_prompt"})
        return frozenset()

    def generate(self, model: Any, params: ImageParams, ctx: Context) -> Output:
        """Draw ``params.num_images`` images with ``model`` (a pipeline from ``load``)."""
        from studio.generators import image_run

        kind = getattr(model, "studio_kind", "")
        if kind in ("emoji-gan", "emoji-vae"):
            images, info = image_run.run_code_model(model, params, ctx)
        else:
            images, info = image_run.run_diffusion(model, params, ctx, builtin=kind == "emoji-diffusion")
        artifacts = [
            Artifact(f"image-{i + 1:02d}-seed{s}.png", png_bytes(im), "image")
            for i, (im, s) in enumerate(zip(images, info["seeds"], strict=True))
        ]
        return Output(artifacts=artifacts, info=info)
