"""Terrain benchmark: the whole pipeline against the noise library alone, per stage; then a cache hit.

    python -m benchmarks.terrain                    # 257 and 1025, the five example prompts, 3 runs each
    python -m benchmarks.terrain --sizes 1025 --repeat 5 --skip-serving

Part 3 (``scene_vs_today``, run first; ``--scene-only`` for it alone) times the whole 1025^2 scene (textured
terrain chunks, detail textures, >= 20,000 instanced objects, GLB, objects.csv) against today's pipeline (the same
terrain with its preview, a vertex-coloured GLB, heightmaps and maps), interleaved; target <= 1.5x. It also gives
the GLB's size with instancing and as it would be with every object its own mesh.

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


# -- Part 3: the whole scene against today's pipeline ------------------------------------------------------
def legacy_glb(h: np.ndarray, albedo: np.ndarray, height_m: float, extent_m: float, water_h: float | None) -> bytes:
    """The GLB as the studio wrote it before scenes (kept here as the baseline): a 257^2 grid with vertex colours
    and a water quad, exported by trimesh."""
    import trimesh

    from studio.generators.terrain.mesh import mesh_step
    from studio.generators.terrain.scene import srgb_to_linear

    n = h.shape[0]
    step = mesh_step(n)
    hs, cs = h[::step, ::step], albedo[::step, ::step]
    k = hs.shape[0]
    axis = (np.arange(k, dtype=np.float32) * step / (n - 1) - 0.5) * np.float32(extent_m)
    xs, zs = np.meshgrid(axis, axis)
    vertices = np.stack([xs, hs * np.float32(height_m), zs], axis=-1).reshape(-1, 3)
    idx = np.arange(k * k, dtype=np.int64).reshape(k, k)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([c, b, d], -1).reshape(-1, 3)])
    u8 = np.clip(srgb_to_linear(cs) * 255 + 0.5, 0, 255).astype(np.uint8)
    rgba = np.concatenate([u8, np.full((k, k, 1), 255, np.uint8)], -1)
    scene = trimesh.Scene()
    land = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=rgba.reshape(-1, 4), process=False)
    scene.add_geometry(land, geom_name="terrain", node_name="terrain")
    if water_h:
        half, y = extent_m / 2, water_h * height_m
        quad = np.array([[-half, y, -half], [-half, y, half], [half, y, -half], [half, y, half]], np.float32)
        scene.add_geometry(
            trimesh.Trimesh(vertices=quad, faces=[[0, 1, 2], [2, 1, 3]], process=False), geom_name="water"
        )
    return bytes(scene.export(file_type="glb"))


def today(params: Any, seed: int) -> int:
    """Today's pipeline (before objects, textures and scenes): the terrain, then the preview, the vertex-coloured GLB,
    the heightmaps and the normal, albedo and splat PNGs. Returns the GLB's size."""
    import dataclasses

    from studio.generators.terrain.export import height_u16, normal_png, png_bytes, raw_r16, to_u8
    from studio.generators.terrain.generator import make_terrain

    t = make_terrain(dataclasses.replace(params, object_density=0.0), seed)
    close, s = t.grid.close, t.settings
    png_bytes(to_u8(close(t.maps.preview)))
    glb = legacy_glb(t.height, close(t.maps.albedo), s.height_m, s.extent_m, t.water_h if s.water_level > 0 else None)
    png_bytes(height_u16(t.height)), raw_r16(t.height), normal_png(close(t.maps.normal))
    png_bytes(to_u8(close(t.maps.albedo))), png_bytes(to_u8(close(t.maps.splat)))
    return len(glb)


def scene_vs_today(size: int, prompt: str, repeat: int) -> dict[str, Any]:
    """Part 3: the whole scene (terrain chunks, textures, layers, >= 20,000 instanced objects, GLB, CSV) against
    today's pipeline, interleaved run by run; and the GLB with and without instancing."""
    from studio.generators.base import Context
    from studio.generators.terrain.generator import TerrainGenerator, make_terrain
    from studio.generators.terrain.objects.instancing import batches, flat_bytes
    from studio.generators.terrain.params import TerrainParams

    gen = TerrainGenerator()
    params = TerrainParams(prompt=prompt, seed=7, size_px=size)
    gen.generate(None, TerrainParams(prompt=prompt, seed=7, size_px=129), Context())  # imports, warm caches
    old, new, old_cpu, new_cpu, info, files = [], [], [], [], {}, {}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        old_glb = today(params, 7)
        old.append(time.perf_counter() - t0)
        old_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        out = gen.generate(None, params, Context())
        new.append(time.perf_counter() - t0)
        new_cpu.append(time.process_time() - c0)
        info, files = out.info, {a.name: a.data for a in out.artifacts}
    t = make_terrain(params, 7)
    items = batches(t.objects, 7, t.settings.extent_m)
    instance_bytes = sum(len(b.translation) * 40 for b in items)  # TRANSLATION + ROTATION + SCALE floats
    glb = len(files["terrain.glb"])
    row = {
        "size": size,
        "prompt": prompt,
        "today_s": statistics.median(old),
        "scene_s": statistics.median(new),
        "today_cpu_s": statistics.median(old_cpu),
        "scene_cpu_s": statistics.median(new_cpu),
        "instances": info["objects_total"],
        "glb_bytes": glb,
        "glb_without_instancing_bytes": glb - instance_bytes + flat_bytes(items),
        "today_glb_bytes": old_glb,
    }
    row["ratio"] = row["scene_s"] / row["today_s"]
    row["cpu_ratio"] = row["scene_cpu_s"] / row["today_cpu_s"]
    print(
        f"\n{size}x{size} '{prompt}': today's pipeline {row['today_s']:.2f} s, whole scene {row['scene_s']:.2f} s "
        f"({row['ratio']:.2f}x, target <= 1.5x) with {row['instances']:,} instanced objects; CPU time "
        f"{row['today_cpu_s']:.2f} s vs {row['scene_cpu_s']:.2f} s ({row['cpu_ratio']:.2f}x)\n"
        f"  GLB {glb / 1e6:.1f} MB instanced; {row['glb_without_instancing_bytes'] / 1e6:.0f} MB with every object "
        f"its own mesh; today's GLB {old_glb / 1e6:.1f} MB (no textures, no objects)"
    )
    return row


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
    ap.add_argument("--scene-only", action="store_true", help="only part 3: the whole scene against today's pipeline")
    ap.add_argument("--scene-prompt", default="pine forest on rolling hills with a lake")
    args = ap.parse_args()
    out: dict[str, Any] = {"scene": scene_vs_today(max(args.sizes), args.scene_prompt, args.repeat)}
    if args.scene_only:
        print(json.dumps(out["scene"]))
        return
    out["pipeline"] = pipeline_vs_noise(args.sizes, args.prompts, args.repeat)
    if args.tileable:
        out["tileable"] = pipeline_vs_noise(args.sizes, args.prompts, args.repeat, tileable=True)
    if not args.skip_serving:
        out["cache_hit"] = cache_hit()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
