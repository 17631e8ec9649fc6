"""The recipe: what made an output, written into every output file and readable back.

One recipe for every modality::

    {"studio": "studio 0.1.0", "id": "<cache key>", "modality": "terrain", "model": {"id", "source", "weights_hash"},
     "params": {...}, "seed": 7, "info": {...}, "parents": [...], "created": "2026-11-22T13:00:00Z",
     "ai_generated": true, "outputs": {"name.png": "<sha256>", ...}}

``outputs`` (the SHA-256 of each final file) is in the sidecar ``recipe.json`` only; the copy embedded in each file
leaves it out, since a file cannot hold its own hash. Formats:

- PNG: a ``parameters`` text chunk in the AUTOMATIC1111 style, a ``studio-recipe`` chunk with the JSON, and
  ``Software`` / ``Comment`` chunks saying the image is AI-generated.
- WAV: a RIFF ``LIST/INFO`` chunk (``ICMT`` = the JSON, ``ISFT`` = the studio, ``INAM`` = the prompt).
- GLB: the glTF ``asset.extras`` of the JSON chunk.
- Markdown / text: a fenced JSON block at the end.
- Anything else (MIDI, RAW heightmaps): the sidecar ``recipe.json`` beside it.

Reading a recipe back, from any bytes a visitor drops, is ``studio.recipe_reader`` (re-exported here).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import struct
from typing import Any

from studio import __version__
from studio.generators.base import Artifact
from studio.recipe_reader import MD_FENCE, RECIPE_CHUNK
from studio.recipe_reader import UnreadableRecipe as UnreadableRecipe  # re-exported: readers of recipes
from studio.recipe_reader import load_recipe as load_recipe
from studio.recipe_reader import read_recipe as read_recipe

AI_NOTICE = "AI-generated with studio (an open creative studio); see the embedded recipe for how it was made."


def created_at() -> str:
    """Now in UTC, or the time ``SOURCE_DATE_EPOCH`` names (the reproducible-builds convention): with it set, the
    same request gives byte-identical files on any machine, the embedded recipe included."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch.isdigit() else _dt.datetime.now(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_recipe(
    *,
    key: str,
    modality: str,
    model: dict[str, Any],
    params: dict[str, Any],
    seed: int | None,
    info: dict[str, Any] | None = None,
    parents: list[str] | None = None,
) -> dict[str, Any]:
    """A new recipe (see the module docstring). ``key`` is the request's cache key, used as the recipe id."""
    return {
        "studio": f"studio {__version__}",
        "id": key,
        "modality": modality,
        "model": model,
        "params": params,
        "seed": seed,
        "info": info or {},
        "parents": list(parents or []),
        "created": created_at(),
        "ai_generated": True,
    }


# diffusers scheduler classes by the sampler names AUTOMATIC1111 writes for them (A1111 calls PNDM "PLMS").
A1111_SAMPLERS = {
    "DDIMScheduler": "DDIM",
    "PNDMScheduler": "PLMS",
    "LMSDiscreteScheduler": "LMS",
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "HeunDiscreteScheduler": "Heun",
    "KDPM2DiscreteScheduler": "DPM2",
    "KDPM2AncestralDiscreteScheduler": "DPM2 a",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "DPMSolverSDEScheduler": "DPM++ SDE",
    "UniPCMultistepScheduler": "UniPC",
    "LCMScheduler": "LCM",
}
IMAGE_TO_IMAGE_MODES = ("img2img", "inpaint")


def a1111_parameters(recipe: dict[str, Any]) -> str:
    """The recipe as an AUTOMATIC1111 ``parameters`` string (prompt, negative prompt, then ``Key: value`` pairs).

    It states what was used, not what was asked: the output's size and the scheduler that ran, from the recipe's
    ``info`` (the params say ``None`` / ``"Default"`` for "the model's own"); a fact that is unknown or that did
    not apply (no size, no scheduler for the built-in GAN, denoising strength for text-to-image) is left out.
    """
    p = dict(recipe.get("params", {}))
    info = recipe.get("info") or {}
    prompt = str(p.pop("prompt", ""))
    negative = p.pop("negative_prompt", None)
    size = _size(p.pop("width", None), p.pop("height", None), info)
    sampler = _sampler(p.pop("scheduler", None), info)
    if "strength" in p and p.get("mode") not in IMAGE_TO_IMAGE_MODES:
        del p["strength"]  # only image-to-image and inpainting start from an image, so only they denoise part-way
    names = {
        "num_steps": "Steps",
        "guidance_scale": "CFG scale",
        "seed": "Seed",
        "model": "Model",
        "strength": "Denoising strength",
    }
    pairs: list[str] = []
    if size:
        pairs.append(f"Size: {size}")
    if sampler:
        p["scheduler"] = sampler
        names["scheduler"] = "Sampler"
    for k in sorted(p):
        v = p[k]
        if isinstance(v, (bytes, list, dict)) or v is None:
            continue
        label = names.get(k, k.replace("_", " ").capitalize())
        pairs.append(f"{label}: {str(v).replace(',', ' ').replace(chr(10), ' ')}")
    pairs.append(f"Model hash: {recipe.get('model', {}).get('weights_hash', '')[:10]}")
    pairs.append(f"Version: {recipe.get('studio', '')}")
    lines = [prompt]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def _size(width: Any, height: Any, info: dict[str, Any]) -> str | None:
    """``"WxH"`` of the output: the size ``info`` reports, else the one asked for, else None (unknown)."""
    made = info.get("size")
    if isinstance(made, (list, tuple)) and len(made) == 2 and all(_positive_int(x) for x in made):
        return f"{made[0]}x{made[1]}"
    if _positive_int(width) and _positive_int(height):
        return f"{width}x{height}"
    return None


