"""Music generator: the built-in symbolic model (offline, trained by ``studio/training``) and MusicGen.

Which path runs depends on the model picked:

- ``symbolic``: a small GPT-2 over a REMI-like vocabulary with control tokens (``symbolic``): prompt →
  controls → constrained sampling → notes → MIDI, audio (numpy synthesiser or fluidsynth), piano roll.
- ``musicgen`` / ``musicgen-melody``: transformers' MusicGen from any local folder or HF-cache snapshot in
  transformers' layout (``musicgen``): text → audio, melody conditioning, continuation past the model's window.
- ``audiocraft-musicgen``: a checkpoint in audiocraft's own layout, listed only where ``audiocraft`` imports.

``MusicParams`` is shared by all paths; fields a path does not use are recorded but ignored (the recipe says
which were used).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from studio.fingerprint import fingerprint
from studio.generators.base import Context, ModelSpec, Output
from studio.generators.music.params import MUSICGEN_MAX_S, SYMBOLIC_FORMAT, MusicParams
from studio.params import ParamError

log = logging.getLogger(__name__)


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


class MusicGenerator:
    """The Music tab's generator (see the module docstring)."""

    modality = "music"
    params_type = MusicParams
    place_on_device = True

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
                        weights_hash=fingerprint(folder),
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
            from studio.generators.music.symbolic import load_symbolic

            return load_symbolic(folder)
        if spec.kind in ("musicgen", "musicgen-melody"):
            from studio.generators.music.musicgen import load_musicgen

            return load_musicgen(folder, melody=spec.kind == "musicgen-melody")
        if spec.kind == "audiocraft-musicgen":
            from studio.generators.music.musicgen_audiocraft import load_audiocraft

            return load_audiocraft(folder)
        raise ParamError("model", f"{spec.id!r} is a {spec.kind or 'unknown'} model, not a music model")

    def generate(self, model: Any, params: MusicParams, ctx: Context) -> Output:
        """Generate one piece with whichever kind of model ``model`` is."""
        from studio.generators.music.symbolic import SymbolicModel, generate_symbolic

        if isinstance(model, SymbolicModel):
            return generate_symbolic(model, params, ctx)
        if params.duration_s > MUSICGEN_MAX_S:
            raise ParamError(
                "duration_s", f"{params.duration_s} s is too long for MusicGen here; at most {MUSICGEN_MAX_S:.0f} s"
            )
        from studio.generators.music.musicgen import MusicGenModel, generate_musicgen

        if isinstance(model, MusicGenModel):
            return generate_musicgen(model, params, ctx)
        from studio.generators.music.musicgen_audiocraft import AudiocraftModel, generate_audiocraft

        if isinstance(model, AudiocraftModel):
            return generate_audiocraft(model, params, ctx)
        raise TypeError(f"not a music model: {type(model).__name__}")
