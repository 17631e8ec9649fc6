"""Notes → audio. The default is a small wavetable synthesiser in numpy/scipy (nothing outside PyPI); where the
``fluidsynth`` program and a General MIDI soundfont are installed, MIDI is rendered through them instead.

The built-in synthesiser gives each instrument a band-limited harmonic spectrum (one table per octave, so high
notes do not alias), a bright-to-mellow crossfade for struck and plucked sounds, an envelope, vibrato for bowed,
blown and sung sounds, and a small Schroeder reverb, decorrelated between the ears. Output is
float32 stereo in [-1, 1] at ``SAMPLE_RATE``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 32000
TABLE_SIZE = 4096
# The longest audio either synthesiser makes: a 300 s piece rounded up to whole bars, plus release and reverb.
# Callers refuse longer pieces first, with a message naming the field; this bound caps what a render allocates.
MAX_RENDER_S = 360.0
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


@dataclass(frozen=True)
class Voice:
    """How one instrument sounds in the built-in synthesiser."""

    harmonics: tuple[float, ...]  # amplitude of harmonic 1, 2, 3, ...
    attack_s: float
    decay_s: float  # time constant of the decay towards ``sustain``
    sustain: float
    release_s: float
    bright: tuple[float, ...] = ()  # spectrum at the attack, crossfading to ``harmonics`` over ``bright_s``
    bright_s: float = 0.0
    vibrato_hz: float = 0.0
    vibrato_depth: float = 0.0  # fraction of the frequency
    detune: float = 0.0  # a second oscillator this fraction sharp (chorus)
    gm_program: int = 0  # General MIDI program for the MIDI file and fluidsynth


def _saw(n: int, power: float = 1.0) -> tuple[float, ...]:
    return tuple(1.0 / (h**power) for h in range(1, n + 1))


VOICES: dict[str, Voice] = {
    "piano": Voice(_saw(10, 2.0), 0.004, 0.9, 0.0, 0.25, bright=_saw(16, 1.2), bright_s=0.25, gm_program=0),
    "strings": Voice(
        _saw(14, 1.0), 0.09, 1.0, 0.85, 0.3, vibrato_hz=5.5, vibrato_depth=0.004, detune=0.003, gm_program=48
    ),
    "organ": Voice((1.0, 0.7, 0.35, 0.5, 0.0, 0.3, 0.0, 0.25), 0.02, 1.0, 1.0, 0.1, detune=0.0015, gm_program=19),
    "flute": Voice((1.0, 0.25, 0.12, 0.05), 0.06, 1.0, 0.9, 0.12, vibrato_hz=5.0, vibrato_depth=0.005, gm_program=73),
    "clarinet": Voice((1.0, 0.02, 0.5, 0.02, 0.3, 0.02, 0.15, 0.0, 0.08), 0.03, 1.0, 0.9, 0.1, gm_program=71),
    "guitar": Voice(_saw(8, 1.8), 0.003, 0.6, 0.0, 0.15, bright=_saw(14, 1.1), bright_s=0.12, gm_program=24),
    "harp": Voice(_saw(6, 2.2), 0.003, 1.2, 0.0, 0.4, bright=_saw(10, 1.5), bright_s=0.15, gm_program=46),
    "choir": Voice(
        (0.6, 1.0, 0.8, 0.3, 0.15, 0.2, 0.12, 0.05),
        0.15,
        1.0,
        0.9,
        0.3,
        vibrato_hz=4.8,
        vibrato_depth=0.006,
        detune=0.004,
        gm_program=52,
    ),
    "music box": Voice((1.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.1), 0.002, 0.5, 0.0, 0.3, gm_program=10),
}


@dataclass(frozen=True)
class SynthNote:
    """A note to render: start and length in seconds, MIDI pitch, velocity in (0, 1]."""

    start_s: float
    dur_s: float
    pitch: int
    velocity: float = 0.8


def _tables(harmonics: tuple[float, ...], sr: int) -> dict[int, np.ndarray]:
    """One single-cycle table per octave band (keyed by the band's top MIDI pitch), harmonics below Nyquist."""
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE * 2 * np.pi
    tables: dict[int, np.ndarray] = {}
    for top in range(35, 132, 12):
        f_top = 440.0 * 2 ** ((top - 69) / 12)
        table = np.zeros(TABLE_SIZE)
        for h, amp in enumerate(harmonics, start=1):
            if amp and h * f_top < sr / 2:
                table += amp * np.sin(h * phase)
        peak = np.abs(table).max()
        tables[top] = (table / peak if peak > 0 else table).astype(np.float32)
    return tables


def _band(tables: dict[int, np.ndarray], pitch: int) -> np.ndarray:
    for top in sorted(tables):
        if pitch <= top:
            return tables[top]
    return tables[max(tables)]


def _envelope(voice: Voice, t: np.ndarray, dur: float) -> np.ndarray:
    attack = np.minimum(1.0, t / max(voice.attack_s, 1e-4))
    body = voice.sustain + (1 - voice.sustain) * np.exp(-np.maximum(t - voice.attack_s, 0) / voice.decay_s)
    env = attack * body
    held = env[min(len(env) - 1, int(dur * SAMPLE_RATE))] if len(env) else 0.0
    release = t > dur
    env[release] = held * np.exp(-(t[release] - dur) / max(voice.release_s / 4, 1e-3))
    return env


def _comb(x: np.ndarray, delay: int, feedback: float) -> np.ndarray:
    """y[n] = x[n] + g·y[n-D], a block of D samples at a time (so the loop runs N/D times, not N)."""
    y = x.copy()
    for start in range(delay, len(y), delay):
        end = min(start + delay, len(y))
        y[start:end] += feedback * y[start - delay : end - delay]
    return y


def _allpass(x: np.ndarray, delay: int, g: float) -> np.ndarray:
    """y[n] = -g·x[n] + x[n-D] + g·y[n-D], blockwise like ``_comb``."""
    y = -g * x
    for start in range(delay, len(y), delay):
        end = min(start + delay, len(y))
        y[start:end] += x[start - delay : end - delay] + g * y[start - delay : end - delay]
    return y


def reverb(x: np.ndarray, sr: int, wet: float) -> np.ndarray:
    """Schroeder reverb (parallel combs, then allpasses), decorrelated left and right; returns (2, n)."""
    out = []
    for spread in (0.0, 0.0013):  # the right channel's delays are a little longer
        combs = [int((d + spread) * sr) for d in (0.0297, 0.0371, 0.0411, 0.0437)]
        acc = np.sum([_comb(x, d, 0.78) for d in combs], axis=0) / 4
        for d in (0.0125, 0.0089):  # long enough that the blockwise loop stays short
            acc = _allpass(acc, int((d + spread / 3) * sr), 0.6)
        out.append((1 - wet) * x + wet * acc)
    return np.stack(out)


def _note_wave(
    voice: Voice,
    tables: dict[int, np.ndarray],
    bright: dict[int, np.ndarray] | None,
    pitch: int,
    n: int,
    dur_s: float,
    sr: int,
) -> np.ndarray:
    """One note at unit gain with its envelope: ``n`` samples (the sounding part plus the release)."""
    t = np.arange(n, dtype=np.float32) / sr
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    if voice.vibrato_hz:
        # vibrato fades in after 0.2 s, as a player's would
        depth = voice.vibrato_depth * np.minimum(1.0, np.maximum(t - 0.2, 0) / 0.3)
        phase = freq * t + freq * depth * np.sin(2 * np.pi * voice.vibrato_hz * t) / (2 * np.pi * voice.vibrato_hz)
    else:
        phase = freq * t
    idx = ((phase * TABLE_SIZE) % TABLE_SIZE).astype(np.int32)
    wave = _band(tables, pitch)[idx]
    if bright is not None:
        mix = np.exp(-t / voice.bright_s)
        wave = wave + (_band(bright, pitch)[idx] - wave) * mix
    if voice.detune:
        idx2 = ((phase * (1 + voice.detune) * TABLE_SIZE) % TABLE_SIZE).astype(np.int32)
        wave = 0.6 * wave + 0.4 * _band(tables, pitch)[idx2]
    return (wave * _envelope(voice, t, dur_s)).astype(np.float32)


def render_notes(notes: list[SynthNote], instrument: str, sr: int = SAMPLE_RATE, wet: float = 0.22) -> np.ndarray:
    """Render ``notes`` with the built-in synthesiser; returns float32 (n, 2) in [-1, 1].

    Tunes repeat their (pitch, length) pairs a lot, so each distinct pair is synthesised once per call and
    reused at each note's own gain.
    """
    voice = VOICES[instrument]
    end_s = max((n.start_s + n.dur_s for n in notes), default=0.0) + voice.release_s + 0.5
    if end_s > MAX_RENDER_S:
        raise ValueError(f"refusing to render {end_s:.0f} s of audio; at most {MAX_RENDER_S:.0f} s")
    out = np.zeros(int(end_s * sr) + 1, dtype=np.float32)
    tables = _tables(voice.harmonics, sr)
    bright_tables = _tables(voice.bright, sr) if voice.bright else None
    rendered: dict[tuple[int, int], np.ndarray] = {}
    for note in notes:
        n = int((note.dur_s + voice.release_s) * sr)
        if n <= 0:
            continue
        key = (note.pitch, int(note.dur_s * sr))
        if key not in rendered:
            rendered[key] = _note_wave(voice, tables, bright_tables, note.pitch, n, note.dur_s, sr)
        wave = rendered[key]
        # low notes are quieter on most instruments' tables; a mild tilt keeps the bass from booming
        gain = note.velocity * (0.8 if note.pitch < 48 else 1.0)
        start = int(note.start_s * sr)
        seg = out[start : start + n]
        seg += gain * wave[: len(seg)]
    stereo = reverb(out, sr, wet)
    peak = float(np.abs(stereo).max())
    if peak > 0:
        stereo = stereo * (0.89 / peak)
    return stereo.T.astype(np.float32)


def find_soundfont() -> Path | None:
    """A General MIDI soundfont: ``$STUDIO_SOUNDFONT`` or a Debian package's usual path."""
    env = os.environ.get("STUDIO_SOUNDFONT")
    for p in ([env] if env else []) + list(SOUNDFONT_PATHS):
        if p and Path(p).is_file():
            return Path(p)
    return None


def fluidsynth_available() -> bool:
    """Whether the fluidsynth program and a GM soundfont are installed."""
    return shutil.which("fluidsynth") is not None and find_soundfont() is not None


def render_fluidsynth(midi: bytes, sr: int = SAMPLE_RATE, timeout_s: float = 120.0) -> np.ndarray:
    """Render MIDI bytes through the fluidsynth program; float32 (n, 2). Raises RuntimeError when it fails."""
    import soundfile as sf

    exe, sf2 = shutil.which("fluidsynth"), find_soundfont()
    if exe is None or sf2 is None:
        raise RuntimeError("fluidsynth or a General MIDI soundfont is not installed")
    with tempfile.TemporaryDirectory(prefix="studio-fs-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi)
        cmd = [exe, "-ni", "-g", "0.7", "-r", str(sr), "-F", str(wav), str(sf2), str(mid)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        if proc.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"fluidsynth failed: {proc.stderr.decode(errors='replace')[-300:]}")
        audio, _ = sf.read(str(wav), frames=int(MAX_RENDER_S * sr), dtype="float32", always_2d=True)
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    peak = float(np.abs(audio).max())
    return audio * (0.89 / peak) if peak > 0 else audio
