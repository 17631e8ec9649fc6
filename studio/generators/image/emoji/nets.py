"""The networks of the built-in GAN and VAE image models, on the latents of the built-in autoencoder.

Both models draw 16×16×4 latents that the built-in ``AutoencoderKL`` (the one the diffusion model uses)
decodes to 64×64 pictures; working at 16×16 makes them cheap enough to train on a shared CPU. They share
one decoder shape: a noise vector ``z`` and the prompt's 384-d MiniLM embedding ``c`` become a 4×4 feature
map that upsampling blocks grow to 16×16×4. Each block is modulated by ``c`` (FiLM: a per-channel scale
and shift computed from the embedding), so the prompt steers every scale.

- ``EmojiGANGenerator``: that decoder, trained adversarially (``studio/training/train_gan.py``).
- ``EmojiCVAE``: a conditional VAE: a convolutional encoder q(z | x, c), the same decoder p(x | z, c) and a
  learnt conditional prior p(z | c) (``studio/training/train_vae.py``); ``x`` is an autoencoder latent.

They are diffusers ``ModelMixin``/``ConfigMixin`` classes, so they save and load as Hugging Face folders
(``config.json`` + ``diffusion_pytorch_model.safetensors``) with ``from_pretrained(..., use_safetensors=True)``.
This module imports torch and diffusers at import time; import it inside functions.
"""

from __future__ import annotations

import itertools

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class FiLMBlock(nn.Module):
    """Upsample ×2, then two 3×3 convs, each followed by GroupNorm, FiLM from the condition, and SiLU."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(min(8, c_out // 4), c_out, affine=False)
        self.norm2 = nn.GroupNorm(min(8, c_out // 4), c_out, affine=False)
        self.film = nn.Linear(cond_dim, 4 * c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C_in, 2H, 2W)
        g1, b1, g2, b2 = self.film(cond)[:, :, None, None].chunk(4, dim=1)  # each (B, C_out, 1, 1)
        h = nn.functional.silu(self.norm1(self.conv1(x)) * (1 + g1) + b1)
        h = nn.functional.silu(self.norm2(self.conv2(h)) * (1 + g2) + b2)
        return h + self.skip(x)


class ConditionalDecoder(nn.Module):
    """(z, c) -> (B, out_channels, 4·2^k, 4·2^k) for k = len(channels) - 1 upsampling blocks."""

    def __init__(self, z_dim: int, cond_dim: int, channels: tuple[int, ...], hidden: int, out_channels: int) -> None:
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.start_channels = channels[0]
        self.fc = nn.Linear(z_dim + hidden, channels[0] * 16)
        self.blocks = nn.ModuleList(FiLMBlock(a, b, hidden) for a, b in itertools.pairwise(channels))
        self.out = nn.Conv2d(channels[-1], out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        e = self.embed(cond)  # (B, hidden)
        h = self.fc(torch.cat([z, e], dim=1)).view(-1, self.start_channels, 4, 4)  # (B, C0, 4, 4)
        for block in self.blocks:
            h = block(h, e)
        return self.out(h)  # (B, out_channels, 16, 16) with the default channels


class EmojiGANGenerator(ModelMixin, ConfigMixin):
    """The GAN's generator: ``forward(z (B, z_dim), cond (B, 384)) -> latents (B, 4, 16, 16)``."""

    @register_to_config
    def __init__(
        self,
        z_dim: int = 64,
        cond_dim: int = 384,
        channels: tuple[int, ...] = (128, 64, 32),
        hidden: int = 256,
        out_channels: int = 4,
    ) -> None:
        super().__init__()
        self.decoder = ConditionalDecoder(z_dim, cond_dim, tuple(channels), hidden, out_channels)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, cond)


class ConvEncoder(nn.Module):
    """(x (B, C, 16, 16), c) -> mean and log-variance of q(z | x, c), each (B, z_dim)."""

    def __init__(self, z_dim: int, cond_dim: int, channels: tuple[int, ...], hidden: int, in_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c in channels:  # each stride-2 conv halves the side: 16 -> 4 after two
            layers += [nn.Conv2d(c_prev, c, 4, stride=2, padding=1), nn.GroupNorm(min(8, c // 4), c), nn.SiLU()]
            c_prev = c
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(c_prev * 16 + cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * z_dim))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(x).flatten(1)  # (B, C * 16)
        mean, logvar = self.head(torch.cat([h, cond], dim=1)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 6.0)


class EmojiCVAE(ModelMixin, ConfigMixin):
    """A conditional VAE of latents with a learnt conditional prior.

    ``encode(x, c)`` -> posterior q(z | x, c) (mean, logvar); ``prior(c)`` -> p(z | c) (mean, logvar);
    ``decode(z, c)`` -> x; ``sample(eps, c)`` decodes ``z = mean_p(c) + std_p(c) * eps`` for a standard normal
    ``eps`` (the seed's noise). The prior depends on the caption, so the caption steers the code itself, not only
    the decoder: a decoder that learnt to lean on z alone still draws what the prompt asks for.
    """

    @register_to_config
    def __init__(
        self,
        z_dim: int = 32,
        cond_dim: int = 384,
        enc_channels: tuple[int, ...] = (32, 64),
        dec_channels: tuple[int, ...] = (128, 64, 32),
        hidden: int = 256,
        data_channels: int = 4,
    ) -> None:
        super().__init__()
        self.encoder = ConvEncoder(z_dim, cond_dim, tuple(enc_channels), hidden, data_channels)
        self.decoder = ConditionalDecoder(z_dim, cond_dim, tuple(dec_channels), hidden, data_channels)
        self.prior_net = nn.Sequential(nn.Linear(cond_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * z_dim))

    def encode(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x, cond)

    def prior(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.prior_net(cond).chunk(2, dim=1)
        return mean, logvar.clamp(-6.0, 2.0)

    def decode(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, cond)

    def sample(self, eps: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Decode the prior's code for noise ``eps`` (B, z_dim) and captions ``cond`` (B, 384)."""
        mean, logvar = self.prior(cond)
        return self.decode(mean + (0.5 * logvar).exp() * eps, cond)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> tuple:
        """Reconstruction with the reparameterisation trick: ``(recon, mean, logvar)``."""
        mean, logvar = self.encode(x, cond)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return self.decode(mean + (0.5 * logvar).exp() * eps, cond), mean, logvar
