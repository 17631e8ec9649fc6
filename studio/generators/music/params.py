"""The Music tab's parameters: ``MusicParams`` and the ranges each field declares (they drive the widgets and the
server-side validation alike)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.generators.music.files import MAX_BPM, MAX_PIECE_S, MAX_UPLOAD_BYTES, MIN_BPM
from studio.generators.music.prompt import INSTRUMENTS
from studio.generators.music.tokens import KEY_NAMES, METRES, MODES, STYLES
from studio.params import SEED_MAX, ParamError, param

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
