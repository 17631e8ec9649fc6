"""Marking whole output files, and reading a mark from any file a stranger drops, within a budget.

``mark_artifact`` marks the studio's pictures (role ``image``, PNG) and audio (role ``audio``, WAV) and leaves
every other file alone (heightmaps are data, not pictures). ``read_mark`` sniffs the format from the bytes, refuses
what is too large before decoding it, and never raises.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from studio.generators.base import Artifact
from studio.watermark import audio, image
from studio.watermark.payload import payload_of

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # a picture's header is judged before its pixels are decoded
MAX_READ_SECONDS = 120.0  # audio is read no further than this (a 10 s excerpt is enough)
MAX_CHANNELS = 8


@dataclass(frozen=True)
class Mark:
    """What a file's watermark says: ``found``, a ``confidence`` (1 minus the chance that unmarked content scores
    as high), the ``payload``, the method, and a note when nothing could be read (too small, unreadable)."""

    found: bool
    confidence: float
    payload: int | None = None
    method: str | None = None
    score: float | None = None
    note: str | None = None

    def matches(self, recipe_id: str) -> bool:
        """True when the mark was found and carries the payload of ``recipe_id``."""
        return self.found and self.payload == payload_of(recipe_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mark_artifact(art: Artifact, recipe_id: str) -> Artifact:
    """``art`` with the recipe's payload marked in, when it is a studio picture or clip; else ``art`` itself."""
    if art.role == "image" and art.data[:8] == b"\x89PNG\r\n\x1a\n":
        return Artifact(art.name, _mark_png(art.data, payload_of(recipe_id)), art.role)
    if art.role == "audio" and art.data[:4] == b"RIFF" and art.data[8:12] == b"WAVE":
        return Artifact(art.name, _mark_wav(art.data, payload_of(recipe_id)), art.role)
    return art


def _mark_png(data: bytes, payload: int) -> bytes:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    if min(img.size) < image.MIN_SIDE or img.mode not in ("RGB", "RGBA", "L"):
        return data  # too small to carry the pattern, or not an 8-bit picture (read_mark says so)
    rgb = np.asarray(img.convert("RGB"))
    marked = image.mark_pixels(rgb, payload)
    if img.mode == "L":
        out = Image.fromarray(marked[..., 0]) if np.ptp(rgb, axis=2).max() == 0 else Image.fromarray(marked)
    elif img.mode == "RGBA":
        out = Image.fromarray(np.dstack([marked, np.asarray(img)[..., 3]]), "RGBA")
    else:
        out = Image.fromarray(marked, "RGB")
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=1)  # the recipe step re-saves it at its own level next
    return buf.getvalue()


def _mark_wav(data: bytes, payload: int) -> bytes:
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    if len(samples) < audio.MIN_SECONDS * rate:
        return data
    info = sf.info(io.BytesIO(data))
    buf = io.BytesIO()
    sf.write(buf, audio.mark_samples(samples, rate, payload), rate, format="WAV", subtype=info.subtype)
    return buf.getvalue()


def read_mark(data: bytes) -> Mark:
    """The watermark in any bytes (format from the bytes themselves); never raises."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[8:12] == b"WEBP":
            return _read_picture(data)
        if (data[:4] == b"RIFF" and data[8:12] == b"WAVE") or data[:4] in (b"fLaC", b"OggS"):
            return _read_audio(data)
    except (OSError, ValueError, RuntimeError, MemoryError, SyntaxError) as exc:  # PIL/soundfile on bad bytes
        log.debug("unreadable for a watermark", exc_info=True)  # the decoders' messages name buffers, not files
        kind = "picture" if isinstance(exc, (OSError, SyntaxError)) and "image" in str(exc) else "file"
        return Mark(False, 0.0, note=f"unreadable: not a {kind} its decoder could read ({type(exc).__name__})")
    return Mark(False, 0.0, note="not a picture or audio file: no watermark to look for")


def _read_picture(data: bytes) -> Mark:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    w, h = img.size
    if w * h > MAX_PIXELS:
        return Mark(False, 0.0, note=f"a {w}x{h} picture is over the {MAX_PIXELS // 1_000_000} MP reading limit")
    if min(w, h) < image.INDEX_MAX + 2:
        return Mark(False, 0.0, note=f"too small to carry a mark ({w}x{h}; marks need {image.MIN_SIDE} px a side)")
    img.draft("RGB", (image.READ_SIDE, image.READ_SIDE))  # JPEG decodes straight to a smaller size
    rgb = img.convert("RGB")
    scale = max(image.READ_SIDE / max(rgb.size), image.MIN_SIDE / min(rgb.size))  # long pictures keep MIN_SIDE
    if scale < 1:  # the pattern counts cycles per picture: a smaller copy carries it the same
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BICUBIC)
    found = image.read_pixels(np.asarray(rgb))
    return _mark(found.found, found.false_alarm, found.payload, "image-dct-sign", found.z)


def _read_audio(data: bytes) -> Mark:
    import soundfile as sf

    info = sf.info(io.BytesIO(data))
    if info.channels > MAX_CHANNELS or not 4000 <= info.samplerate <= 192000:
        return Mark(False, 0.0, note=f"{info.channels} channels at {info.samplerate} Hz: not audio the studio reads")
    frames = int(min(info.frames, MAX_READ_SECONDS * info.samplerate))
    samples, rate = sf.read(io.BytesIO(data), frames=frames, dtype="float64", always_2d=True)
    if len(samples) < audio.MIN_SECONDS * rate:
        return Mark(False, 0.0, note=f"too short to carry a mark (under {audio.MIN_SECONDS:g} s)")
    found = audio.read_samples(samples, rate)
    return _mark(found.found, found.false_alarm, found.payload, "audio-spread-spectrum", found.z)


def _mark(found: bool, false_alarm: float, payload: int, method: str, z: float) -> Mark:
    return Mark(found, round(1.0 - false_alarm, 6) if found else 0.0, payload if found else None, method, round(z, 2))
