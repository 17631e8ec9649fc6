"""The networks of the pixel models the Train tab makes: a plain convolutional autoencoder and a deep belief net.

- ``PixelAutoencoder``: encoder (three stride-2 convs, a linear layer) to a ``code_dim`` code, decoder (a linear
  layer, three transposed convs) back to pixels in [-1, 1]. A plain autoencoder has no prior to sample from, so
  after training the studio fits a diagonal Gaussian to the codes of the training pictures (the buffers
  ``code_mean``/``code_std``) and decodes draws from it.
- ``DeepBeliefNet``: a stack of Bernoulli RBMs on the pixels of a ``size``×``size`` picture (values in [0, 1]
  read as probabilities), trained greedily by contrastive divergence, one layer after the other. Sampling runs a
  Gibbs chain in the top RBM, started from the mean activation of its visible layer over the training data (the
  buffer ``top_mean``), then goes down the stack through each RBM's p(v | h).

Both are diffusers ``ModelMixin``/``ConfigMixin`` classes, saved as ``config.json`` +
``diffusion_pytorch_model.safetensors`` and loaded with ``from_pretrained(..., use_safetensors=True)``.
This module imports torch and diffusers at import time; import it inside functions.
"""

from __future__ import annotations

import itertools

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional


class PixelAutoencoder(ModelMixin, ConfigMixin):
    """``encode(x (B, 3, S, S) in [-1, 1]) -> (B, code_dim)``; ``decode(code) -> (B, 3, S, S)``; S = ``size``."""

    @register_to_config
    def __init__(self, size: int = 64, channels: tuple[int, ...] = (16, 32, 64), code_dim: int = 64) -> None:
        super().__init__()
        chans = tuple(channels)
        self.side = size // 2 ** len(chans)
        enc: list[nn.Module] = []
        c_prev = 3
        for c in chans:
            enc += [nn.Conv2d(c_prev, c, 4, stride=2, padding=1), nn.SiLU()]
            c_prev = c
        self.encoder = nn.Sequential(*enc)
        self.to_code = nn.Linear(chans[-1] * self.side**2, code_dim)
        self.from_code = nn.Linear(code_dim, chans[-1] * self.side**2)
        dec: list[nn.Module] = []
        rev = (*chans[::-1][1:], chans[0])
        c_prev = chans[-1]
        for c in rev:
            dec += [nn.ConvTranspose2d(c_prev, c, 4, stride=2, padding=1), nn.SiLU()]
            c_prev = c
        self.decoder = nn.Sequential(*dec, nn.Conv2d(c_prev, 3, 3, padding=1))
        self.register_buffer("code_mean", torch.zeros(code_dim))
        self.register_buffer("code_std", torch.ones(code_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(x).flatten(1))  # (B, code_dim)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        c = self.config.channels[-1]
        h = self.from_code(code).view(-1, c, self.side, self.side)  # (B, C, S/8, S/8)
        return torch.tanh(self.decoder(h))  # (B, 3, S, S) in [-1, 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample(self, eps: torch.Tensor) -> torch.Tensor:
        """Decode codes drawn from the fitted Gaussian: ``code = mean + std * eps`` for standard normal ``eps``."""
        return self.decode(self.code_mean + self.code_std * eps)


class DeepBeliefNet(ModelMixin, ConfigMixin):
    """Stacked Bernoulli RBMs over ``3 * size * size`` visible units; ``hidden`` gives each layer's hidden units."""

    @register_to_config
    def __init__(self, size: int = 32, hidden: tuple[int, ...] = (512, 256)) -> None:
        super().__init__()
        sizes = (3 * size * size, *tuple(hidden))
        self.weights = nn.ParameterList(nn.Parameter(0.01 * torch.randn(a, b)) for a, b in itertools.pairwise(sizes))
        self.visible_bias = nn.ParameterList(nn.Parameter(torch.zeros(a)) for a in sizes[:-1])
        self.hidden_bias = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in sizes[1:])
        self.register_buffer("top_mean", torch.full((sizes[-2],), 0.5))

    @property
    def layers(self) -> int:
        return len(self.weights)

    def p_hidden(self, v: torch.Tensor, k: int) -> torch.Tensor:
        return torch.sigmoid(v @ self.weights[k] + self.hidden_bias[k])

    def p_visible(self, h: torch.Tensor, k: int) -> torch.Tensor:
        return torch.sigmoid(h @ self.weights[k].t() + self.visible_bias[k])

    def free_energy(self, v: torch.Tensor, k: int) -> torch.Tensor:
        """F(v) = -v·b - Σ softplus(vW + c) of RBM ``k``, per row (B,)."""
        return -(v @ self.visible_bias[k]) - functional.softplus(v @ self.weights[k] + self.hidden_bias[k]).sum(1)

    def up(self, v: torch.Tensor, upto: int) -> torch.Tensor:
        """Mean activations after the first ``upto`` layers (the data the RBM ``upto`` sees)."""
        for k in range(upto):
            v = self.p_hidden(v, k)
        return v

    def down(self, h: torch.Tensor, start: int) -> torch.Tensor:
        """Mean visible units from layer ``start``'s visible activations down to the pixels."""
        for k in range(start - 1, -1, -1):
            h = self.p_visible(h, k)
        return h

    def gibbs(self, v: torch.Tensor, k: int, steps: int, gen: torch.Generator | None) -> torch.Tensor:
        """``steps`` rounds of block Gibbs sampling in RBM ``k`` from visible ``v``; returns the last p(v | h)."""
        p_v = v
        for _ in range(steps):
            h = torch.bernoulli(self.p_hidden(v, k), generator=gen)
            p_v = self.p_visible(h, k)
            v = torch.bernoulli(p_v, generator=gen)
        return p_v

    def sample(self, n: int, steps: int, gen: torch.Generator | None) -> torch.Tensor:
        """``n`` pictures (n, 3, size, size) in [0, 1] from a Gibbs chain of ``steps`` rounds in the top RBM."""
        top = self.layers - 1
        start = self.top_mean.expand(n, -1).to(torch.float32).cpu()
        v = torch.bernoulli(start, generator=gen).to(self.top_mean.device)
        p_v = self.gibbs(v, top, steps, None if self.top_mean.device.type != "cpu" else gen)
        pixels = self.down(p_v, top)
        s = self.config.size
        return pixels.view(n, 3, s, s)
