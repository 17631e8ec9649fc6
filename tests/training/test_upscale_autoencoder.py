"""The 128 px autoencoder that speaks the 64 px one's latents: its architecture, the weights it inherits, a run on a
tiny set, and the built-in diffusion pipeline drawing 128×128 with it and an unchanged 16×16 UNet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from studio.training import latents, upscale_autoencoder
from studio.training.emoji_styles import StyledSet
from studio.training.train_diffusion import autoencoder_config
from tests.training.pictures import square_pictures


def _small() -> torch.nn.Module:
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(**autoencoder_config(64)).eval()


def test_the_larger_autoencoder_has_one_level_more_and_inherits_every_old_tensor() -> None:
    from diffusers import AutoencoderKL

    old = _small()
    config = upscale_autoencoder.larger_config(dict(old.config))
    assert config["block_out_channels"] == (32, 64, 64, 64) and config["sample_size"] == 128
    new = AutoencoderKL(**config)
    assert upscale_autoencoder.init_from_smaller(new, old) == len(old.state_dict())
    mine, theirs = new.state_dict(), old.state_dict()
    assert torch.equal(
        mine["encoder.down_blocks.3.resnets.0.conv1.weight"], theirs["encoder.down_blocks.2.resnets.0.conv1.weight"]
    )
    assert torch.equal(
        mine["decoder.up_blocks.3.resnets.0.conv1.weight"], theirs["decoder.up_blocks.2.resnets.0.conv1.weight"]
    )
    assert torch.equal(mine["decoder.conv_in.weight"], theirs["decoder.conv_in.weight"])
    with torch.no_grad():
        z = new.encode(torch.zeros(1, 3, 128, 128)).latent_dist.mean
        assert z.shape == (1, 4, 16, 16)  # the old latents' shape, from twice the picture
        assert new.decode(z).sample.shape == (1, 3, 128, 128)


def test_a_run_saves_an_autoencoder_in_the_old_latent_space_that_the_pipeline_draws_128px_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffusers import UNet2DConditionModel

    from studio.generators.image.checkpoints import native_size
    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.training.common import RunLog
    from studio.training.train_diffusion import save_pipeline, unet_config

    old = _small()
    old.register_to_config(scaling_factor=0.5)
    old.save_pretrained(tmp_path / "old" / "vae", safe_serialization=True)
    images = square_pictures(6, side=128)
    pictures = StyledSet(images, ["magenta square"] * 6, ["twemoji"] * 6, ["x"] * 6, np.zeros(6, bool))
    monkeypatch.setattr(upscale_autoencoder, "load", lambda styles, size, limit=None: pictures)
    monkeypatch.setattr(latents, "CACHE_DIR", tmp_path / "cache")
    out = tmp_path / "model"
    upscale_autoencoder.main(
        [
            "--from",
            str(tmp_path / "old" / "vae"),
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--device",
            "cpu",
        ]
    )
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(out / "vae", use_safetensors=True)
    assert vae.config.scaling_factor == 0.5 and vae.config.sample_size == 128
    assert (out / "vae" / "training.json").is_file()
    # A UNet of the old 16×16 latents, unchanged, with the new autoencoder: the pipeline draws at 128 px.
    torch.manual_seed(0)
    save_pipeline(UNet2DConditionModel(**unet_config(16)), out, RunLog("test", {}), prompt_tokens=4)
    pipe = EmojiDiffusionPipeline.load(out)
    assert native_size(pipe) == 128
    assert pipe("magenta square", num_inference_steps=1, output_type="np").images.shape == (1, 128, 128, 3)
