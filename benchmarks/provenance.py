"""What provenance costs: the time signing (C2PA) and watermarking add to each output, beside the generation.

    python -m benchmarks.provenance                  # every built-in, 3 rounds
    python -m benchmarks.provenance --repeat 5 --only image,terrain

For each built-in model, one request at its usual size is generated (the model already loaded, as in a running
studio), then its files go through the engine's provenance steps, each timed on its own: the watermark
(``mark_artifact``), the recipe (``provenance.embed`` + the ``recipe.json`` sidecar, as before this work) and the
Content Credentials (``Signer.sign``). Rounds interleave generation and provenance, so machine drift hits both; the
median is reported. The target is at most 10 % of a built-in generation, or at most 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

REQUESTS: dict[str, dict[str, Any]] = {
    "text": {"prompt": "Write a haiku about rain.", "max_new_tokens": 48, "seed": 1},
    "image": {"prompt": "red apple", "seed": 1},
    "music": {"prompt": "folk dance", "duration_s": 20, "seed": 1},
    "terrain": {"prompt": "volcanic island", "size_px": 513, "seed": 1},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default=",".join(REQUESTS))
    args = ap.parse_args()

    from studio import provenance
    from studio.engine import ingredients_of, recipe_params
    from studio.generators.base import Context
    from studio.services import build_services
    from studio.settings import Settings
    from studio.watermark.files import mark_artifact

    services = build_services(Settings(cache_dir=Path(tempfile.mkdtemp(prefix="bench-prov-"))))
    studio, signer = services.studio, services.studio.signer
    assert signer is not None
    print("| model | generation | watermark | recipe | credentials | added | added / generation |")
    print("|---|---|---|---|---|---|---|")
    for modality in args.only.split(","):
        params, spec = studio.resolve(modality, studio.check(modality, REQUESTS[modality]))
        gen = studio.generators[modality]
        model = None if spec.source == "procedural" else gen.load(spec, studio.memory.device, None)
        times: dict[str, list[float]] = {"gen": [], "mark": [], "recipe": [], "sign": []}
        for _ in range(args.repeat):
            t = time.perf_counter()
            output = gen.generate(model, params, Context())
            times["gen"].append(time.perf_counter() - t)
            recipe = provenance.make_recipe(
                key="0" * 64, modality=modality, model={"id": spec.id}, params=recipe_params(params), seed=1
            )
            t = time.perf_counter()
            marked = [mark_artifact(a, recipe["id"]) for a in output.artifacts]
            times["mark"].append(time.perf_counter() - t)
            t = time.perf_counter()
            embedded = [provenance.embed(a, recipe) for a in marked]
            provenance.sidecar(recipe, embedded)
            times["recipe"].append(time.perf_counter() - t)
            t = time.perf_counter()
            signed = signer.sign(embedded, recipe, ingredients_of(params))
            signer.sign_recipe(provenance.sidecar(recipe, signed), recipe)
            times["sign"].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        added = med["mark"] + med["sign"]
        files = ", ".join(a.name for a in output.artifacts)
        print(
            f"| {spec.id} ({files}) | {med['gen'] * 1000:.0f} ms | {med['mark'] * 1000:.0f} ms | "
            f"{med['recipe'] * 1000:.0f} ms | {med['sign'] * 1000:.0f} ms | {added * 1000:.0f} ms | "
            f"{added / med['gen']:.1%} |"
        )


if __name__ == "__main__":
    main()
