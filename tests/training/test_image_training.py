"""The built-in image models' training code: prompt token states, the learning-rate schedule, a UNet run end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from studio.training.common import RunLog


def test_token_states_beside_the_pooled_embedding() -> None:
    import torch

    from studio.generators.image.emoji.minilm import PromptEncoder

    enc = PromptEncoder.load()
    prompts = ["rocket", "", "a small brown dog on a green field"]
    pooled, states = enc.encode_with_tokens(prompts, 6)
    assert torch.equal(pooled, enc.encode(prompts))
    assert states.shape == (3, 6, 384)
    norms = states.norm(dim=-1)
    n_rocket = len(enc.tokenizer("rocket")["input_ids"])  # [CLS] rocket [SEP]
    assert torch.allclose(norms[0, :n_rocket], torch.ones(n_rocket), atol=1e-5)
    assert (norms[0, n_rocket:] == 0).all()  # past the prompt's end: zero, an empty slot
    assert (norms[1] == 0).all() and (pooled[1] == 0).all()  # the empty prompt is the null condition
    assert torch.allclose(norms[2], torch.ones(6), atol=1e-5)  # a long prompt is cut to the first tokens


def _args(**kw: object) -> argparse.Namespace:
    base = {"steps": 1000, "time_limit_min": 0.0, "warmup_steps": 0, "decay_frac": 0.0}
    return argparse.Namespace(**{**base, **kw})


def test_learning_rate_schedule() -> None:
    from studio.training.train_diffusion import lr_factor

    run = RunLog("t", {})
    assert [lr_factor(_args(), run, s) for s in (1, 500, 1000)] == [1.0, 1.0, 1.0]
    warm = _args(warmup_steps=100, decay_frac=0.3)
    assert lr_factor(warm, run, 50) == pytest.approx(0.5)
    assert lr_factor(warm, run, 700) == pytest.approx(1.0)
    assert lr_factor(warm, run, 850) == pytest.approx(0.55)
    assert lr_factor(warm, run, 1000) == pytest.approx(0.1)
    # A run stopped by its time limit decays by the clock: half the time gone counts as half the run.
    run.started -= 30
    assert lr_factor(_args(time_limit_min=1.0, decay_frac=0.6), run, 1) == pytest.approx(0.85, abs=0.01)


def test_min_snr_weighting_caps_the_nearly_clean_timesteps() -> None:
    import torch

    from studio.training.train_diffusion import v_loss

    pred, target = torch.zeros(3, 4, 2, 2), torch.ones(3, 4, 2, 2)
    target[0] *= 2.0  # the nearly clean sample has the largest error
    alpha_bar = torch.tensor([0.999, 0.5, 0.01])  # SNR 999, 1, 0.0101
    assert v_loss(pred, target, alpha_bar, 0.0).item() == pytest.approx((4 + 1 + 1) / 3)
    # Weights min(SNR, 5) / (SNR + 1) = 0.005, 0.5, 0.01, rescaled to mean 1: the clean sample's 4 barely counts.
    w = torch.tensor([5 / 1000, 0.5, 0.0101 / 1.0101])
    expected = (torch.tensor([4.0, 1.0, 1.0]) * w / w.mean()).mean()
    assert v_loss(pred, target, alpha_bar, 5.0).item() == pytest.approx(expected.item(), rel=1e-4)
    assert v_loss(pred, target, alpha_bar, 5.0).item() < v_loss(pred, target, alpha_bar, 0.0).item()
    # A batch drawn wholly at the zero-terminal-SNR step has weight 0 everywhere: a zero loss, never NaN.
    assert v_loss(pred[:1], target[:1], torch.tensor([0.0]), 5.0).item() == 0.0


def test_unet_with_prompt_tokens_trains_and_loads(tmp_path: Path) -> None:
    import torch
    from diffusers import AutoencoderKL

    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.training.train_diffusion import autoencoder_config, main

    torch.manual_seed(0)
    AutoencoderKL(**autoencoder_config()).save_pretrained(tmp_path / "vae", safe_serialization=True)
    main(
        [
            "--stage",
            "unet",
            "--limit",
            "6",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--prompt-tokens",
            "5",
            "--warmup-steps",
            "1",
            "--snr-gamma",
            "5",
            "--out",
            str(tmp_path),
        ]
    )
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["_prompt_tokens"] == 5
    facts = json.loads((tmp_path / "unet" / "training.json").read_text())
    assert facts["steps_done"] == 2
    assert set(facts["final_losses"]) == {"v_mse_min_snr"}  # the weighted loss is named as such

    pipe = EmojiDiffusionPipeline.load(tmp_path)
    assert pipe.prompt_tokens == 5
    seen: list[dict] = []
    pipe.unet.register_forward_pre_hook(lambda m, a, kw: seen.append(kw), with_kwargs=True)
    out = pipe("rocket", num_inference_steps=2, guidance_scale=4.0, num_images_per_prompt=2, output_type="np")
    assert out.images.shape == (2, 64, 64, 3)
    context, labels = seen[0]["encoder_hidden_states"], seen[0]["class_labels"]
    assert context.shape == (4, 5, 384) and labels.shape == (4, 384)
    assert (context[:2] == 0).all() and (labels[:2] == 0).all()  # guidance's unconditional half: the null prompt
    assert (context[2:, :3].norm(dim=-1) > 0.99).all() and (context[2:, 3:] == 0).all()
