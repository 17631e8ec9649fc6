"""A plain autoencoder of pixels: reconstruction MSE; sampled by decoding draws from a Gaussian fitted to the
training pictures' codes (``studio.generators.image.pixel.nets.PixelAutoencoder``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional

from studio.training.techniques.base import Batch, TechniqueBase, write_index


class AutoencoderTechnique(TechniqueBase):
    """Encoder -> code -> decoder, trained to reproduce its input."""

    name = "autoencoder"
    terms = ("recon_mse",)

    def __init__(self, captions: list[str]) -> None:
        from studio.generators.image.pixel.nets import PixelAutoencoder

        super().__init__()
        self.net = PixelAutoencoder(size=self.size)
        self.modules = {"autoencoder": self.net}

    def train_step(self, batch: Batch, opts: dict, gen: torch.Generator, step: int, total: int) -> dict[str, float]:
        loss = functional.mse_loss(self.net(batch.x), batch.x)
        opts["model"].zero_grad(set_to_none=True)
        loss.backward()
        opts["model"].step()
        return {"recon_mse": loss.item()}

    @torch.no_grad()
    def val_loss(self, batch: Batch, gen: torch.Generator) -> float:
        return functional.mse_loss(self.net(batch.x), batch.x).item()

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        codes = self.net.encode(x.to(self.device))
        self.net.code_mean.copy_(codes.mean(0))
        self.net.code_std.copy_(
            codes.std(0, unbiased=False).clamp(min=1e-4) if len(codes) > 1 else torch.ones_like(codes[0])
        )

    @torch.no_grad()
    def sample(self, prompt: str, seeds: list[int]) -> list:
        from studio.generators.image.pixel.pipeline import StudioAutoencoderPipeline

        pipe = StudioAutoencoderPipeline(self.net)
        images = pipe(pipe.codes(seeds))
        return images

    def save(self, folder: Path) -> None:
        self.net.save_pretrained(folder / "autoencoder", safe_serialization=True)
        components = {"autoencoder": ["studio.generators.image.pixel.nets", "PixelAutoencoder"]}
        write_index(folder, "StudioAutoencoderPipeline", components)
