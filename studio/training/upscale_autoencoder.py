"""A 128 px autoencoder in the latent space of the first built-ins' 64 px one, so their UNet, GAN and VAE draw at 128.

The first built-in autoencoder maps 64×64 pictures to 16×16×4 latents; everything that draws (the diffusion UNet,
the GAN, the conditional VAE) learnt that latent space. This stage trains a diffusers ``AutoencoderKL`` with one
level more (128×128 ↔ 16×16×4, Stable Diffusion's 8× ratio) to speak the *same* latents:

- its **decoder** learns to turn the old encoder's latents of a picture's 64 px view into the 128 px picture
  (MSE + L1 against the real 128 px drawing: the detail the 64 px view lost is what it learns to add);
- its **encoder** learns to give the old encoder's latents from the 128 px picture (MSE on the posterior's mean and
  log-variance), so image-to-image and inpainting at 128 px land where the denoiser expects.

The shared levels start from the old autoencoder's weights (``init_from_smaller``); the new level starts fresh.
Most steps see 64 px crops (8×8 latents, on the latents' grid); the last 15% see whole pictures. The scaling factor
is the old one: the latents are the same.

    python -m studio.training.upscale_autoencoder --from assets/models/emoji-diffusion/vae --out OUT --time-limit-min 25
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.common import (
    RunLog,
    add_device_flag,
    base_parser,
    batch_indices,
    device_of,
    out_of_time,
    setup,
    to_tensor,
)
from studio.training.datasets import add_data_flags
from studio.training.emoji_styles import load
from studio.training.latents import encoded

log = logging.getLogger("upscale_autoencoder")

SIZE = 128
CROP = 64


def larger_config(config: dict[str, Any]) -> dict[str, Any]:
    """The old autoencoder's architecture with one more (downsampling) level: twice the picture, the same latents."""
    channels = list(config["block_out_channels"])
    out = {k: v for k, v in config.items() if not k.startswith("_")}
    out["block_out_channels"] = tuple([*channels[:-1], channels[-1], channels[-1]])
    out["down_block_types"] = ("DownEncoderBlock2D",) * (len(channels) + 1)
    out["up_block_types"] = ("UpDecoderBlock2D",) * (len(channels) + 1)
    out["sample_size"] = 2 * int(config.get("sample_size") or 64)
    return out


def init_from_smaller(new: Any, old: Any) -> int:
    """Copy the old autoencoder's weights into the shared levels of ``new``; returns how many tensors were copied.

    The encoder's down blocks keep their indices and its last (non-downsampling) block moves one on; the decoder's
    up blocks likewise, its last block (the finest, no upsampler) moving one on. The inserted level stays fresh.
    """
    levels = len(old.config.block_out_channels)
    state = new.state_dict()
    copied = 0
    for key, value in old.state_dict().items():
        target = _shifted(key, levels)
        if target in state and state[target].shape == value.shape:
            state[target] = value.clone()
            copied += 1
    new.load_state_dict(state)
    return copied


def _shifted(key: str, levels: int) -> str:
    """The name of an old tensor in the larger model: the old last level becomes the new last level."""
    for part in ("encoder.down_blocks.", "decoder.up_blocks."):
        if key.startswith(part):
            index, rest = key[len(part) :].split(".", 1)
            if int(index) == levels - 1:
                return f"{part}{levels}.{rest}"
    return key


