"""``verify`` / the Check panel: right on studio files, on edited ones and on strangers' files; a one-line answer
for hostile ones, quickly, never a traceback."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib

import pytest
from PIL import Image

from studio.checker import MAX_FILE_BYTES, check_file, check_path
from studio.cli import main
from tests.kit_helpers import clip, picture


@pytest.fixture(scope="module")
def files(kit_result, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    for a in kit_result.artifacts:
        (out / a.name).write_bytes(a.data)
    return out


def test_studio_files_say_who_made_them_and_that_they_are_unchanged(files, kit_result):
    for name in ("picture.png", "music.wav", "scene.glb", "music.mid", "notes.md"):
        c = check_path(files / name)
        assert c.verdict.startswith("made by this studio with kit-model, seed 5, on "), (name, c.verdict)
        assert "unchanged since it was signed" in c.verdict and "self-made certificate" in c.verdict
        assert c.studio and c.credentials.state == "valid" and not c.credentials.trusted
    pic = check_path(files / "picture.png")
    assert pic.watermark.found and pic.watermark.matches(kit_result.recipe["id"])
    assert pic.recipe["id"] == kit_result.recipe["id"]


def test_an_edited_file_says_so(files):
    for name in ("picture.png", "music.wav"):
        data = bytearray((files / name).read_bytes())
        data[data.index(b"IDAT" if name.endswith(".png") else b"data") + 200] ^= 0x04
        c = check_file(name, bytes(data))
        assert c.verdict.startswith("edited since it was made"), (name, c.verdict)
    glb = bytearray((files / "scene.glb").read_bytes())
    glb[-3] ^= 0x01
    c = check_file("scene.glb", bytes(glb), (files / "scene.glb.c2pa").read_bytes())
    assert c.verdict.startswith("edited since it was made")


def test_a_re_encoded_picture_or_clip_keeps_its_watermark(files):
    import soundfile as sf

    buf = io.BytesIO()
    Image.open(files / "picture.png").convert("RGB").save(buf, format="JPEG", quality=80)
    c = check_file("shared.jpg", buf.getvalue())
    assert c.verdict.startswith("watermark found, no credentials (re-encoded?)") and c.studio
    audio, rate = sf.read(files / "music.wav", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="FLAC")
    assert check_file("music.flac", buf.getvalue()).verdict.startswith("watermark found, no credentials")


def test_strangers_files_show_no_sign_of_the_studio():
    for name, data in (("photo.png", picture(11)), ("song.wav", clip(12, seconds=5)), ("notes.txt", b"hello")):
        c = check_file(name, data)
        assert c.verdict == "no sign of this studio" and not c.studio, (name, c.verdict)


def test_a_recipe_alone_is_called_what_it_is(files):
    c = check_file("recipe.json", (files / "recipe.json").read_bytes())
    assert c.verdict.startswith("a studio recipe, but no credentials") and c.recipe is not None
    assert check_path(files / "recipe.json").verdict.startswith("made by this studio")  # with its sidecar


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def hostile(files) -> dict[str, bytes]:
    signed = (files / "picture.png").read_bytes()
    wav = (files / "music.wav").read_bytes()
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
    huge_manifest = b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"caBX", b"\x00\x00\x00\x08jumb" * 2_000_000)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
    return {
        "truncated.png": signed[: len(signed) // 2],
        "truncated.wav": wav[:5000],
        "lying.png": wav,  # a WAV named .png is read as the WAV it is
        "manifest.png": huge_manifest,  # a 16 MB manifest of nonsense
        "bomb.png": bomb + png_chunk(b"IEND", b""),
        "nested.json": b"[" * 100_000 + b"]" * 100_000,
        "zeros.wav": b"RIFF\xff\xff\xff\xffWAVEfmt " + b"\xff" * 40,
        "noise.bin": bytes(range(256)) * 400,
        "empty.png": b"",
    }


def test_hostile_files_get_one_line_quickly(files):
    for name, data in hostile(files).items():
        start = time.perf_counter()
        c = check_file(name, data)
        took = time.perf_counter() - start
        assert "\n" not in c.verdict and c.verdict, name
        assert took < 10, (name, took)
        json.dumps(c.as_dict(), default=str)
    lying = check_file("lying.png", (files / "music.wav").read_bytes())
    assert lying.verdict.startswith("made by this studio")
    assert check_file("empty.png", b"").verdict.startswith("unreadable")


def test_the_cli_answers_every_file_in_one_line_or_json(files, tmp_path, capsys):
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    for name, data in hostile(files).items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.png").mkdir()
    paths = [str(p) for p in sorted(tmp_path.iterdir())]
    code = main(["verify", *paths, str(files / "picture.png")])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == len(paths) + 1 and not err and code == 1  # the big, empty and folder ones are unreadable
    assert any("big.png: too large" in line for line in lines)
    assert lines[-1].endswith("picture.png: " + check_path(files / "picture.png").verdict)
    assert main(["verify", "--json", str(files / "music.wav")]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["studio"] is True and obj["credentials"]["state"] == "valid"
    assert obj["watermark"]["found"] is True and obj["watermark"]["confidence"] > 0.99
    assert obj["recipe"]["seed"] == 5
