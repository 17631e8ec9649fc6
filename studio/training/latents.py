"""The training pictures as latents of the built-in autoencoder, computed once per autoencoder and cached.

The diffusion UNet, the GAN and the conditional VAE all learn to produce 16×16×4 latents that the
autoencoder in ``<diffusion model>/vae`` decodes. ``load_latents`` encodes every picture and its mirror
image (posterior mean and std, multiplied by the VAE's ``scaling_factor`` like the pipeline's latents),
and caches them under /tmp keyed by the autoencoder's weights.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.training.common import to_tensor
from studio.training.emoji_data import CACHE_DIR, EmojiDataset

log = logging.getLogger(__name__)


@dataclass
class Latents:
    """``mean``/``std``: (2N, 4, 16, 16) torch tensors (rows [0, N) originals, [N, 2N) mirrors);
    ``embeddings``: (2N, 384) caption embeddings; ``captions``: 2N strings."""

    mean: Any
    std: Any
    embeddings: Any
    captions: list[str]

    def sample(self, idx: Any, gen: Any) -> Any:
        """Latents drawn from the posterior of rows ``idx`` (``gen`` on the latents' device)."""
        import torch

        noise = torch.randn(self.mean[idx].shape, generator=gen, device=self.mean.device)
        return self.mean[idx] + self.std[idx] * noise

    def to(self, device: Any) -> Latents:
        """The same latents on ``device``."""
        return Latents(self.mean.to(device), self.std.to(device), self.embeddings.to(device), self.captions)


def load_latents(vae_dir: Path, data: EmojiDataset, device: Any = "cpu") -> Latents:
    """Encode ``data`` with the AutoencoderKL in ``vae_dir`` on ``device`` (or read the cached result); the
    latents come back on the CPU."""
    import torch

    mean, std = encoded(vae_dir, data.images, device)
    emb = torch.from_numpy(np.concatenate([data.embeddings, data.embeddings]))  # mirrors share captions
    log.info("latents %s, std %.3f", tuple(mean.shape), float(mean.std()))
    return Latents(mean, std, emb, data.captions + data.captions)


def encoded(vae_dir: Path, images: np.ndarray, device: Any = "cpu") -> tuple[Any, Any]:
    """Posterior mean and std (× ``scaling_factor``) of ``images`` and then of their mirror images, (2N, 4, L, L)
    CPU tensors, cached under /tmp by the autoencoder's weights and the pictures."""
    import torch
    from diffusers import AutoencoderKL

    weights = (vae_dir / "diffusion_pytorch_model.safetensors").read_bytes()
    key = hashlib.sha256(weights + images.tobytes()[:1_000_000] + str(len(images)).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"latents_{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return torch.from_numpy(z["mean"]), torch.from_numpy(z["std"])
    vae = AutoencoderKL.from_pretrained(vae_dir, use_safetensors=True).eval().to(device)
    means, stds = [], []
    with torch.no_grad():
        for flip in (False, True):
            for start in range(0, len(images), 128):
                x = to_tensor(images[start : start + 128]).to(device)
                dist = vae.encode(x.flip(-1) if flip else x).latent_dist
                means.append((dist.mean * vae.config.scaling_factor).cpu())
                stds.append((dist.std * vae.config.scaling_factor).cpu())
    mean, std = torch.cat(means), torch.cat(stds)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, mean=mean.numpy(), std=std.numpy())
    tmp.replace(path)
    return mean, std


def copy_autoencoder(vae_dir: Path, out: Path) -> None:
    """Copy the autoencoder folder into a built-in model's folder, so each model folder stands alone."""
    import shutil

    target = out / "vae"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        shutil.copyfile(vae_dir / name, target / name)


def latent_rgb_factors(lat: Latents, data: EmojiDataset) -> dict[str, list[Any]]:
    """A least-squares linear map from a latent pixel (4 values) to the RGB of its picture patch (4×4 px).

    The live preview applies it instead of the VAE decoder (a few microseconds instead of milliseconds), as the
    community's latent-preview tables do for Stable Diffusion. Returns ``{"weights": 4×3, "bias": 3}``.
    """
    import torch

    n, side = len(data.images), int(lat.mean.shape[-1])  # side: 16 for 64 px pictures, 32 for 128 px
    f = data.images.shape[1] // side
    x = lat.mean[:n].permute(0, 2, 3, 1).reshape(-1, 4)  # (N·side·side, 4)
    rgb = torch.from_numpy(data.images).float().div(127.5).sub(1.0)  # (N, H, W, 3)
    rgb = rgb.reshape(n, side, f, side, f, 3).mean(dim=(2, 4)).reshape(-1, 3)  # (N·side·side, 3): f×f patch means
    design = torch.cat([x, torch.ones(len(x), 1)], dim=1)
    sol = torch.linalg.lstsq(design, rgb).solution  # (5, 3)
    return {"weights": sol[:4].tolist(), "bias": sol[4].tolist()}
