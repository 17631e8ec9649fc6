"""A run's pictures: saved once into its folder after the data check, split into training and held-out sets.

The run reads only ``data/images.npz`` of its own folder (never the upload again: Gradio may delete its temp
copies, and a resumed run must see the same pictures). ``allow_pickle=False`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.training.data_check import DataReport
from studio.training.run_folder import RunFolder, write_atomic


@dataclass
class ImageData:
    """``images``: (N, S, S, 3) uint8; ``captions``: N strings."""

    images: np.ndarray
    captions: list[str]

    def __len__(self) -> int:
        return len(self.captions)


def save_data(run: RunFolder, report: DataReport, licence: str) -> None:
    """Write the checked pictures and the manifest into the run's ``data/``."""
    import io

    buf = io.BytesIO()
    np.savez(buf, images=report.images, captions=np.asarray(report.captions, dtype=str))
    write_atomic(run.path("data/images.npz"), buf.getvalue())
    run.write_json("data/manifest.json", report.manifest(licence))


def load_data(run: RunFolder) -> ImageData:
    """The pictures saved by ``save_data``."""
    with np.load(run.path("data/images.npz"), allow_pickle=False) as z:
        return ImageData(z["images"], [str(c) for c in z["captions"]])


def split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices): a seeded shuffle; at least one training picture always."""
    order = np.random.default_rng(seed + 7919).permutation(n)
    n_val = min(n - 1, round(n * val_fraction)) if n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def to_tensor(images: np.ndarray) -> Any:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_pil(x: Any) -> list[Any]:
    """(B, 3, H, W) in [-1, 1] -> PIL images."""
    from PIL import Image

    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(a) for a in arr]


def grid(images: list[Any], columns: int = 8, scale: int = 1) -> Any:
    """One PIL sheet of equally sized pictures, ``columns`` wide, on white."""
    from PIL import Image

    if not images:
        return Image.new("RGB", (64, 64), "white")
    w, h = images[0].size
    rows = (len(images) + columns - 1) // columns
    cols = min(columns, len(images))
    sheet = Image.new("RGB", (cols * (w + 2) + 2, rows * (h + 2) + 2), "white")
    for i, im in enumerate(images):
        sheet.paste(im.convert("RGB").resize((w, h)), (2 + (i % columns) * (w + 2), 2 + (i // columns) * (h + 2)))
    if scale != 1:
        sheet = sheet.resize((sheet.width * scale, sheet.height * scale), Image.Resampling.NEAREST)
    return sheet