def train(args: argparse.Namespace) -> None:
    """Fit the larger autoencoder to the old latents; saves ``out/vae`` every ``--ckpt-every`` steps and at the end."""
    import torch
    from diffusers import AutoencoderKL

    setup(args)
    device = device_of(args)
    gen = torch.Generator(device).manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    pictures = load(args.styles.split(","), SIZE, limit=args.limit).split(held_out=False)
    small = pictures.downsampled(SIZE // 2)
    mean, std = encoded(args.source, small.images, device)  # (2N, 4, 16, 16) scaled; rows N.. are mirrors
    old = AutoencoderKL.from_pretrained(args.source, use_safetensors=True)
    factor = float(old.config.scaling_factor)
    if args.init_from is not None:  # continue an earlier run of this stage (the optimiser starts afresh)
        vae = AutoencoderKL.from_pretrained(args.init_from, use_safetensors=True).to(device)
        copied = 0
    else:
        vae = AutoencoderKL(**larger_config(dict(old.config))).to(device)
        copied = init_from_smaller(vae, old.to(device))
    vae.register_to_config(scaling_factor=factor)
    facts = args.init_from / "training.json" if args.init_from is not None else None
    previous = {"continued_from": json.loads(facts.read_text())} if facts is not None and facts.is_file() else {}
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    run = RunLog("upscale_autoencoder", vars(args))
    n = len(pictures.images)
    log.info("autoencoder %.2fM params (%d tensors from %s), %d pictures", _millions(vae), copied, args.source, n)
    for step in range(1, args.steps + 1):
        rows = batch_indices(2 * n, args.batch_size, rng)
        x = to_tensor(pictures.images[rows % n]).to(device)
        x = torch.where(torch.from_numpy(rows >= n).to(device).view(-1, 1, 1, 1), x.flip(-1), x)
        m, s = mean[rows].to(device), std[rows].to(device)
        if not _whole(args, run, step):
            i, j = (int(v) for v in rng.integers(0, (SIZE - CROP) // 8 + 1, size=2))  # latent cells
            x = x[:, :, 8 * i : 8 * i + CROP, 8 * j : 8 * j + CROP]
            m, s = (t[:, :, i : i + CROP // 8, j : j + CROP // 8] for t in (m, s))
        z = (m + s * torch.randn(m.shape, generator=gen, device=device)) / factor
        recon = vae.decode(z).sample
        posterior = vae.encode(x).latent_dist
        mse = torch.nn.functional.mse_loss(recon, x)
        l1 = torch.nn.functional.l1_loss(recon, x)
        match = torch.nn.functional.mse_loss(posterior.mean * factor, m)
        spread = torch.nn.functional.mse_loss(posterior.logvar, 2 * torch.log(s / factor))
        loss = mse + l1 + match + 0.1 * spread
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.steps_done = step
        run.losses = {"mse": mse.item(), "l1": l1.item(), "latent_mse": match.item(), "logvar_mse": spread.item()}
        if step % 25 == 0:
            log.info("step %d mse %.4f l1 %.4f latent %.4f (%.1f min)", step, mse, l1, match, run.wall_min())
        if step % args.ckpt_every == 0 or step == args.steps or out_of_time(args, run):
            save(vae, args.out, run, previous)
        if out_of_time(args, run):
            log.info("time limit reached at step %d", step)
            break


def _whole(args: argparse.Namespace, run: RunLog, step: int) -> bool:
    """Whole pictures for the last 15% of the run (by steps or by time), crops before."""
    late = bool(args.time_limit_min) and run.wall_min() > 0.85 * args.time_limit_min
    return late or step >= int(args.steps * 0.85)


def save(vae: Any, out: Path, run: RunLog, previous: dict[str, Any] | None = None) -> None:
    """``out/vae`` (safetensors) and its run facts (with the run it continued, if any)."""
    vae.save_pretrained(out / "vae", safe_serialization=True)
    facts = {"latents_of": "the 64 px built-in autoencoder (same scaling_factor)", **(previous or {})}
    run.write(out / "vae" / "training.json", facts)
    log.info("saved %s", out / "vae")


def _millions(module: Any) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    p = base_parser(__doc__.splitlines()[0], steps=4000, out="assets/models/emoji-diffusion")
    p.add_argument("--from", dest="source", type=Path, required=True, help="the 64 px autoencoder folder (vae/)")
    p.add_argument("--init-from", type=Path, default=None, help="a 128 px vae/ folder of this stage to continue")
    add_data_flags(p)
    add_device_flag(p)
    train(p.parse_args(argv))


if __name__ == "__main__":
    main()
