"""The model card (README.md) of a model trained in the Train tab or with ``python -m studio train``.

Written from the run's own records: the data manifest (count, manifest hash, the licence or source the user
declared, caption examples, refused files), the settings, the final and validation losses, the loss curves
(``loss_curves.png`` beside it), the last sample sheet, and the known limits of the technique.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path
from typing import Any

from studio.training.curves import curves_png
from studio.training.params import TrainParams
from studio.training.run_folder import RunFolder

LIMITS = {
    "diffusion": "A fine-tune of the built-in 64×64 emoji diffusion model: it keeps that model's MiniLM vocabulary "
    "and 64×64 size, and after a short run leans hard on the few pictures it saw (overfitting shows as samples "
    "that copy training pictures and a validation loss that rises).",
    "gan": "A 64×64 latent GAN: GANs can collapse to a few outputs (watch d_loss fall to 0 and samples stop "
    "varying); with few pictures the discriminator memorises them.",
    "vae": "A conditional VAE of 64×64 latents: samples are smooth and blurrier than the pictures it saw.",
    "autoencoder": "A plain autoencoder is not a generative model by itself: samples decode draws from one Gaussian "
    "fitted to the training codes, so they blend the pictures and are blurry. Unconditional: prompts do not steer "
    "it.",
    "dbn": "A deep belief net of 32×32 pictures (shown at 64×64): binary units, samples are soft and grey-ish, "
    "and a Gibbs chain mixes slowly. Unconditional: prompts do not steer it.",
}


def write_card(folder: Path, run: RunFolder, params: TrainParams, technique: Any) -> Path:
    """Write ``folder/README.md``, ``folder/loss_curves.png``, ``folder/samples.png`` and ``training_run.json``."""
    import torch

    rows = run.metrics()
    (folder / "loss_curves.png").write_bytes(curves_png(rows, technique.terms, f"{params.name} ({params.technique})"))
    samples = run.sample_paths()
    if samples:
        shutil.copyfile(samples[-1], folder / "samples.png")
    manifest = run.read_json("data/manifest.json", {})
    final = {k: round(v, 5) for k, v in rows[-1].items() if k not in ("step", "lr")} if rows else {}
    settings = {k: v for k, v in json.loads(run.path("params.json").read_text()).items()}
    facts = {
        "run": params.name,
        "technique": params.technique,
        "base_model": params.base_model,
        "steps": params.steps,
        "data_manifest_sha256": manifest.get("manifest_sha256", ""),
        "hardware": f"{technique.device} ({platform.machine()}), torch {torch.__version__}",
    }
    (folder / "training_run.json").write_text(json.dumps(facts, indent=2) + "\n")
    examples = manifest.get("caption_examples", [])
    refused = manifest.get("refused", [])
    lines = [
        f"# {params.name}: a {params.technique} model trained in the studio",
        f"Trained by the studio's Train tab / `python -m studio train` ({params.technique}"
        + (f", from the built-in `{params.base_model}`" if params.base_model else ", from scratch")
        + "). Weights: safetensors only, in the built-ins' layout. Every output made with it is AI-generated, and "
        "its recipe names this model, its weights hash and its training run.",
        "## Data",
        f"- Pictures used: **{manifest.get('usable', '?')}** from {manifest.get('source', '?')}; refused: "
        f"{len(refused)}" + (f" (e.g. `{refused[0][0]}`: {refused[0][1]})" if refused else ""),
        f"- Data manifest SHA-256: `{manifest.get('manifest_sha256', '')}`",
        f"- Licence / source (declared by the person who trained it): {manifest.get('licence') or 'not declared'}",
        f"- Captions from: {', '.join(f'{k} ({v})' for k, v in manifest.get('caption_sources', {}).items())}",
        "- Caption examples: " + ", ".join(f'"{c}"' for c in examples[:6]),
        f"- Sizes before preprocessing: {json.dumps(manifest.get('sizes', {}))}",
        "## Settings",
        "```json\n" + json.dumps(settings, indent=2, sort_keys=True) + "\n```",
        "## Training",
        f"{len(rows) and rows[-1]['step']} steps on {facts['hardware']}. Last logged losses: "
        + ", ".join(f"{k} {v:g}" for k, v in final.items()),
        "![loss curves](loss_curves.png)",
        "Samples at the end of training (fixed prompt and seeds 0-7):" if samples else "",
        "![samples](samples.png)" if samples else "",
        "## Known limits",
        LIMITS.get(params.technique, ""),
    ]
    out = folder / "README.md"
    out.write_text("\n\n".join(line for line in lines if line) + "\n")
    return out
