"""The built-in model's output files: MIDI (with its controls inside, so "extend" can pick a piece up again), a
piano-roll picture, and WAV bytes; plus reading MIDI and audio uploads with clear errors.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from studio.generators.music_tokens import TICKS_PER_QUARTER, Controls, Note, metre_bar_ticks
from studio.params import ParamError

log = logging.getLogger(__name__)

MIDI_META_PREFIX = "studio-music:"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_MELODY_SECONDS = 60.0


@dataclass(frozen=True)
class PieceInfo:
    """What a MIDI file from the studio says about itself (written as a text meta event)."""

    controls: Controls
    tempo_bpm: float  # beats per minute of the metre's beat
    quarter_bpm: float
    instrument: str


def notes_to_midi(notes: list[Note], info: PieceInfo, gm_program: int) -> bytes:
    """A type-1 MIDI file of ``notes`` with tempo, metre, key and the studio's controls as a text event."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER * 40)
    scale = mid.ticks_per_beat // TICKS_PER_QUARTER
    meta = mido.MidiTrack()
    num, den = (int(x) for x in info.controls.metre.split("/"))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(info.quarter_bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    key = _midi_key_name(info.controls.tonic, info.controls.mode)
    meta.append(mido.MetaMessage("key_signature", key=key, time=0))
    payload = {
        "controls": asdict(info.controls),
        "tempo_bpm": info.tempo_bpm,
        "quarter_bpm": info.quarter_bpm,
        "instrument": info.instrument,
    }
    meta.append(mido.MetaMessage("text", text=MIDI_META_PREFIX + json.dumps(payload), time=0))
    mid.tracks.append(meta)
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", program=gm_program, channel=0, time=0))
    events: list[tuple[int, int, int, int]] = []  # (tick, order, pitch, velocity); note-offs sort first
    bar_ticks = metre_bar_ticks(info.controls.metre)
    for n in notes:
        vel = velocity_of(n, bar_ticks)
        events.append((n.onset * scale, 1, n.pitch, int(vel * 127)))
        events.append(((n.onset + n.duration) * scale - 1, 0, n.pitch, 0))
    events.sort()
    now = 0
    for tick, _, pitch, vel in events:
        kind = "note_on" if vel > 0 else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=vel, channel=0, time=max(0, tick - now)))
        now = max(now, tick)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _midi_key_name(tonic: int, mode: str) -> str:
    names = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return names[tonic % 12] + ("m" if mode == "minor" else "")


def velocity_of(note: Note, bar_ticks: int) -> float:
    """A little metrical accent: downbeats louder than offbeats, so the synthesised line breathes."""
    pos = note.onset % bar_ticks
    if pos == 0:
        return 0.9
    if pos % TICKS_PER_QUARTER == 0:
        return 0.78
    return 0.68


def read_midi(data: bytes) -> tuple[list[Note], PieceInfo | None]:
    """Notes (on this module's tick grid) and the studio's controls from MIDI bytes; raises ParamError if bad."""
    import mido

    if len(data) > MAX_UPLOAD_BYTES:
        raise ParamError("extend_from", f"is {len(data) // 1024} KiB; at most {MAX_UPLOAD_BYTES // 1024} KiB")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise ParamError("extend_from", f"is not a readable MIDI file ({exc or type(exc).__name__})") from None
    info: PieceInfo | None = None
    scale = mid.ticks_per_beat / TICKS_PER_QUARTER
    notes: list[Note] = []
    for track in mid.tracks:
        now, started = 0, {}
        for msg in track:
            now += msg.time
            if msg.type == "text" and msg.text.startswith(MIDI_META_PREFIX):
                info = _parse_info(msg.text[len(MIDI_META_PREFIX) :])
            elif msg.type == "note_on" and msg.velocity > 0:
                started[msg.note] = now
            elif msg.type in ("note_off", "note_on") and msg.note in started:
                on = started.pop(msg.note)
                onset = round(on / scale)
                notes.append(Note(onset, max(1, round((now + 1 - on) / scale)), msg.note))
    notes.sort(key=lambda n: (n.onset, -n.pitch))
    return notes, info


