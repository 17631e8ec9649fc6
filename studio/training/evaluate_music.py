"""Evaluate the built-in music model against an untrained copy and the held-out corpus.

    python -m studio.training.evaluate_music --model assets/models/folk-chorale-gpt2 --pieces 4 --bars 12

For a grid of requests (style × mode × metre, random tonics, fixed seeds), pieces are sampled with the studio's
own sampler and settings (temperature 1, top-k 40) from the trained model and from an untrained model of the same
config, and compared with held-out corpus pieces of the same style (first ``--bars`` bars, in their own key):

- tonal: in-key ratio, pitch-class histogram distance to the corpus (per style and mode, relative to the tonic)
- rhythm: on-beat ratio, bar-to-bar rhythm similarity, downbeat ratio
- control following: key (Krumhansl–Kessler estimate = request: tonic+mode, tonic), metre (6/8 vs 3/4
  told apart from the rhythm by a classifier fitted on the corpus; the bar length itself is enforced by the
  sampler), tempo (the MIDI tempo is the request by construction; the TEMPO token's effect is shown as onsets
  per beat at slow vs fast)

Writes ``eval.json`` (and prints a Markdown table) into the model folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.music.tokens import HEADER_LEN, Controls, Note, Vocab, metre_bar_ticks
from studio.training import music_metrics as mm

log = logging.getLogger(__name__)

GRID: tuple[tuple[str, str], ...] = (
    ("folk", "3/4"),
    ("folk", "4/4"),
    ("folk", "6/8"),
    ("folk", "2/4"),
    ("dance", "4/4"),
    ("dance", "6/8"),
    ("chorale", "4/4"),
    ("chorale", "3/4"),
)


def sample_piece(model: Any, vocab: Vocab, c: Controls, bars: int, seed: int) -> list[Note]:
    """One piece of ``bars`` bars with the studio's sampler and default settings."""
    import torch

    from studio.generators.music.sampler import SampleSettings, make_decoder, sample_bars

    bar_ticks = metre_bar_ticks(c.metre)
    ids = sample_bars(
        make_decoder(model),
        vocab,
        vocab.header(c),
        bars,
        bar_ticks,
        SampleSettings(temperature=1.0, top_k=40),
        torch.Generator().manual_seed(seed),
    )
    return vocab.decode(ids[HEADER_LEN:], bar_ticks, c.tonic)


def piece_metrics(notes: list[Note], c: Controls, metre: mm.MetreClassifier) -> dict[str, float]:
    """Every per-piece metric for notes generated (or written) under controls ``c``."""
    bar_ticks = metre_bar_ticks(c.metre)
    est_tonic, est_mode = mm.estimate_key(notes)
    out = {
        "in_key": mm.in_key_ratio(notes, c.tonic, c.mode),
        "on_beat": mm.on_beat_ratio(notes, bar_ticks, c.metre),
        "bar_rhythm_similarity": mm.bar_rhythm_similarity(notes, bar_ticks),
        "downbeat": mm.downbeat_ratio(notes, bar_ticks),
        "key_match": float(est_tonic == c.tonic and est_mode == c.mode),
        "tonic_match": float(est_tonic == c.tonic),
        "notes_per_beat": mm.notes_per_beat(notes, bar_ticks, c.metre),
    }
    if c.metre in ("3/4", "6/8") and notes:
        out["metre_match"] = float(metre.predict(notes) == c.metre)
    return out


