"""A lean key/value-cached decoder for the built-in GPT-2 music model.

The model is tiny (a few M parameters), so on a CPU ``model(...)``'s per-call framework overhead (module hooks,
cache objects, mask building) costs several times the arithmetic. This class reads the very same tensors from
a ``GPT2LMHeadModel`` (no copy) and runs the same maths with plain torch ops into preallocated K/V buffers. It
is checked against the transformers forward in ``tests/generators/test_music.py`` (same logits to 1e-4).
"""

from __future__ import annotations

import math
from typing import Any


class GPT2Decoder:
    """Greedy-friendly GPT-2 inference: ``prefill(ids)`` then ``step(id)``; both return next-token logits (V,)."""

    def __init__(self, model: Any) -> None:
        import torch

        cfg = model.config
        if getattr(cfg, "model_type", "") != "gpt2":
            raise TypeError(f"the fast decoder reads GPT-2 weights, not {cfg.model_type!r}")
        if getattr(cfg, "activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
            raise TypeError(f"unsupported activation {cfg.activation_function!r}")
        tr = model.transformer
        self.n_head = cfg.n_head
        self.d = cfg.n_embd
        self.hd = self.d // self.n_head
        self.ctx = cfg.n_positions
        self.eps = cfg.layer_norm_epsilon
        self.scale = 1.0 / math.sqrt(self.hd) if cfg.scale_attn_weights else 1.0
        with torch.no_grad():
            self.wte = tr.wte.weight.detach()
            self.wpe = tr.wpe.weight.detach()
            self.head = model.lm_head.weight.detach()
            self.ln_f = (tr.ln_f.weight.detach(), tr.ln_f.bias.detach())
            self.layers = [
                (
                    (b.ln_1.weight.detach(), b.ln_1.bias.detach()),
                    (b.attn.c_attn.weight.detach(), b.attn.c_attn.bias.detach()),
                    (b.attn.c_proj.weight.detach(), b.attn.c_proj.bias.detach()),
                    (b.ln_2.weight.detach(), b.ln_2.bias.detach()),
                    (b.mlp.c_fc.weight.detach(), b.mlp.c_fc.bias.detach()),
                    (b.mlp.c_proj.weight.detach(), b.mlp.c_proj.bias.detach()),
                )
                for b in tr.h
            ]
        dev, dt = self.wte.device, self.wte.dtype
        n_layer = len(self.layers)
        self.k = torch.zeros(n_layer, self.n_head, self.ctx, self.hd, device=dev, dtype=dt)
        self.v = torch.zeros_like(self.k)
        self.pos = 0

    def _ln(self, x: Any, wb: tuple[Any, Any]) -> Any:
        import torch

        return torch.layer_norm(x, (self.d,), wb[0], wb[1], self.eps)

    def _mlp(self, h: Any, fc: tuple[Any, Any], proj: tuple[Any, Any]) -> Any:
        import torch
        import torch.nn.functional as F

        return torch.addmm(proj[1], F.gelu(torch.addmm(fc[1], h, fc[0]), approximate="tanh"), proj[0])

    def prefill(self, ids: list[int]) -> Any:
        """Reset the cache, read ``ids`` (T ≤ context) in one pass; logits after the last id."""
        import torch
        import torch.nn.functional as F

        t = len(ids)
        if not 0 < t <= self.ctx:
            raise ValueError(f"prefill takes 1..{self.ctx} ids, got {t}")
        with torch.inference_mode():
            idx = torch.tensor(ids, device=self.wte.device)
            x = self.wte[idx] + self.wpe[:t]  # (T, C)
            for i, (ln1, attn, proj, ln2, fc, mproj) in enumerate(self.layers):
                qkv = torch.addmm(attn[1], self._ln(x, ln1), attn[0])  # (T, 3C)
                q, k, v = (z.view(t, self.n_head, self.hd).transpose(0, 1) for z in qkv.split(self.d, dim=1))
                self.k[i, :, :t] = k
                self.v[i, :, :t] = v
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)  # (H, T, hd)
                x = x + torch.addmm(proj[1], y.transpose(0, 1).reshape(t, self.d), proj[0])
                x = x + self._mlp(self._ln(x, ln2), fc, mproj)
            self.pos = t
            return self._ln(x[-1:], self.ln_f)[0] @ self.head.T

    def step(self, token: int) -> Any:
        """Append one id (the cache must have room); logits for the id after it."""
        import torch

        if self.pos >= self.ctx:
            raise ValueError("the context window is full; prefill a shorter window")
        p = self.pos
        with torch.inference_mode():
            x = (self.wte[token] + self.wpe[p]).unsqueeze(0)  # (1, C)
            for i, (ln1, attn, proj, ln2, fc, mproj) in enumerate(self.layers):
                qkv = torch.addmm(attn[1], self._ln(x, ln1), attn[0])  # (1, 3C)
                q, k, v = qkv.view(3, self.n_head, self.hd)  # each (H, hd)
                self.k[i, :, p] = k
                self.v[i, :, p] = v
                keys, values = self.k[i, :, : p + 1], self.v[i, :, : p + 1]  # (H, P, hd)
                att = torch.softmax(torch.bmm(keys, q.unsqueeze(2)).squeeze(2) * self.scale, dim=-1)  # (H, P)
                y = torch.bmm(att.unsqueeze(1), values).reshape(1, self.d)  # (1, C)
                x = x + torch.addmm(proj[1], y, proj[0])
                x = x + self._mlp(self._ln(x, ln2), fc, mproj)
            self.pos = p + 1
            return self._ln(x, self.ln_f)[0] @ self.head.T
