"""Symbolic music metrics for the built-in model's evaluation (pure functions of notes on the tick grid).

- ``in_key_ratio``: share of notes whose pitch class belongs to the requested key's scale (minor counts the
  natural and harmonic forms, so the raised leading tone is in key).
- ``pc_histogram`` / ``histogram_distance``: duration-weighted pitch-class histogram relative to the tonic, and
  the total-variation distance between two of them (0 = identical, 1 = disjoint).
- ``estimate_key``: Krumhansl–Kessler key finding (correlation with the 24 rotated key profiles).
- rhythm: ``on_beat_ratio`` (onsets on the metre's beats), ``bar_rhythm_similarity`` (Jaccard similarity of
  the onset positions of consecutive bars: repeated rhythmic cells score high), ``downbeat_ratio``.
- ``MetreClassifier``: 6/8 or 3/4 from the rhythm of a piece in 36-tick bars (fitted on the corpus).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from studio.generators.music.tokens import TICKS_PER_QUARTER, Note

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)
# Krumhansl & Kessler (1982) probe-tone profiles
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def in_key_ratio(notes: Sequence[Note], tonic: int, mode: str) -> float:
    """Share of notes in the scale of (tonic, mode)."""
    if not notes:
        return 0.0
    scale = {(tonic + s) % 12 for s in (MAJOR_SCALE if mode == "major" else MINOR_SCALE)}
    return sum(1 for n in notes if n.pitch % 12 in scale) / len(notes)


def pc_histogram(notes: Sequence[Note], tonic: int) -> np.ndarray:
    """Duration-weighted pitch-class histogram, rotated so the tonic is bin 0; sums to 1 (zeros if no notes)."""
    h = np.zeros(12)
    for n in notes:
        h[(n.pitch - tonic) % 12] += n.duration
    total = h.sum()
    return h / total if total > 0 else h


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two normalised histograms."""
    return float(0.5 * np.abs(a - b).sum())


def estimate_key(notes: Sequence[Note]) -> tuple[int, str]:
    """(tonic, mode) whose Krumhansl–Kessler profile best correlates with the duration-weighted histogram."""
    h = pc_histogram(notes, 0)
    best, key = -2.0, (0, "major")
    for tonic in range(12):
        for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            r = float(np.corrcoef(h, np.roll(profile, tonic))[0, 1]) if h.any() else 0.0
            if r > best:
                best, key = r, (tonic, mode)
    return key


def beat_ticks(metre: str) -> int:
    """Ticks per beat: a dotted quarter in compound metres, a half in x/2, else a quarter."""
    num, den = (int(x) for x in metre.split("/"))
    if den == 8 and num % 3 == 0:
        return TICKS_PER_QUARTER * 3 // 2
    return TICKS_PER_QUARTER * 4 // den


def on_beat_ratio(notes: Sequence[Note], bar_ticks: int, metre: str) -> float:
    """Share of distinct onsets that fall on a beat of ``metre``."""
    onsets = sorted({n.onset for n in notes})
    if not onsets:
        return 0.0
    beat = beat_ticks(metre)
    return sum(1 for o in onsets if (o % bar_ticks) % beat == 0) / len(onsets)


def downbeat_ratio(notes: Sequence[Note], bar_ticks: int) -> float:
    """Share of bars (from the first to the last onset) that have an onset on their downbeat."""
    onsets = {n.onset for n in notes}
    if not onsets:
        return 0.0
    bars = range(min(onsets) // bar_ticks, max(onsets) // bar_ticks + 1)
    return sum(1 for b in bars if b * bar_ticks in onsets) / len(bars)


def bar_rhythm_similarity(notes: Sequence[Note], bar_ticks: int) -> float:
    """Mean Jaccard similarity of the onset-position sets of consecutive bars (1 = the same rhythm each bar)."""
    by_bar: dict[int, set[int]] = {}
    for n in notes:
        by_bar.setdefault(n.onset // bar_ticks, set()).add(n.onset % bar_ticks)
    bars = [by_bar.get(b, set()) for b in range(min(by_bar, default=0), max(by_bar, default=-1) + 1)]
    sims = [len(a & b) / len(a | b) for a, b in pairwise(bars) if a | b]
    return float(np.mean(sims)) if sims else 0.0


def _rhythm_features(notes: Sequence[Note], bar_ticks: int) -> list[int]:
    """One feature per note: (onset position in 3-tick steps, duration bucket), as a single integer."""
    return [((n.onset % bar_ticks) // 3) * 8 + min(n.duration // 6, 7) for n in notes]


class MetreClassifier:
    """Tells 6/8 from 3/4 (both 36-tick bars) by naive Bayes over (onset position, duration) of each note.

    Fitted on corpus pieces; the bar length alone cannot tell these metres apart, the rhythm can (3/4 moves in
    quarters on 0, 12, 24; 6/8 in dotted quarters and quarter-eighth pairs on 0 and 18).
    """

    def __init__(self, examples: Sequence[tuple[str, Sequence[Note]]]) -> None:
        counts = {m: np.ones(12 * 8) for m in ("3/4", "6/8")}  # add-one smoothing
        for metre, notes in examples:
            if metre in counts:
                for f in _rhythm_features(notes, 36):
                    counts[metre][f] += 1
        self.log_p = {m: np.log(c / c.sum()) for m, c in counts.items()}

    def predict(self, notes: Sequence[Note]) -> str:
        """ "6/8" or "3/4" for notes in 36-tick bars."""
        feats = _rhythm_features(notes, 36)
        score = sum(self.log_p["6/8"][f] - self.log_p["3/4"][f] for f in feats)
        return "6/8" if score > 0 else "3/4"


def notes_per_beat(notes: Sequence[Note], bar_ticks: int, metre: str) -> float:
    """Distinct onsets per beat: rhythmic density, independent of the playback tempo."""
    onsets = {n.onset for n in notes}
    if not onsets:
        return 0.0
    span_beats = (max(onsets) // bar_ticks + 1) * bar_ticks / beat_ticks(metre)
    return len(onsets) / span_beats
