"""Evaluate the built-in image models: prompt adherence, variety across seeds and style adherence, against untrained
baselines and (``--baseline``) the previous built-ins; and the README's pictures.

Adherence, measured without any image classifier (none can be had offline): each generated picture is matched to
its nearest picture in the *bank* (every training picture of both built-in generations: the hue-shifted 64 px
Twemoji set and the four-style 128 px set, all at 32×32), and that picture's caption stands for "what the model
drew". Per model, over a set of prompts:

- ``caption_sim``: mean cosine similarity, in MiniLM space, between the prompt and the nearest caption;
- ``top1``: how often, among all the evaluated prompts, the nearest caption is closest to the prompt that was
  asked for (chance = 1 / number of prompts);
- ``variety``: mean pairwise RMS difference at 32×32 between the 4 seeds of a prompt (``variety.spread``; each
  seed drawn as the Image tab's Style "auto" draws it, and for the diffusion model also as the bare prompt,
  ``/plain prompt``), and
  ``variety_ratio``: that over the same measure between the four styles' drawings of one emoji (1 = seeds differ
  as much as real styles do, 0 = one picture four times);
- ``style_top1`` (models that learnt styles): for the showcase prompts with ", <style> style" added, how often the
  nearest picture among the four-style set is drawn in the style asked for (chance 0.25).

Prompt sets: the five showcase prompts of the README; held-out phrasings that are no training caption ("a puppy",
"space rocket"); and held-out captions, emoji whose caption the four-style model never saw in any style
(``emoji_styles.is_held_out``; the previous model did see them, as Twemoji).

    python -m studio.training.evaluate_image --assets assets/models --baseline OLD/assets/models --out docs

writes ``docs/image_samples.png``, ``docs/image_seeds.png``, ``docs/image_interpolation.png`` and
``docs/image_eval.json``, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.image_draw import HELD_OUT, PREVIOUS, SEEDS, SHOWCASE, draw
from studio.training.variety import pooled, spread, style_variety

log = logging.getLogger("evaluate_image")

HELD_OUT_CAPTIONS = 40  # the first N held-out captions, sorted
MODELS = ("emoji-diffusion", "emoji-gan", "emoji-vae")


@dataclass
class Bank:
    """The pictures a drawing is looked up among: 32×32 features, and per row its caption, style and embedding."""

    features: np.ndarray
    captions: list[str]
    styles: list[str]
    embeddings: np.ndarray
    styled_from: int  # rows from here on are the four-style set

    def nearest(self, pictures: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The bank row nearest each picture (among ``rows`` if given)."""
        bank = self.features if rows is None else self.features[rows]
        idx = nearest(features(pictures), bank)
        return idx if rows is None else rows[idx]


def load_bank(encoder: Any) -> tuple[Bank, Any]:
    """Both built-in generations' training pictures, and the four-style set itself (for its held-out captions)."""
    from studio.training.emoji_data import load_dataset
    from studio.training.emoji_styles import load

    first = load_dataset()
    styled = load(size=128)
    emb = encoder.encode(styled.captions).numpy()
    bank = Bank(
        np.concatenate([features(first.images), features(styled.images)]),
        first.captions + styled.captions,
        ["twemoji"] * len(first.captions) + styled.styles,
        np.concatenate([first.embeddings, emb]),
        len(first.captions),
    )
    return bank, styled


