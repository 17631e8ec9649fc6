"""The fast CPU path for causal language models, part 1: compact weights (``runners.py`` is the lean decode step).

Decoding one token on a CPU streams every weight through the cores once, and for a small model the framework's
per-call overhead costs as much again. So, both opt-in (``precision="fp32"`` turns them off) and both checked
against plain ``transformers`` in the tests:

- ``optimise_for_cpu`` swaps the Linear layers for compact ones. A weight that already lies on a 4-bit grid
  (groups of 32 sharing a step and an offset: any model dequantised from a GGUF Q4_0/Q4_1 file, such as the
  built-in SmolLM2) is repacked to int4 without changing one value (``Int4Linear``); any other weight becomes int8
  with one scale per output row (``Int8Linear``). Both are weight-only: activations stay floating point (bf16
  inside the kernel), which keeps greedy output close to fp32, unlike int8 dynamic quantisation, whose per-tensor
  activation rounding flipped a quarter of SmolLM2's greedy next-token choices when we measured it. The output
  head scores every token in 4 bits and rescores the best 128 exactly from fp16 weights (``ShortlistHead``); a tied
  input embedding reads the same fp16 table (``HalfEmbedding``). In the Llama layout q/k/v and gate/up are fused
  into one layer each. Weights and scales are registered buffers, so the memory manager counts them.
- A runner turns "these token ids at this position" into next-token logits. ``LlamaRunner`` is a hand-written
  forward for the Llama layout (Llama, Mistral without sliding windows, Qwen2): a preallocated KV cache, rotary
  tables computed once per request, and no masks or output objects per step. It calls the model's own Linear
  modules, so compact or not, biases included, it computes what ``transformers`` computes. Every other causal LM
  goes through ``HFRunner``: the model's own forward with a ``DynamicCache``.

Runners hold per-request state (the cache); the model they wrap is shared and never mutated after loading. This
module imports torch at the top: only ``studio.generators.text.models`` imports it, inside functions.
"""

from __future__ import annotations

import logging
from typing import Any

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


def int4_grid(
    weight: torch.Tensor, group: int = INT4_GROUP, exact: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """``(q, step, low)`` with ``weight == q * step + low`` per group of ``group`` inputs, or None if it is not so.

    ``q`` (out, in) holds 0..15; ``step`` and ``low`` are (out, in // group). A group's lowest value is code 0 and
    its highest code 15 (how GGUF's Q4_1 quantiser places them); the weight qualifies only if every value is
    reproduced to fp32 rounding, so the repack changes nothing. With ``exact=False`` any weight is rounded to its
    nearest grid (lossy 4-bit quantisation, used only for the head's first-pass scores).
    """
    out_f, in_f = weight.shape
    if in_f % group:
        return None
    w = weight.detach().float().reshape(out_f, in_f // group, group)
    low, high = w.amin(-1), w.amax(-1)
    step = (high - low) / 15
    q = torch.round((w - low[..., None]) / step.clamp_min(1e-30)[..., None]).clamp_(0, 15)
    err = (q * step[..., None] + low[..., None] - w).abs().amax()
    if exact and float(err) > 1e-6 * float(w.abs().amax().clamp_min(1e-30)):
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


class ShortlistHead(nn.Module):
    """The output head: rough scores for every token, then the ``shortlist`` best rescored exactly from fp16 weights.

    In fp16 or fp32 the head is a quarter of SmolLM2's decode time. A 4-bit copy (groups of 32; int8 per row where
    the int4 kernel refuses the shape) scores every token within a fraction of a logit, so the token the fp16
    weights rank first is among its best 128 all but never missed; those 128 logits are then computed exactly from
    the fp16 rows (the table a tied input embedding shares). Greedy choices therefore follow the fp16 head, and
    sampling sees exact logits for every token with any real probability (rough ones only for the far tail).
    Off the CPU the fp16 weights are used directly.
    """

    weight_half: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear, shortlist: int = 128) -> None:
        super().__init__()
        w = linear.weight.detach().float()  # (vocab, C)
        self.in_features, self.out_features = int(w.shape[1]), int(w.shape[0])
        self.shortlist = min(int(shortlist), self.out_features)
        rough = nn.Linear(self.in_features, self.out_features, bias=False)
        rough.weight = nn.Parameter(w, requires_grad=False)
        self.scorer = _int4(rough, exact=False) or Int8Linear(rough)
        self.register_buffer("weight_half", w.half().contiguous())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1]).float()  # (M, C)
        if flat.device.type != "cpu":
            bias = None if self.bias is None else self.bias.to(x.dtype)
            return nn.functional.linear(x, self.weight_half.to(x.dtype), bias)
        logits = self.scorer(flat).float()  # (M, V), rough
        if self.bias is not None:
            logits += self.bias
        best = logits.topk(self.shortlist, dim=-1).indices  # (M, k)
        rows = self.weight_half[best].float()  # (M, k, C)
        exact = torch.matmul(rows, flat[:, :, None]).squeeze(-1)  # (M, k)
        if self.bias is not None:
            exact += self.bias[best]
        logits.scatter_(-1, best, exact)
        return logits.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, exact top {self.shortlist}"


