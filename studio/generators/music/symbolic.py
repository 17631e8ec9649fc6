"""The built-in symbolic model's pipeline, in the order ``generate_symbolic`` runs it::

1. controls    prompt words + menus + seeded defaults (or the MIDI being extended) → style, key, metre, tempo
2. prime       header tokens (+ the earlier piece's events when extending)
3. sample      constrained sampling, bar by bar, with progress, Stop and a live piano roll
4. decode      tokens → notes
5. render      notes → MIDI, audio (numpy synthesiser, or fluidsynth when installed), WAV, piano-roll PNG
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.base import Artifact, Context, Output
from studio.generators.music.files import (
    MAX_PIECE_S,
    PieceInfo,
    notes_to_midi,
    piano_roll_image,
    piano_roll_png,
    piece_seconds,
    read_midi,
    velocity_of,
    wav_bytes,
)
from studio.generators.music.prompt import Resolved, resolve_controls
from studio.generators.music.sampler import SampleSettings, make_decoder, sample_bars
from studio.generators.music.synth import (
    SAMPLE_RATE,
    VOICES,
    SynthNote,
    fluidsynth_available,
    render_fluidsynth,
    render_notes,
)
from studio.generators.music.tokens import HEADER_LEN, TICKS_PER_QUARTER, Controls, Note, Vocab, metre_bar_ticks
from studio.params import ParamError

log = logging.getLogger(__name__)

MAX_BARS = 600
# Notes sounding at once, on average over the piece: bounds the synthesiser's work (one wave per note) for an
# uploaded piece, whose notes could all be held from start to end.
MAX_MEAN_POLYPHONY = 16
PREVIEW_EVERY_BARS = 8


class SymbolicModel:
    """A loaded built-in model: the transformers module, its vocabulary and where it came from."""

    def __init__(self, model: Any, vocab: Vocab, folder: Path) -> None:
        self.model = model
        self.vocab = vocab
        self.folder = folder


def load_symbolic(folder: Path) -> SymbolicModel:
    """Load a built-in model folder (safetensors weights, ``vocab.json``) on the CPU."""
    import json

    from transformers import AutoModelForCausalLM

    vocab = Vocab()
    saved = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    if list(saved.get("tokens", [])) != list(vocab.names):
        raise ParamError("model", f"{folder.name}: its vocab.json does not match this studio's music vocabulary")
    model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True)
    model.eval()
    return SymbolicModel(model, vocab, folder)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the previous count.

    Decoding this model is hundreds of tiny matrix-vector products; spread over threads they wait on each other,
    and on a busy 2-core machine a token took 100-280 ms on 2 threads against 1.8 ms on 1 (benchmarks/music.py).
    The count is process-wide, but generation requests share one queue (``concurrency_id="gpu"``), so no other
    torch work runs meanwhile; ``finally`` restores it even when Stop raises.
    """
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Plan:
    """What will be generated: controls, the bars to add and the events to continue from."""

    controls: Resolved
    prior: list[Note]
    bar_ticks: int
    n_bars: int


def plan_piece(params: Any, seed: int) -> Plan:
    """Step 1: controls from prompt and menus, or from the MIDI being extended; bars from the duration."""
    prior: list[Note] = []
    if params.extend_from:
        prior, info = read_midi(params.extend_from)
        if not prior:
            raise ParamError("extend_from", "holds no notes to continue")
        controls = _controls_of_prior(params, seed, info)
    else:
        controls = resolve_controls(
            params.prompt, seed, params.style, params.key, params.metre, params.tempo_bpm or 0.0, params.instrument
        )
    bar_ticks = metre_bar_ticks(controls.metre)
    bar_s = bar_ticks / TICKS_PER_QUARTER * 60.0 / controls.quarter_bpm
    n_bars = max(1, round(params.duration_s / bar_s))
    if n_bars > MAX_BARS:
        raise ParamError(
            "duration_s", f"{params.duration_s} s at {controls.tempo_bpm} BPM is {n_bars} bars; at most {MAX_BARS}"
        )
    _check_prior_fits(prior, controls, params.duration_s)
    return Plan(controls, prior, bar_ticks, n_bars)