def load_pipelines(assets: Path, suffix: str = "", untrained: bool = True) -> dict[str, Any]:
    """The built-ins under ``assets`` (named ``<model><suffix>``) and, with ``untrained``, the same architecture
    at its random initialisation (``<model>/untrained``: same autoencoder and prompt encoder)."""
    import torch

    from studio.generators.image.emoji.nets import EmojiCVAE, EmojiGANGenerator
    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline, EmojiGANPipeline, EmojiVAEPipeline

    pipes: dict[str, Any] = {}
    classes: tuple[Any, ...] = (EmojiDiffusionPipeline, EmojiGANPipeline, EmojiVAEPipeline)
    for name, cls in zip(MODELS, classes, strict=True):
        if not (assets / name / "model_index.json").is_file():
            log.warning("%s not found under %s; skipped", name, assets)
            continue
        pipe = cls.load(assets / name)
        pipe.set_progress_bar_config(disable=True)
        pipes[name + suffix] = pipe
        if pipe.styles and name == "emoji-diffusion":  # what the model draws for a prompt that names no style
            plain = pipe.replacing()
            plain.set_progress_bar_config(disable=True)
            plain.styles = ()
            pipes[f"{name}{suffix}/plain prompt"] = plain
        if not untrained:
            continue
        torch.manual_seed(0)
        parts = dict(pipe.components)
        if name == "emoji-diffusion":
            from diffusers import UNet2DConditionModel

            # Same conditioning (prompt tokens) and preview map as the trained model: only the UNet differs.
            baseline = pipe.replacing(unet=UNet2DConditionModel.from_config(pipe.unet.config).eval())
        elif name == "emoji-gan":
            baseline = cls(**{**parts, "gan": EmojiGANGenerator.from_config(pipe.gan.config).eval()})
        else:
            baseline = cls(**{**parts, "cvae": EmojiCVAE.from_config(pipe.cvae.config).eval()})
        baseline.set_progress_bar_config(disable=True)
        baseline.styles = ()
        pipes[f"{name}/untrained"] = baseline
    return pipes


def features(images: np.ndarray) -> np.ndarray:
    """Pixel features for nearest-neighbour search: 32×32 average-pooled RGB in [0, 1], flattened, (N, 3072)."""
    return pooled(images).reshape(len(images), -1)


def nearest(query: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Index of the nearest row of ``bank`` for each row of ``query`` (squared L2)."""
    d = (query**2).sum(1)[:, None] - 2 * query @ bank.T + (bank**2).sum(1)[None]
    return d.argmin(1)


def adherence(prompt_emb: np.ndarray, caption_emb: np.ndarray, asked: np.ndarray) -> dict[str, float]:
    """caption_sim and top1 (see the module docstring) for pictures whose prompts are rows ``asked``."""
    sims = caption_emb @ prompt_emb.T  # (N, P): unit vectors, so cosine
    return {
        "caption_sim": float(sims[np.arange(len(asked)), asked].mean()),
        "top1": float((sims.argmax(1) == asked).mean()),
        "chance": 1.0 / len(prompt_emb),
    }


def evaluate(
    pipes: dict[str, Any], prompts: list[str], bank: Bank, encoder: Any, steps: int, guidance: float, reference: float
) -> dict[str, Any]:
    """Adherence and variety of every pipeline on ``prompts`` (``reference``: the styles' own variety)."""
    prompt_emb = encoder.encode(prompts).numpy()
    results: dict[str, dict[str, Any]] = {}
    for name, pipe in pipes.items():
        drawn = [draw(pipe, prompt, SEEDS, steps, guidance) for prompt in prompts]
        asked = np.repeat(np.arange(len(prompts)), len(SEEDS))
        idx = bank.nearest(np.concatenate(drawn))
        variety = float(np.mean([spread(d) for d in drawn]))
        results[name] = {
            **adherence(prompt_emb, bank.embeddings[idx], asked),
            "variety": variety,
            "variety_ratio": variety / reference,
            "examples": {prompts[i]: bank.captions[idx[i * len(SEEDS)]] for i in range(min(6, len(prompts)))},
        }
        log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "examples"})
    return results


