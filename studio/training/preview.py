"""What the Train tab shows, made without gradio: the data check as Markdown, the grid of preprocessed and augmented
examples exactly as a run's batches are made, a run's status line, its loss curves and its latest samples."""

from __future__ import annotations

import io
from typing import Any

from studio.training.data_check import DataReport, size_summary
from studio.training.params import TrainParams

GRID_PICTURES = 16


def describe(report: DataReport) -> str:
    """The data check as Markdown: usable count, captions and where they came from, sizes, refusals."""
    if report.usable == 0:
        head = f"**No usable pictures** in {report.source}: nothing can be trained on this."
    else:
        head = f"**{report.usable} usable picture(s)** from {report.source}."
    lines = [head]
    if report.caption_sources:
        lines.append("Captions from: " + ", ".join(f"{k} ({v})" for k, v in report.caption_sources.items()))
        distinct = list(dict.fromkeys(report.captions))
        shown = ", ".join(f"“{c}”" for c in distinct[:8])
        lines.append(f"{len(distinct)} distinct caption(s): {shown}{' …' if len(distinct) > 8 else ''}")
    sizes = size_summary(report.sizes)
    if sizes:
        lines.append(f"Sizes: smallest {sizes['min']}, largest {sizes['max']}; each is centre-cropped and resized.")
    if report.refused:
        lines.append(f"**{len(report.refused)} file(s) refused** (listed below with the reason).")
    lines += [f"Note: {n}" for n in report.notes[:5]]
    lines.append(f"Manifest SHA-256 `{report.manifest_hash[:16]}…`")
    return "\n\n".join(lines)


def augmented_grid(report: DataReport, params: TrainParams) -> Any:
    """A PIL sheet of up to 16 pictures after preprocessing and the run's augmentation (the run's own seed)."""
    import torch

    from studio.training.augment import Augment, augment
    from studio.training.dataset import grid, to_pil, to_tensor

    if report.usable == 0:
        return None
    x = to_tensor(report.images[:GRID_PICTURES])
    gen = torch.Generator().manual_seed(params.seed)
    x = augment(x, Augment(params.flips, params.crops, params.jitter), gen)
    if params.technique == "dbn":  # the DBN sees 32×32 pictures
        from torch.nn import functional

        x = functional.interpolate(functional.adaptive_avg_pool2d(x, 32), size=64, mode="nearest")
    return grid(to_pil(x), columns=8, scale=2)


def status_text(info: Any) -> str:
    """One run's state as Markdown: step, speed, ETA, queue place, error."""
    parts = [f"**{info.name}** ({info.technique}) · **{info.state}** · step {info.step} / {info.steps}"]
    if info.state == "running" and info.steps_per_s:
        parts.append(f"{info.steps_per_s:.2f} steps/s · ETA {_duration(info.eta_s)}")
    if info.position:
        parts.append(f"waiting: number {info.position} in the queue (one run at a time on this device)")
    if info.state == "finished":
        parts.append("the model is in the Image tab's model list")
    line = " · ".join(parts)
    if info.note:
        line += f"\n\n{info.note}"
    if info.error:
        line += f"\n\n**Error:** {info.error}"
    return line


def curves_image(rows: list[dict[str, Any]], technique: str) -> Any:
    """The loss curves (``curves.py``) as a PIL image, for the live view."""
    from PIL import Image

    from studio.training.curves import curves_png
    from studio.training.techniques.terms import TERMS

    return Image.open(io.BytesIO(curves_png(rows, TERMS.get(technique, ()))))


def _duration(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else f"{s // 60} min {s % 60} s"