class OutputSlice(nn.Module):
    """A view of columns ``start:stop`` of a fused layer's output, standing where one of its parts used to be.

    After ``q_proj``, ``k_proj`` and ``v_proj`` are fused into one layer, the model's own forward still calls
    them one by one; each gets its share of the fused output (computing the fused layer each time: the lean
    runner, which calls the fused layer once, is the fast path).
    """

    def __init__(self, fused: nn.Module, start: int, stop: int) -> None:
        super().__init__()
        self.fused = fused
        self.start, self.stop = int(start), int(stop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fused(x)[..., self.start : self.stop]


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


def _int4(linear: nn.Linear, exact: bool = True) -> Int4Linear | None:
    """``linear`` repacked to int4 (only if lossless, unless ``exact=False``), or None where the kernel refuses."""
    grid = int4_grid(linear.weight, exact=exact)
    if grid is None or linear.out_features % 16:  # the CPU packing wants rows in multiples of 16
        return None
    packed = Int4Linear(linear, grid)
    return packed if _works(packed, linear.in_features) else None


def _compact(linear: nn.Linear) -> tuple[nn.Module | None, str]:
    """The compact form of one Linear layer and its kind: int4 when lossless, else int8; (None, "fp32") if neither
    kernel takes its shape."""
    packed = _int4(linear)
    if packed is not None:
        return packed, "int4"
    compact = Int8Linear(linear)
    if _works(compact, linear.in_features):
        return compact, "int8"
    return None, "fp32"


def _fuse(parts: list[nn.Module]) -> nn.Linear | None:
    """One Linear whose output is ``parts``' outputs side by side, or None if they do not share input and bias use."""
    if not all(type(p) is nn.Linear for p in parts):
        return None
    linears = [p for p in parts if isinstance(p, nn.Linear)]
    if len({p.in_features for p in linears}) != 1 or len({p.bias is None for p in linears}) != 1:
        return None
    has_bias = linears[0].bias is not None
    fused = nn.Linear(linears[0].in_features, sum(p.out_features for p in linears), bias=has_bias)
    with torch.no_grad():
        fused.weight.copy_(torch.cat([p.weight.detach().float() for p in linears]))
        if has_bias:
            fused.bias.copy_(torch.cat([p.bias.detach().float() for p in linears if p.bias is not None]))
    return fused


FUSIONS = (
    ("self_attn", ("q_proj", "k_proj", "v_proj"), "studio_qkv"),
    ("mlp", ("gate_proj", "up_proj"), "studio_gate_up"),
)


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


def optimise_for_cpu(model: Any) -> dict[str, int]:
    """Swap ``model``'s Linear layers for compact ones in place (see the module docstring); returns counts by kind.

    In the Llama layout, q/k/v and gate/up are first fused into one layer each (one kernel call instead of three
    or two; the old names become ``OutputSlice`` views, so the model's own forward still works). Call right after
    loading, before the model is shared. A layer whose kernel refuses its shape stays fp32.
    """
    counts = {"int4": 0, "int8": 0, "fp32": 0, "shortlist_head": 0}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if llama_layout(model):
        for layer in model.model.layers:
            for owner_name, names, fused_name in FUSIONS:
                owner = getattr(layer, owner_name)
                parts = [getattr(owner, n) for n in names]
                fused = _fuse(parts)
                compact, kind = _compact(fused) if fused is not None else (None, "fp32")
                if compact is None:
                    continue
                owner.add_module(fused_name, compact)
                start = 0
                for name, part in zip(names, parts, strict=True):
                    setattr(owner, name, OutputSlice(compact, start, start + part.out_features))
                    start += part.out_features
                counts[kind] += len(names)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, nn.Linear) or type(child) is not nn.Linear or child is head:
                continue
            compact, kind = _compact(child)
            if compact is not None:
                setattr(parent, name, compact)
            counts[kind] += 1
    if isinstance(head, nn.Linear) and type(head) is nn.Linear:
        shortlist = ShortlistHead(head)
        if _works(shortlist, head.in_features):
            model.set_output_embeddings(shortlist)
            if isinstance(embed, nn.Embedding) and embed.weight is head.weight:
                # One fp16 table serves both ends, as the fp32 one did (the memory manager counts it once).
                model.set_input_embeddings(HalfEmbedding(shortlist.weight_half, embed.padding_idx))
            counts["shortlist_head"] = 1
    return counts
