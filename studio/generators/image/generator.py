"""Image generator: text-to-image, image-to-image and inpainting with any diffusers checkpoint or the built-ins.

Models:

- Built-in (``assets/models/``, trained here by ``studio/training``): ``emoji-diffusion`` (latent diffusion),
  ``emoji-gan`` and ``emoji-vae``, conditioned on MiniLM sentence embeddings, each at the size of its autoencoder
  (128×128 now, 64×64 for the first ones). A requested size other than that is drawn at it and resized. A model
  whose ``model_index.json`` lists ``_styles`` learnt those drawing styles, and the ``style`` param picks one.
  GAN and VAE draw from text only (no guidance, no image-to-image), in one pass.
- Diffusers checkpoints in the local HF cache or a ``--model-dir`` folder (SD 1.x/2.x, SD-Turbo, SDXL, ...),
  through diffusers' auto pipelines (``checkpoints``).

``generate`` makes one image per seed (``seed``, ``seed + 1``, ...; with ``interpolate_seed`` set, the images
walk from the noise of ``seed`` to that of ``interpolate_seed`` instead), reports progress after every
denoising step, shows a preview every few steps and stops at the next step when Stop is pressed (``ctx``).

Placement: the memory manager decides (``place_on_device = "auto"``): the whole pipeline goes to the compute
device when it fits the budget; otherwise it stays on the CPU and, when the compute device is a GPU, runs with
diffusers' model CPU offload (one component on the GPU at a time).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from studio.fingerprint import fingerprint
from studio.generators.base import Artifact, Context, ModelSpec, Output
from studio.generators.image.checkpoints import BUILTIN_KINDS, PIXEL_KINDS, load_checkpoint, recognise
from studio.generators.image.params import ImageParams
from studio.generators.image.run import run_code_model, run_diffusion, run_pixel_model
from studio.params import ParamError

log = logging.getLogger(__name__)

BUILTIN_LABELS = {
    "emoji-diffusion": "Emoji diffusion (built-in, {size}×{size} latent diffusion{styles})",
    "emoji-gan": "Emoji GAN (built-in, {size}×{size}{styles})",
    "emoji-vae": "Emoji VAE (built-in, {size}×{size} conditional VAE{styles})",
}
STYLE_FIELDS = frozenset({"style"})
LATENT_SIDE = 16  # every built-in draws 16×16×4 latents; its autoencoder's levels set the picture size


def builtin_facts(folder: Path) -> tuple[int, tuple[str, ...]]:
    """A built-in folder's picture size (16 × its autoencoder's scale) and the drawing styles it learnt."""
    vae = json.loads((folder / "vae" / "config.json").read_text())
    index = json.loads((folder / "model_index.json").read_text())
    styles = index.get("_styles") or ()
    return LATENT_SIDE * 2 ** (len(vae["block_out_channels"]) - 1), tuple(str(s) for s in styles)


def builtin_spec(kind: str, folder: Path) -> ModelSpec:
    """The catalog entry of one built-in model, its label saying its size and how many styles it draws."""
    size, styles = builtin_facts(folder)
    label = BUILTIN_LABELS[kind].format(size=size, styles=f", {len(styles)} styles" if styles else "")
    return ModelSpec(
        id=kind,
        modality="image",
        source="builtin",
        path=str(folder),
        label=label,
        kind=kind,
        weights_hash=fingerprint(folder),
        extra=(("styles", ",".join(styles)),) if styles else (),
    )


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

        if self.assets_dir is None:
            return []
        folders = ((kind, self.assets_dir / kind) for kind in BUILTIN_KINDS)
        return [builtin_spec(kind, folder) for kind, folder in folders if recognise(folder) == kind]

    def recognise(self, folder: Path) -> str | None:
        """The kind of image model a local folder holds ("sd", "sdxl", ..., or a built-in kind), or None."""
        return recognise(folder)

    def load(self, spec: ModelSpec, device: Any = None, dtype: Any = None) -> Any:
        """Build the pipeline on the CPU (float32 on CPU, float16 for a GPU); the memory manager places it."""
        import torch

        from studio.generators.image.emoji import pipeline as emoji_pipeline
        from studio.generators.image.pixel import pipeline as pixel_pipeline

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
        pixel: dict[str, Any] = {
            "autoencoder": pixel_pipeline.StudioAutoencoderPipeline,
            "dbn": pixel_pipeline.StudioDBNPipeline,
        }
        if kind in pixel:
            pipe = pixel[kind].load(folder)
        elif kind in builtin:
            pipe = builtin[kind].load(folder)
            pipe.set_progress_bar_config(disable=True)
        else:
            if dtype is None:
                dtype = torch.float16 if compute.startswith("cuda") else torch.float32
            pipe = load_checkpoint(folder, dtype)
        pipe.studio_kind = kind
        pipe.studio_device = compute
        return pipe

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """The built-in GAN and VAE draw in one pass: no steps, scheduler, guidance or negative prompt; only a
        model that learnt drawing styles uses ``style``."""
        styles = frozenset() if dict(spec.extra).get("styles") else STYLE_FIELDS
        if spec.kind in ("emoji-gan", "emoji-vae", "autoencoder"):
            return styles | {"num_steps", "scheduler", "guidance_scale", "negative_prompt"}
        if spec.kind == "dbn":  # its Steps are Gibbs sampling rounds; a Gibbs chain has no noise to interpolate
            return styles | {"scheduler", "guidance_scale", "negative_prompt", "interpolate_seed"}
        return styles

    def generate(self, model: Any, params: ImageParams, ctx: Context) -> Output:
        """Draw ``params.num_images`` images with ``model`` (a pipeline from ``load``)."""
        kind = getattr(model, "studio_kind", "")
        if kind in PIXEL_KINDS:
            images, info = run_pixel_model(model, params, ctx, kind)
        elif kind in ("emoji-gan", "emoji-vae"):
            images, info = run_code_model(model, params, ctx)
        else:
            images, info = run_diffusion(model, params, ctx, builtin=kind == "emoji-diffusion")
        artifacts = [
            Artifact(f"image-{i + 1:02d}-seed{s}.png", png_bytes(im), "image")
            for i, (im, s) in enumerate(zip(images, info["seeds"], strict=True))
        ]
        return Output(artifacts=artifacts, info=info)
