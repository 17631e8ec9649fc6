"""The decode loop: prefill, then one token at a time with our own sampling, stop strings and streaming.

``decode`` drives a runner (``runners``): it samples each next token with a local ``torch.Generator`` (the same
processors as ``transformers``, in the same order: repetition penalty, temperature, top-k, top-p), turns tokens
into text incrementally, cuts at a stop string or an end-of-sequence token, reports the text so far through
``on_text`` and calls ``check`` between tokens so Stop ends generation at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from studio.generators.text.runners import Runner
from studio.params import clean_text


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen. ``temperature == 0`` is greedy (argmax); ``top_k == 0`` keeps every token."""

    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0


@dataclass
class Decoded:
    """What ``decode`` produced: the text (stop string removed), the new token ids, why it ended, and timings."""

    text: str
    token_ids: list[int]
    finish_reason: str  # "eos" | "stop" | "length"
    prompt_tokens: int
    ttft_s: float = 0.0
    decode_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        """Decode speed after the first token (the first one is time to first token)."""
        n = len(self.token_ids) - 1
        return n / self.decode_s if n > 0 and self.decode_s > 0 else 0.0


def pick_next(logits: torch.Tensor, seen: torch.Tensor | None, s: Sampling, gen: torch.Generator) -> int:
    """The next token id from ``logits`` (vocab,), given ``seen`` ids (for the repetition penalty).

    Matches ``transformers``' ``RepetitionPenaltyLogitsProcessor`` → ``TemperatureLogitsWarper`` →
    ``TopKLogitsWarper`` → ``TopPLogitsWarper`` → multinomial, but draws from ``gen`` (never the global RNG).
    """
    logits = logits.float()
    if s.repetition_penalty != 1.0 and seen is not None and seen.numel():
        picked = logits.gather(0, seen)
        picked = torch.where(picked < 0, picked * s.repetition_penalty, picked / s.repetition_penalty)
        logits = logits.scatter(0, seen, picked)
    if s.temperature <= 0.0 or s.top_k == 1:
        return int(logits.argmax())
    logits = logits / s.temperature
    if 0 < s.top_k < logits.numel():
        values, index = torch.topk(logits, s.top_k)  # sorted, largest first
    else:
        values, index = torch.sort(logits, descending=True)
    probs = torch.softmax(values, dim=-1)
    if s.top_p < 1.0:
        # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
        before = torch.cumsum(probs, dim=-1) - probs
        probs = torch.where(before < s.top_p, probs, torch.zeros_like(probs))
    choice = torch.multinomial(probs, 1, generator=gen)
    return int(index[choice])


class TextStream:
    """Turns token ids into text one token at a time, holding back bytes of an unfinished character.

    Decodes a short window (the previous few tokens plus the new ones) rather than the whole output each step, so
    a long generation costs the same per token as a short one.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""
        self._prefix = 0  # window start
        self._read = 0  # ids already turned into text

    def _decode(self, ids: Sequence[int]) -> str:
        # A model may write control or bidi characters (a small or random model does): dropped here, so the text
        # shown, saved and sent back as chat history is text the studio would accept as input.
        return clean_text(str(self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)))

    def push(self, token_id: int) -> str:
        """Add one token; returns the whole text so far."""
        self.ids.append(token_id)
        before = self._decode(self.ids[self._prefix : self._read])
        after = self._decode(self.ids[self._prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.text += after[len(before) :]
            self._prefix, self._read = self._read, len(self.ids)
        return self.text

    def flush(self) -> str:
        """The text with any held-back tail decoded as it is (at the end of generation)."""
        after = self._decode(self.ids[self._prefix :])
        before = self._decode(self.ids[self._prefix : self._read])
        if len(after) > len(before):
            self.text += after[len(before) :]
            self._prefix = self._read = len(self.ids)
        return self.text


def find_stop(text: str, stops: Sequence[str], start: int) -> int:
    """Index of the earliest stop string in ``text`` that ends at or after ``start``, or -1."""
    best = -1
    for stop in stops:
        i = text.find(stop, max(0, start - len(stop) + 1))
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def held_tail(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of ``text`` might be the start of a stop string (not shown yet)."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def decode(
    runner: Runner,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    sampling: Sampling,
    seed: int,
    eos_ids: Sequence[int] = (),
    stops: Sequence[str] = (),
    on_text: Callable[[str], None] | None = None,
    check: Callable[[], None] | None = None,
    device: Any = "cpu",
) -> Decoded:
    """Generate up to ``max_new_tokens`` after ``prompt_ids`` (see the module docstring).

    ``on_text`` receives the visible text after each token (a possible stop-string prefix held back) and the
    final text once more at the end. ``check`` raises to stop (the studio's ``Context.check``).
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    eos = set(int(i) for i in eos_ids)
    stream = TextStream(tokenizer)
    seen = torch.tensor(list(dict.fromkeys(prompt_ids)), dtype=torch.long)
    seen_set = set(seen.tolist())
    finish = "length"
    text = ""
    start = time.perf_counter()
    ttft = 0.0
    with torch.inference_mode():
        ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)
        logits = runner.step(ids, 0)[0].cpu()  # (vocab,)
        pos = len(prompt_ids)
        for i in range(max_new_tokens):
            if check is not None:
                check()
            token = pick_next(logits, seen if sampling.repetition_penalty != 1.0 else None, sampling, gen)
            if i == 0:
                ttft = time.perf_counter() - start
            if token in eos:
                finish = "eos"
                break
            shown_before = len(stream.text)
            text = stream.push(token)
            if sampling.repetition_penalty != 1.0 and token not in seen_set:
                seen_set.add(token)
                seen = torch.cat([seen, torch.tensor([token])])
            if stops:
                cut = find_stop(text, stops, shown_before)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
                    break
            if on_text is not None:
                on_text(text[: len(text) - held_tail(text, stops)] if stops else text)
            if i + 1 == max_new_tokens:
                break
            logits = runner.step(torch.tensor([[token]], dtype=torch.long, device=device), pos)[0].cpu()
            pos += 1
    if finish != "stop":
        text = stream.flush()
        if stops:
            cut = find_stop(text, stops, 0)
            if cut >= 0:
                text, finish = text[:cut], "stop"
    end = time.perf_counter()
    if on_text is not None:
        on_text(text)
    new_ids = stream.ids
    return Decoded(text, new_ids, finish, len(prompt_ids), ttft_s=ttft, decode_s=end - start - ttft)
