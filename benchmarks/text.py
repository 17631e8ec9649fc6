"""Text benchmark: the studio's decode path against plain fp32 ``model.generate`` on the built-in SmolLM2-135M.

    python -m benchmarks.text                          # 2 threads, 128 new tokens, 3 interleaved rounds
    python -m benchmarks.text --threads 1 2 --json /tmp/text-bench.json
    python -m benchmarks.text --only-engines --threads 1 2  # part 3 alone: torch path vs llama.cpp

Part 1 (speed), side by side in one process on the same weights, interleaved round by round so a busy machine
slows every variant alike:

- ``fp32 generate``: ``AutoModelForCausalLM`` (fp32) + ``model.generate(do_sample=False)``, the baseline;
- ``int8 dynamic generate``: the same after ``torch.ao.quantization.quantize_dynamic`` (the approach NOTES.md
  measured first), for reference;
- ``studio decode``: the studio's own path, ``TextGenerator.load`` (int4 lossless repack + fp16 head) and the
  generator's decode loop (lean Llama forward, own sampling, incremental detokenising);
- ``studio end-to-end``: one greedy chat request through ``Studio.generate`` (engine, memory manager, generator,
  provenance; the result cache skipped), its own timings from the recipe.

Time to first token (TTFT) is prompt in → first new token chosen; decode tokens/s counts the tokens after the first
over the time after the first. Every variant is forced to the same number of new tokens (end-of-sequence ignored)
except the end-to-end row, which stops where the model stops.

Part 2 (agreement): greedy continuations of held-out prompts (written for this benchmark, never used to tune
anything) by fp32 ``generate`` and by each fast path: how many match exactly, the mean length of the common prefix,
and teacher-forced top-1 agreement (the fast path's greedy choice at every position of the fp32 continuation).

Part 3 (engines, when ``llama-cpp-python`` is installed): the studio's torch path against llama.cpp on the same
GGUF, prompt and threads (``benchmarks/text_engines.py``).

Figures are CPU only (no GPU on the machines this was written on); a busy shared machine lowers them all.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

SPEED_PROMPTS = (
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a bicycle works to a ten-year-old.",
)
HELD_OUT = (
    "What are three tips for staying focused while studying?",
    "Describe the water cycle in simple terms.",
    "Write a limerick about a cat who loves cheese.",
    "What is the difference between weather and climate?",
    "Suggest a healthy breakfast for a busy morning.",
    "How does a refrigerator keep food cold?",
    "Write a Python function that returns the factorial of n.",
    "Why do leaves change colour in autumn?",
    "Give two arguments for learning a second language.",
    "What should I pack for a weekend camping trip?",
    "Summarise the story of Little Red Riding Hood in three sentences.",
    "How do bees make honey?",
)


def _chat_ids(tokenizer: Any, prompt: str) -> list[int]:
    messages = [{"role": "user", "content": prompt}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


class _Clock:
    """A ``generate`` streamer that notes when each new token arrives (the first ``put`` is the prompt)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if self._prompt_seen:
            self.times.append(time.perf_counter())
        self._prompt_seen = True

    def end(self) -> None:
        pass


def _timed_generate(model: Any, ids: list[int], n: int) -> tuple[list[int], float, float]:
    """(new ids, TTFT s, decode tok/s) of greedy ``model.generate`` forced to ``n`` new tokens."""
    import torch

    clock = _Clock()
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False, streamer=clock, pad_token_id=2
        )
    ttft = clock.times[0] - start
    rate = (len(clock.times) - 1) / (clock.times[-1] - clock.times[0]) if len(clock.times) > 1 else 0.0
    return out[0, len(ids) :].tolist(), ttft, rate


def _timed_studio(tm: Any, ids: list[int], n: int) -> tuple[list[int], float, float]:
    """(new ids, TTFT s, decode tok/s) of the generator's own decode loop, greedy, forced to ``n`` tokens."""
    from studio.generators.text.decode import Sampling, decode
    from studio.generators.text.runners import make_runner

    runner = make_runner(tm.model, len(ids) + n)
    out = decode(runner, tm.tokenizer, ids, n, Sampling(temperature=0.0), seed=0, eos_ids=())
    return out.token_ids, out.ttft_s, out.tokens_per_s


