"""Training data for the built-in music model: split, transpose, tokenise and batch the parsed corpus.

Pieces come from ``studio.training.music_corpus`` (parsed once, cached as JSON lines). Every draw picks a
style (balanced, since the 371 chorales would otherwise be drowned by 8,000 folk tunes), a piece, a random
transposition (pitches are written relative to the tonic, so this varies the register and the KEY token, not the
melody's tokens) and, for long pieces, a window that starts on a bar line with the header re-attached in front.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studio.generators.music.tokens import HEADER_LEN, METRES, REL_MAX, REL_MIN, Controls, Vocab, tonic_ref
from studio.training.music_corpus import Piece, infer_key

STYLE_WEIGHTS = {"folk": 0.45, "dance": 0.33, "chorale": 0.22}


@dataclass
class Split:
    """Pieces for training and held-out pieces for validation and evaluation."""

    train: list[Piece]
    held_out: list[Piece]


def usable(piece: Piece) -> bool:
    """Whether the vocabulary can express the piece (known metre, pitches in range in some transposition)."""
    return piece.metre in METRES and bool(piece.notes) and bool(legal_shifts(piece))


def split_pieces(pieces: Sequence[Piece], held_out_percent: int = 4) -> Split:
    """Deterministic split by a hash of source and title (so re-parsing keeps the same split)."""
    train: list[Piece] = []
    held: list[Piece] = []
    for i, p in enumerate(pieces):
        if not usable(p):
            continue
        h = int(hashlib.sha256(f"{p.source}|{p.title}|{i}".encode()).hexdigest()[:8], 16)
        (held if h % 100 < held_out_percent else train).append(p)
    return Split(train, held)


def controls_of(piece: Piece, shift: int = 0) -> Controls:
    """The control tokens for ``piece`` transposed by ``shift`` semitones (key re-inferred from the notes)."""
    tonic, mode = infer_key(piece.notes)
    return Controls(piece.style, (tonic + shift) % 12, mode, piece.metre, piece.tempo)


def encode_piece(vocab: Vocab, piece: Piece, shift: int = 0) -> list[int]:
    """Token ids of ``piece`` transposed by ``shift`` semitones."""
    notes = [(o, d, p + shift) for o, d, p in piece.notes]
    return vocab.encode(controls_of(piece, shift), notes)


def legal_shifts(piece: Piece) -> list[int]:
    """Transpositions in [-6, 5] that keep every pitch inside the vocabulary's range around the new tonic."""
    tonic, _ = infer_key(piece.notes)
    lo = min(n[2] for n in piece.notes)
    hi = max(n[2] for n in piece.notes)
    out = []
    for s in range(-6, 6):
        ref = tonic_ref(tonic + s)
        if lo + s - ref >= REL_MIN and hi + s - ref <= REL_MAX:
            out.append(s)
    return out


def window(vocab: Vocab, ids: list[int], length: int, rng: np.random.Generator) -> list[int]:
    """At most ``length`` ids: the header, then the events from a random bar line on."""
    if len(ids) <= length:
        return ids
    bars = [i for i in range(HEADER_LEN, len(ids) - 1) if ids[i] == vocab.bar]
    room = length - HEADER_LEN
    starts = [b for b in bars if b <= len(ids) - room // 2] or [HEADER_LEN]
    start = int(rng.choice(starts))
    return ids[:HEADER_LEN] + ids[start : start + room]


class Batcher:
    """Draws style-balanced, randomly transposed, windowed batches as int64 arrays (inputs, labels)."""

    def __init__(self, vocab: Vocab, pieces: Sequence[Piece], seq_len: int, seed: int) -> None:
        self.vocab = vocab
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed)
        self.by_style: dict[str, list[Piece]] = {}
        for p in pieces:
            self.by_style.setdefault(p.style, []).append(p)
        self.styles = [s for s in STYLE_WEIGHTS if s in self.by_style]
        w = np.array([STYLE_WEIGHTS[s] for s in self.styles])
        self.weights = w / w.sum()

    def sample_ids(self) -> list[int]:
        """One training sequence."""
        style = self.styles[int(self.rng.choice(len(self.styles), p=self.weights))]
        group = self.by_style[style]
        piece = group[int(self.rng.integers(len(group)))]
        shift = int(self.rng.choice(legal_shifts(piece) or [0]))
        return window(self.vocab, encode_piece(self.vocab, piece, shift), self.seq_len, self.rng)

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, labels)``, each (B, T); padding is PAD in inputs and -100 in labels.

        Labels are the inputs themselves: transformers' causal-LM loss shifts them by one inside the model.
        """
        inputs = np.full((size, self.seq_len), self.vocab.pad, dtype=np.int64)
        labels = np.full((size, self.seq_len), -100, dtype=np.int64)
        for b in range(size):
            ids = self.sample_ids()
            inputs[b, : len(ids)] = ids
            labels[b, : len(ids)] = ids
        return inputs, labels
