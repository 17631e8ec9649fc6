"""AUTOMATIC1111 request bodies → the Image tab's values (``ImageParams`` fields), and A1111's ``info`` back.

``image_values`` reads a ``txt2img`` or ``img2img`` body: ``prompt``, ``negative_prompt``, ``seed``, ``steps``,
``cfg_scale``, ``width``/``height``, ``batch_size`` × ``n_iter`` images, ``sampler_name`` (with A1111's separate
``scheduler``: "Karras" picks "DPM++ 2M Karras"), ``denoising_strength``, base64 ``init_images`` and ``mask``
(``inpainting_mask_invert`` honoured) and ``override_settings.sd_model_checkpoint``. A field left out takes A1111's
default where it has one the studio can honour (``cfg_scale`` 7, ``steps`` 20 as clients send them), else the Image
tab's. ``styles`` (A1111's prompt styles) takes one of the built-ins' drawing styles, which ``GET prompt-styles``
lists as A1111 does its saved styles. What the studio cannot do (hires fix, face restoration, tiling, scripts,
variation seeds, several styles at once) is refused with ``A1111Error`` naming the field, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from studio.generators.image.checkpoints import SCHEDULERS
from studio.generators.image.params import AUTO_STYLE, DRAWING_STYLES, ImageParams, with_style

SAMPLERS = tuple(s for s in SCHEDULERS if s != "Default")
FIELD_NAMES = {
    "num_steps": "steps",
    "guidance_scale": "cfg_scale",
    "num_images": "batch_size",
    "scheduler": "sampler_name",
    "strength": "denoising_strength",
    "init_image": "init_images",
    "mask_image": "mask",
    "model": "sd_model_checkpoint",
}
TRUE_REFUSED = ("enable_hr", "restore_faces", "tiling")
NON_EMPTY_REFUSED = ("alwayson_scripts", "script_name", "script_args")


@dataclass
class A1111Error(Exception):
    """A request the studio refuses: the ``field`` (A1111's name) and why; answered 422 like A1111's validation."""

    field: str
    message: str
    status: int = 422

    def body(self) -> dict[str, Any]:
        """A1111's (FastAPI's) error shape, with the field named."""
        text = f"{self.field}: {self.message}" if self.field else self.message
        return {"error": type(self).__name__, "detail": text, "field": self.field}


def a1111_field(field: str) -> str:
    """The A1111 request field an ``ImageParams`` field came from."""
    return FIELD_NAMES.get(field, field)


def decode_image(field: str, value: Any) -> bytes:
    """Bytes of a base64 image (a ``data:image/...;base64,`` prefix allowed); raises ``A1111Error``."""
    if not isinstance(value, str) or not value:
        raise A1111Error(field, "must be a base64-encoded image")
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise A1111Error(field, "is not valid base64") from None


def _sampler(body: dict[str, Any]) -> str:
    name = body.get("sampler_name") or body.get("sampler_index") or "Default"
    if not isinstance(name, str):
        raise A1111Error("sampler_name", "must be a string")
    scheduler = body.get("scheduler")
    if scheduler not in (None, "", "automatic", "Automatic", "karras", "Karras"):
        raise A1111Error("scheduler", f"{scheduler!r} is not supported (automatic, or Karras with DPM++ 2M)")
    if name.removesuffix(" Karras") == "DPM++ 2M" and str(scheduler).lower() == "karras":
        name = "DPM++ 2M Karras"
    if name not in SCHEDULERS:
        raise A1111Error("sampler_name", f"{name!r} is not one of: {', '.join(SAMPLERS)}")
    return name


def _count(body: dict[str, Any]) -> Any:
    batch, iters = body.get("batch_size", 1), body.get("n_iter", 1)
    for name, value in (("batch_size", batch), ("n_iter", iters)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise A1111Error(name, f"must be a whole number of at least 1, got {value!r}")
    return batch * iters


def _invert(mask: bytes) -> bytes:
    """The mask with black and white swapped (A1111's ``inpainting_mask_invert``)."""
    from PIL import ImageOps

    from studio.generators.image.upload import open_checked, to_mask

    out = io.BytesIO()
    ImageOps.invert(to_mask(open_checked("mask", mask))).save(out, format="PNG")
    return out.getvalue()


def image_values(body: dict[str, Any], img2img: bool, current_model: str) -> dict[str, Any]:
    """``ImageParams`` values from a txt2img (or img2img) body; raises ``A1111Error``."""
    for name in TRUE_REFUSED:
        if body.get(name):
            raise A1111Error(name, "is not supported by this server")
    for name in NON_EMPTY_REFUSED:
        if body.get(name) not in (None, "", [], {}):
            raise A1111Error(name, "is not supported by this server (no scripts or styles)")
    if body.get("subseed_strength") not in (None, 0, 0.0):
        raise A1111Error("subseed_strength", "variation seeds are not supported (only 0)")
    overrides = body.get("override_settings") or {}
    if not isinstance(overrides, dict):
        raise A1111Error("override_settings", "must be an object")
    model = overrides.get("sd_model_checkpoint") or current_model
    values: dict[str, Any] = {
        "prompt": body.get("prompt", ""),
        "negative_prompt": body.get("negative_prompt", ""),
        "model": model_id(model) if isinstance(model, str) else model,
        "scheduler": _sampler(body),
        "num_steps": 20 if body.get("steps") is None else body["steps"],
        "guidance_scale": body.get("cfg_scale", 7.0),
        "num_images": _count(body),
        "seed": body.get("seed", -1),
        "style": _style(body),
    }
    for name in ("width", "height"):
        if body.get(name) is not None:
            values[name] = body[name]
    if not img2img:
        return values
    images = body.get("init_images")
    if not isinstance(images, list) or not images:
        raise A1111Error("init_images", "img2img needs one base64 image in init_images")
    if len(images) > 1:
        raise A1111Error("init_images", "only one init image per request is supported")
    values["init_image"] = decode_image("init_images[0]", images[0])
    values["strength"] = body.get("denoising_strength", 0.75)
    values["mode"] = "img2img"
    if body.get("mask"):
        mask = decode_image("mask", body["mask"])
        values["mask_image"] = _invert(mask) if body.get("inpainting_mask_invert") else mask
        values["mode"] = "inpaint"
    return values


def prompt_styles() -> list[dict[str, str]]:
    """A1111's ``GET prompt-styles``: the built-ins' drawing styles, each as the prompt it makes."""
    return [{"name": s, "prompt": with_style("{prompt}", s), "negative_prompt": ""} for s in DRAWING_STYLES]


def _style(body: dict[str, Any]) -> str:
    """The drawing style an A1111 ``styles`` list names (none: auto); one of ``DRAWING_STYLES`` at most."""
    styles = body.get("styles")
    if styles in (None, [], ""):
        return AUTO_STYLE
    if not isinstance(styles, list) or len(styles) != 1 or styles[0] not in DRAWING_STYLES:
        raise A1111Error("styles", f"takes one of {', '.join(DRAWING_STYLES)} (GET /sdapi/v1/prompt-styles)")
    return str(styles[0])


def model_id(title: str) -> str:
    """A model id from an A1111 title: ``name [hash]`` names the model ``name``."""
    name, sep, rest = title.rpartition(" [")
    return name if sep and rest.endswith("]") else title


def info_json(params: ImageParams, recipe: dict[str, Any], infotexts: list[str]) -> str:
    """A1111's ``info``: the request as run, one entry per image, the infotext (``parameters``) of each PNG."""
    info = recipe.get("info") or {}
    seeds = list(info.get("seeds") or [recipe.get("seed")])
    size = info.get("size") or [params.width, params.height]
    model = recipe.get("model") or {}
    out = {
        "prompt": params.prompt,
        "all_prompts": [params.prompt] * len(seeds),
        "negative_prompt": params.negative_prompt,
        "all_negative_prompts": [params.negative_prompt] * len(seeds),
        "seed": seeds[0],
        "all_seeds": seeds,
        "subseed": -1,
        "all_subseeds": [-1] * len(seeds),
        "subseed_strength": 0,
        "width": size[0],
        "height": size[1],
        "sampler_name": params.scheduler,
        "cfg_scale": params.guidance_scale,
        "steps": params.num_steps,
        "batch_size": params.num_images,
        "restore_faces": False,
        "sd_model_name": model.get("id"),
        "sd_model_hash": str(model.get("weights_hash", ""))[:10],
        "denoising_strength": params.strength if params.mode != "txt2img" else None,
        "index_of_first_image": 0,
        "infotexts": infotexts,
        "styles": [] if params.style == AUTO_STYLE else [params.style],
        "job_timestamp": recipe.get("created", ""),
        "version": recipe.get("studio", ""),
        "recipe_id": recipe.get("id"),
    }
    return json.dumps(out, ensure_ascii=False)


def parse_infotext(text: str) -> dict[str, Any]:
    """A1111's ``parameters`` text → a dict, as its ``png-info`` answers: "Prompt", "Negative prompt", then each
    ``Key: value`` pair of the last line (numbers as numbers)."""
    lines = text.strip().split("\n")
    pairs = lines.pop() if lines and ": " in lines[-1] and "," in lines[-1] else ""
    negative = ""
    prompt_lines = []
    for line in lines:
        if line.startswith("Negative prompt: "):
            negative = line[len("Negative prompt: ") :]
        elif negative:
            negative += "\n" + line
        else:
            prompt_lines.append(line)
    out: dict[str, Any] = {"Prompt": "\n".join(prompt_lines), "Negative prompt": negative}
    for item in pairs.split(", "):
        key, sep, value = item.partition(": ")
        if sep:
            out[key.strip()] = _number(value.strip())
    return out


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
