"""Terrain benchmark: the whole pipeline against the noise library alone, per stage; then a cache hit.

    python -m benchmarks.terrain                    # 257 and 1025, the five example prompts, 3 runs each
    python -m benchmarks.terrain --sizes 1025 --repeat 5 --skip-serving

Part 1 (``pipeline_vs_noise``) times ``TerrainGenerator.generate`` stage by stage (noise, erosion, colour,
images, heightmaps, mesh) and compares it with the floor: one FastNoiseLite fBm of the same size (6 octaves,
the same call the generator makes per layer), done by the library alone. The target is the whole 1024^2
pipeline in <= 2 s on 2 CPU cores. Wall time depends on what else the machine runs, so CPU time is reported
too. Part 2 (``cache_hit``) is the round trip of a repeated /terrain request against Gradio's floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np

PROMPTS = (
    "snowy jagged mountains with a lake",
    "gentle green hills",
    "desert canyon",
    "volcanic island",
    "archipelago",
)


def noise_floor(size: int, repeat: int = 3) -> float:
    """Median seconds for one size x size 6-octave fBm from FastNoiseLite, nothing else."""
    from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType

    fn = FastNoiseLite(1)
    fn.noise_type = NoiseType.NoiseType_OpenSimplex2S
    fn.fractal_type = FractalType.FractalType_FBm
    fn.fractal_octaves = 6
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    u, v = np.meshgrid(axis, axis)
    coords = np.ascontiguousarray(np.stack([u.ravel(), v.ravel()]))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn.gen_from_coords(coords)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pipeline(size: int, prompt: str, repeat: int = 3, tileable: bool = False) -> dict[str, float]:
    """Median wall and CPU seconds of the whole generation, and of each stage, over ``repeat`` runs."""
    from studio.generators.base import Context
    from studio.generators.terrain.generator import TerrainGenerator
    from studio.generators.terrain.params import TerrainParams

    gen = TerrainGenerator()
    params = TerrainParams(prompt=prompt, seed=7, size_px=size, tileable=tileable)
    gen.generate(None, TerrainParams(prompt=prompt, seed=7, size_px=129), Context())  # imports, warm caches
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        stages: dict[str, float] = {}
        t, c = time.perf_counter(), time.process_time()
        gen.generate(None, params, Context(), timings=stages)
        runs.append({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, **stages})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def pipeline_vs_noise(
    sizes: list[int], prompts: list[str], repeat: int, tileable: bool = False
) -> list[dict[str, Any]]:
    """Part 1: rows of {size, prompt, wall, cpu, stages..., noise_floor, ratio}; prints a table as it goes."""
    rows = []
    for size in sizes:
        floor = noise_floor(size, repeat)
        print(
            f"\n{size}x{size}{' tileable' if tileable else ''}: FastNoiseLite alone {floor * 1000:.0f} ms "
            f"(one 6-octave fBm)"
        )
        print(
            f"  {'prompt':36s} {'wall':>7s} {'cpu':>7s} {'noise':>7s} {'erosion':>7s} {'color':>7s} {'images':>7s}"
            f" {'hmaps':>7s} {'mesh':>7s} {'x floor':>8s}"
        )
        for prompt in prompts:
            m = pipeline(size, prompt, repeat, tileable)
            row = {
                "size": size,
                "prompt": prompt,
                "tileable": tileable,
                "noise_floor": floor,
                "ratio": m["wall"] / floor,
                **m,
            }
            rows.append(row)
            print(
                f"  {prompt[:36]:36s} {m['wall']:7.3f} {m['cpu']:7.3f} {m.get('noise', 0):7.3f}"
                f" {m.get('erosion', 0):7.3f} {m.get('color', 0):7.3f} {m.get('images', 0):7.3f}"
                f" {m.get('heightmaps', 0):7.3f} {m.get('mesh', 0):7.3f} {row['ratio']:7.1f}x"
            )
    return rows


# -- Part 2: cache hit ---------------------------------------------------------------------------------------
def cache_hit(n: int = 20) -> dict[str, float]:
    """A repeated /terrain request (served from the result cache) against Gradio's floor; see serving.py."""
    from benchmarks.serving import cache_hit_vs_floor, report

    med = cache_hit_vs_floor("terrain", {"prompt": PROMPTS[0], "size_px": 513, "seed": 7}, n=n)
    report("terrain", med)
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[257, 1025])
    ap.add_argument("--prompts", nargs="+", default=list(PROMPTS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tileable", action="store_true", help="also time seamless (tileable) maps")
    ap.add_argument("--skip-serving", action="store_true", help="skip the cache-hit round trip (part 2)")
    ap.add_argument("--json", help="write the measurements to this file")
    args = ap.parse_args()
    out: dict[str, Any] = {"pipeline": pipeline_vs_noise(args.sizes, args.prompts, args.repeat)}
    if args.tileable:
        out["tileable"] = pipeline_vs_noise(args.sizes, args.prompts, args.repeat, tileable=True)
    if not args.skip_serving:
        out["cache_hit"] = cache_hit()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