def _teacher_forced(tm: Any, ids: list[int], reference: list[int]) -> float:
    """Share of positions where the fast path's greedy choice equals the fp32 continuation's token."""
    import torch

    from studio.generators.text.runners import make_runner

    runner = make_runner(tm.model, len(ids) + len(reference))
    hits = 0
    with torch.inference_mode():
        logits = runner.step(torch.tensor([ids]), 0)[0]
        for i, token in enumerate(reference):
            hits += int(int(logits.argmax()) == token)
            if i + 1 < len(reference):
                logits = runner.step(torch.tensor([[token]]), len(ids) + i)[0]
    return hits / len(reference)


class _Wrapped:
    """A plain transformers model in the studio's ``TextModel`` shape, for the agreement helpers."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer


def load_all(cache_dir: Path) -> dict[str, Any]:
    """The three models on the same converted weights, plus the studio (for the end-to-end row)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.services import build_services
    from studio.settings import Settings

    services = build_services(Settings(cache_dir=cache_dir))
    studio = services.studio
    gen = studio.generators["text"]
    (spec,) = [s for s in studio.catalog.models("text") if s.source == "builtin" and s.kind == "causal-lm"]
    t = time.perf_counter()
    tm = gen.load(spec, "cpu", None)  # converts the GGUF on the first run (~20 s), then loads in about a second
    load_s = time.perf_counter() - t
    folder = Path(spec.path)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    fp32 = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, use_safetensors=True).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dyn = torch.ao.quantization.quantize_dynamic(copy.deepcopy(fp32), {torch.nn.Linear}, dtype=torch.qint8)
    return {"studio": studio, "spec": spec, "tm": tm, "tok": tok, "fp32": fp32, "dyn": dyn, "load_s": load_s}


def speed(m: dict[str, Any], threads: int, n: int, rounds: int) -> dict[str, Any]:
    """Part 1 for one thread count: median TTFT and decode tok/s per variant, interleaved rounds."""
    import torch

    from studio.params import check_params

    torch.set_num_threads(threads)
    tok, studio = m["tok"], m["studio"]
    rows: dict[str, dict[str, list[float]]] = {}

    def note(name: str, ttft: float, rate: float) -> None:
        r = rows.setdefault(name, {"ttft_s": [], "tok_s": []})
        r["ttft_s"].append(ttft)
        r["tok_s"].append(rate)

    _timed_studio(m["tm"], _chat_ids(tok, "warm up"), 4)
    _timed_generate(m["fp32"], _chat_ids(tok, "warm up"), 4)
    cls = studio.params_type("text")
    for r in range(rounds):
        for prompt in SPEED_PROMPTS:
            ids = _chat_ids(tok, prompt)
            note("fp32 generate", *_timed_generate(m["fp32"], ids, n)[1:])
            note("int8 dynamic generate", *_timed_generate(m["dyn"], ids, n)[1:])
            note("studio decode", *_timed_studio(m["tm"], ids, n)[1:])
            params = check_params(cls, {"prompt": prompt, "temperature": 0.0, "max_new_tokens": n, "seed": r})
            t = time.perf_counter()
            res = studio.generate("text", params, use_cache=False)
            info = res.recipe["info"]
            note("studio end-to-end", info["ttft_s"], info["tokens_per_s"])
            rows["studio end-to-end"].setdefault("wall_s", []).append(time.perf_counter() - t)
            rows["studio end-to-end"].setdefault("new_tokens", []).append(info["new_tokens"])
    out = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in rows.items()}
    base = out["fp32 generate"]
    for r in out.values():
        r["speedup"] = r["tok_s"] / base["tok_s"] if base["tok_s"] else 0.0
        r["ttft_vs_fp32"] = r["ttft_s"] / base["ttft_s"] if base["ttft_s"] else 0.0
    print(f"\nspeed: {threads} thread(s), {n} new tokens, median of {rounds * len(SPEED_PROMPTS)} runs")
    print(f"  {'variant':24s} {'TTFT ms':>8s} {'decode tok/s':>13s} {'x fp32':>7s}")
    for name, r in out.items():
        print(f"  {name:24s} {r['ttft_s'] * 1000:8.0f} {r['tok_s']:13.1f} {r['speedup']:7.2f}")
    return out


