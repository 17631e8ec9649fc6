"""Evaluate the built-in image models: prompt adherence against untrained baselines, and README pictures.

Adherence, measured without any image classifier (none can be had offline): each generated picture is matched to
its nearest training picture (pixel distance at 32×32), and that picture's caption stands for "what the model
drew". Two numbers per model, over a set of prompts:

- ``caption_sim``: mean cosine similarity, in MiniLM space, between the prompt and the nearest caption;
- ``top1``: how often, among all the evaluated prompts, the nearest caption is closest to the prompt that was
  asked for (chance = 1 / number of prompts).

Prompts come in two sets: the five showcase prompts of the README and held-out phrasings that are not training
captions (checked), e.g. "a puppy" or "space rocket". Each model is compared with the same architecture at its
random initialisation (same autoencoder), the untrained baseline.

    python -m studio.training.evaluate_image --assets assets/models --out docs

writes ``docs/image_samples.png`` (prompts × models), ``docs/image_interpolation.png`` (latent walks between two
seeds) and ``docs/image_eval.json``, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("evaluate_image")

SHOWCASE = ["red apple", "smiling face", "rocket", "heart", "dog"]
HELD_OUT = [
    "a shiny red apple",
    "happy smiling face",
    "space rocket",
    "love heart",
    "a puppy",
    "a cute cat",
    "yellow star",
    "slice of pizza",
    "a red car",
    "green tree",
    "the sun",
    "tropical fish",
    "a pink flower",
    "a ghost",
    "fire",
    "a banana",
    "crying face",
    "a snowman",
    "a blue heart",
    "a house",
]
SEEDS = (0, 1, 2, 3)
MODELS = ("emoji-diffusion", "emoji-gan", "emoji-vae")


def load_pipelines(assets: Path) -> dict[str, Any]:
    """The trained built-ins and, for each, the same architecture untrained (suffix ``/untrained``)."""
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
        pipes[name] = pipe
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
        pipes[f"{name}/untrained"] = baseline
    return pipes


def draw(pipe: Any, prompt: str, seeds: tuple[int, ...], steps: int, guidance: float, latents: Any = None) -> Any:
    """(len(seeds), 64, 64, 3) float pictures in [0, 1] for one prompt."""
    import torch

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline

    if isinstance(pipe, EmojiDiffusionPipeline):
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        out = pipe(
            prompt,
            num_images_per_prompt=len(seeds),
            generator=gens,
            num_inference_steps=steps,
            guidance_scale=guidance,
            latents=latents,
            output_type="np",
        )
    else:
        codes = latents if latents is not None else pipe.codes(list(seeds))
        out = pipe(prompt, num_images_per_prompt=len(seeds), latents=codes, output_type="np")
    return out.images


def features(images: np.ndarray) -> np.ndarray:
    """Pixel features for nearest-neighbour search: 32×32 average-pooled RGB, flattened, (N, 3072)."""
    x = images.astype(np.float32)
    if x.max() > 1.5:
        x = x / 255.0
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4)).reshape(n, -1)


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


def evaluate(pipes: dict[str, Any], prompts: list[str], data: Any, encoder: Any, steps: int, guidance: float) -> dict:
    """Adherence of every pipeline on ``prompts``."""
    prompt_emb = encoder.encode(prompts).numpy()
    bank = features(data.images)
    results: dict[str, dict[str, Any]] = {}
    for name, pipe in pipes.items():
        pictures, asked = [], []
        for i, prompt in enumerate(prompts):
            pictures.append(draw(pipe, prompt, SEEDS, steps, guidance))
            asked += [i] * len(SEEDS)
        idx = nearest(features(np.concatenate(pictures)), bank)
        results[name] = dict(adherence(prompt_emb, data.embeddings[idx], np.asarray(asked)))
        results[name]["examples"] = {
            prompts[i]: data.captions[idx[i * len(SEEDS)]] for i in range(min(6, len(prompts)))
        }
        log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "examples"})
    return results


def sample_grid(pipes: dict[str, Any], steps: int, guidance: float, out: Path) -> None:
    """docs/image_samples.png: a row per showcase prompt; three seeds per model, then the untrained diffusion."""
    from PIL import Image, ImageDraw

    columns = [(m, s) for m in MODELS if m in pipes for s in SEEDS[:3]]
    if "emoji-diffusion/untrained" in pipes:
        columns.append(("emoji-diffusion/untrained", SEEDS[0]))
    tile, left, top = 96, 110, 34
    sheet = Image.new("RGB", (left + tile * len(columns), top + tile * len(SHOWCASE)), "white")
    pen = ImageDraw.Draw(sheet)
    for c, (model, _) in enumerate(columns):
        if c == 0 or columns[c - 1][0] != model:
            pen.text((left + c * tile + 4, 8), model.replace("emoji-", ""), fill=(40, 40, 40))
    for r, prompt in enumerate(SHOWCASE):
        pen.text((6, top + r * tile + tile // 2 - 6), prompt, fill=(20, 20, 20))
        for c, (model, seed) in enumerate(columns):
            arr = draw(pipes[model], prompt, (seed,), steps, guidance)[0]
            im = Image.fromarray((arr * 255).round().astype(np.uint8)).resize((tile, tile), Image.Resampling.NEAREST)
            sheet.paste(im, (left + c * tile, top + r * tile))
    sheet.save(out)


def interpolation_strip(pipes: dict[str, Any], steps: int, guidance: float, out: Path, frames: int = 8) -> None:
    """docs/image_interpolation.png: each model walks from seed 1 to seed 2 (slerp of its noise), "smiling face"."""
    import torch
    from PIL import Image, ImageDraw

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline, slerp

    rows = [m for m in MODELS if m in pipes]
    tile, left = 80, 90
    sheet = Image.new("RGB", (left + tile * frames, tile * len(rows)), "white")
    pen = ImageDraw.Draw(sheet)
    for r, model in enumerate(rows):
        pipe = pipes[model]
        shape = (1, 4, 16, 16) if isinstance(pipe, EmojiDiffusionPipeline) else pipe.code_shape(1)
        a, b = (torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
        walk = torch.cat([slerp(a, b, i / (frames - 1)) for i in range(frames)])
        pictures = draw(pipe, "smiling face", tuple(range(frames)), steps, guidance, latents=walk)
        pen.text((6, r * tile + tile // 2 - 6), model.replace("emoji-", ""), fill=(20, 20, 20))
        for c, arr in enumerate(pictures):
            im = Image.fromarray((arr * 255).round().astype(np.uint8)).resize((tile, tile), Image.Resampling.NEAREST)
            sheet.paste(im, (left + c * tile, r * tile))
    sheet.save(out)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    import torch

    from studio.generators.image.emoji.minilm import PromptEncoder
    from studio.training.emoji_data import load_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=Path, default=Path("assets/models"))
    p.add_argument("--out", type=Path, default=Path("docs"))
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    data = load_dataset()
    seen = set(data.captions)
    held_out = [q for q in HELD_OUT if q not in seen]
    encoder = PromptEncoder.load()
    pipes = load_pipelines(args.assets)
    report = {
        "showcase": evaluate(pipes, SHOWCASE, data, encoder, args.steps, args.guidance),
        "held_out": evaluate(pipes, held_out, data, encoder, args.steps, args.guidance),
        "held_out_prompts": held_out,
        "seeds": list(SEEDS),
        "steps": args.steps,
        "guidance_scale": args.guidance,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "image_eval.json").write_text(json.dumps(report, indent=2) + "\n")
    sample_grid(pipes, args.steps, args.guidance, args.out / "image_samples.png")
    interpolation_strip(pipes, args.steps, args.guidance, args.out / "image_interpolation.png")
    print(f"{'model':32s} {'set':9s} {'caption_sim':>11s} {'top1':>6s} {'chance':>7s}")
    for split in ("showcase", "held_out"):
        for name, r in report[split].items():
            print(f"{name:32s} {split:9s} {r['caption_sim']:11.3f} {r['top1']:6.2f} {r['chance']:7.2f}")
    print("wrote", *(args.out / n for n in ("image_samples.png", "image_interpolation.png", "image_eval.json")))


if __name__ == "__main__":
    main()
