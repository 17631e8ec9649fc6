"""Music benchmark: audio seconds per wall second, end to end through the studio; MusicGen overhead; a cache hit.

    python -m benchmarks.music                       # all parts, 3 runs each
    python -m benchmarks.music --threads 1 2 --skip-serving

Part 1 (``builtin_realtime``): the built-in symbolic model through ``Studio.generate`` (validation, memory
manager, sampling, MIDI, synthesis, WAV, piano roll, provenance, cache write; the cache read is skipped), 30 s
pieces for the example prompts, with the numpy synthesiser (the default without system packages) and, where
installed, fluidsynth. Reported: seconds of audio per second of wall time (target >= 20x on 2 CPU cores), with
the sampling share. Part 2 (``musicgen_overhead``): MusicGen through the studio against the plain
``processor`` + ``model.generate`` + EnCodec decode on the same tiny MusicGen built from a config (weights random,
so the audio is noise; the point is the wrapper's cost), interleaved runs, median ratio (target <= 1.05).
Part 3: a repeated /music request (served from the result cache) against Gradio's floor.

No GPU on the machines this was written on: every figure is CPU. Wall times depend on what else runs; the
thread count is part of each row (tiny models decode fastest on one thread when the machine is busy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPTS = ("calm folk melody in D minor", "joyful chorale", "fast dance in 6/8")


def _studio(cache_dir: Path, model_dirs: tuple[Path, ...] = ()) -> Any:
    from studio.services import build_services
    from studio.settings import Settings

    return build_services(Settings(cache_dir=cache_dir, model_dirs=model_dirs)).studio


def builtin_realtime(
    threads: int, repeat: int, duration_s: float = 30.0, renderer: str = "builtin"
) -> list[dict[str, Any]]:
    """Part 1: rows of {prompt, threads, renderer, audio_s, wall_s, x_realtime, sample_share}."""
    import torch

    from studio.params import check_params

    torch.set_num_threads(threads)
    studio = _studio(Path(tempfile.mkdtemp(prefix="studio-bench-music-")))
    cls = studio.params_type("music")
    studio.generate("music", check_params(cls, {"prompt": "warm up", "seed": 1, "duration_s": 5}), use_cache=False)
    rows = []
    print(f"\nbuilt-in model, {duration_s:.0f} s pieces, {threads} thread(s), {renderer} synthesiser")
    print(f"  {'prompt':32s} {'audio s':>8s} {'wall s':>7s} {'x real':>7s} {'sampling':>9s}")
    for prompt in PROMPTS:
        runs = []
        for seed in range(repeat):
            values = {"prompt": prompt, "seed": 100 + seed, "duration_s": duration_s, "renderer": renderer}
            params = check_params(cls, values)
            t = time.perf_counter()
            res = studio.generate("music", params, use_cache=False)
            wall = time.perf_counter() - t
            info = res.recipe["info"]
            runs.append((info["audio_seconds"], wall, info["sample_seconds"]))
        audio = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        share = statistics.median(r[2] / r[1] for r in runs)
        row = {
            "prompt": prompt,
            "threads": threads,
            "audio_s": audio,
            "wall_s": wall,
            "x_realtime": audio / wall,
            "sample_share": share,
        }
        rows.append(row)
        print(f"  {prompt[:32]:32s} {audio:8.1f} {wall:7.2f} {audio / wall:6.1f}x {share:8.0%}")
    return rows


def musicgen_overhead(threads: int, repeat: int, duration_s: float = 6.0) -> dict[str, Any]:
    """Part 2: median seconds of the studio path and of plain generate on one tiny MusicGen, and their ratio."""
    import torch

    from studio.generators.music.musicgen import load_musicgen
    from studio.params import check_params
    from tests.generators.music.helpers import make_tiny_musicgen

    torch.set_num_threads(threads)
    root = Path(tempfile.mkdtemp(prefix="studio-bench-mg-"))
    folder = make_tiny_musicgen(root / "models" / "tiny-musicgen", positions=512)
    studio = _studio(root / "cache", (root / "models",))
    cls = studio.params_type("music")
    plain = load_musicgen(folder)
    frames = round(duration_s * plain.frame_rate) + plain.num_codebooks - 1
    settings = {"do_sample": True, "guidance_scale": 3.0, "temperature": 1.0, "top_k": 40, "top_p": 1.0}

    def run_plain(seed: int) -> float:
        t = time.perf_counter()
        torch.manual_seed(seed)
        inputs = plain.processor(text=["calm folk melody"], padding=True, return_tensors="pt")
        with torch.inference_mode():
            plain.model.generate(**inputs, max_new_tokens=frames, **settings)
        return time.perf_counter() - t

    def run_studio(seed: int) -> float:
        params = check_params(
            cls, {"prompt": "calm folk melody", "model": "tiny-musicgen", "seed": seed, "duration_s": duration_s}
        )
        t = time.perf_counter()
        studio.generate("music", params, use_cache=False)
        return time.perf_counter() - t

    run_plain(0), run_studio(0)  # warm: imports, first-call allocations, the studio's model load
    plain_t, studio_t = [], []
    for i in range(repeat):
        plain_t.append(run_plain(i + 1))
        studio_t.append(run_studio(i + 1))
    med_p, med_s = statistics.median(plain_t), statistics.median(studio_t)
    out = {"threads": threads, "audio_s": duration_s, "plain_s": med_p, "studio_s": med_s, "ratio": med_s / med_p}
    print(
        f"\nMusicGen (tiny, from a config), {duration_s:.0f} s, {threads} thread(s): plain generate {med_p:.2f} s,"
        f" through the studio {med_s:.2f} s, ratio {med_s / med_p:.3f}"
    )
    return out


def cache_hit(n: int = 20) -> dict[str, float]:
    """Part 3: a repeated /music request (served from the result cache) against Gradio's floor."""
    from benchmarks.serving import cache_hit_vs_floor, report

    med = cache_hit_vs_floor("music", {"prompt": PROMPTS[0], "duration_s": 20, "seed": 7}, n=n)
    report("music", med)
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of music per built-in run")
    ap.add_argument("--skip-builtin", action="store_true")
    ap.add_argument("--skip-musicgen", action="store_true")
    ap.add_argument("--skip-serving", action="store_true")
    ap.add_argument("--json", help="write the measurements to this file")
    args = ap.parse_args()
    results: dict[str, Any] = {"builtin": [], "musicgen": []}
    from studio.generators.music.synth import fluidsynth_available

    renderers = ["builtin", "fluidsynth"] if fluidsynth_available() else ["builtin"]
    for threads in [] if args.skip_builtin else args.threads:
        for renderer in renderers:
            results["builtin"] += builtin_realtime(threads, args.repeat, args.duration, renderer)
    if not args.skip_musicgen:
        for threads in args.threads:
            results["musicgen"].append(musicgen_overhead(threads, max(args.repeat, 5)))
    if not args.skip_serving:
        results["cache_hit"] = cache_hit()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
