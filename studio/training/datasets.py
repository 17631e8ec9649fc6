"""The training pictures a built-in image model learns from: ``--data twemoji`` (the first built-ins: one Twemoji
per caption, 64 px, hue-shifted copies) or ``--data styles`` (four drawing styles of every emoji, 128 px, captions
held out by ``emoji_styles``).

With ``styles`` every picture appears twice: once captioned with its style ("red apple, noto style") and once
without ("red apple"), so a prompt that names a style gets it and a prompt that names none leaves the choice to
the seed: the plain caption has four pictures, one per style, to choose among.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from studio.training.emoji_data import CACHE_DIR, EmojiDataset, load_dataset
from studio.training.emoji_styles import StyledSet, load, styled_caption

DATA_SIZES = {"twemoji": 64, "styles": 128}


def add_data_flags(p: argparse.ArgumentParser) -> None:
    """``--data`` and ``--size`` (default: the data's own size)."""
    p.add_argument("--data", choices=tuple(DATA_SIZES), default="twemoji", help="training pictures (default twemoji)")
    p.add_argument("--size", type=int, default=None, help="picture size in px (default: 64 twemoji, 128 styles)")
    p.add_argument("--styles", default="twemoji,noto,openmoji,fluent", help="--data styles: which styles")


def picture_size(args: argparse.Namespace) -> int:
    """The size the run trains at."""
    return int(args.size or DATA_SIZES[args.data])


def load_training_data(args: argparse.Namespace) -> EmojiDataset:
    """The training rows of ``--data`` at ``picture_size(args)`` (held-out captions left out for ``styles``; a size
    below 128 is the 128 px set area-averaged down, not rendered anew)."""
    if args.data == "twemoji":
        if picture_size(args) != 64:
            raise ValueError("--data twemoji is 64 px; use --data styles for 128")
        return load_dataset(limit=args.limit)
    styled = load(args.styles.split(","), DATA_SIZES["styles"], limit=args.limit).split(held_out=False)
    return with_plain_captions(styled.downsampled(picture_size(args)))


def with_plain_captions(data: StyledSet, cache_dir: Path = CACHE_DIR) -> EmojiDataset:
    """Each picture twice, with and without its style in the caption, with MiniLM embeddings (cached)."""
    captions = [styled_caption(c, s) for c, s in zip(data.captions, data.styles, strict=True)] + data.captions
    n = len(data.captions)
    return EmojiDataset(
        np.concatenate([data.images, data.images]),
        captions,
        _embeddings(captions, cache_dir),
        np.concatenate([np.arange(n), np.arange(n)]),
    )


def _embeddings(captions: list[str], cache_dir: Path) -> np.ndarray:
    key = hashlib.sha256(json.dumps(captions).encode()).hexdigest()[:12]
    path = cache_dir / f"captions_{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    from studio.generators.image.emoji.minilm import PromptEncoder

    embeddings = PromptEncoder.load().encode(captions).numpy()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, embeddings)
    tmp.replace(path)
    return embeddings