def _check_prior_fits(prior: list[Note], controls: Resolved, duration_s: float) -> None:
    """Refuse, before anything is rendered, an earlier piece that with the new bars would pass ``MAX_PIECE_S``
    (a tiny MIDI file can place its second note hours later) or that holds more note-time than the synthesiser
    should render."""
    prior_s = piece_seconds(prior, controls.quarter_bpm)
    if prior_s + duration_s > MAX_PIECE_S:
        raise ParamError(
            "extend_from",
            f"lasts {prior_s:.0f} s at {controls.tempo_bpm:g} BPM; with {duration_s:g} s more the piece may be at "
            f"most {MAX_PIECE_S:.0f} s",
        )
    note_s = sum(n.duration for n in prior) * 60.0 / controls.quarter_bpm / TICKS_PER_QUARTER
    if note_s > MAX_MEAN_POLYPHONY * MAX_PIECE_S:
        raise ParamError(
            "extend_from", f"holds {note_s:.0f} s of notes in all; at most {MAX_MEAN_POLYPHONY * MAX_PIECE_S:.0f} s"
        )


def _controls_of_prior(params: Any, seed: int, info: PieceInfo | None) -> Resolved:
    """The controls of the piece being extended: its own when it came from the studio, else the prompt's."""
    fresh = resolve_controls(
        params.prompt, seed, params.style, params.key, params.metre, params.tempo_bpm or 0.0, params.instrument
    )
    if info is None:
        return fresh
    c = info.controls
    return Resolved(c.style, c.tonic, c.mode, c.metre, c.tempo, info.tempo_bpm, info.instrument, ())


def to_synth_notes(notes: list[Note], quarter_bpm: float, bar_ticks: int) -> list[SynthNote]:
    """Notes on the tick grid → seconds and velocities for the synthesiser."""
    sec = 60.0 / quarter_bpm / TICKS_PER_QUARTER
    return [SynthNote(n.onset * sec, n.duration * sec, n.pitch, velocity_of(n, bar_ticks)) for n in notes]


