"""Parse the corpus that ships inside music21 into note events for the built-in music model.

Sources (all offline, inside the music21 wheel):

- Essen folk songs (``essenFolksong/*.abc``, ~8,500 monophonic tunes)  → style ``folk``
- Ryan's Mammoth and O'Neill's 1850 (reels, jigs, hornpipes, ~3,000)   → style ``dance`` (airs → ``folk``)
- Bach chorales (371, all four voices)                                  → style ``chorale``

Each piece becomes a :class:`Piece` of plain values: style, tempo class, key (tonic pitch class and mode),
metre and a list of notes ``(onset_tick, duration_tick, midi_pitch)`` on a grid of ``TICKS_PER_QUARTER``
ticks per quarter note, shifted so that tick 0 is the first downbeat after any pickup. Parsing takes
~0.01 s per abc tune and ~0.2 s per chorale, so ``python -m studio.training.music_corpus --out FILE``
parses once and caches the pieces as JSON lines; tokenisation (``studio.generators.music.tokens``) is fast
and runs at training time, so the token format can change without a re-parse.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from studio.generators.music.tokens import TICKS_PER_QUARTER

log = logging.getLogger(__name__)

# Tempo classes are conditioning tokens; the corpus rarely marks a tempo, so the class comes from the
# tune's rhythm field (R:) or a Q: marking, else from what is conventional for its style.
_TEMPO_WORDS: tuple[tuple[str, str], ...] = (
    ("wiegen", "slow"),
    ("klage", "slow"),
    ("religi", "slow"),
    ("geistlich", "slow"),
    ("air", "slow"),
    ("tanz", "fast"),
    ("reel", "fast"),
    ("jig", "fast"),
    ("fling", "fast"),
    ("clog", "fast"),
    ("polka", "fast"),
    ("hornpipe", "moderate"),
    ("strathspey", "moderate"),
    ("march", "moderate"),
    ("marsch", "moderate"),
    ("scherz", "fast"),
    ("lustig", "fast"),
)
_STYLE_TEMPO = {"folk": "moderate", "dance": "fast", "chorale": "slow"}


@dataclass
class Piece:
    """One tune as plain values, ready to be tokenised."""

    source: str
    title: str
    style: str
    tempo: str  # "slow" | "moderate" | "fast"
    tonic: int  # pitch class 0-11 (C = 0)
    mode: str  # "major" | "minor"
    metre: str  # "6/8"
    bar_ticks: int
    notes: list[tuple[int, int, int]]  # (onset_tick, duration_tick, midi_pitch), sorted by onset


def corpus_root() -> Path:
    """The folder of music21's bundled corpus."""
    import music21.corpus

    return Path(music21.corpus.__file__).parent


def tempo_class(rhythm_field: str, q_bpm: float | None, style: str) -> str:
    """Tempo class of a tune from its Q: marking, its R: field's words, or its style's convention."""
    if q_bpm is not None:
        return "slow" if q_bpm < 80 else "moderate" if q_bpm < 120 else "fast"
    low = rhythm_field.lower()
    for word, cls in _TEMPO_WORDS:
        if word in low:
            return cls
    return _STYLE_TEMPO[style]


def _header(tune: str, field_name: str) -> str:
    m = re.search(rf"^{field_name}:\s*(.*)$", tune, flags=re.MULTILINE)
    return m.group(1).strip() if m else ""


def _q_bpm(tune: str) -> float | None:
    m = re.search(r"^Q:\s*(?:\d+/\d+\s*=\s*)?(\d+)\s*$", tune, flags=re.MULTILINE)
    return float(m.group(1)) if m else None


def split_abc(text: str) -> list[str]:
    """Split an abc file into single tunes (each starting with its X: line)."""
    parts = re.split(r"(?m)^(?=X:)", text)
    return [p for p in parts if p.startswith("X:")]


def infer_key(notes: list[tuple[int, int, int]]) -> tuple[int, str]:
    """Tonic pitch class and mode of a tune from its notes alone.

    The tonic is the lowest pitch of the final onset (folk tunes and chorales end on it; Essen's ``K:`` names
    only the final, so its key signature says nothing about the mode). The mode is minor when the minor third
    above that tonic sounds longer than the major third.
    """
    last_onset = max(n[0] for n in notes)
    tonic = min(n[2] for n in notes if n[0] == last_onset) % 12
    weight = [0] * 12
    for _, dur, pitch in notes:
        weight[pitch % 12] += dur
    return tonic, "minor" if weight[(tonic + 3) % 12] > weight[(tonic + 4) % 12] else "major"


