"""The watermarks: read back after the usual damage, absent from unmarked content, and honest about small files.
(The detection rates over hundreds of files are measured by benchmarks/watermark_robustness.py, not here.)"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from studio.generators.base import Artifact
from studio.watermark.files import mark_artifact, read_mark
from studio.watermark.payload import payload_of
from tests.kit_helpers import clip, picture

RID = "ab" * 32


def jpeg(data: bytes, quality: int = 75, scale: float = 1.0, crop: float = 1.0) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if crop < 1:
        w, h = img.size
        dx, dy = round(w * (1 - crop) / 2), round(h * (1 - crop) / 2)
        img = img.crop((dx, dy, w - dx, h - dy))
    if scale != 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_a_picture_mark_survives_jpeg_resize_and_crop_and_names_its_recipe():
    marked = mark_artifact(Artifact("x.png", picture(3), "image"), RID).data
    for damaged in (marked, jpeg(marked), jpeg(marked, scale=0.75), jpeg(marked, crop=0.9)):
        mark = read_mark(damaged)
        assert mark.found and mark.payload == payload_of(RID) and mark.matches(RID), mark
        assert mark.confidence > 0.999
    assert not mark.matches("cd" * 32)


def test_marking_is_invisible_enough_and_deterministic():
    plain = picture(4)
    a = mark_artifact(Artifact("x.png", plain, "image"), RID).data
    assert a == mark_artifact(Artifact("x.png", plain, "image"), RID).data
    x, y = (np.asarray(Image.open(io.BytesIO(d)).convert("RGB"), float) for d in (plain, a))
    psnr = 10 * np.log10(255**2 / np.mean((x - y) ** 2))
    assert psnr > 32, psnr


def test_unmarked_pictures_and_clips_show_no_mark():
    for seed in range(6):
        assert not read_mark(picture(seed)).found
    assert not read_mark(clip(1, seconds=6)).found


def test_small_pictures_and_other_files_are_left_alone_and_said_so():
    tiny = io.BytesIO()
    Image.new("RGB", (24, 24), (9, 9, 9)).save(tiny, format="PNG")
    assert mark_artifact(Artifact("t.png", tiny.getvalue(), "image"), RID).data == tiny.getvalue()
    assert "too small" in (read_mark(tiny.getvalue()).note or "")
    heightmap = Artifact("heightmap.png", picture(1), "heightmap")  # data, not a picture: never marked
    assert mark_artifact(heightmap, RID) is heightmap
    assert "not a picture or audio" in (read_mark(b"MThd\x00\x00").note or "")


def test_an_audio_mark_survives_resampling_requantising_gain_and_an_excerpt():
    import soundfile as sf
    from scipy.signal import resample_poly

    marked = mark_artifact(Artifact("m.wav", clip(2), "audio"), RID).data
    audio, rate = sf.read(io.BytesIO(marked), always_2d=True)
    half = resample_poly(resample_poly(audio, 441, 320, axis=0), 1, 2, axis=0)  # 32 -> 44.1 -> 22.05 kHz
    for samples, sr in ((half, 22050), (audio * 0.5, rate), (audio[int(1.3 * rate) : int(11.3 * rate)], rate)):
        buf = io.BytesIO()
        sf.write(buf, np.clip(samples, -1, 1), sr, format="WAV", subtype="PCM_16")
        mark = read_mark(buf.getvalue())
        assert mark.found and mark.payload == payload_of(RID), mark
