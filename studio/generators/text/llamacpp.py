"""GGUF models on llama.cpp (``llama-cpp-python``, an optional part: ``requirements-llama.txt``).

Local-LLM users keep their models as GGUF files (LM Studio, Ollama, llama.cpp); transformers can only dequantise
them to full precision. With ``llama_cpp`` installed, the studio runs them as they are: quantised, memory-mapped.

Only the forward pass is llama.cpp's. Everything around it is the Text tab's own, so both engines behave alike:
the prompt is framed by the generator (the GGUF's chat template, rendered with the same sandboxed Jinja as
``transformers``), and ``decode`` samples each token from llama.cpp's logits with the studio's seeded sampling,
stop strings, streaming and Stop. ``LlamaCppRunner`` is a ``Runner``: ``step(ids, pos)`` evaluates the ids at
``pos`` in the model's KV cache and returns the last position's logits.

- ``available()`` says whether ``llama_cpp`` is installed without importing it (nothing here is imported unless a
  GGUF model is loaded).
- ``GGUFModel`` is what the memory manager holds: ``memory_bytes`` is the file's size plus the context's fp16 KV
  cache, the model's real footprint (the weights are memory-mapped, the cache allocated up front). One llama.cpp
  context serves one request at a time (its ``lock``); the tab's and the APIs' requests take turns on it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_CONTEXT = 4096  # positions a loaded context holds (its KV cache is allocated up front)
MMPROJ = "mmproj"  # vision projectors are GGUF files too, but not language models


def available() -> bool:
    """Whether ``llama-cpp-python`` is installed (without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def engine_version() -> str:
    """The installed ``llama-cpp-python`` version ("" when absent)."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return ""


def recognise_gguf(path: Path) -> str | None:
    """``"gguf"`` for a GGUF language model file when llama.cpp is installed, else None."""
    if not path.is_file() or path.suffix.lower() != ".gguf" or MMPROJ in path.name.lower():
        return None
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                return None
    except OSError:
        return None
    return "gguf" if available() else None


class GGUFTokenizer:
    """llama.cpp's own tokenizer in the shape the generator and ``decode`` use (``transformers``' calls)."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        meta = dict(getattr(llm, "metadata", {}) or {})
        self.chat_template: str | None = meta.get("tokenizer.chat_template") or None
        self.eos_token_id = int(llm.token_eos())
        self.bos_token_id = int(llm.token_bos())
        self.add_bos = str(meta.get("tokenizer.ggml.add_bos_token", "true")).lower() == "true"
        self.eot_ids = tuple(
            int(meta[k]) for k in ("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id") if k in meta
        )

    def token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return bytes(self.llm.detokenize([token_id], special=True)).decode("utf-8", errors="replace")

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=add_special_tokens and self.add_bos, special=True)
        return {"input_ids": [int(i) for i in ids]}

    def decode(self, ids: Any, skip_special_tokens: bool = True, clean_up_tokenization_spaces: bool = False) -> str:
        data = self.llm.detokenize([int(i) for i in ids], special=not skip_special_tokens)
        return bytes(data).decode("utf-8", errors="replace")

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool = False, **kwargs: Any) -> str:
        """The GGUF's chat template rendered like ``transformers`` renders one (sandboxed Jinja)."""
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        if not self.chat_template:
            raise TemplateError("this GGUF has no chat template")

        def raise_exception(message: str) -> None:
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        template = env.from_string(self.chat_template)
        return template.render(
            messages=messages,
            bos_token=self.token_text(self.bos_token_id),
            eos_token=self.token_text(self.eos_token_id),
            add_generation_prompt=kwargs.get("add_generation_prompt", False),
        )


@dataclass
class GGUFModel:
    """A GGUF file loaded on llama.cpp, in the shape of ``TextModel`` (the generator uses either alike)."""

    model: Any  # the llama_cpp.Llama
    tokenizer: GGUFTokenizer
    context_len: int
    eos_ids: tuple[int, ...]
    path: Path
    memory_bytes: int
    precision: str = "gguf"
    layers: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    device: str = "cpu"

    @property
    def engine(self) -> str:
        return f"llama.cpp (llama-cpp-python {engine_version()})"


def file_type(meta: dict[str, Any]) -> str:
    """The GGUF's quantisation ("Q4_1", "F16", ...) from its ``general.file_type``."""
    try:
        import gguf

        name = gguf.LlamaFileType(int(meta["general.file_type"])).name
    except (KeyError, ValueError, ImportError):
        return "gguf"
    return name.removeprefix("MOSTLY_")


def kv_cache_bytes(meta: dict[str, Any], n_ctx: int) -> int:
    """Bytes of the fp16 KV cache llama.cpp allocates for ``n_ctx`` positions (keys and values of every layer)."""
    arch = meta.get("general.architecture", "llama")

    def number(key: str, default: int = 0) -> int:
        try:
            return int(float(meta.get(f"{arch}.{key}", default)))
        except (TypeError, ValueError):
            return default

    heads = max(number("attention.head_count", 1), 1)
    head_dim = number("attention.key_length") or number("embedding_length") // heads
    kv_heads = number("attention.head_count_kv") or heads
    return number("block_count") * n_ctx * kv_heads * head_dim * 2 * 2


def load_gguf(path: Path, threads: int | None = None) -> GGUFModel:
    """Load ``path`` on llama.cpp (CPU, memory-mapped) with a context of ``MAX_CONTEXT`` positions; prompts may use
    as many as the model was trained for, if fewer."""
    import llama_cpp

    llm = llama_cpp.Llama(str(path), n_ctx=MAX_CONTEXT, n_batch=512, n_threads=threads, logits_all=False, verbose=False)
    n_ctx = min(int(llm._model.n_ctx_train()) or MAX_CONTEXT, MAX_CONTEXT)
    tok = GGUFTokenizer(llm)
    meta = dict(llm.metadata or {})
    eos = tuple(dict.fromkeys((tok.eos_token_id, *tok.eot_ids)))
    return GGUFModel(
        model=llm,
        tokenizer=tok,
        context_len=n_ctx,
        eos_ids=eos,
        path=path,
        memory_bytes=path.stat().st_size + kv_cache_bytes(meta, MAX_CONTEXT),
        precision=file_type(meta),
    )


class LlamaCppRunner:
    """Next-token logits from llama.cpp: ``step(ids, pos)`` evaluates ``ids`` (1, T) at ``pos`` (see the module
    docstring). Runs with as many threads as torch is set to, so both engines get the same share of the CPU."""

    def __init__(self, gm: GGUFModel, max_len: int) -> None:
        import llama_cpp
        import torch

        if max_len > gm.context_len:
            raise ValueError(f"{max_len} positions do not fit this context of {gm.context_len}")
        self.gm = gm
        self.llm = gm.model
        self.n_vocab = int(self.llm.n_vocab())
        threads = torch.get_num_threads()
        llama_cpp.llama_set_n_threads(self.llm.ctx, threads, threads)

    def step(self, ids: Any, pos: int) -> Any:
        import llama_cpp
        import numpy as np
        import torch

        self.llm.n_tokens = pos  # positions from ``pos`` on are forgotten (eval drops them from the KV cache)
        self.llm.eval([int(i) for i in ids[0].tolist()])
        logits = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        row = np.ctypeslib.as_array(logits, shape=(self.n_vocab,)).copy()
        return torch.from_numpy(row)[None, :]  # (1, vocab)
