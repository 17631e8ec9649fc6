from __future__ import annotations

import io
import json

import numpy as np
import soundfile as sf
import trimesh
from PIL import Image

from studio import provenance
from studio.generators.base import Artifact

RECIPE = provenance.make_recipe(
    key="k" * 64,
    modality="image",
    model={"id": "m", "source": "builtin", "weights_hash": "abc123"},
    params={"prompt": "red apple", "negative_prompt": "blurry", "num_steps": 20, "width": 64, "height": 64, "seed": 7},
    seed=7,
    parents=["p" * 64],
)


def png_bytes(mode="RGB", dtype=np.uint8):
    arr = (np.arange(64 * 64).reshape(64, 64) % 255).astype(dtype)
    img = Image.fromarray(arr if mode != "RGB" else np.stack([arr] * 3, -1))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_png_roundtrip_keeps_pixels_and_has_a1111_parameters():
    raw = png_bytes()
    out = provenance.embed(Artifact("a.png", raw, "image"), RECIPE)
    assert provenance.read_recipe("a.png", out.data)["params"]["prompt"] == "red apple"
    img = Image.open(io.BytesIO(out.data))
    params = img.text["parameters"]
    assert params.splitlines()[0] == "red apple"
    assert "Negative prompt: blurry" in params
    assert "Steps: 20" in params and "Size: 64x64" in params and "Seed: 7" in params
    assert "AI-generated" in img.text["Comment"]
    assert np.array_equal(np.asarray(img), np.asarray(Image.open(io.BytesIO(raw))))


def test_16bit_png_keeps_its_depth():
    arr = (np.arange(32 * 32).reshape(32, 32) * 60).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    out = provenance.embed(Artifact("h.png", buf.getvalue()), RECIPE)
    back = np.asarray(Image.open(io.BytesIO(out.data)))
    assert back.dtype == np.uint16 and np.array_equal(back, arr)
    assert provenance.read_recipe("h.png", out.data)["id"] == RECIPE["id"]


def test_wav_roundtrip_keeps_samples():
    samples = np.sin(np.linspace(0, 100, 8001)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, format="WAV", subtype="PCM_16")
    out = provenance.embed(Artifact("a.wav", buf.getvalue(), "audio"), RECIPE)
    back, sr = sf.read(io.BytesIO(out.data), dtype="float32")
    ref, _ = sf.read(io.BytesIO(buf.getvalue()), dtype="float32")
    assert sr == 16000 and np.array_equal(back, ref)
    assert provenance.read_recipe("a.wav", out.data)["seed"] == 7
    twice = provenance.embed(Artifact("a.wav", out.data), RECIPE)
    assert twice.data.count(b"ICMT") == 1


def test_glb_roundtrip_still_loads():
    mesh = trimesh.creation.box()
    raw = mesh.export(file_type="glb")
    out = provenance.embed(Artifact("m.glb", raw, "model3d"), RECIPE)
    assert provenance.read_recipe("m.glb", out.data)["modality"] == "image"
    scene = trimesh.load(io.BytesIO(out.data), file_type="glb")
    assert len(scene.geometry) == 1


def test_markdown_and_sidecar():
    out = provenance.embed(Artifact("t.md", b"# Hello\n"), RECIPE)
    assert out.data.decode().startswith("# Hello")
    assert provenance.read_recipe("t.md", out.data)["parents"] == ["p" * 64]
    side = provenance.sidecar(RECIPE, [out])
    full = json.loads(side.data)
    assert set(full["outputs"]) == {"t.md"} and full["ai_generated"] is True
    assert provenance.read_recipe("recipe.json", side.data)["id"] == RECIPE["id"]


def test_unknown_or_foreign_files_give_none():
    assert provenance.read_recipe("x.png", png_bytes()) is None
    assert provenance.read_recipe("x.wav", b"not a wav") is None
    assert provenance.read_recipe("x.mid", b"MThd") is None
