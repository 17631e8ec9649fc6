"""Music generator: the built-in symbolic model (offline, trained by ``studio/training``) and MusicGen.

Which path runs depends on the model picked:

- ``symbolic``: a small GPT-2 over a REMI-like vocabulary with control tokens (``music_symbolic``): prompt →
  controls → constrained sampling → notes → MIDI, audio (numpy synthesiser or fluidsynth), piano roll.
- ``musicgen`` / ``musicgen-melody``: transformers' MusicGen from any local folder or HF-cache snapshot in
  transformers' layout (``musicgen``): text → audio, melody conditioning, continuation past the model's window.
- ``audiocraft-musicgen``: a checkpoint in audiocraft's own layout, listed only where ``audiocraft`` imports.

``MusicParams`` is shared by all paths; fields a path does not use are recorded but ignored (the recipe says
which were used).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.generators.base import Context, ModelSpec, Output
from studio.generators.music_files import MAX_BPM, MAX_PIECE_S, MAX_UPLOAD_BYTES, MIN_BPM
from studio.generators.music_prompt import INSTRUMENTS
from studio.generators.music_tokens import KEY_NAMES, METRES, MODES, STYLES
from studio.params import SEED_MAX, ParamError, param

log = logging.getLogger(__name__)

KEY_CHOICES: tuple[str, ...] = ("auto", *(f"{k} {m}" for m in MODES for k in KEY_NAMES))
SYMBOLIC_FORMAT = "studio-remi-v2"
MUSICGEN_MAX_S = 120.0


@dataclass(frozen=True)
class MusicParams:
    """Parameters of one piece.

    The prompt sets style, key, metre, tempo and instrument in words ("calm folk melody in D minor"); the
    menus and the tempo slider refine it ("auto" / empty follows the prompt; a value you set always wins). The
    controls actually used are returned in the recipe (``info.controls``). ``extend_from`` holds the previous
    piece (its MIDI for the built-in model, its audio for MusicGen): the result is that piece continued by
    ``duration_s`` seconds. ``melody_audio`` conditions MusicGen melody checkpoints.
    """

    prompt: str = param(
        "calm folk melody in D minor",
        max_len=500,
        allow_empty=False,
        label="Prompt",
        info='e.g. "calm folk melody in D minor", "joyful chorale", "fast dance in 6/8"',
    )
    model: str = param("", max_len=300, label="Model", info="empty = the built-in model")
    duration_s: float = param(20.0, min=1.0, max=MAX_PIECE_S, step=1.0, label="Duration (s)")
    tempo_bpm: float | None = param(
        None, min=MIN_BPM, max=MAX_BPM, step=1.0, label="Tempo (BPM)", info="beats per minute; empty = from the prompt"
    )
    key: str = param("auto", choices=KEY_CHOICES, label="Key")
    metre: str = param("auto", choices=("auto", *METRES), label="Metre")
    style: str = param("auto", choices=("auto", *STYLES), label="Style")
    instrument: str = param("auto", choices=("auto", *INSTRUMENTS), label="Instrument")
    temperature: float = param(1.0, min=0.05, max=2.0, step=0.05, label="Temperature")
    top_k: int = param(40, min=0, max=2048, step=1, label="Top-k", info="0 = off")
    top_p: float = param(1.0, min=0.05, max=1.0, step=0.01, label="Top-p", info="1 = off", advanced=True)
    guidance_scale: float = param(
        3.0, min=1.0, max=15.0, step=0.5, label="Guidance scale", info="MusicGen only", advanced=True
    )
    seed: int = param(-1, min=-1, max=SEED_MAX, step=1, label="Seed", info="-1 draws a random seed")
    renderer: str = param(
        "auto",
        choices=("auto", "builtin", "fluidsynth"),
        label="Synthesiser",
        info="built-in model only; auto = fluidsynth when installed, else the built-in synthesiser",
        advanced=True,
    )
    melody_audio: bytes = param(b"", label="Melody audio (MusicGen melody models)", advanced=True)
    extend_from: bytes = param(b"", label="Piece to extend (its MIDI, or its WAV for MusicGen)", advanced=True)

    def check(self) -> None:
        """Cross-field checks: uploads are bytes of a sane size."""
        for name in ("melody_audio", "extend_from"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ParamError(name, f"must be a file; {value[:80]!r} is not one")
            if not isinstance(value, (bytes, bytearray)):
                raise ParamError(name, f"must be file bytes, got {type(value).__name__}")
            if len(value) > MAX_UPLOAD_BYTES:
                raise ParamError(
                    name, f"is {len(value) // 1024} KiB; at most {MAX_UPLOAD_BYTES // 1024} KiB are allowed"
                )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def audiocraft_available() -> bool:
    """Whether the ``audiocraft`` package can be imported (it is not installed by default: it pins torch 2.1)."""
    return importlib.util.find_spec("audiocraft") is not None


def recognise_music(folder: Path) -> str | None:
    """The kind of music model in ``folder``: "symbolic", "musicgen", "musicgen-melody", "audiocraft-musicgen"."""
    vocab = _read_json(folder / "vocab.json")
    config = _read_json(folder / "config.json")
    if vocab is not None and vocab.get("format") == SYMBOLIC_FORMAT and config is not None:
        return "symbolic"
    if config is not None:
        model_type = config.get("model_type")
        if model_type == "musicgen":
            return "musicgen"
        if model_type == "musicgen_melody":
            return "musicgen-melody"
        return None
    if (folder / "state_dict.bin").is_file() and (folder / "compression_state_dict.bin").is_file():
        return "audiocraft-musicgen" if audiocraft_available() else None
    return None


def weights_hash(folder: Path) -> str:
    """SHA-256 (first 16 hex digits) of a folder's safetensors files, for cache keys."""
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.safetensors")):
        with p.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()[:16]


