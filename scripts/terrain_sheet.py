"""Render the five example terrain prompts side by side: docs/terrain_prompts.png (for the README).

python scripts/terrain_sheet.py [--size 513] [--seed 7] [--tile 320] [--out docs/terrain_prompts.png]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = (
    "snowy jagged mountains with a lake",
    "gentle green hills",
    "desert canyon",
    "volcanic island",
    "archipelago",
)


def main() -> None:
    from PIL import Image, ImageDraw, ImageFont

    from studio.generators.base import Context
    from studio.generators.terrain.generator import TerrainGenerator
    from studio.generators.terrain.params import TerrainParams

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=513, choices=(129, 257, 513, 1025))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tile", type=int, default=320, help="width of each picture on the sheet")
    ap.add_argument("--out", default="docs/terrain_prompts.png")
    args = ap.parse_args()

    gen = TerrainGenerator()
    pad, caption = 8, 28
    sheet = Image.new("RGB", (len(PROMPTS) * (args.tile + pad) + pad, args.tile + caption + 2 * pad), "#16181d")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    for i, prompt in enumerate(PROMPTS):
        out = gen.generate(None, TerrainParams(prompt=prompt, seed=args.seed, size_px=args.size), Context())
        image = Image.open(io.BytesIO(out.artifacts[0].data)).convert("RGB")
        x = pad + i * (args.tile + pad)
        sheet.paste(image.resize((args.tile, args.tile), Image.Resampling.LANCZOS), (x, pad))
        draw.text(
            (x + args.tile / 2, pad + args.tile + caption / 2),
            f"\u201c{prompt}\u201d",
            fill="#e8e8e8",
            font=font,
            anchor="mm",
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height}), seed {args.seed}, {args.size} px maps")


if __name__ == "__main__":
    main()
