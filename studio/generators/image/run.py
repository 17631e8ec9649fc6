"""One image request through a loaded pipeline: placement, scheduler, noise, progress/preview/Stop, resizing.

``run_diffusion`` serves the built-in latent diffusion model and every diffusers checkpoint (text-to-image,
image-to-image, inpainting); ``run_code_model`` serves the built-in GAN and VAE (one pass, text only). Both
return the PIL images and the facts the recipe records (``info``).

Nothing here mutates the shared pipeline's settings: each call gets a fresh scheduler and a light pipeline
object that shares the loaded modules (``from_pipe`` / the constructor), so concurrent requests cannot change
each other's sampler.
"""

from __future__ import annotations

import logging
from typing import Any

from studio.generators.base import Context
from studio.generators.image.checkpoints import latent_preview, make_scheduler, native_size, pipeline_for
from studio.generators.image.params import AUTO_STYLE, BUILTIN_SIZE, ImageParams, image_styles, seeds_of, with_style
from studio.generators.image.upload import open_checked, to_mask, to_rgb
from studio.params import ParamError

log = logging.getLogger(__name__)

PREVIEWS_PER_RUN = 6


def initial_noise(shape: tuple[int, ...], params: ImageParams) -> Any:
    """The starting noise, one row per image: each seed's own, or a slerp walk to ``interpolate_seed``'s.

    Drawn on the CPU so a seed gives the same picture on any device. Returns None when the pipeline can draw
    its own (no interpolation): it then gets one ``torch.Generator`` per seed instead.
    """
    import torch

    from studio.generators.image.emoji.pipeline import slerp

    if params.interpolate_seed < 0 or params.num_images < 2:
        return None
    one = (1, *shape[1:])
    a = torch.randn(one, generator=torch.Generator().manual_seed(seeds_of(params)[0]))
    b = torch.randn(one, generator=torch.Generator().manual_seed(params.interpolate_seed))
    n = params.num_images
    return torch.cat([slerp(a, b, i / (n - 1)) for i in range(n)])


def styled_prompts(pipe: Any, params: ImageParams) -> tuple[list[str], list[str]]:
    """(prompt, style) of each image for a built-in model (``params.image_styles``); an interpolation keeps the
    starting seed's style for the whole walk."""
    seeds = seeds_of(params)
    if params.interpolate_seed >= 0:
        seeds = seeds[:1] * len(seeds)
    styles = image_styles(params.prompt, params.style, seeds, getattr(pipe, "styles", ()))
    return [with_style(params.prompt, s) for s in styles], styles


def generators_for(params: ImageParams) -> list[Any]:
    """One CPU ``torch.Generator`` per image, seeded ``seed + i``."""
    import torch

    return [torch.Generator("cpu").manual_seed(s) for s in seeds_of(params)]


def resized(images: list[Any], params: ImageParams, native: int) -> list[Any]:
    """Images drawn at the built-in's native size, resized to the requested width/height if any."""
    from PIL import Image

    width, height = params.width or native, params.height or native
    if (width, height) == (native, native):
        return images
    return [im.resize((width, height), Image.Resampling.LANCZOS) for im in images]


class Placement:
    """Run a pipeline where the memory manager left it: on the device, or CPU-offloaded to a GPU for one call.

    The memory manager moves a pipeline that fits its budget to the compute device; one that does not fit
    stays on the CPU, and on a GPU machine we then run it with diffusers' model CPU offload (each component
    moved to the GPU only while it runs) and remove the hooks afterwards.
    """

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.compute = str(getattr(pipe, "studio_device", "cpu"))
        self.mode = "cpu"

    def __enter__(self) -> str:
        if not self.compute.startswith("cuda"):
            self.mode = "cpu"
        elif self.pipe.device.type == "cuda":
            self.mode = "device"
        else:
            self.pipe.enable_model_cpu_offload(device=self.compute)
            self.mode = "cpu-offload"
        return self.mode

    def __exit__(self, *exc: object) -> None:
        if self.mode == "cpu-offload":
            self.pipe.remove_all_hooks()


