"""The one way the studio fingerprints model weights: a folder's (or a file's) weight files by relative name, size
and modification time.

It goes into every cache key and recipe as the model's ``weights_hash``, for the built-ins, the HF cache, local
folders and GGUF files alike. It reads no weights, so listing a cache of many-gigabyte checkpoints at start-up costs
only ``stat`` calls; any change to a weight file (a re-download, a new training run written in place) changes it.
Two copies of the same weights made at different times fingerprint differently: the price of not reading them.
``file_sha256`` is there for what must know the content (whether a converted model still matches its source).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".json", ".model", ".txt")


def fingerprint(path: str | os.PathLike[str]) -> str:
    """16 hex digits identifying the weights at ``path`` (a model folder, or one file such as a ``.gguf``)."""
    root = Path(path)
    h = hashlib.sha256()
    if root.is_file():
        st = root.stat()
        h.update(f"{root.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in WEIGHT_SUFFIXES:
            st = p.stat()
            h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