def score_to_piece(score: Any, source: str, title: str, style: str, tempo: str) -> Piece | None:
    """Turn a parsed music21 score into a ``Piece``; None when it has no usable metre or notes."""
    from music21 import meter

    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    if ts is None:
        return None
    # Old notations (4/2, 3/1) are re-barred in shorter note values (4/4, 3/2): the same music at twice the tempo.
    num, den, scale = ts.numerator, ts.denominator, 1.0
    while num * 4 / den > 6 and den < 8:
        den, scale = den * 2, scale / 2
    bar_ticks = round(num * 4 / den * TICKS_PER_QUARTER)
    if bar_ticks <= 0 or bar_ticks > 6 * TICKS_PER_QUARTER:
        return None
    stripped = score.stripTies(inPlace=True) or score
    parts = list(stripped.parts) or [stripped]
    measures = list(parts[0].getElementsByClass("Measure"))
    first_len = round(measures[0].duration.quarterLength * scale * TICKS_PER_QUARTER) if measures else bar_ticks
    shift = (bar_ticks - first_len) % bar_ticks  # a pickup bar starts this many ticks into its bar
    notes: list[tuple[int, int, int]] = []
    for part in parts:
        for el in part.flatten().notes:
            onset = round(float(el.offset) * scale * TICKS_PER_QUARTER) + shift
            dur = round(float(el.duration.quarterLength) * scale * TICKS_PER_QUARTER)
            if dur <= 0:
                continue  # grace notes
            for p in el.pitches:
                notes.append((onset, dur, int(p.midi)))
    if len(notes) < 8:
        return None
    notes.sort(key=lambda n: (n[0], -n[2]))
    tonic, mode = infer_key(notes)
    return Piece(source, title, style, tempo, tonic, mode, f"{num}/{den}", bar_ticks, notes)


def _fast_music21() -> None:
    """Skip music21's beaming while parsing: it is half the parse time and notes' beams are never used here."""
    from music21 import stream

    stream.Stream.makeBeams = lambda self, *a, **k: self  # type: ignore[method-assign]


ABC_GROUPS = {
    "essen": ("essenFolksong", "folk"),
    "ryans": ("ryansMammoth", "dance"),
    "oneills": ("oneills1850", "dance"),
}


def iter_abc_pieces(
    limit: int | None = None, groups: tuple[str, ...] = tuple(ABC_GROUPS), skip: frozenset[str] = frozenset()
) -> Iterator[Piece]:
    """Pieces from the abc collections (Essen, Ryan's Mammoth, O'Neill's 1850); ``skip`` names sources done."""
    from music21 import converter

    root = corpus_root()
    count = 0
    for source in groups:
        subdir, style = ABC_GROUPS[source]
        for path in sorted((root / subdir).glob("*.abc")):
            if path.stem.startswith("test") or f"{source}/{path.stem}" in skip:
                continue  # Essen's test files repeat tunes from the collections
            text = path.read_text(encoding="latin-1")
            for tune in split_abc(text):
                rhythm = _header(tune, "R")
                tune_style = "folk" if style == "dance" and "air" in rhythm.lower() else style
                tempo = tempo_class(rhythm, _q_bpm(tune), tune_style)
                try:
                    score = converter.parse(tune, format="abc")
                    piece = score_to_piece(score, f"{source}/{path.stem}", _header(tune, "T"), tune_style, tempo)
                except Exception as exc:
                    log.debug("skipped a tune in %s: %s", path.name, exc)
                    continue
                if piece is not None:
                    yield piece
                    count += 1
                    if limit is not None and count >= limit:
                        return


def iter_chorales(limit: int | None = None) -> Iterator[Piece]:
    """Bach chorales, all voices."""
    from music21 import corpus

    for i, score in enumerate(corpus.chorales.Iterator(returnType="stream")):
        if limit is not None and i >= limit:
            return
        title = str(getattr(score.metadata, "title", "") or "")
        try:
            piece = score_to_piece(score, "bach-chorales", title, "chorale", "slow")
        except (ValueError, AttributeError, IndexError) as exc:
            log.debug("skipped a chorale: %s", exc)
            continue
        if piece is not None:
            yield piece


def load_pieces(path: Path) -> list[Piece]:
    """Read pieces cached by ``main`` (JSON lines)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            d["notes"] = [tuple(n) for n in d["notes"]]
            out.append(Piece(**d))
    return out


def main(argv: list[str] | None = None) -> None:
    """Parse the corpus once and write JSON lines to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/music_corpus.jsonl"))
    ap.add_argument("--limit", type=int, default=None, help="at most this many pieces per group (for a quick test)")
    ap.add_argument("--groups", default="chorales,essen,ryans,oneills", help="comma-separated collections")
    ap.add_argument("--skip", type=Path, default=None, help="a JSONL of pieces parsed before: skip their sources")
    args = ap.parse_args(argv)
    _fast_music21()
    groups = args.groups.split(",")
    skip: frozenset[str] = frozenset()
    if args.skip is not None:
        skip = frozenset(p.source for p in load_pieces(args.skip))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.time()
    tmp = args.out.with_suffix(".partial")
    counts: dict[str, int] = {}
    with tmp.open("w", encoding="utf-8") as fh:
        iters = [iter_chorales(args.limit)] if "chorales" in groups else []
        iters.append(iter_abc_pieces(args.limit, tuple(g for g in groups if g in ABC_GROUPS), skip))
        for it in iters:
            for piece in it:
                fh.write(json.dumps(asdict(piece)) + "\n")
                counts[piece.style] = counts.get(piece.style, 0) + 1
                if sum(counts.values()) % 500 == 0:
                    log.info("%d pieces (%s) in %.0f s", sum(counts.values()), counts, time.time() - t0)
    tmp.replace(args.out)
    log.info("done: %d pieces %s in %.0f s -> %s", sum(counts.values()), counts, time.time() - t0, args.out)


if __name__ == "__main__":
    main()
