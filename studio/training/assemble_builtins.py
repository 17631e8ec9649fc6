"""Put the built-in image models' folders together after issue 17's runs (``scripts/train_image_styles.sh``).

- ``emoji-diffusion``: the UNet fine-tuned on the four styles (``unet/``, ``scheduler/``, ``model_index.json`` with
  ``_styles``, from the UNet run's folder) and the 128 px autoencoder (``vae/``) that decodes the same latents;
- ``emoji-gan``, ``emoji-vae``: the previous networks, unchanged, with the same 128 px autoencoder, so they draw at
  128 px too (they were not retrained on the styles: they learnt Twemoji only and say so in their cards);
- ``data_card.json`` of the four-style set in each folder (the autoencoder of all three learnt from it), for the
  model cards' data sections and credits.

    python -m studio.training.assemble_builtins --previous OLD/models --unet-run RUN --autoencoder AE/vae \\
        --data-card DATA/data_card.json --out assets/models
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

AUTOENCODER_FILES = ("config.json", "diffusion_pytorch_model.safetensors", "training.json")


def copy_tree(source: Path, target: Path) -> None:
    """``source`` copied to ``target``, replacing what was there."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def put_autoencoder(autoencoder: Path, model: Path) -> None:
    """The 128 px autoencoder as ``model/vae`` (its run facts too, for the card)."""
    target = model / "vae"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in AUTOENCODER_FILES:
        if (autoencoder / name).is_file():
            shutil.copyfile(autoencoder / name, target / name)


def assemble(previous: Path, unet_run: Path, autoencoder: Path, data_card: Path | None, out: Path) -> list[Path]:
    """Write the three built-in folders under ``out``; returns them."""
    index = json.loads((unet_run / "model_index.json").read_text())
    if not index.get("_styles"):
        raise SystemExit(f"{unet_run}/model_index.json lists no _styles: not a four-style UNet run")
    diffusion = out / "emoji-diffusion"
    diffusion.mkdir(parents=True, exist_ok=True)
    for part in ("unet", "scheduler"):
        copy_tree(unet_run / part, diffusion / part)
    shutil.copyfile(unet_run / "model_index.json", diffusion / "model_index.json")
    put_autoencoder(autoencoder, diffusion)
    folders = [diffusion]
    for name, part in (("emoji-gan", "gan"), ("emoji-vae", "cvae")):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        copy_tree(previous / name / part, folder / part)
        shutil.copyfile(previous / name / "model_index.json", folder / "model_index.json")
        put_autoencoder(autoencoder, folder)
        folders.append(folder)
    if data_card is not None:
        for folder in folders:
            shutil.copyfile(data_card, folder / "data_card.json")
    return folders


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--previous", type=Path, required=True, help="models folder of the previous built-ins")
    p.add_argument("--unet-run", type=Path, required=True, help="the four-style UNet run's output folder")
    p.add_argument("--autoencoder", type=Path, required=True, help="the 128 px autoencoder's vae/ folder")
    p.add_argument("--data-card", type=Path, default=None, help="data_card.json of the four-style set")
    p.add_argument("--out", type=Path, default=Path("assets/models"))
    args = p.parse_args(argv)
    for folder in assemble(args.previous, args.unet_run, args.autoencoder, args.data_card, args.out):
        print(folder)


if __name__ == "__main__":
    main()
