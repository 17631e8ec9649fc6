"""The Text tab's parameters: ``TextParams`` and the ranges each field declares (they drive the widgets and the
server-side validation alike)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.generators.text.prompts import (
    MAX_HISTORY_CHARS,
    PRESET_NAMES,
    parse_history,
    preset,
)
from studio.params import SEED_MAX, ParamError, Spec, check_text, param

MAX_TEXT_PROMPT_CHARS = 8000
MAX_STOP_STRINGS = 8
MAX_STOP_CHARS = 64


@dataclass(frozen=True)
class TextParams:
    """One text request. ``temperature == 0`` is greedy; ``history`` is the chat so far as JSON (chat mode only)."""

    prompt: str = param(
        "",
        max_len=MAX_TEXT_PROMPT_CHARS,
        allow_empty=False,
        multiline=True,
        label="Prompt",
        info="your message (chat) or the text to continue (complete)",
    )
    model: str = param("", max_len=300, label="Model", info="empty = the built-in SmolLM2-135M-Instruct")
    mode: str = param("chat", choices=("chat", "complete"), label="Mode", info="chat: a reply; complete: continue")
    system_prompt: str = param(
        "", max_len=4000, multiline=True, label="System prompt", info="empty = the preset's", advanced=True
    )
    history: str = param(
        "",
        max_len=MAX_HISTORY_CHARS,
        label="History (JSON)",
        advanced=True,
        info='earlier turns: [{"role": "user", "content": ...}, {"role": "assistant", ...}]',
    )
    preset: str = param("assistant", choices=PRESET_NAMES, label="Preset")
    max_new_tokens: int = param(256, min=1, max=2048, step=1, label="Max new tokens")
    temperature: float = param(0.2, min=0.0, max=2.0, step=0.05, label="Temperature", info="0 = greedy")
    top_p: float = param(0.9, min=0.01, max=1.0, step=0.01, label="Top-p", info="1 = off", advanced=True)
    top_k: int = param(50, min=0, max=1000, step=1, label="Top-k", info="0 = off", advanced=True)
    repetition_penalty: float = param(
        1.1, min=1.0, max=2.0, step=0.01, label="Repetition penalty", info="1 = off", advanced=True
    )
    stop: tuple[str, ...] = param(
        (),
        max=MAX_STOP_STRINGS,
        max_len=MAX_STOP_CHARS,
        label="Stop strings",
        advanced=True,
        info="generation ends before any of these",
    )
    seed: int = param(-1, min=-1, max=SEED_MAX, step=1, label="Seed", info="-1 draws a random seed")

    def check(self) -> None:
        """Cross-field checks: a usable stop list, a well-formed history with clean text, history only in chat mode."""
        for i, s in enumerate(self.stop):
            if not s:
                raise ParamError(f"stop[{i}]", "must not be empty (an empty stop string would end at once)")
        history = parse_history(self.history)
        # JSON escapes ("\u0000", "\u202e") pass the check on the raw text, so each message is checked once decoded.
        for i, m in enumerate(history):
            try:
                check_text("history", m["content"], Spec(max_len=MAX_HISTORY_CHARS))
            except ParamError as exc:
                raise ParamError("history", f"message {i} {exc.message}") from None
        if history and self.mode != "chat":
            raise ParamError("history", "is only used in chat mode; leave it empty for completion")
        p = preset(self.preset)
        if p is not None and p.target and history:
            raise ParamError("history", "the prompt helper takes one idea at a time; leave history empty")
