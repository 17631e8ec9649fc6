"""A studio whose one generator writes one file of each kind the studio makes (PNG, WAV, GLB, MIDI, Markdown), fast:
the signing and the checking are under test here, not the models."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.credentials.identity import self_made_identity
from studio.credentials.signing import Signer
from studio.engine import Studio
from studio.generators.base import Artifact, ModelSpec, Output
from studio.memory import MemoryManager
from studio.params import param


@dataclass(frozen=True)
class KitParams:
    prompt: str = param("", max_len=200)
    negative_prompt: str = param("", max_len=200)
    mode: str = param("plain", choices=("plain", "fancy"))
    seed: int = param(-1, min=-1, max=2**31 - 1)
    init_image: bytes = param(b"")


def picture(seed: int, size: int = 64) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(6 * x + seed), np.cos(5 * y - seed), np.sin(4 * (x + y))], -1) * 90 + 128
    img = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def clip(seed: int, seconds: float = 12.0, rate: int = 32000) -> bytes:
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    notes = 110 * 2 ** (rng.integers(0, 24, size=int(seconds * 2)) / 12)
    f = np.repeat(notes, -(-len(t) // len(notes)))[: len(t)]
    audio = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / rate) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    buf = io.BytesIO()
    sf.write(buf, np.stack([audio, audio], 1), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def glb() -> bytes:
    doc = b'{"asset":{"version":"2.0"}}   '
    return struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(doc)) + struct.pack("<I4s", len(doc), b"JSON") + doc


class KitGenerator:
    modality = "kit"
    params_type = KitParams
    place_on_device = False

    def models(self):
        return [ModelSpec(id="kit-model", modality="kit", source="procedural", weights_hash="w" * 64)]

    def recognise(self, folder):
        return None

    def unused_fields(self, spec):
        return frozenset()

    def generate(self, model, params, ctx):
        arts = [
            Artifact("picture.png", picture(params.seed), "image"),
            Artifact("music.wav", clip(params.seed), "audio"),
            Artifact("scene.glb", glb(), "model3d"),
            Artifact(
                "music.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "midi"
            ),
            Artifact("notes.md", f"# {params.prompt}\n".encode(), "text"),
        ]
        return Output(arts, text=None, info={})


def make_kit(root) -> Studio:
    """A studio with the kit generator, a result cache and a self-made signer, all under ``root``."""
    gen = KitGenerator()
    return Studio(
        {"kit": gen},
        Catalog({"kit": gen}, hf_cache=root / "none"),
        MemoryManager(device="cpu"),
        ResultCache(root / "results"),
        signer=Signer(self_made_identity(root / "cache")),
    )
