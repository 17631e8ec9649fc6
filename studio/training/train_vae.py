"""Train the built-in VAE "emoji-vae": a caption-conditioned VAE (CVAE) of the autoencoder's latents.

Model (``studio.generators.image.emoji.nets.EmojiCVAE``): an encoder q(z | x, c) and a decoder p(x | z, c), with
``x`` a 16×16×4 latent of the built-in autoencoder (``--vae``; it decodes ``x`` to a 64×64 picture), ``c``
the caption's MiniLM embedding and ``z`` a 32-d code with a learnt conditional prior p(z | c) (a small MLP
giving a diagonal Gaussian). Objective: the negative ELBO, a Gaussian reconstruction term (fixed variance
``--sigma``²) plus KL(q(z | x, c) || p(z | c)), with the KL weight warmed up from 0 to 1 over the first fifth
of training. With a standard normal prior the decoder learnt to ignore the caption (the code carried it all);
the conditional prior makes the caption choose the code. Sampling draws noise ε from a seed and decodes
z = μ(c) + σ(c)·ε; interpolating ε between two seeds morphs between two pictures of the same prompt.

    python -m studio.training.train_vae --steps 3000 --seed 0 --out assets/models/emoji-vae
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from studio.training.common import EMA, RunLog, base_parser, batch_indices, out_of_time, setup
from studio.training.emoji_data import load_dataset
from studio.training.latents import copy_autoencoder, load_latents
from studio.training.train_gan import write_index

log = logging.getLogger("train_vae")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    import torch

    from studio.generators.image.emoji.nets import EmojiCVAE

    p = base_parser(__doc__.splitlines()[0], steps=3000, out="assets/models/emoji-vae")
    p.add_argument("--vae", type=Path, default=Path("assets/models/emoji-diffusion/vae"))
    p.add_argument("--sigma", type=float, default=0.3, help="std of the Gaussian likelihood of a latent")
    p.add_argument("--z-dim", type=int, default=32, help="size of the noise code z")
    args = p.parse_args(argv)
    gen = setup(args)
    rng = np.random.default_rng(args.seed)
    lat = load_latents(args.vae, load_dataset(limit=args.limit))
    model = EmojiCVAE(z_dim=args.z_dim)
    ema = EMA(model, decay=0.998)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    run = RunLog("train_vae", vars(args))
    log.info("CVAE %.2fM params", sum(q.numel() for q in model.parameters()) / 1e6)
    warmup = max(1, args.steps // 5)
    for step in range(1, args.steps + 1):
        idx = torch.from_numpy(batch_indices(len(lat.mean), args.batch_size, rng))
        x = lat.sample(idx, gen)  # (B, 4, 16, 16)
        cond = lat.embeddings[idx]
        recon, mean, logvar = model(x, cond, generator=gen)
        nll = ((recon - x) ** 2).sum(dim=(1, 2, 3)).mean() / (2 * args.sigma**2)  # nats per latent, up to a constant
        p_mean, p_logvar = model.prior(cond)
        # KL(q(z | x, c) || p(z | c)) between diagonal Gaussians.
        kl = 0.5 * (p_logvar - logvar + (logvar.exp() + (mean - p_mean) ** 2) / p_logvar.exp() - 1)
        kl = kl.sum(1).mean()
        beta = min(1.0, step / warmup)
        loss = nll + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        ema.update(model)
        run.steps_done = step
        run.losses = {"recon_nll": nll.item(), "kl": kl.item()}
        if step % 25 == 0:
            log.info("step %d nll %.1f kl %.1f beta %.2f (%.1f min)", step, nll.item(), kl.item(), beta, run.wall_min())
        if step % args.ckpt_every == 0 or step == args.steps or out_of_time(args, run):
            ema.shadow.save_pretrained(args.out / "cvae", safe_serialization=True)
            copy_autoencoder(args.vae, args.out)
            write_index(args.out, "cvae", "EmojiCVAE", "EmojiVAEPipeline")
            run.write(args.out / "cvae" / "training.json")
            log.info("saved %s", args.out)
        if out_of_time(args, run):
            log.info("time limit reached at step %d", step)
            break


if __name__ == "__main__":
    main()
