"""A deep belief network: stacked RBMs on 32×32 pictures, trained greedily by contrastive divergence (CD-1).

Layer k trains during its share of the steps (the steps are split evenly over the layers), on the mean
activations of the layers below. CD-1's gradient is the gradient of F(v_data) - F(v_model) with the model's
sample held fixed (F the free energy), so any optimiser of the run applies. Logged terms: the reconstruction
error of the layer in training (mean squared difference between its input and p(v | h(v))) and its mean free
energy on the data; the validation loss is the whole stack's reconstruction error on held-out pictures.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional

from studio.training.techniques.base import Batch, TechniqueBase, write_index

SIZE = 32


class DBNTechnique(TechniqueBase):
    """Greedy layer-wise CD-1 training of ``DeepBeliefNet``."""

    name = "dbn"
    terms = ("recon_error", "free_energy")

    def __init__(self, captions: list[str]) -> None:
        from studio.generators.image.pixel.nets import DeepBeliefNet

        super().__init__()
        self.net = DeepBeliefNet(size=SIZE)
        self.modules = {"dbn": self.net}

    def visible(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) in [-1, 1] -> (B, 3·32·32) in [0, 1]."""
        return ((functional.adaptive_avg_pool2d(x, SIZE) + 1) / 2).clamp(0, 1).flatten(1)

    def layer_at(self, step: int, total: int) -> int:
        return min(self.net.layers - 1, (step - 1) * self.net.layers // max(1, total))

    def train_step(self, batch: Batch, opts: dict, gen: torch.Generator, step: int, total: int) -> dict[str, float]:
        k = self.layer_at(step, total)
        with torch.no_grad():
            v0 = self.net.up(self.visible(batch.x), k)
            h0 = torch.bernoulli(self.net.p_hidden(v0, k).cpu(), generator=gen).to(v0.device)
            v1 = self.net.p_visible(h0, k)  # CD-1 negative sample (mean-field visible, as Hinton's guide advises)
        loss = self.net.free_energy(v0, k).mean() - self.net.free_energy(v1, k).mean()
        opts["model"].zero_grad(set_to_none=True)
        loss.backward()
        opts["model"].step()
        with torch.no_grad():
            recon = functional.mse_loss(self.net.p_visible(self.net.p_hidden(v0, k), k), v0).item()
            fe = self.net.free_energy(v0, k).mean().item() / v0.shape[1]
        return {"recon_error": recon, "free_energy": fe}

    @torch.no_grad()
    def val_loss(self, batch: Batch, gen: torch.Generator) -> float:
        v = self.visible(batch.x)
        top = self.net.layers
        return functional.mse_loss(self.net.down(self.net.up(v, top), top), v).item()

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        top = self.net.layers - 1
        self.net.top_mean.copy_(self.net.up(self.visible(x.to(self.device)), top).mean(0))

    @torch.no_grad()
    def sample(self, prompt: str, seeds: list[int]) -> list:
        from studio.generators.image.pixel.pipeline import StudioDBNPipeline

        return StudioDBNPipeline(self.net)(seeds, 25)

    def save(self, folder: Path) -> None:
        self.net.save_pretrained(folder / "dbn", safe_serialization=True)
        write_index(folder, "StudioDBNPipeline", {"dbn": ["studio.generators.image.pixel.nets", "DeepBeliefNet"]})
