"""Diffusers checkpoints from the local Hugging Face cache or a ``--model-dir`` folder: recognise, load, run.

- ``recognise(folder)`` reads ``model_index.json`` only (no torch import) and names the family: "sd" (SD 1.x/2.x,
  SD-Turbo, LCM), "sdxl" (SDXL, SDXL-Turbo), "sd3", "diffusers" (other text-to-image pipelines diffusers' auto
  pipelines know), or the built-in kinds. Folders without safetensors weights are skipped: nothing is unpickled.
- ``load_checkpoint`` builds the text-to-image pipeline with ``AutoPipelineForText2Image.from_pretrained`` on the
  CPU; image-to-image and inpainting pipelines are made per call with ``from_pipe`` (they share its modules, so
  no extra memory).
- ``make_scheduler(name, base)`` gives a *fresh* scheduler per call: schedulers keep per-run state
  (``set_timesteps``), so a shared instance must not be mutated while another request runs.
- ``latent_preview`` turns latents into a rough RGB picture with a fixed linear map (no VAE decode), cheap
  enough to show every few steps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEDULERS = ("Default", "DDIM", "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "UniPC")

FAMILIES = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionImg2ImgPipeline": "sd",
    "StableDiffusionInpaintPipeline": "sd",
    "LatentConsistencyModelPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl",
    "StableDiffusionXLInpaintPipeline": "sdxl",
    "StableDiffusion3Pipeline": "sd3",
    "PixArtAlphaPipeline": "diffusers",
    "PixArtSigmaPipeline": "diffusers",
    "SanaPipeline": "diffusers",
    "FluxPipeline": "diffusers",
    "EmojiDiffusionPipeline": "emoji-diffusion",
    "EmojiGANPipeline": "emoji-gan",
    "EmojiVAEPipeline": "emoji-vae",
    "StudioAutoencoderPipeline": "autoencoder",
    "StudioDBNPipeline": "dbn",
}
BUILTIN_KINDS = ("emoji-diffusion", "emoji-gan", "emoji-vae")
PIXEL_KINDS = ("autoencoder", "dbn")  # pixel models made in the Train tab (``image/pixel/``)

# Latent -> RGB factors (from the community's live-preview tables, as in ComfyUI), for 4-channel VAEs.
PREVIEW_FACTORS = {
    "sd": (
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
    "sdxl": (
        (0.3920, 0.4054, 0.4549),
        (-0.2634, -0.0196, 0.0653),
        (0.0568, 0.1687, -0.0755),
        (-0.3112, -0.2359, -0.2076),
    ),
}


def recognise(folder: Path) -> str | None:
    """The family of the diffusers pipeline in ``folder`` ("sd", "sdxl", ...) or None if it is not one."""
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        return None
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("unreadable model_index.json in %s", folder)
        return None
    kind = FAMILIES.get(str(index.get("_class_name", "")))
    if kind is None:
        return None
    if not any(folder.rglob("*.safetensors")):
        log.warning("%s has no safetensors weights; skipped (pickled weights are never loaded)", folder)
        return None
    return kind


def load_checkpoint(folder: Path, dtype: Any) -> Any:
    """The text-to-image pipeline of ``folder``, on the CPU in ``dtype``, progress bars off."""
    from diffusers import AutoPipelineForText2Image

    pipe = AutoPipelineForText2Image.from_pretrained(str(folder), dtype=dtype, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pipeline_for(base: Any, mode: str, scheduler: Any) -> Any:
    """A pipeline sharing ``base``'s modules for ``mode`` ("txt2img", "img2img", "inpaint"), with ``scheduler``."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

    auto = {
        "txt2img": AutoPipelineForText2Image,
        "img2img": AutoPipelineForImage2Image,
        "inpaint": AutoPipelineForInpainting,
    }[mode]
    pipe = auto.from_pipe(base, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def make_scheduler(name: str, base: Any) -> Any:
    """A new scheduler called ``name`` (one of ``SCHEDULERS``) configured from ``base`` (the model's own)."""
    import diffusers

    config = dict(base.config)
    if name == "Default":
        return type(base).from_config(config)
    if name == "DDIM":
        return diffusers.DDIMScheduler.from_config(config)
    if name == "Euler":
        return diffusers.EulerDiscreteScheduler.from_config(config)
    if name == "Euler a":
        return diffusers.EulerAncestralDiscreteScheduler.from_config(config)
    if name in ("DPM++ 2M", "DPM++ 2M Karras"):
        return diffusers.DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=name.endswith("Karras")
        )
    if name == "UniPC":
        return diffusers.UniPCMultistepScheduler.from_config(config)
    raise ValueError(f"scheduler {name!r} is not one of: {', '.join(SCHEDULERS)}")


def latent_preview(latents: Any, kind: str, linear: dict[str, Any] | None = None, scale: int = 8) -> Any:
    """A rough RGB ``PIL.Image`` of the first latent in the batch (linear map, no VAE), or None if unknown.

    ``linear`` (``{"weights": C×3, "bias": 3}``) overrides the table for ``kind``; the built-in model carries
    its own, fitted on its training data.
    """
    import torch
    from PIL import Image

    factors = linear["weights"] if linear else PREVIEW_FACTORS.get(kind)
    if factors is None or latents.ndim != 4 or latents.shape[1] != len(factors):
        return None
    lat = latents[0].detach().float().cpu()  # (C, h, w)
    rgb = torch.einsum("chw,cr->rhw", lat, torch.tensor(factors))  # (3, h, w) in about [-1, 1]
    if linear and linear.get("bias") is not None:
        rgb = rgb + torch.tensor(linear["bias"])[:, None, None]
    arr = ((rgb.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(arr).resize((lat.shape[2] * scale, lat.shape[1] * scale), Image.Resampling.BILINEAR)


def native_size(pipe: Any) -> int:
    """The side in pixels the checkpoint was trained at (``sample_size`` × VAE scale), 512 if unknown."""
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    sample = getattr(getattr(denoiser, "config", None), "sample_size", None)
    scale = int(getattr(pipe, "vae_scale_factor", 8) or 8)
    if isinstance(sample, (list, tuple)):
        sample = sample[0]
    return int(sample) * scale if isinstance(sample, int) else 512