def _callback(ctx: Context, expected: int, preview: Any) -> Any:
    """A ``callback_on_step_end`` reporting progress (which raises ``Cancelled`` on Stop) and previews."""

    def on_step(pipe: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        total = int(getattr(pipe, "_num_timesteps", 0) or expected)
        done = i + 1
        every = max(1, total // PREVIEWS_PER_RUN)
        if done % every == 0 and done < total and "latents" in tensors:
            image = preview(tensors["latents"])
            if image is not None:
                ctx.preview(image, done, total)
        ctx.progress(done, total, f"step {done}/{total}")
        return tensors

    return on_step


def run_diffusion(pipe: Any, params: ImageParams, ctx: Context, builtin: bool) -> tuple[list[Any], dict[str, Any]]:
    """Text-to-image, image-to-image or inpainting with a diffusion pipeline; returns (images, info)."""
    import torch

    kind = str(getattr(pipe, "studio_kind", ""))
    scheduler = make_scheduler(params.scheduler, pipe.scheduler)
    if builtin:
        from studio.generators.image.emoji.pipeline import decode_latents, to_output

        run_pipe = pipe.replacing(scheduler=scheduler)
        run_pipe.set_progress_bar_config(disable=True)
        width = height = native = native_size(pipe)  # 128 (64 for the first built-ins); drawn there, then resized
        linear = getattr(pipe, "latent_rgb", None)

        def preview(latents: Any) -> Any:
            if linear:  # the fitted linear map: microseconds, where a VAE decode costs milliseconds per preview
                return latent_preview(latents, kind, linear, scale=run_pipe.vae_scale_factor)
            with torch.no_grad():
                return to_output(decode_latents(run_pipe.vae, latents[:1]), "pil")[0]

    else:
        run_pipe = pipeline_for(pipe, params.mode, scheduler)
        native = native_size(pipe)
        width, height = params.width or native, params.height or native

        def preview(latents: Any) -> Any:
            return latent_preview(latents, kind)

    kwargs: dict[str, Any] = {}
    if params.mode != "txt2img":
        kwargs["image"] = to_rgb(open_checked("init_image", params.init_image)).resize((width, height))
        kwargs["strength"] = params.strength
        if params.mode == "inpaint":
            kwargs["mask_image"] = to_mask(open_checked("mask_image", params.mask_image)).resize((width, height))
    scale = int(getattr(run_pipe, "vae_scale_factor", 8) or 8)
    denoiser = getattr(run_pipe, "unet", None) or getattr(run_pipe, "transformer", None)
    channels = int(getattr(denoiser.config, "in_channels", 4)) if denoiser is not None else 4
    if params.mode == "txt2img":
        noise = initial_noise((params.num_images, channels, height // scale, width // scale), params)
        if noise is not None:
            kwargs["latents"] = noise
    expected = params.num_steps
    if params.mode != "txt2img":  # image-to-image runs the last ``strength`` share of the schedule
        expected = max(1, min(int(params.num_steps * params.strength), params.num_steps))
    prompt: str | list[str] = params.prompt
    per_prompt = params.num_images
    styles: list[str] = []
    if builtin:  # one prompt per image: each may ask for its own style
        prompt, styles = styled_prompts(pipe, params)
        per_prompt = 1
    with Placement(pipe) as placement:
        out = run_pipe(
            prompt=prompt,
            negative_prompt=params.negative_prompt or None,
            height=height,
            width=width,
            num_inference_steps=params.num_steps,
            guidance_scale=params.guidance_scale,
            num_images_per_prompt=per_prompt,
            generator=generators_for(params),
            callback_on_step_end=_callback(ctx, expected, preview),
            callback_on_step_end_tensor_inputs=["latents"],
            **kwargs,
        )
    images = list(out.images)
    if builtin:
        images = resized(images, params, native)
    info = {
        "seeds": seeds_of(params),
        "scheduler": type(scheduler).__name__,
        "native_size": native,
        "size": [images[0].width, images[0].height],
        "placement": placement,
        **({"styles": styles} if any(s != AUTO_STYLE for s in styles) else {}),
    }
    return images, info


def run_code_model(pipe: Any, params: ImageParams, ctx: Context) -> tuple[list[Any], dict[str, Any]]:
    """The built-in GAN or VAE: one pass from (noise code, prompt) to pictures; returns (images, info)."""
    if params.mode != "txt2img":
        raise ParamError(
            "mode", "the built-in GAN and VAE draw from text only; use emoji-diffusion or a diffusers checkpoint"
        )
    ctx.progress(0, 1, "drawing")
    codes = initial_noise(pipe.code_shape(params.num_images), params)
    if codes is None:
        codes = pipe.codes(seeds_of(params))
    with Placement(pipe) as placement:
        prompts, styles = styled_prompts(pipe, params)
        out = pipe(prompt=prompts, num_images_per_prompt=1, latents=codes)
    ctx.progress(1, 1, "done")
    native = out.images[0].width  # the size its autoencoder decodes to
    images = resized(list(out.images), params, native)
    info = {
        "seeds": seeds_of(params),
        "native_size": native,
        "size": [images[0].width, images[0].height],
        "placement": placement,
        "note": "GAN/VAE models use neither steps, scheduler, guidance nor the negative prompt",
        **({"styles": styles} if any(s != AUTO_STYLE for s in styles) else {}),
    }
    return images, info


def run_pixel_model(pipe: Any, params: ImageParams, ctx: Context, kind: str) -> tuple[list[Any], dict[str, Any]]:
    """A pixel model made in the Train tab (autoencoder or DBN): unconditional, text-to-image only."""
    if params.mode != "txt2img":
        raise ParamError("mode", f"a {kind} model draws from noise only; use a diffusion model for {params.mode}")
    ctx.progress(0, 1, "drawing")
    if kind == "autoencoder":
        codes = initial_noise(pipe.code_shape(params.num_images), params)
        images = pipe(codes if codes is not None else pipe.codes(seeds_of(params)))
    else:
        images = pipe(seeds_of(params), params.num_steps)
    ctx.progress(1, 1, "done")
    from PIL import Image

    native = images[0].width
    size = (params.width or BUILTIN_SIZE, params.height or BUILTIN_SIZE)  # a 32-px DBN is shown at 64 px
    if size != images[0].size:
        images = [im.resize(size, Image.Resampling.LANCZOS) for im in images]
    info = {
        "seeds": seeds_of(params),
        "native_size": native,
        "size": [images[0].width, images[0].height],
        "note": f"an unconditional {kind}: the prompt does not steer it"
        + ("; Steps = Gibbs sampling rounds" if kind == "dbn" else ""),
    }
    return images, info