class MusicGenerator:
    """The Music tab's generator (see the module docstring)."""

    modality = "music"
    params_type = MusicParams

    def __init__(self, assets_dir: Path | None = None) -> None:
        self.assets_dir = assets_dir

    def models(self) -> list[ModelSpec]:
        """Built-in symbolic models found in ``assets_dir`` (each folder with a studio vocabulary)."""
        if self.assets_dir is None or not self.assets_dir.is_dir():
            return []
        specs = []
        for folder in sorted(p for p in self.assets_dir.iterdir() if p.is_dir()):
            if recognise_music(folder) == "symbolic" and (folder / "model.safetensors").is_file():
                specs.append(
                    ModelSpec(
                        id=folder.name,
                        modality="music",
                        source="builtin",
                        path=str(folder),
                        label=f"{folder.name} (built-in, symbolic)",
                        kind="symbolic",
                        weights_hash=weights_hash(folder),
                    )
                )
        return specs

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """MusicGen works from the words of the prompt and has no key, metre, tempo, style, instrument or renderer
        controls; the symbolic model samples without classifier-free guidance."""
        if spec.kind == "symbolic":
            return frozenset({"guidance_scale"})
        return frozenset({"tempo_bpm", "key", "metre", "style", "instrument", "renderer"})

    def recognise(self, folder: Path) -> str | None:
        """The kind of music model a local folder holds, or None."""
        return recognise_music(folder)

    def load(self, spec: ModelSpec, device: Any = None, dtype: Any = None) -> Any:
        """Build the model on the CPU (the memory manager moves it)."""
        if spec.path is None:
            raise ParamError("model", f"{spec.id!r} has no local folder")
        folder = Path(spec.path)
        if spec.kind == "symbolic":
            from studio.generators.music_symbolic import load_symbolic

            return load_symbolic(folder)
        if spec.kind in ("musicgen", "musicgen-melody"):
            from studio.generators.musicgen import load_musicgen

            return load_musicgen(folder, melody=spec.kind == "musicgen-melody")
        if spec.kind == "audiocraft-musicgen":
            from studio.generators.musicgen_audiocraft import load_audiocraft

            return load_audiocraft(folder)
        raise ParamError("model", f"{spec.id!r} is a {spec.kind or 'unknown'} model, not a music model")

    def generate(self, model: Any, params: MusicParams, ctx: Context) -> Output:
        """Generate one piece with whichever kind of model ``model`` is."""
        from studio.generators.music_symbolic import SymbolicModel, generate_symbolic

        if isinstance(model, SymbolicModel):
            return generate_symbolic(model, params, ctx)
        if params.duration_s > MUSICGEN_MAX_S:
            raise ParamError(
                "duration_s", f"{params.duration_s} s is too long for MusicGen here; at most {MUSICGEN_MAX_S:.0f} s"
            )
        from studio.generators.musicgen import MusicGenModel, generate_musicgen

        if isinstance(model, MusicGenModel):
            return generate_musicgen(model, params, ctx)
        from studio.generators.musicgen_audiocraft import AudiocraftModel, generate_audiocraft

        if isinstance(model, AudiocraftModel):
            return generate_audiocraft(model, params, ctx)
        raise TypeError(f"not a music model: {type(model).__name__}")
