"""The built-in music model's token vocabulary: a REMI-like event language with control tokens.

A piece reads::

    BOS STYLE_folk KEY_D MODE_minor METRE_6/8 TEMPO_slow
    BAR POS_0 REL_+0 DUR_6 POS_6 REL_+3 DUR_6 ... BAR ... EOS

Times are in ticks, ``TICKS_PER_QUARTER`` to a quarter note. ``POS_t`` is the onset within the bar; several
``REL DUR`` pairs may follow one ``POS`` (chords, the four voices of a chorale: highest first). Durations
snap to the nearest value in ``DURATIONS``.

Pitches are written relative to the key: ``REL_k`` is ``k`` semitones from the tonic nearest middle C
(``tonic_ref``: F#3..F4). The same tune in any key is the same ``REL`` sequence, so what the model learns about
scale degrees holds in every key, and the KEY token is followed by construction (the decoder adds the tonic
back). The same module is used by training (``studio/training``) and by generation, so the vocabulary lives in
exactly one place; it is saved beside the weights as ``vocab.json``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TICKS_PER_QUARTER = 12
MAX_BAR_TICKS = 6 * TICKS_PER_QUARTER  # 12/8, 6/4 and 3/2 bars are the longest kept
PITCH_MIN, PITCH_MAX = 24, 108  # absolute MIDI range the decoder may produce (C1 .. C8)
REL_MIN, REL_MAX = -30, 36  # semitones from ``tonic_ref``: about two and a half octaves down, three up
DURATIONS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 9, 12, 15, 16, 18, 24, 30, 36, 42, 48, 60, 72, 96, 120, 144)
STYLES: tuple[str, ...] = ("folk", "dance", "chorale")
MODES: tuple[str, ...] = ("major", "minor")
METRES: tuple[str, ...] = ("2/4", "3/4", "4/4", "2/2", "3/2", "3/8", "6/8", "9/8", "12/8", "6/4")
TEMPOS: tuple[str, ...] = ("slow", "moderate", "fast")
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SPECIALS: tuple[str, ...] = ("PAD", "BOS", "EOS", "BAR")
HEADER_LEN = 6  # BOS STYLE KEY MODE METRE TEMPO


def tonic_ref(tonic: int) -> int:
    """The MIDI pitch of the tonic nearest middle C (F#3 = 54 .. F4 = 65) that ``REL_0`` stands for."""
    return 60 + (tonic + 6) % 12 - 6


def metre_bar_ticks(metre: str) -> int:
    """Ticks in one bar of ``metre`` ("6/8" → 36)."""
    num, den = (int(x) for x in metre.split("/"))
    return num * TICKS_PER_QUARTER * 4 // den


@dataclass(frozen=True)
class Controls:
    """What the header tokens say: style, key (tonic pitch class), mode, metre and tempo class."""

    style: str = "folk"
    tonic: int = 0
    mode: str = "major"
    metre: str = "4/4"
    tempo: str = "moderate"


@dataclass(frozen=True)
class Note:
    """A decoded note: onset and duration in ticks, MIDI pitch."""

    onset: int
    duration: int
    pitch: int


class Vocab:
    """Token ↔ id tables and encode/decode between notes and token ids."""

    def __init__(self) -> None:
        names: list[str] = list(SPECIALS)
        names += [f"STYLE_{s}" for s in STYLES]
        names += [f"KEY_{k}" for k in KEY_NAMES]
        names += [f"MODE_{m}" for m in MODES]
        names += [f"METRE_{m}" for m in METRES]
        names += [f"TEMPO_{t}" for t in TEMPOS]
        names += [f"POS_{p}" for p in range(MAX_BAR_TICKS)]
        names += [f"REL_{r:+d}" for r in range(REL_MIN, REL_MAX + 1)]
        names += [f"DUR_{d}" for d in DURATIONS]
        self.names: tuple[str, ...] = tuple(names)
        self.ids: dict[str, int] = {n: i for i, n in enumerate(names)}
        self.pad, self.bos, self.eos, self.bar = (self.ids[s] for s in SPECIALS)
        self.pos0 = self.ids["POS_0"]
        self.pitch0 = self.ids[f"REL_{REL_MIN:+d}"]
        self.n_pitch = REL_MAX - REL_MIN + 1
        self.dur0 = self.ids[f"DUR_{DURATIONS[0]}"]

    def __len__(self) -> int:
        return len(self.names)

    # --- kinds of ids, for the sampler's grammar -------------------------------------------------
    def is_pos(self, i: int) -> bool:
        return self.pos0 <= i < self.pos0 + MAX_BAR_TICKS

    def is_pitch(self, i: int) -> bool:
        return self.pitch0 <= i < self.pitch0 + self.n_pitch

    def pitch_id(self, pitch: int, tonic: int) -> int | None:
        """The ``REL`` id of MIDI ``pitch`` in a key with ``tonic``; None when out of range."""
        rel = pitch - tonic_ref(tonic)
        return self.pitch0 + rel - REL_MIN if REL_MIN <= rel <= REL_MAX else None

    def pitch_of(self, i: int, tonic: int) -> int:
        """The MIDI pitch of ``REL`` id ``i`` in a key with ``tonic``."""
        return tonic_ref(tonic) + REL_MIN + i - self.pitch0

    def is_dur(self, i: int) -> bool:
        return self.dur0 <= i < self.dur0 + len(DURATIONS)

    # --- encoding --------------------------------------------------------------------------------
    def header(self, c: Controls) -> list[int]:
        """The six header ids for controls ``c``."""
        return [
            self.bos,
            self.ids[f"STYLE_{c.style}"],
            self.ids[f"KEY_{KEY_NAMES[c.tonic % 12]}"],
            self.ids[f"MODE_{c.mode}"],
            self.ids[f"METRE_{c.metre}"],
            self.ids[f"TEMPO_{c.tempo}"],
        ]

    def encode(self, controls: Controls, notes: Iterable[tuple[int, int, int]], eos: bool = True) -> list[int]:
        """Header + events for ``notes`` (onset, duration, pitch) with onset 0 on a downbeat."""
        bar_ticks = metre_bar_ticks(controls.metre)
        out = self.header(controls)
        bar, pos = -1, -1
        for onset, dur, pitch in sorted(notes, key=lambda n: (n[0], -n[2])):
            pid = self.pitch_id(pitch, controls.tonic)
            if pid is None or onset < 0:
                continue
            b, p = divmod(onset, bar_ticks)
            while bar < b:
                out.append(self.bar)
                bar, pos = bar + 1, -1
            if p != pos:
                out.append(self.pos0 + p)
                pos = p
            out.append(pid)
            out.append(self.dur0 + snap_duration(dur))
        if eos:
            out.append(self.eos)
        return out

    # --- decoding --------------------------------------------------------------------------------
    def controls_of(self, ids: Sequence[int]) -> Controls:
        """Read the controls back from a header."""
        names = [self.names[i] for i in ids[1:HEADER_LEN]]
        return Controls(
            style=names[0].removeprefix("STYLE_"),
            tonic=KEY_NAMES.index(names[1].removeprefix("KEY_")),
            mode=names[2].removeprefix("MODE_"),
            metre=names[3].removeprefix("METRE_"),
            tempo=names[4].removeprefix("TEMPO_"),
        )

    def decode(self, ids: Sequence[int], bar_ticks: int, tonic: int) -> list[Note]:
        """Notes from event ids in a key with ``tonic`` (header ids and anything out of grammar are skipped)."""
        notes: list[Note] = []
        bar, pos, pitch = -1, 0, None
        for i in ids:
            if i == self.eos:
                break
            if i == self.bar:
                bar, pos, pitch = bar + 1, 0, None
            elif self.is_pos(i):
                pos, pitch = i - self.pos0, None
            elif self.is_pitch(i):
                pitch = self.pitch_of(i, tonic)
            elif self.is_dur(i) and pitch is not None:
                notes.append(Note(max(bar, 0) * bar_ticks + pos, DURATIONS[i - self.dur0], pitch))
                pitch = None
        return notes

    def bars_in(self, ids: Sequence[int]) -> int:
        """How many BAR tokens ``ids`` holds."""
        return sum(1 for i in ids if i == self.bar)

    def to_json(self) -> dict[str, object]:
        """The vocabulary as saved beside the weights (``vocab.json``)."""
        return {
            "format": "studio-remi-v2",
            "ticks_per_quarter": TICKS_PER_QUARTER,
            "tokens": list(self.names),
        }


def snap_duration(ticks: int) -> int:
    """Index in ``DURATIONS`` of the value nearest ``ticks`` on a log scale."""
    ticks = max(1, ticks)
    j = bisect.bisect_left(DURATIONS, ticks)
    if j == 0:
        return 0
    if j == len(DURATIONS):
        return len(DURATIONS) - 1
    lo, hi = DURATIONS[j - 1], DURATIONS[j]
    return j if math.log(hi / ticks) < math.log(ticks / lo) else j - 1