def agreement(m: dict[str, Any], threads: int, n: int) -> dict[str, Any]:
    """Part 2: greedy agreement of each fast path with fp32 ``generate`` on the held-out prompts."""
    import torch

    torch.set_num_threads(threads)
    tok = m["tok"]
    stats: dict[str, dict[str, list[float]]] = {"studio": {}, "int8 dynamic": {}}
    for prompt in HELD_OUT:
        ids = _chat_ids(tok, prompt)
        ref = _timed_generate(m["fp32"], ids, n)[0]
        fast = {"studio": _timed_studio(m["tm"], ids, n)[0], "int8 dynamic": _timed_generate(m["dyn"], ids, n)[0]}
        models = {"studio": m["tm"], "int8 dynamic": _Wrapped(m["dyn"], tok)}
        for name, out in fast.items():
            same = [a == b for a, b in zip(out, ref, strict=False)]
            prefix = same.index(False) if False in same else len(same)
            s = stats[name]
            s.setdefault("exact", []).append(float(out == ref))
            s.setdefault("prefix", []).append(float(prefix))
            s.setdefault("teacher_forced", []).append(_teacher_forced(models[name], ids, ref))
    out = {
        name: {
            "exact_matches": int(sum(s["exact"])),
            "prompts": len(HELD_OUT),
            "mean_common_prefix": statistics.mean(s["prefix"]),
            "teacher_forced_top1": statistics.mean(s["teacher_forced"]),
        }
        for name, s in stats.items()
    }
    print(f"\ngreedy agreement with fp32 generate: {len(HELD_OUT)} held-out prompts, {n} new tokens each")
    print(f"  {'path':14s} {'identical':>10s} {'mean common prefix':>19s} {'teacher-forced top-1':>21s}")
    for name, r in out.items():
        print(
            f"  {name:14s} {r['exact_matches']:>4d} / {r['prompts']:<3d} {r['mean_common_prefix']:>13.1f} / {n:<3d}"
            f" {r['teacher_forced_top1'] * 100:>19.1f} %"
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both parts and print (and optionally save) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--tokens", type=int, default=128, help="new tokens per speed run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--agree-tokens", type=int, default=64, help="new tokens per agreement prompt")
    ap.add_argument("--cache-dir", type=Path, default=None, help="the studio cache (default: the studio's own)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--only-engines", action="store_true", help="run part 3 (torch path vs llama.cpp) only")
    args = ap.parse_args(argv)
    import torch

    from benchmarks import text_engines
    from studio.generators.text.llamacpp import available
    from studio.settings import default_cache_dir

    cache_dir = args.cache_dir or default_cache_dir()
    if args.only_engines:
        engines = text_engines.load(cache_dir)
        return {"engines": {t: text_engines.run(engines, t, args.tokens, args.rounds) for t in args.threads}}

    torch.set_num_threads(min(args.threads))
    m = load_all(cache_dir)
    print(f"SmolLM2-135M-Instruct · torch {torch.__version__} · {platform.processor() or platform.machine()}")
    print(f"GPU: {'yes' if torch.cuda.is_available() else 'none (CPU only)'} · load average {os.getloadavg()[0]:.1f}")
    print(f"studio load (after the one-time conversion): {m['load_s']:.2f} s · layers {m['tm'].layers}")
    report: dict[str, Any] = {"load_s": m["load_s"], "layers": m["tm"].layers, "speed": {}, "agreement": {}}
    for threads in args.threads:
        report["speed"][threads] = speed(m, threads, args.tokens, args.rounds)
    report["agreement"] = agreement(m, min(args.threads), args.agree_tokens)
    if available():
        engines = text_engines.load(cache_dir)
        report["engines"] = {t: text_engines.run(engines, t, args.tokens, args.rounds) for t in args.threads}
    report["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
