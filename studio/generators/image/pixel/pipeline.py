"""Pipelines of the pixel models (``nets``): a prompt-free draw of pictures, one per seed.

A pipeline folder holds ``model_index.json`` (``_class_name`` "StudioAutoencoderPipeline" or "StudioDBNPipeline")
and the network's folder (``autoencoder/`` or ``dbn/``). The models are unconditional: a prompt is recorded in the
recipe but does not steer them. The memory manager moves a pipeline with ``to``; ``components`` lets it count the
bytes.
This module imports torch and diffusers at import time; import it inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from PIL import Image

from studio.generators.image.pixel.nets import DeepBeliefNet, PixelAutoencoder


class _PixelPipeline:
    component: ClassVar[str] = ""
    net_class: ClassVar[Any] = None

    def __init__(self, net: Any) -> None:
        self.net = net.eval()
        self.components = {self.component: net}

    @classmethod
    def load(cls, folder: str | Path) -> Any:
        """Build from a model folder (safetensors only), on the CPU."""
        return cls(cls.net_class.from_pretrained(Path(folder) / cls.component, use_safetensors=True))

    def to(self, device: Any) -> _PixelPipeline:
        self.net.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @staticmethod
    def to_images(x: torch.Tensor) -> list[Image.Image]:
        """(B, 3, H, W) in [0, 1] -> PIL images."""
        arr = (x.detach().float().cpu().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
        return [Image.fromarray(a) for a in arr]


class StudioAutoencoderPipeline(_PixelPipeline):
    """Pictures from a plain autoencoder: codes drawn from the Gaussian fitted to its training codes, decoded."""

    component = "autoencoder"
    net_class = PixelAutoencoder

    def code_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, int(self.net.config.code_dim))

    def codes(self, seeds: list[int]) -> torch.Tensor:
        """One standard normal code per seed: the same seed always gives the same picture."""
        return torch.cat([torch.randn(self.code_shape(1), generator=torch.Generator().manual_seed(s)) for s in seeds])

    @torch.no_grad()
    def __call__(self, codes: torch.Tensor) -> list[Image.Image]:
        x = self.net.sample(codes.to(self.device))
        return self.to_images((x + 1) / 2)


class StudioDBNPipeline(_PixelPipeline):
    """Pictures from a deep belief net: a Gibbs chain of ``num_steps`` rounds in its top RBM per seed."""

    component = "dbn"
    net_class = DeepBeliefNet

    @torch.no_grad()
    def __call__(self, seeds: list[int], num_steps: int) -> list[Image.Image]:
        pictures = [self.net.sample(1, num_steps, torch.Generator().manual_seed(s)) for s in seeds]
        return self.to_images(torch.cat(pictures))
