"""The fast CPU path for causal language models, part 2: runners, a lean decode step with a KV cache.

A runner turns "these token ids at this position" into next-token logits. ``LlamaRunner`` is a hand-written forward
for the Llama layout (Llama, Mistral without sliding windows, Qwen2): a preallocated KV cache, rotary tables
computed once per request, and no masks or output objects per step. It calls the model's own Linear modules, so
compact (``compact.py``) or not, biases included, it computes what ``transformers`` computes. Every other causal LM
goes through ``HFRunner``: the model's own forward with a ``DynamicCache``. Runners hold per-request state (the
cache); the model they wrap is shared and never mutated after loading. This module imports torch at the top: import
it inside functions.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Protocol

import torch
from torch import nn

from studio.generators.text.compact import llama_layout

log = logging.getLogger(__name__)


class Runner(Protocol):
    """Next-token logits for a request: ``step(ids, pos)`` feeds ``ids`` (1, T) starting at position ``pos``."""

    def step(self, ids: Any, pos: int) -> Any: ...


class LlamaRunner:
    """A lean forward for the Llama layout with a preallocated KV cache (see the module docstring)."""

    def __init__(self, model: Any, max_len: int) -> None:
        cfg = model.config
        self.model = model
        self.inner = model.model
        self.n_heads = int(cfg.num_attention_heads)
        self.n_kv = int(getattr(cfg, "num_key_value_heads", None) or self.n_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // self.n_heads)
        self.eps = float(cfg.rms_norm_eps)
        param = next(model.parameters())
        self.dtype, self.device = param.dtype, param.device
        # Rotary tables from the model's own module, so every rope variant (llama3, yarn, ...) is honoured.
        positions = torch.arange(max_len, device=self.device)[None]
        cos, sin = self.inner.rotary_emb(torch.zeros(1, dtype=self.dtype, device=self.device), positions)
        self.cos, self.sin = cos[0], sin[0]  # (max_len, head_dim)
        n_layers = len(self.inner.layers)
        shape = (n_layers, 1, self.n_kv, max_len, self.head_dim)
        self.k_cache = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.v_cache = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.max_len = max_len

    def _norm(self, x: Any, weight: Any) -> Any:
        return nn.functional.rms_norm(x, (x.shape[-1],), weight, self.eps)

    @staticmethod
    def _rope(x: Any, cos: Any, sin: Any) -> Any:
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def step(self, ids: Any, pos: int) -> Any:
        """Logits (1, vocab) of the token after ``ids`` (1, T), which sit at positions ``pos .. pos+T-1``."""
        sdpa = nn.functional.scaled_dot_product_attention
        silu = nn.functional.silu
        T = ids.shape[1]
        end = pos + T
        if end > self.max_len:
            raise ValueError(f"position {end} is past this request's cache of {self.max_len} tokens")
        H, KV, D = self.n_heads, self.n_kv, self.head_dim
        cos, sin = self.cos[pos:end][None, None], self.sin[pos:end][None, None]  # (1, 1, T, D)
        x = self.inner.embed_tokens(ids)  # (1, T, C)
        for i, layer in enumerate(self.inner.layers):
            attn, mlp = layer.self_attn, layer.mlp
            h = self._norm(x, layer.input_layernorm.weight)
            fused = getattr(attn, "studio_qkv", None)
            qkv = fused(h) if fused is not None else torch.cat([attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)], -1)
            # Rotate queries and keys in one go: heads (H query + KV key) side by side.
            qk = self._rope(qkv[..., : (H + KV) * D].reshape(1, T, H + KV, D).transpose(1, 2), cos, sin)
            q = qk[:, :H]  # (1, H, T, D)
            self.k_cache[i, :, :, pos:end] = qk[:, H:]  # (1, KV, T, D)
            self.v_cache[i, :, :, pos:end] = qkv[..., (H + KV) * D :].reshape(1, T, KV, D).transpose(1, 2)
            # A prefill starts at 0 (query and key lengths equal, so is_causal is the right mask); a decode step
            # is one query that may see every cached key.
            o = sdpa(
                q,
                self.k_cache[i, :, :, :end],
                self.v_cache[i, :, :, :end],
                is_causal=T > 1,
                enable_gqa=KV != H,
            )
            x = x + attn.o_proj(o.transpose(1, 2).reshape(1, T, H * D))
            h = self._norm(x, layer.post_attention_layernorm.weight)
            fused = getattr(mlp, "studio_gate_up", None)
            gate, up = fused(h).chunk(2, dim=-1) if fused is not None else (mlp.gate_proj(h), mlp.up_proj(h))
            x = x + mlp.down_proj(silu(gate) * up)
        x = self._norm(x[:, -1], self.inner.norm.weight)  # only the last position's logits are needed
        return self.model.lm_head(x).float()  # (1, vocab)


class HFRunner:
    """Any causal LM through its own forward and a ``DynamicCache`` (the general path)."""

    def __init__(self, model: Any) -> None:
        from transformers import DynamicCache

        self.model = model
        self.cache = DynamicCache(config=model.config)
        # Older architectures' forwards do not take logits_to_keep; then the head runs on every position.
        self.keep_last = "logits_to_keep" in inspect.signature(model.forward).parameters

    def step(self, ids: Any, pos: int) -> Any:
        """Logits (1, vocab) of the token after ``ids`` (1, T); ``pos`` is where ``ids`` start."""
        positions = torch.arange(pos, pos + ids.shape[1], device=ids.device)[None]
        extra = {"logits_to_keep": 1} if self.keep_last else {}
        out = self.model(input_ids=ids, past_key_values=self.cache, use_cache=True, position_ids=positions, **extra)
        return out.logits[:, -1].float()


def make_runner(model: Any, max_len: int, lean: bool = True) -> Runner:
    """The fastest runner that is exact for ``model``: ``LlamaRunner`` where the layout allows, else ``HFRunner``."""
    if lean and llama_layout(model):
        return LlamaRunner(model, max_len)
    return HFRunner(model)
