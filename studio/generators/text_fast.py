"""The fast CPU path for causal language models: compact weights and a lean decode step with a KV cache.

Decoding one token on a CPU streams every weight through the cores once, and for a small model the framework's
per-call overhead costs as much again. So, both opt-in (``precision="fp32"`` turns them off) and both checked
against plain ``transformers`` in the tests:

- ``optimise_for_cpu`` swaps the Linear layers for compact ones. A weight that already lies on a 4-bit grid
  (groups of 32 sharing a step and an offset: any model dequantised from a GGUF Q4_0/Q4_1 file, such as the
  built-in SmolLM2) is repacked to int4 without changing one value (``Int4Linear``); any other weight becomes int8
  with one scale per output row (``Int8Linear``). Both are weight-only: activations stay floating point (bf16
  inside the kernel), which keeps greedy output close to fp32, unlike int8 dynamic quantisation, whose per-tensor
  activation rounding flipped a quarter of SmolLM2's greedy next-token choices when we measured it. The output
  head keeps fp16 weights with fp32 activations (``HalfLinear``), and a tied input embedding reads the same fp16
  table (``HalfEmbedding``). Weights and scales are registered buffers, so the memory manager counts them.
- A runner turns "these token ids at this position" into next-token logits. ``LlamaRunner`` is a hand-written
  forward for the Llama layout (Llama, Mistral without sliding windows, Qwen2): a preallocated KV cache, rotary
  tables computed once per request, and no masks or output objects per step. It calls the model's own Linear
  modules, so compact or not, biases included, it computes what ``transformers`` computes. Every other causal LM
  goes through ``HFRunner``: the model's own forward with a ``DynamicCache``.

Runners hold per-request state (the cache); the model they wrap is shared and never mutated after loading. This
module imports torch at the top: only ``studio.generators.text_models`` imports it, inside functions.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Protocol

import torch
from torch import nn

log = logging.getLogger(__name__)

# Model types whose decoder layers follow the Llama layout (pre-norm RMSNorm, rotary q/k, SiLU-gated MLP).
LLAMA_LAYOUT = ("llama", "mistral", "qwen2")
INT4_GROUP = 32  # GGUF's Q4_0/Q4_1 block size


class Int8Linear(nn.Module):
    """A Linear layer with int8 weights and one bf16 scale per output row (weight-only, symmetric)."""

    weight_int8: torch.Tensor
    scale: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        w = linear.weight.detach().float()  # (out, in)
        scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12)  # (out,)
        q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
        self.in_features, self.out_features = int(w.shape[1]), int(w.shape[0])
        self.register_buffer("weight_int8", q.contiguous())
        self.register_buffer("scale", scale.to(torch.bfloat16))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        if flat.device.type == "cpu":
            # The kernel wants activations and scales in one dtype; bf16 is its fast path on CPUs.
            y = torch._weight_int8pack_mm(flat.to(torch.bfloat16), self.weight_int8, self.scale).to(x.dtype)
        else:
            y = nn.functional.linear(flat, self.weight_int8.to(x.dtype) * self.scale.to(x.dtype)[:, None])
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weights"


def int4_grid(weight: torch.Tensor, group: int = INT4_GROUP) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """``(q, step, low)`` with ``weight == q * step + low`` per group of ``group`` inputs, or None if it is not so.

    ``q`` (out, in) holds 0..15; ``step`` and ``low`` are (out, in // group). A group's lowest value is code 0 and
    its highest code 15 (how GGUF's Q4_1 quantiser places them); the weight qualifies only if every value is
    reproduced to fp32 rounding, so the repack changes nothing.
    """
    out_f, in_f = weight.shape
    if in_f % group:
        return None
    w = weight.detach().float().reshape(out_f, in_f // group, group)
    low, high = w.amin(-1), w.amax(-1)
    step = (high - low) / 15
    q = torch.round((w - low[..., None]) / step.clamp_min(1e-30)[..., None]).clamp_(0, 15)
    err = (q * step[..., None] + low[..., None] - w).abs().amax()
    if float(err) > 1e-6 * float(w.abs().amax().clamp_min(1e-30)):
        return None
    return q.reshape(out_f, in_f).to(torch.int32), step, low


class Int4Linear(nn.Module):
    """A Linear layer whose weight lies on a 4-bit grid, repacked for the CPU int4 kernel (see ``int4_grid``)."""

    weight_int4: torch.Tensor
    scale_zero: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear, grid: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
        super().__init__()
        q, step, low = grid
        self.in_features, self.out_features = int(q.shape[1]), int(q.shape[0])
        self.register_buffer("weight_int4", torch._convert_weight_to_int4pack_for_cpu(q, 1))
        # The kernel computes (code - 8) * scale + zero, so zero = low + 8 * step; layout (in // group, out, 2).
        self.register_buffer(
            "scale_zero", torch.stack([step.T, (low + 8 * step).T], -1).to(torch.bfloat16).contiguous()
        )
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1]).to(torch.bfloat16)
        y = torch._weight_int4pack_mm_for_cpu(flat, self.weight_int4, INT4_GROUP, self.scale_zero).to(x.dtype)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int4 weights (lossless repack)"


class HalfLinear(nn.Module):
    """A Linear layer with fp16 weights and fp32 activations (fbgemm's packed fp16 kernel on x86 CPUs).

    ``weight_half`` is the registered copy (counted by the memory manager, used off the CPU); the packed copy
    is the kernel's own layout of the same values.
    """

    weight_half: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        w = linear.weight.detach().float()
        self.in_features, self.out_features = int(w.shape[1]), int(w.shape[0])
        self.register_buffer("weight_half", w.half().contiguous())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())
        self.packed = torch.ops.quantized.linear_prepack_fp16(self.weight_half.float(), self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype == torch.float32:
            return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)
        return nn.functional.linear(
            x, self.weight_half.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype)
        )

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, fp16 weights"


class HalfEmbedding(nn.Module):
    """An embedding that looks rows up in a (tied) fp16 table and returns fp32."""

    weight_half: torch.Tensor

    def __init__(self, table: torch.Tensor, padding_idx: int | None = None) -> None:
        super().__init__()
        self.register_buffer("weight_half", table)
        self.padding_idx = padding_idx

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(ids, self.weight_half).float()


def _works(module: nn.Module, in_features: int) -> bool:
    """Whether ``module`` runs on this CPU (kernels have shape and instruction-set limits)."""
    try:
        with torch.inference_mode():
            module(torch.zeros(1, in_features))
    except RuntimeError as exc:
        log.info("keeping a layer in fp32: %s", exc)
        return False
    return True


def optimise_for_cpu(model: Any) -> dict[str, int]:
    """Swap ``model``'s Linear layers for compact ones in place (see the module docstring); returns counts by kind.

    Call right after loading, before the model is shared. A layer whose kernel refuses its shape stays fp32.
    """
    counts = {"int4": 0, "int8": 0, "fp16": 0, "fp32": 0}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    fbgemm = "fbgemm" in torch.backends.quantized.supported_engines
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, nn.Linear) or type(child) is not nn.Linear or child is head:
                continue
            grid = int4_grid(child.weight)
            new: nn.Module = Int4Linear(child, grid) if grid is not None else Int8Linear(child)
            if not _works(new, child.in_features):
                new = Int8Linear(child)
                if not _works(new, child.in_features):
                    counts["fp32"] += 1
                    continue
            kind = "int4" if isinstance(new, Int4Linear) else "int8"
            setattr(parent, name, new)
            counts[kind] += 1
    if type(head) is nn.Linear and fbgemm:
        half = HalfLinear(head)
        model.set_output_embeddings(half)
        if isinstance(embed, nn.Embedding) and embed.weight is head.weight:
            # One fp16 table serves both ends, as the fp32 one did (the memory manager counts it once).
            model.set_input_embeddings(HalfEmbedding(half.weight_half, embed.padding_idx))
        counts["fp16"] += 1
    return counts


class Runner(Protocol):
    """Next-token logits for a request: ``step(ids, pos)`` feeds ``ids`` (1, T) starting at position ``pos``."""

    def step(self, ids: Any, pos: int) -> Any: ...


def llama_layout(model: Any) -> bool:
    """Whether ``LlamaRunner`` computes exactly what this model's own forward computes."""
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) not in LLAMA_LAYOUT:
        return False
    if getattr(cfg, "hidden_act", "silu") != "silu" or getattr(cfg, "pretraining_tp", 1) != 1:
        return False
    if getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True):
        return False
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if inner is None or layers is None or not len(layers) or getattr(inner, "rotary_emb", None) is None:
        return False
    attn = getattr(layers[0], "self_attn", None)
    mlp = getattr(layers[0], "mlp", None)
    needed = [(attn, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
    needed += [(mlp, n) for n in ("gate_proj", "up_proj", "down_proj")]
    # Extra norms inside attention (Qwen3, OLMo2) would be skipped by the lean forward: refuse those models.
    return all(hasattr(m, n) for m, n in needed) and not hasattr(attn, "q_norm")


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
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * weight

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
            q = attn.q_proj(h).view(1, T, H, D).transpose(1, 2)  # (1, H, T, D)
            k = attn.k_proj(h).view(1, T, KV, D).transpose(1, 2)  # (1, KV, T, D)
            v = attn.v_proj(h).view(1, T, KV, D).transpose(1, 2)
            self.k_cache[i, :, :, pos:end] = self._rope(k, cos, sin)
            self.v_cache[i, :, :, pos:end] = v
            # A prefill starts at 0 (query and key lengths equal, so is_causal is the right mask); a decode step
            # is one query that may see every cached key.
            o = sdpa(
                self._rope(q, cos, sin),
                self.k_cache[i, :, :, :end],
                self.v_cache[i, :, :, :end],
                is_causal=T > 1,
                enable_gqa=KV != H,
            )
            x = x + attn.o_proj(o.transpose(1, 2).reshape(1, T, H * D))
            h = self._norm(x, layer.post_attention_layernorm.weight)
            x = x + mlp.down_proj(silu(mlp.gate_proj(h)) * mlp.up_proj(h))
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