def _positive_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def _sampler(asked: Any, info: dict[str, Any]) -> str | None:
    """The A1111 name of the scheduler that ran (``info["scheduler"]`` is its class name), or None if none did.

    The asked-for name wins when it names that class more exactly ("DPM++ 2M Karras" is a DPMSolverMultistep
    scheduler with Karras sigmas); a class A1111 has no name for keeps its own. Without an ``info`` (a recipe
    written by hand) the asked-for name stands, unless it is "Default", which says nothing about what ran.
    """
    ran = info.get("scheduler")
    if isinstance(ran, str) and ran:
        name = A1111_SAMPLERS.get(ran, ran)
        if isinstance(asked, str) and asked.removesuffix(" Karras") == name:
            return asked
        return name
    if info or not isinstance(asked, str) or asked in ("", "Default"):
        return None
    return asked


def _json(recipe: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in recipe.items() if k != "outputs"}, ensure_ascii=False, sort_keys=True)


# -- PNG -----------------------------------------------------------------------------------------------------
def embed_png(data: bytes, recipe: dict[str, Any]) -> bytes:
    """PNG bytes with the recipe in text chunks (pixels untouched; 16-bit images keep their depth)."""
    from PIL import Image, PngImagePlugin

    img = Image.open(io.BytesIO(data))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_parameters(recipe))
    info.add_itxt(RECIPE_CHUNK, _json(recipe))
    info.add_text("Software", recipe.get("studio", "studio"))
    info.add_text("Comment", AI_NOTICE)
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info, optimize=False, compress_level=6)
    return out.getvalue()


# -- WAV -----------------------------------------------------------------------------------------------------
def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append((cid, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def _info_sub(cid: bytes, text: str) -> bytes:
    raw = text.encode("utf-8") + b"\x00"
    return cid + struct.pack("<I", len(raw)) + raw + (b"\x00" if len(raw) & 1 else b"")


def embed_wav(data: bytes, recipe: dict[str, Any]) -> bytes:
    """WAV bytes with a ``LIST/INFO`` chunk holding the recipe (replacing any earlier one)."""
    chunks = [(c, b) for c, b in _riff_chunks(data) if not (c == b"LIST" and b[:4] == b"INFO")]
    info = b"INFO" + _info_sub(b"INAM", str(recipe.get("params", {}).get("prompt", ""))[:200])
    info += _info_sub(b"ISFT", recipe.get("studio", "studio")) + _info_sub(b"ICMT", _json(recipe))
    chunks.append((b"LIST", info))
    body = b"WAVE" + b"".join(c + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for c, b in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- GLB -----------------------------------------------------------------------------------------------------
def _glb_parts(data: bytes) -> tuple[dict[str, Any], bytes]:
    magic, version, _length = struct.unpack("<4sII", data[:12])
    if magic != b"glTF" or version != 2:
        raise ValueError("not a glTF 2 binary")
    jlen, jtype = struct.unpack("<I4s", data[12:20])
    if jtype != b"JSON":
        raise ValueError("GLB has no JSON chunk first")
    doc = json.loads(data[20 : 20 + jlen].decode("utf-8"))
    return doc, data[20 + jlen :]


def embed_glb(data: bytes, recipe: dict[str, Any]) -> bytes:
    """GLB bytes with the recipe in ``asset.extras`` (binary chunk untouched)."""
    doc, rest = _glb_parts(data)
    asset = doc.setdefault("asset", {"version": "2.0"})
    asset["generator"] = recipe.get("studio", "studio")
    asset["copyright"] = AI_NOTICE
    asset.setdefault("extras", {})["studio_recipe"] = json.loads(_json(recipe))
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 4)
    out = struct.pack("<I4s", len(raw), b"JSON") + raw + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(out)) + out


# -- text ----------------------------------------------------------------------------------------------------
def embed_text(data: bytes, recipe: dict[str, Any]) -> bytes:
    """Markdown/text with the recipe as a fenced JSON block at the end."""
    text = data.decode("utf-8").rstrip("\n")
    pretty = json.dumps(json.loads(_json(recipe)), indent=2, ensure_ascii=False)
    block = f"\n\n---\n*{AI_NOTICE}*\n\n{MD_FENCE}\n{pretty}\n```\n"
    return (text + block).encode("utf-8")


# -- dispatch ------------------------------------------------------------------------------------------------
_EMBED = {".png": embed_png, ".wav": embed_wav, ".glb": embed_glb, ".md": embed_text, ".txt": embed_text}


def _ext(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def embed(artifact: Artifact, recipe: dict[str, Any]) -> Artifact:
    """The artifact with the recipe embedded where its format allows (others rely on the sidecar)."""
    fn = _EMBED.get(_ext(artifact.name))
    if fn is None:
        return artifact
    return Artifact(artifact.name, fn(artifact.data, recipe), artifact.role)


def sidecar(recipe: dict[str, Any], artifacts: list[Artifact]) -> Artifact:
    """``recipe.json``: the full recipe with the SHA-256 of every final output file."""
    full = dict(recipe)
    full["outputs"] = {a.name: hashlib.sha256(a.data).hexdigest() for a in artifacts}
    return Artifact("recipe.json", json.dumps(full, indent=2, ensure_ascii=False, sort_keys=True).encode(), "recipe")