def corpus_pieces(corpus: Path, bars: int) -> list[tuple[Controls, list[Note]]]:
    """Held-out corpus pieces (first ``bars`` bars) with their own controls."""
    from studio.training.music_corpus import load_pieces
    from studio.training.music_data import controls_of, split_pieces

    out = []
    for p in split_pieces(load_pieces(corpus)).held_out:
        c = controls_of(p)
        limit = bars * p.bar_ticks
        notes = [Note(o, d, pitch) for o, d, pitch in p.notes if 0 <= o < limit]
        if notes:
            out.append((c, notes))
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Means of every metric over ``rows`` (metrics missing from some rows are averaged where present)."""
    keys = sorted({k for r in rows for k in r["metrics"]})
    return {k: round(float(np.mean([r["metrics"][k] for r in rows if k in r["metrics"]])), 3) for k in keys}


def histogram_distances(rows: list[dict[str, Any]], reference: list[dict[str, Any]]) -> float:
    """Mean TV distance between the pooled tonic-relative histograms of ``rows`` and ``reference`` per style+mode."""

    def pooled(rs: list[dict[str, Any]]) -> dict[tuple[str, str], np.ndarray]:
        acc: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(12))
        for r in rs:
            acc[(r["style"], r["mode"])] += np.array(r["hist"])
        return {k: v / v.sum() for k, v in acc.items() if v.sum() > 0}

    a, b = pooled(rows), pooled(reference)
    common = sorted(set(a) & set(b))
    return round(float(np.mean([mm.histogram_distance(a[k], b[k]) for k in common])), 3) if common else float("nan")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation described in the module docstring."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2LMHeadModel

    torch.set_num_threads(args.threads)
    vocab = Vocab()
    trained = AutoModelForCausalLM.from_pretrained(args.model, use_safetensors=True).eval()
    torch.manual_seed(0)
    untrained = GPT2LMHeadModel(trained.config).eval()
    held_out = corpus_pieces(args.corpus, args.bars)
    metre = mm.MetreClassifier([(c.metre, n) for c, n in held_out])
    rng = np.random.default_rng(args.seed)
    requests = []
    for style, m in GRID:
        for mode in ("major", "minor"):
            for tempo in ("slow", "fast"):
                for _ in range(args.pieces):
                    requests.append(Controls(style, int(rng.integers(12)), mode, m, tempo))

    def row(c: Controls, notes: list[Note]) -> dict[str, Any]:
        return {
            "style": c.style,
            "mode": c.mode,
            "metre": c.metre,
            "tempo": c.tempo,
            "metrics": piece_metrics(notes, c, metre),
            "hist": mm.pc_histogram(notes, c.tonic).tolist(),
        }

    results: dict[str, list[dict[str, Any]]] = {"trained": [], "untrained": []}
    t0 = time.time()
    for name, model in (("trained", trained), ("untrained", untrained)):
        for i, c in enumerate(requests):
            results[name].append(row(c, sample_piece(model, vocab, c, args.bars, args.seed * 1000 + i)))
        log.info("%s: %d pieces in %.0f s", name, len(requests), time.time() - t0)
    corpus = [row(c, n) for c, n in held_out]
    report: dict[str, Any] = {"requests": len(requests), "bars": args.bars, "seed": args.seed, "sources": {}}
    for name, rows in (*results.items(), ("corpus", corpus)):
        summary = summarise(rows)
        summary["pc_hist_distance_to_corpus"] = histogram_distances(rows, corpus) if name != "corpus" else 0.0
        for tempo in ("slow", "fast"):
            sel = [r["metrics"]["notes_per_beat"] for r in rows if r["tempo"] == tempo and r["style"] != "chorale"]
            summary[f"notes_per_beat_{tempo}"] = round(float(np.mean(sel)), 3) if sel else float("nan")
        report["sources"][name] = summary
    report["by_style_trained"] = {
        s: summarise([r for r in results["trained"] if r["style"] == s]) for s in ("folk", "dance", "chorale")
    }
    report["seconds"] = round(time.time() - t0, 1)
    return report


def markdown(report: dict[str, Any]) -> str:
    """The report's main table."""
    rows = [
        ("in-key ratio ↑", "in_key"),
        ("pitch-class histogram distance to corpus ↓", "pc_hist_distance_to_corpus"),
        ("on-beat onsets", "on_beat"),
        ("bar-to-bar rhythm similarity", "bar_rhythm_similarity"),
        ("bars with a downbeat onset", "downbeat"),
        ("key followed (tonic + mode)", "key_match"),
        ("tonic followed", "tonic_match"),
        ("metre followed (3/4 vs 6/8, told from the rhythm)", "metre_match"),
        ("onsets per beat, TEMPO_slow (folk+dance)", "notes_per_beat_slow"),
        ("onsets per beat, TEMPO_fast (folk+dance)", "notes_per_beat_fast"),
    ]
    src = report["sources"]
    lines = ["| metric | trained | untrained | corpus (held out) |", "|---|---|---|---|"]
    for label, key in rows:
        lines.append(
            f"| {label} | {src['trained'].get(key)} | {src['untrained'].get(key)} | {src['corpus'].get(key)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point: evaluate, print the table, write ``eval.json`` beside the weights."""
    ap = argparse.ArgumentParser(description="Evaluate the built-in music model.")
    ap.add_argument("--model", type=Path, default=Path("assets/models/folk-chorale-gpt2"))
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/music_corpus.jsonl"))
    ap.add_argument("--pieces", type=int, default=3, help="pieces per (style, metre, mode, tempo) cell")
    ap.add_argument("--bars", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="default: MODEL/eval.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    report = evaluate(args)
    out = args.out or args.model / "eval.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(report))  # the CLI's output
    log.info("wrote %s", out)


if __name__ == "__main__":
    main()
