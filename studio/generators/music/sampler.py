"""Constrained sampling from the built-in music model: the header is forced, the event grammar is enforced.

The grammar (see ``tokens``)::

    BAR → POS | BAR            POS_p → PITCH            PITCH → DUR
    DUR → PITCH (lower than the last one at this onset) | POS_q (q > p, inside the bar) | BAR

so every sampled sequence decodes to notes. The loop keeps a key/value cache and, when the context window is
full, re-reads the header plus the latest bars (the model was trained on windows of exactly that shape).
The decoder is ``music_decoder.GPT2Decoder`` for the built-in GPT-2 (same maths, a fraction of the overhead)
and ``HFDecoder`` for any other transformers causal LM.
Randomness comes only from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio.generators.music.tokens import DURATIONS, HEADER_LEN, Vocab

log = logging.getLogger(__name__)

MAX_NOTES_PER_ONSET = 6


@dataclass(frozen=True)
class SampleSettings:
    """Sampling knobs: temperature, top-k (0 = off), top-p (1 = off)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0


class Grammar:
    """Tracks where in a bar the sequence is and masks the ids that may not come next."""

    def __init__(self, vocab: Vocab, bar_ticks: int) -> None:
        self.v = vocab
        self.bar_ticks = bar_ticks
        self.last = vocab.bar  # the caller starts sampling right after a BAR (or the header, see ``feed``)
        self.pos = -1
        self.last_pitch = vocab.n_pitch  # index of the last pitch at this onset (chord notes go down)
        self.notes_here = 0
        self.bars = 0

    def feed(self, i: int) -> None:
        """Advance the state by one id (forced or sampled)."""
        v = self.v
        if i == v.bar:
            self.bars += 1
            self.pos, self.last_pitch, self.notes_here = -1, v.n_pitch, 0
        elif v.is_pos(i):
            self.pos, self.last_pitch, self.notes_here = i - v.pos0, v.n_pitch, 0
        elif v.is_pitch(i):
            self.last_pitch = i - v.pitch0
            self.notes_here += 1
        self.last = i

    def allowed(self) -> list[tuple[int, int]]:
        """Half-open id ranges that may come next."""
        v = self.v
        if v.is_pos(self.last):
            return [(v.pitch0, v.pitch0 + v.n_pitch)]
        if v.is_pitch(self.last):
            return [(v.dur0, v.dur0 + len(DURATIONS))]
        if self.last == v.bar or not v.is_dur(self.last):
            return [(v.bar, v.bar + 1), (v.pos0, v.pos0 + self.bar_ticks)]
        # after a DUR: another (lower) pitch at this onset, a later onset in this bar, or the next bar
        ranges = [(v.bar, v.bar + 1)]
        if self.pos + 1 < self.bar_ticks:
            ranges.append((v.pos0 + self.pos + 1, v.pos0 + self.bar_ticks))
        if self.notes_here < MAX_NOTES_PER_ONSET and self.last_pitch > 0:
            ranges.append((v.pitch0, v.pitch0 + self.last_pitch))
        return ranges


def pick(logits: Any, settings: SampleSettings, generator: Any) -> int:
    """Sample one id from masked ``logits`` (V,) with temperature, top-k and top-p."""
    import torch

    if settings.temperature <= 0:
        return int(torch.argmax(logits))
    logits = logits / settings.temperature
    if settings.top_k > 0:
        k = min(settings.top_k, logits.shape[-1])
        kth = torch.topk(logits, k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if settings.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop = cum - torch.softmax(sorted_logits, dim=-1) > settings.top_p  # keep the first token past top_p
        logits = logits.clone()
        logits[order[drop]] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def _window(vocab: Vocab, ids: list[int], keep: int) -> list[int]:
    """Header + the events from the earliest bar line that leaves at most ``keep`` ids in all."""
    tail_start = max(HEADER_LEN, len(ids) - (keep - HEADER_LEN))
    for j in range(tail_start, len(ids)):
        if ids[j] == vocab.bar:
            return ids[:HEADER_LEN] + ids[j:]
    return ids[:HEADER_LEN] + ids[tail_start:]


class HFDecoder:
    """The ``prefill``/``step`` interface over any transformers causal LM (the slow, general path)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.ctx = int(getattr(model.config, "n_positions", 0) or getattr(model.config, "max_position_embeddings", 512))
        self.past: Any = None
        self.pos = 0

    def prefill(self, ids: list[int]) -> Any:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids]), use_cache=True)
        self.past, self.pos = out.past_key_values, len(ids)
        return out.logits[0, -1].float()

    def step(self, token: int) -> Any:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([[token]]), past_key_values=self.past, use_cache=True)
        self.past, self.pos = out.past_key_values, self.pos + 1
        return out.logits[0, -1].float()


def make_decoder(model: Any) -> Any:
    """The fast GPT-2 decoder where the model is a GPT-2, else the general transformers one."""
    from studio.generators.music.decoder import GPT2Decoder

    try:
        return GPT2Decoder(model)
    except (TypeError, AttributeError) as exc:
        log.info("using the general decoder: %s", exc)
        return HFDecoder(model)


def sample_bars(
    decoder: Any,
    vocab: Vocab,
    ids: list[int],
    n_bars: int,
    bar_ticks: int,
    settings: SampleSettings,
    generator: Any,
    progress: Callable[[int, int], None] | None = None,
    on_preview: Callable[[list[int]], None] | None = None,
    preview_every: int = 8,
) -> list[int]:
    """Extend ``ids`` (a header, maybe followed by bars) by ``n_bars`` bars; returns the whole sequence.

    ``decoder`` has ``prefill(ids)``, ``step(id)`` and its window ``ctx`` (see ``make_decoder``).
    ``progress(bars_done, n_bars)`` is called at each new bar (and may raise to stop); ``on_preview(ids)`` every
    ``preview_every`` bars.
    """
    import torch

    ids = list(ids)
    grammar = Grammar(vocab, bar_ticks)
    for i in ids[HEADER_LEN:]:
        grammar.feed(i)
    start = grammar.bars
    target = start + n_bars  # BAR tokens in the finished sequence
    ids.append(vocab.bar)  # every continuation starts at a bar line: the first new bar
    grammar.feed(vocab.bar)
    mask = torch.full((len(vocab),), float("-inf"))
    logits = decoder.prefill(_window(vocab, ids, decoder.ctx * 3 // 4))
    while True:
        mask.fill_(float("-inf"))
        for lo, hi in grammar.allowed():
            mask[lo:hi] = 0.0
        # sampling happens on the CPU (191 logits), where the request's generator lives, whatever the model's device
        nxt = pick(logits.float().cpu() + mask, settings, generator)
        if nxt == vocab.bar and grammar.bars + 1 > target:
            break
        ids.append(nxt)
        grammar.feed(nxt)
        if nxt == vocab.bar:
            done = grammar.bars - 1 - start  # bars finished
            if progress is not None:
                progress(done, n_bars)
            if on_preview is not None and done % preview_every == 0:
                on_preview(ids)
        if decoder.pos >= decoder.ctx:
            # the window is full: re-read the header and the latest bars, as in training
            logits = decoder.prefill(_window(vocab, ids, decoder.ctx * 3 // 4))
        else:
            logits = decoder.step(nxt)
    return ids
