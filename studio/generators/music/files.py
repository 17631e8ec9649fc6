"""The built-in model's output files: MIDI (with its controls inside, so "extend" can pick a piece up again), a
piano-roll picture, and WAV bytes; plus reading MIDI and audio uploads with clear errors.
"""

from __future__ import annotations

import io
import json
import logging
import math
import struct
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from studio.generators.music.prompt import INSTRUMENTS
from studio.generators.music.tokens import (
    METRES,
    MODES,
    STYLES,
    TEMPOS,
    TICKS_PER_QUARTER,
    Controls,
    Note,
    metre_bar_ticks,
)
from studio.params import ParamError

log = logging.getLogger(__name__)

MIDI_META_PREFIX = "studio-music:"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_MELODY_SECONDS = 60.0
# The longest piece the built-in model makes (``MusicParams.duration_s``), and its tempo range: an extended piece
# (the upload plus what is added) must fit in the same bound.
MAX_PIECE_S = 300.0
MIN_BPM, MAX_BPM = 30.0, 300.0
# mido parses a MIDI file into Python objects (1 MiB of events took 9 s and 90 MB here), so its size is bounded
# well below other uploads: a 5-minute piece from the studio is ~10 kB.
MAX_MIDI_BYTES = 256 * 1024
MAX_MIDI_TRACKS = 64
MAX_MIDI_MESSAGES = 50_000
# Audio is refused by its header (channels, rate, length) before a sample is decoded, then decoded no further
# than the length allowed, in blocks averaged to mono, whatever the header said.
MAX_AUDIO_CHANNELS = 8
MIN_AUDIO_RATE, MAX_AUDIO_RATE = 4000, 192_000
AUDIO_BLOCK_FRAMES = 65536


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
    """Notes (on this module's tick grid) and the studio's controls from MIDI bytes; raises ParamError if bad.

    Only bounded work is done before a refusal: the header is checked by hand (tick division, track count), the
    file's size and message count are capped, and nothing is rendered here. How long the notes last is the
    caller's to judge (``piece_seconds``), since it depends on the tempo the piece is continued at.
    """
    import mido

    if len(data) > MAX_MIDI_BYTES:
        limit = MAX_MIDI_BYTES // 1024
        raise ParamError("extend_from", f"is {len(data) // 1024} KiB; MIDI files of at most {limit} KiB")
    _check_midi_header(data)
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        IndexError,
        TypeError,
        struct.error,
        mido.KeySignatureError,
    ) as exc:
        raise ParamError("extend_from", f"is not a readable MIDI file ({type(exc).__name__})") from None
    n_messages = sum(len(t) for t in mid.tracks)
    if n_messages > MAX_MIDI_MESSAGES:
        raise ParamError("extend_from", f"holds {n_messages} MIDI events; at most {MAX_MIDI_MESSAGES}")
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


def _check_midi_header(data: bytes) -> None:
    """Refuse a MIDI header mido would accept but the studio cannot use: 0 ticks per beat, SMPTE time, too many
    tracks. (``MThd``, length, format, tracks, division: big-endian.)"""
    if len(data) < 14 or data[:4] != b"MThd":
        raise ParamError("extend_from", "is not a readable MIDI file (no MThd header)")
    _fmt, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:
        raise ParamError("extend_from", "counts time in SMPTE frames; only files timed in ticks per beat are read")
    if division == 0:
        raise ParamError("extend_from", "says 0 ticks per beat; a MIDI file needs at least 1")
    if n_tracks > MAX_MIDI_TRACKS:
        raise ParamError("extend_from", f"has {n_tracks} tracks; at most {MAX_MIDI_TRACKS}")


def piece_seconds(notes: list[Note], quarter_bpm: float) -> float:
    """How long ``notes`` last at ``quarter_bpm`` (from the first tick to the end of the last note)."""
    end = max((n.onset + n.duration for n in notes), default=0)
    return end * 60.0 / quarter_bpm / TICKS_PER_QUARTER


