"""What the techniques share: the batch they get, moving their networks, and the pieces of latent models
(the built-in autoencoder that turns pictures into latents, and the MiniLM caption table)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass
class Batch:
    """A training batch: pictures ``x`` (B, 3, S, S) in [-1, 1], augmented; ``caption_ids`` (B,) into the
    technique's caption table."""

    x: torch.Tensor
    caption_ids: torch.Tensor


class TechniqueBase:
    """Defaults every technique shares (a technique overrides what it needs)."""

    name = ""
    terms: tuple[str, ...] = ()
    size = 64
    betas: tuple[float, float] | None = None
    modules: dict[str, torch.nn.Module]
    frozen: dict[str, torch.nn.Module]

    def __init__(self) -> None:
        self.device = torch.device("cpu")
        self.frozen = {}

    def param_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        return {"model": [p for m in self.modules.values() for p in m.parameters()]}

    def to(self, device: Any) -> TechniqueBase:
        """Move every network (trained and frozen); the memory manager calls this."""
        self.device = torch.device(device)
        for m in (*self.modules.values(), *self.frozen.values()):
            m.to(self.device)
        return self

    def fit(self, x: torch.Tensor) -> None:
        """Fit what sampling needs from the training pictures ``x`` (nothing by default)."""

    def train_mode(self, on: bool) -> None:
        for m in self.modules.values():
            m.train(on)


class CaptionTable:
    """The distinct captions of a run, their MiniLM embeddings (U, 384) and, if asked, token states (U, T, 384)."""

    def __init__(self, captions: list[str], tokens: int = 0) -> None:
        from studio.generators.image.emoji.minilm import PromptEncoder

        self.captions = list(dict.fromkeys(captions))
        self.index = {c: i for i, c in enumerate(self.captions)}
        self.encoder = PromptEncoder.load()
        pooled, states = self.encoder.encode_with_tokens(self.captions, tokens)
        self.pooled = pooled.float()
        self.states = states.float() if tokens else None

    def ids(self, captions: list[str]) -> torch.Tensor:
        return torch.tensor([self.index[c] for c in captions], dtype=torch.long)


class LatentCodec:
    """The built-in autoencoder (frozen): pictures (B, 3, S, S) -> scaled latents (B, 4, 16, 16).

    A run's pictures are 64 px; the autoencoder takes its own size (``sample_size``: 128 now, 64 for the first
    built-ins), so pictures are resized to it first. The 128 px autoencoder was fitted to give the latents of a
    picture's 64 px view, so an enlarged 64 px picture lands where the built-in models expect."""

    def __init__(self, vae_dir: Path) -> None:
        from diffusers import AutoencoderKL

        self.dir = vae_dir
        self.vae = AutoencoderKL.from_pretrained(vae_dir, use_safetensors=True).eval().requires_grad_(False)
        self.side = int(self.vae.config.sample_size)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = x.to(self.vae.device)
        if x.shape[-1] != self.side:
            x = torch.nn.functional.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False)
        dist = self.vae.encode(x).latent_dist
        noise = torch.randn(dist.mean.shape, generator=gen).to(dist.mean.device)
        return (dist.mean + dist.std * noise) * self.vae.config.scaling_factor

    def copy_to(self, folder: Path) -> None:
        """Copy the autoencoder into a model folder, so the folder stands alone (as the built-ins do)."""
        target = folder / "vae"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "diffusion_pytorch_model.safetensors"):
            shutil.copyfile(self.dir / name, target / name)


def write_index(folder: Path, class_name: str, components: dict[str, list[str]], **facts: Any) -> None:
    """``model_index.json`` of a model folder: its pipeline class, components and extra facts."""
    import diffusers

    index = {"_class_name": class_name, "_diffusers_version": diffusers.__version__, **components, **facts}
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


def noisy_copy(x: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """``x`` plus Gaussian noise of std ``sigma`` drawn on the CPU from ``gen`` (same numbers on any device)."""
    return x + sigma * torch.randn(x.shape, generator=gen).to(x.device)