def style_adherence(pipes: dict[str, Any], bank: Bank, steps: int, guidance: float) -> dict[str, float]:
    """Per model that learnt styles: how often a showcase prompt with ", <style> style" comes out nearest a
    picture of that style in the four-style set (2 seeds per prompt and style)."""
    from studio.generators.image.params import with_style

    styled_rows = np.arange(bank.styled_from, len(bank.captions))
    out = {}
    for name, pipe in pipes.items():
        styles = pipe.styles
        if not styles:
            continue
        hits = []
        for style in styles:
            for prompt in SHOWCASE:
                idx = bank.nearest(draw(pipe, with_style(prompt, style), SEEDS[:2], steps, guidance), styled_rows)
                hits += [bank.styles[i] == style for i in idx]
        out[name] = float(np.mean(hits))
        log.info("%s: style top-1 %.2f", name, out[name])
    return out


def prompt_sets(bank: Bank, styled: Any) -> dict[str, list[str]]:
    """The showcase prompts, the held-out phrasings (no training caption of either generation) and the first
    held-out captions of the four-style set."""
    seen = set(bank.captions)
    held_captions = sorted({c for c, h in zip(styled.captions, styled.held_out, strict=True) if h})
    return {
        "showcase": SHOWCASE,
        "held_out": [q for q in HELD_OUT if q not in seen],
        "held_out_captions": held_captions[:HELD_OUT_CAPTIONS],
    }


def report_of(pipes: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Every measure of the module docstring for ``pipes``, as ``docs/image_eval.json`` holds it."""
    from studio.generators.image.emoji.minilm import PromptEncoder

    encoder = PromptEncoder.load()
    bank, styled = load_bank(encoder)
    reference = style_variety(styled.images, styled.captions)
    sets = prompt_sets(bank, styled)
    report: dict[str, Any] = {
        name: evaluate(pipes, prompts, bank, encoder, args.steps, args.guidance, reference)
        for name, prompts in sets.items()
    }
    report["style_top1"] = style_adherence(pipes, bank, args.steps, args.guidance)
    report["style_variety"] = reference
    report["prompts"] = sets
    report.update(seeds=list(SEEDS), steps=args.steps, guidance_scale=args.guidance)
    return report


def print_table(report: dict[str, Any]) -> None:
    """The report as a table on stdout."""
    print(f"{'model':40s} {'set':18s} {'caption_sim':>11s} {'top1':>6s} {'chance':>7s} {'variety':>8s} {'ratio':>6s}")
    for split in ("showcase", "held_out", "held_out_captions"):
        for name, r in report[split].items():
            print(
                f"{name:40s} {split:18s} {r['caption_sim']:11.3f} {r['top1']:6.2f} {r['chance']:7.2f} "
                f"{r['variety']:8.3f} {r['variety_ratio']:6.2f}"
            )
    print(f"real styles of one emoji: variety {report['style_variety']:.3f}")
    for name, value in report["style_top1"].items():
        print(f"{name}: style top-1 {value:.2f} (chance 0.25)")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    import torch

    from studio.training.image_sheets import interpolation_strip, sample_grid, seed_grid

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=Path, default=Path("assets/models"))
    p.add_argument("--baseline", type=Path, default=None, help="the previous built-ins' folder, evaluated beside")
    p.add_argument("--out", type=Path, default=Path("docs"))
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    pipes = load_pipelines(args.assets)
    if args.baseline is not None:
        pipes.update(load_pipelines(args.baseline, PREVIOUS, untrained=False))
    report = report_of(pipes, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "image_eval.json").write_text(json.dumps(report, indent=2) + "\n")
    sample_grid(pipes, MODELS, SHOWCASE, args.steps, args.guidance, args.out / "image_samples.png")
    seed_grid(pipes, report["prompts"]["held_out"][:8], args.steps, args.guidance, args.out / "image_seeds.png")
    interpolation_strip(pipes, MODELS, args.steps, args.guidance, args.out / "image_interpolation.png")
    print_table(report)
    print("wrote", *(args.out / n for n in ("image_samples.png", "image_seeds.png", "image_eval.json")))


if __name__ == "__main__":
    main()