def render_audio(notes: list[Note], midi: bytes, c: Resolved, bar_ticks: int, renderer: str) -> tuple[np.ndarray, str]:
    """Step 5b: audio (n, 2) and the name of the synthesiser that made it."""
    if renderer == "fluidsynth" and not fluidsynth_available():
        raise ParamError("renderer", "fluidsynth and a General MIDI soundfont are not installed here")
    if renderer in ("auto", "fluidsynth") and fluidsynth_available():
        try:
            audio = render_fluidsynth(midi)
            # fluidsynth renders every voice's whole release; keep 1.5 s after the last note, faded out
            end = max(n.onset + n.duration for n in notes) * 60.0 / c.quarter_bpm / TICKS_PER_QUARTER
            keep = min(len(audio), int((end + 1.5) * SAMPLE_RATE))
            audio = audio[:keep].copy()
            fade = min(keep, int(0.3 * SAMPLE_RATE))
            audio[keep - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
            return audio, "fluidsynth"
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            if renderer == "fluidsynth":
                raise
            log.warning("fluidsynth failed, using the built-in synthesiser: %s", exc)
    return render_notes(to_synth_notes(notes, c.quarter_bpm, bar_ticks), c.instrument), "builtin"


def generate_symbolic(sm: SymbolicModel, params: Any, ctx: Context) -> Output:
    """Run the pipeline of the module docstring; returns WAV, MIDI, piano roll and the facts for the recipe."""
    import torch

    t0 = time.perf_counter()
    if params.melody_audio:
        raise ParamError("melody_audio", "the built-in model does not take a melody; pick a MusicGen melody checkpoint")
    seed = int(params.seed)
    plan = plan_piece(params, seed)
    c = plan.controls
    vocab = sm.vocab
    controls = Controls(c.style, c.tonic, c.mode, c.metre, c.tempo)
    ctx.progress(0, plan.n_bars, "composing")

    # 2. prime
    ids = vocab.encode(controls, [(n.onset, n.duration, n.pitch) for n in plan.prior], eos=False)
    prior_end = vocab.bars_in(ids) * plan.bar_ticks

    # 3. sample
    generator = torch.Generator().manual_seed(seed)
    settings = SampleSettings(params.temperature, params.top_k, params.top_p)

    def on_bar(done: int, total: int) -> None:
        ctx.progress(done, total, f"bar {done}/{total}")

    with one_torch_thread():
        ids = sample_bars(
            make_decoder(sm.model),
            vocab,
            ids,
            plan.n_bars,
            plan.bar_ticks,
            settings,
            generator,
            on_bar,
            on_preview=lambda seq: ctx.preview(_preview(vocab, seq, plan.bar_ticks, c.tonic)),
            preview_every=PREVIEW_EVERY_BARS,
        )
    t_sample = time.perf_counter() - t0

    # 4. decode
    end_tick = vocab.bars_in(ids) * plan.bar_ticks
    # the earlier piece is kept note for note; a new note held past the last bar line is cut there, so the
    # audio ends where the duration asked
    notes = list(plan.prior) + [
        Note(n.onset, min(n.duration, end_tick - n.onset), n.pitch)
        for n in vocab.decode(ids[HEADER_LEN:], plan.bar_ticks, c.tonic)
        if prior_end <= n.onset < end_tick
    ]
    if not notes:
        raise RuntimeError("the model produced no notes; try another seed or a higher temperature")

    # 5. render
    info = PieceInfo(controls, c.tempo_bpm, c.quarter_bpm, c.instrument)
    midi = notes_to_midi(notes, info, VOICES[c.instrument].gm_program)
    audio, synth = render_audio(notes, midi, c, plan.bar_ticks, params.renderer)
    title = f"{c.style} · {c.key_name} · {c.metre} · {c.tempo_bpm:g} BPM · {c.instrument}"
    artifacts = [
        Artifact("music.wav", wav_bytes(audio, SAMPLE_RATE), "audio"),
        Artifact("music.mid", midi, "midi"),
        Artifact("pianoroll.png", piano_roll_png(notes, plan.bar_ticks, title), "image"),
    ]
    elapsed = time.perf_counter() - t0
    seconds = audio.shape[0] / SAMPLE_RATE
    out_info = {
        "kind": "symbolic",
        "controls": {
            "style": c.style,
            "key": c.key_name,
            "metre": c.metre,
            "tempo_bpm": c.tempo_bpm,
            "tempo_class": c.tempo,
            "instrument": c.instrument,
            "prompt_words": list(c.from_prompt),
        },
        # what the prompt chose for the fields left to it, so a restored recipe shows the values used
        "settings": {"tempo_bpm": c.tempo_bpm},
        "extended": bool(plan.prior),
        "bars": vocab.bars_in(ids),
        "notes": len(notes),
        "tokens": len(ids),
        "audio_seconds": round(seconds, 2),
        "synthesiser": synth,
        "sample_seconds": round(t_sample, 3),
        "seconds": round(elapsed, 3),
        "realtime_factor": round(seconds / elapsed, 1) if elapsed > 0 else None,
        "used_params": [
            "prompt",
            "duration_s",
            "tempo_bpm",
            "key",
            "metre",
            "style",
            "instrument",
            "temperature",
            "top_k",
            "top_p",
            "seed",
            "renderer",
            "extend_from",
        ],
    }
    log.info("music: %s, %d notes, %.1f s of audio in %.2f s", title, len(notes), seconds, elapsed)
    return Output(artifacts=artifacts, text=None, info=out_info)


def _preview(vocab: Vocab, ids: list[int], bar_ticks: int, tonic: int) -> np.ndarray:
    """A live piano roll (H, W, 3) of what has been composed so far."""
    img = piano_roll_image(vocab.decode(ids[HEADER_LEN:], bar_ticks, tonic), bar_ticks, width=900)
    return np.asarray(img.convert("RGB"))
