"""Image benchmark: the studio's path against the plain diffusers call on the same model; then a cache hit.

    python -m benchmarks.image                       # built-in emoji-diffusion + a tiny SD-layout checkpoint
    python -m benchmarks.image --repeat 7 --skip-serving

Part 1 (``studio_vs_plain``) times, interleaved so machine drift hits both alike, (a) the plain pipeline call
``pipe(prompt, num_inference_steps=..., generator=...)`` on a loaded pipeline and (b) the studio's whole path,
``Studio.generate(..., use_cache=False)``: validation, the memory manager's lease, a fresh scheduler and
``from_pipe`` per call, the progress/preview callback, PNG encoding, the recipe chunks, the sidecar and the cache
write. Same model, same size, same steps; the target is a ratio <= 1.05 (no overhead worth the name). Models: the
built-in ``emoji-diffusion`` (64×64, 25 DDIM steps, CFG) and a tiny SD-layout checkpoint built from configs
(through ``AutoPipelineForText2Image``). Wall time is what a user waits for; CPU time is reported too because
this machine is shared.

Part 1b (``builtin_vs_previous``, with ``--previous DIR``: a folder holding an earlier ``emoji-diffusion``, e.g.
``git archive b045627 assets/models/emoji-diffusion | tar -x -C /tmp/prev`` and ``--previous
/tmp/prev/assets/models``) times the built-in diffusion model against that earlier one, each at its own size
(128² now, 64² before), 4 images per call, 25 steps, guidance 5, interleaved: seconds per image and the ratio.

Part 2 (``cache_hit``) is the round trip of a repeated /image request against Gradio's floor (a trivial
endpoint), through gradio_client and raw HTTP (``benchmarks.serving``).

No GPU here: the GPU rows (fp16 SD 1.5 / SDXL, placement on device vs CPU offload) are skipped and say so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 25


def _timed(fn: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def studio_vs_plain(model_id: str, model_dirs: tuple[Path, ...], repeat: int, size: int) -> dict[str, Any]:
    """Median wall/CPU seconds of the plain pipeline call and of the studio's path, and their ratio."""
    import torch

    from studio.params import check_params
    from studio.services import build_services
    from studio.settings import Settings

    services = build_services(Settings(cache_dir=Path(tempfile.mkdtemp(prefix="studio-bench-")), model_dirs=model_dirs))
    gen = services.studio.generators["image"]
    spec = services.catalog.get("image", model_id)
    plain_pipe = gen.load(spec, "cpu", None)
    params = check_params(
        gen.params_type,
        {"prompt": "red apple", "model": model_id, "num_steps": STEPS, "width": size, "height": size, "seed": 0},
    )

    def plain(seed: int) -> None:
        plain_pipe(
            "red apple",
            num_inference_steps=STEPS,
            guidance_scale=params.guidance_scale,
            height=size,
            width=size,
            generator=torch.Generator().manual_seed(seed),
        )

    def studio(seed: int) -> None:
        services.studio.generate("image", dataclasses.replace(params, seed=seed), use_cache=False)

    plain(0)
    studio(0)  # load into the memory manager, warm both paths
    times: dict[str, list[float]] = {"plain_wall": [], "plain_cpu": [], "studio_wall": [], "studio_cpu": []}
    for i in range(repeat):
        order = (("plain", plain), ("studio", studio)) if i % 2 == 0 else (("studio", studio), ("plain", plain))
        for name, fn in order:
            wall, cpu = _timed(lambda fn=fn, seed=100 + i: fn(seed))
            times[f"{name}_wall"].append(wall)
            times[f"{name}_cpu"].append(cpu)
    med = {k: statistics.median(v) for k, v in times.items()}
    med["ratio_wall"] = med["studio_wall"] / med["plain_wall"]
    med["ratio_cpu"] = med["studio_cpu"] / med["plain_cpu"]
    med["size"] = size
    med["steps"] = STEPS
    return med


def builtin_vs_previous(current: Path, previous: Path, repeat: int) -> dict[str, Any]:
    """Median seconds per image of two built-in diffusion folders, each at its own size, interleaved."""
    import torch

    from studio.generators.image.checkpoints import native_size
    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline

    pipes = {"current": EmojiDiffusionPipeline.load(current), "previous": EmojiDiffusionPipeline.load(previous)}
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)

    def call(name: str, seed: int) -> None:
        gens = [torch.Generator().manual_seed(seed + i) for i in range(4)]
        pipes[name]("red apple", num_images_per_prompt=4, num_inference_steps=STEPS, generator=gens)

    for name in pipes:
        call(name, 0)
    times: dict[str, list[float]] = {name: [] for name in pipes}
    for i in range(repeat):
        for name in pipes if i % 2 == 0 else reversed(list(pipes)):
            times[name].append(_timed(lambda name=name, seed=10 * i: call(name, seed))[0] / 4)
    med: dict[str, Any] = {f"{name}_s_per_image": statistics.median(v) for name, v in times.items()}
    med.update({f"{name}_size": native_size(pipe) for name, pipe in pipes.items()})
    med["ratio"] = med["current_s_per_image"] / med["previous_s_per_image"]
    return med


def main() -> None:
    """Run both parts and print (and optionally save) the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--skip-serving", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--previous", type=Path, default=None, help="a models folder with an earlier emoji-diffusion")
    args = p.parse_args()

    import torch

    from tests.generators.image.helpers import save_tiny_sd

    torch.set_num_threads(min(2, torch.get_num_threads()))
    tiny_root = Path(tempfile.mkdtemp(prefix="studio-bench-models-"))
    save_tiny_sd(tiny_root / "tiny-sd")
    results: dict[str, Any] = {}
    print(f"Part 1: studio path vs plain pipeline call, {STEPS} steps, median of {args.repeat} interleaved runs")
    for model_id, size in (("emoji-diffusion", 128), ("tiny-sd", 64)):
        try:
            med = studio_vs_plain(model_id, (tiny_root,), args.repeat, size)
        except ValueError as exc:  # ParamError: the built-in is not installed
            print(f"  {model_id}: skipped ({exc})")
            continue
        results[model_id] = med
        print(
            f"  {model_id:16s} {size}x{size}: plain {med['plain_wall']:.3f} s  studio {med['studio_wall']:.3f} s"
            f"  ratio {med['ratio_wall']:.3f}x wall, {med['ratio_cpu']:.3f}x CPU (target <= 1.05x)"
        )
    if args.previous is not None:
        from studio.settings import Settings

        current = Settings().assets_dir / "emoji-diffusion"
        med = builtin_vs_previous(current, args.previous / "emoji-diffusion", args.repeat)
        results["builtin_vs_previous"] = med
        print(
            f"  built-in {med['current_size']}² vs previous {med['previous_size']}², 4 images per call: "
            f"{med['current_s_per_image']:.3f} vs {med['previous_s_per_image']:.3f} s per image ({med['ratio']:.2f}×)"
        )
    print("  GPU rows (SD 1.5 / SDXL fp16, on device vs CPU offload): skipped, no GPU on this machine")
    if not args.skip_serving:
        from benchmarks.serving import cache_hit_vs_floor, report

        med = cache_hit_vs_floor("image", {"prompt": "red apple", "num_steps": 10, "seed": 7})
        results["cache_hit"] = med
        report("image", med)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
