"""One captioned training set from four emoji drawing styles (see ``emoji_sources``), with a held-out split and a
data card.

Every picture is captioned from its code points exactly as the first built-ins were (``emoji_data.caption_for``:
"red apple"), and the style it is drawn in is kept beside the caption, so training can append it ("red apple,
noto style") or leave it out and let the seed choose. Within a style, files that name the same emoji (with and
without the variation selector) or end with the same caption are kept once. Captions are split, not pictures: a
held-out caption is never seen in any style, so the evaluation asks for things the model never saw.

    python -m studio.training.emoji_styles --size 128 --out /tmp/emoji-styles   # data card + a contact sheet
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.image.params import with_style
from studio.training.emoji_data import caption_for
from studio.training.emoji_sources import STYLES, Style, package_root, style_files

log = logging.getLogger(__name__)

SIZE = 128
HELD_OUT_FRACTION = 0.05
CACHE_DIR = Path("/tmp/studio_emoji_styles")
FORMAT = 1  # bump when the pictures or captions this module makes change


@dataclass
class StyledSet:
    """Pictures of several styles: ``images`` (N, S, S, 3) uint8 on white, and per row its caption (no style),
    its style, its code-point key and whether its caption is held out; ``card`` says what went in and why not."""

    images: np.ndarray
    captions: list[str]
    styles: list[str]
    keys: list[str]
    held_out: np.ndarray
    card: dict[str, Any] = field(default_factory=dict)

    def split(self, held_out: bool) -> StyledSet:
        """The rows of the training (``False``) or the held-out (``True``) captions."""
        rows = np.flatnonzero(self.held_out == held_out)
        return StyledSet(
            self.images[rows],
            [self.captions[i] for i in rows],
            [self.styles[i] for i in rows],
            [self.keys[i] for i in rows],
            self.held_out[rows],
            self.card,
        )

    def downsampled(self, size: int) -> StyledSet:
        """The same rows at ``size`` px by area averaging (``size`` must divide the set's own size): the 64 px
        view of the 128 px set that the first built-ins' autoencoder encodes."""
        side = self.images.shape[1]
        if side == size:
            return self
        if side % size:
            raise ValueError(f"{size} px does not divide the set's {side} px")
        f = side // size
        pooled = self.images.reshape(len(self.images), size, f, size, f, 3).mean(axis=(2, 4))
        images = np.rint(pooled).astype(np.uint8)
        return StyledSet(images, self.captions, self.styles, self.keys, self.held_out, self.card)


def styled_caption(caption: str, style: str) -> str:
    """The caption that asks for one style: ``"red apple, noto style"`` (the Image tab's Style adds the same)."""
    return with_style(caption, style)


def is_held_out(caption: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether ``caption`` is in the held-out split: by a hash of the caption, so the split never moves."""
    digest = int.from_bytes(hashlib.sha256(caption.encode()).digest()[:8], "big")
    return digest < fraction * 2**64


def render(path: Path, size: int) -> np.ndarray:
    """The picture at ``path`` (SVG or PNG) on white, fitted into ``size``×``size`` and centred, (size, size, 3)
    uint8. A picture that is not square (a few SVGs' view boxes are not) keeps its shape."""
    from PIL import Image

    if path.suffix == ".svg":
        import resvg_py

        png = bytes(resvg_py.svg_to_bytes(svg_path=str(path), width=size, height=size, background="#ffffff"))
        with Image.open(io.BytesIO(png)) as im:
            rgba = im.convert("RGBA")
    else:
        with Image.open(path) as im:
            if max(im.size) > 1024:
                raise ValueError(f"{im.size[0]}×{im.size[1]} is larger than any emoji picture")
            rgba = im.convert("RGBA")
    if rgba.size != (size, size):
        scale = size / max(rgba.size)
        fitted = (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale)))
        rgba = rgba.resize(fitted, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    canvas.alpha_composite(rgba, ((size - rgba.width) // 2, (size - rgba.height) // 2))
    return np.asarray(canvas.convert("RGB"), dtype=np.uint8)


@dataclass
class _Rows:
    images: list[np.ndarray] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def _add_style(
    rows: _Rows, style: Style, files: Iterable[tuple[str | None, Path]], size: int, limit: int | None
) -> dict[str, Any]:
    """Render and caption one style's files into ``rows``; returns that style's part of the data card."""
    dropped: Counter[str] = Counter()
    seen_keys: set[str] = set()
    seen_captions: set[str] = set()
    kept = files_seen = 0
    for key, path in files:
        files_seen += 1
        if limit is not None and kept >= limit:
            dropped["over --limit"] += 1
            continue
        reason, caption = _caption_of(key, seen_keys, seen_captions)
        if caption is None or key is None:
            dropped[reason] += 1
            continue
        try:
            image = render(path, size)
        except (OSError, ValueError) as exc:
            dropped[f"unreadable ({type(exc).__name__})"] += 1
            log.warning("%s: %s: %s", style.name, path.name, exc)
            continue
        seen_keys.add(key)
        seen_captions.add(caption)
        rows.images.append(image)
        rows.captions.append(caption)
        rows.styles.append(style.name)
        rows.keys.append(key)
        kept += 1
    return {
        "source": style.origin,
        "licence": style.licence,
        "credit": style.credit,
        "share_alike": style.share_alike,
        "files": files_seen,
        "kept": kept,
        "dropped": dict(sorted(dropped.items())),
    }


def _caption_of(key: str | None, seen_keys: set[str], seen_captions: set[str]) -> tuple[str, str | None]:
    """(why it is dropped, or "") and the caption of one file, None when it is dropped."""
    if key is None:
        return "name is no emoji the tables know (Fluent: its skin-tone variants)", None
    if key in seen_keys:
        return "same emoji as another file of the style", None
    caption = caption_for(key)
    if caption is None:
        return "skin-tone variant, flag or nameless code point", None
    if caption in seen_captions:
        return "same caption as another file of the style", None
    return "", caption


def build(styles: Iterable[str], size: int = SIZE, cache_dir: Path = CACHE_DIR, limit: int | None = None) -> StyledSet:
    """Build the set from ``styles`` (names of ``STYLES``), fetching npm packages into ``cache_dir`` once."""
    names = list(styles)
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise ValueError(f"unknown style {unknown[0]!r}; the styles are {', '.join(STYLES)}")
    rows = _Rows()
    per_style: dict[str, Any] = {}
    openmoji_root = package_root(STYLES["openmoji"], cache_dir) if "fluent" in names else None
    for name in names:
        style = STYLES[name]
        files = style_files(style, package_root(style, cache_dir), openmoji_root)
        per_style[name] = _add_style(rows, style, files, size, limit)
        log.info("%s: kept %d of %d files", name, per_style[name]["kept"], per_style[name]["files"])
    held = np.asarray([is_held_out(c) for c in rows.captions], dtype=bool)
    images = np.stack(rows.images) if rows.images else np.zeros((0, size, size, 3), np.uint8)
    card = data_card(per_style, rows.captions, held, size)
    return StyledSet(images, rows.captions, rows.styles, rows.keys, held, card)


def data_card(per_style: dict[str, Any], captions: list[str], held: np.ndarray, size: int) -> dict[str, Any]:
    """What went into the set: per style its source, licence, credit, counts and what was dropped and why."""
    held_captions = sorted({c for c, h in zip(captions, held, strict=True) if h})
    return {
        "format": FORMAT,
        "size": size,
        "pictures": len(captions),
        "captions": len(set(captions)),
        "held_out_fraction": HELD_OUT_FRACTION,
        "held_out_captions": len(held_captions),
        "held_out_examples": held_captions[:12],
        "styles": per_style,
        "share_alike": (
            "OpenMoji is CC BY-SA 4.0: weights trained on it are, on a cautious reading, an adaptation, so they are "
            "shared under CC BY-SA 4.0 too, with the credit above; their outputs carry no such term."
            if any(s["share_alike"] and s["kept"] for s in per_style.values())
            else None
        ),
    }


def load(
    styles: Iterable[str] = tuple(STYLES), size: int = SIZE, cache_dir: Path | None = None, limit: int | None = None
) -> StyledSet:
    """``build``, cached as one ``.npz`` under ``cache_dir`` (default ``CACHE_DIR``) keyed by the styles, size,
    limit and format."""
    names = list(styles)
    cache_dir = cache_dir or CACHE_DIR
    key = hashlib.sha256(json.dumps([names, size, limit, FORMAT]).encode()).hexdigest()[:12]
    path = cache_dir / f"styles_{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return StyledSet(
                z["images"],
                [str(c) for c in z["captions"]],
                [str(s) for s in z["styles"]],
                [str(k) for k in z["keys"]],
                z["held_out"],
                json.loads(str(z["card"])),
            )
    data = build(names, size, cache_dir, limit)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(  # 33 MB for the whole set at 128 px: small enough to carry to a GPU machine
        tmp,
        images=data.images,
        captions=np.asarray(data.captions),
        styles=np.asarray(data.styles),
        keys=np.asarray(data.keys),
        held_out=data.held_out,
        card=np.asarray(json.dumps(data.card)),
    )
    tmp.replace(path)
    return data


def card_markdown(card: dict[str, Any]) -> str:
    """The data card as Markdown, for a model card's "Training data" section."""
    lines = [
        f"{card['pictures']} pictures of {card['captions']} captions at {card['size']}×{card['size']} px; "
        f"{card['held_out_captions']} captions ({card['held_out_fraction']:.0%}) held out in every style.",
        "",
        "| style | source | licence | files | kept | dropped (why) |",
        "|---|---|---|---:|---:|---|",
    ]
    for name, s in card["styles"].items():
        why = "; ".join(f"{n} {reason}" for reason, n in s["dropped"].items()) or "none"
        lines.append(f"| {name} | {s['source']} | {s['licence']} | {s['files']} | {s['kept']} | {why} |")
    lines += ["", "Credits:", *[f"- {s['credit']}" for s in card["styles"].values()]]
    if card.get("share_alike"):
        lines += ["", card["share_alike"]]
    return "\n".join(lines) + "\n"


def contact_sheet(data: StyledSet, captions: list[str]) -> np.ndarray:
    """One row per caption, one column per style (white where a style lacks it), for eyes."""
    names = sorted(set(data.styles), key=list(STYLES).index)
    size = data.images.shape[1]
    sheet = np.full((len(captions) * size, len(names) * size, 3), 255, np.uint8)
    index = {(c, s): i for i, (c, s) in enumerate(zip(data.captions, data.styles, strict=True))}
    for r, caption in enumerate(captions):
        for c, name in enumerate(names):
            i = index.get((caption, name))
            if i is not None:
                sheet[r * size : (r + 1) * size, c * size : (c + 1) * size] = data.images[i]
    return sheet


def main(argv: list[str] | None = None) -> None:
    """Build the set, write its data card (JSON and Markdown) and a contact sheet into ``--out``."""
    from PIL import Image

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--styles", default=",".join(STYLES), help="comma-separated styles (default all four)")
    p.add_argument("--size", type=int, default=SIZE)
    p.add_argument("--limit", type=int, default=None, help="at most this many pictures per style (a tiny slice)")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    data = load(args.styles.split(","), args.size, args.cache_dir, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "data_card.json").write_text(json.dumps(data.card, indent=2) + "\n")
    (args.out / "DATA_CARD.md").write_text(card_markdown(data.card))
    # Captions drawn in the most styles first, spread over the set (a --limit slice may share none across styles).
    ranked = [c for c, _ in sorted(Counter(data.captions).items(), key=lambda cn: (-cn[1], cn[0]))]
    if ranked:
        top = ranked[: max(8, len(ranked) // 20)]
        sheet = contact_sheet(data, top[:: max(1, len(top) // 8)][:8])
        Image.fromarray(sheet).save(args.out / "contact_sheet.png")
    print(card_markdown(data.card))


if __name__ == "__main__":
    main()
