"""The built-in music model's data and training code: corpus parsing, tokens, batches, a few steps, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from studio.generators.music.tokens import DURATIONS, HEADER_LEN, Controls, Note, Vocab, metre_bar_ticks
from studio.training.music_corpus import Piece, infer_key


def test_abc_tunes_parse_into_pieces() -> None:
    from studio.training.music_corpus import _fast_music21, iter_abc_pieces

    _fast_music21()
    pieces = list(iter_abc_pieces(limit=3, groups=("essen",)))
    assert len(pieces) == 3
    for p in pieces:
        assert p.style == "folk" and p.notes and p.bar_ticks == metre_bar_ticks(p.metre)
        assert all(d > 0 for _, d, _ in p.notes) and min(o for o, _, _ in p.notes) >= 0


def test_key_from_final_and_third() -> None:
    d_minor = [(0, 12, 62), (12, 12, 65), (24, 12, 69), (36, 12, 65), (48, 24, 62)]
    assert infer_key(d_minor) == (2, "minor")
    g_major = [(0, 12, 67), (12, 12, 71), (24, 12, 74), (36, 24, 67)]
    assert infer_key(g_major) == (7, "major")


def test_encode_decode_round_trip() -> None:
    vocab = Vocab()
    c = Controls("chorale", 7, "major", "3/4", "slow")
    notes = [(24, 12, 67), (24, 12, 62), (36, 24, 71), (36, 12, 55), (48, 6, 60), (54, 6, 59), (72, 36, 67)]
    ids = vocab.encode(c, notes)
    assert vocab.controls_of(ids) == c and ids[-1] == vocab.eos
    back = vocab.decode(ids[HEADER_LEN:], 36, 7)
    assert sorted((n.onset, n.duration, n.pitch) for n in back) == sorted(notes)
    assert all(d in DURATIONS for _, d, _ in notes)


def _pieces() -> list[Piece]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(40):
        style = ("folk", "dance", "chorale")[i % 3]
        notes = [(t * 12, 12, int(60 + rng.integers(-5, 8))) for t in range(24)] + [(24 * 12, 24, 60)]
        out.append(Piece("test", f"t{i}", style, "moderate", 0, "major", "4/4", 48, notes))
    return out


def test_batches_keep_the_header_and_mask_padding() -> None:
    from studio.training.music_data import Batcher

    vocab = Vocab()
    x, y = Batcher(vocab, _pieces(), seq_len=32, seed=0).batch(6)
    assert x.shape == y.shape == (6, 32)
    assert (x[:, 0] == vocab.bos).all()
    assert {vocab.names[i] for i in x[:, 1]} <= {"STYLE_folk", "STYLE_dance", "STYLE_chorale"}
    # labels are the inputs (the model shifts them), padding ignored
    assert ((y == x) | ((y == -100) & (x == vocab.pad))).all()


def test_training_learns_next_tokens(tmp_path: Path) -> None:
    """A tune repeated 40 times is learned: the model predicts its next tokens (guards the shift of the objective)."""
    import torch
    from transformers import AutoModelForCausalLM

    from studio.training.train_music import parse_args, train

    tune = [(t * 12, 12, 60 + (0, 2, 4, 5, 7, 5, 4, 2)[t % 8]) for t in range(16)]
    pieces = [Piece("test", f"t{i}", "folk", "moderate", 0, "major", "4/4", 48, tune) for i in range(40)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(p.__dict__) for p in pieces), encoding="utf-8")
    out = tmp_path / "m"
    args = parse_args(
        [
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--steps",
            "60",
            "--size",
            "tiny",
            "--seq-len",
            "64",
            "--batch-size",
            "8",
            "--lr",
            "3e-3",
            "--warmup",
            "5",
            "--ckpt-every",
            "60",
        ]
    )
    train(args)
    model = AutoModelForCausalLM.from_pretrained(out, use_safetensors=True).eval()
    vocab = Vocab()
    ids = vocab.encode(Controls("folk", 0, "major", "4/4", "moderate"), tune)
    with torch.no_grad():
        pred = model(input_ids=torch.tensor([ids])).logits[0].argmax(-1).tolist()
    # the rhythm tokens (bar lines, onsets, durations) do not depend on the random transposition: all learned
    rhythm = [i for i in range(HEADER_LEN, len(ids) - 1) if not vocab.is_pitch(ids[i + 1])]
    assert sum(pred[i] == ids[i + 1] for i in rhythm) / len(rhythm) > 0.95


def test_a_few_steps_save_a_loadable_model(tmp_path: Path) -> None:
    from studio.generators.base import Context
    from studio.generators.music.generator import MusicGenerator
    from studio.generators.music.params import MusicParams
    from studio.params import check_params
    from studio.training.train_music import parse_args, train

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(p.__dict__) for p in _pieces()), encoding="utf-8")
    out = tmp_path / "assets" / "tiny-trained"
    args = parse_args(
        [
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--steps",
            "3",
            "--size",
            "tiny",
            "--seq-len",
            "48",
            "--batch-size",
            "4",
            "--ckpt-every",
            "2",
        ]
    )
    info = train(args)
    assert info["steps"] == 3 and len(info["history"]) == 2
    saved = json.loads((out / "training.json").read_text())
    assert saved["command"].startswith("python -m studio.training.train_music")
    gen = MusicGenerator(out.parent)
    (spec,) = gen.models()
    result = gen.generate(
        gen.load(spec), check_params(MusicParams, {"prompt": "folk", "seed": 1, "duration_s": 3}), Context()
    )
    assert {a.name for a in result.artifacts} == {"music.wav", "music.mid", "pianoroll.png"}


def test_metrics_on_known_inputs() -> None:
    from studio.training import music_metrics as mm

    scale = [Note(i * 12, 12, 60 + s) for i, s in enumerate((0, 2, 4, 5, 7, 9, 11, 12))]
    assert mm.in_key_ratio(scale, 0, "major") == 1.0
    assert mm.in_key_ratio(scale, 1, "major") < 0.5
    assert mm.estimate_key(scale * 4) == (0, "major")
    h = mm.pc_histogram(scale, 0)
    assert h.sum() == pytest.approx(1.0) and mm.histogram_distance(h, h) == 0.0
    assert mm.on_beat_ratio(scale, 48, "4/4") == 1.0
    steady = [Note(b * 48 + q * 12, 12, 60) for b in range(4) for q in range(4)]
    assert mm.bar_rhythm_similarity(steady, 48) == 1.0 and mm.downbeat_ratio(steady, 48) == 1.0
    waltz = [Note(b * 36 + q * 12, 12, 60) for b in range(8) for q in range(3)]
    jig = [Note(b * 36 + q, 12 if q in (0, 18) else 6, 60) for b in range(8) for q in (0, 12, 18, 30)]
    clf = mm.MetreClassifier([("3/4", waltz), ("6/8", jig)])
    assert clf.predict(waltz) == "3/4" and clf.predict(jig) == "6/8"