def _parse_info(text: str) -> PieceInfo | None:
    """The studio's controls from its text event; None (ignored) if malformed, ParamError if out of range."""
    try:
        d = json.loads(text)
        info = PieceInfo(Controls(**d["controls"]), float(d["tempo_bpm"]), float(d["quarter_bpm"]), d["instrument"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        log.info("ignored a malformed studio text event in a MIDI file: %s", type(exc).__name__)
        return None
    c = info.controls
    allowed = (
        (c.style in STYLES, f"style {c.style!r}", ", ".join(STYLES)),
        (c.mode in MODES, f"mode {c.mode!r}", ", ".join(MODES)),
        (c.metre in METRES, f"metre {c.metre!r}", ", ".join(METRES)),
        (c.tempo in TEMPOS, f"tempo {c.tempo!r}", ", ".join(TEMPOS)),
        (isinstance(c.tonic, int) and 0 <= c.tonic < 12, f"tonic {c.tonic!r}", "0 to 11"),
        (info.instrument in INSTRUMENTS, f"instrument {info.instrument!r}", ", ".join(INSTRUMENTS)),
        (
            math.isfinite(info.tempo_bpm) and MIN_BPM <= info.tempo_bpm <= MAX_BPM,
            f"tempo {info.tempo_bpm:g} BPM",
            f"{MIN_BPM:g} to {MAX_BPM:g} BPM",
        ),
    )
    for ok, what, choices in allowed:
        if not ok:
            raise ParamError("extend_from", f"its studio controls say {what}; allowed: {choices}")
    return info


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV of float audio (n, channels)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1, 1), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def read_audio(data: bytes, field: str, max_seconds: float = MAX_MELODY_SECONDS) -> tuple[np.ndarray, int]:
    """Mono float32 audio and its rate from uploaded bytes; ParamError naming ``field`` when it is unusable.

    The header's channels, rate and length are judged before a sample is decoded; then no more frames than the
    header claims and ``max_seconds`` allows are decoded (a header that understates its length gets what it
    claimed), in blocks averaged to mono, so no header can make this allocate more than the allowed audio.
    """
    import soundfile as sf

    if len(data) > MAX_UPLOAD_BYTES:
        raise ParamError(field, f"is {len(data) // 1024} KiB; at most {MAX_UPLOAD_BYTES // 1024} KiB are allowed")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr = int(f.samplerate)
            _check_audio_header(field, f.channels, sr, f.frames, max_seconds)
            limit = min(f.frames, math.floor(max_seconds * sr))
            blocks = [
                b.mean(axis=1) for b in f.blocks(AUDIO_BLOCK_FRAMES, dtype="float32", always_2d=True, frames=limit)
            ]
    except ParamError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        # libsndfile's message names the in-memory file object ("Error opening <_io.BytesIO object at 0x..>: ...");
        # the reason after the colon is what the visitor needs.
        reason = str(exc).rsplit(": ", 1)[-1].strip() or type(exc).__name__
        raise ParamError(field, f"is not readable audio (WAV, FLAC or OGG): {reason}") from None
    mono = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if mono.size == 0:
        raise ParamError(field, "holds no samples")
    if not np.isfinite(mono).all():
        raise ParamError(field, "holds NaN or infinite samples")
    return mono, sr


def _check_audio_header(field: str, channels: int, rate: int, frames: int, max_seconds: float) -> None:
    """Refuse audio by what its header claims, before decoding any of it."""
    if not 1 <= channels <= MAX_AUDIO_CHANNELS:
        raise ParamError(field, f"has {channels} channels; at most {MAX_AUDIO_CHANNELS} are allowed")
    if not MIN_AUDIO_RATE <= rate <= MAX_AUDIO_RATE:
        raise ParamError(field, f"is sampled at {rate} Hz; {MIN_AUDIO_RATE} to {MAX_AUDIO_RATE} Hz are allowed")
    if frames / rate > max_seconds:
        raise ParamError(field, f"is {frames / rate:.0f} s long by its header; at most {max_seconds:.0f} s are allowed")


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