def _parse_info(text: str) -> PieceInfo | None:
    try:
        d = json.loads(text)
        return PieceInfo(Controls(**d["controls"]), float(d["tempo_bpm"]), float(d["quarter_bpm"]), d["instrument"])
    except (ValueError, KeyError, TypeError) as exc:
        log.info("ignored a malformed studio text event in a MIDI file: %s", exc)
        return None


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV of float audio (n, channels)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1, 1), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def read_audio(data: bytes, field: str, max_seconds: float = MAX_MELODY_SECONDS) -> tuple[np.ndarray, int]:
    """Mono float32 audio and its rate from uploaded bytes; ParamError naming ``field`` when it is unusable."""
    import soundfile as sf

    if len(data) > MAX_UPLOAD_BYTES:
        raise ParamError(field, f"is {len(data) // 1024} KiB; at most {MAX_UPLOAD_BYTES // 1024} KiB are allowed")
    try:
        audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        # libsndfile's message names the in-memory file object ("Error opening <_io.BytesIO object at 0x..>: ...");
        # the reason after the colon is what the visitor needs.
        reason = str(exc).rsplit(": ", 1)[-1].strip() or type(exc).__name__
        raise ParamError(field, f"is not readable audio (WAV, FLAC or OGG): {reason}") from None
    if audio.shape[0] == 0:
        raise ParamError(field, "holds no samples")
    if audio.shape[0] / sr > max_seconds:
        raise ParamError(field, f"is {audio.shape[0] / sr:.0f} s long; at most {max_seconds:.0f} s are allowed")
    mono = audio.mean(axis=1)
    if not np.isfinite(mono).all():
        raise ParamError(field, "holds NaN or infinite samples")
    return mono, int(sr)


def piano_roll_png(notes: list[Note], bar_ticks: int, title: str = "", width: int = 1200) -> bytes:
    """A piano-roll picture as PNG bytes (see ``piano_roll_image``)."""
    return _png(piano_roll_image(notes, bar_ticks, title, width))


def piano_roll_image(notes: list[Note], bar_ticks: int, title: str = "", width: int = 1200) -> Any:
    """A piano-roll PIL image: time left to right, pitch bottom to top, bar lines, notes coloured by velocity."""
    from PIL import Image, ImageDraw

    height = 360
    margin_l, margin_t, margin_b = 40, 24, 16
    img = Image.new("RGB", (width, height), (250, 248, 243))
    draw = ImageDraw.Draw(img)
    if not notes:
        draw.text((margin_l, height // 2), "no notes", fill=(90, 90, 90))
        return img
    end = max(n.onset + n.duration for n in notes)
    lo = min(n.pitch for n in notes) - 2
    hi = max(n.pitch for n in notes) + 2
    plot_w, plot_h = width - margin_l - 8, height - margin_t - margin_b
    x_of = lambda tick: margin_l + plot_w * tick / max(end, 1)  # noqa: E731 - tiny local mapping
    row = plot_h / (hi - lo + 1)
    for p in range(lo, hi + 1):
        if p % 12 in (1, 3, 6, 8, 10):
            y = margin_t + (hi - p) * row
            draw.rectangle([margin_l, y, width - 8, y + row], fill=(238, 235, 228))
        if p % 12 == 0:
            y = margin_t + (hi - p + 1) * row
            draw.text((4, y - 10), f"C{p // 12 - 1}", fill=(120, 120, 120))
    for b in range(0, end + 1, bar_ticks):
        draw.line([x_of(b), margin_t, x_of(b), height - margin_b], fill=(200, 195, 185))
    for n in notes:
        v = velocity_of(n, bar_ticks)
        shade = int(200 - 170 * (v - 0.6) / 0.3)
        y = margin_t + (hi - n.pitch) * row
        draw.rectangle(
            [x_of(n.onset), y + 1, max(x_of(n.onset) + 2, x_of(n.onset + n.duration) - 1), y + row - 1],
            fill=(40, 90, shade),
            outline=(20, 50, 110),
        )
    if title:
        draw.text((margin_l, 4), title[:140], fill=(60, 60, 60))
    return img


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
