"""Issue 17's last steps on tiny folders: the built-ins assembled from the runs (one 128 px autoencoder in all three),
their model cards (every picture set credited, share-alike said), and the evaluation's prompt sets and lookup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from studio.training import assemble_builtins, model_card
from studio.training.emoji_sources import STYLES
from studio.training.evaluate_image import Bank, prompt_sets
from studio.training.train_diffusion import autoencoder_config
from studio.training.upscale_autoencoder import larger_config
from tests.generators.image.helpers import save_tiny_builtins


def _autoencoder(folder: Path) -> Path:
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(**larger_config(autoencoder_config(64)))
    vae.save_pretrained(folder, safe_serialization=True)
    (folder / "training.json").write_text(json.dumps({"script": "upscale_autoencoder", "steps_done": 3}))
    return folder


def _card(tmp_path: Path) -> Path:
    per_style = {
        name: {
            "source": s.origin,
            "licence": s.licence,
            "credit": s.credit,
            "share_alike": s.share_alike,
            "files": 3,
            "kept": 2,
            "dropped": {"skin-tone variant": 1},
        }
        for name, s in STYLES.items()
    }
    card = {"pictures": 8, "captions": 2, "size": 128, "held_out_captions": 0, "held_out_fraction": 0.05}
    card.update(styles=per_style, share_alike="OpenMoji is CC BY-SA 4.0: weights trained on it are shared alike.")
    path = tmp_path / "data_card.json"
    path.write_text(json.dumps(card))
    return path


def test_assembled_builtins_draw_at_128_px_and_their_cards_credit_every_set(tmp_path: Path) -> None:
    from studio.generators.image.generator import ImageGenerator

    previous = save_tiny_builtins(tmp_path / "previous")
    run = previous / "emoji-diffusion"  # stands in for the UNet run's folder: it lists the styles it learnt
    index = json.loads((run / "model_index.json").read_text())
    (run / "model_index.json").write_text(json.dumps({**index, "_styles": list(STYLES)}))
    out = tmp_path / "models"
    folders = assemble_builtins.assemble(previous, run, _autoencoder(tmp_path / "ae"), _card(tmp_path), out)
    assert [f.name for f in folders] == ["emoji-diffusion", "emoji-gan", "emoji-vae"]
    weights = {(f / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() for f in folders}
    assert len(weights) == 1  # one autoencoder for all three
    specs = {s.id: s for s in ImageGenerator(out).models()}
    assert specs["emoji-diffusion"].label == "Emoji diffusion (built-in, 128×128 latent diffusion, 4 styles)"
    assert specs["emoji-gan"].label == "Emoji GAN (built-in, 128×128)"
    for folder in folders:
        text = model_card.write_card(folder, tmp_path / "no-eval.json").read_text()
        assert "128×128" in text and "CC BY-SA 4.0" in text and "Apache" in text and "MIT" in text
        assert all(s.credit in text for s in STYLES.values())
    assert "fine-tuned" in (out / "emoji-diffusion" / "README.md").read_text()
    assert "not retrained" in (out / "emoji-gan" / "README.md").read_text()


def test_assembly_refuses_a_run_that_learnt_no_styles(tmp_path: Path) -> None:
    previous = save_tiny_builtins(tmp_path / "previous")
    with pytest.raises(SystemExit, match="no _styles"):
        assemble_builtins.assemble(previous, previous / "emoji-diffusion", tmp_path, None, tmp_path / "out")


def test_prompt_sets_hold_out_what_training_saw_and_the_bank_looks_up_within_rows() -> None:
    from types import SimpleNamespace

    styled = SimpleNamespace(captions=["red apple", "dog", "zebra", "zebra"], held_out=np.asarray([0, 0, 1, 1], bool))

    from studio.training.evaluate_image import features

    pictures = np.zeros((4, 64, 64, 3), np.float32)
    for i, level in enumerate((0.0, 0.3, 0.6, 1.0)):
        pictures[i] = level
    captions = ["red apple", "a puppy", "zebra", "zebra"]
    bank = Bank(features(pictures), captions, ["twemoji", "noto", "noto", "fluent"], np.eye(4), 2)
    sets = prompt_sets(bank, styled)
    assert sets["held_out_captions"] == ["zebra"]
    assert "a puppy" not in sets["held_out"] and "a cute cat" in sets["held_out"]
    assert bank.nearest(pictures[[0, 3]]).tolist() == [0, 3]
    assert bank.nearest(pictures[[0, 3]], rows=np.asarray([2, 3])).tolist() == [2, 3]  # among the styled rows
